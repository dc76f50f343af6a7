//! Write placement on real sockets (issue 26, item 7), on both HTTP/1.1
//! engines: a Patient created on the canary is read back from the canary
//! (by id, history and `patient=` search) whatever its id hashes to; with
//! `writes = "stable"` every write lands on stable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::{client, send, start_gateway, ConfigDir};
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const ENGINES: [&str; 2] = ["native", "hyper"];

type TestClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

/// A FHIR-ish store: `POST /fhir/Patient` creates `{name}-{n}` (201 with a
/// `Location`), `GET /fhir/Patient/{id}[/_history/..]` and
/// `GET /fhir/Observation?patient={id}` answer 200 for what it created and
/// 404 for anything else.
async fn store(name: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let created: Arc<Mutex<HashSet<String>>> = Arc::default();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let created = created.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let created = created.clone();
                    async move { Ok::<_, Infallible>(answer(name, &created, &req)) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    addr
}

fn answer(
    name: &str,
    created: &Mutex<HashSet<String>>,
    req: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let mut set = created.lock().unwrap();
    let resp = Response::builder().header("x-upstream", name);
    if req.method() == http::Method::POST && path == "/fhir/Patient" {
        let id = format!("{name}-{}", set.len());
        set.insert(id.clone());
        return resp
            .status(201)
            .header(
                "location",
                format!("http://backend.example/fhir/Patient/{id}/_history/1"),
            )
            .body(Full::new(Bytes::from(name.to_string())))
            .unwrap();
    }
    let id = match path.strip_prefix("/fhir/Patient/") {
        Some(rest) => rest.split('/').next().unwrap_or("").to_string(),
        None => req
            .uri()
            .query()
            .and_then(|q| q.strip_prefix("patient="))
            .unwrap_or("")
            .to_string(),
    };
    let status = if set.contains(&id) { 200 } else { 404 };
    resp.status(status)
        .body(Full::new(Bytes::from(name.to_string())))
        .unwrap()
}

fn config(engine: &str, legacy: SocketAddr, new: SocketAddr, writes: &str) -> String {
    format!(
        r#"
[server]
reload_poll_ms = 0
http1_engine = "{engine}"
placement_capacity = 1000

[[listener]]
bind = "127.0.0.1:0"

[[backend]]
name = "legacy"
url = "http://{legacy}"
kind = "fhir"

[[backend]]
name = "new"
url = "http://{new}"
kind = "fhir"

[tenancy]
resolve = ["header"]

[[tenant]]
id = "acme"

[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "legacy"
canary = "new"
weight = 50
sticky = "patient"
writes = "{writes}"
"#
    )
}

/// POSTs a Patient whose sticky key is `seed` (`x-patient-id`); the arm
/// that served it and the id it got.
async fn create(c: &TestClient, addr: SocketAddr, seed: usize) -> (String, String) {
    let seed = format!("seed{seed}");
    let a = send(
        c,
        addr,
        "POST",
        "/fhir/Patient",
        &[("x-tenant-id", "acme"), ("x-patient-id", &seed)],
        Bytes::from_static(b"{\"resourceType\":\"Patient\"}"),
    )
    .await;
    assert_eq!(a.status, 201, "{a:?}");
    let id = a
        .header("location")
        .split('/')
        .rev()
        .nth(2)
        .unwrap()
        .to_string();
    (a.header("x-ehrgate-arm").to_string(), id)
}

async fn read(c: &TestClient, addr: SocketAddr, path: &str) -> common::Answer {
    send(
        c,
        addr,
        "GET",
        path,
        &[("x-tenant-id", "acme")],
        Bytes::new(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patient_created_on_the_canary_is_read_from_the_canary() {
    for engine in ENGINES {
        let (legacy, new) = (store("legacy").await, store("new").await);
        let dir = ConfigDir::new(&config(engine, legacy, new, "follow"));
        let gw = start_gateway(&dir.path()).await;
        let addr = gw.local_addrs()[0];
        let c = client();
        let mut on_canary = Vec::new();
        for seed in 0..40 {
            let (arm, id) = create(&c, addr, seed).await;
            if arm == "canary" {
                on_canary.push(id);
            }
        }
        assert!(on_canary.len() >= 8, "{engine}: {on_canary:?}");
        for id in &on_canary {
            for path in [
                format!("/fhir/Patient/{id}"),
                format!("/fhir/Patient/{id}/_history/1"),
                format!("/fhir/Observation?patient={id}"),
            ] {
                let a = read(&c, addr, &path).await;
                assert_eq!(
                    (a.status, a.header("x-upstream")),
                    (200, "new"),
                    "{engine} {path}: {a:?}"
                );
            }
        }
        gw.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_stable_keeps_every_write_off_the_canary() {
    for engine in ENGINES {
        let (legacy, new) = (store("legacy").await, store("new").await);
        let dir = ConfigDir::new(&config(engine, legacy, new, "stable"));
        let gw = start_gateway(&dir.path()).await;
        let addr = gw.local_addrs()[0];
        let c = client();
        for seed in 0..20 {
            let (arm, id) = create(&c, addr, seed).await;
            assert_eq!(arm, "stable", "{engine} seed{seed}");
            assert!(id.starts_with("legacy-"), "{engine} {id}");
        }
        // Reads still split: some patients hash to the canary.
        let mut canary_reads = 0;
        for i in 0..40 {
            let a = read(&c, addr, &format!("/fhir/Patient/p{i}")).await;
            canary_reads += usize::from(a.header("x-ehrgate-arm") == "canary");
        }
        assert!(canary_reads > 0, "{engine}: the canary serves reads");
        gw.shutdown().await;
    }
}
