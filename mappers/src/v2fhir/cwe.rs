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
use super::json::{concept, set, set_opt, Obj};
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
    display: Option<Cow<'a, str>>,
    sys: Option<Cow<'a, str>>,
    version: Option<Cow<'a, str>>,
    loc: Loc<'a>,
) -> Option<Json<'a>> {
    let code = code?;
    let mut c = Obj::new();
    if let Some(name) = sys {
        let s = system_for(ctx, &name, loc);
        set(&mut c, "system", s);
        set_opt(&mut c, "version", version);
    }
    set(&mut c, "code", code);
    set_opt(&mut c, "display", display);
    Some(Json::Object(c))
}

/// A CodeableConcept from a CWE value (a field's first repetition or a
/// repetition); `None` when nothing is valued.
pub fn concept_of<'a>(ctx: &mut Ctx<'_, 'a>, v: Value<'a>, loc: Loc<'a>) -> Option<Json<'a>> {
    let cs = v.indexed();
    let code = txt(cs.get(1));
    let text2 = txt(cs.get(2));
    let mut codings = Vec::new();
    let had_code = code.is_some();
    if let Some(c) = coding(
        ctx,
        code,
        text2.clone(),
        txt(cs.get(3)),
        txt(cs.get(7)),
        loc,
    ) {
        codings.push(c);
    }
    if let Some(c) = coding(
        ctx,
        txt(cs.get(4)),
        txt(cs.get(5)),
        txt(cs.get(6)),
        txt(cs.get(8)),
        loc,
    ) {
        codings.push(c);
    }
    let text = txt(cs.get(9)).or(if had_code { None } else { text2 });
    if codings.is_empty() && text.is_none() {
        return None;
    }
    let mut cc = Obj::new();
    if !codings.is_empty() {
        set(&mut cc, "coding", Json::Array(codings));
    }
    set_opt(&mut cc, "text", text);
    Some(Json::Object(cc))
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
