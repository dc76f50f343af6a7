//! Bounds on what one MLLP connection can make the gateway log (issue 26,
//! item 9: 90 KB of empty frames gave 30,000 warning lines, and a 100 KB
//! MSH-10 was logged verbatim).
//!
//! - [`ConnLog`]: per connection and per reason, at most
//!   `mllp.max_log_lines_per_reason` warning lines per
//!   `mllp.log_interval_ms`; the rest are counted at once
//!   (`ehrgate_mllp_log_suppressed_total{reason}`) and summed up in one
//!   "suppressed" line when the interval turns or the connection ends.
//! - [`value`]: a value taken from a message (the control id, the message
//!   type) as it may appear in a log line: printable ASCII only (anything
//!   else, a line break included, becomes `?`, so a sender cannot forge
//!   log lines), and at most [`CONTROL_ID_LOG_BYTES`] bytes, with a marker
//!   when cut.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::telemetry::limits::{LimitMetrics, LOG_REASONS};

/// The most of a control id (MSH-10) a log line shows.
pub const CONTROL_ID_LOG_BYTES: usize = 64;

/// The most of a message code or trigger (MSH-9) a log line shows.
pub const MESSAGE_TYPE_LOG_BYTES: usize = 16;

/// What a rate-limited line is about (indexes [`LOG_REASONS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogReason {
    /// A frame whose payload did not parse.
    Unparsed = 0,
    /// A frame larger than the limit, or cut by the end of the stream.
    FrameNotWhole = 1,
    /// The connection closed after too many bad frames in a row.
    BadFramesClose = 2,
}

/// One connection's log budget.
#[derive(Debug)]
pub struct ConnLog {
    max: u32,
    interval: Duration,
    window: Instant,
    lines: [u32; LOG_REASONS.len()],
    suppressed: [u64; LOG_REASONS.len()],
    metrics: Arc<LimitMetrics>,
}

// === impl ConnLog ===

impl ConnLog {
    /// A budget of `max` lines per reason per `interval`.
    pub fn new(max: u32, interval: Duration, metrics: Arc<LimitMetrics>) -> ConnLog {
        ConnLog {
            max,
            interval,
            window: Instant::now(),
            lines: [0; LOG_REASONS.len()],
            suppressed: [0; LOG_REASONS.len()],
            metrics,
        }
    }

    /// Whether a line of `reason` may be written now; counts it as
    /// suppressed when not.
    pub fn allow(&mut self, reason: LogReason) -> bool {
        if self.window.elapsed() >= self.interval {
            self.flush();
            self.window = Instant::now();
            self.lines = [0; LOG_REASONS.len()];
        }
        let i = reason as usize;
        if self.lines[i] < self.max {
            self.lines[i] += 1;
            return true;
        }
        self.suppressed[i] += 1;
        self.metrics.suppressed(i, 1);
        false
    }

    /// Writes one summary line per reason with suppressed lines.
    pub fn flush(&mut self) {
        for (i, n) in self.suppressed.iter_mut().enumerate() {
            if *n > 0 {
                tracing::warn!(target: "ehrgate::mllp::access", reason = LOG_REASONS[i], suppressed = *n, "log lines of this connection suppressed (rate limit)");
                *n = 0;
            }
        }
    }
}

impl Drop for ConnLog {
    fn drop(&mut self) {
        self.flush();
    }
}

/// `s` as a log line may show it: printable ASCII, at most `max` bytes.
pub fn value(s: &str, max: usize) -> Cow<'_, str> {
    let clean = s.bytes().all(|b| (0x20..0x7f).contains(&b));
    if clean && s.len() <= max {
        return Cow::Borrowed(s);
    }
    let mut out: String = s
        .bytes()
        .take(max)
        .map(|b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect();
    if s.len() > max {
        out.push_str("...");
    }
    Cow::Owned(out)
}

/// A control id as a log line may show it.
pub fn control_id(s: &str) -> Cow<'_, str> {
    value(s, CONTROL_ID_LOG_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn values_are_cut_and_cleaned() {
        assert_eq!(control_id("MSG00001"), "MSG00001");
        let long = "x".repeat(100_000);
        let shown = control_id(&long);
        assert_eq!(shown.len(), CONTROL_ID_LOG_BYTES + 3);
        assert!(shown.ends_with("..."));
        assert_eq!(value("a\nb\u{e9}", 64), "a?b??");
    }

    #[test]
    fn lines_beyond_the_budget_are_counted_not_written() {
        let metrics = Arc::new(LimitMetrics::default());
        let mut log = ConnLog::new(3, Duration::from_secs(3600), metrics.clone());
        let allowed = (0..1000).filter(|_| log.allow(LogReason::Unparsed)).count();
        assert_eq!(allowed, 3);
        assert!(
            log.allow(LogReason::FrameNotWhole),
            "reasons have their own budget"
        );
        assert_eq!(metrics.log_suppressed[0].load(Ordering::Relaxed), 997);
        let mut rolling = ConnLog::new(1, Duration::ZERO, metrics);
        assert!(rolling.allow(LogReason::Unparsed));
        assert!(
            rolling.allow(LogReason::Unparsed),
            "a new interval, a new budget"
        );
    }
}
