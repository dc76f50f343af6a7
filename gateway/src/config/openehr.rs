//! The `[backend.openehr]` table: how the FHIR facade talks to an openEHR
//! backend (issue 8). Only backends of kind `openehr` may carry it; one
//! without it is served with the defaults below.
//!
//! ```toml
//! [[backend]]
//! name = "cdr"
//! url = "http://ehrbase:8080/ehrbase/rest/openehr/v1"
//! kind = "openehr"
//! [backend.openehr]
//! composition_format = "canonical"      # or "flat"
//! subject_namespace = "ehrgate"         # default namespace of patient ids
//! subject_namespaces = { acme = "acme-mrn" }  # per tenant
//! create_ehr = true                     # create the EHR on a patient's first write
//! templates = { Observation = ["EHRN Vital signs.v2"] }  # per resource type, tried in order
//! unmapped_elements = "warn"            # or "refuse": elements the template cannot hold
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The openEHR serialisation compositions are sent in.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum CompositionFormat {
    /// Canonical JSON (`POST /ehr/{id}/composition`).
    #[default]
    Canonical,
    /// FLAT (EHRbase: `?format=FLAT&templateId=`).
    Flat,
}

/// What a write does with elements of the resource the template's mapping
/// cannot hold (an Immunization's lot number in a template without one).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum UnmappedPolicy {
    /// Store what maps; the write answers with the elements left out as
    /// warnings (`Prefer: return=OperationOutcome`, and per entry in a
    /// transaction response) and they are counted in the log line.
    #[default]
    Warn,
    /// Refuse the write (422, one OperationOutcome issue per element left
    /// out): for deployments where a partial record is worse than none.
    Refuse,
}

/// Facade settings of one openEHR backend.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OpenEhrBackendConfig {
    /// Serialisation of written compositions.
    #[serde(default)]
    pub composition_format: CompositionFormat,
    /// `subject_namespace` of EHRs for tenants without their own.
    #[serde(default = "default_namespace")]
    pub subject_namespace: Spanned<String>,
    /// Per tenant id: the `subject_namespace` its patient ids live in, so
    /// two clinics' patient 123 are two EHRs.
    #[serde(default)]
    pub subject_namespaces: BTreeMap<String, Spanned<String>>,
    /// Create the EHR when a patient's first resource is written; without
    /// it such a write is refused (422) and nothing is stored.
    #[serde(default = "default_true")]
    pub create_ehr: bool,
    /// Template ids per FHIR resource type, tried in order (the first whose
    /// mapping takes the resource wins). Empty: the shipped defaults.
    #[serde(default)]
    pub templates: BTreeMap<String, Vec<Spanned<String>>>,
    /// How long a patient -> EHR resolution is remembered.
    #[serde(default = "default_ehr_ttl")]
    pub ehr_cache_ttl_ms: u64,
    /// How many resolutions are remembered at most.
    #[serde(default = "default_ehr_cache_size")]
    pub ehr_cache_size: u64,
    /// Lifetime of cached template metadata (uploads through the gateway
    /// invalidate earlier).
    #[serde(default = "default_template_ttl")]
    pub template_ttl_ms: u64,
    /// Largest FHIR request body the facade reads, in bytes.
    #[serde(default = "default_max_resource")]
    pub max_resource_bytes: u64,
    /// Largest number of entries in a transaction Bundle.
    #[serde(default = "default_max_entries")]
    pub max_bundle_entries: u32,
    /// Page size when the client sends no `_count`.
    #[serde(default = "default_count")]
    pub default_count: u32,
    /// Largest `_count` honoured (larger ones are lowered, as FHIR allows).
    #[serde(default = "default_max_count")]
    pub max_count: u32,
    /// Most compositions one search may read from the backend; a search
    /// matching more is refused as too costly rather than answered wrongly.
    #[serde(default = "default_max_scan")]
    pub max_search_scan: u32,
    /// Elements of a written resource that no mapping holds.
    #[serde(default)]
    pub unmapped_elements: UnmappedPolicy,
}

impl Default for OpenEhrBackendConfig {
    fn default() -> Self {
        OpenEhrBackendConfig {
            composition_format: CompositionFormat::Canonical,
            subject_namespace: default_namespace(),
            subject_namespaces: BTreeMap::new(),
            create_ehr: true,
            templates: BTreeMap::new(),
            ehr_cache_ttl_ms: default_ehr_ttl(),
            ehr_cache_size: default_ehr_cache_size(),
            template_ttl_ms: default_template_ttl(),
            max_resource_bytes: default_max_resource(),
            max_bundle_entries: default_max_entries(),
            default_count: default_count(),
            max_count: default_max_count(),
            max_search_scan: default_max_scan(),
            unmapped_elements: UnmappedPolicy::Warn,
        }
    }
}

fn default_namespace() -> Spanned<String> {
    Spanned::new(0..0, "ehrgate".to_owned())
}
fn default_true() -> bool {
    true
}
fn default_ehr_ttl() -> u64 {
    300_000
}
fn default_ehr_cache_size() -> u64 {
    100_000
}
fn default_template_ttl() -> u64 {
    300_000
}
fn default_max_resource() -> u64 {
    1024 * 1024
}
fn default_max_entries() -> u32 {
    100
}
fn default_count() -> u32 {
    20
}
fn default_max_count() -> u32 {
    200
}
fn default_max_scan() -> u32 {
    1000
}
