//! CX (extended composite id) -> Identifier. IG CX[Identifier]: CX-1
//! value, CX-4 system (HD), CX-5 type (v2 table 0203), CX-7/8 period.

use std::borrow::Cow;

use super::json::Json;

use crate::hl7v2::Value;

use super::ctx::{comps, txt, Ctx, Loc};
use super::dates;
use super::hd::Hd;
use super::json::{concept, set, set_opt, Obj};
use super::tables;

/// Components the CX map uses.
pub const MASK: u64 = comps(&[1, 4, 5, 7, 8]);

/// An identifier with its parts kept for conditional references.
#[derive(Debug)]
pub struct Ident<'a> {
    /// The Identifier element.
    pub json: Json<'a>,
    /// Its system, if any.
    pub system: Option<String>,
    /// Its value.
    pub value: Cow<'a, str>,
}

/// `Identifier.type` from a v2 table 0203 code.
pub fn id_type<'a>(code: &str) -> Json<'a> {
    let display = tables::lookup("identifier-type", code).map(|e| e.display.as_str());
    concept(tables::v2_system("0203"), code.to_owned(), display)
}

/// One CX repetition -> Identifier.
pub fn identifier<'a>(ctx: &mut Ctx<'_, 'a>, rep: Value<'a>, loc: Loc<'a>) -> Option<Ident<'a>> {
    let cs = rep.indexed();
    let value = txt(cs.get(1))?;
    let mut o = Obj::new();
    if let Some(t) = txt(cs.get(5)) {
        set(&mut o, "type", id_type(&t));
    }
    let system = Hd::from_subcomponents(cs.get(4)).system(ctx.cfg);
    set_opt(&mut o, "system", system.clone());
    set(&mut o, "value", value.clone());
    set_opt(
        &mut o,
        "period",
        dates::period(ctx, cs.get(7), cs.get(8), loc),
    );
    Some(Ident {
        json: Json::Object(o),
        system,
        value,
    })
}

/// Every repetition of a CX field.
pub fn identifiers<'a>(ctx: &mut Ctx<'_, 'a>, field: Value<'a>, loc: Loc<'a>) -> Vec<Ident<'a>> {
    field
        .repetitions()
        .filter_map(|r| identifier(ctx, r, loc))
        .collect()
}

/// EI (entity identifier: id, namespace, universal id, type) -> Identifier,
/// optionally typed (`PLAC`, `FILL`).
pub fn entity<'a>(
    ctx: &mut Ctx<'_, 'a>,
    v: Value<'a>,
    type_code: Option<&str>,
) -> Option<Ident<'a>> {
    let cs = v.indexed();
    let value = txt(cs.get(1))?;
    let hd = Hd {
        namespace: txt(cs.get(2)),
        universal: txt(cs.get(3)),
        kind: txt(cs.get(4)),
    };
    let system = hd.system(ctx.cfg);
    let mut o = Obj::new();
    if let Some(t) = type_code {
        set(&mut o, "type", id_type(t));
    }
    set_opt(&mut o, "system", system.clone());
    set(&mut o, "value", value.clone());
    Some(Ident {
        json: Json::Object(o),
        system,
        value,
    })
}
