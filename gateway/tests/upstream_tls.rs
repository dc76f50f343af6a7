//! TLS and mutual TLS from the gateway to an upstream.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use common::{client, get, start_gateway, ConfigDir};
use http::Response;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpListener;
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

/// An upstream that requires a client certificate signed by (here: equal to) `client_ca`.
async fn mtls_upstream(server: &Pem, client_ca: &Pem) -> std::net::SocketAddr {
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
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = service_fn(|_req| async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                        b"tls-upstream",
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    addr
}

/// A gateway with backend `secure` (mTLS to `addr`, trusting the CA file
/// `ca`) behind route `/secure`, plus `extra` backends and routes.
fn config(addr: std::net::SocketAddr, ca: &str, extra: &str) -> String {
    format!(
        r#"
[server]
reload_poll_ms = 0

[[listener]]
bind = "127.0.0.1:0"

[[tenant]]
id = "acme"

[[backend]]
name = "secure"
url = "https://{addr}"
kind = "fhir"
tls = {{ ca = "{ca}", cert = "client.pem", key = "client.key" }}
outlier = {{ consecutive_failures = 0 }}

[[route]]
id = "secure"
path_prefix = "/secure"
stable = "secure"
{extra}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_to_the_upstream() {
    let server = cert("127.0.0.1");
    let gw_client = cert("ehrgate");
    let addr = mtls_upstream(&server, &gw_client).await;
    let dir = ConfigDir::new(&config(
        addr,
        "server.pem",
        &format!(
            r#"
[[backend]]
name = "no-client-cert"
url = "https://{addr}"
kind = "fhir"
tls = {{ ca = "server.pem" }}
outlier = {{ consecutive_failures = 0 }}

[[route]]
id = "anonymous"
path_prefix = "/anonymous"
stable = "no-client-cert"
"#
        ),
    ));
    dir.write("server.pem", &server.cert_pem);
    dir.write("client.pem", &gw_client.cert_pem);
    dir.write("client.key", &gw_client.key_pem);
    let gw = start_gateway(&dir.path()).await;
    let c = client();
    let a = get(&c, gw.local_addrs()[0], "/secure/Patient/1", "acme").await;
    assert_eq!((a.status, a.body.as_str()), (200, "tls-upstream"), "{a:?}");
    let a = get(&c, gw.local_addrs()[0], "/anonymous/Patient/1", "acme").await;
    assert_eq!(a.status, 502, "{a:?}");
    assert!(a.outcome_code().starts_with("upstream."));
    gw.shutdown().await;
}

#[test]
fn https_backend_without_ca_is_refused_with_its_line() {
    let dir = ConfigDir::new(
        "[[listener]]\nbind = \"127.0.0.1:0\"\n[[backend]]\nname = \"a\"\nurl = \"https://127.0.0.1:1\"\nkind = \"fhir\"\n",
    );
    let err = ehrgate::config::load(&dir.path()).unwrap_err().to_string();
    assert!(err.contains("line 5") && err.contains("tls"), "{err}");
}

/// A CA file replaced under the same path (certificate rotation) is picked
/// up by the next reload: the backend's pool is rebuilt even though the
/// config text did not change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_replaced_under_the_same_path_is_used_after_reload() {
    let server = cert("127.0.0.1");
    let gw_client = cert("ehrgate");
    let stranger = cert("127.0.0.1");
    let addr = mtls_upstream(&server, &gw_client).await;
    let dir = ConfigDir::new(&config(addr, "ca.pem", ""));
    // first the CA does not match the upstream's certificate
    dir.write("ca.pem", &stranger.cert_pem);
    dir.write("client.pem", &gw_client.cert_pem);
    dir.write("client.key", &gw_client.key_pem);
    let gw = start_gateway(&dir.path()).await;
    let c = client();
    let a = get(&c, gw.local_addrs()[0], "/secure/Patient/1", "acme").await;
    assert_eq!(a.status, 502, "{a:?}");

    // an unchanged reload keeps the pool (and the refusal)
    gw.reloader().reload_file().unwrap();
    let a = get(&c, gw.local_addrs()[0], "/secure/Patient/1", "acme").await;
    assert_eq!(a.status, 502, "{a:?}");

    // the right CA written to the same path is used after reload
    dir.write("ca.pem", &server.cert_pem);
    gw.reloader().reload_file().unwrap();
    let a = get(&c, gw.local_addrs()[0], "/secure/Patient/1", "acme").await;
    assert_eq!((a.status, a.body.as_str()), (200, "tls-upstream"), "{a:?}");
    gw.shutdown().await;
}
