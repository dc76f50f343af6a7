//! Starting the MLLP side of a gateway: the feed state and one accept loop
//! per `[[mllp_listener]]`, bound before `Gateway::start` returns so a bind
//! failure stops the start like an HTTP listener's would. The durable queue
//! is opened (and what it holds taken back) before the first listener.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::listener;
use super::process::Feed;
use super::queue::DurableQueue;
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
    /// Bound addresses, in config order.
    pub addrs: Vec<SocketAddr>,
    /// Accept loops (they end when `stop` turns true).
    pub tasks: Vec<JoinHandle<()>>,
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
    let feed = Arc::new(Feed::new(config, shared.clone(), queue, stop.clone()));
    if let Some(recovered) = recovered {
        feed.resume(recovered);
    }
    let mut addrs = Vec::new();
    let mut tasks = Vec::new();
    for l in &config.mllp_listeners {
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
        addrs.push(addr);
        tasks.push(listener::spawn(
            socket,
            acceptor,
            feed.clone(),
            workers.clone(),
            stop.clone(),
        ));
    }
    Ok(Some(MllpListeners { feed, addrs, tasks }))
}
