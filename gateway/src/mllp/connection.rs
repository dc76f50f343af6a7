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

use std::sync::Arc;

use bytes::BytesMut;
use ehrgate_mappers::hl7v2::mllp::{CR, START};
use ehrgate_mappers::hl7v2::{MllpCodec, MllpError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio_util::codec::{Decoder, Encoder};

use super::error::FeedError;
use super::process::Feed;

/// Late application acks waiting for the connection at most; past that the
/// peer is not reading its acks and further ones are counted, not sent.
const LATE_ACKS: usize = 1024;

/// How much of a frame's start is kept to answer it if it turns out too
/// large (its MSH line gives MSA-2 and the swapped header).
const HEADER_PEEK: usize = 4096;

/// Serves one connection until the peer closes, the idle timeout passes,
/// or the gateway stops.
pub async fn serve<S>(io: S, feed: Arc<Feed>, mut stop: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut rd, mut wr) = tokio::io::split(io);
    let (max_frame, idle_timeout) = {
        let t = feed.table();
        (t.max_frame, t.idle_timeout)
    };
    let mut codec = MllpCodec::new(max_frame);
    let mut buf = BytesMut::with_capacity(8 * 1024);
    let mut header: Option<Vec<u8>> = None;
    let mut skipped_seen = 0u64;
    let (sink, mut late) = tokio::sync::mpsc::channel::<Vec<u8>>(LATE_ACKS);
    loop {
        // Answer every complete frame already buffered.
        loop {
            peek_header(&buf, &mut header);
            let answers = match codec.decode(&mut buf) {
                Ok(Some(frame)) => {
                    header = None;
                    feed.process(&frame.payload, &sink).await
                }
                Ok(None) => break,
                Err(MllpError::FrameTooLarge { max }) => {
                    let nack = feed.nack_frame(header.as_deref(), &FeedError::TooLarge { max });
                    header = None;
                    vec![nack]
                }
                Err(_) => return,
            };
            count_skipped(&codec, &feed, &mut skipped_seen);
            if write_all(&mut wr, &answers).await.is_err() {
                return;
            }
        }
        count_skipped(&codec, &feed, &mut skipped_seen);
        let read = async {
            match idle_timeout {
                Some(t) => tokio::time::timeout(t, rd.read_buf(&mut buf)).await.ok(),
                None => Some(rd.read_buf(&mut buf).await),
            }
        };
        let n = tokio::select! {
            r = read => r,
            Some(answer) = late.recv() => {
                if write_all(&mut wr, &[answer]).await.is_err() {
                    return;
                }
                continue;
            }
            _ = stop.changed() => return,
        };
        match n {
            Some(Ok(0)) => {
                // End of stream: a last frame without its trailing CR is
                // still answered; a cut frame gets a NACK if possible.
                let answers = match codec.decode_eof(&mut buf) {
                    Ok(Some(frame)) => feed.process(&frame.payload, &sink).await,
                    Ok(None) => return,
                    Err(e) => vec![feed.nack_frame(header.as_deref(), &FeedError::Framing(e))],
                };
                let _ = write_all(&mut wr, &answers).await;
                let _ = wr.shutdown().await;
                return;
            }
            Some(Ok(_)) => {}
            Some(Err(_)) => return,
            None => {
                tracing::debug!(target: "ehrgate::mllp", "idle connection closed");
                let _ = wr.shutdown().await;
                return;
            }
        }
    }
}

/// Keeps the first line of the frame being received.
fn peek_header(buf: &BytesMut, header: &mut Option<Vec<u8>>) {
    if header.is_some() {
        return;
    }
    let Some(start) = memchr::memchr(START, buf) else {
        return;
    };
    let rest = &buf[start + 1..];
    let window = &rest[..rest.len().min(HEADER_PEEK)];
    if let Some(end) = memchr::memchr2(CR, b'\n', window) {
        *header = Some(window[..end].to_vec());
    }
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

async fn write_all<W: AsyncWrite + Unpin>(wr: &mut W, answers: &[Vec<u8>]) -> std::io::Result<()> {
    if answers.is_empty() {
        return Ok(());
    }
    let mut out = BytesMut::new();
    let mut codec = MllpCodec::default();
    for a in answers {
        if codec.encode(a.as_slice(), &mut out).is_err() {
            // Our acknowledgements copy header fields from a decoded frame,
            // which cannot hold framing bytes; never write a cut frame.
            tracing::error!(target: "ehrgate::mllp", "acknowledgement holds a framing byte; not sent");
        }
    }
    wr.write_all(&out).await?;
    wr.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_the_first_line_of_the_frame_being_received() {
        let mut h = None;
        peek_header(&BytesMut::from(&b"noise\x0bMSH|^~\\&|A"[..]), &mut h);
        assert_eq!(h, None, "line not complete yet");
        peek_header(
            &BytesMut::from(&b"noise\x0bMSH|^~\\&|A|B\rPID|1\r"[..]),
            &mut h,
        );
        assert_eq!(h.as_deref(), Some(&b"MSH|^~\\&|A|B"[..]));
        // Kept until the frame is done, even when more arrives.
        peek_header(&BytesMut::from(&b"\x0bMSH|other\r"[..]), &mut h);
        assert_eq!(h.as_deref(), Some(&b"MSH|^~\\&|A|B"[..]));
        let mut far = None;
        let mut long = b"\x0b".to_vec();
        long.extend(std::iter::repeat_n(b'x', HEADER_PEEK + 10));
        long.push(b'\r');
        peek_header(&BytesMut::from(&long[..]), &mut far);
        assert_eq!(far, None, "a first line longer than the peek is not kept");
    }
}
