//! `ehrgate serve --config FILE`: load the config, start the listeners,
//! reload on SIGHUP or file change, drain gracefully on SIGINT/SIGTERM.

use std::path::Path;

use anyhow::Context;

use super::exit;
use crate::config::load;
use crate::proxy::Gateway;

/// Runs the gateway until a shutdown signal.
pub fn run(path: &Path) -> anyhow::Result<u8> {
    init_tracing();
    let loaded = match load(path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return Ok(exit::FAILED);
        }
    };
    // Connections are served by per-core worker runtimes (proxy::workers);
    // this one only runs accept loops, health checks and reload watchers.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(async move {
        let gateway = Gateway::start(loaded).await?;
        gateway.watch_for_reloads();
        shutdown_signal().await;
        tracing::info!(target: "ehrgate::server", "shutting down, draining in-flight requests");
        gateway.shutdown().await;
        Ok(exit::OK)
    })
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("EHRGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
