//! `[server] trusted_proxies` (issue 26 item 11), on both HTTP/1.1
//! engines: a peer outside the list cannot forge the forwarding chain
//! (`X-Forwarded-For`, `Forwarded`, `X-Forwarded-Proto`/`-Host`,
//! `X-Real-IP`) nor the identity flag targeting and sticky keys read
//! (`X-User-Id`); a listed peer's chain is appended to and its identity
//! honoured; the list follows a reload and is checked at load.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod raw_client;

use common::{start_gateway, ConfigDir, TestUpstream};

const ENGINES: [&str; 2] = ["native", "hyper"];

/// Flag `beta` is on for the user `alice` only; `/split` is a 50 % canary
/// sticky on the user.
const FLAGS: &str = r#"{"flags": {"beta": {
  "state": "ENABLED",
  "variants": {"on": true, "off": false},
  "defaultVariant": "off",
  "targeting": {"if": [{"==": [{"var": "user"}, "alice"]}, "on", "off"]}
}}}"#;

fn config(legacy: &TestUpstream, new: &TestUpstream, engine: &str, extra: &str) -> String {
    format!(
        r#"
[server]
reload_poll_ms = 0
http1_engine = "{engine}"
{extra}

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

[flags]
file = "flags.json"

[[route]]
id = "split"
path_prefix = "/split"
stable = "legacy"
canary = "new"
weight = 50
sticky = "user"

[[route]]
id = "beta"
path_prefix = "/fhir"
flag = "beta"
stable = "new"

[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "legacy"
"#,
        legacy = legacy.url(),
        new = new.url(),
    )
}

const FORGED: &str = "x-tenant-id: acme\r\nx-forwarded-for: 1.2.3.4\r\nforwarded: for=1.2.3.4;proto=https\r\nx-forwarded-proto: https\r\nx-forwarded-host: evil.example\r\nx-real-ip: 1.2.3.4\r\nx-user-id: alice\r\n";

struct Setup {
    legacy: TestUpstream,
    new: TestUpstream,
    dir: ConfigDir,
}

async fn setup(engine: &str, extra: &str) -> (Setup, ehrgate::Gateway) {
    let legacy = TestUpstream::start("legacy").await;
    let new = TestUpstream::start("new").await;
    let dir = ConfigDir::new(&config(&legacy, &new, engine, extra));
    dir.write("flags.json", FLAGS);
    let gw = start_gateway(&dir.path()).await;
    (Setup { legacy, new, dir }, gw)
}

/// The arm (`x-ehrgate-arm`) `/split` is served from for each of 16 users.
async fn arms_for_users(gw: std::net::SocketAddr) -> Vec<String> {
    let mut arms = Vec::new();
    for i in 0..16 {
        let r = raw_client::get(
            gw,
            "/split/Patient",
            &format!("x-tenant-id: acme\r\nx-user-id: user-{i}\r\n"),
        )
        .await;
        assert_eq!(r.status, 200, "{r:?}");
        arms.push(r.header("x-ehrgate-arm").unwrap().to_string());
    }
    arms
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_peer_cannot_forge_the_chain_or_the_user() {
    for engine in ENGINES {
        let (s, gw) = setup(engine, "").await;
        let addr = gw.local_addrs()[0];
        let r = raw_client::get(addr, "/fhir/Patient/1", FORGED).await;
        assert_eq!(r.status, 200, "{engine}: {r:?}");
        assert_eq!(
            r.header("x-upstream"),
            Some("legacy"),
            "{engine}: the forged user does not turn the flag on"
        );
        assert_eq!(r.header("x-seen-xff"), Some("127.0.0.1"), "{engine}");
        assert_eq!(
            r.header("x-seen-forwarded"),
            Some("for=127.0.0.1;proto=http;host=\"gw\""),
            "{engine}"
        );
        assert_eq!(r.header("x-seen-proto"), Some("http"), "{engine}");
        assert_eq!(r.header("x-seen-forwarded-host"), Some("gw"), "{engine}");
        assert_eq!(r.header("x-seen-real-ip"), None, "{engine}");
        assert_eq!(r.header("x-seen-user"), None, "{engine}: not forwarded");
        // every forged user lands where the tenant does (the fallback key)
        let arms = arms_for_users(addr).await;
        let none = raw_client::get(addr, "/split/Patient", "x-tenant-id: acme\r\n").await;
        let tenant_arm = none.header("x-ehrgate-arm").unwrap();
        assert!(
            arms.iter().all(|a| a == tenant_arm),
            "{engine}: {arms:?} vs {tenant_arm}"
        );
        assert_eq!(s.new.hits() + s.legacy.hits(), 18, "{engine}");
        gw.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_peer_is_appended_to_and_its_user_honoured() {
    for engine in ENGINES {
        let (_s, gw) = setup(
            engine,
            r#"trusted_proxies = ["10.0.0.0/8", "127.0.0.1/32"]"#,
        )
        .await;
        let addr = gw.local_addrs()[0];
        let r = raw_client::get(addr, "/fhir/Patient/1", FORGED).await;
        assert_eq!(r.status, 200, "{engine}: {r:?}");
        assert_eq!(r.header("x-upstream"), Some("new"), "{engine}: flag on");
        assert_eq!(
            r.header("x-seen-xff"),
            Some("1.2.3.4, 127.0.0.1"),
            "{engine}"
        );
        assert_eq!(
            r.header("x-seen-forwarded"),
            Some("for=1.2.3.4;proto=https, for=127.0.0.1;proto=http;host=\"gw\""),
            "{engine}"
        );
        // what the trusted proxy saw of the original client is kept
        assert_eq!(r.header("x-seen-proto"), Some("https"), "{engine}");
        assert_eq!(
            r.header("x-seen-forwarded-host"),
            Some("evil.example"),
            "{engine}"
        );
        assert_eq!(r.header("x-seen-real-ip"), Some("1.2.3.4"), "{engine}");
        assert_eq!(r.header("x-seen-user"), Some("alice"), "{engine}");
        let arms = arms_for_users(addr).await;
        assert!(
            arms.iter().any(|a| a == "stable") && arms.iter().any(|a| a == "canary"),
            "{engine}: users split: {arms:?}"
        );
        gw.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_without_the_peer_trusts_nobody_and_a_reload_applies() {
    let (s, gw) = setup("native", r#"trusted_proxies = ["10.0.0.0/8", "::1/128"]"#).await;
    let addr = gw.local_addrs()[0];
    let r = raw_client::get(addr, "/fhir/Patient/1", FORGED).await;
    assert_eq!(r.header("x-upstream"), Some("legacy"), "{r:?}");
    assert_eq!(r.header("x-seen-xff"), Some("127.0.0.1"));
    // the reload adds the peer: the next request on a new connection (and
    // on a kept-alive one alike, the list is read per request) is trusted
    let text = config(
        &s.legacy,
        &s.new,
        "native",
        r#"trusted_proxies = ["127.0.0.0/8"]"#,
    );
    std::fs::write(s.dir.path(), text).unwrap();
    gw.reload(ehrgate::config::load(&s.dir.path()).unwrap())
        .unwrap();
    let r = raw_client::get(addr, "/fhir/Patient/1", FORGED).await;
    assert_eq!(r.header("x-upstream"), Some("new"), "{r:?}");
    assert_eq!(r.header("x-seen-xff"), Some("1.2.3.4, 127.0.0.1"));
    gw.shutdown().await;
}

#[test]
fn a_bad_entry_is_refused_at_load_naming_the_key() {
    for (bad, why) in [
        ("10.0.0.0/33", "prefix"),
        ("10.0.0/8", "address"),
        ("fd00::/129", "prefix"),
        ("10.0.0.1/8", "host bits"),
        ("localhost", "address"),
        ("", "address"),
    ] {
        let text = format!(
            "[server]\ntrusted_proxies = [\"127.0.0.1/32\", \"{bad}\"]\n\n[[listener]]\nbind = \"127.0.0.1:0\"\n"
        );
        let dir = ConfigDir::new(&text);
        let err = ehrgate::config::load(&dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("server.trusted_proxies") && err.contains(why),
            "{bad}: {err}"
        );
    }
    let ok = "[server]\ntrusted_proxies = [\"127.0.0.1\", \"::1/128\", \"fd00::/8\", \"0.0.0.0/0\"]\n\n[[listener]]\nbind = \"127.0.0.1:0\"\n";
    let dir = ConfigDir::new(ok);
    assert!(ehrgate::config::load(&dir.path()).is_ok());
}
