//! `ehrgate check-config`: the example config passes, broken configs fail
//! with the line of each problem.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/examples/gateway.toml")
}

fn check(path: &std::path::Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ehrgate"))
        .arg("check-config")
        .arg(path)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn example_config_is_valid() {
    let (ok, stdout, stderr) = check(&example());
    assert!(ok, "{stderr}");
    assert!(stdout.contains("5 route(s)"), "{stdout}");
}

#[test]
fn broken_config_reports_each_problem_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"[[listener]]
bind = "127.0.0.1:0"

[[backend]]
name = "a"
url = "http://127.0.0.1:1"
kind = "fhir"

[[tenant]]
id = "t1"

[[route]]
id = "r"
stable = "missing-backend"
canary = "a"
weight = 120
tenants = ["t1", "ghost"]
"#,
    )
    .unwrap();
    let (ok, _, stderr) = check(&path);
    assert!(!ok);
    assert!(
        stderr.contains("line 14") && stderr.contains("missing-backend"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 16") && stderr.contains("120"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 17") && stderr.contains("ghost"),
        "{stderr}"
    );
}

#[test]
fn syntax_error_reports_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[[listener]]\nbind = \"127.0.0.1:0\"\n[[route]\nid = 1\n",
    )
    .unwrap();
    let (ok, _, stderr) = check(&path);
    assert!(!ok);
    assert!(stderr.contains("line 3"), "{stderr}");
}

#[test]
fn unknown_flag_and_kind_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[[listener]]\nbind = \"127.0.0.1:0\"\n[[backend]]\nname = \"a\"\nurl = \"http://x:1\"\nkind = \"soap\"\n",
    )
    .unwrap();
    let (ok, _, stderr) = check(&path);
    assert!(!ok);
    assert!(
        stderr.contains("line 6") && stderr.contains("soap"),
        "{stderr}"
    );
}

/// The config embedded in the Kubernetes ConfigMap is the one a cluster
/// runs: it must pass `check-config` exactly like the example file.
#[test]
fn kubernetes_configmap_config_is_valid() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/k8s/configmap.yaml");
    let doc: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
    let data = &doc["data"];
    let dir = tempfile::tempdir().unwrap();
    for name in ["gateway.toml", "flags.json"] {
        let text = data[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} in ConfigMap"));
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let (ok, stdout, stderr) = check(&dir.path().join("gateway.toml"));
    assert!(ok, "{stdout}{stderr}");
}

#[test]
fn openehr_facade_settings_are_checked_with_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"[[listener]]
bind = "127.0.0.1:0"

[[backend]]
name = "fhir"
url = "http://127.0.0.1:1"
kind = "fhir"
[backend.openehr]
create_ehr = true

[[backend]]
name = "cdr"
url = "http://127.0.0.1:2"
kind = "openehr"
[backend.openehr]
composition_format = "flat"
subject_namespace = "has space"
subject_namespaces = { ghost = "x" }
templates = { Patient = ["IDCR - Problem List.v1"], Observation = ["No such template"] }

[[tenant]]
id = "t1"

[[route]]
id = "r"
stable = "cdr"
"#,
    )
    .unwrap();
    let (ok, _, stderr) = check(&path);
    assert!(!ok);
    for (line, what) in [
        (5, "is not kind = \"openehr\""),
        (12, "unknown tenant `ghost`"),
        (12, "does not serve `Patient`"),
        (17, "must be 1..=256 characters without spaces"),
        (19, "no shipped mapping for template `No such template`"),
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&format!("line {line},")) && l.contains(what)),
            "line {line}: {what}\n{stderr}"
        );
    }
}

#[test]
fn failover_writes_and_placement_capacity_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let base = "[[listener]]\nbind = \"127.0.0.1:0\"\n[[backend]]\nname = \"a\"\nurl = \"http://x:1\"\nkind = \"fhir\"\n[[route]]\nid = \"r\"\nstable = \"a\"\n";
    std::fs::write(&path, format!("{base}failover = \"sometimes\"\n")).unwrap();
    let (ok, _, stderr) = check(&path);
    assert!(!ok);
    assert!(
        stderr.contains("line 10") && stderr.contains("sometimes"),
        "{stderr}"
    );
    std::fs::write(&path, format!("{base}writes = \"canary\"\n")).unwrap();
    let (ok, _, stderr) = check(&path);
    assert!(!ok);
    assert!(
        stderr.contains("line 10") && stderr.contains("canary"),
        "{stderr}"
    );
    std::fs::write(&path, format!("[server]\nplacement_capacity = 0\n{base}")).unwrap();
    let (ok, _, stderr) = check(&path);
    assert!(!ok);
    assert!(stderr.contains("placement_capacity"), "{stderr}");
    std::fs::write(
        &path,
        format!("{base}failover = \"none\"\nwrites = \"stable\"\n"),
    )
    .unwrap();
    let (ok, stdout, stderr) = check(&path);
    assert!(ok, "{stdout}{stderr}");
}
