//! `GET /{type}?...`: `_id`, `identifier`, `patient`, `subject`, `code`, `date`,
//! `_sort=date|-date`, `_count`, `_offset`. Parameters are ANDed, comma
//! values ORed. Unknown parameters and modifiers are refused (400) rather
//! than ignored, so a client sending a search this backend cannot answer
//! learns it.

use std::collections::HashSet;

use http::StatusCode;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Value};

use super::crud::valid_type;
use super::date::{self, value_range, Prefix, Range};
use super::error::FhirError;
use super::router::Backend;
use crate::reference::http::{self as h, Req, Resp};
use crate::reference::openehr::stats::lock;

/// The elements the `date` parameter searches, per type (R4 search
/// parameter definitions; a generic list for other types).
fn date_fields(rtype: &str) -> &'static [&'static str] {
    match rtype {
        "Observation" => &[
            "effectiveDateTime",
            "effectivePeriod",
            "effectiveInstant",
            "effectiveTiming",
        ],
        "Condition" => &["recordedDate", "onsetDateTime", "onsetPeriod"],
        "AllergyIntolerance" => &["recordedDate"],
        "MedicationStatement" => &["effectiveDateTime", "effectivePeriod"],
        "DiagnosticReport" => &["effectiveDateTime", "effectivePeriod"],
        "Encounter" => &["period"],
        "Immunization" => &["occurrenceDateTime"],
        "Procedure" => &["performedDateTime", "performedPeriod"],
        _ => &[
            "date",
            "effectiveDateTime",
            "effectivePeriod",
            "recordedDate",
            "issued",
            "authoredOn",
            "onsetDateTime",
            "period",
        ],
    }
}

fn code_fields(rtype: &str) -> &'static [&'static str] {
    match rtype {
        "MedicationStatement" | "MedicationRequest" => &["medicationCodeableConcept"],
        "Immunization" => &["vaccineCode"],
        _ => &["code"],
    }
}

/// One parsed criterion.
enum Criterion {
    Ids(HashSet<String>),
    Reference {
        fields: &'static [&'static str],
        targets: Vec<String>,
    },
    Code(Vec<(Option<String>, Option<String>)>),
    Identifier(Vec<(Option<String>, Option<String>)>),
    Date(Prefix, Range),
}

fn reference_matches(have: &str, want: &str) -> bool {
    // `want` is `Type/id` or a bare id; `have` may be relative or absolute.
    if want.contains('/') {
        have == want || have.ends_with(&format!("/{want}"))
    } else {
        have.rsplit('/').next() == Some(want) && have.contains('/')
    }
}

fn codings(v: &Value) -> Vec<&Value> {
    v.get("coding")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn matches(c: &Criterion, r: &Value, rtype: &str) -> bool {
    match c {
        Criterion::Ids(ids) => r
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|i| ids.contains(i)),
        Criterion::Reference { fields, targets } => fields.iter().any(|f| {
            r.get(*f)
                .and_then(|x| x.get("reference"))
                .and_then(Value::as_str)
                .is_some_and(|have| targets.iter().any(|t| reference_matches(have, t)))
        }),
        Criterion::Code(tokens) => code_fields(rtype).iter().any(|f| {
            r.get(*f).is_some_and(|cc| {
                codings(cc).iter().any(|coding| {
                    let sys = coding.get("system").and_then(Value::as_str);
                    let code = coding.get("code").and_then(Value::as_str);
                    tokens.iter().any(|(ws, wc)| {
                        ws.as_deref()
                            .is_none_or(|s| (s.is_empty() && sys.is_none()) || Some(s) == sys)
                            && wc.as_deref().is_none_or(|c| Some(c) == code)
                    })
                })
            })
        }),
        Criterion::Identifier(tokens) => {
            r.get("identifier")
                .and_then(Value::as_array)
                .is_some_and(|ids| {
                    ids.iter().any(|id| {
                        let sys = id.get("system").and_then(Value::as_str);
                        let value = id.get("value").and_then(Value::as_str);
                        tokens.iter().any(|(ws, wv)| {
                            ws.as_deref()
                                .is_none_or(|s| (s.is_empty() && sys.is_none()) || Some(s) == sys)
                                && wv.as_deref().is_none_or(|v| Some(v) == value)
                        })
                    })
                })
        }
        Criterion::Date(prefix, range) => date_fields(rtype)
            .iter()
            .filter_map(|f| r.get(*f))
            .filter_map(value_range)
            .any(|t| date::matches(*prefix, *range, t)),
    }
}

fn token(v: &str) -> (Option<String>, Option<String>) {
    match v.split_once('|') {
        Some((s, c)) => (Some(s.to_owned()), (!c.is_empty()).then(|| c.to_owned())),
        None => (None, Some(v.to_owned())),
    }
}

fn date_key(r: &Value, rtype: &str) -> Option<f64> {
    date_fields(rtype)
        .iter()
        .filter_map(|f| r.get(*f))
        .filter_map(value_range)
        .map(|x| x.0)
        .next()
}

fn bad(code: &'static str, msg: impl Into<String>) -> FhirError {
    FhirError::bad_request(code, msg)
}

/// Answers a search.
pub(crate) fn search(b: &Backend, req: &Req, rtype: &str) -> Result<Resp, FhirError> {
    if !valid_type(rtype) {
        return Err(FhirError::not_found(format!(
            "`{rtype}` is not a resource type"
        )));
    }
    let mut criteria = Vec::new();
    let mut count = b.cfg.default_count;
    let mut offset = 0usize;
    let mut sort: Option<bool> = None;
    let mut kept_params: Vec<(String, String)> = Vec::new();
    for (k, v) in &req.query {
        let number = |what: &str| {
            v.parse::<usize>().map_err(|_| {
                bad(
                    "fhir.search-bad-value",
                    format!("{what} must be a non-negative integer"),
                )
            })
        };
        match k.as_str() {
            "_count" => count = number("_count")?.min(b.cfg.max_count),
            "_offset" => offset = number("_offset")?,
            "_format" | "_pretty" | "_total" => {}
            "_sort" => {
                sort = Some(match v.as_str() {
                    "date" => false,
                    "-date" => true,
                    other => {
                        return Err(bad(
                            "fhir.search-unsupported",
                            format!("_sort={other} is not supported (date, -date)"),
                        ))
                    }
                });
                kept_params.push((k.clone(), v.clone()));
            }
            "_id" => {
                criteria.push(Criterion::Ids(v.split(',').map(str::to_owned).collect()));
                kept_params.push((k.clone(), v.clone()));
            }
            "patient" | "subject" => {
                let targets = v
                    .split(',')
                    .map(|t| {
                        if k == "patient" && !t.contains('/') {
                            format!("Patient/{t}")
                        } else {
                            t.to_owned()
                        }
                    })
                    .collect();
                let fields: &'static [&'static str] = if k == "patient" {
                    &["subject", "patient"]
                } else {
                    &["subject"]
                };
                criteria.push(Criterion::Reference { fields, targets });
                kept_params.push((k.clone(), v.clone()));
            }
            "code" => {
                criteria.push(Criterion::Code(v.split(',').map(token).collect()));
                kept_params.push((k.clone(), v.clone()));
            }
            "identifier" => {
                criteria.push(Criterion::Identifier(v.split(',').map(token).collect()));
                kept_params.push((k.clone(), v.clone()));
            }
            "date" => {
                let (p, r) = date::parse_param(v).ok_or_else(|| {
                    bad(
                        "fhir.search-bad-value",
                        "date must be [eq|ne|gt|lt|ge|le]YYYY[-MM[-DD[Thh:mm[:ss][zone]]]]",
                    )
                })?;
                criteria.push(Criterion::Date(p, r));
                kept_params.push((k.clone(), v.clone()));
            }
            other if other.contains(':') => {
                return Err(bad(
                    "fhir.search-unsupported",
                    format!("search modifier in `{other}` is not supported"),
                ))
            }
            other => {
                return Err(bad(
                    "fhir.search-unsupported",
                    format!("search parameter `{other}` is not supported"),
                ))
            }
        }
    }
    let mut hits: Vec<Value> = {
        let db = lock(&b.stats.db);
        db.current_of(rtype)
            .filter(|r| criteria.iter().all(|c| matches(c, r, rtype)))
            .cloned()
            .collect()
    };
    if let Some(desc) = sort {
        hits.sort_by(|x, y| {
            let (a, b) = (date_key(x, rtype), date_key(y, rtype));
            let o = a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal);
            if desc {
                o.reverse()
            } else {
                o
            }
        });
    }
    let total = hits.len();
    let base = b.stats.base();
    let link = |off: usize| {
        let mut q: Vec<String> = kept_params
            .iter()
            .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
            .collect();
        q.push(format!("_count={count}"));
        q.push(format!("_offset={off}"));
        format!("{base}/{rtype}?{}", q.join("&"))
    };
    let mut links = vec![json!({"relation": "self", "url": link(offset)})];
    if count > 0 && offset + count < total {
        links.push(json!({"relation": "next", "url": link(offset + count)}));
    }
    if offset > 0 {
        links.push(
            json!({"relation": "previous", "url": link(offset.saturating_sub(count.max(1)))}),
        );
    }
    let entries: Vec<Value> = hits
        .into_iter()
        .skip(offset)
        .take(count)
        .map(|r| {
            let id = r.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
            json!({"fullUrl": format!("{base}/{rtype}/{id}"), "resource": r, "search": {"mode": "match"}})
        })
        .collect();
    let mut bundle = json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::new_v4().to_string(),
        "type": "searchset",
        "total": total,
        "link": links,
    });
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    b.stats.search_done();
    Ok(h::respond(
        StatusCode::OK,
        "application/fhir+json",
        bundle.to_string(),
    ))
}
