//! Parse arbitrary bytes; when they parse, visit every value at every
//! level, decode its text, resolve paths, re-encode, split as a batch and
//! build an ACK. Nothing may panic, hang or take super-linear time.
#![no_main]

use ehrgate_mappers::hl7v2::{ack, batch, Limits, Message, OwnedMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Small limits too, so the limit paths are exercised.
    let small = Limits {
        max_message_bytes: 4096,
        max_segments: 16,
        max_field_bytes: 256,
        max_repetitions: 8,
        max_components: 16,
    };
    let _ = Message::parse_with(data, &small);
    for item in batch::split(data).chain(batch::split_lenient(data)).flatten() {
        let _ = Message::parse(item.bytes);
    }
    let Ok(m) = Message::parse(data) else { return };
    for seg in m.segments() {
        for (_, field) in seg.fields() {
            let _ = field.text_checked();
            for rep in field.repetitions() {
                let _ = rep.text();
                for comp in rep.components() {
                    let _ = comp.text_checked();
                    for sub in comp.subcomponents() {
                        let _ = sub.text();
                    }
                }
            }
        }
    }
    for path in ["PID-3(2)-1", "OBX(3)-5-2", "MSH-2", "MSH-18", "ZZZ-1-1-1"] {
        let _ = m.get(path);
    }
    let out = m.to_er7();
    let again = Message::parse(&out).expect("re-encoded message parses");
    assert_eq!(again.to_er7(), out, "second round trip differs");
    let _ = ack::build(&m, ack::AckCode::AE, &[], "ID", "20240101");
    let mut owned = OwnedMessage::from(&m);
    if owned.set("PID-5-1", "x|^~\\&#\r\n").is_ok() {
        let _ = Message::parse(&owned.to_er7()).expect("edited message parses");
    }
});
