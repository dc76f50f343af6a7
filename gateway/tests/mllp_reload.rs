//! MLLP feeds follow config reloads and admin overrides, over real TCP on
//! 127.0.0.1: a reload swaps routes, the facility table and destinations
//! (a message in flight finishes on the table it started with), rebinds a
//! listener whose address changed, and run-time pins and weights apply to a
//! feed route with the overridden route's id. A reload also reads the
//! listener certificate and key again (replaced under the same path) and
//! fails, changing nothing, when a new listener address cannot be bound.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mllp_support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use ehrgate::config::load_str;
use ehrgate::config::model::PinConfig;
use mllp_support::*;

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A config listening on `listen`, routing everything to backend `to`
/// (one of two MLLP receivers), with `extra` facility rows.
fn text(listen: SocketAddr, a: SocketAddr, b: SocketAddr, to: &str, extra: &str) -> String {
    config(&format!(
        "{}{}[[mllp_route]]\nid = \"all\"\nstable = \"{to}\"\n{extra}",
        mllp_backend("a", a, 2000),
        mllp_backend("b", b, 2000),
    ))
    .replace("127.0.0.1:0", &listen.to_string())
}

/// Reloads; the MLLP supervisor follows the new revision asynchronously,
/// so callers wait for its effects.
fn reload(gw: &ehrgate::Gateway, text: &str) {
    gw.reload(load_str(text, Path::new("/tmp/mllp-test.toml")).unwrap())
        .unwrap();
}

async fn wait_for<F: FnMut() -> bool>(what: &str, mut f: F) {
    for _ in 0..300 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_swaps_routes_facilities_and_rebinds_a_moved_listener() {
    let ra = TestReceiver::start(Behaviour::Slow(Duration::from_millis(400))).await;
    let rb = TestReceiver::start(Behaviour::Ack("AA")).await;
    let first = free_addr();
    let gw = gateway(&text(first, ra.addr, rb.addr, "a", "")).await;
    assert_eq!(gw.mllp_addrs(), [first]);
    let mut c = Client::connect(first).await;

    // In flight on the old table (to `a`, slow) while the reload lands.
    c.send(&adt("IN1", "P1")).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = free_addr();
    let newer = text(
        second,
        ra.addr,
        rb.addr,
        "b",
        "[[tenant]]\nid = \"newco\"\n[[mllp_facility]]\nsending = \"NEWLAB\"\ntenant = \"newco\"\n",
    );
    reload(&gw, &newer);
    let ack = c.recv().await.unwrap();
    assert_eq!((ack.code.as_str(), ack.msa2.as_str()), ("AA", "IN1"));
    assert_eq!(
        ra.received(),
        ["IN1"],
        "finished on the table it started with"
    );

    // The listener moved: the new address serves, the old one is unbound.
    wait_for("listener rebound", || gw.mllp_addrs() == [second]).await;
    let mut c2 = Client::connect(second).await;
    assert_eq!(c2.call(&adt("N1", "P1")).await.code, "AA");
    assert_eq!(rb.received(), ["N1"], "the new route's destination");
    let mut refused = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(first).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "the old address no longer accepts");
    // A connection accepted before the move stays open, on the new table.
    assert_eq!(c.call(&adt("OLD2", "P1")).await.code, "AA");
    assert_eq!(rb.received(), ["N1", "OLD2"]);

    // The new facility row is in force.
    let newlab = String::from_utf8(adt("F1", "P1"))
        .unwrap()
        .replace("|LAB|", "|NEWLAB|");
    let ack = c2.call(newlab.as_bytes()).await;
    assert_eq!((ack.code.as_str(), ack.msa2.as_str()), ("AA", "F1"));
    assert_eq!(rb.received(), ["N1", "OLD2", "F1"]);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_pins_and_weights_apply_to_the_feed_route_with_that_id() {
    let ra = TestReceiver::start(Behaviour::Ack("AA")).await;
    let rb = TestReceiver::start(Behaviour::Ack("AA")).await;
    let listen = free_addr();
    let with_canary = config(&format!(
        "{}{}[[mllp_route]]\nid = \"all\"\nstable = \"a\"\ncanary = \"b\"\nweight = 0.0\n",
        mllp_backend("a", ra.addr, 2000),
        mllp_backend("b", rb.addr, 2000),
    ))
    .replace("127.0.0.1:0", &listen.to_string());
    let gw = gateway(&with_canary).await;
    let mut c = Client::connect(listen).await;
    assert_eq!(c.call(&adt("W0", "P1")).await.code, "AA");
    assert_eq!(ra.received(), ["W0"], "weight 0: stable");

    let shared = gw.shared().clone();
    shared
        .update_overrides(|o| {
            o.pins
                .insert(("all".into(), "acme".into()), Some(PinConfig::Canary));
        })
        .unwrap();
    let mut sent = 0;
    // The supervisor swaps the table asynchronously: wait until a message lands on `b`.
    for i in 0..50 {
        sent += 1;
        assert_eq!(
            c.call(&adt(&format!("PIN{i}"), &format!("P{i}")))
                .await
                .code,
            "AA"
        );
        if !rb.received().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !rb.received().is_empty(),
        "pinned to canary after {sent} messages"
    );
    for i in 0..20 {
        c.call(&adt(&format!("AFTER{i}"), &format!("Q{i}"))).await;
    }
    assert!(
        rb.received()
            .iter()
            .filter(|i| i.starts_with("AFTER"))
            .count()
            == 20,
        "every patient of the pinned tenant goes to the canary"
    );

    // Unpinned, with a 0 % route weight override: back to stable.
    shared
        .update_overrides(|o| {
            o.pins.clear();
            o.route_weights
                .insert("all".into(), ehrgate::routing::bucket::WeightBp::ZERO);
        })
        .unwrap();
    let mut back = false;
    for i in 0..50 {
        c.call(&adt(&format!("BACK{i}"), &format!("R{i}"))).await;
        if ra.received().iter().any(|x| x.starts_with("BACK")) {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(back, "unpinned: stable again");
    gw.shutdown().await;
}

/// A self-signed certificate for `localhost` written to `cert`/`key`;
/// returns it (DER) for a client to trust.
fn write_cert(cert: &Path, key: &Path) -> rustls::pki_types::CertificateDer<'static> {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(cert, c.cert.pem()).unwrap();
    std::fs::write(key, c.key_pair.serialize_pem()).unwrap();
    c.cert.der().clone()
}

/// Sends one message over TLS trusting only `trusted`; `None` when the
/// handshake fails.
async fn tls_call(
    addr: SocketAddr,
    trusted: &rustls::pki_types::CertificateDer<'static>,
    control_id: &str,
) -> Option<Ack> {
    use ehrgate_mappers::hl7v2::MllpCodec;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_util::codec::{Decoder, Encoder};

    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted.clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(client))
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .ok()?;
    let mut frame = bytes::BytesMut::new();
    MllpCodec::default()
        .encode(adt(control_id, "P1").as_slice(), &mut frame)
        .unwrap();
    tls.write_all(&frame).await.unwrap();
    let mut codec = MllpCodec::default();
    let mut buf = bytes::BytesMut::new();
    loop {
        if let Some(f) = codec.decode(&mut buf).unwrap() {
            return Some(Ack::parse(&f.payload));
        }
        if tls.read_buf(&mut buf).await.ok()? == 0 {
            return None;
        }
    }
}

/// Certificate rotation: new files under the same paths, then a reload of
/// the unchanged config. New handshakes get the new certificate on the same
/// socket (no rebind); the old certificate is no longer served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_certificate_replaced_under_the_same_path_is_served_after_reload() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("l.pem"), dir.path().join("l.key"));
    let old = write_cert(&cert, &key);
    let recv = TestReceiver::start(Behaviour::Ack("AA")).await;
    let text = config(&format!(
        "{}[[mllp_route]]\nid = \"all\"\nstable = \"legacy\"\n",
        mllp_backend("legacy", recv.addr, 2000)
    ))
    .replace(
        "bind = \"127.0.0.1:0\"\n",
        &format!(
            "bind = \"127.0.0.1:0\"\ntls = {{ cert = \"{}\", key = \"{}\" }}\n",
            cert.display(),
            key.display()
        ),
    );
    let gw = gateway(&text).await;
    let addr = gw.mllp_addrs()[0];
    let ack = tls_call(addr, &old, "R1")
        .await
        .expect("handshake with the first certificate");
    assert_eq!((ack.code.as_str(), ack.msa2.as_str()), ("AA", "R1"));

    let new = write_cert(&cert, &key);
    reload(&gw, &text);
    assert_eq!(gw.mllp_addrs(), [addr], "same socket");
    let ack = tls_call(addr, &new, "R2")
        .await
        .expect("handshake with the replaced certificate");
    assert_eq!((ack.code.as_str(), ack.msa2.as_str()), ("AA", "R2"));
    assert!(
        tls_call(addr, &old, "R3").await.is_none(),
        "the old certificate is no longer served"
    );
    assert_eq!(recv.received(), ["R1", "R2"]);
    gw.shutdown().await;
}

/// A reload whose new MLLP listener address is taken fails with the bind
/// error as its result (as a bad certificate does), and changes nothing:
/// the old listener and the old route keep serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_cannot_bind_fails_the_reload_and_changes_nothing() {
    use ehrgate_templates::fault::Classified;

    let ra = TestReceiver::start(Behaviour::Ack("AA")).await;
    let rb = TestReceiver::start(Behaviour::Ack("AA")).await;
    let first = free_addr();
    let gw = gateway(&text(first, ra.addr, rb.addr, "a", "")).await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap();
    let newer = text(busy, ra.addr, rb.addr, "b", "");
    let err = gw
        .reload(load_str(&newer, Path::new("/tmp/mllp-test.toml")).unwrap())
        .expect_err("the reload reports the failed bind");
    assert_eq!(err.code(), "listener.bind", "{err}");
    assert!(err.to_string().contains(&busy.to_string()), "{err}");
    let revision = gw.shared().load().table.revision();

    assert_eq!(gw.mllp_addrs(), [first]);
    let mut c = Client::connect(first).await;
    assert_eq!(c.call(&adt("K1", "P1")).await.code, "AA");
    assert_eq!(ra.received(), ["K1"], "the old route");
    assert!(rb.received().is_empty());

    // Once the address is free the same reload goes through.
    drop(taken);
    reload(&gw, &newer);
    assert!(gw.shared().load().table.revision() > revision);
    assert_eq!(gw.mllp_addrs(), [busy]);
    let mut c2 = Client::connect(busy).await;
    assert_eq!(c2.call(&adt("K2", "P1")).await.code, "AA");
    assert_eq!(rb.received(), ["K2"]);
    gw.shutdown().await;
}
