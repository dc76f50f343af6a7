//! `POST /definition/template/adl1.4` (OPT XML), `GET .../adl1.4` (list)
//! and `GET .../adl1.4/{id}` (the OPT as uploaded; the web template when
//! JSON is asked for, as EHRbase does).

use std::sync::Arc;

use bytes::Bytes;
use ehrgate_mappers::fhirconnect::template_index::TemplateIndex;
use ehrgate_templates::{parse_opt_with, OptError, OptLimits};
use http::{header, StatusCode};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Value};

use super::db::Template;
use super::error::OpenEhrError;
use super::router::Backend;
use super::stats::lock;
use crate::reference::clock;
use crate::reference::http::{self as h, Req, Resp};

/// Parses an OPT and builds its check index.
pub(crate) fn load(opt: &[u8], limits: &OptLimits) -> Result<Template, OptError> {
    let meta = parse_opt_with(opt, limits)?;
    let index = TemplateIndex::new(&meta);
    Ok(Template {
        opt: Bytes::copy_from_slice(opt),
        meta: Arc::new(meta),
        index: Arc::new(index),
        created: clock::iso_now(),
    })
}

/// Whether an `Accept` header allows `application/xml` (absent: anything).
fn accepts_xml(accept: Option<&str>) -> bool {
    accept.is_none_or(|a| {
        a.split(',').any(|m| {
            let m = m.split(';').next().unwrap_or("").trim();
            matches!(m, "application/xml" | "application/*" | "*/*" | "")
        })
    })
}

/// `POST /definition/template/adl1.4`. EHRbase maps it with
/// `consumes = produces = application/xml`: another `Content-Type` is 415
/// and an `Accept` that excludes XML is 406 (Spring's content
/// negotiation), before the template is read.
pub(crate) fn upload(b: &Backend, req: &Req) -> Result<Resp, OpenEhrError> {
    let xml = req
        .header("content-type")
        .and_then(|c| c.split(';').next())
        .is_some_and(|c| c.trim().eq_ignore_ascii_case("application/xml"));
    if !xml {
        return Err(OpenEhrError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "template.not-xml",
            "Content-Type must be application/xml: an ADL 1.4 operational template is uploaded as XML",
        ));
    }
    if !accepts_xml(req.header("accept")) {
        return Err(OpenEhrError::new(
            StatusCode::NOT_ACCEPTABLE,
            "template.accept-not-xml",
            "No acceptable representation: the upload answers application/xml",
        ));
    }
    let t = load(&req.body, &b.cfg.opt_limits).map_err(|e| {
        OpenEhrError::bad_request(
            "template.invalid",
            format!("Invalid template input content: {e}"),
        )
    })?;
    let id = t.meta.template_id.as_str().to_owned();
    {
        let mut db = lock(&b.stats.db);
        if db.templates.contains_key(&id) {
            return Err(OpenEhrError::new(
                StatusCode::CONFLICT,
                "template.exists",
                format!("Operational template with this template ID `{id}` already exists"),
            ));
        }
        if db.templates.len() >= b.cfg.max_templates {
            return Err(OpenEhrError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "store.full",
                "template limit reached",
            ));
        }
        db.templates.insert(id.clone(), t.clone());
    }
    b.stats.template_stored();
    let resp = if req.wants_representation() {
        h::respond(StatusCode::CREATED, "application/xml", t.opt)
    } else {
        h::empty(StatusCode::CREATED)
    };
    let encoded = utf8_percent_encode(&id, NON_ALPHANUMERIC).to_string();
    let location = format!("{}/definition/template/adl1.4/{encoded}", b.stats.base());
    let resp = h::with_header(resp, header::LOCATION, &location);
    Ok(h::with_header(
        resp,
        header::ETAG,
        &format!("\"{encoded}\""),
    ))
}

fn summary(id: &str, t: &Template) -> Value {
    json!({
        "template_id": id,
        "concept": t.meta.concept,
        "archetype_id": t.meta.root.archetype_id,
        "created_timestamp": t.created,
    })
}

/// `GET /definition/template/adl1.4`.
pub(crate) fn list(b: &Backend) -> Result<Resp, OpenEhrError> {
    let db = lock(&b.stats.db);
    let all: Vec<Value> = db.templates.iter().map(|(id, t)| summary(id, t)).collect();
    Ok(h::json(StatusCode::OK, &Value::Array(all)))
}

/// `GET /definition/template/adl1.4/{id}`.
pub(crate) fn get(b: &Backend, req: &Req, id: &str) -> Result<Resp, OpenEhrError> {
    let t = lock(&b.stats.db)
        .templates
        .get(id)
        .cloned()
        .ok_or_else(|| {
            OpenEhrError::not_found("template.not-found", format!("Template `{id}` not found"))
        })?;
    let wants_json = req
        .header("accept")
        .is_some_and(|a| a.contains("json") && !a.contains("xml"));
    if wants_json {
        let wt = ehrgate_templates::webtemplate::build(&t.meta);
        return Ok(h::json(
            StatusCode::OK,
            &ehrgate_templates::webtemplate::to_json(&wt),
        ));
    }
    Ok(h::respond(StatusCode::OK, "application/xml", t.opt))
}
