//! The message's Provenance (IG MSH[Provenance-Source]) and the sending
//! application's Device (HD[Device] from MSH-3).
//!
//! The IG message maps make one Provenance per message: `recorded` and
//! `occurredDateTime` from MSH-7, `activity` "message - " and MSH-9, the
//! author agent MSH-22 (sending responsible organization) or, when that is
//! empty, MSH-4 (sending facility), and the sending application as the
//! `source` entity (with the SFT Devices after the first as `derivation`).
//! Its target is the Bundle in the IG; a transaction Bundle cannot
//! reference itself, so the target is the MessageHeader and the resources
//! the message is about (`MessageHeader.focus`), which the IG's note
//! suggests when the output is "only a set of resources".
//!
//! The IG builds the Device only "IF MSH-3 AND MSH-24 VALUED"; MSH-24
//! (sending network address) is rarely sent, and without the Device the
//! Provenance has no source, so MSH-3 alone makes it. FHIR requires
//! `recorded` and an agent: without MSH-7, or without an organization and
//! a Device, there is no Provenance.

use crate::hl7v2::Value;

use super::ctx::{txt, Ctx, Key};
use super::hd::{is_oid, Hd};
use super::json::{concept, push, set, Json, Obj, ObjWriter};
use super::tables;

const PARTICIPANT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/provenance-participant-type";

/// MSH-3 (an HD) -> the sending application's Device (HD[Device]:
/// identifier[1] HD-1, identifier[2] HD-2 typed by HD-3, under
/// `urn:ietf:rfc:3986` as `urn:oid:` / `urn:uuid:` for ISO and UUID).
pub fn device<'a>(ctx: &mut Ctx<'_, 'a>, v: Value<'a>) -> Option<usize> {
    let hd = Hd::from_components(v);
    if hd.is_empty() {
        return None;
    }
    let mut d = Obj::with_capacity(1);
    let mut ids = Vec::with_capacity(2);
    if let Some(ns) = &hd.namespace {
        let mut i = ObjWriter::new();
        i.str("value", ns);
        ids.push(i.finish());
    }
    let mut key = None;
    if let Some(u) = &hd.universal {
        let kind = txt(v.component(3));
        let mut i = ObjWriter::new();
        if let Some(k) = &kind {
            i.json(
                "type",
                &concept(tables::v2_system("0301"), k.to_string(), None),
            );
        }
        let uri = match kind.as_deref() {
            Some("ISO") if is_oid(u) => Some(format!("urn:oid:{u}")),
            Some("UUID") => Some(format!("urn:uuid:{}", u.to_ascii_lowercase())),
            _ => None,
        };
        match &uri {
            Some(value) => {
                i.str("system", "urn:ietf:rfc:3986");
                i.str("value", value);
            }
            None => i.str("value", u),
        }
        key = uri;
        ids.push(i.finish());
    }
    set(&mut d, "identifier", Json::Array(ids));
    let idx = match &key {
        Some(value) => ctx.add("Device", Key::Ident("urn:ietf:rfc:3986", value), d),
        None => {
            let ns = hd.namespace.as_deref().unwrap_or_default();
            ctx.add("Device", Key::Pos(&format!("MSH-3|{ns}")), d)
        }
    };
    Some(idx)
}

/// Builds the Provenance after the walk (its targets are known then).
pub fn build(ctx: &mut Ctx<'_, '_>) {
    let Some(recorded) = ctx.timestamp.clone() else {
        return;
    };
    let Some(header) = ctx.header else { return };
    let who = ctx.sender_org.or(ctx.device);
    let Some(who) = who else { return };
    let mut p = Obj::new();
    let mut targets = vec![ctx.reference(header)];
    targets.extend(ctx.focus.iter().map(|&i| ctx.reference(i)));
    set(&mut p, "target", Json::Array(targets));
    set(&mut p, "occurredDateTime", recorded.clone());
    set(&mut p, "recorded", recorded);
    if let Some(a) = &ctx.activity {
        let mut c = ObjWriter::new();
        c.str("display", a);
        let mut cc = ObjWriter::new();
        cc.array_of_one("coding", c);
        set(&mut p, "activity", cc.finish());
    }
    let mut agent = Obj::with_capacity(2);
    set(
        &mut agent,
        "type",
        concept(PARTICIPANT_TYPE, "author", Some("Author")),
    );
    set(&mut agent, "who", ctx.reference(who));
    push(&mut p, "agent", agent);
    let entities: Vec<(usize, &str)> = ctx
        .device
        .map(|d| (d, "source"))
        .into_iter()
        .chain(ctx.relays.iter().map(|&d| (d, "derivation")))
        .collect();
    for (d, role) in entities {
        let mut e = ObjWriter::new();
        e.str("role", role);
        e.reference("what", ctx.full_url(d));
        push(&mut p, "entity", e.finish());
    }
    ctx.add("Provenance", Key::Pos("MSH-provenance"), p);
}
