//! Feed counters. A small struct of atomics until the telemetry API
//! (issue 7's metrics) is merged; every field is a count, never a value
//! taken from a message.

use std::sync::atomic::{AtomicU64, Ordering};

use ehrgate_mappers::hl7v2::AckCode;

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
