//! The template check on received compositions. It reuses the mapping
//! engine's reader and checker (`fhirconnect::canonical::from_canonical`,
//! `flat::from_flat`, `check::check`) instead of a second validator, so
//! the backend and the gateway agree on what a valid composition is.
//!
//! On top of the node check, the backend checks what EHRbase checks before
//! any node: a COMPOSITION whose root archetype is the template's, with
//! the mandatory RM attributes (`name`, `language`, `territory`,
//! `category`, `composer`).

use ehrgate_mappers::fhirconnect::canonical::{from_canonical, to_canonical, CanonicalDefaults};
use ehrgate_mappers::fhirconnect::check::{check, Issue};
use ehrgate_mappers::fhirconnect::flat::{from_flat, to_flat};
use ehrgate_mappers::fhirconnect::instance::Instance;
use serde_json::{Map, Value};

use super::db::Template;
use super::error::OpenEhrError;

/// How many issues an error message lists.
const MAX_LISTED: usize = 20;

/// The template id a canonical composition declares.
pub fn declared_template(comp: &Value) -> Option<&str> {
    comp.pointer("/archetype_details/template_id/value")
        .and_then(Value::as_str)
}

/// Every problem of a canonical composition against `tpl`, as text
/// (code and path, never values). Empty when it passes.
pub fn problems(comp: &Value, tpl: &Template) -> Vec<String> {
    let mut out = Vec::new();
    if comp.get("_type").and_then(Value::as_str) != Some("COMPOSITION") {
        out.push("rm.type: root `_type` is not COMPOSITION".to_owned());
        return out;
    }
    let root = tpl.meta.root.archetype_id.as_deref().unwrap_or("");
    if comp.get("archetype_node_id").and_then(Value::as_str) != Some(root) {
        out.push(format!(
            "template.root: root archetype_node_id is not the template's `{root}`"
        ));
    }
    for attr in ["name", "language", "territory", "category", "composer"] {
        if comp.get(attr).is_none_or(Value::is_null) {
            out.push(format!("rm.required: /{attr} missing"));
        }
    }
    let (inst, unmapped) = from_canonical(comp);
    out.extend(
        unmapped
            .iter()
            .map(|u| format!("rm.unreadable at {}: {}", u.location, u.reason)),
    );
    out.extend(node_problems(&inst, tpl));
    out
}

/// The template check's issues that EHRbase would also refuse.
///
/// The check was written for compositions the mapping engine builds, which
/// carry only template nodes. Compositions from elsewhere also carry RM
/// attributes that are not template nodes (`context/setting`, `links`,
/// `feeder_audit`, `ism_transition/current_state`, FLAT `_link`...); an
/// unknown-path issue whose path, from its first plain RM attribute on,
/// names no archetype node is therefore not a violation.
fn node_problems(inst: &Instance, tpl: &Template) -> Vec<String> {
    check(inst, &tpl.index)
        .iter()
        .filter(|i| !(i.code == "template.unknown-path" && rm_attribute_only(&i.openehr_path)))
        .map(describe)
        .collect()
}

/// `/content[x]/context/setting` -> true; `/context/other_context[at0001]/items[at0002]` -> false.
fn rm_attribute_only(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.iter().position(|s| !s.contains('[')) {
        Some(first_plain) => segs[first_plain..].iter().all(|s| !s.contains('[')),
        None => false,
    }
}

fn describe(i: &Issue) -> String {
    format!("{} at {}: {}", i.code, i.openehr_path, i.message)
}

/// Checks a canonical composition; 422 listing the problems.
pub fn check_canonical(comp: &Value, tpl: &Template) -> Result<(), OpenEhrError> {
    let found = problems(comp, tpl);
    if found.is_empty() {
        return Ok(());
    }
    Err(violation(tpl.meta.template_id.as_ref(), &found))
}

fn violation(template_id: &str, found: &[String]) -> OpenEhrError {
    let mut msg = format!(
        "Validation error: composition does not match template `{template_id}` ({} problems): ",
        found.len()
    );
    msg.push_str(
        &found
            .iter()
            .take(MAX_LISTED)
            .cloned()
            .collect::<Vec<_>>()
            .join("; "),
    );
    OpenEhrError::unprocessable("composition.template-violation", msg)
}

/// Reads a FLAT composition against `tpl` into canonical JSON. Keys the
/// template does not know refuse the whole composition (EHRbase: "Could
/// not consume Parts"), as do template violations. `ctx/` keys set the
/// RM attributes they name.
pub fn flat_to_canonical(
    flat: &Map<String, Value>,
    tpl: &Template,
    now: &str,
) -> Result<Value, OpenEhrError> {
    let mut defaults = CanonicalDefaults {
        language: "en".to_owned(),
        territory: "US".to_owned(),
        composer: "unknown".to_owned(),
        time: now.to_owned(),
    };
    let mut body = Map::new();
    for (k, v) in flat {
        let text = || v.as_str().map(str::to_owned);
        match k.as_str() {
            "ctx/language" => defaults.language = text().unwrap_or(defaults.language),
            "ctx/territory" => defaults.territory = text().unwrap_or(defaults.territory),
            "ctx/composer_name" => defaults.composer = text().unwrap_or(defaults.composer),
            "ctx/time" => defaults.time = text().unwrap_or(defaults.time),
            _ if k.starts_with("ctx/") => {}
            _ => {
                body.insert(k.clone(), v.clone());
            }
        }
    }
    let (inst, unmapped) = from_flat(&body, &tpl.index);
    let tid = tpl.meta.template_id.to_string();
    if !unmapped.is_empty() {
        let parts: Vec<String> = unmapped.iter().map(|u| u.location.clone()).collect();
        return Err(OpenEhrError::unprocessable(
            "composition.flat-unknown-path",
            format!(
                "Could not consume Parts {:?} of template `{tid}`",
                &parts[..parts.len().min(MAX_LISTED)]
            ),
        ));
    }
    let issues = node_problems(&inst, tpl);
    if !issues.is_empty() {
        return Err(violation(&tid, &issues));
    }
    let comp = to_canonical(&inst, &tpl.index, &defaults);
    check_canonical(&comp, tpl)?;
    Ok(comp)
}

/// A stored canonical composition as FLAT (`GET ...?format=FLAT`).
pub fn canonical_to_flat(comp: &Value, tpl: &Template) -> Value {
    let (inst, _) = from_canonical(comp);
    Value::Object(to_flat(&inst, &tpl.index))
}

/// Loads a template for the check (tests outside the server use it).
pub fn load_for_test(opt: &[u8]) -> Result<Template, ehrgate_templates::OptError> {
    super::template::load(opt, &ehrgate_templates::OptLimits::default())
}
