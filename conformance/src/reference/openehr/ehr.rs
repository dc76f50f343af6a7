//! `POST /ehr`, `PUT /ehr/{id}`, `GET /ehr/{id}`,
//! `GET /ehr?subject_id=&subject_namespace=`.

use http::{header, StatusCode};
use serde_json::{json, Value};

use super::db::Ehr;
use super::error::OpenEhrError;
use super::router::Backend;
use super::stats::lock;
use crate::reference::clock;
use crate::reference::http::{self as h, Req, Resp};

/// The EHR as the REST API returns it: EHR_STATUS and EHR_ACCESS as
/// object references (version 1 each; this backend does not version them).
pub(crate) fn ehr_json(e: &Ehr, system_id: &str) -> Value {
    let reference = |object: &str, rm: &str| {
        json!({
            "id": {"_type": "OBJECT_VERSION_ID", "value": format!("{object}::{system_id}::1")},
            "namespace": "local",
            "type": rm,
        })
    };
    json!({
        "system_id": {"value": system_id},
        "ehr_id": {"value": e.ehr_id},
        "ehr_status": reference(&e.status_id, "EHR_STATUS"),
        "ehr_access": reference(&e.access_id, "EHR_ACCESS"),
        "time_created": {"value": e.time_created},
    })
}

/// The EHR as AQL sees it: `ehr_status` is the EHR_STATUS itself, so
/// `e/ehr_status/subject/external_ref/id/value` resolves.
pub(crate) fn ehr_aql_json(e: &Ehr, system_id: &str) -> Value {
    json!({
        "system_id": {"value": system_id},
        "ehr_id": {"value": e.ehr_id},
        "ehr_status": e.status,
        "time_created": {"value": e.time_created},
    })
}

/// The subject `(id, namespace)` of an EHR_STATUS, if it names one.
fn subject_of(status: &Value) -> Option<(String, String)> {
    let r = status.pointer("/subject/external_ref")?;
    let id = r.pointer("/id/value")?.as_str()?;
    let ns = r.get("namespace")?.as_str()?;
    Some((id.to_owned(), ns.to_owned()))
}

/// Creates an EHR, with the given id for `PUT /ehr/{id}`.
pub(crate) fn create(b: &Backend, req: &Req, id: Option<&str>) -> Result<Resp, OpenEhrError> {
    let status: Value = if req.body.iter().all(u8::is_ascii_whitespace) {
        json!({
            "_type": "EHR_STATUS",
            "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
            "name": {"value": "EHR Status"},
            "subject": {},
            "is_modifiable": true,
            "is_queryable": true,
        })
    } else {
        serde_json::from_slice(&req.body).map_err(|e| {
            OpenEhrError::bad_request("ehr.invalid-json", format!("EHR_STATUS is not JSON: {e}"))
        })?
    };
    if status.get("_type").and_then(Value::as_str) != Some("EHR_STATUS") {
        return Err(OpenEhrError::bad_request(
            "ehr.not-ehr-status",
            "body is not an EHR_STATUS (`_type` must be EHR_STATUS)",
        ));
    }
    let ehr_id = match id {
        Some(i) => uuid::Uuid::parse_str(i)
            .map_err(|_| OpenEhrError::bad_request("ehr.invalid-id", "EHR id is not a UUID"))?
            .to_string(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    if let Some(ns) = status
        .pointer("/subject/external_ref/namespace")
        .and_then(Value::as_str)
    {
        if !ehrgate::config::openehr::is_ehrbase_namespace(ns) {
            // EHRbase's `ValidationServiceImp` checks the namespace against
            // `[a-zA-Z][a-zA-Z0-9-_:/&+?]*`; a `ValidationException` is 400.
            return Err(OpenEhrError::bad_request(
                "ehr.namespace-invalid",
                "Message at /subject/external_ref/namespace (/subject/external_ref/namespace): \
                 Invariant namespace of class EHR_STATUS does not match pattern \
                 [[a-zA-Z][a-zA-Z0-9-_:/&+?]*]",
            ));
        }
    }
    let subject = subject_of(&status);
    let ehr = {
        let mut db = lock(&b.stats.db);
        if db.ehrs.contains_key(&ehr_id) {
            return Err(OpenEhrError::new(
                StatusCode::CONFLICT,
                "ehr.exists",
                "an EHR with this id already exists",
            ));
        }
        if let Some((sid, ns)) = &subject {
            if db.ehr_by_subject(sid, ns).is_some() {
                return Err(OpenEhrError::new(
                    StatusCode::CONFLICT,
                    "ehr.subject-exists",
                    "Specified party has already an EHR set",
                ));
            }
        }
        if db.ehrs.len() >= b.cfg.max_ehrs {
            return Err(OpenEhrError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "store.full",
                "EHR limit reached",
            ));
        }
        let ehr = Ehr {
            ehr_id: ehr_id.clone(),
            status_id: uuid::Uuid::new_v4().to_string(),
            access_id: uuid::Uuid::new_v4().to_string(),
            subject,
            status,
            time_created: clock::iso_now(),
        };
        db.ehrs.insert(ehr_id.clone(), ehr.clone());
        db.ehr_order.push(ehr_id.clone());
        ehr
    };
    b.stats.ehr_created();
    let location = format!("{}/ehr/{ehr_id}", b.stats.base());
    let resp = if req.wants_representation() {
        h::json(StatusCode::CREATED, &ehr_json(&ehr, &b.cfg.system_id))
    } else {
        h::empty(StatusCode::CREATED)
    };
    let resp = h::with_header(resp, header::LOCATION, &location);
    Ok(h::with_header(resp, header::ETAG, &format!("\"{ehr_id}\"")))
}

/// `GET /ehr/{id}`.
pub(crate) fn get(b: &Backend, id: &str) -> Result<Resp, OpenEhrError> {
    let db = lock(&b.stats.db);
    let e = db
        .ehrs
        .get(id)
        .ok_or_else(|| OpenEhrError::not_found("ehr.not-found", "EHR not found"))?;
    Ok(found(e, &b.cfg.system_id, b.stats.base()))
}

/// `GET /ehr?subject_id=&subject_namespace=`.
pub(crate) fn by_subject(b: &Backend, req: &Req) -> Result<Resp, OpenEhrError> {
    let (Some(sid), Some(ns)) = (req.param("subject_id"), req.param("subject_namespace")) else {
        return Err(OpenEhrError::bad_request(
            "ehr.subject-params",
            "subject_id and subject_namespace are required",
        ));
    };
    let db = lock(&b.stats.db);
    let e = db
        .ehr_by_subject(sid, ns)
        .ok_or_else(|| OpenEhrError::not_found("ehr.not-found", "No EHR found for subject"))?;
    Ok(found(e, &b.cfg.system_id, b.stats.base()))
}

fn found(e: &Ehr, system_id: &str, base: &str) -> Resp {
    let resp = h::json(StatusCode::OK, &ehr_json(e, system_id));
    let resp = h::with_header(resp, header::ETAG, &format!("\"{}\"", e.ehr_id));
    h::with_header(resp, header::LOCATION, &format!("{base}/ehr/{}", e.ehr_id))
}

/// `GET /ehr/{id}/ehr_status`: the current EHR_STATUS.
pub(crate) fn status(b: &Backend, id: &str) -> Result<Resp, OpenEhrError> {
    let db = lock(&b.stats.db);
    let e = db
        .ehrs
        .get(id)
        .ok_or_else(|| OpenEhrError::not_found("ehr.not-found", "EHR not found"))?;
    let mut status = e.status.clone();
    let uid = format!("{}::{}::1", e.status_id, b.cfg.system_id);
    if let Value::Object(o) = &mut status {
        o.insert(
            "uid".to_owned(),
            json!({"_type": "OBJECT_VERSION_ID", "value": uid}),
        );
    }
    let resp = h::json(StatusCode::OK, &status);
    Ok(h::with_header(resp, header::ETAG, &format!("\"{uid}\"")))
}
