//! Every HL7 v2 message of the corpus parses and round-trips, and the
//! 18 messages of HAPI's sample batch file are found and do too.
//!
//! Round trip: `write_er7` must equal the input with the BOM removed,
//! segment terminators (CR, LF, CRLF) normalised to CR, blank lines
//! dropped and exactly one terminator after the last segment.

use ehrgate_conformance::{corpus_dir, corpus_files};
use ehrgate_mappers::hl7v2::{batch, Charset, Message};

/// The input as the writer must reproduce it.
fn normalise(input: &[u8]) -> Vec<u8> {
    let body = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut out = Vec::with_capacity(body.len() + 1);
    for line in body.split(|&b| b == b'\r' || b == b'\n') {
        if !line.is_empty() {
            out.extend_from_slice(line);
            out.push(b'\r');
        }
    }
    out
}

/// Touches every value at every level; returns the number of malformed
/// escapes met (kept literally, never a panic).
fn walk(m: &Message<'_>) -> usize {
    let mut malformed = 0;
    for seg in m.segments() {
        for (_, field) in seg.fields() {
            malformed += usize::from(field.text_checked().1.is_some());
            for rep in field.repetitions() {
                for comp in rep.components() {
                    for sub in comp.subcomponents() {
                        let _ = sub.text();
                    }
                }
            }
        }
    }
    malformed
}

#[test]
fn every_corpus_message_parses_and_round_trips() {
    let files = corpus_files("hl7v2", ".hl7");
    assert!(files.len() >= 150, "corpus missing: {} files", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read(path).unwrap();
        match Message::parse(&input) {
            Err(e) => failures.push(format!("{name}: {e}")),
            Ok(m) => {
                if m.to_er7() != normalise(&input) {
                    failures.push(format!("{name}: round trip differs"));
                }
                assert!(m.message_code().is_some(), "{name}: no MSH-9");
                assert!(m.segment_count() >= 2, "{name}: too few segments");
                walk(&m);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn corpus_message(name: &str) -> std::io::Result<Vec<u8>> {
    std::fs::read(corpus_dir().join("hl7v2").join(name))
}

#[test]
fn caret_field_separator_file() {
    let input = corpus_message("hapi-segmentfinder_a24.hl7").unwrap();
    let m = Message::parse(&input).unwrap();
    assert_eq!(m.delimiters().field, b'^');
    assert_eq!(m.delimiters().component, b'~');
    assert_eq!(m.delimiters().repetition, b'|');
    assert_eq!(m.trigger_event().as_deref(), Some("A24"));
    assert_eq!(m.segments_named("PID").count(), 2);
    assert_eq!(m.get("PID(2)-1").unwrap().unwrap().text(), "2");
}

#[test]
fn latin9_label_with_utf8_bytes_decodes_as_utf8() {
    for name in [
        "highmed-HiGHmedAdt00000012.hl7",
        "highmed-HiGHmedAdt00000020.hl7",
    ] {
        let input = corpus_message(name).unwrap();
        let m = Message::parse(&input).unwrap();
        assert_eq!(m.charset(), Charset::Utf8, "{name}");
        assert!(
            m.warnings().iter().any(|w| w.location == "MSH-18"),
            "{name}"
        );
        // No mojibake anywhere: every text is free of the typical "Ã".
        for seg in m.segments() {
            for (_, f) in seg.fields() {
                assert!(!f.text().contains('Ã'), "{name} {}", seg.name());
            }
        }
    }
}

#[test]
fn bom_files_are_utf8() {
    let input = corpus_message("ADT01-23.hl7").unwrap();
    assert!(input.starts_with(b"\xEF\xBB\xBF"));
    let m = Message::parse(&input).unwrap();
    assert_eq!(m.charset(), Charset::Utf8);
    assert_eq!(m.segment_at(0).unwrap().byte_offset(), 3);
}

#[test]
fn hapi_batch_file_has_18_messages() {
    let input = std::fs::read(corpus_dir().join("hl7v2/batch/hapi-messages.txt")).unwrap();
    let items: Vec<_> = batch::split_lenient(&input)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(items.len(), 18);
    for (i, item) in items.iter().enumerate() {
        assert_eq!(item.index, i);
        assert!(input[item.byte_offset..].starts_with(b"MSH"));
        let m = Message::parse(item.bytes).unwrap_or_else(|e| panic!("message {i}: {e}"));
        assert_eq!(m.to_er7(), normalise(item.bytes), "message {i}");
        assert!(m.control_id().is_some(), "message {i}");
        walk(&m);
    }
    // The file mixes `^~\&`, `^~\}` and the three-character `^~}`.
    let escapes: Vec<_> = items
        .iter()
        .map(|it| Message::parse(it.bytes).unwrap().delimiters().escape)
        .collect();
    assert!(escapes.contains(&Some(b'}')) && escapes.contains(&Some(b'\\')));
}
