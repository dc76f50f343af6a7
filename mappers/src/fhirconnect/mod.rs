//! FHIR R4 <-> openEHR translation driven by FHIRconnect mapping files.
//!
//! The mapping rules are data (FHIRconnect model and context files, as the
//! openFHIR engine reads them); this module loads and executes them.
//!
//! # Layout
//! - [`model`]: the typed FHIRconnect file model; unsupported constructs
//!   fail while reading.
//! - [`loader`]: files -> [`loader::MappingSet`], errors with file and line.
//! - [`extension`]: extension files applied to the models they extend.
//! - [`base_models`]: models a set uses without carrying them, from a
//!   search path (ehrgate's own base models for the KDS projects).
//! - [`links`]: the `link` construct (openEHR LINKs to FHIR resources).
//! - [`bundle_refs`]: references to other entries of the input Bundle.
//! - [`v2_bundle`]: a v2-made transaction Bundle reshaped for the openEHR
//!   mappings (specimens contained in their reports, immunization detail).
//! - [`contained_check`]: contained resources going back that R4 would refuse.
//! - `conditions`: what a condition tests (`targetAttributes`, the `type`
//!   operator), both directions.
//! - `reverse_guards`: when openEHR -> FHIR must not create an element.
//! - [`fhir_schema`]: FHIR R4 element table (types, arrays, choices) as data.
//! - [`fhirpath`]: the FHIRPath subset the files use.
//! - [`fidelity`]: the exact "not stored" report (FHIR -> openEHR -> FHIR,
//!   compared element by element; status-like elements flagged).

pub mod at_codes;
pub mod base_models;
pub mod bundle_refs;
pub mod canonical;
pub mod check;
pub mod compiled;
pub(crate) mod conditions;
pub mod contained_check;
pub mod datatypes;
pub mod engine;
pub mod extension;
pub mod fhir_schema;
pub mod fhir_write;
pub mod fhirpath;
pub mod fidelity;
pub mod flat;
pub mod instance;
pub mod links;
pub mod loader;
pub mod model;
pub mod openehr_path;
pub mod patient_ref;
mod reverse_guards;
mod reverse_reuse;
pub mod shipped;
pub mod template_index;
pub mod to_fhir;
pub mod to_openehr;
pub mod translators;
pub mod units;
pub mod v2_bundle;
