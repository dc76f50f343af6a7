//! The native engine's chunked re-framer (`proxy::h1::chunked::Reframer`)
//! on arbitrary bytes, fed in pieces whose sizes the first byte picks, the
//! payload passed through as the relay does. Invariants:
//! - the answer (output, bytes consumed, end found, or refusal) does not
//!   depend on how the input was split across reads;
//! - a body it ends is re-framed canonical: sizes in lower-case hex
//!   without leading zeros, no extensions, `0` CRLF CRLF, no trailers
//!   (checked by an independent strict decoder below), and that output
//!   carries exactly the payload bytes that were passed through;
//! - the output fed again is accepted whole and comes out unchanged (the
//!   canonical form is a fixed point);
//! - it never consumes past the end of the body, nor more than it got.
#![no_main]

use ehrgate::proxy::h1::chunked::Reframer;
use libfuzzer_sys::fuzz_target;

/// What re-framing one input gave.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// Framing written plus payload passed through, in order.
    out: Vec<u8>,
    /// The payload bytes alone.
    payload: Vec<u8>,
    /// Input bytes consumed (framing and payload).
    consumed: usize,
    /// The body ended.
    done: bool,
    /// The framing was refused.
    refused: bool,
}

/// Feeds `input` in pieces of the given sizes (cycled), as the relay does.
fn reframe(input: &[u8], sizes: &[usize]) -> Outcome {
    let mut r = Reframer::default();
    let mut o = Outcome {
        out: Vec::new(),
        payload: Vec::new(),
        consumed: 0,
        done: false,
        refused: false,
    };
    let mut rest = input;
    let mut sizes = sizes.iter().cycle();
    'pieces: while !rest.is_empty() {
        let n = (*sizes.next().unwrap_or(&1)).clamp(1, rest.len());
        let (mut piece, tail) = rest.split_at(n);
        rest = tail;
        loop {
            let Ok(f) = r.feed(piece, &mut o.out) else {
                // How much of the last piece was read before the refusal
                // depends on the split: not part of the answer.
                o.refused = true;
                o.consumed = 0;
                break 'pieces;
            };
            assert!(f.consumed + f.data <= piece.len(), "consumed past the input");
            let data = &piece[f.consumed..f.consumed + f.data];
            o.out.extend_from_slice(data);
            o.payload.extend_from_slice(data);
            o.consumed += f.consumed + f.data;
            piece = &piece[f.consumed + f.data..];
            if f.done {
                assert!(r.is_done());
                o.done = true;
                break 'pieces;
            }
            if piece.is_empty() {
                break;
            }
            // Not done and input left: only a payload hand-over stops early.
            assert!(f.data > 0, "the re-framer stopped without a reason");
        }
    }
    o
}

/// The payload of a canonical chunked body that is exactly `wire`.
fn canonical_payload(mut wire: &[u8]) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    loop {
        let i = wire.windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&wire[..i]).ok()?;
        let size = usize::from_str_radix(line, 16).ok()?;
        if format!("{size:x}") != line {
            return None;
        }
        wire = &wire[i + 2..];
        if size == 0 {
            return (wire == b"\r\n").then_some(data);
        }
        data.extend_from_slice(wire.get(..size)?);
        if wire.get(size..size + 2)? != b"\r\n" {
            return None;
        }
        wire = &wire[size + 2..];
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let whole = reframe(input, &[input.len().max(1)]);
    // Split invariance: 1..=8-byte reads, and an uneven cycle.
    let small = reframe(input, &[usize::from(first % 8) + 1]);
    assert_eq!(small, whole, "one-byte-ish reads changed the answer");
    let uneven = reframe(input, &[usize::from(first >> 4) + 1, 1, 3, 17]);
    assert_eq!(uneven, whole, "uneven reads changed the answer");
    assert!(whole.consumed <= input.len());
    if !whole.done {
        return;
    }
    assert!(!whole.refused);
    let payload = canonical_payload(&whole.out).expect("the output is canonical chunked");
    assert_eq!(payload, whole.payload, "the output carries the payload passed through");
    let again = reframe(&whole.out, &[whole.out.len()]);
    assert!(again.done && !again.refused);
    assert_eq!(again.consumed, whole.out.len());
    assert_eq!(again.out, whole.out, "canonical output is a fixed point");
    assert_eq!(again.payload, whole.payload);
});
