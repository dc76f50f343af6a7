//! The durable inbound queue for enhanced acknowledgement mode (issue 9:
//! "CA after durable acceptance, the application ack after delivery").
//!
//! An enhanced-mode message (MSH-15 or MSH-16 valued) that passed the
//! checks (parse, tenant, route, translation) is appended to a segment file
//! and fsynced before `CA` goes out; from then on the gateway, not the
//! sender, is responsible for it. Delivery runs from the queue in order per
//! sender (MSH-3 + MSH-4, the unit whose order HL7 sequencing cares about;
//! one slow destination holds back only the senders routed to it), with
//! retries and backoff while the destination refuses or is down, and
//! writes a delivered marker when done. The application acknowledgement
//! (`AA`/`AE`/`AR`, as MSH-16 asks) goes back on the connection the message
//! came on when it is still open.
//!
//! When that connection is gone the application ack is not sent: HL7 v2
//! (chapter 2, enhanced mode) makes the application ack a message of its
//! own that the receiver initiates, possibly on another link, and that the
//! original sender must accept-acknowledge; the gateway has no return link
//! configured for a sender, so it logs the outcome and counts it
//! (`app_acks_unsent`) instead. The `CA` already told the sender not to
//! resend; the delivery itself is not affected.
//!
//! After a restart every message without a delivered marker is delivered
//! again (its old connection is gone, so without an application ack), and
//! the replay window is rebuilt from the accepted messages and the replay
//! entries on disk, so a sender that replays a control id after the restart
//! gets its acknowledgement without a second delivery.
//!
//! # Layout
//! - [`record`]: the framing of one record (kind, length, CRC-32, body).
//! - [`segment`]: segment files, reading one and cutting a bad tail.
//! - [`batches`]: group-commit counters (records per fsync).
//! - [`writer`]: the thread that appends with group commit, keeps the
//!   books and removes delivered segments.
//! - [`space`]: the reserve file and the disk-full state.
//! - [`lanes`]: delivery in order per sender, retries, the application ack.
//! - [`error`]: why the queue refused.

pub mod batches;
pub mod error;
pub mod lanes;
pub mod record;
pub mod segment;
pub mod space;
pub mod writer;

use std::path::Path;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

pub use batches::BatchSnapshot;
pub use error::QueueError;
pub use lanes::{AckSink, Lanes};
pub use record::MessageRecord;
pub use writer::{now_ms, Recovered};

use crate::config::model_mllp::MllpQueueConfig;
use writer::{Limits, Op, Writer};

/// Operations waiting for the writer at most; more wait in their tasks.
const CHANNEL: usize = 4096;

/// The queue handle shared by connections and lanes.
#[derive(Debug)]
pub struct DurableQueue {
    tx: mpsc::Sender<Op>,
    /// Undelivered messages by sender.
    pub lanes: Lanes,
    /// First retry delay.
    pub retry_min: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// Attempts before giving up (0 = never).
    pub max_attempts: u32,
    batches: std::sync::Arc<batches::BatchCounters>,
}

// === impl DurableQueue ===

impl DurableQueue {
    /// Opens (or creates) the queue in `dir`, recovering what is there, and
    /// starts the writer thread. The thread ends when the handle is dropped.
    pub fn open(
        cfg: &MllpQueueConfig,
        dir: &Path,
        replay_window: Duration,
    ) -> Result<(DurableQueue, Recovered), QueueError> {
        Self::open_with(cfg, dir, replay_window, space::DiskGauges::default())
    }

    /// [`DurableQueue::open`], keeping `gauges` (the disk-full metrics).
    pub fn open_with(
        cfg: &MllpQueueConfig,
        dir: &Path,
        replay_window: Duration,
        gauges: space::DiskGauges,
    ) -> Result<(DurableQueue, Recovered), QueueError> {
        let limits = Limits {
            max_bytes: cfg.max_bytes,
            max_records: cfg.max_records,
            segment_bytes: cfg.segment_bytes,
            window_ms: replay_window.as_millis() as u64,
            reserve_bytes: cfg.reserve_bytes,
        };
        let (writer, recovered) = Writer::open(dir.to_path_buf(), limits, gauges)?;
        let batches = writer.counters();
        let (tx, rx) = mpsc::channel(CHANNEL);
        std::thread::Builder::new()
            .name("ehrgate-mllp-queue".into())
            .spawn(move || writer.run(rx))
            .map_err(QueueError::io(dir))?;
        tracing::info!(
            target: "ehrgate::mllp::queue",
            dir = %dir.display(),
            pending = recovered.pending.len(),
            replay_entries = recovered.replay.len(),
            truncated_segments = recovered.truncated,
            "durable MLLP queue open"
        );
        Ok((
            DurableQueue {
                tx,
                lanes: Lanes::default(),
                retry_min: Duration::from_millis(cfg.retry_backoff_min_ms),
                retry_max: Duration::from_millis(cfg.retry_backoff_max_ms),
                max_attempts: cfg.max_delivery_attempts,
                batches,
            },
            recovered,
        ))
    }

    /// Appends an accepted message; returns it with its sequence number
    /// once it is on disk (fsynced).
    pub async fn append(&self, record: MessageRecord) -> Result<MessageRecord, QueueError> {
        let (reply, rx) = oneshot::channel();
        self.send(Op::Append { record, reply }).await?;
        rx.await.map_err(|_| QueueError::Closed)?
    }

    /// Marks a message done (0 delivered, 1 refused for good, 2 given up);
    /// returns once the marker is written (it is fsynced with the next
    /// commit that carries a message; see [`writer`]).
    pub async fn done(&self, seq: u64, outcome: u8) -> Result<(), QueueError> {
        let (reply, rx) = oneshot::channel();
        self.send(Op::Done {
            seq,
            outcome,
            reply,
        })
        .await?;
        rx.await.map_err(|_| QueueError::Closed)?
    }

    /// Persists a replay entry (a delivery in original mode).
    pub async fn remember(&self, key: String, at_ms: u64) -> Result<(), QueueError> {
        let (reply, rx) = oneshot::channel();
        self.send(Op::Replay { key, at_ms, reply }).await?;
        rx.await.map_err(|_| QueueError::Closed)?
    }

    /// The group-commit counters so far (fsyncs, records per fsync).
    pub fn batches(&self) -> BatchSnapshot {
        self.batches.snapshot()
    }

    /// The retry delay before attempt `attempt + 1`.
    pub fn retry_delay(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(20);
        self.retry_min
            .saturating_mul(1 << shift)
            .min(self.retry_max)
    }

    async fn send(&self, op: Op) -> Result<(), QueueError> {
        self.tx.send(op).await.map_err(|_| QueueError::Closed)
    }
}

#[cfg(test)]
mod tests;
