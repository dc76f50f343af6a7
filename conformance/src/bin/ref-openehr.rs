//! Runs the reference openEHR backend standalone, with the shipped
//! mapping sets' templates preloaded and any OPTs given with `--template`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use ehrgate_conformance::reference::openehr::{spawn, OpenEhrConfig};

/// Reference openEHR REST backend (in memory, EHRbase-like subset).
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// More OPT files to preload (the id is the one each declares).
    #[arg(long = "template")]
    templates: Vec<PathBuf>,
    /// Do not preload the shipped mapping sets' templates.
    #[arg(long)]
    no_shipped: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut cfg = if args.no_shipped {
        OpenEhrConfig::default()
    } else {
        OpenEhrConfig::with_shipped_templates()
    };
    for path in &args.templates {
        let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
        let id =
            ehrgate_templates::read_template_id(&bytes, &ehrgate_templates::OptLimits::default())
                .with_context(|| format!("{}: no template_id", path.display()))?;
        cfg.templates.retain(|(i, _)| *i != id.as_str());
        cfg.templates.push((id.as_str().to_owned(), bytes));
    }
    let server = spawn(cfg, args.listen)
        .await
        .context("starting the backend")?;
    println!("reference openEHR backend at {}", server.base_url);
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}
