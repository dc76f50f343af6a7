//! `ehrgate serve` as a process: serves, reloads on SIGHUP, refuses a broken
//! config on SIGHUP, and exits cleanly on SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{client, get, ConfigDir, TestUpstream};

fn config(port: u16, legacy: &str, new: &str, weight: u32) -> String {
    format!(
        r#"
[server]
reload_poll_ms = 0

[[listener]]
bind = "127.0.0.1:{port}"

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
"#
    )
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(ok.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reloads_on_sighup_and_drains_on_sigterm() {
    let legacy = TestUpstream::start("legacy").await;
    let new = TestUpstream::start("new").await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = ConfigDir::new(&config(port, &legacy.url(), &new.url(), 0));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ehrgate"))
        .args(["serve", "--config"])
        .arg(dir.path())
        .env("EHRGATE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut up = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "ehrgate serve did not start listening");
    let c = client();
    assert_eq!(
        get(&c, addr, "/fhir/Patient/1", "acme").await.body,
        "legacy"
    );

    std::fs::write(dir.path(), "this is not toml =").unwrap();
    signal(child.id(), "HUP");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        get(&c, addr, "/fhir/Patient/1", "acme").await.body,
        "legacy",
        "broken config must be refused"
    );

    std::fs::write(dir.path(), config(port, &legacy.url(), &new.url(), 100)).unwrap();
    signal(child.id(), "HUP");
    let mut switched = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if get(&c, addr, "/fhir/Patient/1", "acme").await.body == "new" {
            switched = true;
            break;
        }
    }
    assert!(switched, "SIGHUP did not reload");

    signal(child.id(), "TERM");
    let mut status = None;
    for _ in 0..100 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = status.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("ehrgate serve did not exit on SIGTERM")
    });
    assert!(status.success(), "{status:?}");
}
