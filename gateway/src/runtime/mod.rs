//! The gateway's run-time state: [`Shared`] (one [`Snapshot`] per revision
//! behind an `ArcSwap`, the overrides, the retry budget, telemetry) and the
//! worker threads connections are served on.
//!
//! - [`state`]: [`Shared`], [`Snapshot`], one [`state::Backend`] per
//!   configured backend, and the swap operations (reload, overrides).
//! - [`workers`]: thread-per-core serving and each thread's index.

pub mod state;
pub mod workers;

pub use state::{Backend, Shared, Snapshot};
