//! The gateway's run-time state: [`Shared`] (one [`Snapshot`] per revision
//! behind an `ArcSwap`, the overrides, the retry budget, telemetry) and the
//! worker threads connections are served on.
//!
//! - [`state`]: [`Shared`], [`Snapshot`], one [`state::Backend`] per
//!   configured backend, and the swap operations (reload, overrides).
//! - [`workers`]: thread-per-core serving and each thread's index.
//! - [`conn_limit`]: the file-handle budget and per-listener connection
//!   caps every listener (HTTP, MLLP, admin) admits connections through.
//! - [`services`]: the seam through which the composition root attaches
//!   handlers (the FHIR facade) to backends.
//! - [`placements`]: the write-placement store carried across revisions.
//!
//! # What it may import
//! `upstream`, `telemetry`, `routing`, `config`; never a room above it
//! (`proxy`, `facade`, `mllp`, `admin`, `app`): what the root attaches to a
//! backend comes through [`services`].

pub mod conn_limit;
pub mod placements;
pub mod services;
pub mod state;
pub mod workers;

pub use state::{Backend, Shared, Snapshot};
