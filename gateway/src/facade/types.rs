//! The FHIR resource types the facade serves, their patient and date
//! elements and default templates: kept with the config
//! ([`crate::config::fhir_types`]) so the config check reads them without
//! importing the facade; re-exported here under the facade's old path.

pub use crate::config::fhir_types::*;
