//! HL7 v2 feeds over MLLP (issue 9): listeners that receive messages,
//! route them by tenant (MSH-4/MSH-6), message type and a sticky canary
//! split by patient (PID-3), deliver them to a legacy MLLP receiver
//! unchanged or to a FHIR server as a transaction Bundle, and acknowledge
//! only what the destination accepted.
//!
//! # Layout
//! - [`listener`]: accept loops (TLS optional), connections handed to the
//!   worker threads; [`connection`]: one connection, frames answered in order.
//! - [`process`]: one message from parse to acknowledgement, access log.
//! - [`ack`]: original and enhanced acknowledgement modes, ids, timestamps.
//! - [`table`]: one revision's limits, facilities, routes and destinations,
//!   swapped whole on reload.
//! - [`tenant`]: the facility table; [`routes`]: feed routes and the arm.
//! - [`replay`]: the MSH-10 replay window per sender.
//! - [`queue`]: the durable inbound queue of enhanced mode (`CA` after the
//!   fsync, delivery in order per sender, the application ack after it).
//! - [`deliver`]: the destinations of a table; [`destination`]: the
//!   [`destination::Destination`] seam (MLLP, FHIR, openEHR) and the one place a
//!   message is translated; [`openehr`]: through the FHIR facade, with
//!   [`unstorable`] for what no template takes; [`sender`]: the MLLP client pool with ACK
//!   matching by MSA-2 and [`backoff`] for reconnects; [`stream`]: plain or
//!   TLS connections to destinations; [`health`]: TCP-connect health checks.
//! - [`start`]: binding the listeners at gateway start.
//! - [`error`]: failures and their acknowledgement; [`stats`]: counters;
//!   [`log_bound`]: per-connection log rate limits, values cut for logs.
//!
//! # What it may import
//! `facade` (openEHR destinations write through it), `runtime`, `upstream`,
//! `telemetry`, `routing`, `config`, `tls`; never `proxy`, `admin` or `app`.

pub mod ack;
pub mod backoff;
pub mod connection;
pub mod deliver;
pub mod destination;
pub mod error;
pub mod health;
pub mod listener;
pub mod log_bound;
pub mod openehr;
pub mod process;
pub mod queue;
pub mod replay;
pub mod routes;
pub mod sender;
pub mod start;
pub mod stats;
pub mod stream;
pub mod table;
pub mod tenant;
pub mod unstorable;

pub use error::FeedError;
pub use process::Feed;
pub use stats::{FeedKey, FeedSeries, FeedStats};
