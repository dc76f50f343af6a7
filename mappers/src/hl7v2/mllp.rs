//! MLLP framing (`0x0B` payload `0x1C 0x0D`) as a tokio-util codec.
//!
//! The decoder is a small state machine that never rescans bytes it has
//! already looked at, so a frame arriving one byte per read costs linear
//! time. Bytes outside frames (noise, keep-alives, a peer's half-sent
//! frame before it restarted with a new `0x0B`) are skipped and counted in
//! [`MllpFrame::skipped_before`] and [`MllpCodec::skipped_total`], never
//! dropped silently.
//!
//! A frame larger than the maximum yields [`MllpError::FrameTooLarge`] as
//! soon as the limit is passed (without buffering the rest); the decoder
//! then discards bytes up to the next `0x0B` and carries on. Note that
//! `tokio_util::codec::FramedRead` ends the stream after a decoder error;
//! a listener that wants to survive oversized frames calls
//! [`Decoder::decode`] itself or reconnects.
//!
//! A `0x1C` not followed by `0x0D` also ends the frame (some senders omit
//! the CR); the byte after it is treated as outside any frame.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::error::{Classified, Fault};

/// Start block.
pub const START: u8 = 0x0B;
/// End block.
pub const END: u8 = 0x1C;
/// Carriage return that follows the end block.
pub const CR: u8 = 0x0D;

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MllpFrame {
    /// The payload between `0x0B` and `0x1C`.
    pub payload: Bytes,
    /// Bytes skipped outside frames since the previous frame.
    pub skipped_before: usize,
}

/// Framing errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MllpError {
    /// A frame grew past the configured maximum; it is being discarded.
    #[error("MLLP frame larger than {max} bytes")]
    FrameTooLarge {
        /// The configured maximum.
        max: usize,
    },
    /// The stream ended inside a frame.
    #[error("stream ended inside an MLLP frame ({bytes} bytes received)")]
    Truncated {
        /// Payload bytes received before the end.
        bytes: usize,
    },
    /// A payload to send holds a framing byte (`0x0B` or `0x1C`), so the
    /// receiver could not tell where the frame ends; nothing was written.
    #[error("payload holds an MLLP framing byte at offset {offset}")]
    FramingByteInPayload {
        /// Offset of the first framing byte in the payload.
        offset: usize,
    },
    /// The underlying transport failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Classified for MllpError {
    fn fault(&self) -> Fault {
        match self {
            MllpError::Io(_) => Fault::Upstream,
            _ => Fault::Client,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            MllpError::FrameTooLarge { .. } => "mllp.frame-too-large",
            MllpError::Truncated { .. } => "mllp.truncated",
            MllpError::FramingByteInPayload { .. } => "mllp.framing-byte-in-payload",
            MllpError::Io(_) => "mllp.io",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Looking for `0x0B`.
    Outside,
    /// Inside a frame; payload bytes `buf[1..scanned]` have been checked.
    Inside { scanned: usize },
    /// Saw `0x1C`; waiting for one more byte to see if it is `0x0D`.
    /// `len` is the payload length (buf[1..1 + len]).
    AfterEnd { len: usize },
    /// Discarding an oversized frame until the next `0x0B`.
    Discarding,
}

/// The MLLP codec; see the module documentation.
#[derive(Debug, Clone)]
pub struct MllpCodec {
    max_frame: usize,
    state: State,
    skipped: usize,
    skipped_total: u64,
}

impl Default for MllpCodec {
    /// A 16 MiB maximum, matching the parser's default message limit.
    fn default() -> Self {
        Self::new(16 * 1024 * 1024)
    }
}

// === impl MllpCodec ===

impl MllpCodec {
    /// A codec accepting payloads of at most `max_frame` bytes.
    pub fn new(max_frame: usize) -> Self {
        Self {
            max_frame,
            state: State::Outside,
            skipped: 0,
            skipped_total: 0,
        }
    }

    /// Bytes skipped outside frames since the codec was created (oversized
    /// frames included).
    pub fn skipped_total(&self) -> u64 {
        self.skipped_total
    }

    fn skip(&mut self, n: usize) {
        self.skipped += n;
        self.skipped_total += n as u64;
    }

    fn frame(&mut self, src: &mut BytesMut, len: usize, consumed: usize) -> MllpFrame {
        let mut frame = src.split_to(consumed);
        frame.advance(1);
        frame.truncate(len);
        self.state = State::Outside;
        MllpFrame {
            payload: frame.freeze(),
            skipped_before: std::mem::take(&mut self.skipped),
        }
    }
}

impl Decoder for MllpCodec {
    type Item = MllpFrame;
    type Error = MllpError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<MllpFrame>, MllpError> {
        loop {
            match self.state {
                State::Outside | State::Discarding => match memchr::memchr(START, src) {
                    None => {
                        let n = src.len();
                        self.skip(n);
                        src.clear();
                        return Ok(None);
                    }
                    Some(i) => {
                        self.skip(i);
                        src.advance(i);
                        self.state = State::Inside { scanned: 1 };
                    }
                },
                State::Inside { scanned } => {
                    match memchr::memchr2(END, START, &src[scanned..]) {
                        Some(i) if src[scanned + i] == START => {
                            // The sender restarted: the partial frame is noise.
                            self.skip(scanned + i);
                            src.advance(scanned + i);
                            self.state = State::Inside { scanned: 1 };
                            continue;
                        }
                        Some(i) => {
                            let len = scanned + i - 1;
                            if len > self.max_frame {
                                return self.too_large(src, scanned + i);
                            }
                            self.state = State::AfterEnd { len };
                        }
                        None => {
                            let len = src.len() - 1;
                            if len > self.max_frame {
                                return self.too_large(src, src.len());
                            }
                            self.state = State::Inside { scanned: src.len() };
                            src.reserve(1024);
                            return Ok(None);
                        }
                    }
                }
                State::AfterEnd { len } => {
                    let end = 1 + len;
                    match src.get(end + 1) {
                        None => return Ok(None),
                        Some(&CR) => return Ok(Some(self.frame(src, len, end + 2))),
                        Some(_) => return Ok(Some(self.frame(src, len, end + 1))),
                    }
                }
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<MllpFrame>, MllpError> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        match self.state {
            State::AfterEnd { len } => Ok(Some(self.frame(src, len, src.len()))),
            State::Inside { .. } => {
                let bytes = src.len().saturating_sub(1);
                self.skip(src.len());
                src.clear();
                self.state = State::Outside;
                Err(MllpError::Truncated { bytes })
            }
            State::Outside | State::Discarding => Ok(None),
        }
    }
}

impl MllpCodec {
    fn too_large(
        &mut self,
        src: &mut BytesMut,
        upto: usize,
    ) -> Result<Option<MllpFrame>, MllpError> {
        self.skip(upto);
        src.advance(upto);
        self.state = State::Discarding;
        Err(MllpError::FrameTooLarge {
            max: self.max_frame,
        })
    }
}

impl<T: AsRef<[u8]>> Encoder<T> for MllpCodec {
    type Error = MllpError;

    /// Wraps a payload. A payload holding `0x0B` or `0x1C` cannot be framed
    /// unambiguously (a value set from outside may carry them; this decoder,
    /// like many receivers, ends a frame at `0x1C` even without the CR): it
    /// is refused before anything is written, never sent cut in two. Decoded
    /// payloads never hold either byte, so they always re-encode.
    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), MllpError> {
        let payload = item.as_ref();
        if let Some(offset) = memchr::memchr2(START, END, payload) {
            return Err(MllpError::FramingByteInPayload { offset });
        }
        dst.reserve(payload.len() + 3);
        dst.put_u8(START);
        dst.put_slice(payload);
        dst.put_u8(END);
        dst.put_u8(CR);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_with_a_framing_byte_is_refused_and_nothing_written() {
        for (payload, offset) in [
            (&b"MSH|^~\\&|A\x1c\rPID|1"[..], 10),
            (b"\x0bMSH|", 0),
            (b"MSH|\x1cx", 4),
        ] {
            let mut dst = BytesMut::new();
            let err = MllpCodec::default().encode(payload, &mut dst).unwrap_err();
            assert!(matches!(err, MllpError::FramingByteInPayload { offset: o } if o == offset));
            assert_eq!(err.code(), "mllp.framing-byte-in-payload");
            assert!(dst.is_empty());
        }
    }

    fn feed(codec: &mut MllpCodec, chunks: &[&[u8]]) -> Vec<Result<MllpFrame, String>> {
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                match codec.decode(&mut buf) {
                    Ok(Some(f)) => out.push(Ok(f)),
                    Ok(None) => break,
                    Err(e) => out.push(Err(e.to_string())),
                }
            }
        }
        match codec.decode_eof(&mut buf) {
            Ok(Some(f)) => out.push(Ok(f)),
            Ok(None) => {}
            Err(e) => out.push(Err(e.to_string())),
        }
        out
    }

    fn payloads(r: &[Result<MllpFrame, String>]) -> Vec<Vec<u8>> {
        r.iter()
            .filter_map(|f| f.as_ref().ok())
            .map(|f| f.payload.to_vec())
            .collect()
    }

    #[test]
    fn one_frame() {
        let r = feed(
            &mut MllpCodec::default(),
            &[b"\x0bMSH|^~\\&\rPID|1\r\x1c\x0d"],
        );
        assert_eq!(payloads(&r), [b"MSH|^~\\&\rPID|1\r".to_vec()]);
    }

    #[test]
    fn partial_frames_across_reads_byte_by_byte() {
        let stream = b"\x0bA1\x1c\x0d\x0bB22\x1c\x0d\x0bC333\x1c\x0d";
        let chunks: Vec<&[u8]> = stream.chunks(1).collect();
        let r = feed(&mut MllpCodec::default(), &chunks);
        assert_eq!(
            payloads(&r),
            [b"A1".to_vec(), b"B22".to_vec(), b"C333".to_vec()]
        );
    }

    #[test]
    fn noise_is_skipped_and_counted() {
        let mut c = MllpCodec::default();
        let r = feed(&mut c, &[b"noise\x0bA\x1c\x0d\r\n\x0bB\x1c\x0dtail"]);
        assert_eq!(payloads(&r), [b"A".to_vec(), b"B".to_vec()]);
        let skipped: Vec<_> = r
            .iter()
            .map(|f| f.as_ref().unwrap().skipped_before)
            .collect();
        assert_eq!(skipped, [5, 2]);
        assert_eq!(c.skipped_total(), 11);
    }

    #[test]
    fn restart_inside_frame_drops_partial_as_skipped() {
        let mut c = MllpCodec::default();
        let r = feed(&mut c, &[b"\x0bhalf", b"\x0bwhole\x1c\x0d"]);
        assert_eq!(payloads(&r), [b"whole".to_vec()]);
        assert_eq!(r[0].as_ref().unwrap().skipped_before, 5);
    }

    #[test]
    fn end_without_cr_still_ends_frame() {
        let r = feed(&mut MllpCodec::default(), &[b"\x0bA\x1cx\x0bB\x1c"]);
        assert_eq!(payloads(&r), [b"A".to_vec(), b"B".to_vec()]);
    }

    #[test]
    fn oversized_frame_errors_then_resynchronises() {
        let mut c = MllpCodec::new(4);
        let r = feed(
            &mut c,
            &[b"\x0b0123456789", b"abcdef\x1c\x0d\x0bok\x1c\x0d"],
        );
        assert_eq!(r.len(), 2);
        assert!(r[0].as_ref().unwrap_err().contains("larger than 4"));
        assert_eq!(r[1].as_ref().unwrap().payload.as_ref(), b"ok");
        let exact = feed(&mut MllpCodec::new(4), &[b"\x0b0123\x1c\x0d"]);
        assert_eq!(payloads(&exact), [b"0123".to_vec()]);
    }

    #[test]
    fn truncated_at_eof() {
        let r = feed(&mut MllpCodec::default(), &[b"\x0bMSH|unfinished"]);
        assert_eq!(r.len(), 1);
        assert!(r[0].as_ref().unwrap_err().contains("ended inside"));
        let c = MllpCodec::default();
        assert_eq!(MllpError::Truncated { bytes: 1 }.code(), "mllp.truncated");
        let _ = c;
    }

    #[test]
    fn encoder_wraps() {
        let mut buf = BytesMut::new();
        MllpCodec::default().encode(b"MSH|x", &mut buf).unwrap();
        assert_eq!(buf.as_ref(), b"\x0bMSH|x\x1c\x0d");
        let r = feed(&mut MllpCodec::default(), &[&buf]);
        assert_eq!(payloads(&r), [b"MSH|x".to_vec()]);
    }

    #[tokio::test]
    async fn framed_read_over_a_chunked_reader() {
        use futures_util::StreamExt;
        use tokio::io::AsyncWriteExt;
        let (mut tx, rx) = tokio::io::duplex(7);
        let writer = tokio::spawn(async move {
            for part in [
                &b"xx\x0bMSH|1\r"[..],
                b"PID|1\x1c",
                b"\x0d\x0bMSH|2\x1c\x0d",
            ] {
                tx.write_all(part).await.unwrap();
            }
        });
        let frames: Vec<_> = tokio_util::codec::FramedRead::new(rx, MllpCodec::default())
            .collect::<Vec<_>>()
            .await;
        writer.await.unwrap();
        let frames: Vec<_> = frames.into_iter().map(Result::unwrap).collect();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].payload.as_ref(), b"MSH|1\rPID|1");
        assert_eq!(frames[0].skipped_before, 2);
        assert_eq!(frames[1].payload.as_ref(), b"MSH|2");
    }
}
