//! `ehrgate check-config FILE`: validate a config the way `serve` and a
//! reload would, and explain each problem with its line.

use std::path::Path;

use super::exit;
use crate::config::{load, ConfigError};
use crate::routing::{Overrides, RoutingTable};

/// Runs the check; prints a summary on success, each problem on failure.
pub fn run(path: &Path) -> anyhow::Result<u8> {
    match load(path).map_err(CheckError::Config).and_then(|loaded| {
        RoutingTable::build(&loaded, &Overrides::default(), 1)
            .map(|t| (loaded, t))
            .map_err(CheckError::Table)
    }) {
        Ok((loaded, table)) => {
            println!(
                "{}: ok ({} listener(s), {} backend(s), {} tenant(s), {} route(s))",
                path.display(),
                loaded.config.listeners.len(),
                table.backends().len(),
                table.tenants().tenants().len(),
                table.routes().len()
            );
            Ok(exit::OK)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(exit::FAILED)
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum CheckError {
    #[error(transparent)]
    Config(ConfigError),
    #[error("routing table: {0}")]
    Table(crate::routing::table::TableError),
}
