//! The accept loop both backends share and the handle tests hold.
//!
//! Each connection is served by hyper (HTTP/1.1 and h2c); the body is read
//! whole within the backend's limit and the handler runs synchronously.
//! Dropping the [`RefServer`] stops accepting and ends open connections.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::http::{parse_query, split_path, Req, Resp};

/// How long a client may take to send a request body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// What a backend does with requests.
pub(crate) trait Handler: Send + Sync + 'static {
    /// Answers one request below the base path.
    fn handle(&self, req: Req) -> Resp;
    /// A protocol-level refusal (body too large, slow body, path outside
    /// the base, undecodable path) in the backend's error format.
    fn refuse(&self, status: StatusCode, code: &'static str, message: &str) -> Resp;
    /// Counts a request that reached the server, answered or refused.
    fn count_request(&self);
    /// Largest accepted request body.
    fn max_body(&self) -> usize;
}

/// A running reference backend. Stops when dropped.
#[derive(Debug)]
pub struct RefServer<S> {
    /// The bound address (the real port when `:0` was asked for).
    pub addr: SocketAddr,
    /// The base URL clients use, without a trailing slash
    /// (`http://127.0.0.1:PORT/ehrbase/rest/openehr/v1`, `.../fhir`).
    pub base_url: String,
    /// What arrived, what was stored, what was refused and why.
    pub stats: Arc<S>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

// === impl RefServer ===

impl<S> RefServer<S> {
    /// Stops the server (the same as dropping it).
    pub fn shutdown(self) {}
}

impl<S> Drop for RefServer<S> {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.task.abort();
    }
}

/// Binds `addr` and serves `handler` below `base_path` (`/fhir`).
pub(crate) async fn serve<S, H>(
    addr: SocketAddr,
    base_path: &'static str,
    handler: Arc<H>,
    stats: Arc<S>,
) -> std::io::Result<RefServer<S>>
where
    H: Handler,
{
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, base_path, handler, stopped));
    Ok(RefServer {
        addr,
        base_url: format!("http://{addr}{base_path}"),
        stats,
        stop,
        task,
    })
}

async fn accept_loop<H: Handler>(
    listener: TcpListener,
    base_path: &'static str,
    handler: Arc<H>,
    stopped: watch::Receiver<bool>,
) {
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            // Out of descriptors or similar: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let handler = handler.clone();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(dispatch(&*handler, base_path, req).await) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = stopped.wait_for(|s| *s) => {}
            }
        });
    }
}

/// Reads the body within the limit, strips the base path and calls the
/// handler.
async fn dispatch<H: Handler>(handler: &H, base_path: &str, req: Request<Incoming>) -> Resp {
    handler.count_request();
    let (parts, body) = req.into_parts();
    let Some(rest) = parts.uri.path().strip_prefix(base_path) else {
        return handler.refuse(StatusCode::NOT_FOUND, "path.outside-base", "no such path");
    };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return handler.refuse(StatusCode::NOT_FOUND, "path.outside-base", "no such path");
    }
    let Some(segments) = split_path(rest) else {
        return handler.refuse(
            StatusCode::BAD_REQUEST,
            "path.not-utf8",
            "path segment is not UTF-8",
        );
    };
    let max = handler.max_body();
    let read = tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, max).collect()).await;
    let body: Bytes = match read {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return handler.refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request.too-large",
                &format!("request body larger than {max} bytes"),
            );
        }
        Ok(Err(_)) => {
            return handler.refuse(
                StatusCode::BAD_REQUEST,
                "request.body-failed",
                "request body could not be read",
            );
        }
        Err(_) => {
            return handler.refuse(
                StatusCode::REQUEST_TIMEOUT,
                "request.body-timeout",
                "request body took too long",
            );
        }
    };
    handler.handle(Req {
        method: parts.method,
        segments,
        query: parse_query(parts.uri.query().unwrap_or("")),
        headers: parts.headers,
        body,
    })
}
