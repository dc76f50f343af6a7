//! Helpers for the admin API tests: a config with an `[admin]` section,
//! two upstreams (stable, canary) and a flag; an admin client.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;

use bytes::Bytes;

use crate::common::{client, send, Answer, ConfigDir};

pub const WRITE_TOKEN: &str = "ops-secret-0123456789abcdef";
pub const READ_TOKEN: &str = "view-secret-0123456789abcdef";

pub const FLAGS: &str = r#"{"flags": {"beta-ui": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"}}}"#;

/// A config dir with tokens, flags and the given upstreams; `telemetry` is
/// appended as is (a `[telemetry]` section or nothing).
pub fn admin_config(stable: &str, canary: &str, telemetry: &str) -> ConfigDir {
    let text = format!(
        r#"
[server]
reload_poll_ms = 0

[[listener]]
bind = "127.0.0.1:0"

[admin]
bind = "127.0.0.1:0"
state_file = "state/release.json"

[[admin.token]]
name = "ops"
role = "write"
secret_file = "ops.secret"

[[admin.token]]
name = "viewer"
role = "read"
secret_file = "viewer.secret"

[[backend]]
name = "legacy"
url = "{stable}"
kind = "fhir"

[[backend]]
name = "modern"
url = "{canary}"
kind = "fhir"

[[tenant]]
id = "acme"

[[tenant]]
id = "beta"

[flags]
file = "flags.json"

[[route]]
id = "beta-ui"
path_prefix = "/ui"
flag = "beta-ui"
stable = "modern"

[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "legacy"
canary = "modern"
weight = 0
sticky = "request-id"

{telemetry}
"#
    );
    let dir = ConfigDir::new(&text);
    dir.write("ops.secret", &format!("{WRITE_TOKEN}\n"));
    dir.write("viewer.secret", READ_TOKEN);
    dir.write("flags.json", FLAGS);
    std::fs::create_dir_all(dir.dir.path().join("state")).unwrap();
    dir
}

/// Calls the admin API; `token` None sends no Authorization header.
pub async fn admin(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    let body = if body.is_null() {
        Bytes::new()
    } else {
        Bytes::from(body.to_string())
    };
    let a: Answer = send(&client(), addr, method, path, &headers, body).await;
    let v = if a.body.is_empty() || path == "/metrics" {
        serde_json::Value::String(a.body.clone())
    } else {
        serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body))
    };
    (a.status, v)
}

/// The error code of an error answer.
pub fn code(v: &serde_json::Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}
