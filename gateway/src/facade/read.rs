//! Read by id: the id names the EHR and the composition; the latest
//! version is fetched, translated with the mapping of its template, and
//! given back its id, version and patient.

use serde_json::Value;

use super::error::FacadeError;
use super::ids::CompositionRef;
use super::openehr::CompositionRead;
use super::translate::{decorate, to_resource};
use super::Facade;

/// A resource read from the backend.
#[derive(Debug, Clone)]
pub struct Read {
    /// The resource (with id, `meta.versionId` and patient).
    pub resource: Value,
    /// Its version.
    pub version: u32,
}

// === impl Facade ===

impl Facade {
    /// Reads `resource_type/id` for `tenant` (an EHR of another tenant's
    /// namespace is not found).
    pub async fn read(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
    ) -> Result<Read, FacadeError> {
        let not_found = || FacadeError::NotFound {
            resource_type: resource_type.to_owned(),
            id: id.to_owned(),
        };
        if self.settings.templates_of(resource_type).is_empty() {
            return Err(FacadeError::UnsupportedType(resource_type.to_owned()));
        }
        let r = CompositionRef::from_fhir_id(id).ok_or_else(not_found)?;
        let a = match self.client.get_composition(&r.ehr_id, &r.object_id).await? {
            CompositionRead::Found(a) => a,
            CompositionRead::Deleted => {
                return Err(FacadeError::Gone {
                    resource_type: resource_type.to_owned(),
                    id: id.to_owned(),
                })
            }
            CompositionRead::NotFound => return Err(not_found()),
        };
        let v = self.version_of(&a)?;
        let composition = a.json()?;
        let resource = self
            .resource_of(
                tenant,
                resource_type,
                &r.ehr_id,
                id,
                v.version,
                &composition,
            )
            .await?
            .ok_or_else(not_found)?;
        Ok(Read {
            resource,
            version: v.version,
        })
    }

    /// The resource a stored composition holds, when its template is one
    /// of `resource_type`'s (a Condition's id read as an Observation is
    /// not found, not mistranslated) and its EHR is in the tenant's
    /// namespace (tenants never see each other's patients).
    pub(crate) async fn resource_of(
        &self,
        tenant: &str,
        resource_type: &str,
        ehr_id: &str,
        id: &str,
        version: u32,
        composition: &Value,
    ) -> Result<Option<Value>, FacadeError> {
        let template = composition
            .pointer("/archetype_details/template_id/value")
            .and_then(Value::as_str);
        let templates = self.settings.templates_of(resource_type);
        let Some(template) = template.filter(|t| templates.iter().any(|x| x == t)) else {
            return Ok(None);
        };
        let Some(subject) = self.ehrs.subject_of(ehr_id).await? else {
            return Ok(None);
        };
        if subject.namespace != self.settings.namespace_of(tenant) {
            return Ok(None);
        }
        let compiled = self.catalog.get(template, resource_type).await?;
        let resource = self.timed(|| to_resource(&compiled, composition, resource_type))?;
        Ok(Some(decorate(resource, id, version, Some(&subject.id))))
    }
}
