//! Black-box tests of `ehrgate translate` through the built binary: exit
//! codes 0/1/2, one Bundle vs NDJSON, stdin, directories and `--report`.

// Test code: a failed expectation is a panic with the reason.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../conformance/corpus/hl7v2")
        .join(name)
}

fn ehrgate(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ehrgate"));
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn: {e}"));
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(data)
            .unwrap_or_else(|e| panic!("stdin: {e}"));
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait: {e}"))
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().unwrap_or_default()
}

#[test]
fn one_message_gives_one_bundle_and_exit_0() {
    let f = corpus("ADT-A01-01.hl7");
    let out = ehrgate(
        &["translate", "--from", "hl7v2", "--to", "fhir", path(&f)],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(v["resourceType"], "Bundle");
    assert_eq!(v["type"], "transaction");
}

#[test]
fn stdin_with_several_messages_gives_ndjson() {
    let mut input = std::fs::read(corpus("ADT-A01-01.hl7")).unwrap_or_default();
    input.push(b'\n');
    // VXU.hl7 starts with a BOM: concatenated files carry one per message.
    input.extend(std::fs::read(corpus("VXU.hl7")).unwrap_or_default());
    let out = ehrgate(
        &[
            "translate",
            "--from",
            "hl7v2",
            "--to",
            "fhir",
            "--bundle-type",
            "collection",
            "-",
        ],
        Some(&input),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
        assert_eq!(v["type"], "collection");
    }
}

#[test]
fn directory_with_a_bad_message_exits_1_and_reports() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(corpus("ORU-R01-01.hl7"), dir.path().join("a.hl7"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("b.hl7"),
        b"MSH|^~\\&|A|B|C|D|20240101||QRY^Q01|1|P|2.5\rPID|1||9^^^X\r",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let report = dir.path().join("report.json");
    let d = dir.path().to_path_buf();
    let out = ehrgate(
        &[
            "translate",
            "--from",
            "hl7v2",
            "--to",
            "fhir",
            "--report",
            path(&report),
            path(&d),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("message 1") && stderr.contains("not supported"),
        "{stderr}"
    );
    // the good message is still written, as one NDJSON line
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap_or_default()).unwrap_or_default();
    assert_eq!(r.as_array().map(Vec::len), Some(2));
    assert_eq!(r[0]["ok"], true);
    assert!(r[0]["unmapped"].as_array().is_some_and(|a| !a.is_empty()));
    assert_eq!(r[1]["ok"], false);
}

#[test]
fn parse_errors_name_the_location_and_exit_1() {
    let out = ehrgate(
        &["translate", "--from", "hl7v2", "--to", "fhir", "-"],
        Some(b"PID|1||x\r"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("message 0"));
}

#[test]
fn usage_errors_exit_2() {
    let out = ehrgate(&["translate", "--from", "hl7v2"], None);
    assert_eq!(out.status.code(), Some(2));
    // a pair no direction serves (FHIR -> HL7 v2 exists since issue 22)
    let out = ehrgate(
        &["translate", "--from", "openehr", "--to", "hl7v2", "-"],
        Some(b""),
    );
    assert_eq!(out.status.code(), Some(2));
    let out = ehrgate(
        &[
            "translate",
            "--from",
            "hl7v2",
            "--to",
            "fhir",
            "/nonexistent/file.hl7",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let out = ehrgate(
        &[
            "translate",
            "--from",
            "hl7v2",
            "--to",
            "fhir",
            "--timezone",
            "CET",
            "-",
        ],
        Some(b""),
    );
    assert_eq!(out.status.code(), Some(2));
}
