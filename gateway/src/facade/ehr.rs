//! Patient -> EHR resolution, cached.
//!
//! A patient is a subject id in the tenant's namespace; its EHR is found
//! with `GET /ehr?subject_id=&subject_namespace=` and, for writes when the
//! backend is so configured, created with `POST /ehr` carrying an
//! EHR_STATUS whose subject names the patient. Resolutions are cached
//! (moka, bounded, with a TTL); concurrent misses for one patient cost one
//! lookup (`try_get_with`), so a burst of first writes creates one EHR. A
//! patient without an EHR is never cached, so its first write elsewhere
//! is seen at once. The reverse map (EHR -> subject id) puts the patient
//! reference back on resources read from the backend.

use std::time::Duration;

use moka::future::Cache;
use serde_json::{json, Value};

use super::error::FacadeError;
use super::openehr::{EhrCreated, OpenEhrClient};

/// The resolver of one backend.
#[derive(Debug, Clone)]
pub struct EhrResolver {
    client: OpenEhrClient,
    by_subject: Cache<(String, String), String>,
    subjects: Cache<String, Subject>,
}

/// The patient an EHR belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// `subject.external_ref.namespace` (the tenant's namespace).
    pub namespace: String,
    /// `subject.external_ref.id.value` (the patient id).
    pub id: String,
}

// === impl EhrResolver ===

impl EhrResolver {
    /// A resolver remembering `size` resolutions for `ttl`.
    pub fn new(client: OpenEhrClient, size: u64, ttl: Duration) -> Self {
        EhrResolver {
            client,
            by_subject: Cache::builder()
                .max_capacity(size)
                .time_to_live(ttl)
                .build(),
            subjects: Cache::builder()
                .max_capacity(size)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// The EHR of `subject_id` in `namespace`; created when `create` and
    /// missing. [`FacadeError::UnknownPatient`] when missing otherwise.
    pub async fn resolve(
        &self,
        namespace: &str,
        subject_id: &str,
        create: bool,
    ) -> Result<String, FacadeError> {
        let key = (namespace.to_owned(), subject_id.to_owned());
        let ehr = self
            .by_subject
            .try_get_with(key, async {
                match self.find(namespace, subject_id).await? {
                    Some(ehr) => Ok(ehr),
                    None if create => self.create(namespace, subject_id).await,
                    None => Err(FacadeError::UnknownPatient),
                }
            })
            .await
            .map_err(|e| (*e).clone())?;
        let subject = Subject {
            namespace: namespace.to_owned(),
            id: subject_id.to_owned(),
        };
        self.subjects.insert(ehr.clone(), subject).await;
        Ok(ehr)
    }

    /// The EHR of a patient if it has one (searches: no creation).
    pub async fn lookup(
        &self,
        namespace: &str,
        subject_id: &str,
    ) -> Result<Option<String>, FacadeError> {
        match self.resolve(namespace, subject_id, false).await {
            Ok(ehr) => Ok(Some(ehr)),
            Err(FacadeError::UnknownPatient) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The patient of an EHR (for `subject` on read resources, and to keep
    /// each tenant to the EHRs of its own namespace).
    pub async fn subject_of(&self, ehr_id: &str) -> Result<Option<Subject>, FacadeError> {
        if let Some(s) = self.subjects.get(ehr_id).await {
            return Ok(Some(s));
        }
        let Some(ehr) = self.client.get_ehr(ehr_id).await? else {
            return Ok(None);
        };
        let mut subject = subject_in(ehr.get("ehr_status").unwrap_or(&Value::Null));
        if subject.is_none() {
            // The EHR names its status by reference only (EHRbase does).
            subject = subject_in(&self.client.get_ehr_status(ehr_id).await?);
        }
        if let Some(s) = &subject {
            self.subjects.insert(ehr_id.to_owned(), s.clone()).await;
        }
        Ok(subject)
    }

    async fn find(&self, namespace: &str, subject_id: &str) -> Result<Option<String>, FacadeError> {
        self.client.get_ehr_by_subject(subject_id, namespace).await
    }

    async fn create(&self, namespace: &str, subject_id: &str) -> Result<String, FacadeError> {
        let status = json!({
            "_type": "EHR_STATUS",
            "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
            "name": {"_type": "DV_TEXT", "value": "EHR Status"},
            "subject": {
                "_type": "PARTY_SELF",
                "external_ref": {
                    "_type": "PARTY_REF",
                    "id": {"_type": "GENERIC_ID", "value": subject_id, "scheme": "id_scheme"},
                    "namespace": namespace,
                    "type": "PERSON"
                }
            },
            "is_modifiable": true,
            "is_queryable": true
        });
        match self.client.create_ehr(&status).await? {
            EhrCreated::Created(id) => Ok(id),
            // Another writer (another gateway) created it first.
            EhrCreated::SubjectExists => self
                .find(namespace, subject_id)
                .await?
                .ok_or_else(|| FacadeError::BadBackendAnswer("EHR exists but is not found".into())),
        }
    }
}

/// `subject.external_ref` (namespace, id) of an EHR_STATUS.
fn subject_in(status: &Value) -> Option<Subject> {
    let r = status.pointer("/subject/external_ref")?;
    Some(Subject {
        namespace: r.get("namespace").and_then(Value::as_str)?.to_owned(),
        id: r.pointer("/id/value").and_then(Value::as_str)?.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_read_from_ehrbase_shapes() {
        let st = json!({"subject": {"external_ref": {"id": {"value": "p1"}, "namespace": "ns"}}});
        assert_eq!(
            subject_in(&st),
            Some(Subject {
                namespace: "ns".into(),
                id: "p1".into()
            })
        );
        assert_eq!(subject_in(&json!({"subject": {}})), None);
    }
}
