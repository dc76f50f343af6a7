//! The native engine's connection loop: read a request head, serve it
//! ([`super::exchange`]), repeat while both sides keep the connection
//! alive; hand the connection to hyper (bytes already read replayed first)
//! when a request is one the engine leaves to hyper.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use super::exchange::{self, Next};
use super::prefixed::Prefixed;
use super::request::{self, HeadError, Parsed, RequestHead};
use crate::proxy::error::ProxyError;
use crate::proxy::headers::ClientInfo;
use crate::runtime::state::Shared;

/// How long a request head may take to arrive, idle keep-alive time
/// included (hyper's `header_read_timeout` in `server.rs`).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// First read buffer size.
const INITIAL_BUFFER: usize = 8 * 1024;

/// One client connection served by the native engine.
#[derive(Debug)]
pub struct Conn<I> {
    /// The client IO.
    pub io: I,
    /// Bytes read from the client and not yet used.
    pub buf: BytesMut,
    /// The gateway state.
    pub shared: Arc<Shared>,
    /// The client's address and the forwarding values.
    pub client: Arc<ClientInfo>,
    /// Turns `true` when the gateway shuts down.
    pub stop: watch::Receiver<bool>,
    /// The request head limit.
    pub max_head: usize,
    /// Read buffer for upstream responses (kept across requests).
    pub upstream_buf: BytesMut,
}

/// What hyper needs to take a connection over.
#[derive(Debug)]
pub struct Fallback {
    /// The server builder (HTTP/1.1 + h2).
    pub builder: Arc<auto::Builder<TokioExecutor>>,
    /// Holds the connection in graceful shutdown's count.
    pub watcher: Watcher,
}

// === impl Conn ===

impl<I> Conn<I> {
    /// Whether the gateway is shutting down.
    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }
}

enum ReadHead {
    Head(Box<RequestHead>),
    Fallback(&'static str),
    Bad(HeadError),
    Close,
}

/// Serves a client connection natively until it closes or falls back.
pub async fn serve<I>(
    io: I,
    shared: Arc<Shared>,
    client: Arc<ClientInfo>,
    stop: watch::Receiver<bool>,
    fallback: Fallback,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let max_head = shared.load().loaded.config.server.max_request_head;
    let mut conn = Conn {
        io,
        buf: BytesMut::with_capacity(INITIAL_BUFFER),
        shared,
        client,
        stop,
        max_head,
        upstream_buf: BytesMut::with_capacity(INITIAL_BUFFER),
    };
    let reason = loop {
        let head = match read_head(&mut conn).await {
            ReadHead::Head(head) => head,
            ReadHead::Fallback(reason) => break reason,
            ReadHead::Close => return,
            ReadHead::Bad(e) => {
                let err = match e {
                    HeadError::Malformed => ProxyError::BadRequest,
                    HeadError::TooLarge => ProxyError::HeadTooLarge { limit: max_head },
                    HeadError::Coding(e) => ProxyError::from(e),
                    HeadError::Fragment => {
                        ProxyError::Target(crate::proxy::target::TargetError::Fragment)
                    }
                };
                exchange::refuse_head(&mut conn, &err).await;
                return;
            }
        };
        match exchange::serve(&mut conn, *head).await {
            Next::KeepAlive => {}
            Next::Close => {
                let _ = conn.io.shutdown().await;
                return;
            }
            Next::Fallback => break "facade route or TLS upstream",
        }
    };
    tracing::debug!(target: "ehrgate::server", reason, "HTTP/1.1 connection handed to hyper");
    let Conn {
        io,
        buf,
        shared,
        client,
        ..
    } = conn;
    crate::proxy::server::serve(
        Prefixed::new(buf.freeze(), io),
        fallback.builder,
        fallback.watcher,
        shared,
        client,
    )
    .await;
}

async fn read_head<I: AsyncRead + Unpin>(conn: &mut Conn<I>) -> ReadHead {
    let deadline = tokio::time::Instant::now() + HEADER_READ_TIMEOUT;
    loop {
        if !conn.buf.is_empty() {
            match request::parse(&conn.buf, conn.max_head) {
                Ok(Parsed::Partial) => {}
                Ok(Parsed::Head(head)) => return ReadHead::Head(head),
                Ok(Parsed::Fallback(reason)) => return ReadHead::Fallback(reason),
                Err(e) => return ReadHead::Bad(e),
            }
        }
        let idle = conn.buf.is_empty();
        if idle && conn.stopping() {
            return ReadHead::Close;
        }
        conn.buf.reserve(INITIAL_BUFFER);
        let read = tokio::select! {
            // The read first: a head already on its way never arms the timer.
            biased;
            r = conn.io.read_buf(&mut conn.buf) => r,
            _ = conn.stop.changed(), if idle => return ReadHead::Close,
            _ = tokio::time::sleep_until(deadline) => return ReadHead::Close,
        };
        match read {
            Ok(0) | Err(_) => return ReadHead::Close,
            Ok(_) => {}
        }
    }
}
