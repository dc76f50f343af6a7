//! Feed counters. A small struct of atomics until the telemetry API
//! (issue 7's metrics) is merged; every field is a count, never a value
//! taken from a message.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ehrgate_mappers::hl7v2::AckCode;

/// Most distinct label sets kept; message types come from the senders, so
/// the label space is bounded and the rest is counted under `other`.
const MAX_SERIES: usize = 4096;

/// The labels of one feed series: message type (`ADT^A01`), tenant, arm
/// and the acknowledgement codes sent (`AA`, `CA,AA`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FeedKey {
    /// `CODE^TRIGGER` from MSH-9.
    pub message_type: String,
    /// The tenant, `-` when not resolved.
    pub tenant: Arc<str>,
    /// `stable`, `canary`, or `-`.
    pub arm: &'static str,
    /// Ack codes sent, comma-separated.
    pub ack: String,
}

/// Count and latency of one series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedSeries {
    /// Messages.
    pub count: u64,
    /// Total latency from frame to acknowledgement.
    pub latency_total: Duration,
    /// Largest latency seen.
    pub latency_max: Duration,
}

/// Counters for every MLLP listener and sender of one gateway.
#[derive(Debug, Default)]
pub struct FeedStats {
    /// Inbound connections accepted.
    pub connections: AtomicU64,
    /// Frames received.
    pub frames: AtomicU64,
    /// Bytes outside frames (noise, restarted frames, oversized frames).
    pub bytes_skipped: AtomicU64,
    /// Frames larger than the limit.
    pub frames_too_large: AtomicU64,
    /// Frames whose payload did not parse as HL7 v2.
    pub unparsed: AtomicU64,
    /// Acknowledgements sent, by MSA-1 code (AA, AE, AR, CA, CE, CR).
    pub acks: [AtomicU64; 6],
    /// Messages delivered to the stable arm.
    pub delivered_stable: AtomicU64,
    /// Messages delivered to the canary arm.
    pub delivered_canary: AtomicU64,
    /// Replayed control ids acknowledged without delivery.
    pub replays: AtomicU64,
    /// Acknowledgements from MLLP destinations that matched no message in
    /// flight (late ACKs after a timeout) and were discarded.
    pub late_acks: AtomicU64,
    /// Connections opened to MLLP destinations.
    pub sender_connects: AtomicU64,
    /// Failed connection attempts to MLLP destinations.
    pub sender_connect_failures: AtomicU64,
    /// Failed health probes of MLLP destinations.
    pub health_check_failures: AtomicU64,
    /// Enhanced-mode messages written to the durable queue (then `CA`).
    pub queued: AtomicU64,
    /// Messages found undelivered in the queue at start.
    pub queue_recovered: AtomicU64,
    /// Delivery attempts from the queue that failed and were retried.
    pub queue_retries: AtomicU64,
    /// Messages delivered (or refused for good) from the queue.
    pub queue_done: AtomicU64,
    /// v2 messages translated for a FHIR or openEHR destination (a queued
    /// message once, at acceptance; not again for delivery or a retry).
    pub translations: AtomicU64,
    /// Application acks not sent because the message's connection was
    /// closed (or is not reading its acks) when delivery finished.
    pub app_acks_unsent: AtomicU64,
    series: Mutex<HashMap<FeedKey, FeedSeries>>,
}

// === impl FeedStats ===

impl FeedStats {
    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an acknowledgement sent.
    pub fn ack(&self, code: AckCode) {
        Self::inc(&self.acks[ack_index(code)]);
    }

    /// Acknowledgements sent with `code` so far.
    pub fn acks_sent(&self, code: AckCode) -> u64 {
        self.acks[ack_index(code)].load(Ordering::Relaxed)
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Records one message's series (type, tenant, arm, acks) and latency.
    pub fn record(&self, mut key: FeedKey, latency: Duration) {
        let Ok(mut series) = self.series.lock() else {
            return;
        };
        if !series.contains_key(&key) && series.len() >= MAX_SERIES {
            key.message_type = "other".into();
        }
        let s = series.entry(key).or_default();
        s.count += 1;
        s.latency_total += latency;
        s.latency_max = s.latency_max.max(latency);
    }

    /// Every series so far, sorted by labels.
    pub fn series(&self) -> Vec<(FeedKey, FeedSeries)> {
        let mut out: Vec<_> = self
            .series
            .lock()
            .map(|s| s.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

fn ack_index(code: AckCode) -> usize {
    match code {
        AckCode::AA => 0,
        AckCode::AE => 1,
        AckCode::AR => 2,
        AckCode::CA => 3,
        AckCode::CE => 4,
        AckCode::CR => 5,
    }
}
