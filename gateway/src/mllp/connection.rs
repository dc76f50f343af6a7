//! One inbound connection: frames are decoded and answered strictly in
//! order, one at a time (the next frame is read only after the previous
//! one's acknowledgements were written), so per-connection order holds
//! from sender to destination.
//!
//! The loop drives the MLLP codec itself instead of using `FramedRead`,
//! which ends the stream after a decoder error: an oversized frame is
//! answered with a NACK and the connection keeps serving the frames after
//! it. Noise between frames is skipped and counted. A stream that ends
//! inside a frame gets a NACK if the peer still reads, then is closed.
//!
//! With the durable queue, enhanced-mode messages get their `CA` here and
//! their application ack later, when delivery from the queue is done: those
//! late acks arrive on a small channel and are written between frames.
//!
//! Bounds (issue 26): warning lines go through a per-connection
//! [`ConnLog`]; after `mllp.max_bad_frames` frames in a row that do not
//! parse (or are too large) the last one's NACK says why and the
//! connection is closed. An idle connection holds no read buffer: between
//! frames the next bytes are read into a small buffer inside the task, and
//! the 8 KiB buffer a frame is assembled in is given back once it is
//! empty, so 20,000 idle connections cost their tasks, not 20,000 buffers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ehrgate_mappers::hl7v2::mllp::{CR, START};
use ehrgate_mappers::hl7v2::{MllpCodec, MllpError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio_util::codec::{Decoder, Encoder};

use super::error::FeedError;
use super::log_bound::ConnLog;
use super::process::Feed;

/// Late application acks waiting for the connection at most; past that the
/// peer is not reading its acks and further ones are counted, not sent.
const LATE_ACKS: usize = 1024;

/// The idle timer's deadline when there is no idle timeout (never fires:
/// its branch is disabled).
const NEVER: Duration = Duration::from_secs(86_400);

/// How much of a frame's start is kept to answer it if it turns out too
/// large (its MSH line gives MSA-2 and the swapped header).
const HEADER_PEEK: usize = 4096;

/// The buffer a frame is assembled in, allocated when a frame starts.
const FRAME_BUF: usize = 8 * 1024;

/// The read between frames (in the task, no allocation of its own).
const IDLE_READ: usize = 512;

/// Buffers larger than this are given back after use, not kept.
const KEEP_BUF: usize = 64 * 1024;

/// Serves one connection until the peer closes, the idle timeout passes,
/// or the gateway stops.
///
/// Per message this costs the two reads and the write it must: the stop
/// signal is one future for the connection's life (not a registration
/// with the gateway-wide watch per read), the idle timeout one timer that
/// is re-armed only when it fires early (not a timer per read), and
/// answers are framed into one buffer kept for the connection.
pub async fn serve<S>(io: S, feed: Arc<Feed>, mut stop: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut rd, mut wr) = tokio::io::split(io);
    let (max_frame, idle_timeout, max_bad, mut log) = {
        let t = feed.table();
        let log = ConnLog::new(t.log_lines, t.log_interval, feed.limits().clone());
        (t.max_frame, t.idle_timeout, t.max_bad_frames, log)
    };
    let mut codec = MllpCodec::new(max_frame);
    let mut buf = BytesMut::new();
    let mut out = BytesMut::new();
    let mut small = [0u8; IDLE_READ];
    let mut bad_in_a_row = 0u32;
    let mut header = Header::default();
    let mut skipped_seen = 0u64;
    let (sink, mut late) = tokio::sync::mpsc::channel::<Vec<u8>>(LATE_ACKS);
    let stopped = stop.changed();
    tokio::pin!(stopped);
    let idle = tokio::time::sleep(idle_timeout.unwrap_or(NEVER));
    tokio::pin!(idle);
    let mut last_read = Instant::now();
    loop {
        // Answer every complete frame already buffered.
        loop {
            header.peek(&buf);
            let (mut answers, bad) = match codec.decode(&mut buf) {
                Ok(Some(frame)) => {
                    header.clear();
                    let (answers, bad) = feed.process(&frame.payload, &sink, &mut log).await;
                    if bad && max_bad > 0 && bad_in_a_row + 1 >= max_bad {
                        header.line.clear();
                        header
                            .line
                            .extend_from_slice(frame_first_line(&frame.payload));
                        header.found = true;
                    }
                    (answers, bad)
                }
                Ok(None) => break,
                Err(MllpError::FrameTooLarge { max }) => {
                    let nack =
                        feed.nack_frame(header.line(), &FeedError::TooLarge { max }, &mut log);
                    (vec![nack], true)
                }
                Err(_) => return,
            };
            bad_in_a_row = if bad { bad_in_a_row + 1 } else { 0 };
            let closing = max_bad > 0 && bad_in_a_row >= max_bad;
            if closing {
                // This frame's NACK names why the connection ends.
                let e = FeedError::TooManyBadFrames { n: max_bad };
                answers = vec![feed.nack_frame(header.line(), &e, &mut log)];
            }
            header.clear();
            count_skipped(&codec, &feed, &mut skipped_seen);
            if write_all(&mut wr, &answers, &mut out).await.is_err() {
                return;
            }
            if closing {
                let _ = wr.shutdown().await;
                return;
            }
        }
        count_skipped(&codec, &feed, &mut skipped_seen);
        release_idle(&mut buf, &mut out);
        let idle_read = buf.is_empty();
        if !idle_read {
            buf.reserve(FRAME_BUF);
        }
        let read = async {
            if idle_read {
                let n = rd.read(&mut small).await?;
                buf.extend_from_slice(&small[..n]);
                Ok(n)
            } else {
                rd.read_buf(&mut buf).await
            }
        };
        let n = tokio::select! {
            r = read => r,
            Some(answer) = late.recv() => {
                if write_all(&mut wr, &[answer], &mut out).await.is_err() {
                    return;
                }
                continue;
            }
            _ = &mut stopped => return,
            () = &mut idle, if idle_timeout.is_some() => {
                let due = last_read + idle_timeout.unwrap_or(NEVER);
                if Instant::now() < due {
                    // Reads came since it was armed: wait for the rest.
                    idle.as_mut().reset(due.into());
                    continue;
                }
                tracing::debug!(target: "ehrgate::mllp", "idle connection closed");
                let _ = wr.shutdown().await;
                return;
            }
        };
        last_read = Instant::now();
        match n {
            Ok(0) => {
                // End of stream: a last frame without its trailing CR is
                // still answered; a cut frame gets a NACK if possible.
                let answers = match codec.decode_eof(&mut buf) {
                    Ok(Some(frame)) => feed.process(&frame.payload, &sink, &mut log).await.0,
                    Ok(None) => return,
                    Err(e) => {
                        vec![feed.nack_frame(header.line(), &FeedError::Framing(e), &mut log)]
                    }
                };
                let _ = write_all(&mut wr, &answers, &mut out).await;
                let _ = wr.shutdown().await;
                return;
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

/// The first line of the frame being received, kept (in a buffer reused
/// across frames) to answer the frame if it turns out too large.
#[derive(Debug, Default)]
struct Header {
    line: Vec<u8>,
    found: bool,
}

// === impl Header ===

impl Header {
    /// Keeps the first line of the frame being received, once complete.
    fn peek(&mut self, buf: &BytesMut) {
        if self.found {
            return;
        }
        if let Some(line) = first_line(buf) {
            self.line.clear();
            self.line.extend_from_slice(line);
            self.found = true;
        }
    }

    fn line(&self) -> Option<&[u8]> {
        self.found.then_some(self.line.as_slice())
    }

    fn clear(&mut self) {
        self.found = false;
    }
}

/// Gives back buffers nothing is waiting in: the frame buffer once it is
/// empty (the next frame gets a new one), the answer buffer once it grew
/// past [`KEEP_BUF`].
fn release_idle(buf: &mut BytesMut, out: &mut BytesMut) {
    if buf.is_empty() && buf.capacity() > 0 {
        *buf = BytesMut::new();
    }
    if out.capacity() > KEEP_BUF {
        *out = BytesMut::new();
    }
}

/// The first line of a received payload (at most [`HEADER_PEEK`] bytes),
/// for the NACK that closes a connection.
fn frame_first_line(payload: &[u8]) -> &[u8] {
    let window = &payload[..payload.len().min(HEADER_PEEK)];
    let end = memchr::memchr2(CR, b'\n', window).unwrap_or(window.len());
    &window[..end]
}

/// The first line of the frame starting in `buf`, once it is complete
/// and no longer than [`HEADER_PEEK`].
fn first_line(buf: &BytesMut) -> Option<&[u8]> {
    let start = memchr::memchr(START, buf)?;
    let rest = &buf[start + 1..];
    let window = &rest[..rest.len().min(HEADER_PEEK)];
    let end = memchr::memchr2(CR, b'\n', window)?;
    Some(&window[..end])
}

fn count_skipped(codec: &MllpCodec, feed: &Feed, seen: &mut u64) {
    let total = codec.skipped_total();
    if total > *seen {
        let new = total - *seen;
        feed.stats
            .bytes_skipped
            .fetch_add(new, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(target: "ehrgate::mllp", bytes = new, "bytes outside MLLP frames skipped");
        *seen = total;
    }
}

/// Frames the answers into `out` (emptied first) and writes them with one
/// write.
async fn write_all<W: AsyncWrite + Unpin>(
    wr: &mut W,
    answers: &[Vec<u8>],
    out: &mut BytesMut,
) -> std::io::Result<()> {
    if answers.is_empty() {
        return Ok(());
    }
    out.clear();
    let mut codec = MllpCodec::default();
    for a in answers {
        if codec.encode(a.as_slice(), out).is_err() {
            // Our acknowledgements copy header fields from a decoded frame,
            // which cannot hold framing bytes; never write a cut frame.
            tracing::error!(target: "ehrgate::mllp", "acknowledgement holds a framing byte; not sent");
        }
    }
    wr.write_all(out).await?;
    wr.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_the_first_line_of_the_frame_being_received() {
        let mut h = Header::default();
        h.peek(&BytesMut::from(&b"noise\x0bMSH|^~\\&|A"[..]));
        assert_eq!(h.line(), None, "line not complete yet");
        h.peek(&BytesMut::from(&b"noise\x0bMSH|^~\\&|A|B\rPID|1\r"[..]));
        assert_eq!(h.line(), Some(&b"MSH|^~\\&|A|B"[..]));
        // Kept until the frame is done, even when more arrives.
        h.peek(&BytesMut::from(&b"\x0bMSH|other\r"[..]));
        assert_eq!(h.line(), Some(&b"MSH|^~\\&|A|B"[..]));
        h.clear();
        assert_eq!(h.line(), None);
        h.peek(&BytesMut::from(&b"\x0bMSH|next\r"[..]));
        assert_eq!(h.line(), Some(&b"MSH|next"[..]), "the next frame's");
        let mut far = Header::default();
        let mut long = b"\x0b".to_vec();
        long.extend(std::iter::repeat_n(b'x', HEADER_PEEK + 10));
        long.push(b'\r');
        far.peek(&BytesMut::from(&long[..]));
        assert_eq!(
            far.line(),
            None,
            "a first line longer than the peek is not kept"
        );
    }
}
