//! RXC (pharmacy/treatment component order) -> `Medication.ingredient`.
//!
//! An R4 MedicationRequest or MedicationDispense has no ingredients: a
//! compound (an IV bag of a base and additives) is a Medication. The first
//! RXC of an order (RXO/RXE) or dispense (RXD) makes that Medication, with
//! the order's code (RXO-1, RXE-2, RXD-2) as its `code`, and the order's
//! `medicationCodeableConcept` becomes a `medicationReference` to it, in
//! the same place. Each RXC adds one ingredient:
//!
//! - RXC-2 component code -> `itemCodeableConcept`;
//! - RXC-1 component type (table 0166): `A` additive -> `isActive: true`,
//!   `B` base -> `isActive: false` (the base carries the additive; v2.8
//!   4.14.3);
//! - RXC-3/4 component amount and units -> `strength.numerator`, per one
//!   unit of the compound (`denominator` 1): the amount of the component
//!   in the product the order prepares.
//!
//! Not mapped (reported): RXC-5/6 component strength, RXC-7 supplementary
//! code, RXC-8/9 strength volume (a Ratio has one numerator: the amount in
//! the product is kept). An RXC without an order or dispense before it, or
//! without RXC-2, is reported whole.

use super::ctx::{comps, txt, Ctx, Key, Seg, ALL};
use super::cwe;
use super::json::{decimal, push, set, Json, Obj};

/// The Medication for `holder`, made on the first RXC.
fn medication_of<'a>(ctx: &mut Ctx<'_, 'a>, holder: usize, seg: &Seg<'a>) -> usize {
    if let Some((h, m)) = ctx.compound {
        if h == holder {
            return m;
        }
    }
    // an order named again (a second ORC with the same order number is
    // the same MedicationRequest) keeps the Medication it already has
    if ctx.entries[holder]
        .resource
        .contains_key("medicationReference")
    {
        if let Some(m) = (0..ctx.entries.len()).find(|&i| {
            ctx.entries[i].rtype == "Medication"
                && ctx.entries[holder].resource.get("medicationReference")
                    == Some(&ctx.reference(i))
        }) {
            ctx.compound = Some((holder, m));
            return m;
        }
    }
    let mut med = Obj::new();
    let code = ctx.entries[holder]
        .resource
        .get("medicationCodeableConcept")
        .cloned();
    if let Some(c) = code {
        set(&mut med, "code", c);
    }
    let m = ctx.add("Medication", Key::Pos(&format!("RXC|{}", seg.index())), med);
    let r = ctx.reference(m);
    let res = ctx.res(holder);
    if res.contains_key("medicationCodeableConcept") {
        res.replace_key("medicationCodeableConcept", "medicationReference", r);
    } else {
        res.insert("medicationReference", r);
    }
    ctx.compound = Some((holder, m));
    m
}

/// Maps RXC; `false` when there is no order or dispense to add to, or no
/// component code (the caller reports the segment).
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) -> bool {
    let Some(holder) = ctx.medication else {
        return false;
    };
    if !matches!(
        ctx.entries[holder].rtype,
        "MedicationRequest" | "MedicationDispense"
    ) {
        return false;
    }
    let at = seg.at(2);
    let Some(item) = cwe::concept_of(ctx, seg.take_c(2, cwe::MASK), at) else {
        return false;
    };
    let mut ing = Obj::new();
    set(&mut ing, "itemCodeableConcept", item);
    match txt(seg.peek(1).component(1)).as_deref() {
        Some("A") => {
            seg.mark(1, comps(&[1]));
            set(&mut ing, "isActive", true);
        }
        Some("B") => {
            seg.mark(1, comps(&[1]));
            set(&mut ing, "isActive", false);
        }
        Some(_) => ctx.not_mapped(seg.at(1), "code not in the v2 table 0166 map"),
        None => {}
    }
    if let Some(amount) = txt(seg.peek(3)) {
        match decimal(&amount) {
            Some(v) => {
                seg.mark(3, ALL);
                let units = seg.take_c(4, cwe::MASK);
                let mut num = Obj::new();
                set(&mut num, "value", v);
                let code = txt(units.component(1));
                let unit = txt(units.component(2)).or_else(|| code.clone());
                if let Some(u) = unit {
                    set(&mut num, "unit", u);
                }
                if let Some(c) = code {
                    if let Some(name) = txt(units.component(3)) {
                        let at = seg.at(4);
                        set(&mut num, "system", cwe::system_for(ctx, &name, at));
                    }
                    set(&mut num, "code", c);
                }
                let mut den = Obj::with_capacity(1);
                set(&mut den, "value", 1i64);
                let mut ratio = Obj::with_capacity(2);
                set(&mut ratio, "numerator", num);
                set(&mut ratio, "denominator", den);
                set(&mut ing, "strength", ratio);
            }
            None => ctx.not_mapped(seg.at(3), "component amount is not a number"),
        }
    }
    let m = medication_of(ctx, holder, seg);
    push(ctx.res(m), "ingredient", Json::Object(ing));
    true
}
