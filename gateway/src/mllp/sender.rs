//! The MLLP sender to legacy receivers: a connection pool per worker
//! thread, one message in flight per connection, the answer matched by
//! MSA-2, timeouts, and reconnect backoff.
//!
//! A connection carries one exchange at a time: write the frame, read
//! frames until one acknowledges this control id. Frames acknowledging
//! anything else (a late ACK to a message that timed out earlier) are
//! counted and discarded, never taken for this message. After a timeout
//! or any error the connection is closed, not reused, so nothing stale is
//! left on it. A pooled connection is checked before use: a peer that
//! closed it while idle is noticed without sending.
//!
//! No resend after a message was written: the receiver may have processed
//! it, so the outcome is unknown and the inbound sender gets `AR` (its
//! resend may then be a duplicate, which is how MLLP works without a
//! dedup at the receiver). A write that fails on a pooled connection is
//! retried once on a fresh one, since a refused write was not received.
//!
//! TLS (`mllps://`, or a `tls` block) runs the handshake inside the
//! connect timeout; a failed handshake counts as a failed connect (backoff).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ehrgate_mappers::hl7v2::{Message, MllpCodec};
use futures_util::FutureExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_util::codec::{Decoder, Encoder};

use super::backoff::Backoff;
use super::error::FeedError;
use super::health::Health;
use super::stats::FeedStats;
use super::stream::{DestinationTls, Stream};
use crate::config::model::BackendConfig;
use crate::config::model_mllp::MllpConfig;
use crate::runtime::workers::{current_worker, worker_count};

/// What the receiver answered (MSA-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverAck {
    /// MSA-1 as sent.
    pub code: String,
}

/// One open connection.
#[derive(Debug)]
struct Conn {
    stream: Stream,
    buf: BytesMut,
    codec: MllpCodec,
}

/// The connections of one worker thread.
#[derive(Debug)]
struct Pool {
    idle: Mutex<Vec<Conn>>,
    slots: Arc<Semaphore>,
}

/// A sender to one MLLP destination.
#[derive(Debug)]
pub struct MllpSender {
    name: Arc<str>,
    addr: String,
    tls: Option<DestinationTls>,
    connect_timeout: Duration,
    ack_timeout: Duration,
    max_frame: usize,
    pools: Box<[Pool]>,
    backoff: Backoff,
    stats: Arc<FeedStats>,
    health: Health,
}

enum Exchange {
    Answer(ReceiverAck),
    /// The write failed: the receiver did not get the message.
    NotSent(FeedError),
    /// Sent, outcome unknown.
    Failed(FeedError),
}

// === impl MllpSender ===

impl MllpSender {
    /// A sender for an `mllp://host:port` or `mllps://host:port` backend
    /// (TLS settings from [`DestinationTls::of`]).
    pub fn new(
        b: &BackendConfig,
        settings: &MllpConfig,
        stats: Arc<FeedStats>,
        tls: Option<DestinationTls>,
    ) -> MllpSender {
        let url = b.url.get_ref();
        let addr = url
            .strip_prefix("mllps://")
            .or_else(|| url.strip_prefix("mllp://"))
            .unwrap_or(url)
            .to_string();
        let pools = (0..=worker_count())
            .map(|_| Pool {
                idle: Mutex::new(Vec::new()),
                slots: Arc::new(Semaphore::new(settings.sender_pool_size)),
            })
            .collect();
        MllpSender {
            name: Arc::from(b.name.get_ref().as_str()),
            addr,
            tls,
            connect_timeout: Duration::from_millis(b.connect_timeout_ms),
            ack_timeout: Duration::from_millis(b.request_timeout_ms),
            max_frame: settings.max_frame_bytes,
            pools,
            backoff: Backoff::new(
                Duration::from_millis(settings.reconnect_backoff_min_ms),
                Duration::from_millis(settings.reconnect_backoff_max_ms),
            ),
            stats,
            health: Health::default(),
        }
    }

    /// The health checks' verdict.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The feed counters.
    pub fn stats(&self) -> &FeedStats {
        &self.stats
    }

    /// A health probe: connect (and TLS handshake), then close.
    pub async fn probe(&self) -> bool {
        let Ok(tcp) = TcpStream::connect(&self.addr).await else {
            return false;
        };
        match &self.tls {
            None => true,
            Some(tls) => tls.connect(tcp).await.is_ok(),
        }
    }

    /// The backend name.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    fn pool(&self) -> &Pool {
        let i = current_worker().unwrap_or(usize::MAX);
        match self.pools.get(i) {
            Some(p) => p,
            None => &self.pools[self.pools.len() - 1],
        }
    }

    fn unreachable(&self, reason: &'static str) -> FeedError {
        FeedError::Unreachable {
            backend: self.name.to_string(),
            reason,
        }
    }

    /// Sends one message and waits for the acknowledgement whose MSA-2 is
    /// `control_id`. Accept codes (`AA`, `CA`) are `Ok`; others are mapped
    /// to [`FeedError::DestinationError`] (AE/CE) or
    /// [`FeedError::Refused`] (AR/CR).
    pub async fn send(&self, payload: &[u8], control_id: &str) -> Result<(), FeedError> {
        if !self.health.is_up() {
            return Err(self.unreachable("marked down by health checks"));
        }
        let mut frame = BytesMut::with_capacity(payload.len() + 3);
        MllpCodec::new(self.max_frame).encode(payload, &mut frame)?;
        let pool = self.pool();
        let deadline = Instant::now() + self.ack_timeout;
        let _slot = tokio::time::timeout(self.ack_timeout, pool.slots.acquire())
            .await
            .map_err(|_| self.unreachable("all connections busy until the timeout"))?
            .map_err(|_| self.unreachable("sender closed"))?;
        let mut retried = false;
        loop {
            let (conn, pooled) = match self.take_idle(pool) {
                Some(c) => (c, true),
                None => (self.connect().await?, false),
            };
            match self
                .exchange(conn, &frame, control_id, deadline, pool)
                .await
            {
                Exchange::Answer(ack) => return self.judge(&ack),
                Exchange::NotSent(e) if pooled && !retried => {
                    retried = true;
                    tracing::debug!(target: "ehrgate::mllp", backend = %self.name, error = %e, "pooled connection was dead; retrying on a new one");
                }
                Exchange::NotSent(e) | Exchange::Failed(e) => return Err(e),
            }
        }
    }

    fn judge(&self, ack: &ReceiverAck) -> Result<(), FeedError> {
        let answer = format!("MSA-1 {}", ack.code);
        match ack.code.as_str() {
            "AA" | "CA" => Ok(()),
            "AE" | "CE" => Err(FeedError::DestinationError {
                backend: self.name.to_string(),
                answer,
            }),
            _ => Err(FeedError::Refused {
                backend: self.name.to_string(),
                answer,
            }),
        }
    }

    /// An idle connection that is still open; late bytes already on it are
    /// kept in its buffer (they will not match the next control id).
    fn take_idle(&self, pool: &Pool) -> Option<Conn> {
        let Ok(mut idle) = pool.idle.lock() else {
            return None;
        };
        while let Some(mut conn) = idle.pop() {
            // Read what is already there without waiting (for TLS this
            // also processes close_notify and other records).
            loop {
                if conn.buf.len() > self.max_frame {
                    break;
                }
                match conn.stream.read_buf(&mut conn.buf).now_or_never() {
                    None => return Some(conn),
                    Some(Ok(0)) | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                }
            }
        }
        None
    }

    async fn connect(&self) -> Result<Conn, FeedError> {
        let now = Instant::now();
        if !self.backoff.may_try(now) {
            return Err(FeedError::BackingOff {
                backend: self.name.to_string(),
            });
        }
        let connect = async {
            let tcp = TcpStream::connect(&self.addr).await?;
            let _ = tcp.set_nodelay(true);
            match &self.tls {
                None => Ok(Stream::Plain(tcp)),
                Some(tls) => tls.connect(tcp).await,
            }
        };
        let attempt = tokio::time::timeout(self.connect_timeout, connect);
        match attempt.await {
            Ok(Ok(stream)) => {
                self.backoff.succeeded();
                FeedStats::inc(&self.stats.sender_connects);
                Ok(Conn {
                    stream,
                    buf: BytesMut::with_capacity(4096),
                    codec: MllpCodec::new(self.max_frame),
                })
            }
            Ok(Err(_)) | Err(_) => {
                FeedStats::inc(&self.stats.sender_connect_failures);
                let delay = self.backoff.failed(Instant::now());
                tracing::warn!(target: "ehrgate::mllp", backend = %self.name, retry_in_ms = delay.as_millis() as u64, "cannot connect to MLLP destination");
                Err(self.unreachable("connect failed"))
            }
        }
    }

    async fn exchange(
        &self,
        mut conn: Conn,
        frame: &[u8],
        control_id: &str,
        deadline: Instant,
        pool: &Pool,
    ) -> Exchange {
        let io = async {
            if conn.stream.write_all(frame).await.is_err() || conn.stream.flush().await.is_err() {
                return Exchange::NotSent(self.unreachable("write failed"));
            }
            loop {
                loop {
                    match conn.codec.decode(&mut conn.buf) {
                        Ok(Some(f)) => match msa(&f.payload) {
                            Some((code, id)) if id == control_id => {
                                return Exchange::Answer(ReceiverAck { code });
                            }
                            Some(_) => FeedStats::inc(&self.stats.late_acks),
                            None => {
                                return Exchange::Failed(FeedError::BadAnswer {
                                    backend: self.name.to_string(),
                                })
                            }
                        },
                        Ok(None) => break,
                        Err(_) => {
                            return Exchange::Failed(FeedError::BadAnswer {
                                backend: self.name.to_string(),
                            })
                        }
                    }
                }
                match conn.stream.read_buf(&mut conn.buf).await {
                    Ok(0) => return Exchange::Failed(self.unreachable("closed before the ACK")),
                    Ok(_) => {}
                    Err(_) => return Exchange::Failed(self.unreachable("read failed")),
                }
            }
        };
        let result =
            match tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), io).await {
                Ok(r) => r,
                Err(_) => Exchange::Failed(self.unreachable("no ACK before the timeout")),
            };
        if matches!(result, Exchange::Answer(_)) {
            if let Ok(mut idle) = pool.idle.lock() {
                idle.push(conn);
            }
        }
        result
    }
}

/// MSA-1 and MSA-2 of an acknowledgement; `None` if it is not one.
fn msa(payload: &[u8]) -> Option<(String, String)> {
    let m = Message::parse(payload).ok()?;
    let msa = m.segment("MSA")?;
    Some((
        msa.field(1).text().trim().to_string(),
        msa.field(2).text().trim().to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msa_reads_code_and_control_id() {
        assert_eq!(
            msa(b"MSH|^~\\&|R|RF|S|SF|T||ACK^A01^ACK|9|P|2.5\rMSA|AA|C42\r"),
            Some(("AA".into(), "C42".into()))
        );
        assert_eq!(msa(b"MSH|^~\\&|R|RF|S|SF|T||ADT^A01|9|P|2.5\r"), None);
        assert_eq!(msa(b"garbage"), None);
    }
}
