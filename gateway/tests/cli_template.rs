#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

//! `ehrgate template ...` end to end: exit codes and output.

use std::process::Command;

fn ehrgate(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ehrgate"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn inspect_and_flat_paths() {
    let (code, out, _) = ehrgate(&[
        "template",
        "inspect",
        "templates/opt/IDCR - Adverse Reaction List.v1.opt",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("template_id\tAdverse Reaction List.v1\n"),
        "{out}"
    );

    let (code, out, _) = ehrgate(&["template", "flat-paths", "templates/opt/Blood Pressure.opt"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("blood_pressure/blood_pressure/any_event:0/systolic|magnitude\tDV_QUANTITY\t"),
        "{out}"
    );
}

#[test]
fn check_names_duplicate_files_and_fails() {
    let (code, _, err) = ehrgate(&["template", "check", "conformance/corpus/openehr/templates"]);
    assert_eq!(code, 1);
    assert!(err.contains("declared by both"), "{err}");
    let (code, out, _) = ehrgate(&["template", "check", "templates/opt"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("13 templates"), "{out}");
}

#[test]
fn unreadable_file_is_a_failure_not_a_panic() {
    let (code, _, err) = ehrgate(&["template", "inspect", "no/such/file.opt"]);
    assert_ne!(code, 0);
    assert!(err.contains("no/such/file.opt"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
