//! A backend's `[backend.openehr]` table resolved for the request path:
//! defaults applied, durations typed, templates per type filled from the
//! shipped defaults.

use std::collections::BTreeMap;
use std::time::Duration;

use super::types::DEFAULT_TEMPLATES;
use crate::config::model::BackendConfig;
use crate::config::openehr::{CompositionFormat, OpenEhrBackendConfig, UnmappedPolicy};

/// Resolved facade settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Serialisation of written compositions.
    pub format: CompositionFormat,
    /// Namespace for tenants without their own.
    pub namespace: String,
    /// Namespace per tenant.
    pub namespaces: BTreeMap<String, String>,
    /// Create EHRs on first write.
    pub create_ehr: bool,
    /// Template ids per resource type, in order.
    pub templates: BTreeMap<String, Vec<String>>,
    /// EHR cache lifetime.
    pub ehr_cache_ttl: Duration,
    /// EHR cache size.
    pub ehr_cache_size: u64,
    /// Template cache lifetime.
    pub template_ttl: Duration,
    /// Request body bound.
    pub max_resource_bytes: u64,
    /// Transaction entries bound.
    pub max_bundle_entries: usize,
    /// Page size default.
    pub default_count: u32,
    /// Page size bound.
    pub max_count: u32,
    /// Search scan bound.
    pub max_search_scan: u32,
    /// Elements of a written resource that no mapping holds.
    pub unmapped: UnmappedPolicy,
}

// === impl Settings ===

impl Settings {
    /// Settings of a backend (defaults when it has no `openehr` table).
    pub fn from_backend(b: &BackendConfig) -> Settings {
        let o = b.openehr.clone().unwrap_or_default();
        Settings::from_config(&o)
    }

    /// Settings from the table.
    pub fn from_config(o: &OpenEhrBackendConfig) -> Settings {
        let mut templates: BTreeMap<String, Vec<String>> = if o.templates.is_empty() {
            DEFAULT_TEMPLATES
                .iter()
                .map(|(t, ids)| {
                    (
                        (*t).to_owned(),
                        ids.iter().map(|s| (*s).to_owned()).collect(),
                    )
                })
                .collect()
        } else {
            o.templates
                .iter()
                .map(|(t, ids)| (t.clone(), ids.iter().map(|s| s.get_ref().clone()).collect()))
                .collect()
        };
        templates.retain(|_, ids| !ids.is_empty());
        Settings {
            format: o.composition_format,
            namespace: o.subject_namespace.get_ref().clone(),
            namespaces: o
                .subject_namespaces
                .iter()
                .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                .collect(),
            create_ehr: o.create_ehr,
            templates,
            ehr_cache_ttl: Duration::from_millis(o.ehr_cache_ttl_ms.max(1)),
            ehr_cache_size: o.ehr_cache_size.max(1),
            template_ttl: Duration::from_millis(o.template_ttl_ms.max(1)),
            max_resource_bytes: o.max_resource_bytes,
            max_bundle_entries: o.max_bundle_entries as usize,
            default_count: o.default_count,
            max_count: o.max_count,
            max_search_scan: o.max_search_scan,
            unmapped: o.unmapped_elements,
        }
    }

    /// The subject namespace of a tenant.
    pub fn namespace_of(&self, tenant: &str) -> &str {
        self.namespaces
            .get(tenant)
            .map_or(self.namespace.as_str(), String::as_str)
    }

    /// The templates of a resource type (empty: not served).
    pub fn templates_of(&self, resource_type: &str) -> &[String] {
        self.templates.get(resource_type).map_or(&[], Vec::as_slice)
    }
}
