//! Starting the MLLP side of a gateway and applying reloads: the feed
//! state and one accept loop per `[[mllp_listener]]`, bound before
//! `Gateway::start` (`crate::app`) returns so a bind failure stops the start like an HTTP
//! listener's would. The durable queue is opened (and what it holds taken
//! back) before the first listener.
//!
//! A config reload goes through [`ListenerSet::apply`], inside the
//! gateway's reload and before the new revision is swapped in, so what can
//! fail fails the reload (the error is the reload's result, nothing
//! changes): every listener certificate and key is read again (a file
//! replaced under the same path is in force after the reload, as on the
//! HTTP listeners), every MLLP destination's TLS material is loaded, and
//! every new address is bound. Only then is the revision swapped, after
//! which the set is brought in line: a listener whose address is gone is
//! unbound, one whose address is new starts accepting on the socket bound
//! above, one whose address stays keeps its socket and takes the new TLS
//! acceptor (or none). Listeners are identified by their `bind` string.
//! Connections already accepted stay open; their next message uses the new
//! feed table, which is swapped before the reload returns.
//!
//! A supervisor task follows the other revision changes (admin overrides)
//! by rebuilding the feed table, and unbinds everything at stop. MLLP must
//! be configured at start for reloads to apply (the feed state, replay
//! window and queue are built then).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwapOption;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::listener;
use super::process::Feed;
use super::queue::DurableQueue;
use super::stream::DestinationTls;
use crate::config::model::{BackendKind, TlsConfig};
use crate::config::model_mllp::MllpListenerConfig;
use crate::config::LoadedConfig;
use crate::runtime::conn_limit::{ConnLimit, FileBudget};
use crate::runtime::state::SwapError;
use crate::runtime::workers::Workers;
use crate::runtime::Shared;
use crate::tls::{load_certified_key, server_config, ReloadableCert};

/// Why the MLLP side could not start (the gateway's start fails with it).
#[derive(Debug, thiserror::Error)]
pub enum MllpStartError {
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The durable queue could not be opened.
    #[error(transparent)]
    Queue(#[from] super::queue::QueueError),
    /// TLS material (a listener's or a destination's) failed to load.
    #[error(transparent)]
    Swap(#[from] SwapError),
}

impl ehrgate_templates::fault::Classified for MllpStartError {
    fn fault(&self) -> ehrgate_templates::fault::Fault {
        ehrgate_templates::fault::Fault::Internal
    }
    fn code(&self) -> &'static str {
        match self {
            MllpStartError::Bind { .. } => "listener.bind",
            MllpStartError::Queue(e) => ehrgate_templates::fault::Classified::code(e),
            MllpStartError::Swap(e) => ehrgate_templates::fault::Classified::code(e),
        }
    }
}

/// The running MLLP listeners.
#[derive(Debug)]
pub struct MllpListeners {
    /// The shared feed state (counters included).
    pub feed: Arc<Feed>,
    /// Bound addresses, in config order (updated on reload).
    pub addrs: Arc<Mutex<Vec<SocketAddr>>>,
    /// The supervisor (it ends, after its accept loops, when `stop` turns).
    pub tasks: Vec<JoinHandle<()>>,
    /// The listeners, for reloads.
    pub set: Arc<ListenerSet>,
}

/// One bound listener.
struct Running {
    bind: String,
    addr: SocketAddr,
    /// The TLS acceptor new connections get (swapped by reloads).
    acceptor: Arc<ArcSwapOption<TlsAcceptor>>,
    /// The connection caps (changed in place by reloads).
    limit: Arc<ConnLimit>,
    unbind: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The bound listeners and what binding more needs.
pub struct ListenerSet {
    feed: Arc<Feed>,
    workers: Arc<Workers>,
    /// The process's file-handle budget, shared with the HTTP listeners.
    budget: Arc<FileBudget>,
    stop: watch::Receiver<bool>,
    /// The runtime the accept loops run on (reloads may come from a
    /// thread outside it).
    runtime: tokio::runtime::Handle,
    running: Mutex<Vec<Running>>,
    /// Accept loops unbound by reloads, awaited at stop.
    retired: Mutex<Vec<JoinHandle<()>>>,
    addrs: Arc<Mutex<Vec<SocketAddr>>>,
    /// One reload at a time from preparation to commit.
    reloading: Mutex<()>,
}

impl std::fmt::Debug for ListenerSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerSet")
            .field("addrs", &self.addrs)
            .finish_non_exhaustive()
    }
}

/// What a reload will change, prepared before the swap.
struct Plan {
    /// Per wanted listener, in config order: its config, its acceptor and,
    /// for a new address, the socket already bound.
    wanted: Vec<(
        MllpListenerConfig,
        Option<TlsAcceptor>,
        Option<std::net::TcpListener>,
    )>,
}

/// Binds every MLLP listener of the current config; `None` without any.
pub async fn start(
    shared: &Arc<Shared>,
    workers: &Arc<Workers>,
    budget: &Arc<FileBudget>,
    caps: &[usize],
    stop: &watch::Receiver<bool>,
) -> Result<Option<MllpListeners>, MllpStartError> {
    let snapshot = shared.load();
    let loaded = &snapshot.loaded;
    let config = &loaded.config;
    if config.mllp_listeners.is_empty() {
        return Ok(None);
    }
    let (queue, recovered) = match &config.mllp.queue {
        Some(q) => {
            let window = std::time::Duration::from_millis(config.mllp.replay_window_ms);
            let limits = &shared.telemetry.metrics.limits;
            let gauges = super::queue::space::DiskGauges {
                full: limits.queue_disk_full.clone(),
                full_total: limits.queue_disk_full_total.clone(),
            };
            let (queue, recovered) =
                DurableQueue::open_with(q, &loaded.resolve(&q.dir), window, gauges)?;
            (Some(queue), Some(recovered))
        }
        None => (None, None),
    };
    let feed = Feed::new(loaded, shared.clone(), queue, stop.clone())
        .map_err(|e| SwapError::Tls(e.to_string()))?;
    let feed = Arc::new(feed);
    if let Some(recovered) = recovered {
        feed.resume(recovered);
    }
    let set = Arc::new(ListenerSet {
        feed: feed.clone(),
        workers: workers.clone(),
        budget: budget.clone(),
        stop: stop.clone(),
        runtime: tokio::runtime::Handle::current(),
        running: Mutex::new(Vec::new()),
        retired: Mutex::new(Vec::new()),
        addrs: Arc::new(Mutex::new(Vec::new())),
        reloading: Mutex::new(()),
    });
    let mut running = Vec::new();
    for (i, l) in config.mllp_listeners.iter().enumerate() {
        let bind = l.bind.get_ref();
        let cap = caps.get(i).copied().unwrap_or_else(|| l.max_connections());
        let acceptor = acceptor(l.tls.as_ref(), loaded)?;
        let socket =
            TcpListener::bind(bind.as_str())
                .await
                .map_err(|source| MllpStartError::Bind {
                    addr: bind.clone(),
                    source,
                })?;
        running.push(set.spawn(l, cap, socket, acceptor)?);
    }
    set.install(running);
    let supervisor = tokio::spawn(supervise(shared.clone(), set.clone()));
    Ok(Some(MllpListeners {
        feed,
        addrs: set.addrs.clone(),
        tasks: vec![supervisor],
        set,
    }))
}

/// A TLS acceptor from the listener's certificate and key files, read now.
fn acceptor(
    tls: Option<&TlsConfig>,
    loaded: &LoadedConfig,
) -> Result<Option<TlsAcceptor>, SwapError> {
    let Some(tls) = tls else {
        return Ok(None);
    };
    let key = load_certified_key(&loaded.resolve(&tls.cert), &loaded.resolve(&tls.key))
        .map_err(|e| SwapError::Tls(e.to_string()))?;
    let config =
        server_config(ReloadableCert::new(key)).map_err(|e| SwapError::Tls(e.to_string()))?;
    Ok(Some(TlsAcceptor::from(config)))
}

// === impl ListenerSet ===

impl ListenerSet {
    /// Starts the accept loop of a bound socket.
    /// `cap` is the listener's `max_connections` fitted into the file
    /// budget at start ([`crate::runtime::conn_limit::fair_shares`]); a
    /// listener added by a reload gets its own, at most the budget.
    fn spawn(
        &self,
        l: &MllpListenerConfig,
        cap: usize,
        socket: TcpListener,
        acceptor: Option<TlsAcceptor>,
    ) -> Result<Running, MllpStartError> {
        let bind = l.bind.get_ref().as_str();
        let addr = socket.local_addr().map_err(|source| MllpStartError::Bind {
            addr: bind.to_string(),
            source,
        })?;
        tracing::info!(target: "ehrgate::mllp", %addr, tls = acceptor.is_some(), max_connections = cap, max_connections_per_source = l.max_connections_per_source(), "MLLP listening");
        let limit = ConnLimit::new(
            bind,
            cap,
            Some(l.max_connections_per_source()),
            self.budget.clone(),
            self.feed.limits().clone(),
        );
        let acceptor = Arc::new(ArcSwapOption::from(acceptor.map(Arc::new)));
        let (unbind, unbind_rx) = watch::channel(false);
        let task = listener::spawn(
            socket,
            acceptor.clone(),
            limit.clone(),
            self.feed.clone(),
            self.workers.clone(),
            self.stop.clone(),
            unbind_rx,
        );
        Ok(Running {
            bind: bind.to_string(),
            addr,
            acceptor,
            limit,
            unbind,
            task,
        })
    }

    fn install(&self, running: Vec<Running>) {
        if let Ok(mut a) = self.addrs.lock() {
            *a = running.iter().map(|r| r.addr).collect();
        }
        if let Ok(mut r) = self.running.lock() {
            *r = running;
        }
    }

    /// Applies a reload: prepares the listeners of `loaded` (certificates,
    /// destination TLS, new sockets), calls `swap` (the gateway's own
    /// reload, which swaps the revision), then brings the listeners in line
    /// and swaps the feed table. Any failure before or in `swap` is
    /// returned and changes nothing here.
    pub fn apply(
        &self,
        loaded: LoadedConfig,
        swap: impl FnOnce(LoadedConfig) -> Result<u64, SwapError>,
    ) -> Result<u64, SwapError> {
        let Ok(_one) = self.reloading.lock() else {
            return Err(SwapError::Tls("MLLP listener state poisoned".into()));
        };
        let plan = self.prepare(&loaded)?;
        let revision = swap(loaded)?;
        // New senders start health checks: spawn them on our runtime.
        let _in_runtime = self.runtime.enter();
        self.commit(plan);
        self.feed.refresh();
        Ok(revision)
    }

    fn prepare(&self, loaded: &LoadedConfig) -> Result<Plan, SwapError> {
        for b in &loaded.config.backends {
            if b.kind == BackendKind::Hl7v2Mllp {
                DestinationTls::of(b, loaded).map_err(|e| {
                    SwapError::Tls(format!("MLLP backend `{}`: {e}", b.name.get_ref()))
                })?;
            }
        }
        let bound: Vec<String> = self
            .running
            .lock()
            .map(|r| r.iter().map(|r| r.bind.clone()).collect())
            .unwrap_or_default();
        let mut wanted = Vec::new();
        for l in &loaded.config.mllp_listeners {
            let bind = l.bind.get_ref().clone();
            let acceptor = acceptor(l.tls.as_ref(), loaded)?;
            let socket = if bound.contains(&bind) {
                None
            } else {
                let bind_err = |e: std::io::Error| SwapError::Bind {
                    addr: bind.clone(),
                    reason: e.to_string(),
                };
                let s = std::net::TcpListener::bind(bind.as_str()).map_err(bind_err)?;
                s.set_nonblocking(true).map_err(bind_err)?;
                Some(s)
            };
            wanted.push((l.clone(), acceptor, socket));
        }
        Ok(Plan { wanted })
    }

    fn commit(&self, plan: Plan) {
        let Ok(mut running) = self.running.lock() else {
            return;
        };
        let mut old: Vec<Option<Running>> = std::mem::take(&mut *running)
            .into_iter()
            .map(Some)
            .collect();
        for (l, acceptor, socket) in plan.wanted {
            let bind = l.bind.get_ref().clone();
            match socket {
                None => {
                    let kept = old
                        .iter_mut()
                        .find(|r| r.as_ref().is_some_and(|r| r.bind == bind))
                        .and_then(Option::take);
                    if let Some(r) = kept {
                        r.acceptor.store(acceptor.map(Arc::new));
                        r.limit.set_caps(
                            l.max_connections().min(self.budget.max()),
                            Some(l.max_connections_per_source()),
                        );
                        running.push(r);
                    }
                }
                Some(socket) => {
                    let spawned = TcpListener::from_std(socket)
                        .map_err(|source| MllpStartError::Bind {
                            addr: bind.clone(),
                            source,
                        })
                        .and_then(|s| {
                            let cap = l.max_connections().min(self.budget.max());
                            self.spawn(&l, cap, s, acceptor)
                        });
                    match spawned {
                        Ok(r) => running.push(r),
                        // Registering a bound socket with the runtime does
                        // not fail short of running out of file handles.
                        Err(e) => {
                            tracing::error!(target: "ehrgate::mllp", bind = bind.as_str(), error = %e, "MLLP listener not started on reload");
                        }
                    }
                }
            }
        }
        for r in old.into_iter().flatten() {
            tracing::info!(target: "ehrgate::mllp", addr = %r.addr, "MLLP listener unbound by reload");
            let _ = r.unbind.send(true);
            if let Ok(mut retired) = self.retired.lock() {
                retired.push(r.task);
            }
        }
        if let Ok(mut a) = self.addrs.lock() {
            *a = running.iter().map(|r| r.addr).collect();
        }
    }

    /// Unbinds everything and waits for the accept loops.
    async fn close(&self) {
        let running = self
            .running
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        let mut tasks = self
            .retired
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        for r in running {
            let _ = r.unbind.send(true);
            tasks.push(r.task);
        }
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// Follows revision changes that do not go through a reload (admin
/// overrides) until the gateway stops, then unbinds the listeners.
async fn supervise(shared: Arc<Shared>, set: Arc<ListenerSet>) {
    let mut revisions = shared.subscribe();
    let mut stop = set.stop.clone();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            changed = revisions.changed() => {
                if changed.is_err() {
                    break;
                }
                set.feed.refresh();
            }
        }
    }
    set.close().await;
}
