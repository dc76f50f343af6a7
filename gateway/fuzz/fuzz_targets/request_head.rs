//! The native engine's request-head parser (`proxy::h1::request::parse`)
//! on arbitrary bytes, with a head limit picked by the first byte. Beyond
//! "no panic", a head it serves must be one the rest of the engine can
//! trust:
//! - its length is within the input and the limit, and it ends with the
//!   empty line; one byte less is not yet a head;
//! - the framing agrees with the headers kept: `Length(n)` only with
//!   `Content-Length` lines that all say `n` and no `Transfer-Encoding`;
//!   `Chunked` only with a `Transfer-Encoding` the shared rule accepts and
//!   no `Content-Length`; `Empty` with neither (or `Content-Length: 0`);
//! - HTTP/1.1 in origin form only, never `CONNECT`, `Upgrade` or an
//!   `Expect` other than `100-continue` (those go to hyper);
//! - `keep_alive` is false exactly when `Connection` names `close`;
//! - parsing only the head's bytes gives the same answer (the body never
//!   changes how the head is read).
#![no_main]

use ehrgate::proxy::h1::request::{parse, Framing, Parsed, RequestHead};
use ehrgate::proxy::transfer_coding;
use http::header;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    // 64 B .. 16 KiB, so both the limit and real heads are reached.
    let max_head = 64 + usize::from(first) * 64;
    let Ok(Parsed::Head(head)) = parse(input, max_head) else {
        return;
    };
    check_head(input, max_head, &head);
    // The same bytes up to the end of the head parse the same way.
    match parse(&input[..head.len], max_head) {
        Ok(Parsed::Head(again)) => {
            assert_eq!(again.len, head.len);
            assert_eq!(again.framing, head.framing);
            assert_eq!(again.parts.uri, head.parts.uri);
            assert_eq!(again.parts.headers, head.parts.headers);
        }
        other => panic!("the head alone parsed as {other:?}"),
    }
    // One byte less is not a head yet.
    assert!(
        matches!(parse(&input[..head.len - 1], max_head), Ok(Parsed::Partial)),
        "a cut head was not Partial"
    );
});

fn check_head(input: &[u8], max_head: usize, head: &RequestHead) {
    assert!(head.len <= input.len() && head.len <= max_head);
    let raw = &input[..head.len];
    assert!(raw.ends_with(b"\n\n") || raw.ends_with(b"\n\r\n"), "head end");
    let parts = &head.parts;
    assert_eq!(parts.version, http::Version::HTTP_11);
    assert_ne!(parts.method, http::Method::CONNECT);
    assert!(parts.uri.path().starts_with('/'));
    assert!(parts.uri.authority().is_none());
    assert!(!parts.headers.contains_key(header::UPGRADE));
    let lengths: Vec<u64> = parts
        .headers
        .get_all(header::CONTENT_LENGTH)
        .iter()
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .expect("a kept Content-Length is a number")
        })
        .collect();
    let te = parts.headers.contains_key(header::TRANSFER_ENCODING);
    match head.framing {
        Framing::Length(n) => {
            assert!(n > 0 && !te);
            assert!(!lengths.is_empty() && lengths.iter().all(|&l| l == n));
        }
        Framing::Chunked => {
            assert!(lengths.is_empty());
            assert_eq!(transfer_coding::check_headers(&parts.headers), Ok(true));
        }
        Framing::Empty => {
            assert!(!te);
            assert!(lengths.iter().all(|&l| l == 0));
        }
        Framing::UntilClose => panic!("a request is never delimited by close"),
    }
    for v in parts.headers.get_all(header::EXPECT) {
        assert!(v.as_bytes().trim_ascii().eq_ignore_ascii_case(b"100-continue"));
    }
    assert_eq!(head.expect_continue, parts.headers.contains_key(header::EXPECT));
    let close = parts.headers.get_all(header::CONNECTION).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"))
    });
    assert_eq!(head.keep_alive, !close);
}
