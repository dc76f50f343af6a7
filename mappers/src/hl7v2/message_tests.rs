//! Tests of parsing and access through the public API.

use std::borrow::Cow;

use super::*;
use crate::error::Classified;

const ADT: &[u8] =
    b"MSH|^~\\&|SEND|FAC|RECV|RFAC|20240101120000||ADT^A01^ADT_A01|MSG00001|P|2.5.1\r\
EVN|A01|20240101120000\r\
PID|1||123^^^HOSP^MR~456^^^SSA^SS||Doe^John^Q\\S\\R||19800101|M|||Main St 1^^Town\r\
OBX|1|NM|8480-6^Systolic^LN||120|mm[Hg]\r\
OBX|2|ST|X^Note||a\\.br\\b\r\
OBX|3|CE|Y^Code^L||c1^Cuff^L|\r\
ZPI|custom|\"\"||\r";

#[test]
fn parses_and_accesses() {
    let m = Message::parse(ADT).unwrap();
    assert_eq!(m.segment_count(), 7);
    assert_eq!(m.message_code().as_deref(), Some("ADT"));
    assert_eq!(m.trigger_event().as_deref(), Some("A01"));
    assert_eq!(m.control_id().as_deref(), Some("MSG00001"));
    assert_eq!(m.version().as_deref(), Some("2.5.1"));
    assert_eq!(m.charset(), Charset::Ascii);
    let names: Vec<_> = m.segments().map(|s| s.name()).collect();
    assert_eq!(names, ["MSH", "EVN", "PID", "OBX", "OBX", "OBX", "ZPI"]);
    assert_eq!(m.segments_named("OBX").count(), 3);
    let pid = m.segment("PID").unwrap();
    assert_eq!(pid.index(), 2);
    assert_eq!(&ADT[pid.byte_offset()..pid.byte_offset() + 4], b"PID|");
    assert_eq!(pid.field(5).component(3).text(), "Q^R");
    assert_eq!(pid.field(3).repetitions().count(), 2);
    assert_eq!(pid.field(99).raw(), b"");
    assert_eq!(pid.field_count(), 11);
}

#[test]
fn terser_paths() {
    let m = Message::parse(ADT).unwrap();
    let get = |p: &str| m.get(p).unwrap().map(|v| v.text().into_owned());
    assert_eq!(get("PID-3(2)-1").as_deref(), Some("456"));
    assert_eq!(get("PID-3-1").as_deref(), Some("123"));
    assert_eq!(get("PID-3(2)-4").as_deref(), Some("SSA"));
    assert_eq!(get("PID-3").as_deref(), Some("123^^^HOSP^MR~456^^^SSA^SS"));
    assert_eq!(get("OBX(3)-5-2").as_deref(), Some("Cuff"));
    assert_eq!(get("OBX(2)-5").as_deref(), Some("a\nb"));
    assert_eq!(get("OBX(4)-5"), None);
    assert_eq!(get("PV1-2"), None);
    assert_eq!(get("PID-30-2").as_deref(), Some(""));
    assert_eq!(get("MSH-1").as_deref(), Some("|"));
    assert_eq!(get("MSH-2").as_deref(), Some("^~\\&"));
    assert_eq!(get("MSH-9-3").as_deref(), Some("ADT_A01"));
    assert!(m.get("PID-x").is_err());
    assert!(m.get("ZPI-2").unwrap().unwrap().is_null());
}

#[test]
fn msh_fields_iterate_with_hl7_numbering() {
    let m = Message::parse(ADT).unwrap();
    let msh = m.segment_at(0).unwrap();
    let f: Vec<_> = msh.fields().map(|(i, v)| (i, v.raw())).take(4).collect();
    assert_eq!(
        f,
        [(1, &b"|"[..]), (2, b"^~\\&"), (3, b"SEND"), (4, b"FAC")]
    );
    assert_eq!(msh.field_count(), 12);
    assert_eq!(msh.fields().count(), 12);
    let pid = m.segment("PID").unwrap();
    assert_eq!(pid.fields().count(), pid.field_count());
    for (seq, v) in pid.fields() {
        assert_eq!(v.raw(), pid.field(seq).raw());
    }
}

#[test]
fn round_trip_is_byte_exact() {
    let m = Message::parse(ADT).unwrap();
    assert_eq!(m.to_er7(), ADT);
    let lf = String::from_utf8(ADT.to_vec()).unwrap().replace('\r', "\n");
    let m = Message::parse(lf.as_bytes()).unwrap();
    assert_eq!(m.to_er7(), ADT);
    let crlf = String::from_utf8(ADT.to_vec())
        .unwrap()
        .replace('\r', "\r\n");
    let m = Message::parse(crlf.as_bytes()).unwrap();
    assert_eq!(m.to_er7(), ADT);
}

#[test]
fn delimiter_variants() {
    let m = Message::parse(b"MSH^~|\\&^S^F^R^RF^^^ADT~A24^C1^P^2.4\rPID^1^^a~b|c~d").unwrap();
    assert_eq!(m.trigger_event().as_deref(), Some("A24"));
    assert_eq!(m.get("PID-3(2)-2").unwrap().unwrap().text(), "d");
    let m = Message::parse(b"MSH|^~\\&#|S|F|R|RF|||ADT^A01|C1|P|2.7\rPID|1||a#b\\P\\").unwrap();
    assert_eq!(m.delimiters().truncation, Some(b'#'));
    assert_eq!(m.get("PID-3").unwrap().unwrap().text(), "a#b#");
    let m = Message::parse(b"MSH|^~}|S|F|R|RF|||ADT^A01|C1|P|2.1\rPID|1||a&b}F}").unwrap();
    assert_eq!(m.get("PID-3-1-1").unwrap().unwrap().text(), "a&b|");
    let m = Message::parse(b"MSH#$%!@#S#F#R#RF###ADT$A01#C1#P#2.3\rPID#1##x$y%z").unwrap();
    assert_eq!(m.get("PID-3(2)").unwrap().unwrap().text(), "z");
    assert_eq!(m.get("PID-3-2").unwrap().unwrap().text(), "y");
}

#[test]
fn bom_and_leading_blank_lines() {
    let mut input = b"\xEF\xBB\xBF\r\n".to_vec();
    input.extend_from_slice(ADT);
    let m = Message::parse(&input).unwrap();
    assert_eq!(m.charset(), Charset::Utf8);
    assert_eq!(m.segment_at(0).unwrap().byte_offset(), 5);
    assert_eq!(m.to_er7(), ADT);
}

#[test]
fn trailing_empty_fields_and_blank_lines_tolerated() {
    let m = Message::parse(b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5|||\n\nPID|1|||||\n\n").unwrap();
    assert_eq!(m.segment_count(), 2);
    assert_eq!(m.segment("PID").unwrap().field_count(), 6);
}

#[test]
fn charset_latin9_decodes_and_utf8_wins() {
    let latin9 = b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||8859/15\rPID|1||||M\xfcller^\xa4";
    let m = Message::parse(latin9).unwrap();
    assert_eq!(m.charset(), Charset::Latin9);
    assert!(m.warnings().is_empty());
    assert_eq!(m.get("PID-5-1").unwrap().unwrap().text(), "Müller");
    assert_eq!(m.get("PID-5-2").unwrap().unwrap().text(), "€");

    let mislabelled = "MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||8859/15\rPID|1||||Müller";
    let m = Message::parse(mislabelled.as_bytes()).unwrap();
    assert_eq!(m.charset(), Charset::Utf8);
    assert_eq!(m.warnings().len(), 1);
    assert_eq!(m.warnings()[0].location, "MSH-18");
    let name = m.get("PID-5-1").unwrap().unwrap().text();
    assert!(matches!(name, Cow::Borrowed("Müller")));

    let latin1 = b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||8859/1\rPID|1||||M\xfcller^\\XE9\\";
    let m = Message::parse(latin1).unwrap();
    assert_eq!(m.charset(), Charset::Latin1);
    assert_eq!(m.get("PID-5-2").unwrap().unwrap().text(), "é");

    let ascii = b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||ASCII\rPID|1||||Smith";
    assert_eq!(Message::parse(ascii).unwrap().charset(), Charset::Ascii);
    let utf8 = "MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||UNICODE UTF-8\rPID|1||||Żółw";
    let m = Message::parse(utf8.as_bytes()).unwrap();
    assert_eq!(m.charset(), Charset::Utf8);
    assert_eq!(m.get("PID-5").unwrap().unwrap().text(), "Żółw");
}

fn kind(input: &[u8]) -> ParseErrorKind {
    Message::parse(input).unwrap_err().kind().clone()
}

#[test]
fn bad_inputs() {
    assert_eq!(kind(b""), ParseErrorKind::Empty);
    assert_eq!(kind(b"\xEF\xBB\xBF\r\n"), ParseErrorKind::Empty);
    assert_eq!(kind(b"PID|1||x"), ParseErrorKind::NoMsh);
    assert_eq!(kind(b"MS"), ParseErrorKind::TruncatedMsh);
    assert_eq!(kind(b"MSH"), ParseErrorKind::TruncatedMsh);
    assert_eq!(kind(b"MSH|^~\\&"), ParseErrorKind::TruncatedMsh);
    assert_eq!(kind(b"MSH|^~\\&\rPID|1"), ParseErrorKind::TruncatedMsh);
    assert_eq!(kind(b"\x00\xff\x13garbage"), ParseErrorKind::NoMsh);
    assert_eq!(kind(b"MSH|^~\\&|A\rpid|1"), ParseErrorKind::BadSegmentName);
    assert_eq!(kind(b"MSH|^~\\&|A\rPIDX|1"), ParseErrorKind::BadSegmentName);
    let e = Message::parse(b"MSH|^~\\&|A\rPID|1\rP").unwrap_err();
    assert_eq!(e.segment_index(), Some(2));
    assert_eq!(e.byte_offset(), 17);
    assert_eq!(e.code(), "hl7v2.bad-segment-name");
    assert_eq!(
        Message::parse(b"garbage").unwrap_err().code(),
        "hl7v2.no-msh"
    );
}

#[test]
fn random_bytes_never_panic() {
    // A deterministic xorshift stream; the proptest below covers more.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for len in 0..2000 {
        let bytes: Vec<u8> = (0..len % 300)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut input = if len % 2 == 0 {
            b"MSH|^~\\&|".to_vec()
        } else {
            Vec::new()
        };
        input.extend_from_slice(&bytes);
        if let Ok(m) = Message::parse(&input) {
            walk(&m);
        }
    }
}

/// Touches every value at every level, as the fuzz target does.
pub(crate) fn walk(m: &Message<'_>) {
    for seg in m.segments() {
        for (_, f) in seg.fields() {
            let _ = f.text_checked();
            for r in f.repetitions() {
                for c in r.components() {
                    let _ = c.text();
                    for s in c.subcomponents() {
                        let _ = s.text();
                    }
                }
            }
        }
    }
    let _ = m.to_er7();
}

fn with_field(content: &[u8]) -> Vec<u8> {
    let mut input = b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rOBX|1|ED|||".to_vec();
    input.extend_from_slice(content);
    input.extend_from_slice(b"|x\r");
    input
}

#[test]
fn two_megabyte_field() {
    let input = with_field(&vec![b'A'; 2 * 1024 * 1024]);
    let m = Message::parse(&input).unwrap();
    assert_eq!(
        m.get("OBX-5").unwrap().unwrap().raw().len(),
        2 * 1024 * 1024
    );
    assert_eq!(m.get("OBX-6").unwrap().unwrap().text(), "x");
    let limits = Limits {
        max_field_bytes: 1024 * 1024,
        ..Limits::default()
    };
    let e = Message::parse_with(&input, &limits).unwrap_err();
    assert_eq!(
        e.kind(),
        &ParseErrorKind::FieldTooLarge { limit: 1024 * 1024 }
    );
    assert_eq!(
        (e.segment_name(), e.segment_index(), e.field()),
        (Some("OBX"), Some(1), Some(5))
    );
    assert_eq!(e.code(), "hl7v2.limit.field-bytes");
}

#[test]
fn twenty_thousand_repetitions() {
    let content = vec![&b"r"[..]; 20_000].join(&b'~');
    let input = with_field(&content);
    let e = Message::parse(&input).unwrap_err();
    assert_eq!(
        e.kind(),
        &ParseErrorKind::TooManyRepetitions { limit: 10_000 }
    );
    assert_eq!((e.segment_name(), e.field()), (Some("OBX"), Some(5)));
    assert_eq!(e.code(), "hl7v2.limit.repetitions");
    let limits = Limits {
        max_repetitions: 20_000,
        ..Limits::default()
    };
    let m = Message::parse_with(&input, &limits).unwrap();
    let field = m.get("OBX-5").unwrap().unwrap();
    assert_eq!(field.repetitions().count(), 20_000);
    assert!(field.repetitions().all(|r| r.text() == "r"));
}

#[test]
fn fifty_thousand_subcomponents() {
    let content = vec![&b"s"[..]; 50_000].join(&b'&');
    let input = with_field(&content);
    let m = Message::parse(&input).unwrap();
    let field = m.get("OBX-5").unwrap().unwrap();
    assert_eq!(field.subcomponents().count(), 50_000);
    assert_eq!(field.subcomponent(50_000).text(), "s");
    assert_eq!(field.subcomponent(50_001).text(), "");
    let limits = Limits {
        max_components: 10_000,
        ..Limits::default()
    };
    let e = Message::parse_with(&input, &limits).unwrap_err();
    assert_eq!(
        e.kind(),
        &ParseErrorKind::TooManyComponents { limit: 10_000 }
    );
    assert_eq!(e.code(), "hl7v2.limit.components");
}

#[test]
fn message_and_segment_limits() {
    let limits = Limits {
        max_message_bytes: 40,
        ..Limits::default()
    };
    assert_eq!(
        Message::parse_with(ADT, &limits).unwrap_err().code(),
        "hl7v2.limit.message-bytes"
    );
    let limits = Limits {
        max_segments: 3,
        ..Limits::default()
    };
    let e = Message::parse_with(ADT, &limits).unwrap_err();
    assert_eq!(e.code(), "hl7v2.limit.segments");
    assert_eq!(e.segment_index(), Some(3));
}

#[test]
fn unterminated_hex_escape_is_literal() {
    let m = Message::parse(b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rNTE|1||abc\\X41").unwrap();
    let (text, warning) = m.get("NTE-3").unwrap().unwrap().text_checked();
    assert_eq!(text, "abc\\X41");
    assert_eq!(warning.unwrap().kind, EscapeWarningKind::Unterminated);
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(m) = Message::parse(&bytes) { walk(&m); }
        }

        #[test]
        fn arbitrary_after_msh_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut input = b"MSH|^~\\&#|".to_vec();
            input.extend_from_slice(&bytes);
            if let Ok(m) = Message::parse(&input) { walk(&m); }
        }

        #[test]
        fn structured_round_trip(fields in proptest::collection::vec("[A-Za-z0-9 ^~&\\\\]{0,12}", 1..10)) {
            let mut input = b"MSH|^~\\&|A|B\rZZZ|".to_vec();
            input.extend_from_slice(fields.join("|").as_bytes());
            let m = Message::parse(&input).unwrap();
            prop_assert_eq!(m.to_er7(), [&input[..], b"\r"].concat());
            let z = m.segment("ZZZ").unwrap();
            for (i, f) in fields.iter().enumerate() {
                prop_assert_eq!(z.field(i + 1).raw(), f.as_bytes());
            }
        }
    }
}
