//! `GET /fhir/metadata`: a CapabilityStatement listing exactly what this
//! facade serves for the backend's configuration: the resource types that
//! have templates, their interactions and search parameters, transactions.

use serde_json::{json, Value};

use super::settings::Settings;
use super::types::SEARCH_PARAMS;

/// The CapabilityStatement of a facade with `settings`.
pub fn capability_statement(settings: &Settings, date: &str) -> Value {
    let resources: Vec<Value> = settings
        .templates
        .iter()
        .filter(|(_, ids)| !ids.is_empty())
        .map(|(ty, ids)| {
            let interactions: Vec<Value> = ["create", "read", "update", "delete", "search-type"]
                .iter()
                .map(|c| json!({"code": c}))
                .collect();
            let params: Vec<Value> = SEARCH_PARAMS
                .iter()
                .map(|(name, ty, doc)| json!({"name": name, "type": ty, "documentation": doc}))
                .collect();
            json!({
                "type": ty,
                "documentation": format!("Stored as openEHR compositions of template(s): {}", ids.join(", ")),
                "interaction": interactions,
                "versioning": "versioned-update",
                "readHistory": false,
                "updateCreate": false,
                "conditionalCreate": false,
                "conditionalUpdate": false,
                "conditionalDelete": "not-supported",
                "searchParam": params,
            })
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "ehrgate",
        "kind": "instance",
        "software": {"name": "ehrgate FHIR facade over openEHR", "version": env!("CARGO_PKG_VERSION")},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "documentation": "FHIR R4 served from an openEHR backend; paging with _count and _offset.",
            "resource": resources,
            "interaction": [{"code": "transaction"}],
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::openehr::OpenEhrBackendConfig;

    #[test]
    fn lists_exactly_the_configured_types() {
        let s = Settings::from_config(&OpenEhrBackendConfig::default());
        let c = capability_statement(&s, "2024-01-01");
        let types: Vec<&str> = c["rest"][0]["resource"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["type"].as_str().unwrap())
            .collect();
        let mut want: Vec<&str> = s.templates.keys().map(String::as_str).collect();
        want.sort_unstable();
        assert_eq!(types, want);
        assert_eq!(c["rest"][0]["interaction"][0]["code"], "transaction");
        assert_eq!(c["fhirVersion"], "4.0.1");
    }
}
