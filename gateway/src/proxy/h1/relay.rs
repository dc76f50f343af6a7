//! Streams one message body from one side to the other, byte for byte,
//! following its framing (`Content-Length`, chunked, or until close;
//! chunked framing re-written in canonical form around the payload, see
//! [`super::chunked`]): the
//! bytes already read with the head go first, coalesced with the head in
//! one write when they are small, then read and write in turn, so a body is
//! never held whole in memory.

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::chunked::Reframer;
use super::request::Framing;

/// Bodies up to this size are copied behind the head and sent in one write.
const COALESCE: usize = 16 * 1024;
/// How much the read buffer grows by before a read.
const READ_CHUNK: usize = 16 * 1024;

/// Why a body could not be relayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayError {
    /// The source failed or closed before the body ended.
    Source,
    /// The destination failed.
    Destination,
    /// More payload than the limit.
    TooLarge,
    /// The chunked framing is malformed.
    Framing,
}

/// Writes `head`, then the body framed as `framing` from `buf` and `src`,
/// to `dst`, counting payload bytes in `payload` (also when it fails, for
/// the access log). `buf` keeps whatever follows the body (a pipelined
/// request, or stray bytes from an upstream).
pub async fn relay<R, W>(
    framing: Framing,
    src: &mut R,
    buf: &mut BytesMut,
    dst: &mut W,
    mut head: Vec<u8>,
    limit: u64,
    payload: &mut u64,
) -> Result<(), RelayError>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut left = match framing {
        Framing::Length(n) => n,
        _ => 0,
    };
    let mut reframer = Reframer::default();
    let mut eof = false;
    loop {
        let (take, more, done) = match framing {
            Framing::Empty => (0, 0, true),
            Framing::Length(_) => {
                let take = left.min(buf.len() as u64);
                left -= take;
                (take as usize, take, left == 0)
            }
            Framing::Chunked => {
                // Framing read from `buf`, its canonical form behind the
                // head; the payload that follows is passed on as it is.
                let feed = reframer
                    .feed(buf, &mut head)
                    .map_err(|_| RelayError::Framing)?;
                buf.advance(feed.consumed);
                (feed.data, feed.data as u64, feed.done)
            }
            Framing::UntilClose => (buf.len(), buf.len() as u64, eof),
        };
        if *payload + more > limit {
            return Err(RelayError::TooLarge);
        }
        if take > 0 {
            if head.len() + take <= COALESCE {
                head.extend_from_slice(&buf[..take]);
            } else {
                if !head.is_empty() {
                    dst.write_all(&head)
                        .await
                        .map_err(|_| RelayError::Destination)?;
                    head.clear();
                }
                dst.write_all(&buf[..take])
                    .await
                    .map_err(|_| RelayError::Destination)?;
            }
            buf.advance(take);
            *payload += more;
        }
        if done {
            break;
        }
        // More framing already read (the payload ended within `buf`).
        if framing == Framing::Chunked && !buf.is_empty() {
            continue;
        }
        if eof {
            return Err(RelayError::Source);
        }
        // About to wait for the source: what we have must go out first.
        if !head.is_empty() {
            dst.write_all(&head)
                .await
                .map_err(|_| RelayError::Destination)?;
            head.clear();
        }
        buf.reserve(READ_CHUNK);
        match src.read_buf(buf).await {
            Ok(0) => eof = true,
            Ok(_) => {}
            Err(_) => return Err(RelayError::Source),
        }
    }
    if !head.is_empty() {
        dst.write_all(&head)
            .await
            .map_err(|_| RelayError::Destination)?;
    }
    Ok(())
}
