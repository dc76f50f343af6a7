//! FHIR output checks shared by the conformance tests: the official R4
//! JSON schema (the library's validator, shared with the reference FHIR
//! backend) and strict fhirbolt parsing.

#[allow(unused_imports)]
pub use ehrgate_conformance::fhir_schema::schema_errors;

/// Parses `json` strictly as an R4 resource with fhirbolt.
pub fn fhirbolt_strict(json: &str) -> Result<(), String> {
    use fhirbolt::serde::{DeserializationConfig, DeserializationMode};
    let cfg = DeserializationConfig {
        mode: DeserializationMode::Strict,
    };
    fhirbolt::json::from_str::<fhirbolt::model::r4::Resource>(json, Some(cfg))
        .map(|_| ())
        .map_err(|e| e.to_string())
}
