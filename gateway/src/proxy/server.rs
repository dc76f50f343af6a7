//! The HTTP listeners: TLS material ([`tls_acceptors`]), binding and the
//! accept loops ([`listen`]), TLS handshakes, the native HTTP/1.1 engine
//! ([`super::h1`]) or hyper's HTTP/1.1 + HTTP/2 connection serving (h2 by
//! ALPN over TLS, h2c by prior knowledge on plain listeners), each
//! connection watched by the graceful shutdown that drains in-flight
//! requests. The composition root (`crate::app`) decides when they start
//! and stop.

use std::net::SocketAddr;
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

use super::forward::handle;
use super::h1;
use super::headers::ClientInfo;
use crate::config::model::{Http1Engine, ListenerConfig};
use crate::config::LoadedConfig;
use crate::runtime::conn_limit::{AcceptBackoff, ConnLimit, FileBudget};
use crate::runtime::state::{Shared, SwapError};
use crate::runtime::workers::Workers;
use crate::tls::{load_certified_key, server_config, ReloadableCert};

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// hyper's smallest allowed `max_buf_size` (it panics below).
const HYPER_MIN_BUFFER: usize = 8192;
/// How long request headers may take to arrive.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A listener that could not bind.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {source}")]
pub struct ListenError {
    /// The address as configured.
    pub addr: String,
    /// The OS error.
    pub source: std::io::Error,
}

/// The TLS acceptors of the HTTP listeners, in listener order, and their
/// reloadable certificates (`None` for a plain listener).
pub type Acceptors = (Vec<Option<TlsAcceptor>>, Vec<Option<Arc<ReloadableCert>>>);

/// Loads every HTTP listener's certificate and key (before anything binds,
/// so bad TLS material stops the start).
pub fn tls_acceptors(loaded: &LoadedConfig) -> Result<Acceptors, SwapError> {
    let mut certs = Vec::new();
    let mut acceptors = Vec::new();
    for l in &loaded.config.listeners {
        match &l.tls {
            Some(tls) => {
                let key = load_certified_key(&loaded.resolve(&tls.cert), &loaded.resolve(&tls.key))
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
    Ok((acceptors, certs))
}

/// What the HTTP listeners share: the state, the worker threads they hand
/// connections to, the file budget, the graceful-shutdown watcher and the
/// stop signal.
#[derive(Debug, Clone)]
pub struct ListenContext {
    /// The gateway's state.
    pub shared: Arc<Shared>,
    /// The worker threads.
    pub workers: Arc<Workers>,
    /// The process's file-handle budget.
    pub budget: Arc<FileBudget>,
    /// Drains connections at shutdown.
    pub graceful: Arc<GracefulShutdown>,
    /// Turns true at shutdown.
    pub stop: watch::Receiver<bool>,
}

/// Binds every HTTP listener (`caps[i]` connections at most on the i-th)
/// and starts its accept loop; returns the bound addresses and the loops.
pub async fn listen(
    listeners: &[ListenerConfig],
    acceptors: Vec<Option<TlsAcceptor>>,
    caps: &[usize],
    ctx: &ListenContext,
) -> Result<(Vec<SocketAddr>, Vec<JoinHandle<()>>), ListenError> {
    let builders = Arc::new(HyperBuilders::new(
        ctx.shared.load().loaded.config.server.max_request_head,
    ));
    let mut addrs = Vec::new();
    let mut accept_tasks = Vec::new();
    for ((l, acceptor), cap) in listeners.iter().zip(acceptors).zip(caps) {
        let bind = l.bind.get_ref();
        let listener = TcpListener::bind(bind.as_str())
            .await
            .map_err(|source| ListenError {
                addr: bind.clone(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ListenError {
            addr: bind.clone(),
            source,
        })?;
        addrs.push(addr);
        tracing::info!(target: "ehrgate::server", %addr, tls = acceptor.is_some(), max_connections = *cap, "listening");
        let limit = ConnLimit::new(
            bind,
            *cap,
            None,
            ctx.budget.clone(),
            ctx.shared.telemetry.metrics.limits.clone(),
        );
        accept_tasks.push(tokio::spawn(accept_loop(
            listener,
            acceptor,
            limit,
            ctx.shared.clone(),
            builders.clone(),
            ctx.graceful.clone(),
            ctx.workers.clone(),
            ctx.stop.clone(),
        )));
    }
    Ok((addrs, accept_tasks))
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
