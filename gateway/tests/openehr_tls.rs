//! The template store rides the backend's openEHR client (issue 16): an
//! `https://` openEHR backend that wants a client certificate and Basic
//! credentials serves the facade its templates like every other call. The
//! templates crate's own plain-HTTP client could not reach it, and the
//! facade then translated against the bundled OPT without a word.
//!
//! Also here: a template the CDR fails to serve is an error unless a copy
//! fetched earlier is held (then that copy serves, counted), never a silent
//! switch to the bundled OPT.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use common::{client, send, start_gateway, ConfigDir};
use ehrgate_conformance::reference::openehr::{
    spawn, OpenEhrConfig, OpenEhrStats, EHRBASE_PASSWORD, EHRBASE_USER,
};
use ehrgate_conformance::reference::RefServer;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

struct Pem {
    der: CertificateDer<'static>,
    key: Vec<u8>,
    cert_pem: String,
    key_pem: String,
}

fn cert(name: &str) -> Pem {
    let c = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
    Pem {
        der: c.cert.der().clone(),
        key: c.key_pair.serialize_der(),
        cert_pem: c.cert.pem(),
        key_pem: c.key_pair.serialize_pem(),
    }
}

/// TLS in front of `backend`: requires a client certificate signed by
/// (here: equal to) `client_ca`, then relays bytes to the plain backend.
async fn tls_front(server: &Pem, client_ca: &Pem, backend: SocketAddr) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(client_ca.der.clone()).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![server.der.clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server.key.clone())),
        )
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    addr
}

fn config(url: &str, extra: &str) -> String {
    format!(
        r#"
[server]
reload_poll_ms = 0
[[listener]]
bind = "127.0.0.1:0"
[[tenant]]
id = "acme"
[[backend]]
name = "cdr"
url = "{url}"
kind = "openehr"
outlier = {{ consecutive_failures = 0 }}
{extra}
[backend.openehr]
subject_namespace = "acme-mrn"
template_ttl_ms = 1
[backend.openehr.auth]
kind = "basic"
username = "{EHRBASE_USER}"
password = {{ file = "password" }}
[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "cdr"
"#
    )
}

fn observation() -> String {
    let p = format!(
        "{}/../conformance/corpus/fhir/examples/Observation-heart-rate.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut o: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    o["subject"] = json!({"reference": "Patient/p-1"});
    o.to_string()
}

async fn backend() -> RefServer<OpenEhrStats> {
    spawn(
        OpenEhrConfig::with_shipped_templates().with_ehrbase_basic_auth(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

fn template_gets(ehr: &RefServer<OpenEhrStats>) -> Vec<u16> {
    ehr.stats
        .exchanges()
        .iter()
        .filter(|e| e.method == "GET" && e.path.starts_with("/definition/template/adl1.4/"))
        .map(|e| e.status)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_are_fetched_over_mutual_tls_with_credentials() {
    let ehr = backend().await;
    let server = cert("127.0.0.1");
    let gw_client = cert("ehrgate");
    let front = tls_front(&server, &gw_client, ehr.addr).await;
    let url = format!("https://{front}/ehrbase/rest/openehr/v1");
    let dir = ConfigDir::new(&config(
        &url,
        r#"tls = { ca = "server.pem", cert = "client.pem", key = "client.key" }"#,
    ));
    dir.write("server.pem", &server.cert_pem);
    dir.write("client.pem", &gw_client.cert_pem);
    dir.write("client.key", &gw_client.key_pem);
    dir.write("password", EHRBASE_PASSWORD);
    let gw = start_gateway(&dir.path()).await;
    let a = send(
        &client(),
        gw.local_addrs()[0],
        "POST",
        "/fhir/Observation",
        &[
            ("x-tenant-id", "acme"),
            ("content-type", "application/fhir+json"),
        ],
        Bytes::from(observation()),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let gets = template_gets(&ehr);
    assert!(!gets.is_empty(), "the template came from the TLS backend");
    assert!(gets.iter().all(|s| *s == 200), "{gets:?}");
    assert_eq!(ehr.stats.compositions_stored(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_template_fetch_serves_the_earlier_copy_or_fails_loudly() {
    let ehr = backend().await;
    let dir = ConfigDir::new(&config(&ehr.base_url, ""));
    dir.write("password", EHRBASE_PASSWORD);
    let gw = start_gateway(&dir.path()).await;
    let a = send(
        &client(),
        gw.local_addrs()[0],
        "POST",
        "/fhir/Observation",
        &[
            ("x-tenant-id", "acme"),
            ("content-type", "application/fhir+json"),
        ],
        Bytes::from(observation()),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let snap = gw.shared().load();
    let facade = snap.service::<Arc<ehrgate::facade::Facade>>("cdr").unwrap();
    drop(ehr);
    // The 1 ms template TTL has passed: the next lookup goes to the CDR,
    // which is gone; the copy fetched before serves, counted.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let stale = facade
        .catalog()
        .get("EHRN Vital signs.v2", "Observation")
        .await;
    assert!(stale.is_ok(), "{:?}", stale.err());
    assert_eq!(facade.catalog().stale_served(), 1);
    let m = ehrgate::telemetry::exposition::render(&gw.shared().telemetry.metrics, &snap);
    assert!(
        m.contains("ehrgate_openehr_template_stale_total{backend=\"cdr\"} 1"),
        "{m}"
    );
    // A template never fetched has no copy: an error naming it, not the
    // bundled OPT.
    let never = facade
        .catalog()
        .get("IDCR - Problem List.v1", "Condition")
        .await;
    let e = never.expect_err("no silent fallback to the bundled template");
    assert_eq!(
        ehrgate_templates::fault::Classified::code(&e),
        "openehr.template-unavailable"
    );
    assert_eq!(e.status(), http::StatusCode::BAD_GATEWAY);
}
