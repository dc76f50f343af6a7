//! The admin API client the release CLI commands share: one request, JSON
//! in and out, over HTTP or HTTPS (trusting only the CA file given, like
//! the gateway's upstream TLS), with a timeout.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, Context};
use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::Value;

/// How to reach the admin API (flags or environment).
#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    /// Admin API base URL, e.g. `http://127.0.0.1:9901`.
    #[arg(
        long,
        env = "EHRGATE_ADMIN_URL",
        default_value = "http://127.0.0.1:9901"
    )]
    pub admin_url: String,
    /// Bearer token (prefer the environment variable: flags show in `ps`).
    #[arg(long, env = "EHRGATE_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// CA certificate (PEM) that an https:// admin URL's certificate chains to.
    #[arg(long, env = "EHRGATE_ADMIN_CA")]
    pub ca: Option<PathBuf>,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
}

/// An answer: the status and the JSON body.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The body (an error object for 4xx/5xx).
    pub body: Value,
}

impl Reply {
    /// The API's error as one line, when the call failed.
    pub fn error_line(&self) -> Option<String> {
        (self.status >= 400).then(|| {
            format!(
                "{} ({}): {}",
                self.status,
                self.body["error"]["code"].as_str().unwrap_or("?"),
                self.body["error"]["message"].as_str().unwrap_or("")
            )
        })
    }
}

/// Percent-encodes one path segment (route ids and tenants may hold `/`).
pub fn seg(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

/// Sends one request to the admin API.
pub fn call(
    args: &AdminArgs,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Reply> {
    let token = args
        .token
        .as_deref()
        .ok_or_else(|| anyhow!("no admin token: set EHRGATE_ADMIN_TOKEN or pass --token"))?;
    let base = args.admin_url.trim_end_matches('/');
    let uri: http::Uri = format!("{base}{path}")
        .parse()
        .with_context(|| format!("admin URL `{}` is not a URL", args.admin_url))?;
    let mut req = http::Request::builder()
        .method(method)
        .uri(uri.clone())
        .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
        .header(http::header::ACCEPT, "application/json");
    let bytes = match body {
        Some(v) => {
            req = req.header(http::header::CONTENT_TYPE, "application/json");
            Bytes::from(v.to_string())
        }
        None => Bytes::new(),
    };
    let req = req.body(Full::new(bytes)).context("building the request")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let timeout = Duration::from_secs(args.timeout.max(1));
    runtime.block_on(async move {
        let tls = match (&args.ca, uri.scheme_str()) {
            (Some(ca), _) => crate::tls::client_config(ca, None)?,
            (None, Some("https")) => {
                return Err(anyhow!(
                    "an https:// admin URL needs --ca (or EHRGATE_ADMIN_CA)"
                ))
            }
            (None, _) => crate::tls::plain_client_config()?,
        };
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http_connector());
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
        let resp = tokio::time::timeout(timeout, client.request(req))
            .await
            .map_err(|_| anyhow!("no answer from {base} within {}s", timeout.as_secs()))?
            .with_context(|| format!("cannot reach the admin API at {base}"))?;
        let status = resp.status().as_u16();
        let body = tokio::time::timeout(timeout, resp.into_body().collect())
            .await
            .map_err(|_| {
                anyhow!(
                    "the answer from {base} did not finish within {}s",
                    timeout.as_secs()
                )
            })?
            .context("reading the answer")?
            .to_bytes();
        let body = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
        };
        Ok(Reply { status, body })
    })
}

/// A TCP connector that lets https:// through to the TLS layer.
fn http_connector() -> HttpConnector {
    let mut c = HttpConnector::new();
    c.enforce_http(false);
    c
}
