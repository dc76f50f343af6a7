//! The gateway's configuration: the TOML model, loading with line-numbered
//! errors, and the validation rules.
//!
//! A [`LoadedConfig`] is always valid: `serve` builds its routing table from
//! one, reload refuses a file that does not load, and `check-config` prints
//! the same errors a reload would log.
//!
//! # What it may import
//! `routing::flags` and `routing::jwt` (the flag and JWKS files a config names
//! are loaded with it) and nothing else of the crate.

pub mod admin;
pub mod cidr;
pub mod fhir_types;
pub mod load;
pub mod model;
pub mod model_mllp;
pub mod openehr;
pub mod validate;
mod validate_mllp;
pub(crate) mod validate_openehr;

pub use load::{load, load_str, ConfigError, ConfigIssue, LoadedConfig, Location};
pub use model::Config;
