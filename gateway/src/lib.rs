//! The ehrgate gateway: listeners, routing decisions, upstream pools, the
//! admin API, telemetry and the FHIR facade, plus the command-line tools.
//!
//! # Layout
//! - [`cli`]: the `ehrgate` command line; one file per subcommand.

#![forbid(unsafe_code)]

pub mod cli;
