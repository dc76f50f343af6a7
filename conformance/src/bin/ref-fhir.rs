//! Runs the reference FHIR R4 backend standalone.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use ehrgate_conformance::reference::fhir::{spawn, FhirConfig};

/// Reference FHIR R4 REST backend (in memory, schema-validating).
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8082")]
    listen: SocketAddr,
    /// The R4 JSON schema (default: the corpus copy).
    #[arg(long)]
    schema: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let cfg = FhirConfig {
        schema_path: args.schema,
        ..FhirConfig::default()
    };
    let server = spawn(cfg, args.listen)
        .await
        .context("starting the backend")?;
    println!("reference FHIR backend at {}", server.base_url);
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}
