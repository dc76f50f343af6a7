//! TLS from the gateway to MLLP destinations (`mllps://`, or `mllp://`
//! with a `tls` block), over real TCP on 127.0.0.1: delivered and ACKed
//! through the handshake with the connection reused, a destination whose
//! certificate does not chain to the configured CA is never sent the
//! message (`AR`), `mllps://` without a CA is a config error; and health
//! checks (TCP connect) that mark a dead destination down and up again;
//! a CA file replaced under the same path is in force after a reload.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mllp_support;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use ehrgate::mllp::FeedStats;
use ehrgate::tls::{load_certified_key, server_config, ReloadableCert};
use ehrgate_mappers::hl7v2::{Message, MllpCodec};
use mllp_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::codec::{Decoder, Encoder};

/// A self-signed certificate for `localhost`, written to `dir`.
fn cert(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cp, kp) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&cp, c.cert.pem()).unwrap();
    std::fs::write(&kp, c.key_pair.serialize_pem()).unwrap();
    (cp, kp)
}

/// An MLLP receiver behind TLS that answers AA and records control ids
/// and how many connections it accepted.
async fn tls_receiver(
    cert: &Path,
    key: &Path,
) -> (SocketAddr, Arc<Mutex<Vec<String>>>, Arc<Mutex<usize>>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(
        server_config(ReloadableCert::new(load_certified_key(cert, key).unwrap())).unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received: Arc<Mutex<Vec<String>>> = Default::default();
    let conns: Arc<Mutex<usize>> = Default::default();
    let (r, n) = (received.clone(), conns.clone());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, r, n) = (acceptor.clone(), r.clone(), n.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                *n.lock().unwrap() += 1;
                let mut codec = MllpCodec::default();
                let mut buf = BytesMut::new();
                loop {
                    while let Ok(Some(f)) = codec.decode(&mut buf) {
                        let id = Message::parse(&f.payload).unwrap().control_id().unwrap();
                        r.lock().unwrap().push(id.clone());
                        let mut out = BytesMut::new();
                        MllpCodec::default()
                            .encode(ack_payload("AA", &id).as_slice(), &mut out)
                            .unwrap();
                        if tls.write_all(&out).await.is_err() {
                            return;
                        }
                    }
                    match tls.read_buf(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            });
        }
    });
    (addr, received, conns)
}

fn tls_backend(url: &str, ca: &Path) -> String {
    format!(
        "[[backend]]\nname = \"secure\"\nkind = \"hl7v2-mllp\"\nurl = \"{url}\"\nrequest_timeout_ms = 2000\nconnect_timeout_ms = 1000\n\
         tls = {{ ca = \"{}\" }}\n[[mllp_route]]\nid = \"all\"\nstable = \"secure\"\n",
        ca.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mllps_destination_gets_messages_over_tls_on_one_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (c, k) = cert(dir.path(), "dest");
    let (addr, received, conns) = tls_receiver(&c, &k).await;
    let url = format!("mllps://localhost:{}", addr.port());
    let gw = gateway(&config(&tls_backend(&url, &c))).await;
    let mut client = Client::connect(gw.mllp_addrs()[0]).await;
    for i in 0..5 {
        let ack = client.call(&adt(&format!("S{i}"), "P1")).await;
        assert_eq!(
            (ack.code.as_str(), ack.msa2.as_str()),
            ("AA", format!("S{i}").as_str())
        );
    }
    assert_eq!(*received.lock().unwrap(), ["S0", "S1", "S2", "S3", "S4"]);
    assert_eq!(*conns.lock().unwrap(), 1, "the TLS connection is reused");
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_outside_the_configured_ca_is_never_sent_anything() {
    let dir = tempfile::tempdir().unwrap();
    let (c, k) = cert(dir.path(), "dest");
    let (other_ca, _) = cert(dir.path(), "other");
    let (addr, received, _) = tls_receiver(&c, &k).await;
    // `mllp://` with a `tls` block is TLS too.
    let url = format!("mllp://localhost:{}", addr.port());
    let gw = gateway(&config(&tls_backend(&url, &other_ca))).await;
    let mut client = Client::connect(gw.mllp_addrs()[0]).await;
    let ack = client.call(&adt("X1", "P1")).await;
    assert_eq!((ack.code.as_str(), ack.msa2.as_str()), ("AR", "X1"));
    assert!(received.lock().unwrap().is_empty());
    assert!(FeedStats::get(&gw.mllp_stats().unwrap().sender_connect_failures) >= 1);
    gw.shutdown().await;
}

#[test]
fn mllps_without_a_ca_is_a_config_error() {
    let text = config(
        "[[backend]]\nname = \"secure\"\nkind = \"hl7v2-mllp\"\nurl = \"mllps://lab.example:2575\"\n\
         [[mllp_route]]\nid = \"all\"\nstable = \"secure\"\n",
    );
    let err = ehrgate::config::load_str(&text, Path::new("t.toml")).unwrap_err();
    assert!(
        err.to_string().contains("mllps:// needs a `tls` block"),
        "{err}"
    );
}

/// Health checks (TCP connect) mark a dead MLLP destination down, so its
/// messages get AR at once without a connect attempt each, and up again
/// once it accepts connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_checks_mark_a_dead_destination_down_and_up_again() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let backend = format!(
        "{}health = {{ path = \"\", interval_ms = 30, timeout_ms = 200, unhealthy_after = 1, healthy_after = 1 }}\n\
         [[mllp_route]]\nid = \"all\"\nstable = \"legacy\"\n",
        mllp_backend("legacy", addr, 1000)
    );
    let gw = gateway(&config(&backend)).await;
    let stats = gw.mllp_stats().unwrap().clone();
    for _ in 0..100 {
        if FeedStats::get(&stats.health_check_failures) >= 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut client = Client::connect(gw.mllp_addrs()[0]).await;
    let before = FeedStats::get(&stats.sender_connect_failures);
    for i in 0..5 {
        let ack = client.call(&adt(&format!("H{i}"), "P1")).await;
        assert_eq!(ack.code, "AR");
        assert!(
            ack.err_text.contains("marked down by health checks"),
            "{ack:?}"
        );
    }
    assert_eq!(
        FeedStats::get(&stats.sender_connect_failures),
        before,
        "no connect attempt while marked down"
    );
    let recv = TestReceiver::start_on(addr, Behaviour::Ack("AA")).await;
    let mut up = false;
    for i in 0..100 {
        if client.call(&adt(&format!("U{i}"), "P1")).await.code == "AA" {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(up, "healthy again");
    assert_eq!(recv.received().len(), 1);
    gw.shutdown().await;
}

/// A destination CA replaced under the same path, then a reload of the
/// unchanged config: the sender is rebuilt (new pool, new trust), so a
/// receiver the new CA does not vouch for is not sent the next message,
/// even though a connection to it was open and idle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_ca_replaced_under_the_same_path_is_in_force_after_reload() {
    let dir = tempfile::tempdir().unwrap();
    let (c, k) = cert(dir.path(), "dest");
    let (other, _) = cert(dir.path(), "other");
    let ca = dir.path().join("ca.pem");
    std::fs::copy(&c, &ca).unwrap();
    let (addr, received, _) = tls_receiver(&c, &k).await;
    let url = format!("mllps://localhost:{}", addr.port());
    let text = config(&tls_backend(&url, &ca));
    let gw = gateway(&text).await;
    let mut client = Client::connect(gw.mllp_addrs()[0]).await;
    let ack = client.call(&adt("C1", "P1")).await;
    assert_eq!((ack.code.as_str(), ack.msa2.as_str()), ("AA", "C1"));

    std::fs::copy(&other, &ca).unwrap();
    gw.reload(ehrgate::config::load_str(&text, Path::new("/tmp/mllp-test.toml")).unwrap())
        .unwrap();
    let ack = client.call(&adt("C2", "P1")).await;
    assert_eq!(
        (ack.code.as_str(), ack.msa2.as_str()),
        ("AR", "C2"),
        "{ack:?}"
    );
    assert_eq!(*received.lock().unwrap(), ["C1"]);

    // And back: the receiver's own CA again, delivered again.
    std::fs::copy(&c, &ca).unwrap();
    gw.reload(ehrgate::config::load_str(&text, Path::new("/tmp/mllp-test.toml")).unwrap())
        .unwrap();
    let mut delivered = false;
    for i in 0..50 {
        // The failed handshake above started a short reconnect backoff.
        if client.call(&adt(&format!("C3-{i}"), "P1")).await.code == "AA" {
            delivered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(delivered);
    gw.shutdown().await;
}

/// A CA file that does not load fails the reload (the previous trust keeps
/// serving) instead of only being logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_ca_that_does_not_load_fails_the_reload() {
    use ehrgate_templates::fault::Classified;

    let dir = tempfile::tempdir().unwrap();
    let (c, k) = cert(dir.path(), "dest");
    let ca = dir.path().join("ca.pem");
    std::fs::copy(&c, &ca).unwrap();
    let (addr, received, _) = tls_receiver(&c, &k).await;
    let url = format!("mllps://localhost:{}", addr.port());
    let text = config(&tls_backend(&url, &ca));
    let gw = gateway(&text).await;
    std::fs::write(&ca, "not a certificate").unwrap();
    let err = gw
        .reload(ehrgate::config::load_str(&text, Path::new("/tmp/mllp-test.toml")).unwrap())
        .expect_err("a CA without certificates fails the reload");
    assert_eq!(err.code(), "tls.load", "{err}");
    let mut client = Client::connect(gw.mllp_addrs()[0]).await;
    let ack = client.call(&adt("D1", "P1")).await;
    assert_eq!((ack.code.as_str(), ack.msa2.as_str()), ("AA", "D1"));
    assert_eq!(*received.lock().unwrap(), ["D1"]);
    gw.shutdown().await;
}
