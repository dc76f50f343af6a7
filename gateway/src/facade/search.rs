//! Search: FHIR parameters -> parameterised AQL per template -> rows
//! translated to resources -> a `searchset` Bundle with total and paging.
//!
//! `patient`/`subject` select the EHR (a patient without one matches
//! nothing), `date` bounds the composition's start time, both in AQL.
//! `code` and `_id` are checked on the translated resources, because a
//! code lives at a different path in every archetype; so paging is done
//! here over at most `max_search_scan` compositions, and a search matching
//! more is refused as too costly instead of answered with a wrong total.

use serde_json::{json, Value};

use super::aql::{search as search_aql, Filter};
use super::date::{self, Cmp};
use super::error::FacadeError;
use super::ids::{CompositionRef, VersionUid};
use super::Facade;

/// Parameters a client may send that do not filter.
const IGNORED: &[&str] = &["_format", "_pretty"];
/// How many `date` parameters one search may carry.
const MAX_DATES: usize = 4;

/// A parsed search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// The patient's subject id.
    pub patient: Option<String>,
    /// `(system, code)` alternatives (`None` system: any).
    pub codes: Vec<(Option<String>, String)>,
    /// Start time bounds.
    pub dates: Vec<(Cmp, String)>,
    /// Ids.
    pub ids: Vec<String>,
    /// Page size.
    pub count: u32,
    /// Page start.
    pub offset: u32,
}

/// A page of results.
#[derive(Debug)]
pub struct Page {
    /// The Bundle.
    pub bundle: Value,
}

/// Parses the query string of a search.
pub fn parse_query(query: &str, default_count: u32, max_count: u32) -> Result<Query, FacadeError> {
    let bad = |name: &str, reason: &str| FacadeError::BadSearch {
        name: name.to_owned(),
        reason: reason.to_owned(),
    };
    let mut q = Query {
        count: default_count,
        ..Query::default()
    };
    for (k, v) in form_pairs(query) {
        match k.as_str() {
            "patient" | "subject" => {
                let id = v
                    .rsplit_once("Patient/")
                    .map_or(v.as_str(), |(_, id)| id)
                    .to_owned();
                if id.is_empty() || id.contains('/') || id.len() > 256 {
                    return Err(bad(&k, "must be Patient/{id} or {id}"));
                }
                if q.patient.as_ref().is_some_and(|p| p != &id) {
                    return Err(bad(&k, "names two patients"));
                }
                q.patient = Some(id);
            }
            "code" => {
                for alt in v.split(',') {
                    let code = match alt.split_once('|') {
                        Some(("", c)) => (None, c.to_owned()),
                        Some((s, c)) => (Some(s.to_owned()), c.to_owned()),
                        None => (None, alt.to_owned()),
                    };
                    if code.1.is_empty() {
                        return Err(bad("code", "empty code"));
                    }
                    q.codes.push(code);
                }
            }
            "date" => {
                q.dates.extend(date::parse(&v)?);
                if q.dates.len() > MAX_DATES {
                    return Err(bad("date", "too many date bounds"));
                }
            }
            "_id" => q.ids.extend(v.split(',').map(str::to_owned)),
            "_count" => {
                let n: u32 = v.parse().map_err(|_| bad("_count", "not a number"))?;
                q.count = n.clamp(1, max_count);
            }
            "_offset" => q.offset = v.parse().map_err(|_| bad("_offset", "not a number"))?,
            k if IGNORED.contains(&k) => {}
            other => return Err(bad(other, "not supported by this facade")),
        }
    }
    Ok(q)
}

/// `k=v` pairs of a query string, percent-decoded (`+` is a space).
fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

// === impl Facade ===

impl Facade {
    /// Runs a search of `resource_type`; `self_url` is the request's URL
    /// without query (paging links are built on it).
    pub async fn search(
        &self,
        tenant: &str,
        resource_type: &str,
        q: &Query,
        self_url: &str,
    ) -> Result<Page, FacadeError> {
        let templates = self.settings.templates_of(resource_type);
        if templates.is_empty() {
            return Err(FacadeError::UnsupportedType(resource_type.to_owned()));
        }
        let ehr_id = match &q.patient {
            Some(p) => match self
                .ehrs
                .lookup(self.settings.namespace_of(tenant), p)
                .await?
            {
                Some(e) => Some(e),
                None => return Ok(Self::page(q, &[], self_url)),
            },
            None => None,
        };
        let scan = self.settings.max_search_scan;
        let mut matches: Vec<(String, Value)> = Vec::new();
        for t in templates {
            let aql = search_aql(&Filter {
                template_id: t.clone(),
                ehr_id: ehr_id.clone(),
                dates: q.dates.clone(),
                limit: scan.saturating_add(1),
            });
            let body = self.client.query_aql(&aql).await?;
            let rows = body
                .get("rows")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            if rows.len() > scan as usize {
                return Err(FacadeError::TooCostly(scan));
            }
            for row in rows {
                if let Some(m) = self.row(tenant, resource_type, row, q).await? {
                    matches.push(m);
                }
            }
            if matches.len() > scan as usize {
                return Err(FacadeError::TooCostly(scan));
            }
        }
        // Newest first across templates (each AQL answer is already sorted).
        matches.sort_by(|a, b| b.0.cmp(&a.0));
        let resources: Vec<Value> = matches.into_iter().map(|(_, r)| r).collect();
        Ok(Self::page(q, &resources, self_url))
    }

    /// One AQL row `[ehr_id, uid, composition, start time]` as `(start
    /// time, resource)` when it passes the filters done here (a backend
    /// that leaves the start time column out is read from the composition).
    async fn row(
        &self,
        tenant: &str,
        resource_type: &str,
        row: &Value,
        q: &Query,
    ) -> Result<Option<(String, Value)>, FacadeError> {
        let bad =
            || FacadeError::BadBackendAnswer("AQL row is not [ehr_id, uid, composition]".into());
        let ehr_id = row.get(0).and_then(Value::as_str).ok_or_else(bad)?;
        let composition = row.get(2).ok_or_else(bad)?;
        let uid = row
            .get(1)
            .and_then(Value::as_str)
            .or_else(|| composition.pointer("/uid/value").and_then(Value::as_str))
            .and_then(VersionUid::parse)
            .ok_or_else(bad)?;
        let r = CompositionRef {
            ehr_id: ehr_id.to_owned(),
            object_id: uid.object_id.clone(),
        };
        let id = r.fhir_id().ok_or_else(bad)?;
        if !q.ids.is_empty() && !q.ids.contains(&id) {
            return Ok(None);
        }
        let Some(resource) = self
            .resource_of(tenant, resource_type, ehr_id, &id, uid.version, composition)
            .await?
        else {
            return Ok(None);
        };
        if !q.codes.is_empty() && !has_code(&resource, &q.codes) {
            return Ok(None);
        }
        let time = row
            .get(3)
            .and_then(Value::as_str)
            .or_else(|| {
                composition
                    .pointer("/context/start_time/value")
                    .and_then(Value::as_str)
            })
            .unwrap_or("")
            .to_owned();
        Ok(Some((time, resource)))
    }

    fn page(q: &Query, all: &[Value], self_url: &str) -> Page {
        let total = all.len();
        let start = (q.offset as usize).min(total);
        let end = start.saturating_add(q.count as usize).min(total);
        let entries: Vec<Value> = all[start..end]
            .iter()
            .map(|r| {
                let id = r.get("id").and_then(Value::as_str).unwrap_or("");
                json!({
                    "fullUrl": format!("{}/{id}", self_url.trim_end_matches('/')),
                    "resource": r,
                    "search": {"mode": "match"}
                })
            })
            .collect();
        let link = |relation: &str, offset: usize| json!({"relation": relation, "url": format!("{self_url}?{}", canonical_query(q, offset))});
        let mut links = vec![link("self", start)];
        if end < total {
            links.push(link("next", end));
        }
        if start > 0 {
            links.push(link("previous", start.saturating_sub(q.count as usize)));
        }
        Page {
            bundle: json!({
                "resourceType": "Bundle",
                "type": "searchset",
                "total": total,
                "link": links,
                "entry": entries,
            }),
        }
    }
}

/// The query string of a page: the search's own parameters, re-encoded.
fn canonical_query(q: &Query, offset: usize) -> String {
    let enc = |s: &str| super::openehr::OpenEhrClient::q(s);
    let mut parts = Vec::new();
    if let Some(p) = &q.patient {
        parts.push(format!("patient={}", enc(&format!("Patient/{p}"))));
    }
    if !q.codes.is_empty() {
        let codes: Vec<String> = q
            .codes
            .iter()
            .map(|(s, c)| match s {
                Some(s) => format!("{s}|{c}"),
                None => c.clone(),
            })
            .collect();
        parts.push(format!("code={}", enc(&codes.join(","))));
    }
    for (cmp, v) in &q.dates {
        let prefix = match cmp {
            Cmp::Ge => "ge",
            Cmp::Lt => "lt",
            Cmp::Gt => "gt",
            Cmp::Le => "le",
        };
        parts.push(format!("date={prefix}{}", enc(v)));
    }
    if !q.ids.is_empty() {
        parts.push(format!("_id={}", enc(&q.ids.join(","))));
    }
    parts.push(format!("_count={}", q.count));
    parts.push(format!("_offset={offset}"));
    parts.join("&")
}

/// Whether the resource's `code` (or a vital sign component's) matches one
/// of `codes`.
fn has_code(resource: &Value, codes: &[(Option<String>, String)]) -> bool {
    let codings = resource
        .pointer("/code/coding")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    codings.into_iter().any(|c| {
        let sys = c.get("system").and_then(Value::as_str);
        let code = c.get("code").and_then(Value::as_str);
        codes
            .iter()
            .any(|(s, k)| code == Some(k.as_str()) && s.as_deref().is_none_or(|s| sys == Some(s)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_parse() {
        let q = parse_query(
            "patient=Patient%2Fp1&code=http://loinc.org|8867-4,|x&date=ge2024-01&_count=500&_offset=3&_format=json",
            20,
            200,
        )
        .unwrap();
        assert_eq!(q.patient.as_deref(), Some("p1"));
        assert_eq!(
            q.codes,
            [
                (Some("http://loinc.org".into()), "8867-4".into()),
                (None, "x".into())
            ]
        );
        assert_eq!(q.dates, [(Cmp::Ge, "2024-01".into())]);
        assert_eq!((q.count, q.offset), (200, 3));
    }

    #[test]
    fn bad_parameters_are_refused_not_ignored() {
        for s in [
            "foo=1",
            "_count=x",
            "date=xx2024",
            "patient=Group/1/x",
            "patient=a&subject=b",
        ] {
            assert!(parse_query(s, 20, 200).is_err(), "{s}");
        }
    }

    #[test]
    fn codes_match_system_and_code() {
        let r = json!({"code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}});
        assert!(has_code(&r, &[(None, "8867-4".into())]));
        assert!(has_code(
            &r,
            &[(Some("http://loinc.org".into()), "8867-4".into())]
        ));
        assert!(!has_code(
            &r,
            &[(Some("http://snomed.info/sct".into()), "8867-4".into())]
        ));
        assert!(!has_code(&r, &[(None, "8480-6".into())]));
    }

    #[test]
    fn paging_links_keep_the_search() {
        let q = Query {
            patient: Some("p 1".into()),
            count: 2,
            ..Query::default()
        };
        assert_eq!(
            canonical_query(&q, 4),
            "patient=Patient%2Fp%201&_count=2&_offset=4"
        );
    }
}
