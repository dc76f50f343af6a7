//! Starting the MLLP side of a gateway and following reloads: the feed
//! state and one accept loop per `[[mllp_listener]]`, bound before
//! `Gateway::start` returns so a bind failure stops the start like an HTTP
//! listener's would. The durable queue is opened (and what it holds taken
//! back) before the first listener.
//!
//! A supervisor task then follows the gateway's revisions (config reload,
//! admin override changes): it swaps the feed table (facilities, routes,
//! destinations) and reconciles the listeners: one whose address or TLS
//! settings changed is unbound and bound anew, a removed one is unbound, a
//! new one bound. A bind that fails on reload is logged and that listener
//! stays down until a later reload; the others keep serving. Connections
//! already accepted stay open; their next message uses the new table.
//! MLLP must be configured at start for reloads to apply (the feed state,
//! replay window and queue are built then).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::listener;
use super::process::Feed;
use super::queue::DurableQueue;
use crate::config::model::TlsConfig;
use crate::config::model_mllp::MllpListenerConfig;
use crate::config::LoadedConfig;
use crate::proxy::server::StartError;
use crate::proxy::state::SwapError;
use crate::proxy::workers::Workers;
use crate::proxy::Shared;
use crate::tls::{load_certified_key, server_config, ReloadableCert};

/// The running MLLP listeners.
#[derive(Debug)]
pub struct MllpListeners {
    /// The shared feed state (counters included).
    pub feed: Arc<Feed>,
    /// Bound addresses, in config order (updated on reload).
    pub addrs: Arc<Mutex<Vec<SocketAddr>>>,
    /// The supervisor (it ends, after its accept loops, when `stop` turns).
    pub tasks: Vec<JoinHandle<()>>,
}

/// One bound listener.
struct Running {
    bind: String,
    tls: Option<TlsConfig>,
    addr: SocketAddr,
    unbind: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// What the supervisor needs to bind listeners.
struct Ctx {
    feed: Arc<Feed>,
    shared: Arc<Shared>,
    workers: Arc<Workers>,
    stop: watch::Receiver<bool>,
}

/// Binds every MLLP listener of the current config; `None` without any.
pub async fn start(
    shared: &Arc<Shared>,
    workers: &Arc<Workers>,
    stop: &watch::Receiver<bool>,
) -> Result<Option<MllpListeners>, StartError> {
    let snapshot = shared.load();
    let loaded = &snapshot.loaded;
    let config = &loaded.config;
    if config.mllp_listeners.is_empty() {
        return Ok(None);
    }
    let (queue, recovered) = match &config.mllp.queue {
        Some(q) => {
            let window = std::time::Duration::from_millis(config.mllp.replay_window_ms);
            let (queue, recovered) = DurableQueue::open(q, &loaded.resolve(&q.dir), window)?;
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
    let ctx = Ctx {
        feed: feed.clone(),
        shared: shared.clone(),
        workers: workers.clone(),
        stop: stop.clone(),
    };
    let mut running = Vec::new();
    for l in &config.mllp_listeners {
        running.push(ctx.bind(l, loaded).await?);
    }
    let addrs = Arc::new(Mutex::new(running.iter().map(|r| r.addr).collect()));
    let supervisor = tokio::spawn(supervise(ctx, running, addrs.clone()));
    Ok(Some(MllpListeners {
        feed,
        addrs,
        tasks: vec![supervisor],
    }))
}

// === impl Ctx ===

impl Ctx {
    async fn bind(
        &self,
        l: &MllpListenerConfig,
        loaded: &LoadedConfig,
    ) -> Result<Running, StartError> {
        let acceptor = match &l.tls {
            Some(tls) => {
                let key = load_certified_key(&loaded.resolve(&tls.cert), &loaded.resolve(&tls.key))
                    .map_err(|e| SwapError::Tls(e.to_string()))?;
                let config = server_config(ReloadableCert::new(key))
                    .map_err(|e| SwapError::Tls(e.to_string()))?;
                Some(TlsAcceptor::from(config))
            }
            None => None,
        };
        let bind = l.bind.get_ref();
        let bind_err = |source| StartError::Bind {
            addr: bind.clone(),
            source,
        };
        let socket = TcpListener::bind(bind.as_str()).await.map_err(bind_err)?;
        let addr = socket.local_addr().map_err(bind_err)?;
        tracing::info!(target: "ehrgate::mllp", %addr, tls = acceptor.is_some(), "MLLP listening");
        let (unbind, unbind_rx) = watch::channel(false);
        let task = listener::spawn(
            socket,
            acceptor,
            self.feed.clone(),
            self.workers.clone(),
            self.stop.clone(),
            unbind_rx,
        );
        Ok(Running {
            bind: bind.clone(),
            tls: l.tls.clone(),
            addr,
            unbind,
            task,
        })
    }

    /// Brings the running listeners in line with the current config.
    async fn reconcile(&self, running: &mut Vec<Running>) {
        let snap = self.shared.load();
        let wanted = &snap.loaded.config.mllp_listeners;
        let same =
            |r: &Running, l: &MllpListenerConfig| r.bind == *l.bind.get_ref() && r.tls == l.tls;
        // Unbind first, so a listener moving its TLS settings can take
        // its old address again.
        let (keep, drop): (Vec<Running>, Vec<Running>) = std::mem::take(running)
            .into_iter()
            .partition(|r| wanted.iter().any(|l| same(r, l)));
        for r in drop {
            tracing::info!(target: "ehrgate::mllp", addr = %r.addr, "MLLP listener unbound by reload");
            let _ = r.unbind.send(true);
            let _ = r.task.await;
        }
        let mut keep: Vec<Option<Running>> = keep.into_iter().map(Some).collect();
        for l in wanted {
            if let Some(slot) = keep
                .iter_mut()
                .find(|k| k.as_ref().is_some_and(|r| same(r, l)))
            {
                running.extend(slot.take());
                continue;
            }
            match self.bind(l, &snap.loaded).await {
                Ok(r) => running.push(r),
                Err(e) => {
                    tracing::error!(target: "ehrgate::mllp", bind = l.bind.get_ref().as_str(), error = %e, "MLLP listener not bound on reload");
                }
            }
        }
    }
}

async fn supervise(ctx: Ctx, mut running: Vec<Running>, addrs: Arc<Mutex<Vec<SocketAddr>>>) {
    let mut revisions = ctx.shared.subscribe();
    let mut stop = ctx.stop.clone();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            changed = revisions.changed() => {
                if changed.is_err() {
                    break;
                }
                ctx.feed.refresh();
                ctx.reconcile(&mut running).await;
                if let Ok(mut a) = addrs.lock() {
                    *a = running.iter().map(|r| r.addr).collect();
                }
            }
        }
    }
    for r in running {
        let _ = r.unbind.send(true);
        let _ = r.task.await;
    }
}
