//! Quantity -> NM and its units as a CWE with UCUM.

use serde_json::Value;

use super::super::ctx::{s, Ctx};
use super::super::er7::Rep;
use super::coding_system;

/// A JSON number or decimal text as v2 NM text.
pub fn number(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// A Quantity's unit as a CWE: UCUM code^unit^UCUM (the IG: units are
/// CWE with UCUM), another system by its name, or the unit text alone.
pub fn units(ctx: &mut Ctx<'_, '_>, q: &Value, path: &str) -> Option<Rep> {
    let code = s(q, "code");
    let unit = s(q, "unit");
    let mut r = Rep::default();
    match (code, s(q, "system")) {
        (Some(c), Some(sys)) => {
            r.set(1, c);
            r.opt(2, unit);
            r.opt(3, coding_system(ctx, sys, path));
        }
        (Some(c), None) => {
            r.set(1, c);
            r.opt(2, unit);
        }
        (None, _) => {
            // text only: the v2 -> FHIR map reads CWE-1 without a system as UCUM;
            // a free unit goes to CWE-2 so it is not read as a code
            r.opt(2, unit);
        }
    }
    (!r.is_empty()).then_some(r)
}
