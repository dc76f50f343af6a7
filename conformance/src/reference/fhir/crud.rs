//! Create, read, vread, update and delete. The write operations work on a
//! `&mut Db` so a transaction can run them on a copy and commit or drop
//! it whole.

use http::{header, StatusCode};
use serde_json::{json, Map, Value};

use super::db::{Db, History};
use super::error::FhirError;
use super::router::Backend;
use crate::reference::clock;
use crate::reference::http::{self as h, Req, Resp};
use crate::reference::openehr::stats::lock;

/// Most schema errors reported for one resource.
const MAX_SCHEMA_ERRORS: usize = 20;

/// A stored version, as a write answers it.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    pub status: StatusCode,
    pub rtype: String,
    pub id: String,
    pub version: usize,
    pub resource: Value,
}

/// A FHIR id (`[A-Za-z0-9\-\.]{1,64}`).
pub(crate) fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// A resource type name as FHIR spells them (the schema checks it exists).
pub(crate) fn valid_type(t: &str) -> bool {
    t.len() <= 64
        && t.starts_with(|c: char| c.is_ascii_uppercase())
        && t.chars().all(|c| c.is_ascii_alphabetic())
}

/// `W/"3"`, `"3"` or `3` -> 3.
pub(crate) fn parse_etag(v: &str) -> Result<usize, FhirError> {
    v.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map_err(|_| {
            FhirError::bad_request("fhir.bad-etag", "If-Match is not a version ETag (W/\"n\")")
        })
}

/// Parses a request body as a resource of `rtype` and validates it.
pub(crate) fn parse_resource(
    b: &Backend,
    body: &[u8],
    rtype: Option<&str>,
) -> Result<Value, FhirError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        FhirError::bad_request("fhir.invalid-json", format!("body is not JSON: {e}"))
    })?;
    check_resource(b, &v, rtype)?;
    Ok(v)
}

/// The resource is an object of `rtype` (when given) that the schema accepts.
pub(crate) fn check_resource(b: &Backend, v: &Value, rtype: Option<&str>) -> Result<(), FhirError> {
    let Some(actual) = v.get("resourceType").and_then(Value::as_str) else {
        return Err(FhirError::bad_request(
            "fhir.not-a-resource",
            "body is not a FHIR resource (no resourceType)",
        ));
    };
    if let Some(t) = rtype {
        if actual != t {
            return Err(FhirError::bad_request(
                "fhir.wrong-type",
                format!("resourceType `{actual}` sent to the `{t}` endpoint"),
            ));
        }
    }
    if b.cfg.validate {
        let errors = b.schema.get().errors(v, MAX_SCHEMA_ERRORS);
        if !errors.is_empty() {
            let mut e = FhirError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "fhir.schema",
                "structure",
                format!("{actual} does not validate against the FHIR R4 schema"),
            );
            e.details = errors;
            return Err(e);
        }
    }
    Ok(())
}

fn stamp(resource: &mut Value, id: &str, version: usize) {
    if let Value::Object(o) = resource {
        o.insert("id".to_owned(), Value::from(id));
        let meta = o.entry("meta").or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = meta {
            m.insert("versionId".to_owned(), Value::from(version.to_string()));
            m.insert("lastUpdated".to_owned(), Value::from(clock::iso_now()));
        }
    }
}

fn full(b: &Backend) -> FhirError {
    let _ = b;
    FhirError::new(
        StatusCode::INSUFFICIENT_STORAGE,
        "store.full",
        "too-costly",
        "version limit reached",
    )
}

/// Stores a new resource (a fresh id unless `id` is given and free).
pub(crate) fn do_create(
    b: &Backend,
    db: &mut Db,
    rtype: &str,
    mut resource: Value,
    id: Option<String>,
) -> Result<Written, FhirError> {
    if db.versions_total >= b.cfg.max_versions {
        return Err(full(b));
    }
    let id = id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    stamp(&mut resource, &id, 1);
    let key = (rtype.to_owned(), id.clone());
    db.resources.insert(
        key.clone(),
        History {
            versions: vec![Some(resource.clone())],
        },
    );
    db.order.push(key);
    db.versions_total += 1;
    Ok(Written {
        status: StatusCode::CREATED,
        rtype: rtype.to_owned(),
        id,
        version: 1,
        resource,
    })
}

/// Updates (or creates with the given id); `if_match` is the expected
/// current version.
pub(crate) fn do_update(
    b: &Backend,
    db: &mut Db,
    rtype: &str,
    id: &str,
    mut resource: Value,
    if_match: Option<usize>,
) -> Result<Written, FhirError> {
    if resource
        .get("id")
        .and_then(Value::as_str)
        .is_some_and(|i| i != id)
    {
        return Err(FhirError::bad_request(
            "fhir.id-mismatch",
            "resource id differs from the URL id",
        ));
    }
    let key = (rtype.to_owned(), id.to_owned());
    let Some(hist) = db.resources.get(&key) else {
        if if_match.is_some() {
            return Err(FhirError::new(
                StatusCode::PRECONDITION_FAILED,
                "fhir.version-conflict",
                "conflict",
                "If-Match on a resource that does not exist",
            ));
        }
        return do_create(b, db, rtype, resource, Some(id.to_owned()));
    };
    let latest = hist.latest();
    if let Some(v) = if_match {
        if v != latest || hist.current().is_none() {
            return Err(FhirError::new(
                StatusCode::PRECONDITION_FAILED,
                "fhir.version-conflict",
                "conflict",
                format!("If-Match W/\"{v}\" is not the current version W/\"{latest}\""),
            ));
        }
    }
    if db.versions_total >= b.cfg.max_versions {
        return Err(full(b));
    }
    let was_deleted = hist.current().is_none();
    let version = latest + 1;
    stamp(&mut resource, id, version);
    if let Some(h) = db.resources.get_mut(&key) {
        h.versions.push(Some(resource.clone()));
    }
    db.versions_total += 1;
    Ok(Written {
        status: if was_deleted {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        rtype: rtype.to_owned(),
        id: id.to_owned(),
        version,
        resource,
    })
}

/// Deletes; returns whether something was deleted (false: already gone).
pub(crate) fn do_delete(
    db: &mut Db,
    rtype: &str,
    id: &str,
    if_match: Option<usize>,
) -> Result<bool, FhirError> {
    let key = (rtype.to_owned(), id.to_owned());
    let hist = db
        .resources
        .get_mut(&key)
        .ok_or_else(|| FhirError::not_found(format!("{rtype}/{id} is not known")))?;
    if let Some(v) = if_match {
        if v != hist.latest() {
            return Err(FhirError::new(
                StatusCode::PRECONDITION_FAILED,
                "fhir.version-conflict",
                "conflict",
                format!(
                    "If-Match W/\"{v}\" is not the current version W/\"{}\"",
                    hist.latest()
                ),
            ));
        }
    }
    if hist.current().is_none() {
        return Ok(false);
    }
    hist.versions.push(None);
    Ok(true)
}

/// The answer to a write, honouring `Prefer: return=`.
pub(crate) fn written(b: &Backend, req: &Req, w: &Written) -> Resp {
    let prefer = req.header("prefer").unwrap_or("");
    let resp = if prefer.contains("return=minimal") {
        h::empty(w.status)
    } else if prefer.contains("return=OperationOutcome") {
        h::respond(
            w.status,
            "application/fhir+json",
            json!({"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational", "diagnostics": "stored"}]}).to_string(),
        )
    } else {
        h::respond(w.status, "application/fhir+json", w.resource.to_string())
    };
    with_version_headers(b, resp, &w.rtype, &w.id, w.version)
}

fn with_version_headers(b: &Backend, resp: Resp, rtype: &str, id: &str, version: usize) -> Resp {
    let resp = h::with_header(resp, header::ETAG, &format!("W/\"{version}\""));
    let resp = h::with_header(resp, header::LAST_MODIFIED, &clock::http_now());
    h::with_header(
        resp,
        header::LOCATION,
        &format!("{}/{rtype}/{id}/_history/{version}", b.stats.base()),
    )
}

fn if_match(req: &Req) -> Result<Option<usize>, FhirError> {
    req.header("if-match").map(parse_etag).transpose()
}

fn check_path(rtype: &str, id: Option<&str>) -> Result<(), FhirError> {
    if !valid_type(rtype) {
        return Err(FhirError::not_found(format!(
            "`{rtype}` is not a resource type"
        )));
    }
    if id.is_some_and(|i| !valid_id(i)) {
        return Err(FhirError::bad_request("fhir.bad-id", "id is not a FHIR id"));
    }
    Ok(())
}

/// `POST /{type}`.
pub(crate) fn create(b: &Backend, req: &Req, rtype: &str) -> Result<Resp, FhirError> {
    check_path(rtype, None)?;
    let mut resource = parse_resource(b, &req.body, Some(rtype))?;
    if let Value::Object(o) = &mut resource {
        o.remove("id");
    }
    let w = do_create(b, &mut lock(&b.stats.db), rtype, resource, None)?;
    b.stats.add_created(1);
    Ok(written(b, req, &w))
}

/// `GET /{type}/{id}` and `GET /{type}/{id}/_history/{v}`.
pub(crate) fn read(
    b: &Backend,
    rtype: &str,
    id: &str,
    version: Option<&str>,
) -> Result<Resp, FhirError> {
    check_path(rtype, Some(id))?;
    let db = lock(&b.stats.db);
    let hist = db
        .resources
        .get(&(rtype.to_owned(), id.to_owned()))
        .ok_or_else(|| FhirError::not_found(format!("{rtype}/{id} is not known")))?;
    let n = match version {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=hist.latest()).contains(n))
            .ok_or_else(|| FhirError::not_found(format!("{rtype}/{id} has no version `{v}`")))?,
        None => hist.latest(),
    };
    match hist.versions.get(n - 1).and_then(Option::as_ref) {
        Some(r) => {
            let resp = h::respond(StatusCode::OK, "application/fhir+json", r.to_string());
            Ok(with_version_headers(b, resp, rtype, id, n))
        }
        None => Err(FhirError::new(
            StatusCode::GONE,
            "fhir.deleted",
            "deleted",
            format!("{rtype}/{id} was deleted"),
        )),
    }
}

/// `PUT /{type}/{id}`.
pub(crate) fn update(b: &Backend, req: &Req, rtype: &str, id: &str) -> Result<Resp, FhirError> {
    check_path(rtype, Some(id))?;
    let if_match = if_match(req)?;
    let resource = parse_resource(b, &req.body, Some(rtype))?;
    let w = do_update(b, &mut lock(&b.stats.db), rtype, id, resource, if_match)?;
    if w.status == StatusCode::CREATED {
        b.stats.add_created(1);
    } else {
        b.stats.add_updated(1);
    }
    Ok(written(b, req, &w))
}

/// `DELETE /{type}/{id}`.
pub(crate) fn delete(b: &Backend, req: &Req, rtype: &str, id: &str) -> Result<Resp, FhirError> {
    check_path(rtype, Some(id))?;
    let if_match = if_match(req)?;
    if do_delete(&mut lock(&b.stats.db), rtype, id, if_match)? {
        b.stats.add_deleted(1);
    }
    Ok(h::empty(StatusCode::NO_CONTENT))
}
