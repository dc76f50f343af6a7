//! NK1 -> RelatedPerson (IG NK1[RelatedPerson]).

use super::ctx::{comps, txt, Ctx, Key, Seg, ALL};
use super::cwe;
use super::cx;
use super::dates;
use super::json::{extend, push, set, set_opt, Json, Obj};
use super::{xad, xpn, xtn};

/// Maps NK1.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(patient) = ctx.patient else { return };
    let mut r = Obj::new();
    seg.mark(1, ALL);
    let mut idents = Vec::new();
    for seq in [12, 33] {
        let at = seg.at(seq);
        let f = seg.take_c(seq, cx::MASK);
        idents.extend(cx::identifiers(ctx, f, at));
    }
    let key = super::pid::key_of(&idents);
    if !idents.is_empty() {
        set(
            &mut r,
            "identifier",
            Json::Array(idents.into_iter().map(|i| i.json).collect()),
        );
    }
    set(&mut r, "patient", ctx.reference(patient));
    let at = seg.at(3);
    let mut rel = Vec::new();
    if let Some(c) = cwe::mapped_concept(ctx, "relationship", seg.take_c(3, cwe::MASK), at) {
        rel.push(c);
    }
    let at = seg.at(7);
    if let Some(c) = cwe::concept_of(ctx, seg.take_c(7, cwe::MASK), at) {
        rel.push(c);
    }
    extend(&mut r, "relationship", rel);
    let at = seg.at(2);
    let mut names = xpn::names(ctx, seg.take_c(2, xpn::MASK), at);
    if names.is_empty() {
        let at = seg.at(30);
        names = xpn::names(ctx, seg.take_c(30, xpn::MASK), at);
    }
    extend(&mut r, "name", names);
    let at = seg.at(5);
    let mut tel = xtn::contacts(ctx, seg.take_c(5, xtn::MASK), Some("home"), at);
    let at = seg.at(6);
    tel.extend(xtn::contacts(
        ctx,
        seg.take_c(6, xtn::MASK),
        Some("work"),
        at,
    ));
    let at = seg.at(31);
    tel.extend(xtn::contacts(ctx, seg.take_c(31, xtn::MASK), None, at));
    extend(&mut r, "telecom", tel);
    if let Some(g) = txt(seg.take_c(15, comps(&[1])).component(1)) {
        let at = seg.at(15);
        if let Some(code) = cwe::mapped_code(ctx, "gender", &g, at) {
            set(&mut r, "gender", code);
        }
    }
    let at = seg.at(16);
    set_opt(&mut r, "birthDate", dates::date(ctx, seg.take(16), at));
    let at = seg.at(4);
    let mut addr = xad::addresses(ctx, seg.take_c(4, xad::MASK), at);
    let at = seg.at(32);
    addr.extend(xad::addresses(ctx, seg.take_c(32, xad::MASK), at));
    extend(&mut r, "address", addr);
    let at = seg.at(8);
    let (s, e) = (seg.take(8), seg.take(9));
    set_opt(&mut r, "period", dates::period(ctx, s, e, at));
    let at = seg.at(20);
    if let Some(l) = cwe::concept_of(ctx, seg.take_c(20, cwe::MASK), at) {
        let mut c = Obj::new();
        set(&mut c, "language", l);
        push(&mut r, "communication", c);
    }
    match &key {
        Some((s, v)) => ctx.add("RelatedPerson", Key::Ident(s, v), r),
        None => ctx.add(
            "RelatedPerson",
            Key::Pos(&format!("NK1|{}", seg.index())),
            r,
        ),
    };
}
