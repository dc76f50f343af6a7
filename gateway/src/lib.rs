//! The ehrgate gateway: listeners, routing decisions, upstream pools, the
//! admin API, telemetry and the FHIR facade, plus the command-line tools.
//!
//! # Layout
//! In layers; a room imports the layers below it, never one above (the
//! README's layout table has the same drawing).
//! - [`app`]: the composition root (`Gateway::start`, reload, shutdown).
//! - [`proxy`], [`facade`], [`mllp`], [`admin`], [`cli`]: the rooms: HTTP
//!   pipeline, FHIR facade, HL7 v2 feeds, release control, command line.
//! - [`runtime`]: the shared, atomically swapped state (one `Backend` per
//!   backend), worker threads, connection limits, the handler seam.
//! - [`upstream`]: backend pools, the body type, health, the retry budget
//!   and the one call policy (`exchange`).
//! - [`telemetry`]: metrics, the access-log line, the audit log, traces.
//! - [`routing`]: tenant resolution, route matching, the one canary split
//!   for HTTP and MLLP (`split`), the routing table.
//! - [`config`]: the TOML config model, loading and validation with lines.
//! - [`tls`]: rustls configs with reloadable certificates; [`outcome`]:
//!   FHIR `OperationOutcome` bodies for every error we answer.

#![forbid(unsafe_code)]

pub mod admin;
pub mod app;
pub mod cli;
pub mod config;
pub mod facade;
pub mod mllp;
pub mod outcome;
pub mod proxy;
pub mod routing;
pub mod runtime;
pub mod telemetry;
pub mod tls;
pub mod upstream;

pub use app::Gateway;
