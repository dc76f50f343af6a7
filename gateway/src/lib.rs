//! The ehrgate gateway: listeners, routing decisions, upstream pools, the
//! admin API, telemetry and the FHIR facade, plus the command-line tools.
//!
//! # Layout
//! - [`cli`]: the `ehrgate` command line; one file per subcommand.
//! - [`config`]: the TOML config model, loading and validation with lines.
//! - [`routing`]: tenant resolution, route matching, the sticky canary split
//!   (`decide`) and the atomically swapped routing table.
//! - [`upstream`]: backend pools, the body type, health, the retry budget
//!   and the one call policy (`exchange`).
//! - [`runtime`]: the shared, atomically swapped state and worker threads.
//! - [`proxy`]: the listeners, the per-request pipeline (two HTTP/1.1
//!   engines and h2), failover, reload and shutdown.
//! - [`tls`]: rustls server config with reloadable certificates.
//! - [`admin`]: the admin API (release control) on its own listener, its
//!   change history and the state store.
//! - [`telemetry`]: metrics, the JSON access log, the audit log, traces.
//! - [`outcome`]: FHIR `OperationOutcome` bodies for every error we answer.

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
