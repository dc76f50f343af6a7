//! `POST /` with a transaction Bundle: every entry or none. Entries are
//! POST, PUT, conditional PUT (`Type?identifier=system|value`) and
//! DELETE; `urn:uuid` full URLs are mapped to the ids assigned and every
//! `reference` naming one is rewritten. The work runs on a copy of the
//! store that replaces it only when every entry succeeded, so a failing
//! entry leaves nothing behind. Batch Bundles run each entry on its own.

use std::collections::HashMap;

use http::StatusCode;
use serde_json::{json, Value};

use super::crud::{
    check_resource, do_create, do_delete, do_update, parse_etag, valid_id, valid_type, Written,
};
use super::db::Db;
use super::error::FhirError;
use super::router::Backend;
use crate::reference::clock;
use crate::reference::http::{self as h, Req, Resp};
use crate::reference::openehr::stats::lock;

/// What one entry asks for.
#[derive(Debug, Clone)]
enum Op {
    Create {
        rtype: String,
        resource: Value,
    },
    Update {
        rtype: String,
        id: String,
        resource: Value,
        if_match: Option<usize>,
    },
    ConditionalUpdate {
        rtype: String,
        system: Option<String>,
        value: String,
        resource: Value,
    },
    Delete {
        rtype: String,
        id: String,
        if_match: Option<usize>,
    },
}

/// The outcome of one entry.
#[derive(Debug, Clone)]
enum Done {
    Written(Written),
    Deleted,
}

fn entry_error(i: usize, e: FhirError) -> FhirError {
    FhirError {
        message: format!("Bundle.entry[{i}]: {}", e.message),
        ..e
    }
}

fn plan_entry(i: usize, entry: &Value) -> Result<(Op, Option<String>), FhirError> {
    let bad = |m: &str| {
        FhirError::bad_request("fhir.transaction-entry", format!("Bundle.entry[{i}]: {m}"))
    };
    let request = entry.get("request").ok_or_else(|| bad("no request"))?;
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no request.method"))?;
    let url = request
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no request.url"))?;
    let if_match = request
        .get("ifMatch")
        .and_then(Value::as_str)
        .map(parse_etag)
        .transpose()
        .map_err(|e| entry_error(i, e))?;
    let full_url = entry
        .get("fullUrl")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let (path, query) = url
        .split_once('?')
        .map_or((url, None), |(p, q)| (p, Some(q)));
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rtype = segs.first().copied().unwrap_or("").to_owned();
    if !valid_type(&rtype) {
        return Err(bad("request.url does not start with a resource type"));
    }
    let resource = || {
        let r = entry
            .get("resource")
            .cloned()
            .ok_or_else(|| bad("no resource"))?;
        if r.get("resourceType").and_then(Value::as_str) != Some(rtype.as_str()) {
            return Err(FhirError::bad_request(
                "fhir.wrong-type",
                format!("Bundle.entry[{i}]: resourceType differs from request.url"),
            ));
        }
        Ok(r)
    };
    let op = match (method, segs.len(), query) {
        ("POST", 1, None) => {
            if request.get("ifNoneExist").is_some() {
                return Err(FhirError::bad_request("fhir.transaction-unsupported", format!("Bundle.entry[{i}]: ifNoneExist is not supported")));
            }
            let mut r = resource()?;
            if let Value::Object(o) = &mut r {
                o.remove("id");
            }
            Op::Create { rtype: rtype.clone(), resource: r }
        }
        ("PUT", 2, None) if valid_id(segs[1]) => Op::Update { rtype: rtype.clone(), id: segs[1].to_owned(), resource: resource()?, if_match },
        ("PUT", 1, Some(q)) => {
            let pairs = crate::reference::http::parse_query(q);
            let [(k, v)] = pairs.as_slice() else {
                return Err(FhirError::bad_request("fhir.transaction-unsupported", format!("Bundle.entry[{i}]: conditional update supports identifier= only")));
            };
            if k != "identifier" {
                return Err(FhirError::bad_request("fhir.transaction-unsupported", format!("Bundle.entry[{i}]: conditional update supports identifier= only")));
            }
            let (system, value) = match v.split_once('|') {
                Some((s, v)) => (Some(s.to_owned()), v.to_owned()),
                None => (None, v.clone()),
            };
            Op::ConditionalUpdate { rtype: rtype.clone(), system, value, resource: resource()? }
        }
        ("DELETE", 2, None) if valid_id(segs[1]) => Op::Delete { rtype, id: segs[1].to_owned(), if_match },
        _ => {
            return Err(FhirError::bad_request(
                "fhir.transaction-unsupported",
                format!("Bundle.entry[{i}]: {method} {path} is not supported in a transaction (POST Type, PUT Type/id, PUT Type?identifier=, DELETE Type/id)"),
            ))
        }
    };
    Ok((op, full_url))
}

fn has_identifier(r: &Value, system: Option<&str>, value: &str) -> bool {
    r.get("identifier")
        .and_then(Value::as_array)
        .is_some_and(|ids| {
            ids.iter().any(|id| {
                id.get("value").and_then(Value::as_str) == Some(value)
                    && system.is_none_or(|s| id.get("system").and_then(Value::as_str) == Some(s))
            })
        })
}

/// Replaces every `reference` that names a full URL of this Bundle.
fn rewrite(v: &mut Value, map: &HashMap<String, String>, depth: usize) {
    if depth > 64 {
        return;
    }
    match v {
        Value::Object(o) => {
            for (k, c) in o.iter_mut() {
                if k == "reference" {
                    if let Some(to) = c.as_str().and_then(|s| map.get(s)) {
                        *c = Value::from(to.as_str());
                    }
                } else {
                    rewrite(c, map, depth + 1);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|c| rewrite(c, map, depth + 1)),
        _ => {}
    }
}

/// Resolves conditional updates to ids and maps full URLs to `Type/id`.
fn resolve(
    db: &Db,
    ops: &mut [(Op, Option<String>)],
) -> Result<HashMap<String, String>, FhirError> {
    let mut map = HashMap::new();
    for (i, (op, full_url)) in ops.iter_mut().enumerate() {
        let target = match op {
            Op::Create { rtype, resource } => {
                let id = uuid::Uuid::new_v4().to_string();
                let t = rtype.clone();
                let r = std::mem::take(resource);
                *op = Op::Update {
                    rtype: t.clone(),
                    id: id.clone(),
                    resource: r,
                    if_match: None,
                };
                format!("{t}/{id}")
            }
            Op::Update { rtype, id, .. } | Op::Delete { rtype, id, .. } => format!("{rtype}/{id}"),
            Op::ConditionalUpdate {
                rtype,
                system,
                value,
                resource,
            } => {
                let found: Vec<String> = db
                    .current_of(rtype)
                    .filter(|r| has_identifier(r, system.as_deref(), value))
                    .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_owned))
                    .collect();
                let id = match found.as_slice() {
                    [] => uuid::Uuid::new_v4().to_string(),
                    [one] => one.clone(),
                    _ => {
                        return Err(FhirError::new(
                            StatusCode::PRECONDITION_FAILED,
                            "fhir.conditional-multiple",
                            "multiple-matches",
                            format!(
                                "Bundle.entry[{i}]: the identifier matches more than one resource"
                            ),
                        ))
                    }
                };
                let mut r = resource.clone();
                if let Value::Object(o) = &mut r {
                    o.insert("id".to_owned(), Value::from(id.as_str()));
                }
                let t = rtype.clone();
                *op = Op::Update {
                    rtype: t.clone(),
                    id: id.clone(),
                    resource: r,
                    if_match: None,
                };
                format!("{t}/{id}")
            }
        };
        if let Some(u) = full_url {
            map.insert(u.clone(), target);
        }
    }
    Ok(map)
}

fn apply(b: &Backend, db: &mut Db, i: usize, op: Op) -> Result<Done, FhirError> {
    match op {
        Op::Update {
            rtype,
            id,
            resource,
            if_match,
        } => do_update(b, db, &rtype, &id, resource, if_match)
            .map(Done::Written)
            .map_err(|e| entry_error(i, e)),
        Op::Create { rtype, resource } => do_create(b, db, &rtype, resource, None)
            .map(Done::Written)
            .map_err(|e| entry_error(i, e)),
        Op::Delete {
            rtype,
            id,
            if_match,
        } => match do_delete(db, &rtype, &id, if_match) {
            Ok(_) => Ok(Done::Deleted),
            // Deleting what does not exist is not an error in a transaction.
            Err(e) if e.status == StatusCode::NOT_FOUND => Ok(Done::Deleted),
            Err(e) => Err(entry_error(i, e)),
        },
        Op::ConditionalUpdate { .. } => Err(FhirError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "fhir.internal",
            "exception",
            "unresolved conditional update",
        )),
    }
}

fn order(op: &Op) -> u8 {
    match op {
        Op::Delete { .. } => 0,
        Op::Create { .. } => 1,
        _ => 2,
    }
}

fn response_entry(done: &Done, representation: bool) -> Value {
    match done {
        Done::Written(w) => {
            let status = if w.status == StatusCode::CREATED {
                "201 Created"
            } else {
                "200 OK"
            };
            let mut e = json!({"response": {
                "status": status,
                "location": format!("{}/{}/_history/{}", w.rtype, w.id, w.version),
                "etag": format!("W/\"{}\"", w.version),
                "lastModified": clock::iso_now(),
            }});
            if representation {
                e["resource"] = w.resource.clone();
            }
            e
        }
        Done::Deleted => json!({"response": {"status": "204 No Content"}}),
    }
}

/// Runs planned operations on `db` in transaction order; entry results
/// in Bundle order.
fn run_all(
    b: &Backend,
    db: &mut Db,
    ops: Vec<(Op, Option<String>)>,
    map: &HashMap<String, String>,
) -> Result<Vec<Done>, FhirError> {
    let mut indexed: Vec<(usize, Op)> = ops
        .into_iter()
        .map(|(mut op, _)| {
            if let Op::Update { resource, .. } | Op::Create { resource, .. } = &mut op {
                rewrite(resource, map, 0);
            }
            op
        })
        .enumerate()
        .collect();
    indexed.sort_by_key(|(_, op)| order(op));
    let mut done: Vec<(usize, Done)> = Vec::with_capacity(indexed.len());
    for (i, op) in indexed {
        done.push((i, apply(b, db, i, op)?));
    }
    done.sort_by_key(|(i, _)| *i);
    Ok(done.into_iter().map(|(_, d)| d).collect())
}

fn count(b: &Backend, done: &[Done]) {
    for d in done {
        match d {
            Done::Written(w) if w.status == StatusCode::CREATED => b.stats.add_created(1),
            Done::Written(_) => b.stats.add_updated(1),
            Done::Deleted => b.stats.add_deleted(1),
        }
    }
}

/// `POST /` with a Bundle.
pub(crate) fn bundle(b: &Backend, req: &Req) -> Result<Resp, FhirError> {
    let bundle: Value = serde_json::from_slice(&req.body).map_err(|e| {
        FhirError::bad_request("fhir.invalid-json", format!("body is not JSON: {e}"))
    })?;
    check_resource(b, &bundle, Some("Bundle"))?;
    let kind = bundle.get("type").and_then(Value::as_str).unwrap_or("");
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if entries.len() > b.cfg.max_bundle_entries {
        return Err(FhirError::bad_request(
            "fhir.bundle-too-large",
            format!("more than {} entries", b.cfg.max_bundle_entries),
        ));
    }
    let representation = req.wants_representation();
    let out_entries: Vec<Value> = match kind {
        "transaction" => {
            let mut ops = entries.iter().enumerate().map(|(i, e)| plan_entry(i, e)).collect::<Result<Vec<_>, _>>()?;
            let mut db = lock(&b.stats.db);
            let mut work = db.clone();
            let map = resolve(&work, &mut ops)?;
            let done = run_all(b, &mut work, ops, &map)?;
            *db = work;
            drop(db);
            count(b, &done);
            b.stats.transaction_done();
            done.iter().map(|d| response_entry(d, representation)).collect()
        }
        "batch" => entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let result = plan_entry(i, e).and_then(|op| {
                    let mut ops = vec![op];
                    let mut db = lock(&b.stats.db);
                    let mut work = db.clone();
                    let map = resolve(&work, &mut ops)?;
                    let done = run_all(b, &mut work, ops, &map)?;
                    *db = work;
                    Ok(done)
                });
                match result {
                    Ok(done) => {
                        count(b, &done);
                        done.first().map_or(Value::Null, |d| response_entry(d, representation))
                    }
                    Err(err) => json!({"response": {
                        "status": format!("{} {}", err.status.as_u16(), err.status.canonical_reason().unwrap_or("")),
                        "outcome": err.outcome(),
                    }}),
                }
            })
            .collect(),
        other => {
            return Err(FhirError::bad_request(
                "fhir.bundle-type",
                format!("Bundle.type `{other}` cannot be posted to the base (transaction, batch)"),
            ))
        }
    };
    let response = json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::new_v4().to_string(),
        "type": format!("{kind}-response"),
        "entry": out_entries,
    });
    Ok(h::respond(
        StatusCode::OK,
        "application/fhir+json",
        response.to_string(),
    ))
}
