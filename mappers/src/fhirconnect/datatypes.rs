//! FHIR data types <-> openEHR data values.
//!
//! The pairing follows the FHIRconnect data-type chapter: Quantity <->
//! DV_QUANTITY, CodeableConcept / Coding <-> DV_CODED_TEXT, string <->
//! DV_TEXT, dateTime <-> DV_DATE_TIME, integer <-> DV_COUNT, boolean <->
//! DV_BOOLEAN, Identifier <-> DV_IDENTIFIER, Attachment <-> DV_MULTIMEDIA.
//! Code systems and UCUM display
//! units come from tables that are data (`templates/mappings/terminology/`).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use super::fhir_write::get;
use super::instance::Leaf;

const SYSTEMS: &str = include_str!("../../../templates/mappings/terminology/systems.tsv");
const UCUM_DISPLAY: &str = include_str!("../../../templates/mappings/terminology/ucum_display.tsv");

/// The UCUM system URI.
pub const UCUM: &str = "http://unitsofmeasure.org";

struct Tables {
    system_to_terminology: HashMap<&'static str, &'static str>,
    terminology_to_system: HashMap<&'static str, &'static str>,
    ucum_to_display: HashMap<&'static str, &'static str>,
    display_to_ucum: HashMap<&'static str, &'static str>,
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let pairs = |text: &'static str| {
            text.lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .filter_map(|l| l.split_once('\t'))
                .collect::<Vec<_>>()
        };
        let systems = pairs(SYSTEMS);
        let ucum = pairs(UCUM_DISPLAY);
        Tables {
            system_to_terminology: systems.iter().copied().collect(),
            terminology_to_system: systems.iter().map(|(a, b)| (*b, *a)).collect(),
            ucum_to_display: ucum.iter().copied().collect(),
            display_to_ucum: ucum.iter().map(|(a, b)| (*b, *a)).collect(),
        }
    })
}

/// openEHR terminology id for a FHIR code system URI.
pub fn terminology_for_system(system: &str) -> &str {
    tables()
        .system_to_terminology
        .get(system)
        .copied()
        .unwrap_or(system)
}

/// FHIR code system URI for an openEHR terminology id.
pub fn system_for_terminology(terminology: &str) -> &str {
    tables()
        .terminology_to_system
        .get(terminology)
        .copied()
        .unwrap_or(terminology)
}

/// Display unit for a UCUM code (the code itself when not listed).
pub fn ucum_display(code: &str) -> &str {
    tables().ucum_to_display.get(code).copied().unwrap_or(code)
}

/// The outcome of converting one FHIR element.
#[derive(Debug, Clone, PartialEq)]
pub enum Converted {
    /// A data value.
    Leaf(Leaf),
    /// The FHIR type has no data-value pairing here.
    Unsupported,
}

/// Converts a FHIR element of type `ty` to an openEHR data value.
/// `rm_hint` is the template's RM type for the target node, when known: it
/// decides between pairings (a string into a `DV_CODED_TEXT` node).
pub fn fhir_to_dv(value: &Value, ty: Option<&str>, rm_hint: Option<&str>) -> Converted {
    let ty = ty.unwrap_or_else(|| guess_type(value));
    let leaf = match ty {
        "Quantity" | "Age" | "Duration" | "Distance" | "Count" | "SimpleQuantity" => {
            quantity_to_dv(value)
        }
        "CodeableConcept" => codeable_concept_to_dv(value),
        "Coding" => coding_to_dv(value, None),
        "string" | "markdown" | "code" | "uri" | "url" | "canonical" | "id" | "oid" | "uuid" => {
            let Some(s) = value.as_str() else {
                return Converted::Unsupported;
            };
            match rm_hint {
                Some("DV_CODED_TEXT") => Some(Leaf::new("DV_CODED_TEXT", [("value", json!(s))])),
                _ => Some(Leaf::new("DV_TEXT", [("", json!(s))])),
            }
        }
        "dateTime" | "instant" => value
            .as_str()
            .map(|s| Leaf::new("DV_DATE_TIME", [("", json!(s))])),
        "date" => value
            .as_str()
            .map(|s| Leaf::new("DV_DATE", [("", json!(s))])),
        "time" => value
            .as_str()
            .map(|s| Leaf::new("DV_TIME", [("", json!(s))])),
        "boolean" => value
            .as_bool()
            .map(|b| Leaf::new("DV_BOOLEAN", [("", json!(b))])),
        "integer" | "positiveInt" | "unsignedInt" => value
            .as_i64()
            .map(|n| Leaf::new("DV_COUNT", [("", json!(n))])),
        "Identifier" => identifier_to_dv(value),
        "Attachment" => attachment_to_dv(value),
        _ => None,
    };
    leaf.map_or(Converted::Unsupported, Converted::Leaf)
}

/// When the schema gave no type (an unknown extension), guess from JSON.
fn guess_type(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "string",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() => "integer",
        Value::Object(o) if o.contains_key("coding") => "CodeableConcept",
        Value::Object(o)
            if o.contains_key("code") && o.contains_key("system") && !o.contains_key("value") =>
        {
            "Coding"
        }
        Value::Object(o)
            if o.contains_key("value") && (o.contains_key("unit") || o.contains_key("code")) =>
        {
            "Quantity"
        }
        _ => "unknown",
    }
}

fn quantity_to_dv(v: &Value) -> Option<Leaf> {
    let magnitude = get(v, "value")?.clone();
    let code = get(v, "code").and_then(Value::as_str);
    let system = get(v, "system").and_then(Value::as_str);
    let display = get(v, "unit").and_then(Value::as_str);
    // The UCUM code is what DV_QUANTITY.units holds; a display-only unit
    // is mapped through the table, else kept as written.
    let unit = match (code, system) {
        (Some(c), Some(UCUM) | None) => Some(c.to_owned()),
        _ => display
            .map(|d| {
                tables()
                    .display_to_ucum
                    .get(d)
                    .copied()
                    .unwrap_or(d)
                    .to_owned()
            })
            .or_else(|| code.map(str::to_owned)),
    };
    // A unitless quantity is still a number (a score aimed at an ordinal).
    let mut fields = vec![("magnitude", magnitude)];
    if let Some(u) = unit {
        fields.push(("unit", json!(u)));
    }
    Some(Leaf::new("DV_QUANTITY", fields))
}

fn coding_to_dv(c: &Value, text: Option<&str>) -> Option<Leaf> {
    let code = get(c, "code").and_then(Value::as_str)?;
    let system = get(c, "system").and_then(Value::as_str).unwrap_or("local");
    let display = get(c, "display")
        .and_then(Value::as_str)
        .or(text)
        .unwrap_or(code);
    Some(Leaf::new(
        "DV_CODED_TEXT",
        [
            ("code", json!(code)),
            ("terminology", json!(terminology_for_system(system))),
            ("value", json!(display)),
        ],
    ))
}

fn codeable_concept_to_dv(v: &Value) -> Option<Leaf> {
    let text = get(v, "text").and_then(Value::as_str);
    let first = get(v, "coding")
        .and_then(Value::as_array)
        .and_then(|a| a.first());
    match first {
        Some(c) => coding_to_dv(c, text),
        None => text.map(|t| Leaf::new("DV_TEXT", [("", json!(t))])),
    }
}

fn identifier_to_dv(v: &Value) -> Option<Leaf> {
    let id = get(v, "value")?.clone();
    let mut fields = vec![("id", id)];
    if let Some(s) = get(v, "system") {
        fields.push(("issuer", s.clone()));
    }
    if let Some(a) = v.pointer("/assigner/display") {
        fields.push(("assigner", a.clone()));
    }
    if let Some(t) = v.pointer("/type/text") {
        fields.push(("type", t.clone()));
    }
    Some(Leaf::new("DV_IDENTIFIER", fields))
}

/// A referenced content's media type when the reference gives none: what
/// HTTP lets a recipient assume for content of unknown type (RFC 9110
/// 8.3, "application/octet-stream"). openEHR requires a media type.
const UNKNOWN_MEDIA_TYPE: &str = "application/octet-stream";

/// An Attachment as DV_MULTIMEDIA: the media type (`contentType`), the
/// URL (the multimedia's `uri`, the leaf's plain value), inline base64
/// `data` and `size` as given. A URL without a content type (what an HL7
/// v2 RP pointer becomes) is content of unknown type. An attachment with
/// neither data nor URL has no content to hold (openEHR requires a
/// multimedia value to be inline or external): not a multimedia value.
fn attachment_to_dv(v: &Value) -> Option<Leaf> {
    if get(v, "url").is_none() && get(v, "data").is_none() {
        return None;
    }
    let media_type = match get(v, "contentType") {
        Some(t) => t.clone(),
        None => json!(UNKNOWN_MEDIA_TYPE),
    };
    let mut fields = vec![("mediatype", media_type)];
    for (from, to) in [("url", ""), ("data", "data"), ("size", "size")] {
        if let Some(x) = get(v, from) {
            fields.push((to, x.clone()));
        }
    }
    Some(Leaf::new("DV_MULTIMEDIA", fields))
}

/// Adapts a converted value to what the template allows at the node:
/// a unit that differs only by UCUM annotations (`{beats}/min` vs `/min`,
/// annotations carry no dimension) takes the template's spelling; an
/// integral quantity into a `DV_COUNT` node becomes a count; a `%`
/// quantity into a `DV_PROPORTION` node becomes a percent proportion.
pub fn fit_to_template(leaf: Leaf, value_types: &[String], units: &[String]) -> Leaf {
    let allows = |t: &str| value_types.iter().any(|v| v == t);
    if leaf.rm_type.as_deref() != Some("DV_QUANTITY") || allows("DV_QUANTITY") && units.is_empty() {
        return leaf;
    }
    let magnitude = leaf.fields.get("magnitude").cloned();
    let unit = leaf.text("unit").map(str::to_owned);
    if !allows("DV_QUANTITY") {
        if allows("DV_COUNT") {
            if let Some(n) = magnitude
                .as_ref()
                .and_then(Value::as_f64)
                .filter(|n| n.fract() == 0.0)
            {
                return Leaf::new("DV_COUNT", [("", json!(n as i64))]);
            }
        }
        if allows("DV_PROPORTION") && unit.as_deref() == Some("%") {
            if let Some(m) = magnitude {
                return Leaf::new(
                    "DV_PROPORTION",
                    [
                        ("numerator", m),
                        ("denominator", json!(100.0)),
                        ("type", json!(2)),
                    ],
                );
            }
        }
        return leaf;
    }
    if let Some(u) = unit {
        if !units.contains(&u) {
            let bare = strip_annotations(&u);
            if let Some(t) = units.iter().find(|x| strip_annotations(x) == bare) {
                let mut leaf = leaf;
                leaf.fields.insert("unit".to_owned(), json!(t));
                return leaf;
            }
            if let Some((m, t)) = magnitude
                .as_ref()
                .and_then(Value::as_f64)
                .and_then(|m| super::units::convert(m, &u, units))
            {
                let mut leaf = leaf;
                leaf.fields.insert("magnitude".to_owned(), json!(m));
                leaf.fields.insert("unit".to_owned(), json!(t));
                return leaf;
            }
        }
    }
    leaf
}

/// A coded text without a code (a FHIR `code` or `string` aimed at a
/// DV_CODED_TEXT node) bound to an external value set with no code list
/// (`referenceSetUri` `ValueSet/$expand?url=...`) takes its text as the
/// code, with the binding as terminology id: the value set's codes are
/// the FHIR codes. A node with a code list is left alone (the at-code
/// table and the template check decide there).
pub fn code_from_binding(leaf: &mut Leaf, info: &super::template_index::NodeInfo) {
    if leaf.rm_type.as_deref() != Some("DV_CODED_TEXT")
        || leaf.text("code").is_some_and(|c| !c.is_empty())
    {
        return;
    }
    if info.code_list.is_some() {
        return;
    }
    let Some(terminology) = info.value_set.as_deref().filter(|t| !t.is_empty()) else {
        return;
    };
    let Some(text) = leaf.text("value").map(str::to_owned) else {
        return;
    };
    leaf.fields.insert("code".to_owned(), json!(text));
    leaf.fields
        .insert("terminology".to_owned(), json!(terminology));
}

/// A DV_DATE_TIME as a FHIR dateTime. FHIR requires a zone with a time;
/// openEHR allows a local time without one (other systems' compositions
/// carry them). The zone is not ours to guess: a zone-less midnight is the
/// date alone, any other zone-less time has no FHIR form (`None`: the
/// caller reports it unmapped).
pub fn zoned_date_time(v: &str) -> Option<String> {
    let Some((date, time)) = v.split_once('T') else {
        return Some(v.to_owned());
    };
    let zoned = time.ends_with('Z') || time.contains('+') || time.contains('-');
    if zoned {
        return Some(v.to_owned());
    }
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let midnight = matches!(clock, "00:00:00" | "00:00") && fraction.bytes().all(|b| b == b'0');
    midnight.then(|| date.to_owned())
}

/// A UCUM unit without `{annotations}` (`{beats}/min` -> `/min`).
fn strip_annotations(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    let mut depth = 0usize;
    for c in unit.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    if out.is_empty() || out.starts_with('/') {
        // `{score}` alone is the unit 1; `/min` stays as written.
        if out.is_empty() {
            out.push('1');
        }
    }
    out
}

/// Converts a data value to a FHIR element of type `ty` (the element's type
/// from the schema, or the choice variant chosen for it). `None` when the
/// pairing is not supported.
pub fn dv_to_fhir(leaf: &Leaf, ty: &str) -> Option<Value> {
    let rm = leaf.rm_type.as_deref().unwrap_or("");
    match (rm, ty) {
        ("DV_QUANTITY", _) => {
            let unit = leaf.text("unit")?;
            let mut q = Map::new();
            q.insert("value".into(), leaf.fields.get("magnitude")?.clone());
            q.insert("unit".into(), json!(ucum_display(unit)));
            q.insert("system".into(), json!(UCUM));
            q.insert("code".into(), json!(unit));
            Some(Value::Object(q))
        }
        ("DV_CODED_TEXT", "CodeableConcept") => {
            let coding = coded_to_coding(leaf)?;
            Some(json!({ "coding": [coding] }))
        }
        ("DV_DATE_TIME", "dateTime" | "instant") => {
            zoned_date_time(leaf.text("")?).map(Value::from)
        }
        ("DV_CODED_TEXT", "Coding") => coded_to_coding(leaf),
        // A FHIR `code` element carries the code, not its display text.
        ("DV_CODED_TEXT", "code") => leaf.fields.get("code").cloned(),
        ("DV_CODED_TEXT", _) => leaf.fields.get("value").cloned(),
        ("DV_PROPORTION", "Quantity") => {
            let n = leaf.fields.get("numerator")?.clone();
            Some(json!({"value": n, "unit": "%", "system": UCUM, "code": "%"}))
        }
        ("DV_COUNT", "Quantity") => Some(json!({ "value": leaf.fields.get("")? })),
        ("DV_ORDINAL", "Quantity") => Some(json!({ "value": leaf.fields.get("ordinal")? })),
        ("DV_ORDINAL", "integer" | "decimal") => leaf.fields.get("ordinal").cloned(),
        ("DV_ORDINAL", "CodeableConcept") => Some(json!({ "coding": [coded_to_coding(leaf)?] })),
        ("DV_ORDINAL", "Coding") => coded_to_coding(leaf),
        ("DV_IDENTIFIER", _) => {
            let mut o = Map::new();
            if let Some(s) = leaf.fields.get("issuer") {
                o.insert("system".into(), s.clone());
            }
            o.insert("value".into(), leaf.fields.get("id")?.clone());
            if let Some(t) = leaf.fields.get("type") {
                o.insert("type".into(), json!({ "text": t }));
            }
            if let Some(a) = leaf.fields.get("assigner") {
                o.insert("assigner".into(), json!({ "display": a }));
            }
            Some(Value::Object(o))
        }
        ("DV_MULTIMEDIA", "Attachment") => {
            let mut o = Map::new();
            o.insert("contentType".into(), leaf.fields.get("mediatype")?.clone());
            for (from, to) in [("", "url"), ("data", "data"), ("size", "size")] {
                if let Some(x) = leaf.fields.get(from) {
                    o.insert(to.into(), x.clone());
                }
            }
            Some(Value::Object(o))
        }
        // A plain value: as text of a CodeableConcept, as itself into a
        // primitive, nothing into any other complex type.
        (_, "CodeableConcept") => Some(json!({ "text": leaf.fields.get("")? })),
        (_, t) if t.starts_with(|c: char| c.is_ascii_lowercase()) => leaf.fields.get("").cloned(),
        _ => None,
    }
}

fn coded_to_coding(leaf: &Leaf) -> Option<Value> {
    let mut c = Map::new();
    if let Some(t) = leaf.text("terminology") {
        let (t, version) = versioned_terminology(t);
        c.insert("system".into(), json!(system_for_terminology(t)));
        if let Some(v) = version {
            c.insert("version".into(), json!(v));
        }
    }
    c.insert("code".into(), json!(leaf.text("code")?));
    if let Some(v) = leaf.fields.get("value") {
        c.insert("display".into(), v.clone());
    }
    Some(Value::Object(c))
}

/// A terminology id with a version in parentheses (openFHIR writes
/// `http://fhir.de/CodeSystem/bfarm/icd-10-gm (2023)` from a Coding's
/// `system` and `version`) split into the two.
pub fn versioned_terminology(t: &str) -> (&str, Option<&str>) {
    let Some(open) = t.rfind(" (") else {
        return (t, None);
    };
    match t[open + 2..].strip_suffix(')') {
        Some(v) if !v.is_empty() && !v.contains('(') => (&t[..open], Some(v)),
        _ => (t, None),
    }
}

/// The FHIR type a data value becomes when the target is a choice element
/// (`value[x]`): used to pick `valueQuantity` over `valueString`.
pub fn fhir_type_for_rm(rm: &str) -> &'static str {
    match rm {
        "DV_QUANTITY" => "Quantity",
        "DV_CODED_TEXT" => "CodeableConcept",
        "DV_DATE_TIME" => "dateTime",
        "DV_DATE" => "date",
        "DV_TIME" => "time",
        "DV_COUNT" => "integer",
        "DV_BOOLEAN" => "boolean",
        "DV_IDENTIFIER" => "Identifier",
        "DV_MULTIMEDIA" => "Attachment",
        "DV_ORDINAL" | "DV_PROPORTION" => "Quantity",
        _ => "string",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_terminology_ids_split() {
        assert_eq!(
            versioned_terminology("http://fhir.de/CodeSystem/bfarm/icd-10-gm (2023)"),
            ("http://fhir.de/CodeSystem/bfarm/icd-10-gm", Some("2023"))
        );
        assert_eq!(versioned_terminology("SNOMED-CT"), ("SNOMED-CT", None));
        assert_eq!(versioned_terminology("x ()"), ("x ()", None));
        let leaf = Leaf::new(
            "DV_CODED_TEXT",
            [
                ("code", json!("B05.3")),
                ("value", json!("B05.3")),
                (
                    "terminology",
                    json!("http://fhir.de/CodeSystem/bfarm/icd-10-gm (2023)"),
                ),
            ],
        );
        let c = coded_to_coding(&leaf).unwrap();
        assert_eq!(c["system"], "http://fhir.de/CodeSystem/bfarm/icd-10-gm");
        assert_eq!(c["version"], "2023");
    }

    #[test]
    fn zone_less_date_times_become_dates_or_nothing() {
        assert_eq!(
            zoned_date_time("2024-02-21T16:46:17+01:00").as_deref(),
            Some("2024-02-21T16:46:17+01:00")
        );
        assert_eq!(
            zoned_date_time("2024-02-21T16:46:17Z").as_deref(),
            Some("2024-02-21T16:46:17Z")
        );
        assert_eq!(
            zoned_date_time("2024-02-21T10:00:00-05:00").as_deref(),
            Some("2024-02-21T10:00:00-05:00")
        );
        assert_eq!(
            zoned_date_time("2023-11-08T00:00:00").as_deref(),
            Some("2023-11-08")
        );
        assert_eq!(
            zoned_date_time("2023-11-08T00:00:00.000").as_deref(),
            Some("2023-11-08")
        );
        assert_eq!(zoned_date_time("2023-11-08").as_deref(), Some("2023-11-08"));
        assert_eq!(zoned_date_time("2024-02-21T16:46:17"), None);
        assert_eq!(zoned_date_time("2024-02-21T10:00:00"), None);
    }

    #[test]
    fn an_attachment_is_a_multimedia_value_and_back() {
        let a = json!({"contentType": "image/png", "url": "https://example.org/x.png", "size": 12});
        let Converted::Leaf(l) = fhir_to_dv(&a, Some("Attachment"), None) else {
            panic!("not converted");
        };
        assert_eq!(l.rm_type.as_deref(), Some("DV_MULTIMEDIA"));
        assert_eq!(l.fields.get("mediatype"), Some(&json!("image/png")));
        assert_eq!(l.fields.get(""), Some(&json!("https://example.org/x.png")));
        assert_eq!(dv_to_fhir(&l, "Attachment"), Some(a));
        assert_eq!(fhir_type_for_rm("DV_MULTIMEDIA"), "Attachment");
        // a pointer of unknown type; nothing to point at is no value
        let Converted::Leaf(l) = fhir_to_dv(&json!({"url": "x"}), Some("Attachment"), None) else {
            panic!("not converted");
        };
        assert_eq!(l.fields.get("mediatype"), Some(&json!(UNKNOWN_MEDIA_TYPE)));
        for empty in [json!({"title": "x"}), json!({"contentType": "text/plain"})] {
            assert_eq!(
                fhir_to_dv(&empty, Some("Attachment"), None),
                Converted::Unsupported
            );
        }
    }

    #[test]
    fn quantity_round_trips_with_ucum() {
        let q = json!({"value": 120, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"});
        let Converted::Leaf(l) = fhir_to_dv(&q, Some("Quantity"), None) else {
            panic!()
        };
        assert_eq!(l.text("unit"), Some("mm[Hg]"));
        assert_eq!(dv_to_fhir(&l, "Quantity"), Some(q));
        // display-only units go through the table
        let Converted::Leaf(l) =
            fhir_to_dv(&json!({"value": 1, "unit": "mmHg"}), Some("Quantity"), None)
        else {
            panic!()
        };
        assert_eq!(l.text("unit"), Some("mm[Hg]"));
    }

    #[test]
    fn codings_map_systems_both_ways() {
        let cc = json!({"coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "Systolic"}]});
        let Converted::Leaf(l) = fhir_to_dv(&cc, Some("CodeableConcept"), None) else {
            panic!()
        };
        assert_eq!(l.text("terminology"), Some("LOINC"));
        assert_eq!(dv_to_fhir(&l, "CodeableConcept"), Some(cc));
        assert_eq!(
            system_for_terminology("SNOMED-CT"),
            "http://snomed.info/sct"
        );
        assert_eq!(terminology_for_system("urn:x"), "urn:x");
    }

    #[test]
    fn values_fit_the_template_node() {
        let q =
            |m: Value, u: &str| Leaf::new("DV_QUANTITY", [("magnitude", m), ("unit", json!(u))]);
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let l = fit_to_template(
            q(json!(95), "{beats}/min"),
            &t(&["DV_QUANTITY"]),
            &t(&["/min"]),
        );
        assert_eq!(l.text("unit"), Some("/min"));
        let l = fit_to_template(q(json!(95), "kg"), &t(&["DV_QUANTITY"]), &t(&["/min"]));
        assert_eq!(
            l.text("unit"),
            Some("kg"),
            "a real unit mismatch is left for the template check"
        );
        let l = fit_to_template(q(json!(6), "{ScoreOf}"), &t(&["DV_COUNT"]), &[]);
        assert_eq!(l.rm_type.as_deref(), Some("DV_COUNT"));
        let l = fit_to_template(q(json!(6.5), "{ScoreOf}"), &t(&["DV_COUNT"]), &[]);
        assert_eq!(l.rm_type.as_deref(), Some("DV_QUANTITY"));
        let l = fit_to_template(q(json!(93), "%"), &t(&["DV_PROPORTION"]), &[]);
        assert_eq!(dv_to_fhir(&l, "Quantity").unwrap()["value"], json!(93));
    }

    #[test]
    fn every_table_row_is_a_pair_and_unique() {
        for text in [SYSTEMS, UCUM_DISPLAY] {
            let mut seen = std::collections::HashSet::new();
            for l in text
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            {
                let (a, b) = l.split_once('\t').unwrap();
                assert!(!a.is_empty() && !b.is_empty() && !b.contains('\t'), "{l}");
                assert!(seen.insert(a), "duplicate {a}");
            }
        }
    }

    #[test]
    fn primitives_pair_with_simple_data_values() {
        let Converted::Leaf(l) = fhir_to_dv(&json!("2022-02-03T04:05:06Z"), Some("dateTime"), None)
        else {
            panic!()
        };
        assert_eq!(l.rm_type.as_deref(), Some("DV_DATE_TIME"));
        assert_eq!(
            fhir_to_dv(&json!({"start": "x"}), Some("Period"), None),
            Converted::Unsupported
        );
    }
}
