//! The reverse proxy: listeners and connection serving ([`server`]), the
//! per-request pipeline ([`forward`]), header rewriting ([`headers`]), the Host rules ([`host`]) and the
//! request-head limit ([`head_limit`]), the `Transfer-Encoding` rules
//! ([`transfer_coding`]), the refused methods ([`method_rules`]), the
//! chunked-framing guard on hyper's path ([`framing_guard`]), the request
//! path's dot segments and refusals ([`target`]) and the trusted peers
//! ([`trusted`]) shared by both HTTP/1.1 engines,
//! the native HTTP/1.1 engine ([`h1`]), failover to the other arm
//! ([`failover`]), write placement ([`placement`]) and the response body
//! that writes the access-log line on hyper's path ([`logged_body`]).
//!
//! Upstream pools, bodies, health, the retry budget and the call policy
//! live in [`crate::upstream`]; the shared state and worker threads in
//! [`crate::runtime`].
//!
//! # What it may import
//! `runtime`, `upstream`, `telemetry`, `routing`, `config`, `tls`, `outcome`;
//! never `facade`, `mllp`, `admin` or `app`: a backend's own handler (the
//! facade) reaches it through `runtime::services`, registered by `app`.

pub(crate) mod error;
pub(crate) mod failover;
pub(crate) mod forward;
pub(crate) mod framing_guard;
pub mod h1;
pub(crate) mod head_limit;
pub(crate) mod headers;
pub(crate) mod host;
pub(crate) mod logged_body;
pub(crate) mod method_rules;
pub(crate) mod placement;
pub(crate) mod server;
pub(crate) mod target;
pub mod transfer_coding;
pub(crate) mod trusted;
