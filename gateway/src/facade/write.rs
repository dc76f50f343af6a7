//! The write path: create, update and delete, as openEHR composition
//! calls. Everything that can fail on the client's input (type, patient,
//! mapping, template check) is decided before the first backend call, so
//! a request that fails translation sends nothing.

use std::collections::HashMap;

use http::header;
use serde_json::Value;

use super::catalog::Compiled;
use super::error::FacadeError;
use super::ids::{CompositionRef, VersionUid};
use super::openehr::calls::Write;
use super::openehr::{Answer, CompositionRead};
use super::translate::to_composition;
use super::types::subject_element;
use super::Facade;
use crate::config::openehr::UnmappedPolicy;
use ehrgate_mappers::translation::Unmapped;

/// Longest subject id accepted.
const MAX_SUBJECT: usize = 256;

/// What a create or update stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The resource type.
    pub resource_type: String,
    /// The FHIR id (stable across versions).
    pub id: String,
    /// The version (`meta.versionId`, ETag `W/"n"`).
    pub version: u32,
    /// The composition's version uid (`uuid::system::version`).
    pub version_uid: String,
    /// The EHR it is stored in.
    pub ehr_id: String,
    /// The template of the composition.
    pub template_id: String,
    /// Elements of the resource the template's mapping could not hold
    /// (stored without them; answered as warnings).
    pub unmapped: Vec<Unmapped>,
}

/// A resource translated and ready to send.
#[derive(Debug)]
pub struct Prepared {
    /// The resource type.
    pub resource_type: String,
    /// The patient's subject id.
    pub subject: String,
    /// The template that took it.
    pub template_id: String,
    /// The composition.
    pub composition: Value,
    /// Elements of the resource the composition does not hold.
    pub unmapped: Vec<Unmapped>,
}

/// Patient subject ids of a transaction's Patient entries by `fullUrl`.
pub type BundlePatients = HashMap<String, String>;

// === impl Facade ===

impl Facade {
    /// Creates `resource` for `tenant`: translates, resolves (or creates)
    /// the patient's EHR, stores the composition.
    pub async fn create(&self, tenant: &str, resource: &Value) -> Result<Created, FacadeError> {
        if let Some(rt) = resource.get("resourceType").and_then(Value::as_str) {
            self.warm(rt).await?;
        }
        let p = self.prepare(resource, None, None)?;
        self.store(tenant, p).await
    }

    /// Translates without sending anything (also the first phase of a
    /// transaction, so a bad entry stops it before any write).
    pub fn prepare(
        &self,
        resource: &Value,
        expected_type: Option<&str>,
        patients: Option<&BundlePatients>,
    ) -> Result<Prepared, FacadeError> {
        let rt = resource_type(resource, expected_type)?;
        let templates = self.settings.templates_of(rt);
        if templates.is_empty() {
            return Err(FacadeError::UnsupportedType(rt.to_owned()));
        }
        let subject = subject_of(resource, rt, patients)?;
        let now = super::date::now_rfc3339();
        for t in templates {
            let compiled = self.compiled_now(t)?;
            let comp =
                self.timed(|| to_composition(&compiled, resource, self.settings.format, &now))?;
            // The first template that takes the resource decides (the
            // configured order is the preference); under `refuse` a
            // partial record is no record.
            if let Some(c) = comp {
                if self.settings.unmapped == UnmappedPolicy::Refuse && !c.unmapped.is_empty() {
                    return Err(FacadeError::NotAllMapped {
                        resource_type: rt.to_owned(),
                        template: t.clone(),
                        items: c.unmapped,
                    });
                }
                return Ok(Prepared {
                    resource_type: rt.to_owned(),
                    subject,
                    template_id: t.clone(),
                    composition: c.composition,
                    unmapped: c.unmapped,
                });
            }
        }
        Err(FacadeError::NotMapped {
            resource_type: rt.to_owned(),
            templates: templates.join(", "),
        })
    }

    /// Stores a prepared resource.
    pub async fn store(&self, tenant: &str, p: Prepared) -> Result<Created, FacadeError> {
        let ns = self.settings.namespace_of(tenant);
        let ehr_id = self
            .ehrs
            .resolve(ns, &p.subject, self.settings.create_ehr)
            .await?;
        let a = self
            .client
            .create_composition(&ehr_id, self.write_of(&p))
            .await?;
        let v = self.version_of(&a)?;
        super::partial::log(&p.resource_type, &p.template_id, &p.unmapped);
        self.created(p.resource_type, ehr_id, &v, p.template_id, p.unmapped)
    }

    /// Replaces resource `id` (`PUT`), checking `if_match` (a FHIR version)
    /// against the stored version when given.
    pub async fn update(
        &self,
        tenant: &str,
        id: &str,
        resource: &Value,
        expected_type: &str,
        if_match: Option<u32>,
    ) -> Result<Created, FacadeError> {
        if let Some(body_id) = resource.get("id").and_then(Value::as_str) {
            if body_id != id {
                return Err(FacadeError::IdMismatch);
            }
        }
        let r = CompositionRef::from_fhir_id(id).ok_or_else(|| FacadeError::NotFound {
            resource_type: expected_type.to_owned(),
            id: id.to_owned(),
        })?;
        self.warm(expected_type).await?;
        let p = self.prepare(resource, Some(expected_type), None)?;
        let ns = self.settings.namespace_of(tenant);
        match self.ehrs.lookup(ns, &p.subject).await? {
            Some(ehr) if ehr == r.ehr_id => {}
            _ => {
                return Err(FacadeError::SubjectChanged {
                    element: format!("{expected_type}.{}", subject_element(expected_type)),
                })
            }
        }
        let preceding = self.preceding(&r, expected_type, id, if_match).await?;
        let a = self
            .client
            .update_composition(&r.ehr_id, &preceding, self.write_of(&p))
            .await?;
        let v = self.version_of(&a)?;
        super::partial::log(&p.resource_type, &p.template_id, &p.unmapped);
        self.created(p.resource_type, r.ehr_id, &v, p.template_id, p.unmapped)
    }

    /// Deletes resource `id` of `tenant`.
    pub async fn delete(
        &self,
        tenant: &str,
        id: &str,
        resource_type: &str,
        if_match: Option<u32>,
    ) -> Result<(), FacadeError> {
        let r = CompositionRef::from_fhir_id(id).ok_or_else(|| FacadeError::NotFound {
            resource_type: resource_type.to_owned(),
            id: id.to_owned(),
        })?;
        let own = self.ehrs.subject_of(&r.ehr_id).await?;
        if own.is_none_or(|s| s.namespace != self.settings.namespace_of(tenant)) {
            return Err(FacadeError::NotFound {
                resource_type: resource_type.to_owned(),
                id: id.to_owned(),
            });
        }
        let preceding = self.preceding(&r, resource_type, id, if_match).await?;
        self.client.delete_composition(&r.ehr_id, &preceding).await
    }

    /// Deletes a composition just created (undoing part of a transaction).
    pub(crate) async fn undo(&self, tenant: &str, c: &Created) -> Result<(), FacadeError> {
        self.delete(tenant, &c.id, &c.resource_type, Some(c.version))
            .await
    }

    /// The version uid an update or delete replaces: built from `if_match`
    /// when the backend's system id is known, else read from the backend
    /// (and compared with `if_match`, so a stale version is refused before
    /// anything is written).
    async fn preceding(
        &self,
        r: &CompositionRef,
        resource_type: &str,
        id: &str,
        if_match: Option<u32>,
    ) -> Result<VersionUid, FacadeError> {
        if let (Some(v), Some(system)) = (if_match, self.system()) {
            return Ok(VersionUid {
                object_id: r.object_id.clone(),
                system,
                version: v,
            });
        }
        let current = self.current_version(r, resource_type, id).await?;
        if let Some(v) = if_match {
            if v != current.version {
                return Err(FacadeError::Backend {
                    status: 412,
                    reason: format!("version {v} is not the current version {}", current.version),
                });
            }
        }
        Ok(current)
    }

    /// The current version uid of a composition.
    pub(crate) async fn current_version(
        &self,
        r: &CompositionRef,
        resource_type: &str,
        id: &str,
    ) -> Result<VersionUid, FacadeError> {
        match self.client.get_composition(&r.ehr_id, &r.object_id).await? {
            CompositionRead::Found(a) => self.version_of(&a),
            CompositionRead::Deleted => Err(FacadeError::Gone {
                resource_type: resource_type.to_owned(),
                id: id.to_owned(),
            }),
            CompositionRead::NotFound => Err(FacadeError::NotFound {
                resource_type: resource_type.to_owned(),
                id: id.to_owned(),
            }),
        }
    }

    /// The version uid of a composition answer: ETag, else Location, else
    /// the body's `uid.value`.
    pub(crate) fn version_of(&self, a: &Answer) -> Result<VersionUid, FacadeError> {
        let from_etag = a
            .header(header::ETAG)
            .and_then(|e| VersionUid::parse(e.trim_start_matches("W/")));
        let from_location = || {
            a.header(header::LOCATION)
                .and_then(|l| l.trim_end_matches('/').rsplit('/').next())
                .and_then(VersionUid::parse)
        };
        let from_body = || {
            serde_json::from_slice::<Value>(&a.body).ok().and_then(|v| {
                v.pointer("/uid/value")
                    .or_else(|| v.pointer("/composition/uid/value"))
                    .and_then(Value::as_str)
                    .and_then(VersionUid::parse)
            })
        };
        let v = from_etag
            .or_else(from_location)
            .or_else(from_body)
            .ok_or_else(|| FacadeError::BadBackendAnswer("no composition version uid".into()))?;
        self.learn_system(&v.system);
        Ok(v)
    }

    fn created(
        &self,
        resource_type: String,
        ehr_id: String,
        v: &VersionUid,
        template_id: String,
        unmapped: Vec<Unmapped>,
    ) -> Result<Created, FacadeError> {
        let r = CompositionRef {
            ehr_id: ehr_id.clone(),
            object_id: v.object_id.clone(),
        };
        let id = r.fhir_id().ok_or_else(|| {
            FacadeError::BadBackendAnswer("EHR or composition id is not a UUID".into())
        })?;
        Ok(Created {
            resource_type,
            id,
            version: v.version,
            version_uid: v.render(),
            ehr_id,
            template_id,
            unmapped,
        })
    }

    /// The composition of `p` as the backend's client writes it.
    fn write_of<'p>(&self, p: &'p Prepared) -> Write<'p> {
        Write {
            composition: &p.composition,
            format: self.settings.format,
            template_id: &p.template_id,
        }
    }

    /// The compiled mapping, only if already compiled (the synchronous
    /// phase cannot fetch); callers warm it with [`Facade::warm`].
    fn compiled_now(&self, template_id: &str) -> Result<std::sync::Arc<Compiled>, FacadeError> {
        self.catalog
            .peek(template_id)
            .ok_or_else(|| FacadeError::TemplateUnknown(template_id.to_owned()))
    }

    /// Makes sure the mappings for `resource_type` are compiled against
    /// the backend's current templates (fetching them when needed).
    pub async fn warm(&self, resource_type: &str) -> Result<(), FacadeError> {
        for t in self.settings.templates_of(resource_type) {
            self.catalog.get(t, resource_type).await?;
        }
        Ok(())
    }
}

/// The resource type of `resource`, checked against the URL's.
pub fn resource_type<'r>(
    resource: &'r Value,
    expected: Option<&str>,
) -> Result<&'r str, FacadeError> {
    let rt = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .ok_or(FacadeError::NotAResource)?;
    match expected {
        Some(e) if e != rt => Err(FacadeError::WrongType {
            expected: e.to_owned(),
            found: rt.to_owned(),
        }),
        _ => Ok(rt),
    }
}

/// The patient's subject id: a `Patient/{id}` reference (relative or
/// absolute), a transaction's `urn:uuid:` Patient entry, or an identifier.
pub fn subject_of(
    resource: &Value,
    resource_type: &str,
    patients: Option<&BundlePatients>,
) -> Result<String, FacadeError> {
    let el = subject_element(resource_type);
    let missing = || FacadeError::NoSubject {
        element: format!("{resource_type}.{el}"),
    };
    let r = resource.get(el).ok_or_else(missing)?;
    let id = if let Some(reference) = r.get("reference").and_then(Value::as_str) {
        if let Some(p) = patients.and_then(|m| m.get(reference)) {
            Some(p.clone())
        } else {
            reference
                .rsplit_once("Patient/")
                .map(|(_, id)| id.split('/').next().unwrap_or(id).to_owned())
        }
    } else {
        r.pointer("/identifier/value")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    id.filter(|s| !s.is_empty() && s.len() <= MAX_SUBJECT && !s.chars().any(char::is_control))
        .ok_or_else(missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subjects_come_from_references_or_identifiers() {
        let o = json!({"resourceType": "Observation", "subject": {"reference": "Patient/p-1"}});
        assert_eq!(subject_of(&o, "Observation", None).unwrap(), "p-1");
        let o = json!({"subject": {"reference": "http://x/fhir/Patient/p-2/_history/3"}});
        assert_eq!(subject_of(&o, "Observation", None).unwrap(), "p-2");
        let a = json!({"patient": {"identifier": {"system": "urn:mrn", "value": "m-1"}}});
        assert_eq!(subject_of(&a, "AllergyIntolerance", None).unwrap(), "m-1");
        let mut pts = BundlePatients::new();
        pts.insert("urn:uuid:1".into(), "m-9".into());
        let o = json!({"subject": {"reference": "urn:uuid:1"}});
        assert_eq!(subject_of(&o, "Observation", Some(&pts)).unwrap(), "m-9");
        let e = subject_of(
            &json!({"subject": {"reference": "Group/1"}}),
            "Observation",
            None,
        );
        assert!(
            matches!(e, Err(FacadeError::NoSubject { element }) if element == "Observation.subject")
        );
        assert!(subject_of(&json!({}), "Condition", None).is_err());
    }

    #[test]
    fn resource_type_must_match_the_url() {
        let o = json!({"resourceType": "Condition"});
        assert!(matches!(
            resource_type(&o, Some("Observation")),
            Err(FacadeError::WrongType { .. })
        ));
        assert_eq!(resource_type(&o, None).unwrap(), "Condition");
        assert!(matches!(
            resource_type(&json!({}), None),
            Err(FacadeError::NotAResource)
        ));
    }
}
