//! Chunked bodies (RFC 9112 section 7.1), re-framed on the way through.
//!
//! # The rule
//! The payload passes byte for byte (never buffered whole, never copied
//! more than the relay already does); the framing around it is rewritten
//! in canonical form, so a backend (or client) never sees a size line,
//! extension or trailer another parser could read differently:
//! - each chunk goes out as `size CRLF data CRLF`, the size in lower-case
//!   hex without leading zeros, without extensions;
//! - the body ends with `0 CRLF CRLF`: trailers are read (bounded) and
//!   dropped, whatever they name (a trailer `Content-Length`,
//!   `Transfer-Encoding` or `Host` included);
//! - refused (the request is answered 400, a response is a 502) is what
//!   the grammar does not allow: no hex digit, a non-hex byte in the size,
//!   a size over 64 bits, whitespace followed by anything but `;` or CR,
//!   a bare LF or a CR without LF anywhere in the framing, control bytes
//!   in an extension, data not followed by CRLF, a trailer line that is
//!   not `field-name ":" field-value` (no colon, an empty or non-token
//!   name, obs-fold, control bytes), an overlong size line; hyper's
//!   limits too (16 KiB of trailers, 100 trailer lines, 16 KiB of
//!   extensions over the body), so hyper's path, which applies both its
//!   own decoder and this one, refuses nothing the native engine takes.
//!   Leading zeros are grammatical (`1*HEXDIG`) and are accepted, then
//!   dropped.
//! - whitespace between the size and CRLF (`3 ` CRLF) is not in the
//!   grammar (BWS is allowed only before `;`), but its reading is not in
//!   doubt: no parser takes `3 ` for another size than 3, and the
//!   backend never sees it (the line goes out as `3` CRLF). It is
//!   re-framed, as hyper's decoder does, so both engines give the same
//!   answer (a 400 here and a 200 there was the worse disagreement).
//!
//! hyper's path (the `hyper` engine, and requests the native engine hands
//! to hyper) decodes with hyper's decoder and re-chunks with hyper's
//! encoder: canonical sizes, no extensions, trailers not forwarded (the
//! `Trailer` header is hop-by-hop here, and hyper only writes declared
//! trailers). Where hyper's decoder is laxer (a bare LF inside a trailer
//! line), [`crate::proxy::framing_guard`] runs this Reframer over the
//! client's bytes on hyper's path too, so both engines refuse the same
//! framing.

/// Longest chunk-size line (size and extensions) accepted.
const MAX_SIZE_LINE: usize = 4096;
/// Trailer bytes after the last chunk: refused at this many (hyper's
/// limit, so both engines refuse the same bodies).
const MAX_TRAILERS: usize = 16 * 1024;
/// Most trailer lines (hyper's default header count).
const MAX_TRAILER_LINES: usize = 100;
/// Chunk-extension bytes (after each `;`) over the whole body: refused at
/// this many (hyper's limit).
const MAX_EXTENSION_BYTES: usize = 16 * 1024;
/// The canonical last chunk with an empty trailer section.
const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Why a chunked body is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed chunked body")]
pub struct ChunkError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Hex digits of a chunk size.
    Size { digits: usize },
    /// Whitespace after the size: only `;` may follow.
    SizeWs,
    /// Chunk extensions, up to CR.
    Ext,
    /// LF after the size line.
    SizeLf,
    /// Payload bytes still to come in this chunk.
    Data(u64),
    /// CR after the payload.
    DataCr,
    /// LF after the payload.
    DataLf,
    /// Start of a trailer line (or the final CRLF).
    TrailerStart,
    /// A trailer field name, up to `:`.
    TrailerName,
    /// A trailer field value, up to CR.
    Trailer,
    /// LF after a trailer line.
    TrailerLf,
    /// LF of the final empty line.
    FinalLf,
    /// The body is complete.
    Done,
}

/// What one [`Reframer::feed`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feed {
    /// Framing bytes of the input read (their canonical form, if any, was
    /// appended to the output).
    pub consumed: usize,
    /// Payload bytes right after them, to pass through unchanged.
    pub data: usize,
    /// The body ended (the last chunk was written to the output).
    pub done: bool,
}

/// Re-frames a chunked body across reads.
#[derive(Debug, Clone)]
pub struct Reframer {
    state: State,
    size: u64,
    line: usize,
    trailers: usize,
    trailer_lines: usize,
    extension_bytes: usize,
}

// === impl Reframer ===

impl Default for Reframer {
    fn default() -> Self {
        Reframer {
            state: State::Size { digits: 0 },
            size: 0,
            line: 0,
            trailers: 0,
            trailer_lines: 0,
            extension_bytes: 0,
        }
    }
}

impl Reframer {
    /// Reads framing bytes from `input`, appending their canonical form to
    /// `out`, until the input ends, payload begins (`data` bytes of it
    /// follow the consumed ones; the caller passes them on, then feeds the
    /// rest) or the body ends.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Feed, ChunkError> {
        let mut i = 0;
        while i < input.len() {
            if let State::Data(left) = self.state {
                let data = left.min((input.len() - i) as u64);
                self.state = if data == left {
                    State::DataCr
                } else {
                    State::Data(left - data)
                };
                return Ok(Feed {
                    consumed: i,
                    data: data as usize,
                    done: false,
                });
            }
            let b = input[i];
            i += 1;
            self.state = self.step(b, out)?;
            if self.state == State::Done {
                break;
            }
        }
        Ok(Feed {
            consumed: i,
            data: 0,
            done: self.state == State::Done,
        })
    }

    /// Whether the body has ended.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn size_line_byte(&mut self) -> Result<(), ChunkError> {
        self.line += 1;
        if self.line > MAX_SIZE_LINE {
            return Err(ChunkError);
        }
        Ok(())
    }

    fn step(&mut self, b: u8, out: &mut Vec<u8>) -> Result<State, ChunkError> {
        Ok(match self.state {
            State::Size { digits } => {
                self.size_line_byte()?;
                match (b as char).to_digit(16) {
                    Some(d) => {
                        self.size = self
                            .size
                            .checked_mul(16)
                            .and_then(|s| s.checked_add(u64::from(d)))
                            .ok_or(ChunkError)?;
                        State::Size { digits: digits + 1 }
                    }
                    None if digits == 0 => return Err(ChunkError),
                    None => match b {
                        b';' => State::Ext,
                        b' ' | b'\t' => State::SizeWs,
                        b'\r' => State::SizeLf,
                        _ => return Err(ChunkError),
                    },
                }
            }
            State::SizeWs => {
                self.size_line_byte()?;
                match b {
                    b' ' | b'\t' => State::SizeWs,
                    b';' => State::Ext,
                    b'\r' => State::SizeLf,
                    _ => return Err(ChunkError),
                }
            }
            State::Ext => {
                self.size_line_byte()?;
                match b {
                    b'\r' => State::SizeLf,
                    0..=0x08 | 0x0a..=0x1f | 0x7f => return Err(ChunkError),
                    _ => {
                        self.extension_bytes += 1;
                        if self.extension_bytes >= MAX_EXTENSION_BYTES {
                            return Err(ChunkError);
                        }
                        State::Ext
                    }
                }
            }
            State::SizeLf => {
                if b != b'\n' {
                    return Err(ChunkError);
                }
                let size = std::mem::take(&mut self.size);
                self.line = 0;
                if size == 0 {
                    State::TrailerStart
                } else {
                    write_size_line(size, out);
                    State::Data(size)
                }
            }
            State::DataCr if b == b'\r' => State::DataLf,
            State::DataLf if b == b'\n' => {
                out.extend_from_slice(b"\r\n");
                State::Size { digits: 0 }
            }
            State::TrailerStart
            | State::TrailerName
            | State::Trailer
            | State::TrailerLf
            | State::FinalLf => {
                self.trailers += 1;
                if self.trailers >= MAX_TRAILERS {
                    return Err(ChunkError);
                }
                match (self.state, b) {
                    (State::TrailerStart, b'\r') => State::FinalLf,
                    (State::FinalLf, b'\n') => {
                        out.extend_from_slice(LAST_CHUNK);
                        State::Done
                    }
                    // field-line = field-name ":" OWS field-value OWS
                    (State::TrailerStart | State::TrailerName, b) if is_tchar(b) => {
                        State::TrailerName
                    }
                    (State::TrailerName, b':') => State::Trailer,
                    (State::Trailer, b'\r') => State::TrailerLf,
                    (State::Trailer, b'\t' | 0x20..=0x7e | 0x80..=0xff) => State::Trailer,
                    (State::TrailerLf, b'\n') => {
                        self.trailer_lines += 1;
                        if self.trailer_lines > MAX_TRAILER_LINES {
                            return Err(ChunkError);
                        }
                        State::TrailerStart
                    }
                    _ => return Err(ChunkError),
                }
            }
            State::Data(_) | State::DataCr | State::DataLf | State::Done => return Err(ChunkError),
        })
    }
}

/// A `tchar` of RFC 9110 section 5.6.2 (field names are tokens).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `size` in lower-case hex without leading zeros, then CRLF.
fn write_size_line(size: u64, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    let mut n = size;
    loop {
        i -= 1;
        digits[i] = HEX[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `parts` in turn, passing payload through as a relay does; the
    /// re-framed bytes and whether the body ended.
    fn reframe(parts: &[&[u8]]) -> Result<(Vec<u8>, usize, bool), ChunkError> {
        let mut r = Reframer::default();
        let mut out = Vec::new();
        let mut consumed = 0;
        for p in parts {
            let mut p = *p;
            loop {
                let f = r.feed(p, &mut out)?;
                out.extend_from_slice(&p[f.consumed..f.consumed + f.data]);
                consumed += f.consumed + f.data;
                p = &p[f.consumed + f.data..];
                if f.done || p.is_empty() {
                    break;
                }
            }
        }
        Ok((out, consumed, r.is_done()))
    }

    #[test]
    fn writes_canonical_framing_and_finds_the_end() {
        let body = b"5\r\nhello\r\n01A;ext=1 ; b=\"x\"\r\nabcdefghijklmnopqrstuvwxyz\r\n0000\r\ncontent-length: 50\r\nhost: x\r\nx-empty:\r\nx-t:\ta\xff b \r\n\r\nNEXT";
        let (out, consumed, done) = reframe(&[body]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "5\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n"
        );
        assert_eq!((consumed, done), (body.len() - 4, true));
        for bws in [
            &b"3 ;x\r\nabc\r\n0\r\n\r\n"[..],
            b"3 \r\nabc\r\n0\r\n\r\n",
            b"3\t \r\nabc\r\n0 \r\n\r\n",
        ] {
            let (out, _, _) = reframe(&[bws]).unwrap();
            assert_eq!(out, b"3\r\nabc\r\n0\r\n\r\n");
        }
    }

    #[test]
    fn works_across_any_split() {
        let body = b"005\r\nhello\r\n0\r\nx-trailer: 1\r\n\r\n";
        for cut in 0..body.len() {
            let (a, b) = body.split_at(cut);
            assert_eq!(
                reframe(&[a, b]),
                Ok((b"5\r\nhello\r\n0\r\n\r\n".to_vec(), body.len(), true)),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn refuses_what_rfc_9112_does_not_allow() {
        for bad in [
            &b"x\r\n"[..],
            b"\r\n",
            b"5\nhello",
            b"5\r\nhelloX\r\n",
            b"ffffffffffffffffff\r\n",
            b"10000000000000000\r\n",
            b"3 x\r\nabc",
            b"3 \nabc",
            b"3;a\nb\r\n",
            b"3;a\x00\r\n",
            b"3\r\rabc",
            b"0\r\n\n",
            b"0\r\nx: 1\n\r\n",
            b"0\r\ngarbage\r\n\r\n",
            b"0\r\nGET /next HTTP/1.1\r\n\r\n",
            b"0\r\nx: 1\r\n folded\r\n\r\n",
            b"0\r\nx : 1\r\n\r\n",
            b"0\r\nx: a\x00b\r\n\r\n",
            b"0\r\n: x\r\n\r\n",
            b"0\r\n x: 1\r\n\r\n",
            b"0\r\nx y: 1\r\n\r\n",
            b"0\r\nx: a\x01\r\n\r\n",
        ] {
            assert_eq!(reframe(&[bad]), Err(ChunkError), "{bad:?}");
        }
        let mut line = b"1;".to_vec();
        line.extend_from_slice(&vec![b'a'; MAX_SIZE_LINE + 2]);
        assert_eq!(reframe(&[&line]), Err(ChunkError));
        let mut zeros = vec![b'0'; MAX_SIZE_LINE + 2];
        zeros.extend_from_slice(b"1\r\n");
        assert_eq!(reframe(&[&zeros]), Err(ChunkError));
        // hyper's limits, so the engines agree: 100 trailer lines, 16 KiB
        // of trailers, 16 KiB of extensions over the body
        let lines = |n: usize| {
            let mut b = b"0\r\n".to_vec();
            for _ in 0..n {
                b.extend_from_slice(b"x: 1\r\n");
            }
            b.extend_from_slice(b"\r\n");
            b
        };
        assert!(reframe(&[&lines(100)]).is_ok_and(|(_, _, done)| done));
        assert_eq!(reframe(&[&lines(101)]), Err(ChunkError));
        let mut big = b"0\r\nx: ".to_vec();
        big.extend_from_slice(&vec![b'a'; MAX_TRAILERS]);
        assert_eq!(reframe(&[&big]), Err(ChunkError));
        let mut ext = Vec::new();
        for _ in 0..5 {
            ext.extend_from_slice(b"1;");
            ext.extend_from_slice(&vec![b'e'; 4000]);
            ext.extend_from_slice(b"\r\na\r\n");
        }
        assert_eq!(reframe(&[&ext]), Err(ChunkError));
    }

    #[test]
    fn stops_before_a_partial_end() {
        let (out, consumed, done) = reframe(&[b"3\r\nabc\r\n0\r\n"]).unwrap();
        assert_eq!(
            (out.as_slice(), consumed, done),
            (&b"3\r\nabc\r\n"[..], 11, false)
        );
    }
}
