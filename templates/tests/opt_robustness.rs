#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

//! Bad OPT input gets a clear error, never a panic or a hang; limits hold.

use ehrgate_fault::Classified;
use ehrgate_templates::{parse_opt, parse_opt_with, read_template_id, OptError, OptLimits};
use proptest::prelude::*;

fn small_opt() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../conformance/corpus/openehr/templates/minimal_evaluation.opt"
    ))
    .unwrap()
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let bytes = small_opt();
    for cut in (0..bytes.len()).step_by(7) {
        let result = parse_opt(&bytes[..cut]);
        assert!(result.is_err(), "truncated at {cut} parsed");
    }
    assert!(parse_opt(&bytes).is_ok());
}

#[test]
fn limits_are_enforced() {
    let bytes = small_opt();
    let tight = |f: fn(&mut OptLimits)| {
        let mut limits = OptLimits::default();
        f(&mut limits);
        parse_opt_with(&bytes, &limits).unwrap_err()
    };
    assert!(matches!(
        tight(|l| l.max_bytes = 100),
        OptError::TooLarge(100)
    ));
    assert!(matches!(tight(|l| l.max_depth = 5), OptError::TooDeep(5)));
    assert!(matches!(
        tight(|l| l.max_elements = 50),
        OptError::TooManyElements(50)
    ));
    assert_eq!(tight(|l| l.max_depth = 5).code(), "template.opt-too-large");

    let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
    assert!(matches!(
        parse_opt(deep.as_bytes()),
        Err(OptError::TooDeep(_))
    ));
}

#[test]
fn clear_errors_for_wrong_documents() {
    assert!(matches!(
        parse_opt(b"\xff\xfe<template/>"),
        Err(OptError::Encoding(0))
    ));
    assert!(matches!(
        parse_opt(b"<archetype><x/></archetype>"),
        Err(OptError::NotATemplate(name)) if name == "archetype"
    ));
    assert!(matches!(
        parse_opt(b"<template><language><code_string>en</code_string></language></template>"),
        Err(OptError::Missing("template_id/value"))
    ));
    assert!(matches!(parse_opt(b""), Err(OptError::Missing(_))));
    assert!(matches!(
        parse_opt(b"<template>&bogus;</template>"),
        Err(OptError::Xml { .. })
    ));
    let bad_number = String::from_utf8(small_opt()).unwrap().replacen(
        "<upper>1</upper>",
        "<upper>one</upper>",
        1,
    );
    let err = parse_opt(bad_number.as_bytes()).unwrap_err();
    assert!(matches!(err, OptError::InvalidNumber { .. }), "{err}");
}

#[test]
fn template_id_scan_matches_full_parse_and_handles_entities() {
    let bytes = small_opt();
    assert_eq!(
        read_template_id(&bytes, &OptLimits::default()).unwrap(),
        parse_opt(&bytes).unwrap().template_id
    );
    let doc = b"\xEF\xBB\xBF<template><template_id><value>A &amp; B&#233;</value></template_id></template>";
    assert_eq!(
        read_template_id(doc, &OptLimits::default())
            .unwrap()
            .as_str(),
        "A & B\u{e9}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random byte corruption never panics (errors or parses, both fine).
    #[test]
    fn corrupted_bytes_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut bytes = small_opt();
        for (index, value) in flips {
            let i = index.index(bytes.len());
            bytes[i] = value;
        }
        let _ = parse_opt(&bytes);
        let _ = read_template_id(&bytes, &OptLimits::default());
    }
}
