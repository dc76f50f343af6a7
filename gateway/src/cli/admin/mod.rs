//! Release-control commands that talk to a running gateway's admin API:
//! `weights get|set`, `rollback`, `pin`, `flags set`, `history`, `revert`.
//! Each prints a table by default and the API's JSON with `--json`; a
//! refused change exits 1 with the API's code and message on stderr.

pub mod client;
pub mod commands;
pub mod table;

pub use client::AdminArgs;
pub use commands::{FlagsCommand, WeightsCommand};
