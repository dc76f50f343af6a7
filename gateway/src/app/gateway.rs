//! [`Gateway`]: start, the handles a running gateway gives (addresses,
//! state, reloads, counters) and shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::reload::{spawn_watchers, Reloader};
use super::services::GatewayServices;
use crate::config::LoadedConfig;
use crate::proxy::server::{listen, ListenContext};
use crate::runtime::conn_limit::FileBudget;
use crate::runtime::state::{Shared, SwapError};
use crate::runtime::workers::Workers;
use crate::tls::ReloadableCert;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The worker threads could not be started.
    #[error("cannot start worker threads: {0}")]
    Workers(std::io::Error),
    /// The first snapshot or TLS material failed.
    #[error(transparent)]
    Swap(#[from] SwapError),
    /// A log destination could not be opened.
    #[error(transparent)]
    Telemetry(#[from] crate::telemetry::LogOpenError),
    /// The admin API could not start.
    #[error(transparent)]
    Admin(#[from] crate::admin::AdminStartError),
    /// The MLLP side (its queue, TLS material or a listener) could not
    /// start.
    #[error(transparent)]
    Mllp(#[from] crate::mllp::start::MllpStartError),
}

impl ehrgate_templates::fault::Classified for StartError {
    fn fault(&self) -> ehrgate_templates::fault::Fault {
        ehrgate_templates::fault::Fault::Internal
    }
    fn code(&self) -> &'static str {
        match self {
            StartError::Bind { .. } => "listener.bind",
            StartError::Workers(_) => "server.workers",
            StartError::Swap(e) => e.code(),
            StartError::Telemetry(e) => e.code(),
            StartError::Admin(e) => e.code(),
            StartError::Mllp(e) => e.code(),
        }
    }
}

/// A running gateway.
#[derive(Debug)]
pub struct Gateway {
    shared: Arc<Shared>,
    addrs: Vec<SocketAddr>,
    certs: Vec<Option<Arc<ReloadableCert>>>,
    config_path: PathBuf,
    stop: watch::Sender<bool>,
    accept_tasks: Vec<JoinHandle<()>>,
    graceful: Arc<GracefulShutdown>,
    workers: Arc<Workers>,
    /// MLLP connections' own worker threads (see [`Gateway::start`]).
    mllp_workers: Option<Arc<Workers>>,
    grace: Duration,
    mllp: Option<crate::mllp::start::MllpListeners>,
    admin: Option<crate::admin::AdminServer>,
}

// === impl Gateway ===

impl Gateway {
    /// Binds every listener and starts serving. Must run inside tokio.
    pub async fn start(loaded: LoadedConfig) -> Result<Gateway, StartError> {
        let listeners = loaded.config.listeners.clone();
        let grace = Duration::from_millis(loaded.config.server.shutdown_grace_ms);
        let config_path = loaded.path.clone();
        let (acceptors, certs) = crate::proxy::server::tls_acceptors(&loaded)?;
        let telemetry = crate::telemetry::Telemetry::from_config(&loaded.config.telemetry, |p| {
            loaded.resolve(p)
        })?;
        let shared = Shared::with_services(loaded, Arc::new(telemetry), Arc::new(GatewayServices))?;
        // Restores the stored release state before any proxy listener binds.
        let admin = crate::admin::AdminServer::start(&shared).await?;
        let (stop, stop_rx) = watch::channel(false);
        let graceful = Arc::new(GracefulShutdown::new());
        let workers = Workers::start().map_err(StartError::Workers)?;
        let budget =
            FileBudget::from_rlimit(shared.load().loaded.config.server.reserved_file_handles);
        // Every data listener's cap, fitted into the budget.
        let wanted: Vec<usize> = {
            let snap = shared.load();
            let c = &snap.loaded.config;
            c.listeners
                .iter()
                .map(|l| l.max_connections())
                .chain(c.mllp_listeners.iter().map(|l| l.max_connections()))
                .collect()
        };
        let caps = crate::runtime::conn_limit::fair_shares(budget.max(), &wanted);
        if caps != wanted {
            tracing::warn!(target: "ehrgate::server", budget = budget.max(), ?wanted, ?caps, "listener max_connections exceed the file-handle budget; caps lowered to fair shares");
        }
        let (http_caps, mllp_caps) = caps.split_at(listeners.len().min(caps.len()));
        let ctx = ListenContext {
            shared: shared.clone(),
            workers: workers.clone(),
            budget: budget.clone(),
            graceful: graceful.clone(),
            stop: stop_rx.clone(),
        };
        let (addrs, accept_tasks) = listen(&listeners, acceptors, http_caps, &ctx)
            .await
            .map_err(|e| StartError::Bind {
                addr: e.addr,
                source: e.source,
            })?;
        // MLLP connections get worker threads of their own: thousands of
        // them waking at once (a storm's connections closing together)
        // then queue behind each other on those threads, not in front of
        // the HTTP listener's connections (storm run: HTTP probes at up to
        // 869 ms while 9,772 MLLP connections closed, when they shared).
        let mllp_workers = if shared.load().loaded.config.mllp_listeners.is_empty() {
            None
        } else {
            Some(Workers::start().map_err(StartError::Workers)?)
        };
        let mllp = match &mllp_workers {
            Some(w) => crate::mllp::start::start(&shared, w, &budget, mllp_caps, &stop_rx).await?,
            None => None,
        };
        let refill = shared.clone();
        let min_per_sec = refill.load().loaded.config.server.retry_budget_min_per_sec;
        let mut stop_refill = stop_rx.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = tick.tick() => refill.retry.refill(min_per_sec, Duration::from_secs(1)),
                    _ = stop_refill.changed() => return,
                }
            }
        });
        Ok(Gateway {
            shared,
            addrs,
            certs,
            config_path,
            stop,
            accept_tasks,
            graceful,
            workers,
            mllp_workers,
            grace,
            mllp,
            admin,
        })
    }

    /// The bound MLLP listener addresses, in config order (port 0 resolved).
    pub fn mllp_addrs(&self) -> Vec<SocketAddr> {
        self.mllp
            .as_ref()
            .and_then(|m| m.addrs.lock().ok().map(|a| a.clone()))
            .unwrap_or_default()
    }

    /// The MLLP feed counters, when MLLP listeners are configured.
    pub fn mllp_stats(&self) -> Option<&Arc<crate::mllp::FeedStats>> {
        self.mllp.as_ref().map(|m| &m.feed.stats)
    }

    /// The durable MLLP queue's group-commit counters, when it is configured.
    pub fn mllp_queue_batches(&self) -> Option<crate::mllp::queue::BatchSnapshot> {
        let m = self.mllp.as_ref()?;
        m.feed.queue().map(|q| q.batches())
    }

    /// Messages in the durable MLLP queue not yet delivered, when it is
    /// configured.
    pub fn mllp_queue_pending(&self) -> Option<usize> {
        let m = self.mllp.as_ref()?;
        m.feed.queue().map(|q| q.lanes.len())
    }

    /// The admin API's address, when `[admin]` is configured.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(|a| a.local_addr())
    }

    /// The bound addresses, in listener order (port 0 resolved).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The shared state (for reloads and run-time overrides).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The config file this gateway was started from.
    pub fn config_path(&self) -> &std::path::Path {
        &self.config_path
    }

    /// A handle that reloads this gateway (cheap to clone, for watchers).
    pub fn reloader(&self) -> Reloader {
        Reloader {
            shared: self.shared.clone(),
            certs: self.certs.clone(),
            path: self.config_path.clone(),
            mllp: self.mllp.as_ref().map(|m| m.set.clone()),
        }
    }

    /// Reloads config and certificates; on any error the old ones stay.
    pub fn reload(&self, loaded: LoadedConfig) -> Result<u64, SwapError> {
        self.reloader().apply(loaded)
    }

    /// Starts the SIGHUP and file-change watchers; they stop at shutdown.
    pub fn watch_for_reloads(&self) {
        let poll = self.shared.load().loaded.config.server.reload_poll_ms;
        spawn_watchers(self.reloader(), poll, self.stop.subscribe());
    }

    /// Stops accepting, lets in-flight requests finish (up to the grace
    /// period), then returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Some(admin) = self.admin {
            admin.stop().await;
        }
        for t in self.accept_tasks {
            let _ = t.await;
        }
        for t in self.mllp.into_iter().flat_map(|m| m.tasks) {
            let _ = t.await;
        }
        match Arc::try_unwrap(self.graceful) {
            Ok(graceful) => {
                if tokio::time::timeout(self.grace, graceful.shutdown())
                    .await
                    .is_err()
                {
                    tracing::warn!(target: "ehrgate::server", "grace period over; closing remaining connections");
                }
            }
            Err(_) => {
                tracing::warn!(target: "ehrgate::server", "connections still referenced at shutdown");
            }
        }
        // Every connection is drained (or the grace period is over): stop
        // the worker threads without blocking the runtime.
        if let Ok(workers) = Arc::try_unwrap(self.workers) {
            let _ = tokio::task::spawn_blocking(move || workers.stop()).await;
        }
        if let Some(Ok(workers)) = self.mllp_workers.map(Arc::try_unwrap) {
            let _ = tokio::task::spawn_blocking(move || workers.stop()).await;
        }
        let shared = self.shared;
        let _ = tokio::task::spawn_blocking(move || shared.telemetry.flush()).await;
    }
}
