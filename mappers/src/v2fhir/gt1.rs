//! GT1 (guarantor) -> Account.guarantor, with the guarantor as party.
//!
//! The party is the Patient when GT1-11 (relationship) is `SEL` (GT1-3
//! then repeats the patient's name); an Organization when GT1-21
//! (guarantor organization name) is valued; otherwise a RelatedPerson of
//! the patient: GT1-2 identifier, GT1-3 name, GT1-5 address, GT1-6/7 home
//! and work phone, GT1-8 birth date, GT1-9 sex, GT1-11 relationship.
//! GT1-13/14 give the guarantor's period. The Account is PID-18's; without
//! one an Account for the patient is made (FHIR puts guarantors only on
//! Account). Employer and financial fields (GT1-16 onwards but GT1-21) go
//! to the report.

use super::ctx::{comps, txt, Ctx, Key, Seg, ALL};
use super::json::{extend, push, set, set_opt, Obj};
use super::{cwe, cx, dates, xad, xon, xpn, xtn};

/// Maps GT1.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(patient) = ctx.patient else { return };
    seg.mark(1, ALL);
    let rel = txt(seg.peek(11).component(1));
    let party = if rel.as_deref() == Some("SEL") {
        seg.mark(11, ALL);
        seg.mark(3, ALL);
        Some(patient)
    } else if seg.peek(21).has_value() {
        let org = seg.take_c(21, xon::MASK);
        xon::organization(ctx, org.repetition(1))
    } else {
        related_person(ctx, seg, patient)
    };
    let Some(party) = party else {
        ctx.not_mapped(seg.at(0), "GT1 without a guarantor (GT1-3, GT1-21)");
        return;
    };
    let account = match ctx.account {
        Some(a) => a,
        None => {
            let mut a = Obj::new();
            set(&mut a, "status", "active");
            push(&mut a, "subject", ctx.reference(patient));
            let a = ctx.add("Account", Key::Pos("GT1|account"), a);
            ctx.account = Some(a);
            a
        }
    };
    let mut g = Obj::new();
    set(&mut g, "party", ctx.reference(party));
    let at = seg.at(13);
    let (s, e) = (seg.take(13), seg.take(14));
    set_opt(&mut g, "period", dates::period(ctx, s, e, at));
    push(ctx.res(account), "guarantor", g);
}

fn related_person<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>, patient: usize) -> Option<usize> {
    let at = seg.at(3);
    let names = xpn::names(ctx, seg.take_c(3, xpn::MASK), at);
    if names.is_empty() {
        return None;
    }
    let mut r = Obj::new();
    let at = seg.at(2);
    let ids = cx::identifiers(ctx, seg.take_c(2, cx::MASK), at);
    let key = super::pid::key_of(&ids);
    extend(
        &mut r,
        "identifier",
        ids.into_iter().map(|i| i.json).collect(),
    );
    set(&mut r, "patient", ctx.reference(patient));
    let at = seg.at(11);
    if let Some(k) = cwe::mapped_concept(ctx, "relationship", seg.take_c(11, comps(&[1, 2])), at) {
        push(&mut r, "relationship", k);
    }
    extend(&mut r, "name", names);
    let at = seg.at(6);
    let mut tel = xtn::contacts(ctx, seg.take_c(6, xtn::MASK), Some("home"), at);
    let at = seg.at(7);
    tel.extend(xtn::contacts(
        ctx,
        seg.take_c(7, xtn::MASK),
        Some("work"),
        at,
    ));
    extend(&mut r, "telecom", tel);
    if let Some(g) = txt(seg.take_c(9, comps(&[1])).component(1)) {
        let at = seg.at(9);
        if let Some(code) = cwe::mapped_code(ctx, "gender", &g, at) {
            set(&mut r, "gender", code);
        }
    }
    let at = seg.at(8);
    set_opt(&mut r, "birthDate", dates::date(ctx, seg.take(8), at));
    let at = seg.at(5);
    extend(
        &mut r,
        "address",
        xad::addresses(ctx, seg.take_c(5, xad::MASK), at),
    );
    Some(match key {
        Some((s, v)) => ctx.add("RelatedPerson", Key::Ident(&s, &v), r),
        None => ctx.add(
            "RelatedPerson",
            Key::Pos(&format!("GT1|{}", seg.index())),
            r,
        ),
    })
}
