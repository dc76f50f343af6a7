//! XAD (address) -> Address. IG XAD[Address]: 1 street (SAD-1) and 2 other
//! designation -> line, 3 city, 4 state, 5 postal code, 6 country, 7 type
//! (table 0190 -> use or type), 9 county -> district, 12 or 13/14 period.

use std::borrow::Cow;

use super::json::Json;

use crate::hl7v2::Value;

use super::ctx::{comps, txt, Ctx, Loc};
use super::dates;
use super::json::ObjWriter;
use super::tables;

/// Components the XAD map uses.
pub const MASK: u64 = comps(&[1, 2, 3, 4, 5, 6, 7, 9, 12, 13, 14]);

/// One XAD repetition -> Address.
pub fn address<'a>(ctx: &mut Ctx<'_, 'a>, rep: Value<'a>, loc: Loc<'a>) -> Option<Json<'a>> {
    address_with(ctx, rep, loc, &mut None)
}

/// One XAD repetition -> Address, written straight to bytes; when the
/// address is valued and has no XAD-9 county, `county` (PID-12) is taken
/// and written last as its district.
fn address_with<'a>(
    ctx: &mut Ctx<'_, 'a>,
    rep: Value<'a>,
    loc: Loc<'a>,
    county: &mut Option<Cow<'a, str>>,
) -> Option<Json<'a>> {
    let cs = rep.indexed();
    let mut use_code = None;
    let mut type_code = None;
    if let Some(t) = txt(cs.get(7)) {
        let u = tables::lookup("address-use", &t);
        let k = tables::lookup("address-type", &t);
        use_code = u.map(|u| u.code.as_str());
        type_code = k.map(|k| k.code.as_str());
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
    let line2 = txt(cs.get(2));
    let city = txt(cs.get(3));
    let district = txt(cs.get(9));
    let state = txt(cs.get(4));
    let postal = txt(cs.get(5));
    let country = txt(cs.get(6));
    let range = cs.get(12);
    let p = if range.has_value() {
        dates::period(ctx, range.subcomponent(1), range.subcomponent(2), loc)
    } else {
        dates::period(ctx, cs.get(13), cs.get(14), loc)
    };
    let valued = line1.is_some()
        || line2.is_some()
        || city.is_some()
        || district.is_some()
        || state.is_some()
        || postal.is_some()
        || country.is_some();
    if !valued {
        return None;
    }
    let mut a = ObjWriter::new();
    a.opt_str("use", use_code);
    a.opt_str("type", type_code);
    let lines: Vec<&str> = line1
        .iter()
        .chain(line2.iter())
        .map(|l| l.as_ref())
        .collect();
    if !lines.is_empty() {
        a.str_array("line", &lines);
    }
    a.opt_str("city", city.as_deref());
    a.opt_str("district", district.as_deref());
    a.opt_str("state", state.as_deref());
    a.opt_str("postalCode", postal.as_deref());
    a.opt_str("country", country.as_deref());
    if let Some(p) = &p {
        a.json("period", p);
    }
    if district.is_none() {
        if let Some(c) = county.take() {
            a.str("district", &c);
        }
    }
    Some(a.finish())
}

/// Every repetition of an XAD field.
pub fn addresses<'a>(ctx: &mut Ctx<'_, 'a>, field: Value<'a>, loc: Loc<'a>) -> Vec<Json<'a>> {
    field
        .repetitions()
        .filter_map(|r| address(ctx, r, loc))
        .collect()
}

/// Every repetition of an XAD field, with a separate county (PID-12): the
/// district of the first address when it has none, else an address of
/// its own at the end.
pub fn addresses_with_county<'a>(
    ctx: &mut Ctx<'_, 'a>,
    field: Value<'a>,
    loc: Loc<'a>,
    county: Option<Cow<'a, str>>,
) -> Vec<Json<'a>> {
    let mut out = Vec::new();
    let mut pending = county;
    for r in field.repetitions() {
        let mut none = None;
        let extra = if out.is_empty() {
            &mut pending
        } else {
            &mut none
        };
        if let Some(a) = address_with(ctx, r, loc, extra) {
            out.push(a);
        }
    }
    if let Some(c) = pending {
        let mut a = ObjWriter::new();
        a.str("district", &c);
        out.push(a.finish());
    }
    out
}
