//! The backend's in-memory data: EHRs, versioned compositions and
//! templates. One mutex guards it all; every handler holds it briefly and
//! never across an await.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use ehrgate_mappers::fhirconnect::template_index::TemplateIndex;
use ehrgate_templates::TemplateMeta;
use serde_json::Value;

/// One EHR.
#[derive(Debug, Clone)]
pub struct Ehr {
    /// The EHR id (a UUID).
    pub ehr_id: String,
    /// `(subject id, namespace)` from the EHR_STATUS, if any.
    pub subject: Option<(String, String)>,
    /// The EHR_STATUS as stored.
    pub status: Value,
    /// Creation time (ISO 8601).
    pub time_created: String,
}

/// How a version arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Canonical JSON.
    Canonical,
    /// FLAT (simSDT) JSON, stored as canonical.
    Flat,
}

/// One version of a composition: the canonical JSON, or `None` for the
/// version that records a deletion.
#[derive(Debug, Clone)]
pub struct Version {
    /// The composition (with `uid` set to this version's uid).
    pub composition: Option<Value>,
    /// How it arrived.
    pub received: Received,
    /// When it was committed (ISO 8601).
    pub committed: String,
}

/// A versioned composition.
#[derive(Debug, Clone)]
pub struct Versioned {
    /// The EHR it belongs to.
    pub ehr_id: String,
    /// The template it was checked against.
    pub template_id: String,
    /// Versions, oldest first (version n is `versions[n - 1]`).
    pub versions: Vec<Version>,
}

// === impl Versioned ===

impl Versioned {
    /// The latest version number.
    pub fn latest(&self) -> usize {
        self.versions.len()
    }

    /// Whether the latest version is a deletion.
    pub fn is_deleted(&self) -> bool {
        self.versions.last().is_none_or(|v| v.composition.is_none())
    }
}

/// One uploaded template.
#[derive(Debug, Clone)]
pub struct Template {
    /// The OPT as uploaded.
    pub opt: Bytes,
    /// The parsed template.
    pub meta: Arc<TemplateMeta>,
    /// The lookup the template check uses.
    pub index: Arc<TemplateIndex>,
    /// Upload time (ISO 8601).
    pub created: String,
}

/// Everything the backend stores.
#[derive(Debug, Default)]
pub struct Db {
    /// The system id in version uids (`uuid::system::n`).
    pub system_id: String,
    /// EHRs by id.
    pub ehrs: HashMap<String, Ehr>,
    /// EHR ids in creation order (AQL results are stable).
    pub ehr_order: Vec<String>,
    /// Compositions by versioned object id (the UUID part).
    pub compositions: HashMap<String, Versioned>,
    /// Composition ids in creation order.
    pub composition_order: Vec<String>,
    /// Versions stored, all compositions (bounded by the config).
    pub versions_total: usize,
    /// Templates by id.
    pub templates: BTreeMap<String, Template>,
}

// === impl Db ===

impl Db {
    /// The EHR with `subject` in `namespace`.
    pub fn ehr_by_subject(&self, id: &str, namespace: &str) -> Option<&Ehr> {
        self.ehr_order
            .iter()
            .filter_map(|e| self.ehrs.get(e))
            .find(|e| {
                e.subject
                    .as_ref()
                    .is_some_and(|(i, n)| i == id && n == namespace)
            })
    }
}
