//! The sticky weighted canary on real sockets: split within statistical
//! bounds, monotonic stickiness across weight changes and restarts, no
//! request lost while weights change and configs reload, broken configs
//! refused, health-check recovery, verified JWT tenants.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{client, get, send, start_gateway, ConfigDir, TestUpstream};
use ehrgate::routing::bucket::WeightBp;

fn config(legacy: &str, new: &str, weight: f64, extra_server: &str) -> String {
    format!(
        r#"
[server]
reload_poll_ms = 0
{extra_server}

[[listener]]
bind = "127.0.0.1:0"

[[backend]]
name = "legacy"
url = "{legacy}"
kind = "fhir"

[[backend]]
name = "new"
url = "{new}"
kind = "fhir"

[[tenant]]
id = "acme"

[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "legacy"
canary = "new"
weight = {weight}
sticky = "patient"
"#
    )
}

/// Arms for patients p{from}..p{to}, fetched with `parallel` tasks.
async fn arms(addr: std::net::SocketAddr, from: usize, to: usize, parallel: usize) -> Vec<bool> {
    let c = client();
    let mut tasks = Vec::new();
    let chunk = (to - from).div_ceil(parallel);
    for start in (from..to).step_by(chunk) {
        let c = c.clone();
        let end = (start + chunk).min(to);
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::with_capacity(end - start);
            for i in start..end {
                let a = get(&c, addr, &format!("/fhir/Patient/p{i}"), "acme").await;
                assert_eq!(a.status, 200, "{a:?}");
                let canary = a.header("x-ehrgate-arm") == "canary";
                assert_eq!(a.body, if canary { "new" } else { "legacy" });
                out.push(canary);
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

fn set_weight(gw: &ehrgate::Gateway, bp: u32) {
    gw.shared()
        .update_overrides(|o| {
            o.route_weights.insert("fhir".into(), WeightBp::from_bp(bp));
        })
        .unwrap();
}

/// 10,000 requests (distinct patients) per weight; 25 % must land within
/// five binomial standard deviations (0.43 % each) of 2,500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_0_25_100_split_10000_requests() {
    let legacy = TestUpstream::start("legacy").await;
    let new = TestUpstream::start("new").await;
    let dir = ConfigDir::new(&config(&legacy.url(), &new.url(), 0.0, ""));
    let gw = start_gateway(&dir.path()).await;
    let addr = gw.local_addrs()[0];
    for (bp, lo, hi) in [(0, 0, 0), (2500, 2284, 2716), (10_000, 10_000, 10_000)] {
        set_weight(&gw, bp);
        let canary = arms(addr, 0, 10_000, 16)
            .await
            .iter()
            .filter(|c| **c)
            .count();
        assert!(
            (lo..=hi).contains(&canary),
            "weight {bp} bp: {canary} of 10000 on canary"
        );
    }
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stickiness_holds_across_weight_changes_and_restarts() {
    let legacy = TestUpstream::start("legacy").await;
    let new = TestUpstream::start("new").await;
    let dir = ConfigDir::new(&config(&legacy.url(), &new.url(), 25.0, ""));
    let gw = start_gateway(&dir.path()).await;
    let addr = gw.local_addrs()[0];
    let at25 = arms(addr, 0, 1000, 8).await;
    assert_eq!(at25, arms(addr, 0, 1000, 8).await, "same weight, same arms");
    set_weight(&gw, 5000);
    let at50 = arms(addr, 0, 1000, 8).await;
    assert!(
        at25.iter().zip(&at50).all(|(a, b)| !*a || *b),
        "raising moved a key back to stable"
    );
    assert!(at50.iter().filter(|c| **c).count() > at25.iter().filter(|c| **c).count());
    set_weight(&gw, 1000);
    let at10 = arms(addr, 0, 1000, 8).await;
    assert!(
        at25.iter().zip(&at10).all(|(a, b)| *a || !*b),
        "lowering moved a key to canary"
    );
    gw.shutdown().await;

    // a restart from the same config gives the same assignment
    let gw = start_gateway(&dir.path()).await;
    let again = arms(gw.local_addrs()[0], 0, 1000, 8).await;
    assert_eq!(at25, again);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weight_changes_and_reloads_under_load_lose_no_request() {
    let legacy = TestUpstream::start("legacy").await;
    let new = TestUpstream::start("new").await;
    let dir = ConfigDir::new(&config(&legacy.url(), &new.url(), 10.0, ""));
    let gw = start_gateway(&dir.path()).await;
    let addr = gw.local_addrs()[0];
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for t in 0..8 {
        let (stop, done) = (stop.clone(), done.clone());
        load.push(tokio::spawn(async move {
            let c = client();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let a = get(&c, addr, &format!("/fhir/Patient/t{t}-{i}"), "acme").await;
                assert_eq!(a.status, 200, "{a:?}");
                i += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let reloader = gw.reloader();
    for round in 0..20u32 {
        set_weight(&gw, (round * 731) % 10_001);
        if round % 4 == 0 {
            let w = f64::from(round);
            std::fs::write(dir.path(), config(&legacy.url(), &new.url(), w, "")).unwrap();
            reloader.reload_file().unwrap();
        }
        if round == 10 {
            std::fs::write(dir.path(), "[[route]]\nid = ").unwrap();
            assert!(reloader.reload_file().is_err());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.await.unwrap();
    }
    assert!(done.load(Ordering::Relaxed) > 100, "the load ran");
    assert_eq!(legacy.hits() + new.hits(), done.load(Ordering::Relaxed));
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_config_leaves_the_old_one_serving() {
    let legacy = TestUpstream::start("legacy").await;
    let new = TestUpstream::start("new").await;
    let dir = ConfigDir::new(&config(&legacy.url(), &new.url(), 0.0, ""));
    // the file watcher polls every 50 ms
    std::fs::write(
        dir.path(),
        config(&legacy.url(), &new.url(), 0.0, "")
            .replace("reload_poll_ms = 0", "reload_poll_ms = 50"),
    )
    .unwrap();
    let gw = start_gateway(&dir.path()).await;
    gw.watch_for_reloads();
    let addr = gw.local_addrs()[0];
    let c = client();
    let rev = gw.shared().load().table.revision();
    // an invalid weight and an unknown backend: refused
    let broken = config(&legacy.url(), &new.url(), 150.0, "")
        .replace("canary = \"new\"", "canary = \"nope\"");
    tokio::time::sleep(Duration::from_millis(1100)).await; // a new mtime second
    std::fs::write(dir.path(), broken).unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        gw.shared().load().table.revision(),
        rev,
        "broken config was swapped in"
    );
    let a = get(&c, addr, "/fhir/Patient/1", "acme").await;
    assert_eq!((a.status, a.body.as_str()), (200, "legacy"));
    // a fixed file is picked up by the watcher
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(
        dir.path(),
        config(&legacy.url(), &new.url(), 100.0, "reload_poll_ms = 50")
            .replace("reload_poll_ms = 0\n", ""),
    )
    .unwrap();
    let mut switched = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if get(&c, addr, "/fhir/Patient/1", "acme").await.body == "new" {
            switched = true;
            break;
        }
    }
    assert!(switched, "the watcher did not pick up the fixed config");
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_upstream_recovers_after_health_check_sees_it_back() {
    let legacy = TestUpstream::start("legacy").await;
    let new = TestUpstream::start("new").await;
    let cfg = config(&legacy.url(), &new.url(), 0.0, "").replace(
        "kind = \"fhir\"\n\n[[backend]]\nname = \"new\"",
        "kind = \"fhir\"\nhealth = { path = \"/metadata\", interval_ms = 50, timeout_ms = 200, unhealthy_after = 1, healthy_after = 1 }\noutlier = { consecutive_failures = 0 }\n\n[[backend]]\nname = \"new\"",    ) + "failover = \"none\"\n";
    // Without failover (the default sends a dead stable's traffic to the
    // canary, tests/failover.rs): this test watches the 503s and recovery.
    let dir = ConfigDir::new(&cfg);
    let gw = start_gateway(&dir.path()).await;
    let addr = gw.local_addrs()[0];
    let c = client();
    assert_eq!(get(&c, addr, "/fhir/Patient/1", "acme").await.status, 200);
    let port = legacy.addr;
    legacy.stop();
    drop(legacy);
    let mut statuses = Vec::new();
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let a = get(&c, addr, "/fhir/Patient/1", "acme").await;
        assert!(a.status == 502 || a.status == 503, "{a:?}");
        assert!(a.outcome_code().starts_with("upstream."));
        statuses.push(a.status);
    }
    assert_eq!(
        statuses.last(),
        Some(&503),
        "the health check marked it down: {statuses:?}"
    );
    let back = TestUpstream::start_on(port, "legacy").await;
    let mut recovered = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if get(&c, addr, "/fhir/Patient/1", "acme").await.status == 200 {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "traffic did not recover");
    assert!(back.hits() > 0);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_with_bad_signature_never_selects_a_tenant() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

    let rng = SystemRandom::new();
    let key = |rng: &SystemRandom| {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, rng).unwrap();
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), rng).unwrap()
    };
    let (good, evil) = (key(&rng), key(&rng));
    let p = good.public_key().as_ref();
    let jwks = serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1",
        "x": URL_SAFE_NO_PAD.encode(&p[1..33]), "y": URL_SAFE_NO_PAD.encode(&p[33..65])}]});
    let sign = |k: &EcdsaKeyPair, tenant: &str| {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","kid":"k1"}"#),
            URL_SAFE_NO_PAD.encode(format!(r#"{{"tenant":"{tenant}","sub":"u1"}}"#))
        );
        let sig = k.sign(&rng, input.as_bytes()).unwrap();
        format!("Bearer {input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    };

    let legacy = TestUpstream::start("legacy").await;
    let new = TestUpstream::start("new").await;
    let cfg = config(&legacy.url(), &new.url(), 0.0, "")
        + "\n[tenancy]\nresolve = [\"jwt\"]\n[tenancy.jwt]\njwks = \"jwks.json\"\n";
    let dir = ConfigDir::new(&cfg);
    dir.write("jwks.json", &jwks.to_string());
    let gw = start_gateway(&dir.path()).await;
    let addr = gw.local_addrs()[0];
    let c = client();
    let ok = send(
        &c,
        addr,
        "GET",
        "/fhir/Patient/1",
        &[("authorization", &sign(&good, "acme"))],
        Bytes::new(),
    )
    .await;
    assert_eq!(
        (ok.status, ok.header("x-seen-tenant")),
        (200, "acme"),
        "{ok:?}"
    );
    let hits = legacy.hits();
    let forged = send(
        &c,
        addr,
        "GET",
        "/fhir/Patient/1",
        &[("authorization", &sign(&evil, "acme"))],
        Bytes::new(),
    )
    .await;
    assert_eq!(
        (forged.status, forged.outcome_code().as_str()),
        (401, "jwt.bad-signature")
    );
    // the plain header is not a source here: it selects nothing
    let header_only = get(&c, addr, "/fhir/Patient/1", "acme").await;
    assert_eq!(
        (header_only.status, header_only.outcome_code().as_str()),
        (400, "tenant.missing")
    );
    assert_eq!(legacy.hits(), hits, "nothing unverified was forwarded");
    gw.shutdown().await;
}
