//! The reverse proxy: listeners and connection serving ([`server`]), the
//! per-request pipeline ([`forward`]), header rewriting ([`headers`]), the Host rules ([`host`]) and the
//! request-head limit ([`head_limit`]), the `Transfer-Encoding` rules
//! ([`transfer_coding`]), the refused methods ([`method_rules`]), the
//! chunked-framing guard on hyper's path ([`framing_guard`]), the request
//! path's dot segments and refusals ([`target`]) and the trusted peers
//! ([`trusted`]) shared by both HTTP/1.1 engines,
//! the native HTTP/1.1 engine ([`h1`]), upstream pools ([`upstream`]), health and outlier ejection ([`health`]),
//! failover to the other arm ([`failover`]), write placement ([`placement`]),
//! the retry budget ([`retry`]), reload ([`reload`]) and the shared,
//! atomically swapped state ([`state`]).

pub mod access_log;
pub mod body;
pub mod conn_limit;
pub mod error;
pub mod failover;
pub mod forward;
pub mod framing_guard;
pub mod h1;
pub mod head_limit;
pub mod headers;
pub mod health;
pub mod host;
pub mod method_rules;
pub mod placement;
pub mod reload;
pub mod retry;
pub mod server;
pub mod state;
pub mod target;
pub mod transfer_coding;
pub mod trusted;
pub mod upstream;
pub mod workers;

pub use server::Gateway;
pub use state::Shared;
