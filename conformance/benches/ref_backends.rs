//! What the reference backends cost per request, as ratios against peers
//! measured in the same run:
//!
//! - `openehr_create_read`: POST a canonical composition (template check)
//!   then GET it, against the reference openEHR backend and against a bare
//!   hyper server answering the same statuses and bodies (the HTTP floor).
//! - `fhir_create`: POST an Observation with schema validation on and off
//!   (the same server): the share of a write that validation costs.
//! - `aql_search`: the facade's search query over 200 stored compositions
//!   against a GET of one composition on the same server.
//!
//! Run: `cargo bench -p ehrgate-conformance --bench ref_backends`.
//!
//! Measured 2026-11-24 on the shared 2-core machine (load average ~11, so
//! only the ratios mean anything): openEHR create+read 756 µs vs bare
//! hyper 262 µs (2.9x the HTTP floor); FHIR create validated 343 µs vs
//! not validated 223 µs (validation ~35 % of a write); AQL search over 200
//! compositions 3.2 ms vs one GET 0.22 ms (14.5x; 97x before rows were
//! projected after LIMIT).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use ehrgate_conformance::corpus_dir;
use ehrgate_conformance::reference::fhir::{self, FhirConfig};
use ehrgate_conformance::reference::openehr::{self, OpenEhrConfig};
use ehrgate_mappers::fhirconnect::canonical::CanonicalDefaults;
use ehrgate_mappers::fhirconnect::shipped::find;
use ehrgate_mappers::fhirconnect::translators::{FhirToOpenEhr, OpenEhrFormat};
use ehrgate_mappers::translation::Translator;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use tokio::runtime::Runtime;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

async fn send(c: &HttpClient, method: Method, url: &str, body: Bytes) -> (StatusCode, Bytes) {
    let req = Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(body))
        .unwrap();
    let resp = c.request(req).await.unwrap();
    let status = resp.status();
    (status, resp.into_body().collect().await.unwrap().to_bytes())
}

/// Creates an EHR and returns its id (from the ETag).
async fn new_ehr(c: &HttpClient, base: &str) -> String {
    let req = Request::post(format!("{base}/ehr"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = c.request(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    resp.headers()["etag"]
        .to_str()
        .unwrap()
        .trim_matches('"')
        .to_owned()
}

fn heart_rate_composition() -> Value {
    let fhir: Value = serde_json::from_slice(
        &std::fs::read(corpus_dir().join("fhir/examples/Observation-heart-rate.json")).unwrap(),
    )
    .unwrap();
    let engine = find("EHRN Vital signs.v2").unwrap().engine().unwrap();
    FhirToOpenEhr {
        engine: &engine,
        format: OpenEhrFormat::Canonical,
        defaults: CanonicalDefaults {
            language: "en".into(),
            territory: "DE".into(),
            composer: "bench".into(),
            time: "2024-03-01T10:00:00Z".into(),
        },
    }
    .translate(&fhir)
    .unwrap()
    .output
}

/// The peer: a hyper server that answers POST with 201 and GET with 200
/// and `body`, doing nothing else.
async fn bare_server(body: Bytes) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let body = body.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let body = body.clone();
                    async move {
                        let is_post = req.method() == Method::POST;
                        let _ = req.into_body().collect().await;
                        let mut r =
                            Response::new(Full::new(if is_post { Bytes::new() } else { body }));
                        if is_post {
                            *r.status_mut() = StatusCode::CREATED;
                        }
                        Ok::<_, Infallible>(r)
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

fn openehr_create_read(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let comp = heart_rate_composition();
    let comp_bytes = Bytes::from(comp.to_string());
    let server = rt
        .block_on(openehr::spawn(
            OpenEhrConfig::with_shipped_templates(),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .unwrap();
    let ehr = rt.block_on(new_ehr(&client, &server.base_url));
    let peer = rt.block_on(bare_server(comp_bytes.clone()));
    let mut g = c.benchmark_group("openehr_create_read");
    g.bench_function("reference_openehr", |b| {
        b.iter(|| {
            rt.block_on(async {
                let url = format!("{}/ehr/{ehr}/composition", server.base_url);
                let req = Request::builder()
                    .method(Method::POST)
                    .uri(&url)
                    .header("content-type", "application/json")
                    .body(Full::new(comp_bytes.clone()))
                    .unwrap();
                let resp = client.request(req).await.unwrap();
                assert_eq!(resp.status(), StatusCode::CREATED);
                let loc = resp.headers()["location"].to_str().unwrap().to_owned();
                let _ = resp.into_body().collect().await;
                let (s, _) = send(&client, Method::GET, &loc, Bytes::new()).await;
                assert_eq!(s, StatusCode::OK);
            });
        });
    });
    g.bench_function("bare_hyper_peer", |b| {
        b.iter(|| {
            rt.block_on(async {
                let url = format!("http://{peer}/x");
                let (s, _) = send(&client, Method::POST, &url, comp_bytes.clone()).await;
                assert_eq!(s, StatusCode::CREATED);
                let (s, _) = send(&client, Method::GET, &url, Bytes::new()).await;
                assert_eq!(s, StatusCode::OK);
            });
        });
    });
    g.finish();

    // AQL: the facade's search shape over 200 stored compositions, against
    // a GET of one composition on the same server.
    let mut g = c.benchmark_group("aql_search");
    let store = rt
        .block_on(openehr::spawn(
            OpenEhrConfig::with_shipped_templates(),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .unwrap();
    let ehr2 = rt.block_on(new_ehr(&client, &store.base_url));
    for _ in 0..200 {
        rt.block_on(send(
            &client,
            Method::POST,
            &format!("{}/ehr/{ehr2}/composition", store.base_url),
            comp_bytes.clone(),
        ));
    }
    let one = store.stats.stored_compositions()[0].uid.clone();
    let q = json!({
        "q": "SELECT e/ehr_id/value, c/uid/value, c FROM EHR e CONTAINS COMPOSITION c \
              WHERE c/archetype_details/template_id/value = $template_id AND e/ehr_id/value = $ehr_id \
              AND c/context/start_time/value >= $date_0 ORDER BY c/context/start_time/value DESC LIMIT 20",
        "query_parameters": {"template_id": "EHRN Vital signs.v2", "ehr_id": ehr2, "date_0": "2024-01-01"}
    })
    .to_string();
    let q = Bytes::from(q);
    g.bench_function("aql_search_200", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (s, _) = send(
                    &client,
                    Method::POST,
                    &format!("{}/query/aql", store.base_url),
                    q.clone(),
                )
                .await;
                assert_eq!(s, StatusCode::OK);
            });
        });
    });
    g.bench_function("get_one_composition", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (s, _) = send(
                    &client,
                    Method::GET,
                    &format!("{}/ehr/{ehr2}/composition/{one}", store.base_url),
                    Bytes::new(),
                )
                .await;
                assert_eq!(s, StatusCode::OK);
            });
        });
    });
    g.finish();
}

fn fhir_create(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let obs = Bytes::from(
        std::fs::read(corpus_dir().join("fhir/examples/Observation-heart-rate.json")).unwrap(),
    );
    let validating = rt
        .block_on(fhir::spawn(
            FhirConfig::default(),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .unwrap();
    let plain = rt
        .block_on(fhir::spawn(
            FhirConfig {
                validate: false,
                ..FhirConfig::default()
            },
            "127.0.0.1:0".parse().unwrap(),
        ))
        .unwrap();
    let mut g = c.benchmark_group("fhir_create");
    for (name, server) in [
        ("schema_validated", &validating),
        ("not_validated_peer", &plain),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let (s, _) = send(
                        &client,
                        Method::POST,
                        &format!("{}/Observation", server.base_url),
                        obs.clone(),
                    )
                    .await;
                    assert_eq!(s, StatusCode::CREATED);
                });
            });
        });
    }
    g.finish();
}

criterion_group!(benches, openehr_create_read, fhir_create);
criterion_main!(benches);
