//! `[admin]` and `[telemetry]` validation: each problem with its line, and
//! a gateway that cannot load its admin secrets does not start.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::ConfigDir;

const BASE: &str = r#"[[listener]]
bind = "127.0.0.1:0"

[[backend]]
name = "a"
url = "http://127.0.0.1:1"
kind = "fhir"

[[route]]
id = "r"
stable = "a"
"#;

fn check(dir: &ConfigDir) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ehrgate"))
        .arg("check-config")
        .arg(dir.path())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn admin_and_telemetry_problems_are_reported_with_their_lines() {
    let dir = ConfigDir::new(&format!(
        r#"{BASE}
[admin]
bind = "not-an-address"

[[admin.token]]
name = "ops"
role = "write"

[[admin.token]]
name = "ops"
role = "read"
secret_env = "X"

[[admin.token]]
name = "bad name!"
role = "read"
secret_env = "Y"

[telemetry]
otlp_endpoint = "collector:4318"
"#
    ));
    let (ok, stderr) = check(&dir);
    assert!(!ok);
    for want in [
        "line 14, column 8: admin.bind `not-an-address` is not an IP:port address",
        "line 17, column 8: token `ops` needs exactly one of secret_file or secret_env",
        "line 21, column 8: token `ops` is declared twice",
        "line 26, column 8: token name `bad name!` must be",
        "line 31, column 17: otlp_endpoint `collector:4318` is not an http(s):// URL",
    ] {
        assert!(stderr.contains(want), "missing `{want}` in:\n{stderr}");
    }
}

#[test]
fn admin_without_tokens_or_on_a_proxy_port_is_refused() {
    let dir = ConfigDir::new(&format!(
        "{}\n[admin]\nbind = \"127.0.0.1:9901\"\n",
        BASE.replace("127.0.0.1:0", "127.0.0.1:9901")
    ));
    let (ok, stderr) = check(&dir);
    assert!(!ok);
    assert!(
        stderr.contains("needs at least one [[admin.token]]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("admin.bind is also a proxy listener"),
        "{stderr}"
    );
    let dir = ConfigDir::new(&format!("{BASE}\n[telemetry]\naccess_log = \"\"\n"));
    let (ok, stderr) = check(&dir);
    assert!(!ok);
    assert!(stderr.contains("access_log is empty"), "{stderr}");
}

#[tokio::test]
async fn a_missing_or_short_secret_stops_the_start() {
    let text = format!(
        "{BASE}\n[admin]\nbind = \"127.0.0.1:0\"\n[[admin.token]]\nname = \"ops\"\nrole = \"write\"\nsecret_file = \"ops.secret\"\n"
    );
    let dir = ConfigDir::new(&text);
    let loaded = ehrgate::config::load(&dir.path()).unwrap();
    let err = ehrgate::Gateway::start(loaded).await.unwrap_err();
    assert!(err.to_string().contains("admin token `ops`"), "{err}");
    dir.write("ops.secret", "short");
    let loaded = ehrgate::config::load(&dir.path()).unwrap();
    let err = ehrgate::Gateway::start(loaded).await.unwrap_err();
    assert!(err.to_string().contains("shorter than 16"), "{err}");
}
