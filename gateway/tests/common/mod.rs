//! Helpers for the proxy's socket tests: a tiny upstream that reports what
//! it received, a gateway started from config text, and an HTTP client.
//! Everything listens on 127.0.0.1 with port 0.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;

use ehrgate::config::load;
use ehrgate::Gateway;

/// A test upstream.
pub struct TestUpstream {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
    stop: watch::Sender<bool>,
}

impl TestUpstream {
    /// Starts on a free port.
    pub async fn start(name: &'static str) -> TestUpstream {
        Self::start_on("127.0.0.1:0".parse().unwrap(), name).await
    }

    /// Starts on a given address (to bring a "dead" upstream back).
    pub async fn start_on(addr: SocketAddr, name: &'static str) -> TestUpstream {
        let listener = bind_retry(addr).await;
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let (stop, stop_rx) = watch::channel(false);
        let h = hits.clone();
        tokio::spawn(async move {
            let mut stop_accept = stop_rx.clone();
            loop {
                let (stream, _) = tokio::select! {
                    _ = stop_accept.changed() => return,
                    a = listener.accept() => match a { Ok(p) => p, Err(_) => continue },
                };
                let h = h.clone();
                let mut stop_conn = stop_rx.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let h = h.clone();
                        async move { Ok::<_, Infallible>(answer(name, &h, req).await) }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc);
                    tokio::select! {
                        _ = conn => {}
                        _ = stop_conn.changed() => {}
                    }
                });
            }
        });
        TestUpstream { addr, hits, stop }
    }

    /// Stops accepting and closes every connection.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for TestUpstream {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn bind_retry(addr: SocketAddr) -> TcpListener {
    for _ in 0..100 {
        if let Ok(l) = TcpListener::bind(addr).await {
            return l;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("cannot bind {addr}");
}

async fn answer(
    name: &'static str,
    hits: &AtomicUsize,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    hits.fetch_add(1, Ordering::SeqCst);
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let mut resp = Response::builder().header("x-upstream", name);
    for (seen, h) in [
        ("x-seen-tenant", "x-tenant-id"),
        ("x-seen-xff", "x-forwarded-for"),
        ("x-seen-forwarded", "forwarded"),
        ("x-seen-proto", "x-forwarded-proto"),
        ("x-seen-request-id", "x-request-id"),
        ("x-seen-secret", "x-secret"),
        ("x-seen-host", "host"),
        ("x-seen-user", "x-user-id"),
        ("x-seen-real-ip", "x-real-ip"),
        ("x-seen-forwarded-host", "x-forwarded-host"),
    ] {
        if let Some(v) = req.headers().get(h) {
            resp = resp.header(seen, v.clone());
        }
    }
    resp = resp.header("x-seen-path", path.clone());
    if path.contains("/slow") {
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    if path.contains("/fail") {
        return resp
            .status(500)
            .body(Full::new(Bytes::from_static(b"fail")))
            .unwrap();
    }
    if let Some((_, n)) = path.split_once("/big/") {
        let n: usize = n.parse().unwrap_or(0);
        return resp.body(Full::new(Bytes::from(vec![b'x'; n]))).unwrap();
    }
    let body = req
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let text = if body.is_empty() {
        name.to_string()
    } else {
        format!("{name} got {} bytes", body.len())
    };
    resp.body(Full::new(Bytes::from(text))).unwrap()
}

/// Writes config text (and any extra files) into a temp dir.
pub struct ConfigDir {
    pub dir: tempfile::TempDir,
}

impl ConfigDir {
    pub fn new(config: &str) -> ConfigDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("gateway.toml"), config).unwrap();
        ConfigDir { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("gateway.toml")
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// Starts a gateway from a config file.
pub async fn start_gateway(path: &Path) -> Gateway {
    let loaded = load(path).unwrap_or_else(|e| panic!("{e}"));
    Gateway::start(loaded).await.unwrap()
}

/// A plain HTTP client with a keep-alive pool.
pub fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

/// What a test needs of a response.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn outcome_code(&self) -> String {
        let v: serde_json::Value = serde_json::from_str(&self.body).unwrap_or_default();
        assert_eq!(v["resourceType"], "OperationOutcome", "{}", self.body);
        v["issue"][0]["details"]["coding"][0]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

/// Sends a request and reads the whole response.
pub async fn send(
    client: &Client<HttpConnector, Full<Bytes>>,
    gw: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Answer {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("http://{gw}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = client
        .request(req.body(Full::new(body)).unwrap())
        .await
        .unwrap();
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// GET with a tenant header.
pub async fn get(
    client: &Client<HttpConnector, Full<Bytes>>,
    gw: SocketAddr,
    path: &str,
    tenant: &str,
) -> Answer {
    send(
        client,
        gw,
        "GET",
        path,
        &[("x-tenant-id", tenant)],
        Bytes::new(),
    )
    .await
}
