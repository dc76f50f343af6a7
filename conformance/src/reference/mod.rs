//! In-memory reference backends: an openEHR REST server that behaves as
//! EHRbase does for the subset the gateway's FHIR facade uses, and a FHIR
//! R4 REST server. Both check what they receive (compositions against
//! their template, FHIR against the official schema) so a test that sends
//! bad output fails at the backend instead of passing silently.
//!
//! They serve tests and the demo only; no production path depends on them.
//!
//! # Layout
//! - [`server`]: [`RefServer`], the accept loop shared by both backends.
//! - [`http`]: the request as handlers see it, response helpers, limits.
//! - [`clock`]: timestamps without a date crate.
//! - [`openehr`]: the openEHR backend (EHR, composition, template, AQL).
//! - [`fhir`]: the FHIR backend (CRUD, versions, search, transactions).

pub mod clock;
pub mod exchange;
pub mod fhir;
pub mod http;
pub mod openehr;
pub mod server;

pub use server::RefServer;
