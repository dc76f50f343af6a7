//! The FHIR R4 reference backend (placeholder while being written).
