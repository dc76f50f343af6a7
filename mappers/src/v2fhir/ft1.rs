//! FT1 (financial transaction) -> ChargeItem (DFT^P03/P11, BAR).
//!
//! The IG has no FT1 segment map yet; the rows follow the ChargeItem
//! definitions: FT1-2 transaction id -> identifier, FT1-4 transaction date
//! -> occurrence, FT1-5 posting date -> enteredDate, FT1-7 transaction code
//! (FT1-25 procedure code when FT1-7 is empty) -> code, FT1-10 quantity,
//! FT1-11 extended amount -> priceOverride (Money), FT1-19 diagnoses ->
//! reason, FT1-20 performed by -> performer, FT1-24 entered by ->
//! enterer; subject, context (Encounter) and account (PID-18) from the
//! message. Status: a charge (FT1-6 `CG`, or no type) is `billable`; a
//! credit, payment or adjustment is not a charge item, and the segment is
//! reported with that reason instead of being turned into one.

use super::ctx::{comps, txt, Ctx, Key, Seg, ALL};
use super::cwe;
use super::cx;
use super::dates;
use super::json::{decimal, push, set, set_opt, Json, Obj};
use super::xcn;

/// Maps FT1.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(patient) = ctx.patient else { return };
    let kind = txt(seg.peek(6).component(1));
    if kind.as_deref().is_some_and(|k| k != "CG") {
        ctx.not_mapped(
            seg.at(6),
            "FT1 transaction type is not a charge: no ChargeItem",
        );
        return;
    }
    seg.mark(6, comps(&[1, 2, 3]));
    seg.mark(1, ALL);
    let mut c = Obj::new();
    let id = cx::entity(ctx, seg.take_c(2, comps(&[1])), None);
    if let Some(i) = &id {
        push(&mut c, "identifier", i.json.clone());
    }
    set(&mut c, "status", "billable");
    let at = seg.at(7);
    let code = cwe::concept_of(ctx, seg.peek(7), at);
    let code = match code {
        Some(c) => {
            seg.mark(7, cwe::MASK);
            c
        }
        None => {
            let at = seg.at(25);
            match cwe::concept_of(ctx, seg.peek(25).repetition(1), at) {
                Some(c) => {
                    seg.mark(25, cwe::MASK);
                    c
                }
                None => {
                    // code is required: without FT1-7 or FT1-25 there is no
                    // ChargeItem and the segment stays in the report
                    ctx.not_mapped(seg.at(7), "FT1 without transaction or procedure code");
                    return;
                }
            }
        }
    };
    set(&mut c, "code", code);
    set(&mut c, "subject", ctx.reference(patient));
    if let Some(e) = ctx.encounter_ref() {
        set(&mut c, "context", e);
    }
    let when = seg.take_c(4, comps(&[1, 2]));
    let at = seg.at(4);
    match (
        when.component(2).has_value(),
        dates::date_time(ctx, when, at),
    ) {
        (false, Some(d)) => set(&mut c, "occurrenceDateTime", d),
        (true, _) => {
            let end = when.component(2);
            set_opt(
                &mut c,
                "occurrencePeriod",
                dates::period(ctx, when.component(1), end, at),
            );
        }
        (false, None) => {}
    }
    let at = seg.at(5);
    set_opt(
        &mut c,
        "enteredDate",
        dates::date_time(ctx, seg.take(5), at),
    );
    if let Some(q) = txt(seg.peek(10)) {
        match decimal(&q) {
            Some(v) => {
                seg.mark(10, ALL);
                let mut o = Obj::new();
                set(&mut o, "value", v);
                set(&mut c, "quantity", o);
            }
            None => ctx.not_mapped(seg.at(10), "transaction quantity is not a number"),
        }
    }
    if let Some(m) = money(seg.peek(11)) {
        seg.mark(11, comps(&[1]));
        set(&mut c, "priceOverride", m);
    } else if seg.peek(11).has_value() {
        ctx.not_mapped(seg.at(11), "extended amount is not a number");
    }
    let at = seg.at(19);
    for r in cwe::concepts(ctx, seg.take_c(19, cwe::MASK), at) {
        push(&mut c, "reason", r);
    }
    let at = seg.at(20);
    let f = seg.take_c(20, xcn::MASK);
    for p in xcn::practitioners(ctx, f, at) {
        let mut o = Obj::new();
        set(&mut o, "actor", ctx.reference(p));
        push(&mut c, "performer", o);
    }
    let at = seg.at(24);
    let f = seg.take_c(24, xcn::MASK);
    if let Some(p) = xcn::practitioner(ctx, f.repetition(1), at) {
        set(&mut c, "enterer", ctx.reference(p));
    }
    if let Some(a) = ctx.account {
        push(&mut c, "account", ctx.reference(a));
    }
    let key = id
        .as_ref()
        .and_then(|i| i.system.clone().map(|s| (s, i.value.clone())));
    match key {
        Some((s, v)) => ctx.add("ChargeItem", Key::Ident(&s, &v), c),
        None => ctx.add("ChargeItem", Key::Pos(&format!("FT1|{}", seg.index())), c),
    };
}

/// A CP (composite price: MO quantity & denomination, then price type and
/// range) -> Money, from its first component; `None` when the quantity is
/// not a number. Price type and range have no Money element and are left
/// to the report.
fn money<'a>(cp: crate::hl7v2::Value<'a>) -> Option<Json<'a>> {
    let mo = cp.component(1);
    let value = decimal(&txt(mo.subcomponent(1))?)?;
    let mut m = Obj::new();
    set(&mut m, "value", value);
    if let Some(cur) = txt(mo.subcomponent(2)) {
        // Money.currency is an ISO 4217 code: three capital letters
        if cur.len() == 3 && cur.bytes().all(|b| b.is_ascii_uppercase()) {
            set(&mut m, "currency", cur);
        } else {
            return None;
        }
    }
    Some(Json::Object(m))
}
