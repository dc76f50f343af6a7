//! One upstream backend at run time: its connection pool (hyper-util's
//! legacy client, keep-alive, `TCP_NODELAY`), timeouts and health state.
//!
//! Upstreams outlive routing tables: a reload keeps the `Upstream` of every
//! backend whose settings did not change, so pools stay warm and health
//! state is not forgotten.

use std::sync::Arc;
use std::time::Duration;

use http::uri::{Authority, Scheme};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::body::ProxyBody;
use super::health::HealthState;
use crate::config::model::{BackendConfig, BackendKind};
use crate::runtime::workers::{current_worker, worker_count};

/// The client type every upstream uses (plain or TLS by the URL's scheme).
pub type UpstreamClient = Client<HttpsConnector<HttpConnector>, ProxyBody>;

/// Source of [`Upstream::id`].
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A backend's pool and state.
#[derive(Debug)]
pub struct Upstream {
    /// The backend name.
    pub name: Arc<str>,
    /// What it speaks.
    pub kind: BackendKind,
    /// The config it was built from (to decide reuse on reload).
    pub config: BackendConfig,
    /// `http`.
    pub scheme: Scheme,
    /// `host:port`.
    pub authority: Authority,
    /// Base path prepended to forwarded paths (no trailing slash).
    pub base_path: String,
    /// One pool per worker thread, plus one for control tasks (health
    /// checks); a connection is only ever used by the runtime that made it.
    clients: Box<[UpstreamClient]>,
    /// Time allowed until the response head.
    pub request_timeout: Duration,
    /// Health and outlier state.
    pub health: HealthState,
    /// A digest of the TLS files' contents (CA, client certificate and key)
    /// at build time, so a reload rebuilds the pool when a file was replaced
    /// under the same path (certificate rotation) and keeps it otherwise.
    tls_files: u64,
    /// Unique per built upstream: keys the native engine's per-worker
    /// idle-connection lists (a rebuilt upstream never gets old connections).
    pub id: u64,
    /// Time allowed to connect (native engine).
    pub connect_timeout: Duration,
    /// `host:port` to connect to, port filled in from the scheme.
    pub connect_addr: String,
    /// The `Host` header value for the upstream hop (the port left out
    /// when it is the scheme's default, as hyper's client writes it).
    pub host_header: String,
}

/// Why an upstream could not be built (validation should prevent these).
#[derive(Debug, thiserror::Error)]
#[error("backend `{name}`: {reason}")]
pub struct UpstreamError {
    name: String,
    reason: String,
}

impl ehrgate_templates::fault::Classified for UpstreamError {
    fn fault(&self) -> ehrgate_templates::fault::Fault {
        ehrgate_templates::fault::Fault::Internal
    }
    fn code(&self) -> &'static str {
        "upstream.bad-url"
    }
}

// === impl Upstream ===

impl Upstream {
    /// Builds the pool for a backend; `resolve` turns paths from the config
    /// into paths relative to the config file.
    pub fn new(
        config: &BackendConfig,
        resolve: impl Fn(&std::path::Path) -> std::path::PathBuf,
    ) -> Result<Upstream, UpstreamError> {
        let name = config.name.get_ref().clone();
        let err = |reason: &str| UpstreamError {
            name: name.clone(),
            reason: reason.to_string(),
        };
        let uri: http::Uri = config.url.get_ref().parse().map_err(|_| err("not a URI"))?;
        let parts = uri.into_parts();
        let scheme = parts.scheme.ok_or_else(|| err("no scheme"))?;
        let authority = parts.authority.ok_or_else(|| err("no host"))?;
        let base_path = parts
            .path_and_query
            .map(|p| p.path().trim_end_matches('/').to_string())
            .unwrap_or_default();
        let default_port = if scheme == Scheme::HTTPS { 443 } else { 80 };
        let port = authority.port_u16().unwrap_or(default_port);
        let host = authority.host();
        let connect_addr = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(v6) => format!("[{v6}]:{port}"),
            None => format!("{host}:{port}"),
        };
        let host_header = if port == default_port {
            host.to_owned()
        } else {
            format!("{host}:{port}")
        };
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_millis(config.connect_timeout_ms)));
        connector.set_keepalive(Some(Duration::from_secs(60)));
        connector.enforce_http(false);
        let tls = match &config.tls {
            Some(t) => {
                let client = match (&t.cert, &t.key) {
                    (Some(c), Some(k)) => Some((resolve(c), resolve(k))),
                    _ => None,
                };
                crate::tls::client_config(
                    &resolve(&t.ca),
                    client.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
                )
            }
            None => crate::tls::plain_client_config(),
        }
        .map_err(|e| err(&e.to_string()))?;
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let clients = (0..=worker_count())
            .map(|_| {
                Client::builder(TokioExecutor::new())
                    .pool_timer(TokioTimer::new())
                    .pool_idle_timeout(Duration::from_secs(60))
                    .pool_max_idle_per_host(1024)
                    .build(https.clone())
            })
            .collect();
        Ok(Upstream {
            name: Arc::from(name.as_str()),
            kind: config.kind,
            config: config.clone(),
            scheme,
            authority,
            base_path,
            clients,
            request_timeout: Duration::from_millis(config.request_timeout_ms),
            health: HealthState::new(&config.outlier),
            tls_files: tls_files_digest(config, &resolve),
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            connect_timeout: Duration::from_millis(config.connect_timeout_ms),
            connect_addr,
            host_header,
        })
    }

    /// The pool of the worker thread we run on (or the control pool).
    pub fn client(&self) -> &UpstreamClient {
        let i = current_worker().unwrap_or(usize::MAX);
        match self.clients.get(i) {
            Some(c) => c,
            None => &self.clients[self.clients.len() - 1],
        }
    }

    /// The URI for a forwarded path and query.
    pub fn uri_for(&self, path: &str, query: Option<&str>) -> Result<http::Uri, http::Error> {
        self.uri_from(self.path_and_query(path, query))
    }

    /// The upstream's base path + `path` + `?query`: the request target
    /// written on the upstream hop.
    pub fn path_and_query(&self, path: &str, query: Option<&str>) -> String {
        let mut pq = String::with_capacity(
            self.base_path.len() + path.len() + query.map_or(0, |q| q.len() + 1) + 1,
        );
        pq.push_str(&self.base_path);
        if !path.starts_with('/') {
            pq.push('/');
        }
        pq.push_str(path);
        if let Some(q) = query {
            pq.push('?');
            pq.push_str(q);
        }
        pq
    }

    /// The absolute URI for a target from [`Upstream::path_and_query`].
    pub fn uri_from(&self, path_and_query: String) -> Result<http::Uri, http::Error> {
        http::Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
    }

    /// Whether the same settings would build the same upstream: the same
    /// config and the same contents of the TLS files it names.
    pub fn same_config(
        &self,
        other: &BackendConfig,
        resolve: impl Fn(&std::path::Path) -> std::path::PathBuf,
    ) -> bool {
        &self.config == other && self.tls_files == tls_files_digest(other, &resolve)
    }
}

/// Hashes the contents of the TLS files a backend names (0 without TLS). A
/// file that cannot be read hashes as a marker of its own, so it differs
/// from any readable content and a rebuild reports the real error.
pub(crate) fn tls_files_digest(
    config: &BackendConfig,
    resolve: &impl Fn(&std::path::Path) -> std::path::PathBuf,
) -> u64 {
    use std::hash::{Hash, Hasher};
    let Some(t) = &config.tls else {
        return 0;
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for path in std::iter::once(&t.ca)
        .chain(t.cert.iter())
        .chain(t.key.iter())
    {
        match std::fs::read(resolve(path)) {
            Ok(bytes) => bytes.hash(&mut h),
            Err(_) => u8::MAX.hash(&mut h),
        }
    }
    h.finish()
}
