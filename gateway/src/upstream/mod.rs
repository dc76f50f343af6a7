//! The upstream layer: what every part of the gateway that talks HTTP to a
//! backend shares.
//!
//! - [`pool`]: [`Upstream`], one backend's connection pools (one per worker
//!   thread), its URL parts and timeouts.
//! - [`body`]: [`ProxyBody`], the one body type on both directions of a hop.
//! - [`health`]: health state and outlier ejection; [`checker`]: the
//!   active check.
//! - [`retry`]: the retry budget shared by every request.
//! - [`exchange`]: the call policy (availability, timeout, health
//!   bookkeeping) every exchange with a backend goes through.
//!
//! # What it may import
//! `config`, `tls` and `runtime::workers` (which worker thread a pool
//! belongs to), nothing else of the crate: the proxy, the facade, MLLP
//! delivery, admin and telemetry build on it, never the other way round.

pub mod body;
pub mod checker;
pub mod exchange;
pub mod health;
pub mod pool;
pub mod retry;

pub use body::ProxyBody;
pub use exchange::{exchange, Health, Refused};
pub use pool::Upstream;
