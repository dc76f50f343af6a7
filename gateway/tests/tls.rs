//! TLS termination: HTTP/1.1 and h2 negotiated by ALPN through rustls, and a
//! certificate replaced by reload without a restart; the FHIR facade's links
//! use `https` behind TLS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod stub_openehr;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use common::{start_gateway, ConfigDir, TestUpstream};
use http::{Request, Version};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

struct TestCert {
    der: CertificateDer<'static>,
    cert_pem: String,
    key_pem: String,
}

fn make_cert() -> TestCert {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    TestCert {
        der: c.cert.der().clone(),
        cert_pem: c.cert.pem(),
        key_pem: c.key_pair.serialize_pem(),
    }
}

fn connector(trust: &CertificateDer<'static>, alpn: &[u8]) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trust.clone()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    TlsConnector::from(Arc::new(config))
}

/// One request over a fresh TLS connection with the given ALPN protocol;
/// returns (negotiated ALPN, response version, status, body, peer cert).
async fn request(
    addr: SocketAddr,
    trust: &CertificateDer<'static>,
    alpn: &[u8],
    path: &str,
) -> (Vec<u8>, Version, u16, String, Vec<u8>) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = connector(trust, alpn)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (_, session) = tls.get_ref();
    let negotiated = session.alpn_protocol().unwrap_or_default().to_vec();
    let peer = session.peer_certificates().unwrap()[0].as_ref().to_vec();
    let io = TokioIo::new(tls);
    let req = Request::get(format!("https://localhost:{}{path}", addr.port()))
        .header("x-tenant-id", "acme")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = if negotiated == b"h2" {
        let (mut send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .unwrap();
        tokio::spawn(conn);
        send.send_request(req).await.unwrap()
    } else {
        let (mut send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(conn);
        let mut req = req;
        req.headers_mut()
            .insert("host", "localhost".parse().unwrap());
        send.send_request(req).await.unwrap()
    };
    let version = resp.version();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (
        negotiated,
        version,
        status,
        String::from_utf8_lossy(&body).into_owned(),
        peer,
    )
}

fn config(upstream: &str) -> String {
    format!(
        r#"
[server]
reload_poll_ms = 0

[[listener]]
bind = "127.0.0.1:0"
tls = {{ cert = "cert.pem", key = "key.pem" }}

[[backend]]
name = "legacy"
url = "{upstream}"
kind = "fhir"

[[tenant]]
id = "acme"

[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "legacy"
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_and_h2_through_tls_and_certificate_reload() {
    let up = TestUpstream::start("legacy").await;
    let dir = ConfigDir::new(&config(&up.url()));
    let first = make_cert();
    dir.write("cert.pem", &first.cert_pem);
    dir.write("key.pem", &first.key_pem);
    let gw = start_gateway(&dir.path()).await;
    let addr = gw.local_addrs()[0];

    let (alpn, version, status, body, peer) =
        request(addr, &first.der, b"h2", "/fhir/Patient/1").await;
    assert_eq!(
        (alpn.as_slice(), version, status, body.as_str()),
        (&b"h2"[..], Version::HTTP_2, 200, "legacy")
    );
    assert_eq!(peer, first.der.as_ref());
    let (alpn, version, status, body, _) =
        request(addr, &first.der, b"http/1.1", "/fhir/Patient/1").await;
    assert_eq!(
        (alpn.as_slice(), version, status, body.as_str()),
        (&b"http/1.1"[..], Version::HTTP_11, 200, "legacy")
    );
    assert_eq!(up.hits(), 2);

    // a broken key is refused and the old certificate keeps serving
    dir.write("key.pem", "not a key");
    assert!(gw.reloader().reload_file().is_err());
    let (_, _, status, _, peer) = request(addr, &first.der, b"h2", "/fhir/x").await;
    assert_eq!((status, peer.as_slice()), (200, first.der.as_ref()));

    // a new certificate is used by new handshakes after reload
    let second = make_cert();
    dir.write("cert.pem", &second.cert_pem);
    dir.write("key.pem", &second.key_pem);
    gw.reloader().reload_file().unwrap();
    let (_, _, status, _, peer) = request(addr, &second.der, b"h2", "/fhir/x").await;
    assert_eq!((status, peer.as_slice()), (200, second.der.as_ref()));
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_prior_knowledge_on_a_plain_listener() {
    let up = TestUpstream::start("legacy").await;
    let dir = ConfigDir::new(
        &config(&up.url()).replace("tls = { cert = \"cert.pem\", key = \"key.pem\" }\n", ""),
    );
    let gw = start_gateway(&dir.path()).await;
    let addr = gw.local_addrs()[0];
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(conn);
    let resp = send
        .send_request(
            Request::get(format!("http://127.0.0.1:{}/fhir/Patient/1", addr.port()))
                .header("x-tenant-id", "acme")
                .body(Empty::<Bytes>::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        (resp.version(), resp.status().as_u16()),
        (Version::HTTP_2, 200)
    );
    assert_eq!(resp.headers()["x-ehrgate-route"], "fhir");
    gw.shutdown().await;
}

/// Behind a TLS listener the facade's links (search `self`, paging) must
/// carry `https`: a client following an `http` link would leave TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facade_links_use_https_behind_tls() {
    let stub = stub_openehr::Stub::start().await;
    let cfg = config(&stub.url()).replace("kind = \"fhir\"", "kind = \"openehr\"");
    let dir = ConfigDir::new(&cfg);
    let cert = make_cert();
    dir.write("cert.pem", &cert.cert_pem);
    dir.write("key.pem", &cert.key_pem);
    let gw = start_gateway(&dir.path()).await;
    let addr = gw.local_addrs()[0];
    for alpn in [&b"http/1.1"[..], b"h2"] {
        let (_, _, status, body, _) =
            request(addr, &cert.der, alpn, "/fhir/Observation?patient=example").await;
        assert_eq!(status, 200, "{body}");
        let bundle: serde_json::Value = serde_json::from_str(&body).unwrap();
        let links = bundle["link"].as_array().unwrap();
        assert!(!links.is_empty(), "{body}");
        for l in links {
            let url = l["url"].as_str().unwrap();
            assert!(
                url.starts_with(&format!(
                    "https://localhost:{}/fhir/Observation",
                    addr.port()
                )) || url.starts_with("https://localhost/fhir/Observation"),
                "{url}"
            );
        }
    }
    gw.shutdown().await;
}
