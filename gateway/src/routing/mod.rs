//! Routing: which tenant a request belongs to, which route serves it and
//! whether the stable or the canary backend answers. Everything here is pure
//! (no I/O on the request path) and unit-tested; the proxy calls
//! [`decision::decide`] once per request against the current
//! [`table::RoutingTable`]. The canary split itself ([`split`]) is shared
//! with the MLLP feed routes: one rule for both protocols.
//!
//! # What it may import
//! `config` only (the route and pin model). `config::load` imports its flag
//! and JWKS loaders back: a module-level pair, not a file cycle.

pub mod bucket;
pub mod decision;
pub mod flags;
pub mod jwt;
pub mod route_match;
pub mod split;
pub mod table;
pub mod tenant;

#[cfg(test)]
mod tests;

pub use decision::{decide, Arm, Decision, Reject, Rule};
pub use table::{Overrides, RoutingTable, TableHandle};
