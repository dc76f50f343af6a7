//! Starting the gateway in front of the reference backends for the
//! end-to-end tests, and a small FHIR client for them.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;

use bytes::Bytes;
use ehrgate::Gateway;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// A gateway started from config text (written to a temp file).
pub struct Gw {
    pub gateway: Gateway,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
    http: Client<HttpConnector, Full<Bytes>>,
}

/// One answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn outcome_code(&self) -> String {
        let v = self.json();
        assert_eq!(v["resourceType"], "OperationOutcome", "{}", self.body);
        v["issue"][0]["details"]["coding"][0]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
}

impl Gw {
    pub async fn start(config: &str) -> Gw {
        Gw::start_with_files(config, &[]).await
    }

    /// Starts with `files` (name, content) written beside the config
    /// (secrets the config names by relative path).
    pub async fn start_with_files(config: &str, files: &[(&str, &str)]) -> Gw {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, config).unwrap();
        let loaded = ehrgate::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let gateway = Gateway::start(loaded).await.unwrap();
        let addr = gateway.local_addrs()[0];
        Gw {
            gateway,
            addr,
            _dir: dir,
            http: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .header("content-type", "application/fhir+json");
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("x-tenant-id"))
        {
            req = req.header("x-tenant-id", "demo");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = self
            .http
            .request(req.body(Full::new(Bytes::from(body.to_owned()))).unwrap())
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
}

/// A gateway config with one openEHR backend behind `/fhir`.
pub fn openehr_config(openehr_url: &str, openehr_extra: &str) -> String {
    format!(
        r#"
[server]
reload_poll_ms = 0
[[listener]]
bind = "127.0.0.1:0"
[[backend]]
name = "cdr"
url = "{openehr_url}"
kind = "openehr"
[backend.openehr]
subject_namespace = "demo-mrn"
{openehr_extra}
[[tenant]]
id = "demo"
[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "cdr"
[[route]]
id = "definition"
path_prefix = "/definition"
stable = "cdr"
"#
    )
}

/// The id in a `Location` (`.../{type}/{id}/_history/{v}`).
pub fn id_of_location(loc: &str) -> String {
    let parts: Vec<&str> = loc.split('/').collect();
    parts[parts.len() - 3].to_owned()
}
