//! SFT -> MessageHeader.source (IG SFT[MessageHeader]) and a Device (IG
//! SFT[Device]) that the Provenance names.
//!
//! The first SFT is the software of the sending application (v2.8 2.14.11:
//! each application that changes the message appends its own SFT): it
//! gives `MessageHeader.source.software` (SFT-3) and `version` (SFT-2),
//! and completes the sending application's Device (MSH-3, `device`), the
//! Provenance `source`. Each later SFT is a Device of its own, a
//! Provenance entity with role `derivation` (IG message maps: "if the
//! software does not represent the original source system").
//!
//! SFT[Device]: SFT-1 vendor name (XON-1) `manufacturer`, SFT-2
//! `version.value`, SFT-3 `deviceName` (type manufacturer-name), SFT-4
//! `modelNumber`, SFT-5 `note`, SFT-6 install date in the R5
//! cross-version extension on `version` (the IG sheet writes the URL with
//! `https`; the canonical is `http`). An SFT-6 without SFT-2 has no version
//! to sit on and is reported, as is a vendor with only an XON-10 id.

use super::ctx::{comps, txt, Ctx, Key, Seg};
use super::dates;
use super::json::{push, set, Json, Obj};

const INSTALL_DATE: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-Device.version.installDate";

/// Adds the SFT[Device] elements to `device`.
fn describe<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>, device: usize) {
    if let Some(v) = txt(seg.take_c(1, comps(&[1])).component(1)) {
        set(ctx.res(device), "manufacturer", v);
    }
    if let Some(name) = seg.text(3) {
        let mut n = Obj::with_capacity(2);
        set(&mut n, "name", name);
        set(&mut n, "type", "manufacturer-name");
        push(ctx.res(device), "deviceName", n);
    }
    if let Some(m) = seg.text(4) {
        set(ctx.res(device), "modelNumber", m);
    }
    if let Some(version) = seg.text(2) {
        let mut v = Obj::with_capacity(2);
        let at = seg.at(6);
        if let Some(d) = dates::date_time(ctx, seg.take(6), at) {
            let mut e = Obj::with_capacity(2);
            set(&mut e, "url", INSTALL_DATE);
            set(&mut e, "valueDateTime", d);
            push(&mut v, "extension", e);
        }
        set(&mut v, "value", version);
        push(ctx.res(device), "version", v);
    }
    if let Some(info) = seg.text(5) {
        let mut n = Obj::with_capacity(1);
        set(&mut n, "text", info);
        push(ctx.res(device), "note", n);
    }
}

/// Maps SFT. Returns `false` when the segment names no software (SFT-1 to
/// SFT-4 empty), so the caller reports it.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) -> bool {
    if (1..=4).all(|i| !seg.peek(i).has_value()) {
        return false;
    }
    let first = ctx.header.is_some_and(|h| {
        !matches!(
            ctx.entries[h].resource.get("source"),
            Some(Json::Object(s)) if s.contains_key("software")
        )
    }) && ctx.relays.is_empty();
    if first {
        if let Some(h) = ctx.header {
            let software = txt(seg.peek(3));
            let version = txt(seg.peek(2));
            if let Some(Json::Object(src)) = ctx.res(h).get_mut("source") {
                if let Some(s) = software {
                    set(src, "software", s);
                }
                if let Some(v) = version {
                    set(src, "version", v);
                }
            }
        }
    }
    let device = match ctx.device.filter(|_| first) {
        Some(d) => d,
        None => {
            let d = ctx.add(
                "Device",
                Key::Pos(&format!("SFT|{}", seg.index())),
                Obj::new(),
            );
            if first {
                ctx.device = Some(d);
            } else {
                ctx.relays.push(d);
            }
            d
        }
    };
    describe(ctx, seg, device);
    true
}
