//! The listeners: accept loops, TLS handshakes, the native HTTP/1.1 engine
//! ([`super::h1`]) or hyper's HTTP/1.1 + HTTP/2 connection serving (h2 by ALPN over TLS, h2c by prior knowledge on plain
//! listeners), and graceful shutdown that drains in-flight requests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::conn_limit::{AcceptBackoff, ConnLimit, FileBudget};
use super::forward::handle;
use super::h1;
use super::headers::ClientInfo;
use super::reload::{spawn_watchers, Reloader};
use crate::runtime::state::{Shared, SwapError};
use crate::runtime::workers::Workers;
use crate::config::model::Http1Engine;
use crate::config::LoadedConfig;
use crate::tls::{load_certified_key, server_config, ReloadableCert};

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// hyper's smallest allowed `max_buf_size` (it panics below).
const HYPER_MIN_BUFFER: usize = 8192;
/// How long request headers may take to arrive.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// The MLLP durable queue could not be opened.
    #[error(transparent)]
    MllpQueue(#[from] crate::mllp::queue::QueueError),
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
            StartError::MllpQueue(e) => e.code(),
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
        let mut certs = Vec::new();
        let mut acceptors = Vec::new();
        for l in &listeners {
            match &l.tls {
                Some(tls) => {
                    let key =
                        load_certified_key(&loaded.resolve(&tls.cert), &loaded.resolve(&tls.key))
                            .map_err(|e| SwapError::Tls(e.to_string()))?;
                    let cert = ReloadableCert::new(key);
                    let config =
                        server_config(cert.clone()).map_err(|e| SwapError::Tls(e.to_string()))?;
                    acceptors.push(Some(TlsAcceptor::from(config)));
                    certs.push(Some(cert));
                }
                None => {
                    acceptors.push(None);
                    certs.push(None);
                }
            }
        }
        let telemetry = crate::telemetry::Telemetry::from_config(&loaded.config.telemetry, |p| {
            loaded.resolve(p)
        })?;
        let shared = Shared::with_telemetry(loaded, Arc::new(telemetry))?;
        // Restores the stored release state before any proxy listener binds.
        let admin = crate::admin::AdminServer::start(&shared).await?;
        let (stop, stop_rx) = watch::channel(false);
        let graceful = Arc::new(GracefulShutdown::new());
        let builders = Arc::new(HyperBuilders::new(
            shared.load().loaded.config.server.max_request_head,
        ));
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
        let caps = super::conn_limit::fair_shares(budget.max(), &wanted);
        if caps != wanted {
            tracing::warn!(target: "ehrgate::server", budget = budget.max(), ?wanted, ?caps, "listener max_connections exceed the file-handle budget; caps lowered to fair shares");
        }
        let (http_caps, mllp_caps) = caps.split_at(listeners.len().min(caps.len()));
        let mut addrs = Vec::new();
        let mut accept_tasks = Vec::new();
        for ((l, acceptor), cap) in listeners.iter().zip(acceptors).zip(http_caps) {
            let bind = l.bind.get_ref();
            let listener =
                TcpListener::bind(bind.as_str())
                    .await
                    .map_err(|source| StartError::Bind {
                        addr: bind.clone(),
                        source,
                    })?;
            let addr = listener.local_addr().map_err(|source| StartError::Bind {
                addr: bind.clone(),
                source,
            })?;
            addrs.push(addr);
            tracing::info!(target: "ehrgate::server", %addr, tls = acceptor.is_some(), max_connections = *cap, "listening");
            let limit = ConnLimit::new(
                bind,
                *cap,
                None,
                budget.clone(),
                shared.telemetry.metrics.limits.clone(),
            );
            accept_tasks.push(tokio::spawn(accept_loop(
                listener,
                acceptor,
                limit,
                shared.clone(),
                builders.clone(),
                graceful.clone(),
                workers.clone(),
                stop_rx.clone(),
            )));
        }
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

#[allow(clippy::too_many_arguments)]
async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    limit: Arc<ConnLimit>,
    shared: Arc<Shared>,
    builders: Arc<HyperBuilders>,
    graceful: Arc<GracefulShutdown>,
    workers: Arc<Workers>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = AcceptBackoff::new("http");
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    backoff.failed(&e).await;
                    continue;
                }
            },
        };
        backoff.reset();
        // Over a limit: closed at once, before any byte is read (see
        // `conn_limit` for why not a 503).
        let Ok(permit) = limit.admit(peer.ip()) else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        // Move the socket to a worker thread's runtime (it registers there).
        let Ok(stream) = stream.into_std() else {
            continue;
        };
        let watcher = graceful.watcher();
        let shared = shared.clone();
        // The head limit as it is now: a reload applies to new connections.
        let builder = builders.get(shared.load().loaded.config.server.max_request_head);
        let acceptor = acceptor.clone();
        let stop = stop.clone();
        workers.dispatch(Box::new(move || {
            Box::pin(async move {
                let _permit = permit;
                let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
                    return;
                };
                let native = shared.load().loaded.config.server.http1_engine == Http1Engine::Native;
                match acceptor {
                    None => {
                        let client = Arc::new(ClientInfo::new(peer, false));
                        if native {
                            let fallback = h1::Fallback { builder, watcher };
                            h1::serve(stream, shared, client, stop, fallback).await;
                        } else {
                            serve(stream, builder, watcher, shared, client).await;
                        }
                    }
                    Some(acceptor) => {
                        let client = Arc::new(ClientInfo::new(peer, true));
                        let Ok(Ok(tls)) =
                            tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                        else {
                            return;
                        };
                        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
                        if native && !h2 {
                            let fallback = h1::Fallback { builder, watcher };
                            h1::serve(tls, shared, client, stop, fallback).await;
                        } else {
                            serve(tls, builder, watcher, shared, client).await;
                        }
                    }
                }
            })
        }));
    }
}

/// Serves a connection with hyper (HTTP/1.1 and h2 by ALPN or preface).
pub(crate) async fn serve<I>(
    io: I,
    builder: Arc<auto::Builder<TokioExecutor>>,
    watcher: hyper_util::server::graceful::Watcher,
    shared: Arc<Shared>,
    client: Arc<ClientInfo>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let max_head = hyper_buffer(shared.load().loaded.config.server.max_request_head);
    let io = super::framing_guard::Guarded::new(io, max_head);
    let conn = builder.serve_connection(TokioIo::new(io), service(shared, client));
    let _ = watcher.watch(conn.into_owned()).await;
}

/// hyper's read buffer for a head limit: a head over it is answered 431 by
/// hyper, never buffered whole. hyper's floor is 8 KiB; `head_limit::check`
/// is exact above and below it.
fn hyper_buffer(max_head: usize) -> usize {
    max_head.max(HYPER_MIN_BUFFER)
}

/// hyper's server builder for the current `max_request_head`. The limit
/// is fixed in a builder, so a reload that changes it makes a new one
/// (for connections accepted from then on; open ones keep theirs).
#[derive(Debug)]
struct HyperBuilders {
    current: ArcSwap<(usize, Arc<auto::Builder<TokioExecutor>>)>,
}

impl HyperBuilders {
    fn new(max_head: usize) -> Self {
        HyperBuilders {
            current: ArcSwap::from_pointee((max_head, Arc::new(hyper_builder(max_head)))),
        }
    }

    /// The builder for `max_head` (made once per change of the limit).
    fn get(&self, max_head: usize) -> Arc<auto::Builder<TokioExecutor>> {
        let cur = self.current.load();
        if cur.0 == max_head {
            return cur.1.clone();
        }
        let builder = Arc::new(hyper_builder(max_head));
        self.current.store(Arc::new((max_head, builder.clone())));
        builder
    }
}

fn hyper_builder(max_head: usize) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .max_buf_size(hyper_buffer(max_head))
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    builder
}

fn service(
    shared: Arc<Shared>,
    client: Arc<ClientInfo>,
) -> impl hyper::service::Service<
    http::Request<hyper::body::Incoming>,
    Response = http::Response<super::logged_body::LoggedBody>,
    Error = std::convert::Infallible,
    Future = impl std::future::Future<
        Output = Result<http::Response<super::logged_body::LoggedBody>, std::convert::Infallible>,
    > + Send,
> + Clone {
    service_fn(move |req| handle(shared.clone(), client.clone(), req))
}
