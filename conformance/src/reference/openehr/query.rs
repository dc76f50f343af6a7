//! `POST /query/aql` (`{"q", "query_parameters", "offset", "fetch"}`)
//! and `GET /query/aql?q=&query_parameters=` -> the result set EHRbase
//! answers: `meta`, `q`, `columns` (`name`, `path`), `rows`.

use std::collections::HashMap;

use ehrgate_templates::fault::Classified;
use http::{Method, StatusCode};
use serde_json::{json, Map, Value};

use super::aql::eval::{run as eval, EhrData, Paging};
use super::aql::{parse, AqlError};
use super::ehr::ehr_json;
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
        let params = match req.param("query_parameters") {
            Some(p) => serde_json::from_str(p).map_err(|_| {
                OpenEhrError::bad_request(
                    "aql.bad-parameters",
                    "query_parameters is not a JSON object",
                )
            })?,
            None => json!({}),
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
                ehr: ehr_json(e, &b.cfg.system_id),
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
