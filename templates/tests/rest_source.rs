#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

//! REST source against a tiny EHRbase-like hyper server on 127.0.0.1.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use ehrgate_templates::fault::{Classified, Fault};
use ehrgate_templates::store::{RestConfig, RestSource};
use ehrgate_templates::{TemplateError, TemplateId, TemplateStore};

const BASE: &str = "/ehrbase/rest/openehr/v1/definition/template/adl1.4";

fn corpus_opt(name: &str) -> Bytes {
    Bytes::from(
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../conformance/corpus/openehr/templates")
                .join(name),
        )
        .unwrap(),
    )
}

/// Starts the server; returns its address and the log of request targets.
async fn serve() -> (SocketAddr, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&log);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let seen = Arc::clone(&seen);
                    async move {
                        let target = req.uri().path().to_string();
                        let accept = req
                            .headers()
                            .get(http::header::ACCEPT)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string();
                        seen.lock().unwrap().push((target.clone(), accept));
                        Ok::<_, Infallible>(respond(&target).await)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, log)
}

async fn respond(target: &str) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, body: Bytes| {
        Response::builder()
            .status(status)
            .body(Full::new(body))
            .unwrap()
    };
    match target.strip_prefix(BASE) {
        Some("") => reply(
            StatusCode::OK,
            Bytes::from_static(
                br#"[{"template_id":"K\u00f6rpergr\u00f6\u00dfe","concept":"K\u00f6rpergr\u00f6\u00dfe","archetype_id":"openEHR-EHR-COMPOSITION.registereintrag.v1","created_timestamp":"2024-01-01T00:00:00Z"},{"template_id":"IDCR  - Laboratory Order.v0","concept":"IDCR - Laboratory Order"}]"#,
            ),
        ),
        Some("/K%C3%B6rpergr%C3%B6%C3%9Fe") => reply(StatusCode::OK, corpus_opt("Koerpergroesse.opt")),
        Some("/IDCR%20%20-%20Laboratory%20Order.v0") => {
            reply(StatusCode::OK, corpus_opt("IDCR - Laboratory Order.v0.opt"))
        }
        Some("/garbage") => reply(StatusCode::OK, Bytes::from_static(b"<html>oops</html>")),
        Some("/wrong-id") => reply(StatusCode::OK, corpus_opt("cache.opt")),
        Some("/boom") => reply(StatusCode::INTERNAL_SERVER_ERROR, Bytes::new()),
        Some("/slow") => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            reply(StatusCode::OK, Bytes::new())
        }
        _ => reply(StatusCode::NOT_FOUND, Bytes::new()),
    }
}

fn source(addr: SocketAddr) -> RestSource {
    let mut config = RestConfig::new(format!("http://{addr}/ehrbase/rest/openehr/v1/"));
    config.timeout = Duration::from_millis(500);
    RestSource::new(config)
}

#[tokio::test]
async fn fetches_and_parses_with_percent_encoded_ids() {
    let (addr, log) = serve().await;
    let source = source(addr);
    for id in ["Körpergröße", "IDCR  - Laboratory Order.v0"] {
        let meta = source.get(&TemplateId::new(id)).await.unwrap();
        assert_eq!(meta.template_id.as_str(), id);
    }
    let log = log.lock().unwrap().clone();
    assert!(
        log.iter().all(|(_, accept)| accept == "application/xml"),
        "{log:?}"
    );
}

#[tokio::test]
async fn lists_templates() {
    let (addr, log) = serve().await;
    let list = source(addr).list().await.unwrap();
    let ids: Vec<&str> = list.iter().map(|s| s.template_id.as_str()).collect();
    assert_eq!(ids, ["Körpergröße", "IDCR  - Laboratory Order.v0"]);
    assert_eq!(list[1].concept.as_deref(), Some("IDCR - Laboratory Order"));
    assert_eq!(log.lock().unwrap()[0].1, "application/json");
}

#[tokio::test]
async fn statuses_map_to_faults() {
    let (addr, _) = serve().await;
    let source = source(addr);
    let get = |id: &'static str| {
        let source = source.clone();
        async move { source.get(&TemplateId::new(id)).await.unwrap_err() }
    };

    let e = get("unknown").await;
    assert!(matches!(e, TemplateError::NotFound(_)));
    assert_eq!((e.fault(), e.code()), (Fault::Client, "template.not-found"));

    let e = get("boom").await;
    assert_eq!(
        (e.fault(), e.code()),
        (Fault::Upstream, "template.upstream")
    );

    let e = get("garbage").await;
    assert_eq!(
        (e.fault(), e.code()),
        (Fault::Upstream, "template.invalid-upstream")
    );

    let e = get("wrong-id").await;
    assert_eq!(e.code(), "template.id-mismatch");

    let e = get("slow").await;
    assert_eq!(e.fault(), Fault::Upstream);
    assert!(e.to_string().contains("timed out"), "{e}");
}

#[tokio::test]
async fn connection_refused_is_upstream() {
    // Bind and drop to get a port nobody listens on.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let e = source(addr).get(&TemplateId::new("x")).await.unwrap_err();
    assert_eq!(
        (e.fault(), e.code()),
        (Fault::Upstream, "template.upstream")
    );
}
