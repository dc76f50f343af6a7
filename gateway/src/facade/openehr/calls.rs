//! The openEHR REST calls, named after the API (`get_composition`,
//! `create_ehr`, `query_aql`, `upload_template`...). Paths, headers and
//! the meaning of statuses live here and nowhere else; each call says
//! which EHRbase behaviour it relies on.

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use serde_json::Value;

use super::{backend_error, Answer, Call, OpenEhrClient};
use crate::config::openehr::{CompositionFormat, IfMatchForm};
use crate::facade::aql::Aql;
use crate::facade::error::FacadeError;
use crate::facade::ids::VersionUid;

/// The template API below the backend URL.
pub const TEMPLATES: &str = "/definition/template/adl1.4";

/// What `GET /ehr/{id}/composition/{uid}` found.
#[derive(Debug)]
pub enum CompositionRead {
    /// The composition (200).
    Found(Answer),
    /// Deleted: EHRbase (and the REST spec) answer 204 for a deleted one.
    Deleted,
    /// No such EHR or composition (404).
    NotFound,
}

/// What `POST /ehr` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EhrCreated {
    /// Created, with its id.
    Created(String),
    /// The subject already has an EHR (409: another writer was first).
    SubjectExists,
}

/// A composition to write: its body and how it is serialised.
#[derive(Debug, Clone, Copy)]
pub struct Write<'a> {
    /// Canonical JSON or FLAT.
    pub composition: &'a Value,
    /// The serialisation.
    pub format: CompositionFormat,
    /// The template (FLAT needs it in the query).
    pub template_id: &'a str,
}

// === impl OpenEhrClient ===

impl OpenEhrClient {
    /// `POST /ehr` with `status` (an EHR_STATUS naming the subject),
    /// `Prefer: return=representation`; the id from the body, else from
    /// `Location`.
    pub async fn create_ehr(&self, status: &Value) -> Result<EhrCreated, FacadeError> {
        let call = Call::new(Method::POST, "/ehr")
            .json(status)
            .header(prefer(), HeaderValue::from_static("return=representation"));
        let a = self.call(call).await?;
        if a.status == StatusCode::CONFLICT {
            return Ok(EhrCreated::SubjectExists);
        }
        if !a.status.is_success() {
            return Err(backend_error(&a));
        }
        if let Some(id) = serde_json::from_slice::<Value>(&a.body)
            .ok()
            .as_ref()
            .and_then(ehr_id_in)
        {
            return Ok(EhrCreated::Created(id));
        }
        a.header(header::LOCATION)
            .and_then(|l| l.trim_end_matches('/').rsplit('/').next())
            .filter(|s| !s.is_empty())
            .map(|s| EhrCreated::Created(s.to_owned()))
            .ok_or_else(|| FacadeError::BadBackendAnswer("created EHR without id".into()))
    }

    /// `GET /ehr?subject_id=&subject_namespace=`: the subject's EHR id, or
    /// `None` (404).
    pub async fn get_ehr_by_subject(
        &self,
        subject_id: &str,
        namespace: &str,
    ) -> Result<Option<String>, FacadeError> {
        let path = format!(
            "/ehr?subject_id={}&subject_namespace={}",
            Self::q(subject_id),
            Self::q(namespace)
        );
        let a = self.call(Call::new(Method::GET, &path)).await?;
        if a.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !a.status.is_success() {
            return Err(backend_error(&a));
        }
        ehr_id_in(&a.json()?)
            .map(Some)
            .ok_or_else(|| FacadeError::BadBackendAnswer("EHR without ehr_id".into()))
    }

    /// `GET /ehr/{id}`: the EHR, or `None` (404).
    pub async fn get_ehr(&self, ehr_id: &str) -> Result<Option<Value>, FacadeError> {
        let path = format!("/ehr/{}", Self::seg(ehr_id));
        let a = self.call(Call::new(Method::GET, &path)).await?;
        if a.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !a.status.is_success() {
            return Err(backend_error(&a));
        }
        a.json().map(Some)
    }

    /// `GET /ehr/{id}/ehr_status`: the current EHR_STATUS.
    pub async fn get_ehr_status(&self, ehr_id: &str) -> Result<Value, FacadeError> {
        let path = format!("/ehr/{}/ehr_status", Self::seg(ehr_id));
        self.call_ok(Call::new(Method::GET, &path)).await?.json()
    }

    /// `POST /ehr/{id}/composition` with `Prefer: return=minimal`. EHRbase
    /// answers 204 with `ETag`/`Location` to a minimal create (201 only with
    /// a body); both are success.
    pub async fn create_composition(
        &self,
        ehr_id: &str,
        w: Write<'_>,
    ) -> Result<Answer, FacadeError> {
        let path = format!(
            "/ehr/{}/composition{}",
            Self::seg(ehr_id),
            format_query(w.format, w.template_id)
        );
        let call = Call::new(Method::POST, &path)
            .json(w.composition)
            .header(prefer(), HeaderValue::from_static("return=minimal"));
        self.call_ok(call).await
    }

    /// `GET /ehr/{id}/composition/{uid}` (latest version for an object id).
    pub async fn get_composition(
        &self,
        ehr_id: &str,
        uid: &str,
    ) -> Result<CompositionRead, FacadeError> {
        let path = format!("/ehr/{}/composition/{}", Self::seg(ehr_id), Self::seg(uid));
        let a = self.call(Call::new(Method::GET, &path)).await?;
        match a.status.as_u16() {
            200 => Ok(CompositionRead::Found(a)),
            204 => Ok(CompositionRead::Deleted),
            404 => Ok(CompositionRead::NotFound),
            _ => Err(backend_error(&a)),
        }
    }

    /// `PUT /ehr/{id}/composition/{object id}` with `If-Match: preceding`.
    /// EHRbase 2.x parses the header raw as an OBJECT_VERSION_ID (a quoted
    /// value is 400 "UUID string too large"), so the form is the backend's
    /// `if_match` setting, raw by default.
    pub async fn update_composition(
        &self,
        ehr_id: &str,
        preceding: &VersionUid,
        w: Write<'_>,
    ) -> Result<Answer, FacadeError> {
        let path = format!(
            "/ehr/{}/composition/{}{}",
            Self::seg(ehr_id),
            Self::seg(&preceding.object_id),
            format_query(w.format, w.template_id)
        );
        let call = Call::new(Method::PUT, &path)
            .json(w.composition)
            .header(prefer(), HeaderValue::from_static("return=minimal"))
            .header(header::IF_MATCH, if_match(self.if_match_form(), preceding)?);
        self.call_ok(call).await
    }

    /// `DELETE /ehr/{id}/composition/{preceding version uid}`: the path is
    /// the precondition (EHRbase answers 409 for a stale version and 404
    /// for one already deleted; it reads no `If-Match` here).
    pub async fn delete_composition(
        &self,
        ehr_id: &str,
        preceding: &VersionUid,
    ) -> Result<(), FacadeError> {
        let path = format!(
            "/ehr/{}/composition/{}",
            Self::seg(ehr_id),
            Self::seg(&preceding.render())
        );
        self.call_ok(Call::new(Method::DELETE, &path)).await?;
        Ok(())
    }

    /// `POST /query/aql` with `{q, query_parameters}`: the result set.
    pub async fn query_aql(&self, aql: &Aql) -> Result<Value, FacadeError> {
        let call = Call::new(Method::POST, "/query/aql").json(&aql.body());
        self.call_ok(call).await?.json()
    }

    /// `POST /definition/template/adl1.4` with the OPT as XML. EHRbase's
    /// endpoint consumes and produces only `application/xml`, so a request
    /// that accepts anything else is refused with 406. `prefer` and the
    /// query (`?...`) are passed on; the answer is returned whatever its
    /// status (the caller passes it back to whoever uploaded).
    pub async fn upload_template(
        &self,
        opt: Bytes,
        prefer_value: Option<HeaderValue>,
        query: Option<&str>,
    ) -> Result<Answer, FacadeError> {
        let path = match query {
            Some(q) => format!("{TEMPLATES}?{q}"),
            None => TEMPLATES.to_owned(),
        };
        let mut call = Call::new(Method::POST, &path);
        call.accept = "application/xml";
        call.content_type = "application/xml";
        call.body = Some(opt);
        if let Some(p) = prefer_value {
            call = call.header(prefer(), p);
        }
        self.call(call).await
    }

    /// `GET /definition/template/adl1.4`: the JSON list of templates.
    pub async fn list_templates(&self) -> Result<Value, FacadeError> {
        self.call_ok(Call::new(Method::GET, TEMPLATES))
            .await?
            .json()
    }

    /// `GET /definition/template/adl1.4/{id}` as OPT XML, or `None` (404).
    pub async fn get_template(&self, template_id: &str) -> Result<Option<Bytes>, FacadeError> {
        let path = format!("{TEMPLATES}/{}", Self::seg_strict(template_id));
        let mut call = Call::new(Method::GET, &path);
        call.accept = "application/xml";
        let a = self.call(call).await?;
        if a.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !a.status.is_success() {
            return Err(backend_error(&a));
        }
        Ok(Some(a.body))
    }

    /// A template id as a path segment: `:` encoded too (ids are free text).
    fn seg_strict(v: &str) -> String {
        Self::q(v)
    }
}

fn prefer() -> HeaderName {
    HeaderName::from_static("prefer")
}

/// `?format=FLAT&templateId=` for FLAT writes (EHRbase's form; its
/// `format` is matched case-sensitively against `JSON`, `XML`, `FLAT`,
/// `STRUCTURED`).
fn format_query(format: CompositionFormat, template_id: &str) -> String {
    match format {
        CompositionFormat::Canonical => String::new(),
        CompositionFormat::Flat => {
            format!("?format=FLAT&templateId={}", OpenEhrClient::q(template_id))
        }
    }
}

/// The `If-Match` value for `preceding` in the backend's form.
fn if_match(form: IfMatchForm, preceding: &VersionUid) -> Result<HeaderValue, FacadeError> {
    let uid = preceding.render();
    let text = match form {
        IfMatchForm::Raw => uid,
        IfMatchForm::Quoted => format!("\"{uid}\""),
    };
    HeaderValue::from_str(&text)
        .map_err(|_| FacadeError::BadBackendAnswer("version uid is not a header value".into()))
}

/// `ehr_id.value` (or a bare `ehr_id` string) of an EHR representation.
pub(crate) fn ehr_id_in(v: &Value) -> Option<String> {
    let id = v.get("ehr_id")?;
    id.get("value")
        .and_then(Value::as_str)
        .or_else(|| id.as_str())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn if_match_is_raw_unless_configured_quoted() {
        let v = VersionUid {
            object_id: "8c3f2b2e-4f7e-4a57-9d2b-9f0c1c6f1a11".into(),
            system: "cdr".into(),
            version: 2,
        };
        assert_eq!(
            if_match(IfMatchForm::Raw, &v).unwrap(),
            "8c3f2b2e-4f7e-4a57-9d2b-9f0c1c6f1a11::cdr::2"
        );
        assert_eq!(
            if_match(IfMatchForm::Quoted, &v).unwrap(),
            "\"8c3f2b2e-4f7e-4a57-9d2b-9f0c1c6f1a11::cdr::2\""
        );
    }

    #[test]
    fn flat_writes_name_the_format_in_upper_case() {
        assert_eq!(format_query(CompositionFormat::Canonical, "t"), "");
        assert_eq!(
            format_query(CompositionFormat::Flat, "EHRN Vital signs.v2"),
            "?format=FLAT&templateId=EHRN%20Vital%20signs.v2"
        );
    }

    #[test]
    fn ids_are_read_from_ehrbase_shapes() {
        assert_eq!(
            ehr_id_in(&json!({"ehr_id": {"value": "e1"}})).as_deref(),
            Some("e1")
        );
        assert_eq!(ehr_id_in(&json!({"ehr_id": "e2"})).as_deref(), Some("e2"));
        assert_eq!(ehr_id_in(&json!({})), None);
    }
}
