//! CodeableConcept and Coding -> CWE/CE (IG CWE[CodeableConcept] in
//! reverse); FHIR codes -> v2 table codes.

use serde_json::Value;

use super::super::codes;
use super::super::ctx::{list, s, Ctx};
use super::super::er7::Rep;

/// A CodeableConcept (or a Coding) as a CWE (`comps` 9), a CE (6) or,
/// with `comps` 0, the code of an IS/ID field:
/// first coding in 1-3 (+7 version), second in 4-6 (+8), text in 9. A CE
/// has no text component: text goes to CE-2 when the first coding has no
/// display (the v2 -> FHIR map reads CE-2 without a code as the text),
/// else it is reported.
pub fn cwe(ctx: &mut Ctx<'_, '_>, cc: &Value, path: &str, comps: usize) -> Rep {
    let mut r = Rep::default();
    if comps == 0 {
        // an IS/ID field (a coded field before v2.7): the code alone
        match code_in(cc, None).or_else(|| s(cc, "code")) {
            Some(c) => r.set(1, c),
            None => ctx.not_mapped(
                path,
                "the field holds a table code and the concept has none",
            ),
        }
        return r;
    }
    let codings: Vec<&Value> = if cc.get("code").is_some() && cc.get("coding").is_none() {
        vec![cc]
    } else {
        list(cc, "coding")
            .iter()
            .filter(|c| s(c, "code").is_some())
            .collect()
    };
    for (n, c) in codings.iter().take(2).enumerate() {
        let base = n * 3;
        r.opt(base + 1, s(c, "code"));
        r.opt(base + 2, s(c, "display"));
        if let Some(sys) = s(c, "system") {
            r.opt(base + 3, coding_system(ctx, sys, path));
        }
        if comps >= 9 {
            r.opt(7 + n, s(c, "version"));
        }
    }
    if codings.len() > 2 {
        ctx.not_mapped(
            format!("{path}.coding[2]"),
            "a CWE carries two codings; the others are not written",
        );
    }
    if let Some(t) = s(cc, "text") {
        let display = r.component(2).and_then(|c| c.first()).cloned();
        if comps >= 9 {
            r.set(9, t);
        } else if codings.is_empty() || display.is_none() {
            r.set(2, t);
        } else if display.as_deref() != Some(t) {
            ctx.not_mapped(
                format!("{path}.text"),
                "a CE has no original-text component (v2.6 CWE-9)",
            );
        }
    }
    r
}

/// The CWE-3 name for a FHIR system; an unknown URI short enough for
/// CWE-3 is written as it is (receivers see where the code is from) with a
/// warning, a longer one is reported.
pub fn coding_system(ctx: &mut Ctx<'_, '_>, uri: &str, path: &str) -> Option<String> {
    match codes::system_name(ctx.cfg, uri) {
        Some(n) => Some(n.into_owned()),
        // CWE-3 is an ID of 12 (v2.7+) to 20 characters
        None if uri.len() <= 12 => {
            ctx.warn(
                path,
                "code system has no v2 coding system name: the URI is written in CWE-3",
            );
            Some(uri.to_owned())
        }
        None => {
            ctx.not_mapped(
                format!("{path}.system"),
                "code system has no v2 name and its URI is longer than CWE-3: name it in the systems setting",
            );
            None
        }
    }
}

/// The code of the first coding of `cc` whose system is `system`, or of
/// the first coding when `system` is `None`.
pub fn code_in<'v>(cc: &'v Value, system: Option<&str>) -> Option<&'v str> {
    let codings = list(cc, "coding");
    codings
        .iter()
        .find(|c| system.is_none_or(|sys| s(c, "system") == Some(sys)))
        .and_then(|c| s(c, "code"))
}

/// A v2 table code for a FHIR code through the reverse of `map`; an
/// unknown code is reported at `path` and written as it is when
/// `pass_through`.
pub fn table_code(
    ctx: &mut Ctx<'_, '_>,
    map: &str,
    code: &str,
    path: &str,
    pass_through: bool,
) -> Option<String> {
    if let Some(c) = codes::v2_code(map, code) {
        return Some(c.to_owned());
    }
    let table = crate::v2fhir::tables::v2_table(map).unwrap_or("0000");
    if pass_through {
        ctx.warn(
            path,
            format!("code not in the v2 table {table} map: passed through"),
        );
        Some(code.to_owned())
    } else {
        ctx.not_mapped(path, format!("code not in the v2 table {table} map"));
        None
    }
}
