//! The admin API against a running gateway on 127.0.0.1: every call, auth,
//! refusals that change nothing, history, revert, restart, compare-and-set
//! and a weight change under load.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_support;
mod common;

use std::sync::Arc;

use admin_support::{admin, admin_config, code, READ_TOKEN, WRITE_TOKEN};
use common::{client, get, start_gateway, TestUpstream};
use serde_json::{json, Value};

const W: Option<&str> = Some(WRITE_TOKEN);
const R: Option<&str> = Some(READ_TOKEN);

async fn upstreams() -> (TestUpstream, TestUpstream) {
    (
        TestUpstream::start("legacy").await,
        TestUpstream::start("modern").await,
    )
}

/// Which upstream answered `path` for `tenant`.
async fn served_by(gw: std::net::SocketAddr, path: &str, tenant: &str) -> String {
    let a = get(&client(), gw, path, tenant).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.header("x-upstream").to_string()
}

#[tokio::test]
async fn tokens_are_required_and_read_only_tokens_cannot_write() {
    let (s, c) = upstreams().await;
    let dir = admin_config(&s.url(), &c.url(), "");
    let gw = start_gateway(&dir.path()).await;
    let ad = gw.admin_addr().unwrap();

    let a = common::send(
        &client(),
        ad,
        "GET",
        "/v1/routing",
        &[],
        bytes::Bytes::new(),
    )
    .await;
    assert_eq!(
        a.header("www-authenticate"),
        "Bearer realm=\"ehrgate-admin\""
    );
    for path in ["/v1/routing", "/v1/history", "/metrics"] {
        let (status, body) = admin(ad, "GET", path, None, Value::Null).await;
        assert_eq!(status, 401, "{path}");
        if path != "/metrics" {
            assert_eq!(code(&body), "admin.unauthorized");
        }
        let (status, _) = admin(
            ad,
            "GET",
            path,
            Some("wrong-token-wrong-token"),
            Value::Null,
        )
        .await;
        assert_eq!(status, 401, "{path}");
        let (status, _) = admin(ad, "GET", path, R, Value::Null).await;
        assert_eq!(status, 200, "{path}");
    }
    let writes = [
        (
            "PUT",
            "/v1/routes/fhir/weight",
            json!({"percent": 50, "reason": "x"}),
        ),
        ("POST", "/v1/routes/fhir/rollback", json!({})),
        ("PUT", "/v1/pins/acme", json!({"arm": "canary"})),
        ("PUT", "/v1/flags/beta-ui", json!({"on": true})),
        ("POST", "/v1/revert", json!({"revision": 0})),
    ];
    for (method, path, body) in writes {
        let (status, v) = admin(ad, method, path, None, body.clone()).await;
        assert_eq!(status, 401, "{path}");
        assert_eq!(code(&v), "admin.unauthorized");
        let (status, v) = admin(ad, method, path, R, body).await;
        assert_eq!(status, 403, "{path}: {v}");
        assert_eq!(code(&v), "admin.forbidden");
    }
    let (_, routing) = admin(ad, "GET", "/v1/routing", R, Value::Null).await;
    assert_eq!(routing["revision"], 0, "refused writes changed nothing");
    gw.shutdown().await;
}

#[tokio::test]
async fn each_call_takes_effect_and_history_lists_changes_in_order() {
    let (s, c) = upstreams().await;
    let dir = admin_config(&s.url(), &c.url(), "");
    let gw = start_gateway(&dir.path()).await;
    let (px, ad) = (gw.local_addrs()[0], gw.admin_addr().unwrap());

    let (status, routing) = admin(ad, "GET", "/v1/routing", R, Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(routing["revision"], 0);
    let fhir = &routing["routes"][1];
    assert_eq!(
        (fhir["id"].as_str(), fhir["weight"].as_f64()),
        (Some("fhir"), Some(0.0))
    );
    assert_eq!(routing["backends"][0]["healthy"], true);
    assert_eq!(served_by(px, "/fhir/Patient/1", "acme").await, "legacy");

    // global weight
    let (status, v) = admin(
        ad,
        "PUT",
        "/v1/routes/fhir/weight",
        W,
        json!({"percent": 100, "reason": "go live"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["revision"], 1);
    assert_eq!(served_by(px, "/fhir/Patient/1", "acme").await, "modern");
    // per-tenant weight
    let (status, _) = admin(
        ad,
        "PUT",
        "/v1/routes/fhir/weight",
        W,
        json!({"percent": 0, "tenant": "beta", "reason": "beta waits"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(served_by(px, "/fhir/Patient/1", "beta").await, "legacy");
    assert_eq!(served_by(px, "/fhir/Patient/1", "acme").await, "modern");
    // pin and unpin
    let (status, _) = admin(
        ad,
        "PUT",
        "/v1/pins/acme",
        W,
        json!({"arm": "stable", "route": "fhir", "reason": "incident"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(served_by(px, "/fhir/Patient/1", "acme").await, "legacy");
    let (status, _) = admin(ad, "PUT", "/v1/pins/acme", W, json!({"arm": "none"})).await;
    assert_eq!(status, 200);
    assert_eq!(served_by(px, "/fhir/Patient/1", "acme").await, "modern");
    // flag switch: the flag-gated route matches only when on
    assert_eq!(get(&client(), px, "/ui/home", "acme").await.status, 404);
    let (status, _) = admin(ad, "PUT", "/v1/flags/beta-ui", W, json!({"on": true})).await;
    assert_eq!(status, 200);
    assert_eq!(served_by(px, "/ui/home", "acme").await, "modern");
    // rollback in one call
    let (status, v) = admin(
        ad,
        "POST",
        "/v1/routes/fhir/rollback",
        W,
        json!({"reason": "errors up"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["revision"], 6);
    for t in ["acme", "beta"] {
        for i in 0..20 {
            assert_eq!(
                served_by(px, &format!("/fhir/Patient/{i}"), t).await,
                "legacy"
            );
        }
    }

    let (status, h) = admin(ad, "GET", "/v1/history", R, Value::Null).await;
    assert_eq!(status, 200);
    let list = h["history"].as_array().unwrap();
    let revs: Vec<u64> = list
        .iter()
        .map(|r| r["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(revs, vec![1, 2, 3, 4, 5, 6]);
    let actions: Vec<&str> = list.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "weight.set",
            "weight.set",
            "pin.set",
            "pin.set",
            "flag.set",
            "route.rollback"
        ]
    );
    assert!(list
        .iter()
        .all(|r| r["who"] == "ops" && r["at"].as_str().unwrap().ends_with('Z')));
    assert_eq!(list[0]["reason"], "go live");
    assert_eq!(
        list[0]["changes"],
        json!([{"what": "weight fhir", "old": null, "new": 100.0}])
    );
    assert_eq!(
        list[5]["changes"][0],
        json!({"what": "weight fhir", "old": 100.0, "new": 0.0})
    );
    let (status, one) = admin(ad, "GET", "/v1/history/2", R, Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(one["changes"][0]["what"], "weight fhir tenant beta");
    let (_, h2) = admin(ad, "GET", "/v1/history?limit=2", R, Value::Null).await;
    assert_eq!(h2["history"].as_array().unwrap().len(), 2);
    assert_eq!(h2["history"][1]["revision"], 6);

    let (_, routing) = admin(ad, "GET", "/v1/routing", R, Value::Null).await;
    assert_eq!(routing["revision"], 6);
    assert_eq!(
        routing["flags"][0],
        json!({"name": "beta-ui", "switch": "on"})
    );
    assert_eq!(routing["routes"][1]["weight_source"], "admin");
    gw.shutdown().await;
}

#[tokio::test]
async fn invalid_changes_are_refused_with_a_clear_message_and_change_nothing() {
    let (s, c) = upstreams().await;
    let dir = admin_config(&s.url(), &c.url(), "");
    let gw = start_gateway(&dir.path()).await;
    let ad = gw.admin_addr().unwrap();
    let cases = [
        (
            "PUT",
            "/v1/routes/nope/weight",
            json!({"percent": 5, "reason": "r"}),
            404,
            "admin.unknown-route",
        ),
        (
            "PUT",
            "/v1/routes/fhir/weight",
            json!({"percent": 101, "reason": "r"}),
            422,
            "admin.weight-out-of-range",
        ),
        (
            "PUT",
            "/v1/routes/fhir/weight",
            json!({"percent": -1, "reason": "r"}),
            422,
            "admin.weight-out-of-range",
        ),
        (
            "PUT",
            "/v1/routes/fhir/weight",
            json!({"percent": 12.345, "reason": "r"}),
            422,
            "admin.weight-precision",
        ),
        (
            "PUT",
            "/v1/routes/fhir/weight",
            json!({"percent": 5}),
            422,
            "admin.reason-required",
        ),
        (
            "PUT",
            "/v1/routes/beta-ui/weight",
            json!({"percent": 5, "reason": "r"}),
            422,
            "admin.no-canary",
        ),
        (
            "PUT",
            "/v1/routes/fhir/weight",
            json!({"percent": 5, "tenant": "ghost", "reason": "r"}),
            404,
            "admin.unknown-tenant",
        ),
        (
            "PUT",
            "/v1/routes/fhir/weight",
            json!({"percent": 5, "reason": "r", "expect_revision": 7}),
            409,
            "admin.stale-revision",
        ),
        (
            "PUT",
            "/v1/routes/fhir/weight",
            json!({"percnt": 5}),
            400,
            "admin.bad-request",
        ),
        (
            "PUT",
            "/v1/pins/ghost",
            json!({"arm": "canary"}),
            404,
            "admin.unknown-tenant",
        ),
        (
            "PUT",
            "/v1/pins/acme",
            json!({"arm": "sideways"}),
            400,
            "admin.bad-request",
        ),
        (
            "PUT",
            "/v1/flags/no-such-flag",
            json!({"on": true}),
            404,
            "admin.unknown-flag",
        ),
        (
            "POST",
            "/v1/routes/nope/rollback",
            json!({}),
            404,
            "admin.unknown-route",
        ),
        (
            "POST",
            "/v1/revert",
            json!({"revision": 42}),
            404,
            "admin.unknown-revision",
        ),
        ("GET", "/v1/nothing", Value::Null, 404, "admin.no-such-path"),
        (
            "DELETE",
            "/v1/routing",
            Value::Null,
            405,
            "admin.method-not-allowed",
        ),
    ];
    for (method, path, body, status, want) in cases {
        let (got, v) = admin(ad, method, path, W, body.clone()).await;
        assert_eq!(
            (got, code(&v)),
            (status, want),
            "{method} {path} {body}: {v}"
        );
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    }
    let (status, v) = admin(
        ad,
        "PUT",
        "/v1/routes/fhir/weight",
        W,
        Value::String("x".repeat(70_000)),
    )
    .await;
    assert_eq!((status, code(&v)), (413, "admin.too-large"));
    let (_, routing) = admin(ad, "GET", "/v1/routing", R, Value::Null).await;
    assert_eq!(routing["revision"], 0);
    assert_eq!(
        routing["state"],
        json!({"weights": {}, "tenant_weights": {}, "pins": {}, "flags": {}})
    );
    let (_, h) = admin(ad, "GET", "/v1/history", R, Value::Null).await;
    assert_eq!(h["history"], json!([]));
    assert!(!dir.dir.path().join("state/release.json").exists());
    gw.shutdown().await;
}

#[tokio::test]
async fn revert_restores_an_earlier_revision_exactly() {
    let (s, c) = upstreams().await;
    let dir = admin_config(&s.url(), &c.url(), "");
    let gw = start_gateway(&dir.path()).await;
    let (px, ad) = (gw.local_addrs()[0], gw.admin_addr().unwrap());
    admin(
        ad,
        "PUT",
        "/v1/routes/fhir/weight",
        W,
        json!({"percent": 100, "reason": "a"}),
    )
    .await;
    admin(
        ad,
        "PUT",
        "/v1/pins/beta",
        W,
        json!({"arm": "stable", "route": "fhir"}),
    )
    .await;
    let (_, at2) = admin(ad, "GET", "/v1/routing", R, Value::Null).await;
    admin(
        ad,
        "PUT",
        "/v1/routes/fhir/weight",
        W,
        json!({"percent": 25.5, "tenant": "acme", "reason": "c"}),
    )
    .await;
    admin(ad, "PUT", "/v1/flags/beta-ui", W, json!({"on": true})).await;
    admin(
        ad,
        "PUT",
        "/v1/pins/beta",
        W,
        json!({"arm": "none", "route": "fhir"}),
    )
    .await;

    let (status, v) = admin(
        ad,
        "POST",
        "/v1/revert",
        W,
        json!({"revision": 2, "reason": "back"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["revision"], 6);
    let (_, now) = admin(ad, "GET", "/v1/routing", R, Value::Null).await;
    assert_eq!(
        now["state"], at2["state"],
        "state of revision 2 restored exactly"
    );
    assert_eq!(
        now["routes"], at2["routes"],
        "effective table of revision 2 restored exactly"
    );
    assert_eq!(now["flags"], at2["flags"]);
    assert_eq!(served_by(px, "/fhir/Patient/1", "acme").await, "modern");
    assert_eq!(served_by(px, "/fhir/Patient/1", "beta").await, "legacy");
    let (_, h) = admin(ad, "GET", "/v1/history/6", R, Value::Null).await;
    assert_eq!(h["action"], "revert");
    // revision 0: the config file as written
    let (status, _) = admin(ad, "POST", "/v1/revert", W, json!({"revision": 0})).await;
    assert_eq!(status, 200);
    let (_, zero) = admin(ad, "GET", "/v1/routing", R, Value::Null).await;
    assert_eq!(zero["routes"][1]["weight"], 0.0);
    assert_eq!(served_by(px, "/fhir/Patient/1", "acme").await, "legacy");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_restart_restores_the_last_state_and_history() {
    let (s, c) = upstreams().await;
    let dir = admin_config(&s.url(), &c.url(), "");
    let gw = start_gateway(&dir.path()).await;
    let ad = gw.admin_addr().unwrap();
    admin(
        ad,
        "PUT",
        "/v1/routes/fhir/weight",
        W,
        json!({"percent": 100, "reason": "a"}),
    )
    .await;
    admin(ad, "PUT", "/v1/pins/beta", W, json!({"arm": "stable"})).await;
    admin(ad, "PUT", "/v1/flags/beta-ui", W, json!({"on": true})).await;
    let (_, before) = admin(ad, "GET", "/v1/routing", R, Value::Null).await;
    let (_, hist_before) = admin(ad, "GET", "/v1/history", R, Value::Null).await;
    gw.shutdown().await;

    let gw = start_gateway(&dir.path()).await;
    let (px, ad) = (gw.local_addrs()[0], gw.admin_addr().unwrap());
    let (_, after) = admin(ad, "GET", "/v1/routing", R, Value::Null).await;
    assert_eq!(after["revision"], 3);
    for k in ["state", "routes", "flags"] {
        assert_eq!(after[k], before[k], "{k}");
    }
    let (_, hist_after) = admin(ad, "GET", "/v1/history", R, Value::Null).await;
    assert_eq!(hist_after, hist_before);
    assert_eq!(served_by(px, "/fhir/Patient/1", "acme").await, "modern");
    assert_eq!(served_by(px, "/fhir/Patient/1", "beta").await, "legacy");
    assert_eq!(served_by(px, "/ui/x", "beta").await, "modern");
    // the next change continues the revision sequence
    let (_, v) = admin(ad, "POST", "/v1/routes/fhir/rollback", W, json!({})).await;
    assert_eq!(v["revision"], 4);
    gw.shutdown().await;
}

#[tokio::test]
async fn concurrent_writers_with_compare_and_set_one_wins_the_other_gets_409() {
    let (s, c) = upstreams().await;
    let dir = admin_config(&s.url(), &c.url(), "");
    let gw = start_gateway(&dir.path()).await;
    let ad = gw.admin_addr().unwrap();
    for round in 0..5u64 {
        let (_, r) = admin(ad, "GET", "/v1/routing", R, Value::Null).await;
        let rev = r["revision"].as_u64().unwrap();
        assert_eq!(rev, round);
        let a = admin(
            ad,
            "PUT",
            "/v1/routes/fhir/weight",
            W,
            json!({"percent": 10, "reason": "alice", "expect_revision": rev}),
        );
        let b = admin(
            ad,
            "PUT",
            "/v1/routes/fhir/weight",
            W,
            json!({"percent": 90, "reason": "bob", "expect_revision": rev}),
        );
        let ((sa, va), (sb, vb)) = tokio::join!(a, b);
        let mut statuses = [sa, sb];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "{va} {vb}");
        let loser = if sa == 409 { &va } else { &vb };
        assert_eq!(code(loser), "admin.stale-revision");
        let winner_reason = if sa == 200 { "alice" } else { "bob" };
        let (_, h) = admin(
            ad,
            "GET",
            &format!("/v1/history/{}", rev + 1),
            R,
            Value::Null,
        )
        .await;
        assert_eq!(
            h["reason"], winner_reason,
            "the history holds the winner only"
        );
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn a_weight_change_under_load_fails_no_request() {
    let (s, c) = upstreams().await;
    let dir = admin_config(&s.url(), &c.url(), "");
    let gw = start_gateway(&dir.path()).await;
    let (px, ad) = (gw.local_addrs()[0], gw.admin_addr().unwrap());
    let failures = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..4 {
        let failures = failures.clone();
        tasks.push(tokio::spawn(async move {
            let cl = client();
            for i in 0..500 {
                let a = get(&cl, px, &format!("/fhir/Observation/{w}-{i}"), "acme").await;
                if a.status != 200 {
                    failures.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        }));
    }
    for percent in [50, 100, 0, 100] {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let (status, v) = admin(
            ad,
            "PUT",
            "/v1/routes/fhir/weight",
            W,
            json!({"percent": percent, "reason": "ramp"}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(failures.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(s.hits() + c.hits(), 2000);
    assert!(
        s.hits() > 0 && c.hits() > 0,
        "both arms served: {} / {}",
        s.hits(),
        c.hits()
    );
    // The change is in force for the very next request.
    assert_eq!(served_by(px, "/fhir/Patient/x", "acme").await, "modern");
    gw.shutdown().await;
}

#[tokio::test]
async fn admin_changes_survive_a_config_reload() {
    let (s, c) = upstreams().await;
    let dir = admin_config(&s.url(), &c.url(), "");
    let gw = start_gateway(&dir.path()).await;
    let (px, ad) = (gw.local_addrs()[0], gw.admin_addr().unwrap());
    admin(
        ad,
        "PUT",
        "/v1/routes/fhir/weight",
        W,
        json!({"percent": 100, "reason": "a"}),
    )
    .await;
    admin(ad, "PUT", "/v1/flags/beta-ui", W, json!({"on": true})).await;
    // the file changes (a new tenant) and is reloaded
    let text = std::fs::read_to_string(dir.path()).unwrap().replace(
        "[[tenant]]\nid = \"beta\"",
        "[[tenant]]\nid = \"beta\"\n\n[[tenant]]\nid = \"gamma\"",
    );
    std::fs::write(dir.path(), text).unwrap();
    let table_rev = gw
        .reload(ehrgate::config::load(&dir.path()).unwrap())
        .unwrap();
    let (_, routing) = admin(ad, "GET", "/v1/routing", R, Value::Null).await;
    assert_eq!(routing["table_revision"], table_rev);
    assert_eq!(routing["revision"], 2, "a reload is not an admin change");
    assert_eq!(routing["routes"][1]["weight"], 100.0);
    assert_eq!(served_by(px, "/fhir/Patient/1", "gamma").await, "modern");
    assert_eq!(served_by(px, "/ui/a", "gamma").await, "modern");
    gw.shutdown().await;
}
