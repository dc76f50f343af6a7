//! `ehrgate serve --config FILE`: load the config, start the listeners,
//! reload on SIGHUP or file change, drain gracefully on SIGINT/SIGTERM.

use std::path::Path;

use anyhow::Context;

use super::exit;
use crate::app::Gateway;
use crate::config::load;

/// Runs the gateway until a shutdown signal.
pub fn run(path: &Path) -> anyhow::Result<u8> {
    let loaded = match load(path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return Ok(exit::FAILED);
        }
    };
    // Held to the end of `run`: dropping it flushes exported spans.
    let _tracing = init_tracing(&loaded)?;
    // Connections are served by per-core worker runtimes (runtime::workers);
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

/// Logs to stderr; with `[telemetry] otlp_endpoint` also exports spans.
fn init_tracing(
    loaded: &crate::config::LoadedConfig,
) -> anyhow::Result<Option<Box<dyn std::any::Any>>> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_from_env("EHRGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter).with(fmt);
    let t = &loaded.config.telemetry;
    let Some(endpoint) = &t.otlp_endpoint else {
        let _ = registry.try_init();
        return Ok(None);
    };
    #[cfg(feature = "otlp")]
    {
        let ca = t.otlp_ca.as_ref().map(|p| loaded.resolve(p));
        let (guard, tracer) =
            crate::telemetry::otlp::start(endpoint.get_ref(), ca.as_deref(), &t.service_name)?;
        let _ = registry
            .with(tracing_opentelemetry::layer().with_tracer(tracer))
            .try_init();
        Ok(Some(Box::new(guard)))
    }
    #[cfg(not(feature = "otlp"))]
    {
        let _ = registry.try_init();
        anyhow::bail!(
            "otlp_endpoint `{}` is set but this build has no OTLP export (cargo feature `otlp`)",
            endpoint.get_ref()
        )
    }
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
