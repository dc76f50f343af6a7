//! MSH -> MessageHeader, plus the Bundle's identifier and timestamp
//! (IG MSH[MessageHeader], MSH[Bundle]), and what the Provenance takes
//! (`provenance`): the sending application's Device (MSH-3) and the
//! author organization (MSH-22, else MSH-4).

use std::borrow::Cow;

use super::json::Json;

use super::ctx::{comps, txt, Ctx, Key, Seg, ALL};
use super::dates;
use super::hd::{local_system, Hd};
use super::json::{set, set_opt, Obj};
use super::tables;
use super::xon;

fn endpoint(ctx: &Ctx<'_, '_>, hd: &Hd<'_>) -> Option<String> {
    hd.system(ctx.cfg)
        .or_else(|| hd.namespace.as_deref().map(|n| local_system(ctx.cfg, n)))
}

/// Maps MSH.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let mut h = Obj::new();
    let msg_type = seg.take_c(9, comps(&[1, 2, 3]));
    let mut event = Obj::new();
    set(&mut event, "system", tables::v2_system("0003"));
    set(
        &mut event,
        "code",
        txt(msg_type.component(2)).unwrap_or_else(|| Cow::Owned(ctx.code.clone())),
    );
    set(&mut h, "eventCoding", Json::Object(event));

    let app = Hd::from_components(seg.take(5));
    let receiver = xon::from_hd(ctx, seg.take(6));
    if !app.is_empty() || receiver.is_some() {
        let mut d = Obj::new();
        set_opt(&mut d, "name", app.namespace.clone());
        let ep = endpoint(ctx, &app)
            .unwrap_or_else(|| local_system(ctx.cfg, "unknown-receiving-application"));
        set(&mut d, "endpoint", ep);
        if let Some(r) = receiver {
            set(&mut d, "receiver", ctx.reference(r));
        }
        set(&mut h, "destination", Json::Array(vec![Json::Object(d)]));
    }
    let facility = xon::from_hd(ctx, seg.take(4));
    if let Some(s) = facility {
        set(&mut h, "sender", ctx.reference(s));
    }
    // IG MSH[Provenance-Source]: the author is MSH-22, else MSH-4
    let responsible = seg.take_c(22, xon::MASK);
    ctx.sender_org = xon::organization(ctx, responsible.repetition(1)).or(facility);
    ctx.device = super::provenance::device(ctx, seg.peek(3));
    let mut activity = String::from("message - ");
    for (i, c) in [1, 2, 3].into_iter().enumerate() {
        if i > 0 {
            activity.push('^');
        }
        if let Some(t) = txt(msg_type.component(c)) {
            activity.push_str(&t);
        }
    }
    ctx.activity = Some(activity);
    let app = Hd::from_components(seg.take(3));
    let mut src = Obj::new();
    set_opt(&mut src, "name", app.namespace.clone());
    let ep =
        endpoint(ctx, &app).unwrap_or_else(|| local_system(ctx.cfg, "unknown-sending-application"));
    set(&mut src, "endpoint", ep);
    set(&mut h, "source", Json::Object(src));

    let at = seg.at(7);
    ctx.timestamp = dates::instant(ctx, seg.take(7), at);
    if let Some(id) = seg.text(10) {
        let mut i = Obj::new();
        let facility = Hd::from_components(seg.peek(4));
        set_opt(&mut i, "system", facility.system(ctx.cfg));
        set(&mut i, "value", id);
        ctx.bundle_identifier = Some(Json::Object(i));
    }
    seg.mark(12, ALL); // version: chosen by the parser
    seg.mark(18, ALL); // character set: applied by the parser
    let lang = seg.take_c(19, comps(&[1]));
    if let Some(l) = txt(lang.component(1)) {
        if l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            set(&mut h, "language", l);
        } else {
            ctx.not_mapped(seg.at(19), "not a BCP-47 language tag");
        }
    }
    let idx = ctx.add("MessageHeader", Key::Pos("MSH"), h);
    ctx.header = Some(idx);
}
