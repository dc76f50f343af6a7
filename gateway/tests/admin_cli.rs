//! The release CLI (`ehrgate weights|rollback|pin|flags|history|revert`)
//! against a running gateway's admin API on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_support;
mod common;

use std::net::SocketAddr;
use std::process::Command;

use admin_support::{admin_config, READ_TOKEN, WRITE_TOKEN};
use common::{client, get, start_gateway, TestUpstream};
use serde_json::Value;

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs `ehrgate ARGS` with the admin URL and token in the environment.
async fn ehrgate(admin: SocketAddr, token: Option<&str>, args: &[&str]) -> Out {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let token = token.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ehrgate"));
        cmd.args(&args)
            .env("EHRGATE_ADMIN_URL", format!("http://{admin}"))
            .env_remove("EHRGATE_ADMIN_TOKEN");
        if let Some(t) = token {
            cmd.env("EHRGATE_ADMIN_TOKEN", t);
        }
        let out = cmd.output().unwrap();
        Out {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

async fn upstream_of(px: SocketAddr, tenant: &str) -> String {
    let a = get(&client(), px, "/fhir/Patient/7", tenant).await;
    assert_eq!(a.status, 200);
    a.header("x-upstream").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_release_command_works_against_a_running_gateway() {
    let s = TestUpstream::start("legacy").await;
    let c = TestUpstream::start("modern").await;
    let dir = admin_config(&s.url(), &c.url(), "");
    let gw = start_gateway(&dir.path()).await;
    let (px, ad) = (gw.local_addrs()[0], gw.admin_addr().unwrap());
    let w = Some(WRITE_TOKEN);

    let out = ehrgate(ad, Some(READ_TOKEN), &["weights", "get"]).await;
    assert!(out.ok, "{}", out.stderr);
    assert!(out.stdout.starts_with("revision 0"), "{}", out.stdout);
    let fhir_line = out.stdout.lines().find(|l| l.starts_with("fhir ")).unwrap();
    assert!(
        fhir_line.contains("legacy (up)")
            && fhir_line.contains("modern (up)")
            && fhir_line.contains("0%"),
        "{fhir_line}"
    );
    assert!(out.stdout.contains("beta-ui"), "{}", out.stdout);
    let out = ehrgate(ad, Some(READ_TOKEN), &["weights", "get", "--json"]).await;
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["routes"][1]["id"], "fhir");

    let out = ehrgate(
        ad,
        w,
        &["weights", "set", "fhir", "100", "--reason", "go live"],
    )
    .await;
    assert!(out.ok, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("revision 1: weight.set by ops (go live)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("weight fhir") && out.stdout.contains("100"),
        "{}",
        out.stdout
    );
    assert_eq!(upstream_of(px, "acme").await, "modern");

    let out = ehrgate(
        ad,
        w,
        &[
            "weights", "set", "fhir", "0", "--tenant", "beta", "--reason", "later",
        ],
    )
    .await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(upstream_of(px, "beta").await, "legacy");

    let out = ehrgate(ad, w, &["pin", "acme", "stable", "--route", "fhir"]).await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(upstream_of(px, "acme").await, "legacy");

    let out = ehrgate(
        ad,
        w,
        &["flags", "set", "beta-ui", "on", "--reason", "demo"],
    )
    .await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(get(&client(), px, "/ui/x", "acme").await.status, 200);

    let out = ehrgate(ad, w, &["pin", "acme", "none", "--json"]).await;
    assert!(out.ok, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["revision"], 5);
    assert_eq!(upstream_of(px, "acme").await, "modern");

    let out = ehrgate(ad, w, &["rollback", "fhir", "--reason", "errors"]).await;
    assert!(out.ok, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("revision 6: route.rollback"),
        "{}",
        out.stdout
    );
    assert_eq!(upstream_of(px, "acme").await, "legacy");

    let out = ehrgate(ad, Some(READ_TOKEN), &["history"]).await;
    assert!(out.ok, "{}", out.stderr);
    let revs: Vec<&str> = out
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(revs, ["1", "2", "3", "4", "5", "6"], "{}", out.stdout);
    assert!(
        out.stdout.contains("weight fhir: - -> 100"),
        "{}",
        out.stdout
    );
    let out = ehrgate(ad, Some(READ_TOKEN), &["history", "--json", "--limit", "2"]).await;
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["history"].as_array().unwrap().len(), 2);

    let out = ehrgate(ad, w, &["revert", "1", "--reason", "back to 100%"]).await;
    assert!(out.ok, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("revision 7: revert"),
        "{}",
        out.stdout
    );
    assert_eq!(upstream_of(px, "acme").await, "modern");
    assert_eq!(upstream_of(px, "beta").await, "modern");

    // compare-and-set from the command line
    let out = ehrgate(
        ad,
        w,
        &[
            "weights",
            "set",
            "fhir",
            "5",
            "--reason",
            "x",
            "--expect-revision",
            "3",
        ],
    )
    .await;
    assert!(!out.ok);
    assert!(
        out.stderr.contains("409 (admin.stale-revision)"),
        "{}",
        out.stderr
    );

    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_commands_exit_non_zero_with_the_reason() {
    let s = TestUpstream::start("legacy").await;
    let c = TestUpstream::start("modern").await;
    let dir = admin_config(&s.url(), &c.url(), "");
    let gw = start_gateway(&dir.path()).await;
    let ad = gw.admin_addr().unwrap();

    let out = ehrgate(
        ad,
        Some(WRITE_TOKEN),
        &["weights", "set", "nope", "5", "--reason", "x"],
    )
    .await;
    assert!(!out.ok);
    assert!(
        out.stderr.contains("404 (admin.unknown-route)") && out.stderr.contains("nope"),
        "{}",
        out.stderr
    );
    let out = ehrgate(
        ad,
        Some(WRITE_TOKEN),
        &["weights", "set", "fhir", "250", "--reason", "x"],
    )
    .await;
    assert!(
        out.stderr.contains("422 (admin.weight-out-of-range)"),
        "{}",
        out.stderr
    );
    let out = ehrgate(ad, Some(READ_TOKEN), &["rollback", "fhir"]).await;
    assert!(!out.ok);
    assert!(
        out.stderr.contains("403 (admin.forbidden)"),
        "{}",
        out.stderr
    );
    let out = ehrgate(ad, Some("not-a-valid-token-at-all"), &["history"]).await;
    assert!(
        out.stderr.contains("401 (admin.unauthorized)"),
        "{}",
        out.stderr
    );
    let out = ehrgate(ad, None, &["history"]).await;
    assert!(!out.ok);
    assert!(out.stderr.contains("EHRGATE_ADMIN_TOKEN"), "{}", out.stderr);
    // flags instead of the environment
    let url = format!("http://{ad}");
    let out = ehrgate(
        ad,
        None,
        &[
            "weights",
            "get",
            "--admin-url",
            &url,
            "--token",
            READ_TOKEN,
            "--json",
        ],
    )
    .await;
    assert!(out.ok, "{}", out.stderr);
    // nothing listening
    let out = ehrgate(
        ad,
        Some(READ_TOKEN),
        &[
            "history",
            "--admin-url",
            "http://127.0.0.1:1",
            "--timeout",
            "2",
        ],
    )
    .await;
    assert!(!out.ok);
    assert!(
        out.stderr.contains("cannot reach the admin API"),
        "{}",
        out.stderr
    );
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_reaches_a_tls_admin_api_trusting_only_the_given_ca() {
    let s = TestUpstream::start("legacy").await;
    let c = TestUpstream::start("modern").await;
    let dir = admin_config(&s.url(), &c.url(), "");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    dir.write("admin.crt", &cert.cert.pem());
    dir.write("admin.key", &cert.key_pair.serialize_pem());
    let text = std::fs::read_to_string(dir.path()).unwrap().replace(
        "state_file = \"state/release.json\"",
        "state_file = \"state/release.json\"\ntls = { cert = \"admin.crt\", key = \"admin.key\" }",
    );
    std::fs::write(dir.path(), text).unwrap();
    let gw = start_gateway(&dir.path()).await;
    let ad = gw.admin_addr().unwrap();
    let url = format!("https://localhost:{}", ad.port());
    let ca = dir.dir.path().join("admin.crt");
    let ca = ca.to_str().unwrap();

    let out = ehrgate(
        ad,
        Some(WRITE_TOKEN),
        &[
            "weights",
            "set",
            "fhir",
            "20",
            "--reason",
            "tls",
            "--admin-url",
            &url,
            "--ca",
            ca,
        ],
    )
    .await;
    assert!(out.ok, "{}", out.stderr);
    assert!(out.stdout.starts_with("revision 1"), "{}", out.stdout);
    // without the CA the https URL is refused before any request
    let out = ehrgate(ad, Some(READ_TOKEN), &["history", "--admin-url", &url]).await;
    assert!(!out.ok);
    assert!(out.stderr.contains("needs --ca"), "{}", out.stderr);
    // plain HTTP to the TLS port gets no answer the CLI accepts
    let out = ehrgate(ad, Some(READ_TOKEN), &["history", "--timeout", "2"]).await;
    assert!(!out.ok);
    gw.shutdown().await;
}
