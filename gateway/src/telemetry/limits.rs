//! Counters of the connection and log bounds (issue 26): connections
//! refused per listener and reason, MLLP log lines suppressed per reason,
//! and whether the durable MLLP queue's disk is full.
//!
//! Labels are the listener's `bind` string from the config and fixed
//! words; nothing a client or sender chose.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Why a new connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RefusedReason {
    /// The listener's `max_connections`.
    ListenerLimit,
    /// `max_connections_per_source` (MLLP).
    SourceLimit,
    /// The process's file-handle budget for data connections.
    FileLimit,
}

impl RefusedReason {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusedReason::ListenerLimit => "listener_limit",
            RefusedReason::SourceLimit => "source_limit",
            RefusedReason::FileLimit => "file_limit",
        }
    }
}

/// MLLP log reasons that are rate-limited per connection.
pub const LOG_REASONS: [&str; 3] = ["unparsed", "frame_not_whole", "bad_frames_close"];

/// The bound counters of one gateway.
#[derive(Debug, Default)]
pub struct LimitMetrics {
    refused: Mutex<BTreeMap<(Arc<str>, RefusedReason), u64>>,
    /// Suppressed MLLP log lines, by [`LOG_REASONS`] index.
    pub log_suppressed: [AtomicU64; LOG_REASONS.len()],
    /// 1 while the durable queue's disk is full, else 0.
    pub queue_disk_full: Arc<AtomicU64>,
    /// Times the durable queue found its disk full.
    pub queue_disk_full_total: Arc<AtomicU64>,
}

// === impl LimitMetrics ===

impl LimitMetrics {
    /// Counts one refused connection; `listener` is a config `bind` string.
    pub fn refused(&self, listener: &Arc<str>, reason: RefusedReason) {
        if let Ok(mut m) = self.refused.lock() {
            *m.entry((listener.clone(), reason)).or_default() += 1;
        }
    }

    /// Refused connections so far, in label order.
    pub fn refused_snapshot(&self) -> Vec<(Arc<str>, RefusedReason, u64)> {
        self.refused
            .lock()
            .map(|m| m.iter().map(|((l, r), n)| (l.clone(), *r, *n)).collect())
            .unwrap_or_default()
    }

    /// Counts `n` suppressed log lines of reason `LOG_REASONS[reason]`.
    pub fn suppressed(&self, reason: usize, n: u64) {
        if let Some(c) = self.log_suppressed.get(reason) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }
}
