//! The admin listener: its own socket (never one of the proxy's), HTTP/1.1
//! and h2, optional TLS with the same rustls setup as the proxy. It runs on
//! the main runtime, away from the proxy's worker threads, so a busy proxy
//! cannot starve the release manager's rollback and vice versa.
//!
//! It has its own small connection cap ([`ADMIN_MAX_CONNECTIONS`]) and is
//! not counted in the data listeners' file-handle budget: the handles
//! `server.reserved_file_handles` keeps out of their reach are what it
//! answers with when clients hold every connection they may (issue 26).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ehrgate_templates::fault::{Classified, Fault};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::api::{handle, AdminContext};
use super::auth::{TokenError, Tokens};
use super::file_store::FileStore;
use super::release::Release;
use super::store::StoreError;
use crate::runtime::conn_limit::{AcceptBackoff, ConnLimit, FileBudget};
use crate::runtime::Shared;
use crate::tls::{load_certified_key, server_config, ReloadableCert};

/// Why the admin API could not start (the gateway does not start either:
/// a release manager must never find the admin API silently missing).
#[derive(Debug, thiserror::Error)]
pub enum AdminStartError {
    /// A token's secret could not be loaded.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The state store could not be opened or its state applied.
    #[error("admin state: {0}")]
    Store(#[from] StoreError),
    /// The listener could not bind.
    #[error("cannot listen on {addr} (admin): {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// TLS material could not be loaded.
    #[error("admin tls: {0}")]
    Tls(String),
}

impl Classified for AdminStartError {
    fn fault(&self) -> Fault {
        Fault::Internal
    }
    fn code(&self) -> &'static str {
        match self {
            AdminStartError::Token(e) => e.code(),
            AdminStartError::Store(e) => e.code(),
            AdminStartError::Bind { .. } => "admin.bind",
            AdminStartError::Tls(_) => "admin.tls",
        }
    }
}

/// Most open admin connections: a release manager and a few scrapers or
/// scripts; far inside the file handles reserved for it.
pub const ADMIN_MAX_CONNECTIONS: usize = 64;

/// A running admin API.
#[derive(Debug)]
pub struct AdminServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    ctx: Arc<AdminContext>,
}

// === impl AdminServer ===

impl AdminServer {
    /// Restores the stored release state and starts the listener; `None`
    /// when the config has no `[admin]` section.
    pub async fn start(shared: &Arc<Shared>) -> Result<Option<AdminServer>, AdminStartError> {
        let loaded = shared.load().loaded.clone();
        let Some(config) = loaded.config.admin.clone() else {
            return Ok(None);
        };
        let tokens = Tokens::load(&config.tokens, |p| loaded.resolve(p))?;
        let store = FileStore::open(&loaded.resolve(&config.state_file), config.history_limit)?;
        let release = Release::open(shared.clone(), Arc::new(store)).await?;
        let acceptor = match &config.tls {
            Some(tls) => {
                let key = load_certified_key(&loaded.resolve(&tls.cert), &loaded.resolve(&tls.key))
                    .map_err(|e| AdminStartError::Tls(e.to_string()))?;
                let config = server_config(ReloadableCert::new(key))
                    .map_err(|e| AdminStartError::Tls(e.to_string()))?;
                Some(TlsAcceptor::from(config))
            }
            None => None,
        };
        let bind = config.bind.get_ref().clone();
        let bind_err = |source| AdminStartError::Bind {
            addr: bind.clone(),
            source,
        };
        let listener = TcpListener::bind(bind.as_str()).await.map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;
        let ctx = Arc::new(AdminContext {
            shared: shared.clone(),
            release,
            tokens,
            max_body: config.max_body,
        });
        let (stop, stop_rx) = watch::channel(false);
        let limit = ConnLimit::new(
            "admin",
            ADMIN_MAX_CONNECTIONS,
            None,
            FileBudget::fixed(ADMIN_MAX_CONNECTIONS),
            shared.telemetry.metrics.limits.clone(),
        );
        let task = tokio::spawn(accept_loop(listener, acceptor, limit, ctx.clone(), stop_rx));
        tracing::info!(target: "ehrgate::admin", %addr, tls = config.tls.is_some(), "admin API listening");
        Ok(Some(AdminServer {
            addr,
            stop,
            task,
            ctx,
        }))
    }

    /// The bound address (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The release controller (for in-process callers and tests).
    pub fn release(&self) -> &Release {
        &self.ctx.release
    }

    /// Stops accepting and closes admin connections.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    limit: Arc<ConnLimit>,
    ctx: Arc<AdminContext>,
    mut stop: watch::Receiver<bool>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10));
    let builder = Arc::new(builder);
    let mut backoff = AcceptBackoff::new("admin");
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.changed() => return,
            a = listener.accept() => match a {
                Ok(pair) => pair,
                Err(e) => {
                    backoff.failed(&e).await;
                    continue;
                }
            },
        };
        backoff.reset();
        let Ok(permit) = limit.admit(peer.ip()) else {
            drop(stream);
            continue;
        };
        let ctx = ctx.clone();
        let builder = builder.clone();
        let acceptor = acceptor.clone();
        let mut stop_conn = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let svc = service_fn(move |req| handle(ctx.clone(), req));
            match acceptor {
                None => {
                    let conn = builder.serve_connection(TokioIo::new(stream), svc);
                    tokio::select! { _ = conn => {}, _ = stop_conn.changed() => {} }
                }
                Some(acceptor) => {
                    let Ok(Ok(tls)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                            .await
                    else {
                        return;
                    };
                    let conn = builder.serve_connection(TokioIo::new(tls), svc);
                    tokio::select! { _ = conn => {}, _ = stop_conn.changed() => {} }
                }
            }
        });
    }
}
