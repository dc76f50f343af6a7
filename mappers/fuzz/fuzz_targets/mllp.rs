//! Feed arbitrary bytes to the MLLP decoder in arbitrary chunks; frames
//! must be well-formed and every input byte accounted for (frame payload,
//! frame markers or skipped), and every decoded payload re-encodes.
#![no_main]

use bytes::BytesMut;
use ehrgate_mappers::hl7v2::MllpCodec;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::{Decoder, Encoder};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    // The first byte picks the chunk size and the frame limit.
    let chunk = usize::from(first % 16) + 1;
    let mut codec = MllpCodec::new(usize::from(first) * 4);
    let mut buf = BytesMut::new();
    for part in rest.chunks(chunk) {
        buf.extend_from_slice(part);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(frame)) => {
                    assert!(!frame.payload.contains(&0x0B), "start byte inside payload");
                    // What we receive we can always forward.
                    let mut out = BytesMut::new();
                    MllpCodec::default()
                        .encode(&frame.payload[..], &mut out)
                        .expect("a decoded payload re-encodes");
                }
                Ok(None) => break,
                Err(_) => {}
            }
        }
    }
    while let Ok(Some(_)) = codec.decode_eof(&mut buf) {}
    assert!(codec.skipped_total() as usize <= rest.len());
});
