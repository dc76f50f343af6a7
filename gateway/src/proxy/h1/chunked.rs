//! A pass-through scanner for chunked bodies (RFC 9112 section 7.1).
//!
//! The proxy forwards chunked bodies byte for byte (chunk sizes,
//! extensions and trailers included) instead of decoding and re-chunking
//! them; it only has to know where the body ends and how many payload
//! bytes it carried (for the size limit and the access log). Size lines and
//! trailers are bounded so a peer cannot make us scan forever.

/// Longest chunk-size line (size and extensions) accepted.
const MAX_SIZE_LINE: usize = 4096;
/// Most trailer bytes accepted after the last chunk.
const MAX_TRAILERS: usize = 16 * 1024;

/// Why a chunked body is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed chunked body")]
pub struct ChunkError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Hex digits of a chunk size.
    Size { digits: usize },
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
    /// Inside a trailer line.
    Trailer,
    /// LF after a trailer line.
    TrailerLf,
    /// LF of the final empty line.
    FinalLf,
    /// The body is complete.
    Done,
}

/// What one [`ChunkedScanner::scan`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// Bytes of the input that belong to the body.
    pub consumed: usize,
    /// Payload (chunk data) bytes among them.
    pub payload: u64,
    /// The body ended within them.
    pub done: bool,
}

/// Tracks where a chunked body ends, across reads.
#[derive(Debug, Clone)]
pub struct ChunkedScanner {
    state: State,
    size: u64,
    line: usize,
    trailers: usize,
}

// === impl ChunkedScanner ===

impl Default for ChunkedScanner {
    fn default() -> Self {
        ChunkedScanner {
            state: State::Size { digits: 0 },
            size: 0,
            line: 0,
            trailers: 0,
        }
    }
}

impl ChunkedScanner {
    /// Scans the next bytes of the body; stops at its end.
    pub fn scan(&mut self, input: &[u8]) -> Result<Scan, ChunkError> {
        let mut i = 0;
        let mut payload = 0u64;
        while i < input.len() {
            if let State::Data(left) = self.state {
                let take = left.min((input.len() - i) as u64);
                i += take as usize;
                payload += take;
                self.state = if take == left {
                    State::DataCr
                } else {
                    State::Data(left - take)
                };
                continue;
            }
            let b = input[i];
            i += 1;
            self.state = self.step(b)?;
            if self.state == State::Done {
                break;
            }
        }
        Ok(Scan {
            consumed: i,
            payload,
            done: self.state == State::Done,
        })
    }

    /// Whether the body has ended.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn step(&mut self, b: u8) -> Result<State, ChunkError> {
        Ok(match self.state {
            State::Size { digits } => {
                self.line += 1;
                if self.line > MAX_SIZE_LINE {
                    return Err(ChunkError);
                }
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
                        b';' | b' ' | b'\t' => State::Ext,
                        b'\r' => State::SizeLf,
                        _ => return Err(ChunkError),
                    },
                }
            }
            State::Ext => {
                self.line += 1;
                match b {
                    _ if self.line > MAX_SIZE_LINE => return Err(ChunkError),
                    b'\r' => State::SizeLf,
                    b'\n' => return Err(ChunkError),
                    _ => State::Ext,
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
                    State::Data(size)
                }
            }
            State::DataCr if b == b'\r' => State::DataLf,
            State::DataLf if b == b'\n' => State::Size { digits: 0 },
            State::TrailerStart | State::Trailer | State::TrailerLf | State::FinalLf => {
                self.trailers += 1;
                if self.trailers > MAX_TRAILERS {
                    return Err(ChunkError);
                }
                match (self.state, b) {
                    (State::TrailerStart, b'\r') => State::FinalLf,
                    (State::FinalLf, b'\n') => State::Done,
                    (State::Trailer, b'\r') => State::TrailerLf,
                    (State::TrailerLf, b'\n') => State::TrailerStart,
                    (State::TrailerStart | State::Trailer, b'\n') => return Err(ChunkError),
                    (State::TrailerStart | State::Trailer, _) => State::Trailer,
                    _ => return Err(ChunkError),
                }
            }
            State::Data(_) | State::DataCr | State::DataLf | State::Done => return Err(ChunkError),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(parts: &[&[u8]]) -> Result<(usize, u64, bool), ChunkError> {
        let mut s = ChunkedScanner::default();
        let (mut consumed, mut payload) = (0, 0);
        for p in parts {
            let r = s.scan(p)?;
            consumed += r.consumed;
            payload += r.payload;
        }
        Ok((consumed, payload, s.is_done()))
    }

    #[test]
    fn finds_the_end_and_counts_the_payload() {
        let body = b"5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\nNEXT";
        assert_eq!(scan_all(&[body]), Ok((body.len() - 4, 31, true)));
    }

    #[test]
    fn works_across_any_split() {
        let body = b"5\r\nhello\r\n0\r\nx-trailer: 1\r\n\r\n";
        for cut in 0..body.len() {
            let (a, b) = body.split_at(cut);
            assert_eq!(scan_all(&[a, b]), Ok((body.len(), 5, true)), "cut {cut}");
        }
    }

    #[test]
    fn refuses_malformed_bodies() {
        for bad in [
            &b"x\r\n"[..],
            b"5\nhello",
            b"5\r\nhelloX\r\n",
            b"ffffffffffffffffff\r\n",
            b"0\r\n\n",
        ] {
            assert_eq!(scan_all(&[bad]), Err(ChunkError), "{bad:?}");
        }
        let long = vec![b'a'; MAX_SIZE_LINE + 2];
        let mut line = b"1;".to_vec();
        line.extend_from_slice(&long);
        assert_eq!(scan_all(&[&line]), Err(ChunkError));
    }

    #[test]
    fn stops_before_a_partial_end() {
        assert_eq!(scan_all(&[b"3\r\nabc\r\n0\r\n"]), Ok((11, 3, false)));
    }
}
