//! The `ehrgate` command line. One file per subcommand; `main.rs` only
//! parses arguments and turns the returned exit code into the process exit.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub mod admin;
pub mod check_config;
pub mod serve;
mod template;
pub mod translate;

/// Exit codes shared by every subcommand, so scripts can rely on them.
pub mod exit {
    /// Everything succeeded.
    pub const OK: u8 = 0;
    /// The input was read but some of it failed (bad message, bad config).
    pub const FAILED: u8 = 1;
    /// The command line itself was wrong.
    pub const USAGE: u8 = 2;
}

/// openEHR / FHIR / HL7 v2 interoperability gateway.
#[derive(Debug, Parser)]
#[command(name = "ehrgate", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the version and the build's enabled features.
    Version,
    /// Translate messages offline (`--from hl7v2 --to fhir`).
    Translate(translate::TranslateArgs),
    /// Inspect operational templates (OPT files, template directories).
    #[command(subcommand)]
    Template(template::TemplateCommand),
    /// Run the gateway proxy with a config file.
    Serve {
        /// The TOML config file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Validate a config file and explain each problem with its line.
    CheckConfig {
        /// The TOML config file.
        file: PathBuf,
    },
    /// Release control: read or set canary weights (admin API).
    #[command(subcommand)]
    Weights(admin::WeightsCommand),
    /// Release control: send all of a route's traffic to stable (admin API).
    Rollback {
        /// The route id.
        route: String,
        #[command(flatten)]
        change: admin::commands::ChangeArgs,
    },
    /// Release control: pin a tenant to stable or canary, or lift pins (admin API).
    Pin {
        /// The tenant id.
        tenant: String,
        /// `stable`, `canary` or `none`.
        arm: admin::commands::PinArm,
        /// Only this route (default: every route with a canary).
        #[arg(long)]
        route: Option<String>,
        #[command(flatten)]
        change: admin::commands::ChangeArgs,
    },
    /// Release control: switch feature flags (admin API).
    #[command(subcommand)]
    Flags(admin::FlagsCommand),
    /// Release control: the change history, oldest first (admin API).
    History {
        /// How many of the latest changes.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[command(flatten)]
        admin: admin::AdminArgs,
    },
    /// Release control: restore the state of an earlier revision (admin API).
    Revert {
        /// The revision to restore (0 = the config file as written).
        revision: u64,
        #[command(flatten)]
        change: admin::commands::ChangeArgs,
    },
}

impl Cli {
    /// Runs the chosen subcommand and returns the process exit code.
    pub fn run(self) -> anyhow::Result<u8> {
        match self.command {
            Command::Version => {
                println!("ehrgate {}", env!("CARGO_PKG_VERSION"));
                Ok(exit::OK)
            }
            Command::Translate(args) => args.run(),
            Command::Template(command) => template::run(command),
            Command::Serve { config } => serve::run(&config),
            Command::CheckConfig { file } => check_config::run(&file),
            Command::Weights(cmd) => admin::commands::weights(cmd),
            Command::Rollback { route, change } => admin::commands::rollback(&route, &change),
            Command::Pin {
                tenant,
                arm,
                route,
                change,
            } => admin::commands::pin(&tenant, arm, route.as_deref(), &change),
            Command::Flags(cmd) => admin::commands::flags(cmd),
            Command::History { limit, admin } => admin::commands::history(limit, &admin),
            Command::Revert { revision, change } => admin::commands::revert(revision, &change),
        }
    }
}
