//! `[telemetry] otlp_endpoint`: `ehrgate serve` exports one span per request
//! over OTLP/HTTP (protobuf) to a collector on 127.0.0.1, and the exported
//! spans carry no identifier from the request's path or query.

#![cfg(feature = "otlp")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::convert::Infallible;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use common::{client, get, ConfigDir, TestUpstream};

type Seen = Arc<Mutex<Vec<(String, String, Bytes)>>>;

/// A stand-in collector: records every request, answers 200.
async fn collector() -> (std::net::SocketAddr, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let s = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let s = s.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let s = s.clone();
                    async move {
                        let path = req.uri().path().to_string();
                        let ct = req
                            .headers()
                            .get("content-type")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string();
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        s.lock().unwrap().push((path, ct, body));
                        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::new())))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_exports_request_spans_over_otlp_http() {
    let up = TestUpstream::start("legacy").await;
    let (col, seen) = collector().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = ConfigDir::new(&format!(
        r#"
[server]
reload_poll_ms = 0

[[listener]]
bind = "127.0.0.1:{port}"

[[backend]]
name = "legacy"
url = "{}"
kind = "fhir"

[[tenant]]
id = "acme"

[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "legacy"

[telemetry]
access_log = "off"
otlp_endpoint = "http://{col}"
service_name = "ehrgate-otlp-test"
"#,
        up.url()
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ehrgate"))
        .args(["serve", "--config"])
        .arg(dir.path())
        .env("EHRGATE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut ready = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "gateway did not start");
    for _ in 0..3 {
        let a = get(
            &client(),
            addr,
            "/fhir/Patient/PATID4455667?identifier=MRN7788990",
            "acme",
        )
        .await;
        assert_eq!(a.status, 200);
    }
    // SIGTERM: graceful shutdown flushes the batch exporter.
    let ok = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(ok.success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");

    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty(), "no export reached the collector");
    let body: Vec<u8> = seen.iter().flat_map(|(_, _, b)| b.to_vec()).collect();
    for (path, ct, _) in &seen {
        assert_eq!(path, "/v1/traces");
        assert_eq!(ct, "application/x-protobuf");
    }
    let has = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"ehrgate-otlp-test"), "service name exported");
    assert!(has(b"request"), "span name exported");
    assert!(
        has(b"acme") && has(b"fhir"),
        "tenant and route recorded on the span"
    );
    assert!(
        !has(b"PATID4455667") && !has(b"MRN7788990"),
        "no identifiers in spans"
    );
}
