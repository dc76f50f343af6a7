//! HTTP in and out of the facade: which interaction a request is, reading
//! its body within bounds, and the responses (FHIR JSON, ETag, Location,
//! OperationOutcome on error).

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::request::Parts;
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::Value;

use super::capability::capability_statement;
use super::error::FacadeError;
use super::search::parse_query;
use super::Facade;
use crate::outcome::{operation_outcome, FHIR_JSON};
use crate::upstream::body::ProxyBody;

/// The openEHR path whose uploads invalidate cached templates.
pub const TEMPLATE_UPLOAD: &str = super::openehr::calls::TEMPLATES;

/// What a request to an openEHR backend's route is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// FHIR, served by the facade.
    Fhir,
    /// A template upload, passed on and then invalidating the cache.
    TemplateUpload,
    /// Native openEHR REST: passed through as it is.
    Native,
}

/// Tells what a request is from its path (after the tenant prefix).
pub fn classify(method: &Method, path: &str) -> Kind {
    let p = path.trim_end_matches('/');
    if *method == Method::POST && p.ends_with(TEMPLATE_UPLOAD) {
        return Kind::TemplateUpload;
    }
    let native = ["/ehr", "/query", "/definition", "/demographic"];
    if native
        .iter()
        .any(|n| p.contains(&format!("{n}/")) || p.ends_with(n))
    {
        Kind::Native
    } else {
        Kind::Fhir
    }
}

/// Where a FHIR request is addressed.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The tenant.
    pub tenant: &'a str,
    /// The FHIR path under the route's prefix (`/Observation/123`).
    pub path: &'a str,
    /// The client-visible URL of the FHIR base (`http://host/fhir`).
    pub base_url: &'a str,
}

// === impl Facade ===

impl Facade {
    /// Serves one FHIR request; never fails (errors become OperationOutcomes).
    pub async fn serve(
        &self,
        t: Target<'_>,
        parts: &Parts,
        body: Incoming,
        max_body: u64,
    ) -> Response<ProxyBody> {
        match self.dispatch(t, parts, body, max_body).await {
            Ok(r) => r,
            Err(e) => error_response(&e),
        }
    }

    async fn dispatch(
        &self,
        t: Target<'_>,
        parts: &Parts,
        body: Incoming,
        max_body: u64,
    ) -> Result<Response<ProxyBody>, FacadeError> {
        let segs: Vec<&str> = t.path.split('/').filter(|s| !s.is_empty()).collect();
        let limit = max_body.min(self.settings.max_resource_bytes);
        let m = &parts.method;
        match segs.as_slice() {
            [] if m == Method::POST => {
                let b = read_json(parts, body, limit).await?;
                let out = self.transaction(t.tenant, &b).await?;
                Ok(json_response(StatusCode::OK, &out))
            }
            ["metadata"] if m == Method::GET => Ok(json_response(
                StatusCode::OK,
                &capability_statement(&self.settings, &super::date::now_rfc3339()),
            )),
            [ty] if m == Method::GET => {
                let q = parse_query(
                    parts.uri.query().unwrap_or(""),
                    self.settings.default_count,
                    self.settings.max_count,
                )?;
                let url = format!("{}/{ty}", t.base_url.trim_end_matches('/'));
                let page = self.search(t.tenant, ty, &q, &url).await?;
                Ok(json_response(StatusCode::OK, &page.bundle))
            }
            [ty] if m == Method::POST => {
                let b = read_json(parts, body, limit).await?;
                super::write::resource_type(&b, Some(ty))?;
                let c = self.create(t.tenant, &b).await?;
                let out = super::translate::decorate(b, &c.id, c.version, None);
                Ok(written(StatusCode::CREATED, t.base_url, &c, &out, parts))
            }
            [ty, id] if m == Method::GET => {
                let r = self.read(t.tenant, ty, id).await?;
                let mut resp = json_response(StatusCode::OK, &r.resource);
                set_etag(&mut resp, r.version);
                Ok(resp)
            }
            [ty, id] if m == Method::PUT => {
                let if_match = if_match(parts)?;
                let b = read_json(parts, body, limit).await?;
                super::write::resource_type(&b, Some(ty))?;
                let c = self.update(t.tenant, id, &b, ty, if_match).await?;
                let out = super::translate::decorate(b, &c.id, c.version, None);
                Ok(written(StatusCode::OK, t.base_url, &c, &out, parts))
            }
            [ty, id] if m == Method::DELETE => {
                if self.settings.templates_of(ty).is_empty() {
                    return Err(FacadeError::UnsupportedType((*ty).to_owned()));
                }
                self.delete(t.tenant, id, ty, if_match(parts)?).await?;
                let mut resp = Response::new(ProxyBody::empty());
                *resp.status_mut() = StatusCode::NO_CONTENT;
                Ok(resp)
            }
            [] | ["metadata"] | [_] | [_, _] => {
                Err(FacadeError::UnsupportedInteraction("this method"))
            }
            _ => Err(FacadeError::UnsupportedInteraction("this FHIR path")),
        }
    }

    /// Passes a template upload to the backend and, when it is accepted,
    /// forgets the cached template of that id (or all, when the upload's
    /// id cannot be read).
    pub async fn upload_template(
        &self,
        parts: &Parts,
        body: Incoming,
        max_body: u64,
    ) -> Response<ProxyBody> {
        let bytes = match read_bytes(parts, body, max_body).await {
            Ok(b) => b,
            Err(e) => return error_response(&e),
        };
        // Sent as EHRbase's endpoint wants it (`application/xml` in and
        // out, else 415/406), whatever the uploader's headers said.
        let prefer = parts.headers.get("prefer").cloned();
        let a = match self
            .client
            .upload_template(bytes.clone(), prefer, parts.uri.query())
            .await
        {
            Ok(a) => a,
            Err(e) => return error_response(&e),
        };
        if a.status.is_success() {
            match ehrgate_templates::read_template_id(
                &bytes,
                &ehrgate_templates::OptLimits::default(),
            ) {
                Ok(id) => self.catalog.invalidate(id.as_str()).await,
                Err(_) => self.catalog.invalidate_all(),
            }
        }
        let mut resp = Response::new(ProxyBody::full(a.body));
        *resp.status_mut() = a.status;
        for h in [header::CONTENT_TYPE, header::LOCATION, header::ETAG] {
            if let Some(v) = a.headers.get(&h) {
                resp.headers_mut().insert(h, v.clone());
            }
        }
        resp
    }
}

/// A FHIR write's response: Location, ETag and the resource, or nothing
/// (`Prefer: return=minimal`), or an OperationOutcome naming the elements
/// the template could not hold (`Prefer: return=OperationOutcome`).
fn written(
    status: StatusCode,
    base: &str,
    c: &super::Created,
    out: &Value,
    parts: &Parts,
) -> Response<ProxyBody> {
    let prefer = parts
        .headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut resp = if prefer.contains("return=OperationOutcome") {
        // What was left out, if anything (FHIR R4 http.html#ops: the
        // outcome of the operation instead of the resource).
        json_response(status, &super::partial::outcome(&c.unmapped))
    } else if prefer.contains("return=minimal") {
        let mut r = Response::new(ProxyBody::empty());
        *r.status_mut() = status;
        r
    } else {
        json_response(status, out)
    };
    let loc = format!(
        "{}/{}/{}/_history/{}",
        base.trim_end_matches('/'),
        c.resource_type,
        c.id,
        c.version
    );
    if let Ok(v) = HeaderValue::from_str(&loc) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    set_etag(&mut resp, c.version);
    resp
}

fn set_etag(resp: &mut Response<ProxyBody>, version: u32) {
    if let Ok(v) = HeaderValue::from_str(&format!("W/\"{version}\"")) {
        resp.headers_mut().insert(header::ETAG, v);
    }
}

/// `If-Match: W/"3"` (or `"3"`, `3`) as a version.
fn if_match(parts: &Parts) -> Result<Option<u32>, FacadeError> {
    let Some(v) = parts.headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let s = v.to_str().map_err(|_| FacadeError::BadIfMatch)?.trim();
    let s = s.strip_prefix("W/").unwrap_or(s).trim_matches('"');
    s.parse().map(Some).map_err(|_| FacadeError::BadIfMatch)
}

/// A JSON response with the FHIR content type.
pub fn json_response(status: StatusCode, v: &Value) -> Response<ProxyBody> {
    let mut resp = Response::new(ProxyBody::full(Bytes::from(v.to_string())));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    resp
}

/// An OperationOutcome response for `e`.
pub fn error_response(e: &FacadeError) -> Response<ProxyBody> {
    if e.status().is_server_error() {
        tracing::warn!(target: "ehrgate::facade", code = ehrgate_fault::Classified::code(e), status = e.status().as_u16(), "facade answered with an error");
    }
    let mut resp = Response::new(ProxyBody::full(operation_outcome(&e.issues())));
    *resp.status_mut() = e.status();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    resp
}

async fn read_bytes(parts: &Parts, body: Incoming, limit: u64) -> Result<Bytes, FacadeError> {
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(FacadeError::BodyTooLarge(limit));
    }
    let collected = Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX))
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                FacadeError::BodyTooLarge(limit)
            } else {
                FacadeError::BodyRead
            }
        })?;
    Ok(collected.to_bytes())
}

async fn read_json(parts: &Parts, body: Incoming, limit: u64) -> Result<Value, FacadeError> {
    let bytes = read_bytes(parts, body, limit).await?;
    parse_json(&bytes)
}

/// Parses a request body; the error names line and column.
pub fn parse_json(bytes: &[u8]) -> Result<Value, FacadeError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| FacadeError::InvalidJson {
        reason: e.classify_reason(),
        line: e.line(),
        column: e.column(),
    })?;
    if !v.is_object() {
        return Err(FacadeError::NotAResource);
    }
    Ok(v)
}

/// serde_json's error category in words (without echoing input).
trait Reason {
    fn classify_reason(&self) -> String;
}

impl Reason for serde_json::Error {
    fn classify_reason(&self) -> String {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "unexpected end of input",
        }
        .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_classified() {
        assert_eq!(
            classify(&Method::POST, "/definition/template/adl1.4"),
            Kind::TemplateUpload
        );
        assert_eq!(
            classify(&Method::POST, "/openehr/v1/definition/template/adl1.4/"),
            Kind::TemplateUpload
        );
        assert_eq!(
            classify(&Method::GET, "/ehr/123/composition/1"),
            Kind::Native
        );
        assert_eq!(classify(&Method::POST, "/query/aql"), Kind::Native);
        assert_eq!(classify(&Method::GET, "/fhir/Observation"), Kind::Fhir);
        assert_eq!(classify(&Method::POST, "/fhir"), Kind::Fhir);
    }

    #[test]
    fn json_errors_name_the_place() {
        let e = parse_json(b"{\n  \"a\": }").unwrap_err();
        assert!(
            matches!(e, FacadeError::InvalidJson { line: 2, .. }),
            "{e:?}"
        );
        assert!(matches!(parse_json(b"[1]"), Err(FacadeError::NotAResource)));
    }
}
