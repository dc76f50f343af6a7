//! CX (extended composite id) -> Identifier. IG CX[Identifier]: CX-1
//! value, CX-4 system (HD[uri]) and assigner (HD[Organization]: one
//! Organization per assigning authority), CX-5 type (v2 table 0203),
//! CX-7/8 period.

use std::borrow::Cow;

use super::json::Json;

use crate::hl7v2::Value;

use super::ctx::{comps, txt, Ctx, Loc};
use super::dates;
use super::hd::Hd;
use super::json::{concept, ObjWriter};
use super::tables;
use super::xon;

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
    typed_identifier(ctx, rep, loc, None)
}

/// One CX repetition -> Identifier, typed `default_type` (v2 table 0203)
/// when CX-5 gives no type. Written straight to bytes: an Identifier is
/// complete when built.
pub fn typed_identifier<'a>(
    ctx: &mut Ctx<'_, 'a>,
    rep: Value<'a>,
    loc: Loc<'a>,
    default_type: Option<&str>,
) -> Option<Ident<'a>> {
    let cs = rep.indexed();
    let value = txt(cs.get(1))?;
    let mut o = ObjWriter::new();
    if let Some(t) = txt(cs.get(5)).as_deref().or(default_type) {
        o.json("type", &id_type(t));
    }
    let authority = cs.get(4);
    let hd = Hd::from_subcomponents(authority);
    let system = hd.system(ctx.cfg);
    o.opt_str("system", system.as_deref());
    o.str("value", &value);
    if let Some(p) = dates::period(ctx, cs.get(7), cs.get(8), loc) {
        o.json("period", &p);
    }
    if let Some(org) = xon::from_hd_parts(ctx, hd, authority.raw()) {
        o.reference("assigner", ctx.full_url(org));
    }
    Some(Ident {
        json: o.finish(),
        system,
        value,
    })
}

/// Every repetition of a CX field.
pub fn identifiers<'a>(ctx: &mut Ctx<'_, 'a>, field: Value<'a>, loc: Loc<'a>) -> Vec<Ident<'a>> {
    typed_identifiers(ctx, field, loc, None)
}

/// Every repetition of a CX field, typed `default_type` where CX-5 is empty.
pub fn typed_identifiers<'a>(
    ctx: &mut Ctx<'_, 'a>,
    field: Value<'a>,
    loc: Loc<'a>,
    default_type: Option<&str>,
) -> Vec<Ident<'a>> {
    field
        .repetitions()
        .filter_map(|r| typed_identifier(ctx, r, loc, default_type))
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
    let mut o = ObjWriter::new();
    if let Some(t) = type_code {
        o.json("type", &id_type(t));
    }
    o.opt_str("system", system.as_deref());
    o.str("value", &value);
    Some(Ident {
        json: o.finish(),
        system,
        value,
    })
}
