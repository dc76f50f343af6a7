//! The admin API: release control for the people cutting traffic over.
//!
//! # Layout
//! - [`server`]: the admin listener (its own socket, optional TLS).
//! - [`api`]: the endpoints, JSON in and out.
//! - [`auth`]: bearer tokens (read / write), compared in constant time.
//! - [`change`]: the changes (weight, pin, flag, rollback, revert), checked
//!   against the config in force, and their old -> new diff.
//! - [`release`]: the one writer: compare-and-set, apply through
//!   [`crate::runtime::Shared::update_overrides`], persist, audit.
//! - [`state`]: the release state as data (what persists and reverts).
//! - [`store`]: the [`store::StateStore`] seam; [`file_store`] keeps it in a
//!   JSON file beside the config.
//! - [`view`]: the effective routing table as JSON.
//! - [`error`]: errors with status, stable code and message.
//!
//! # What it may import
//! `runtime` (the one writer of overrides: `Shared::update_overrides`),
//! `telemetry`, `routing`, `config`, `tls`; never `proxy`, `facade`, `mllp`
//! or `app`.

pub mod api;
pub mod auth;
pub mod change;
pub mod error;
pub mod file_store;
pub mod release;
pub mod server;
pub mod state;
pub mod store;
pub mod view;

pub use server::{AdminServer, AdminStartError};
