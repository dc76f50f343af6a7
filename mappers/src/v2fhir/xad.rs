//! XAD (address) -> Address. IG XAD[Address]: 1 street (SAD-1) and 2 other
//! designation -> line, 3 city, 4 state, 5 postal code, 6 country, 7 type
//! (table 0190 -> use or type), 9 county -> district, 12 or 13/14 period.

use std::borrow::Cow;

use super::json::Json;

use crate::hl7v2::Value;

use super::ctx::{comps, txt, Ctx, Loc};
use super::dates;
use super::json::{push, set, set_opt, Obj};
use super::tables;

/// Components the XAD map uses.
pub const MASK: u64 = comps(&[1, 2, 3, 4, 5, 6, 7, 9, 12, 13, 14]);

/// One XAD repetition -> Address.
pub fn address<'a>(ctx: &mut Ctx<'_, 'a>, rep: Value<'a>, loc: Loc<'a>) -> Option<Json<'a>> {
    let cs = rep.indexed();
    let mut a = Obj::new();
    if let Some(t) = txt(cs.get(7)) {
        let u = tables::lookup("address-use", &t);
        let k = tables::lookup("address-type", &t);
        if let Some(u) = u {
            set(&mut a, "use", u.code.as_str());
        }
        if let Some(k) = k {
            set(&mut a, "type", k.code.as_str());
        }
        if u.is_none() && k.is_none() {
            ctx.not_mapped(loc.comp(7), "code not in the v2 table 0190 map");
        }
    }
    let street = cs.get(1);
    let line1 = txt(street.subcomponent(1)).or_else(|| {
        let parts: Vec<Cow<'_, str>> = [2, 3]
            .iter()
            .filter_map(|&i| txt(street.subcomponent(i)))
            .collect();
        (!parts.is_empty()).then(|| Cow::Owned(parts.join(" ")))
    });
    if let Some(l) = line1 {
        push(&mut a, "line", l);
    }
    if let Some(l) = txt(cs.get(2)) {
        push(&mut a, "line", l);
    }
    set_opt(&mut a, "city", txt(cs.get(3)));
    set_opt(&mut a, "district", txt(cs.get(9)));
    set_opt(&mut a, "state", txt(cs.get(4)));
    set_opt(&mut a, "postalCode", txt(cs.get(5)));
    set_opt(&mut a, "country", txt(cs.get(6)));
    let range = cs.get(12);
    let p = if range.has_value() {
        dates::period(ctx, range.subcomponent(1), range.subcomponent(2), loc)
    } else {
        dates::period(ctx, cs.get(13), cs.get(14), loc)
    };
    set_opt(&mut a, "period", p);
    let only_meta = a.keys().all(|k| k == "use" || k == "type" || k == "period");
    (!only_meta).then_some(Json::Object(a))
}

/// Every repetition of an XAD field.
pub fn addresses<'a>(ctx: &mut Ctx<'_, 'a>, field: Value<'a>, loc: Loc<'a>) -> Vec<Json<'a>> {
    field
        .repetitions()
        .filter_map(|r| address(ctx, r, loc))
        .collect()
}
