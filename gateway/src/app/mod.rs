//! The composition root, and nothing else: [`Gateway::start`] builds the
//! telemetry and the shared state ([`crate::runtime::Shared`]), attaches
//! the FHIR facade to openEHR backends through the runtime's seam
//! ([`services`]), starts the admin API, binds the HTTP listeners
//! ([`crate::proxy::server`]) and the MLLP listeners
//! ([`crate::mllp::start`]) and runs the retry budget's refill; reloads
//! ([`reload`]) and shutdown go through it too.
//!
//! # What it may import
//! Everything: it is the only room that names the proxy, the facade, MLLP
//! and admin together. Nothing imports it but the command line.
//!
//! After linkerd2-proxy's `linkerd/app/src/lib.rs`: the siblings it
//! assembles import the lower layers (`runtime`, `upstream`), never each
//! other's insides and never this module.

mod gateway;
pub mod reload;
pub(crate) mod services;

pub use gateway::{Gateway, StartError};
pub use reload::Reloader;
