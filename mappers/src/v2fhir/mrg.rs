//! MRG (ADT^A40 merge) -> the retired Patient, linked both ways with the
//! surviving Patient from PID (FHIR R4 Patient.link: the survivor
//! `replaces` the old record, the old record is `replaced-by` the survivor
//! and `active: false`).

use super::json::Json;

use super::ctx::{Ctx, Key, Seg};
use super::cx;
use super::json::{extend, push, set, Obj};
use super::xpn;

fn link<'a>(other: Json<'a>, kind: &'static str) -> Json<'a> {
    let mut l = Obj::new();
    set(&mut l, "other", other);
    set(&mut l, "type", kind);
    Json::Object(l)
}

/// Maps MRG.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(survivor) = ctx.patient else { return };
    let mut idents = Vec::new();
    for seq in [1, 4] {
        let at = seg.at(seq);
        let f = seg.take_c(seq, cx::MASK);
        idents.extend(cx::identifiers(ctx, f, at));
    }
    let Some((system, value)) = super::pid::key_of(&idents)
        .or_else(|| idents.first().map(|i| (String::new(), i.value.to_string())))
    else {
        return;
    };
    let mut p = Obj::new();
    set(
        &mut p,
        "identifier",
        Json::Array(idents.into_iter().map(|i| i.json).collect()),
    );
    set(&mut p, "active", false);
    let at = seg.at(7);
    extend(
        &mut p,
        "name",
        xpn::names(ctx, seg.take_c(7, xpn::MASK), at),
    );
    push(&mut p, "link", link(ctx.reference(survivor), "replaced-by"));
    let old = if system.is_empty() {
        ctx.add("Patient", Key::Pos(&format!("MRG|{value}")), p)
    } else {
        ctx.add("Patient", Key::Ident(&system, &value), p)
    };
    let r = ctx.reference(old);
    push(ctx.res(survivor), "link", link(r, "replaces"));
}
