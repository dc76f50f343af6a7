//! XPN (person name) -> HumanName. IG XPN[HumanName]: XPN-1 family,
//! 2/3 given, 4 suffix, 5 prefix, 6 degree (suffix), 7 use (table 0200),
//! 10 or 12/13 period, 14 professional suffix.

use super::json::Json;

use crate::hl7v2::Value;

use super::ctx::{comps, txt, Ctx, Loc};
use super::cwe::mapped_code;
use super::dates;
use super::json::{push, set, set_opt, Obj};

/// Components the XPN map uses.
pub const MASK: u64 = comps(&[1, 2, 3, 4, 5, 6, 7, 10, 12, 13, 14, 15]);

/// One XPN repetition -> HumanName. `first` is the component holding the
/// family name (1 for XPN; XCN shifts the layout by one).
pub fn name_at<'a>(
    ctx: &mut Ctx<'_, 'a>,
    rep: Value<'a>,
    first: usize,
    use_comp: usize,
    loc: Loc<'a>,
) -> Option<Json<'a>> {
    let cs = rep.indexed();
    let mut n = Obj::new();
    if let Some(use_code) = txt(cs.get(use_comp)) {
        if let Some(u) = mapped_code(ctx, "name-use", &use_code, loc.comp(use_comp)) {
            set(&mut n, "use", u);
        }
    }
    set_opt(&mut n, "family", txt(cs.get(first).subcomponent(1)));
    for c in [first + 1, first + 2] {
        if let Some(g) = txt(cs.get(c)) {
            push(&mut n, "given", g);
        }
    }
    if let Some(p) = txt(cs.get(first + 4)) {
        push(&mut n, "prefix", p);
    }
    for c in [first + 3, first + 5] {
        if let Some(s) = txt(cs.get(c)) {
            push(&mut n, "suffix", s);
        }
    }
    if n.get("family").is_none() && n.get("given").is_none() {
        return None;
    }
    Some(Json::Object(n))
}

/// One XPN repetition -> HumanName.
pub fn name<'a>(ctx: &mut Ctx<'_, 'a>, rep: Value<'a>, loc: Loc<'a>) -> Option<Json<'a>> {
    let cs = rep.indexed();
    let mut n = name_at(ctx, rep, 1, 7, loc)?;
    if let Json::Object(o) = &mut n {
        if let Some(s) = txt(cs.get(14)) {
            push(o, "suffix", s);
        }
        let range = cs.get(10);
        let p = if range.has_value() {
            dates::period(ctx, range.subcomponent(1), range.subcomponent(2), loc)
        } else {
            dates::period(ctx, cs.get(12), cs.get(13), loc)
        };
        set_opt(o, "period", p);
    }
    Some(n)
}

/// Every repetition of an XPN field. XPN-15 "called by" becomes a second
/// HumanName with `use: usual` (IG XPN[HumanName] row 15).
pub fn names<'a>(ctx: &mut Ctx<'_, 'a>, field: Value<'a>, loc: Loc<'a>) -> Vec<Json<'a>> {
    let mut out = Vec::new();
    for r in field.repetitions() {
        if let Some(n) = name(ctx, r, loc) {
            out.push(n);
        }
        if let Some(called) = txt(r.component(15)) {
            let mut n = Obj::new();
            set(&mut n, "use", "usual");
            push(&mut n, "given", called);
            out.push(Json::Object(n));
        }
    }
    out
}
