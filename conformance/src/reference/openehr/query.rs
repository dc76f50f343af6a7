//! `POST /query/aql` (`{"q", "query_parameters", "offset", "fetch"}`)
//! and `GET /query/aql?q=&query_parameters=` -> the result set EHRbase
//! answers: `meta`, `q`, `columns` (`name`, `path`), `rows`.
//!
//! On GET, `query_parameters` is form-encoded (`ehr_id=...&x=1`), as
//! EHRbase's `QueryParameterConverter` reads it (split on `&`, then on the
//! first `=`; values are strings). Before running, the query passes
//! EHRbase's feature checks (ORDER BY on a selected path: 400; LIMIT over
//! the configured maximum: 422).

use std::collections::HashMap;

use ehrgate_fault::Classified;
use http::{Method, StatusCode};
use serde_json::{json, Map, Value};

use super::aql::eval::{run as eval, EhrData, Paging};
use super::aql::features::{ensure_supported, FeatureError};
use super::aql::{parse, AqlError};
use super::ehr::ehr_aql_json;
use super::error::OpenEhrError;
use super::router::Backend;
use super::stats::lock;
use crate::reference::clock;
use crate::reference::http::{self as h, Req, Resp};

fn aql_error(e: &AqlError) -> OpenEhrError {
    OpenEhrError::bad_request(e.code(), e.to_string())
}

fn usize_of(v: Option<&Value>, what: &str) -> Result<Option<usize>, OpenEhrError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(|n| Some(n as usize)).ok_or_else(|| {
            OpenEhrError::bad_request(
                "aql.bad-paging",
                format!("{what} must be a non-negative integer"),
            )
        }),
        Some(Value::String(s)) => s.parse::<usize>().map(Some).map_err(|_| {
            OpenEhrError::bad_request(
                "aql.bad-paging",
                format!("{what} must be a non-negative integer"),
            )
        }),
        Some(_) => Err(OpenEhrError::bad_request(
            "aql.bad-paging",
            format!("{what} must be a number"),
        )),
    }
}

/// Reads the request: query text, parameters, paging.
fn request(req: &Req) -> Result<(String, Map<String, Value>, Paging), OpenEhrError> {
    let body: Value = if req.method == Method::GET {
        let params: Map<String, Value> = match req.param("query_parameters") {
            Some(p) => form_parameters(p),
            None => Map::new(),
        };
        json!({"q": req.param("q"), "query_parameters": params,
               "offset": req.param("offset"), "fetch": req.param("fetch")})
    } else {
        serde_json::from_slice(&req.body).map_err(|e| {
            OpenEhrError::bad_request("aql.invalid-json", format!("body is not JSON: {e}"))
        })?
    };
    let q = body
        .get("q")
        .and_then(Value::as_str)
        .ok_or_else(|| OpenEhrError::bad_request("aql.no-query", "`q` (the AQL text) is required"))?
        .to_owned();
    let params = match body.get("query_parameters") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(o)) => o.clone(),
        Some(_) => {
            return Err(OpenEhrError::bad_request(
                "aql.bad-parameters",
                "query_parameters must be a JSON object",
            ))
        }
    };
    let paging = Paging {
        offset: usize_of(body.get("offset"), "offset")?,
        fetch: usize_of(body.get("fetch"), "fetch")?,
    };
    Ok((q, params, paging))
}

/// `k=v&k2=v2` (already percent-decoded once as a query value) as string
/// parameters: EHRbase's `QueryParameterConverter`.
fn form_parameters(p: &str) -> Map<String, Value> {
    p.split('&')
        .filter(|t| !t.is_empty())
        .map(|t| {
            let (k, v) = t.split_once('=').unwrap_or((t, ""));
            (k.to_owned(), Value::String(v.to_owned()))
        })
        .collect()
}

/// Runs the query.
pub(crate) fn run(b: &Backend, req: &Req) -> Result<Resp, OpenEhrError> {
    let (q, params, paging) = request(req)?;
    if q.len() > b.cfg.max_aql_bytes {
        return Err(OpenEhrError::bad_request(
            "aql.too-long",
            format!("query longer than {} bytes", b.cfg.max_aql_bytes),
        ));
    }
    let query = parse(&q).map_err(|e| aql_error(&e))?;
    ensure_supported(&query, b.cfg.max_limit).map_err(|e| match e {
        FeatureError::OrderByNotSelected(_) => {
            OpenEhrError::bad_request("aql.order-by-not-selected", e.to_string())
        }
        FeatureError::LimitTooLarge { .. } => {
            OpenEhrError::unprocessable("aql.limit-too-large", e.to_string())
        }
    })?;
    let result = {
        let db = lock(&b.stats.db);
        let mut by_ehr: HashMap<&str, Vec<&Value>> = HashMap::new();
        for id in &db.composition_order {
            if let Some(vc) = db.compositions.get(id) {
                if let Some(Some(c)) = vc.versions.last().map(|v| v.composition.as_ref()) {
                    by_ehr.entry(vc.ehr_id.as_str()).or_default().push(c);
                }
            }
        }
        let data: Vec<EhrData<'_>> = db
            .ehr_order
            .iter()
            .filter_map(|id| db.ehrs.get(id))
            .map(|e| EhrData {
                ehr: ehr_aql_json(e, &b.cfg.system_id),
                compositions: by_ehr.remove(e.ehr_id.as_str()).unwrap_or_default(),
            })
            .collect();
        eval(&query, &params, &data, paging, b.cfg.max_rows).map_err(|e| aql_error(&e))?
    };
    b.stats.query_run();
    let columns: Vec<Value> = result
        .columns
        .iter()
        .map(|(name, path)| json!({"name": name, "path": path}))
        .collect();
    Ok(h::json(
        StatusCode::OK,
        &json!({
            "meta": {
                "_type": "RESULTSET",
                "_schema_version": "1.0.0",
                "_created": clock::iso_now(),
                "_generator": "ehrgate-conformance reference backend",
                "_executed_aql": q,
                "resultsize": result.rows.len(),
            },
            "q": q,
            "columns": columns,
            "rows": result.rows,
        }),
    ))
}
