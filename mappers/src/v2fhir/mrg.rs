//! MRG -> what the event does with the prior records it names.
//!
//! Merges and identifier changes (A18, A30, A34, A36, A39, A40, A46, A47;
//! see `events::PatientEvent::Merge`): MRG-1/MRG-4 name the retired
//! Patient, linked both ways with the surviving Patient from PID (FHIR R4
//! Patient.link: the survivor `replaces` the old record, the old record is
//! `replaced-by` the survivor and `active: false`). When MRG names the PID's
//! own record (the same identifier), no link is made: a record cannot
//! replace itself.
//!
//! Every event: MRG-3 (prior patient account number) -> Account (IG
//! MRG[Account]: identifier, status `unknown`, since MRG does not say
//! whether the prior account is still open).
//!
//! Other events (account merges A35/A41, visit merges and moves A42/A44/
//! A45) say nothing about patient records: MRG-1/2/4 and the visit ids
//! MRG-5/6 have no FHIR target there and go to the unmapped report.

use super::json::Json;

use super::ctx::{Ctx, Key, Seg};
use super::cx;
use super::events::PatientEvent;
use super::json::{extend, push, set, Obj};
use super::xpn;

fn link<'a>(other: Json<'a>, kind: &'static str) -> Json<'a> {
    let mut l = Obj::new();
    set(&mut l, "other", other);
    set(&mut l, "type", kind);
    Json::Object(l)
}

/// Maps MRG for `event`.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>, event: PatientEvent) {
    account(ctx, seg);
    if event == PatientEvent::Merge {
        merge(ctx, seg);
    }
}

/// MRG-3 -> the prior Account (IG MRG[Account]).
fn account<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(patient) = ctx.patient else { return };
    let at = seg.at(3);
    let f = seg.take_c(3, cx::MASK);
    let Some(id) = cx::identifier(ctx, f.repetition(1), at) else {
        return;
    };
    let mut a = Obj::new();
    push(&mut a, "identifier", id.json);
    set(&mut a, "status", "unknown");
    push(&mut a, "subject", ctx.reference(patient));
    // the same key as PID-18's Account: when MRG-3 repeats PID-18 the
    // Account already built is kept
    match &id.system {
        Some(s) => ctx.add("Account", Key::Ident(s, &id.value), a),
        None => ctx.add("Account", Key::Pos(&format!("PID-18|{}", id.value)), a),
    };
}

fn merge<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
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
    let id = if system.is_empty() {
        ctx.id_of("Patient", Key::Pos(&format!("MRG|{value}")))
    } else {
        ctx.id_of("Patient", Key::Ident(&system, &value))
    };
    if ctx.existing(&id) == Some(survivor) {
        ctx.warn(
            seg.at(1),
            "MRG names the PID's own record: no Patient.link to itself",
        );
        return;
    }
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
    let old = ctx.add_with_id(id, p);
    let r = ctx.reference(old);
    push(ctx.res(survivor), "link", link(r, "replaces"));
}

/// A24 (link patient information): the Patient of the second PID group
/// and the one before it are the same person, so each gets a `seealso`
/// link to the other.
pub fn link_pair(ctx: &mut Ctx<'_, '_>, before: Option<usize>) {
    let (Some(a), Some(b)) = (before, ctx.patient) else {
        return;
    };
    if a == b {
        return;
    }
    let (ra, rb) = (ctx.reference(a), ctx.reference(b));
    push(ctx.res(a), "link", link(rb, "seealso"));
    push(ctx.res(b), "link", link(ra, "seealso"));
}
