//! A request's `Transfer-Encoding` (RFC 9112 sections 6.1 and 6.3), one
//! rule for both HTTP/1.1 engines: the gateway implements the `chunked`
//! coding only, and forwards a body only when its framing is exactly one
//! `chunked` (re-framed on the way, see [`super::h1::chunked`]).
//!
//! Every `Transfer-Encoding` line counts (several lines are one
//! comma-separated list, RFC 9110 section 5.3), in order:
//! - the final coding is not `chunked` (`chunked, gzip`, `gzip`, an empty
//!   value or element, `chunked;x=1`): 400, then the connection closes,
//!   as section 6.3 says (the body's length cannot be known);
//! - `chunked` more than once (`chunked, chunked`, or two lines of it):
//!   400, a sender MUST NOT apply it twice (section 7);
//! - any other coding before it (`gzip, chunked`, `identity, chunked`,
//!   unknown names): 501 Not Implemented (section 6.1: "a server that
//!   receives a request message with a transfer coding it does not
//!   understand SHOULD respond with 501"). Forwarding such a body
//!   de-chunked would hand the backend gzip bytes it was never told
//!   about (a silently changed value); `identity` is no longer a transfer
//!   coding at all (RFC 7230 removed it).
//!
//! nginx 1.22 for comparison: it accepts only a value that is exactly
//! `chunked` and answers 501 to anything else (`chunked, chunked` and
//! `chunked, gzip` included), and 400 to two `Transfer-Encoding` lines (a
//! unique header there). We tell the framing errors (400, the RFC's MUST)
//! from the codings we do not implement (501), and read two lines as the
//! list they are, so `chunked` + `chunked` is a 400 for the repetition.
//!
//! hyper's own parser already answers 400 (bare, before the gateway sees
//! the request) when the final coding is not `chunked`; the native engine
//! answers the same status with an OperationOutcome. Both close.

/// Why a `Transfer-Encoding` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodingError {
    /// The final coding is not `chunked`, or `chunked` is applied twice:
    /// the client's framing is wrong (400).
    #[error("the request's Transfer-Encoding does not end in one chunked coding")]
    BadFraming,
    /// A transfer coding other than `chunked` (501).
    #[error("the request uses a transfer coding the gateway does not implement")]
    NotImplemented,
}

impl From<CodingError> for super::error::ProxyError {
    fn from(e: CodingError) -> Self {
        match e {
            CodingError::BadFraming => super::error::ProxyError::BadTransferCoding,
            CodingError::NotImplemented => super::error::ProxyError::TransferCodingNotImplemented,
        }
    }
}

/// Checks every `Transfer-Encoding` line of a request, in order: `Ok(true)`
/// when the body is chunked, `Ok(false)` when there is no such line.
pub fn check<'v>(lines: impl IntoIterator<Item = &'v [u8]>) -> Result<bool, CodingError> {
    let mut seen = false;
    let mut chunked = 0usize;
    let mut other = false;
    let mut last_chunked = false;
    for line in lines {
        seen = true;
        for coding in line.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
            last_chunked = coding.eq_ignore_ascii_case(b"chunked");
            if last_chunked {
                chunked += 1;
            } else if !coding.is_empty() {
                other = true;
            }
        }
    }
    if !seen {
        return Ok(false);
    }
    if !last_chunked || chunked > 1 {
        return Err(CodingError::BadFraming);
    }
    if other {
        return Err(CodingError::NotImplemented);
    }
    Ok(true)
}

/// [`check`] on a header map's `Transfer-Encoding` lines.
pub fn check_headers(headers: &http::HeaderMap) -> Result<bool, CodingError> {
    check(
        headers
            .get_all(http::header::TRANSFER_ENCODING)
            .iter()
            .map(http::HeaderValue::as_bytes),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(lines: &[&str]) -> Result<bool, CodingError> {
        check(lines.iter().map(|l| l.as_bytes()))
    }

    #[test]
    fn one_chunked_is_the_only_coding_accepted() {
        assert_eq!(of(&[]), Ok(false));
        assert_eq!(of(&["chunked"]), Ok(true));
        assert_eq!(of(&[" Chunked "]), Ok(true));
        for bad in [
            &["chunked, gzip"][..],
            &["gzip"],
            &[""],
            &["chunked,"],
            &["chunked;x=1"],
            &["chunked", "gzip"],
            &["chunked, chunked"],
            &["chunked", "chunked"],
            &["gzip, chunked, chunked"],
        ] {
            assert_eq!(of(bad), Err(CodingError::BadFraming), "{bad:?}");
        }
        for unknown in [
            &["gzip, chunked"][..],
            &["identity, chunked"],
            &["x-custom, chunked"],
            &["gzip", "chunked"],
            &[",gzip,chunked"],
        ] {
            assert_eq!(of(unknown), Err(CodingError::NotImplemented), "{unknown:?}");
        }
    }
}
