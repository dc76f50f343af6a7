//! Counters of the writer's group commit: how many fsyncs it did and how
//! many records each one carried (a histogram by powers of two), so a
//! benchmark or an operator can see whether commits really batch across
//! connections under load or degrade to one fsync per message.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Bucket upper bounds (inclusive) of records per fsync; the last bucket
/// takes everything larger.
pub const BUCKETS: [u64; 8] = [1, 2, 4, 8, 16, 32, 64, u64::MAX];

/// Live counters, written by the writer thread only.
#[derive(Debug, Default)]
pub struct BatchCounters {
    fsyncs: AtomicU64,
    records: AtomicU64,
    appends: AtomicU64,
    /// Fsyncs that carried no accepted message (only replay entries): a
    /// cost the `CA` path shares with other work.
    without_appends: AtomicU64,
    /// Batches of delivered markers alone, written without an fsync.
    unsynced: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
}

/// A copy of the counters at one moment.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchSnapshot {
    /// Group commits (one `fdatasync` each).
    pub fsyncs: u64,
    /// Records written by them.
    pub records: u64,
    /// Of which accepted messages.
    pub appends: u64,
    /// Commits without any accepted message.
    pub without_appends: u64,
    /// Batches of markers written without an fsync of their own.
    pub unsynced: u64,
    /// Commits per bucket of [`BUCKETS`].
    pub buckets: [u64; BUCKETS.len()],
}

// === impl BatchCounters ===

impl BatchCounters {
    /// One fsync that carried `records` records, `appends` of them messages.
    pub fn record(&self, records: usize, appends: usize) {
        let (records, appends) = (records as u64, appends as u64);
        self.fsyncs.fetch_add(1, Relaxed);
        self.records.fetch_add(records, Relaxed);
        self.appends.fetch_add(appends, Relaxed);
        if appends == 0 {
            self.without_appends.fetch_add(1, Relaxed);
        }
        let i = BUCKETS
            .iter()
            .position(|&b| records <= b)
            .unwrap_or(BUCKETS.len() - 1);
        self.buckets[i].fetch_add(1, Relaxed);
    }

    /// One batch of delivered markers written without an fsync.
    pub fn unsynced(&self) {
        self.unsynced.fetch_add(1, Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> BatchSnapshot {
        BatchSnapshot {
            fsyncs: self.fsyncs.load(Relaxed),
            records: self.records.load(Relaxed),
            appends: self.appends.load(Relaxed),
            without_appends: self.without_appends.load(Relaxed),
            unsynced: self.unsynced.load(Relaxed),
            buckets: std::array::from_fn(|i| self.buckets[i].load(Relaxed)),
        }
    }
}

// === impl BatchSnapshot ===

impl BatchSnapshot {
    /// What happened between `earlier` and this snapshot.
    pub fn since(&self, earlier: &BatchSnapshot) -> BatchSnapshot {
        BatchSnapshot {
            fsyncs: self.fsyncs.saturating_sub(earlier.fsyncs),
            records: self.records.saturating_sub(earlier.records),
            appends: self.appends.saturating_sub(earlier.appends),
            without_appends: self.without_appends.saturating_sub(earlier.without_appends),
            unsynced: self.unsynced.saturating_sub(earlier.unsynced),
            buckets: std::array::from_fn(|i| self.buckets[i].saturating_sub(earlier.buckets[i])),
        }
    }

    /// Mean records per fsync (0 without any).
    pub fn mean(&self) -> f64 {
        if self.fsyncs == 0 {
            0.0
        } else {
            self.records as f64 / self.fsyncs as f64
        }
    }
}

impl fmt::Display for BatchSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} fsyncs, {} records ({} messages), {:.1} records/fsync, {} fsyncs without a message, {} marker batches unsynced; records per fsync:",
            self.fsyncs,
            self.records,
            self.appends,
            self.mean(),
            self.without_appends,
            self.unsynced
        )?;
        let mut low = 1;
        for (b, n) in BUCKETS.iter().zip(self.buckets) {
            if *b == u64::MAX {
                write!(f, " {low}+:{n}")?;
            } else if *b == low {
                write!(f, " {low}:{n}")?;
            } else {
                write!(f, " {low}-{b}:{n}")?;
            }
            low = b.saturating_add(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_fall_into_power_of_two_buckets() {
        let c = BatchCounters::default();
        c.record(1, 1);
        c.record(3, 3);
        c.record(4, 0);
        c.record(100, 90);
        c.unsynced();
        let s = c.snapshot();
        assert_eq!(s.unsynced, 1);
        assert_eq!(
            (s.fsyncs, s.records, s.appends, s.without_appends),
            (4, 108, 94, 1)
        );
        assert_eq!(s.buckets, [1, 0, 2, 0, 0, 0, 0, 1]);
        assert_eq!(s.since(&BatchSnapshot::default()), s);
        assert_eq!(s.since(&s).fsyncs, 0);
        assert_eq!(s.mean(), 27.0);
        assert!(s.to_string().contains(" 3-4:2 "), "{s}");
        assert!(s.to_string().ends_with(" 65+:1"), "{s}");
    }
}
