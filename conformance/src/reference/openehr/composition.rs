//! `POST /ehr/{ehr_id}/composition` and
//! `GET/PUT/DELETE /ehr/{ehr_id}/composition/{uid}`.
//!
//! Version uids are `uuid::system::n`. A PUT names the versioned object and
//! carries the preceding version uid in `If-Match` (412 when it is not the
//! latest); a DELETE names the preceding version uid (409 when stale; a
//! bare object id deletes the latest version).
//! Reading a deleted composition answers 204, as the REST spec says.
//!
//! EHRbase 2.x behaviours copied here:
//! - `If-Match` is parsed raw as an OBJECT_VERSION_ID
//!   (`new ObjectVersionId(ifMatch)`): a quoted or weak entity tag is 400
//!   "UUID string too large" (EHRbase issue 1639).
//! - A create or update answers 204 (headers only) unless the `Prefer`
//!   header is exactly `return=representation` (then 201 / 200 with body).
//! - `format` is `CompositionFormat.valueOf(format)`: case-sensitive, an
//!   unknown value is 406 (`NotAcceptableException`).
//! - A DELETE of a deleted composition finds no version head: 404.
//! - A template violation and an unknown template are 422 (observed on
//!   EHRbase 2.16.0, `conformance/ehrbase/BEHAVIOURS.md`).

use http::{header, StatusCode};
use serde_json::{json, Value};

use super::db::{Received, Template, Version, Versioned};
use super::error::OpenEhrError;
use super::router::Backend;
use super::stats::lock;
use super::validate;
use crate::reference::clock;
use crate::reference::http::{self as h, Req, Resp};

/// A composition uid as given in a path or `If-Match`: the object id and,
/// for a version uid, the version number.
struct Uid<'a> {
    object: &'a str,
    version: Option<usize>,
}

fn parse_uid(text: &str) -> Result<Uid<'_>, OpenEhrError> {
    let text = text.trim().trim_start_matches("W/").trim_matches('"');
    let bad = || {
        OpenEhrError::bad_request(
            "composition.invalid-uid",
            "composition uid is not `uuid` or `uuid::system::version`",
        )
    };
    let mut parts = text.split("::");
    let object = parts.next().ok_or_else(bad)?;
    uuid::Uuid::parse_str(object).map_err(|_| bad())?;
    let version = match (parts.next(), parts.next(), parts.next()) {
        (None, _, _) => None,
        (Some(_system), Some(n), None) => {
            Some(n.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(bad)?)
        }
        _ => return Err(bad()),
    };
    Ok(Uid { object, version })
}

/// The requested wire format.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Canonical,
    Flat,
}

fn format_of(req: &Req) -> Result<Format, OpenEhrError> {
    match req.param("format") {
        None | Some("") | Some("JSON") => Ok(Format::Canonical),
        Some("FLAT") => Ok(Format::Flat),
        Some(other) => Err(OpenEhrError::new(
            StatusCode::NOT_ACCEPTABLE,
            "composition.format-unsupported",
            format!(
                "Invalid compositions format [{other}] only [XML, JSON, FLAT, STRUCTURED] \
                 are supported at the moment"
            ),
        )),
    }
}

/// `If-Match` of an update: the preceding version uid, raw. EHRbase hands
/// the header value to `ObjectVersionId` as it is, so the quotes of an
/// entity tag become part of the uuid and `UUID.fromString` refuses it.
fn if_match_uid(text: &str) -> Result<Uid<'_>, OpenEhrError> {
    let text = text.trim();
    if text.starts_with("W/") || text.contains('"') {
        return Err(OpenEhrError::bad_request(
            "composition.if-match-quoted",
            "UUID string too large",
        ));
    }
    parse_uid(text)
}

/// Reads, checks and converts the body; `(canonical, template id, how)`.
fn receive(b: &Backend, req: &Req) -> Result<(Value, String, Received), OpenEhrError> {
    if req
        .header("content-type")
        .is_some_and(|c| c.contains("xml"))
    {
        return Err(OpenEhrError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "composition.xml-unsupported",
            "only JSON compositions are accepted",
        ));
    }
    let format = format_of(req)?;
    let body: Value = serde_json::from_slice(&req.body).map_err(|e| {
        OpenEhrError::bad_request("composition.invalid-json", format!("body is not JSON: {e}"))
    })?;
    let template_id = match format {
        Format::Flat => req.param("templateId").map(str::to_owned).ok_or_else(|| {
            OpenEhrError::bad_request("composition.template-id-required", "FLAT needs templateId")
        })?,
        Format::Canonical => validate::declared_template(&body)
            .map(str::to_owned)
            .ok_or_else(|| {
                OpenEhrError::unprocessable(
                    "composition.no-template-id",
                    "composition has no archetype_details/template_id",
                )
            })?,
    };
    let tpl = template_of(b, &template_id)?;
    match format {
        Format::Canonical => {
            validate::check_canonical(&body, &tpl)?;
            Ok((body, template_id, Received::Canonical))
        }
        Format::Flat => {
            let Value::Object(flat) = &body else {
                return Err(OpenEhrError::bad_request(
                    "composition.flat-not-object",
                    "a FLAT composition is a JSON object",
                ));
            };
            let comp = validate::flat_to_canonical(flat, &tpl, &clock::iso_now())?;
            Ok((comp, template_id, Received::Flat))
        }
    }
}

fn template_of(b: &Backend, id: &str) -> Result<Template, OpenEhrError> {
    lock(&b.stats.db).templates.get(id).cloned().ok_or_else(|| {
        OpenEhrError::unprocessable(
            "composition.unknown-template",
            format!("Unknown template `{id}`"),
        )
    })
}

fn set_uid(comp: &mut Value, uid: &str) {
    if let Value::Object(o) = comp {
        o.insert(
            "uid".to_owned(),
            json!({"_type": "OBJECT_VERSION_ID", "value": uid}),
        );
    }
}

/// The answer to a write: Location/ETag, the body when asked for.
fn written(
    b: &Backend,
    req: &Req,
    ehr_id: &str,
    uid: &str,
    comp: &Value,
    status: StatusCode,
    tpl: Option<&Template>,
) -> Resp {
    let resp = if req.wants_representation() {
        let body = match (format_of(req), tpl) {
            (Ok(Format::Flat), Some(t)) => validate::canonical_to_flat(comp, t),
            _ => comp.clone(),
        };
        h::json(status, &body)
    } else {
        // EHRbase: `ResponseEntity.noContent()` when there is no body,
        // for a create (instead of 201) as for an update.
        h::empty(StatusCode::NO_CONTENT)
    };
    let location = format!("{}/ehr/{ehr_id}/composition/{uid}", b.stats.base());
    let resp = h::with_header(resp, header::LOCATION, &location);
    let resp = h::with_header(resp, header::ETAG, &format!("\"{uid}\""));
    h::with_header(resp, header::LAST_MODIFIED, &clock::http_now())
}

fn no_ehr() -> OpenEhrError {
    OpenEhrError::not_found("ehr.not-found", "EHR not found")
}

fn no_composition() -> OpenEhrError {
    OpenEhrError::not_found("composition.not-found", "composition not found")
}

/// The store is at its configured version limit.
fn full() -> OpenEhrError {
    OpenEhrError::new(
        StatusCode::INSUFFICIENT_STORAGE,
        "store.full",
        "version limit reached",
    )
}

/// `POST /ehr/{ehr_id}/composition`.
pub(crate) fn create(b: &Backend, req: &Req, ehr_id: &str) -> Result<Resp, OpenEhrError> {
    if !lock(&b.stats.db).ehrs.contains_key(ehr_id) {
        return Err(no_ehr());
    }
    let (mut comp, template_id, received) = receive(b, req)?;
    let object = uuid::Uuid::new_v4().to_string();
    let uid = format!("{object}::{}::1", b.cfg.system_id);
    set_uid(&mut comp, &uid);
    let tpl = {
        let mut db = lock(&b.stats.db);
        if !db.ehrs.contains_key(ehr_id) {
            return Err(no_ehr());
        }
        if db.versions_total >= b.cfg.max_versions {
            return Err(full());
        }
        db.versions_total += 1;
        db.compositions.insert(
            object.clone(),
            Versioned {
                ehr_id: ehr_id.to_owned(),
                template_id: template_id.clone(),
                versions: vec![Version {
                    composition: Some(comp.clone()),
                    received,
                    committed: clock::iso_now(),
                }],
            },
        );
        db.composition_order.push(object);
        db.templates.get(&template_id).cloned()
    };
    b.stats.composition_stored();
    Ok(written(
        b,
        req,
        ehr_id,
        &uid,
        &comp,
        StatusCode::CREATED,
        tpl.as_ref(),
    ))
}

/// `GET /ehr/{ehr_id}/composition/{uid}` (latest, or the named version).
pub(crate) fn get(b: &Backend, req: &Req, ehr_id: &str, uid: &str) -> Result<Resp, OpenEhrError> {
    let format = format_of(req)?;
    let uid = parse_uid(uid)?;
    let db = lock(&b.stats.db);
    if !db.ehrs.contains_key(ehr_id) {
        return Err(no_ehr());
    }
    let vc = db
        .compositions
        .get(uid.object)
        .filter(|v| v.ehr_id == ehr_id)
        .ok_or_else(no_composition)?;
    let n = uid.version.unwrap_or(vc.latest());
    let version = vc.versions.get(n - 1).ok_or_else(no_composition)?;
    let Some(comp) = &version.composition else {
        return Ok(h::empty(StatusCode::NO_CONTENT));
    };
    let body = match format {
        Format::Canonical => comp.clone(),
        Format::Flat => {
            let tpl = db.templates.get(&vc.template_id).ok_or_else(|| {
                OpenEhrError::unprocessable("composition.unknown-template", "template gone")
            })?;
            validate::canonical_to_flat(comp, tpl)
        }
    };
    let version_uid = format!("{}::{}::{n}", uid.object, b.cfg.system_id);
    let resp = h::json(StatusCode::OK, &body);
    let resp = h::with_header(resp, header::ETAG, &format!("\"{version_uid}\""));
    let location = format!("{}/ehr/{ehr_id}/composition/{version_uid}", b.stats.base());
    Ok(h::with_header(resp, header::LOCATION, &location))
}

/// `PUT /ehr/{ehr_id}/composition/{versioned_object_uid}` with `If-Match`.
pub(crate) fn update(
    b: &Backend,
    req: &Req,
    ehr_id: &str,
    uid: &str,
) -> Result<Resp, OpenEhrError> {
    let target = parse_uid(uid)?;
    let if_match = req.header("if-match").ok_or_else(|| {
        OpenEhrError::bad_request(
            "composition.if-match-required",
            "If-Match with the preceding version uid is required",
        )
    })?;
    let preceding = if_match_uid(if_match)?;
    {
        let db = lock(&b.stats.db);
        if !db.ehrs.contains_key(ehr_id) {
            return Err(no_ehr());
        }
        db.compositions
            .get(target.object)
            .filter(|v| v.ehr_id == ehr_id && !v.is_deleted())
            .ok_or_else(no_composition)?;
    }
    let (mut comp, template_id, received) = receive(b, req)?;
    let mut db = lock(&b.stats.db);
    let total = db.versions_total;
    let vc = db
        .compositions
        .get_mut(target.object)
        .filter(|v| v.ehr_id == ehr_id && !v.is_deleted())
        .ok_or_else(no_composition)?;
    if preceding.object != target.object || preceding.version != Some(vc.latest()) {
        return Err(OpenEhrError::new(
            StatusCode::PRECONDITION_FAILED,
            "composition.version-conflict",
            format!("If-Match is not the latest version ({})", vc.latest()),
        ));
    }
    if vc.template_id != template_id {
        return Err(OpenEhrError::unprocessable(
            "composition.template-changed",
            "an update must keep the composition's template",
        ));
    }
    if total >= b.cfg.max_versions {
        return Err(full());
    }
    let n = vc.latest() + 1;
    let new_uid = format!("{}::{}::{n}", target.object, b.cfg.system_id);
    set_uid(&mut comp, &new_uid);
    vc.versions.push(Version {
        composition: Some(comp.clone()),
        received,
        committed: clock::iso_now(),
    });
    db.versions_total += 1;
    let tpl = db.templates.get(&template_id).cloned();
    drop(db);
    b.stats.composition_stored();
    Ok(written(
        b,
        req,
        ehr_id,
        &new_uid,
        &comp,
        StatusCode::OK,
        tpl.as_ref(),
    ))
}

/// `DELETE /ehr/{ehr_id}/composition/{preceding_version_uid}`.
pub(crate) fn delete(
    b: &Backend,
    req: &Req,
    ehr_id: &str,
    uid: &str,
) -> Result<Resp, OpenEhrError> {
    let target = parse_uid(uid)?;
    let if_match = req.header("if-match").map(parse_uid).transpose()?;
    let mut db = lock(&b.stats.db);
    if !db.ehrs.contains_key(ehr_id) {
        return Err(no_ehr());
    }
    let vc = db
        .compositions
        .get_mut(target.object)
        .filter(|v| v.ehr_id == ehr_id)
        .ok_or_else(no_composition)?;
    if vc.is_deleted() {
        // EHRbase: the deleted composition has no version head any more,
        // so the delete is an `ObjectNotFoundException`.
        return Err(OpenEhrError::not_found(
            "composition.deleted",
            "No Composition found: it is deleted",
        ));
    }
    let latest = vc.latest();
    if target.version.is_some_and(|v| v != latest) {
        return Err(OpenEhrError::new(
            StatusCode::CONFLICT,
            "composition.version-conflict",
            format!("preceding version uid is not the latest version ({latest})"),
        ));
    }
    if let Some(m) = if_match {
        if m.object != target.object || m.version != Some(latest) {
            return Err(OpenEhrError::new(
                StatusCode::PRECONDITION_FAILED,
                "composition.version-conflict",
                format!("If-Match is not the latest version ({latest})"),
            ));
        }
    }
    vc.versions.push(Version {
        composition: None,
        received: Received::Canonical,
        committed: clock::iso_now(),
    });
    let deleted_uid = format!("{}::{}::{}", target.object, b.cfg.system_id, latest + 1);
    drop(db);
    b.stats.composition_deleted();
    let resp = h::empty(StatusCode::NO_CONTENT);
    Ok(h::with_header(
        resp,
        header::ETAG,
        &format!("\"{deleted_uid}\""),
    ))
}
