//! CWE / CE / CNE -> CodeableConcept, and v2 table codes -> FHIR codes.
//!
//! IG CWE[CodeableConcept]: CWE-1/2/3 (+7 version) the first coding,
//! CWE-4/5/6 (+8) the alternate coding, CWE-9 (or CWE-2 without a code)
//! the text.

use std::borrow::Cow;

use super::json::Json;

use crate::hl7v2::Value;

use super::ctx::{comps, txt, Ctx, Loc};
use super::hd::local_system;
use super::json::{concept, ObjWriter};
use super::tables;

/// Components a CWE map uses.
pub const MASK: u64 = comps(&[1, 2, 3, 4, 5, 6, 7, 8, 9]);

/// The FHIR system for a CWE-3 coding system name.
pub fn system_for(ctx: &mut Ctx<'_, '_>, name: &str, loc: Loc<'_>) -> Cow<'static, str> {
    if let Some(uri) = tables::coding_system_uri(name) {
        return uri;
    }
    if let Some(s) = ctx.cfg.systems.get(name) {
        return Cow::Owned(s.clone());
    }
    ctx.warn(loc, "unknown coding system name: used a local system URI");
    Cow::Owned(local_system(ctx.cfg, name))
}

fn coding<'a>(
    ctx: &mut Ctx<'_, 'a>,
    code: Option<Cow<'a, str>>,
    display: Option<&str>,
    sys: Option<Cow<'a, str>>,
    version: Option<&str>,
    loc: Loc<'a>,
) -> Option<ObjWriter> {
    let code = code?;
    let mut c = ObjWriter::new();
    if let Some(name) = sys {
        let s = system_for(ctx, &name, loc);
        c.str("system", &s);
        c.opt_str("version", version);
    }
    c.str("code", &code);
    c.opt_str("display", display);
    Some(c)
}

/// A CodeableConcept from a CWE value (a field's first repetition or a
/// repetition); `None` when nothing is valued.
pub fn concept_of<'a>(ctx: &mut Ctx<'_, 'a>, v: Value<'a>, loc: Loc<'a>) -> Option<Json<'a>> {
    concept_or_text(ctx, v, loc, None)
}

/// [`concept_of`], with `fallback` as the text when the CWE gives none
/// (DG1-4 / PR1-4 beside their code). Written straight to bytes: a
/// concept is complete when built.
pub fn concept_or_text<'a>(
    ctx: &mut Ctx<'_, 'a>,
    v: Value<'a>,
    loc: Loc<'a>,
    fallback: Option<Cow<'a, str>>,
) -> Option<Json<'a>> {
    let cs = v.indexed();
    let code = txt(cs.get(1));
    let text2 = txt(cs.get(2));
    let had_code = code.is_some();
    let first = coding(
        ctx,
        code,
        text2.as_deref(),
        txt(cs.get(3)),
        txt(cs.get(7)).as_deref(),
        loc,
    );
    let second = coding(
        ctx,
        txt(cs.get(4)),
        txt(cs.get(5)).as_deref(),
        txt(cs.get(6)),
        txt(cs.get(8)).as_deref(),
        loc,
    );
    let text = txt(cs.get(9))
        .or(if had_code { None } else { text2 })
        .or(fallback);
    if first.is_none() && second.is_none() && text.is_none() {
        return None;
    }
    let mut cc = ObjWriter::new();
    match (first, second) {
        (Some(a), Some(b)) => cc.array_of_two("coding", a, b),
        (Some(a), None) | (None, Some(a)) => cc.array_of_one("coding", a),
        (None, None) => {}
    }
    cc.opt_str("text", text.as_deref());
    Some(cc.finish())
}

/// Every repetition of a CWE field as CodeableConcepts.
pub fn concepts<'a>(ctx: &mut Ctx<'_, 'a>, field: Value<'a>, loc: Loc<'a>) -> Vec<Json<'a>> {
    field
        .repetitions()
        .filter_map(|r| concept_of(ctx, r, loc))
        .collect()
}

/// A CodeableConcept for a code of a v2 table mapped by the IG: the FHIR
/// coding when the table knows it, else the code passed through with the
/// v2 table system and a warning.
pub fn mapped_concept<'a>(
    ctx: &mut Ctx<'_, 'a>,
    map: &str,
    v: Value<'a>,
    loc: Loc<'a>,
) -> Option<Json<'a>> {
    let cs = v.indexed();
    let code = txt(cs.get(1))?;
    let display = txt(cs.get(2));
    if let Some(e) = tables::lookup(map, &code) {
        let d = (!e.display.is_empty()).then_some(e.display.as_str());
        return Some(concept(&e.system, &e.code, d));
    }
    let table = tables::v2_table(map).unwrap_or("0000");
    ctx.warn(
        loc,
        format!("code not in the v2 table {table} map: passed through"),
    );
    Some(concept(tables::v2_system(table), code, display.as_deref()))
}

/// A FHIR `code` for a v2 table code; unknown codes cannot go into a
/// required-binding `code` element and are reported unmapped.
pub fn mapped_code<'a>(
    ctx: &mut Ctx<'_, 'a>,
    map: &str,
    code: &str,
    loc: Loc<'a>,
) -> Option<&'static str> {
    match tables::lookup(map, code) {
        Some(e) => Some(e.code.as_str()),
        None => {
            let table = tables::v2_table(map).unwrap_or("0000");
            ctx.not_mapped(loc, format!("code not in the v2 table {table} map"));
            None
        }
    }
}
