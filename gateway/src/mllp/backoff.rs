//! Reconnect backoff for an MLLP destination: after a failed connect the
//! next attempt waits `min * 2^(failures-1)`, capped at `max`. Messages that
//! arrive meanwhile are answered `AR` at once instead of each waiting for a
//! connect timeout against a destination known to be down.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Backoff state of one destination.
#[derive(Debug)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failures: u32,
    not_before: Option<Instant>,
}

// === impl Backoff ===

impl Backoff {
    /// Delays from `min` doubling up to `max`.
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff {
            min,
            max,
            state: Mutex::new(State::default()),
        }
    }

    /// Whether a connect may be tried now.
    pub fn may_try(&self, now: Instant) -> bool {
        self.state
            .lock()
            .map_or(true, |s| s.not_before.is_none_or(|t| now >= t))
    }

    /// A connect failed: push the next attempt out.
    pub fn failed(&self, now: Instant) -> Duration {
        let Ok(mut s) = self.state.lock() else {
            return self.min;
        };
        s.failures = s.failures.saturating_add(1);
        let shift = (s.failures - 1).min(20);
        let delay = self.min.saturating_mul(1 << shift).min(self.max);
        s.not_before = Some(now + delay);
        delay
    }

    /// A connect succeeded: no more waiting.
    pub fn succeeded(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.failures = 0;
            s.not_before = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_max_and_resets() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
        let t = Instant::now();
        assert!(b.may_try(t));
        let delays: Vec<_> = (0..5).map(|_| b.failed(t).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
        assert!(!b.may_try(t + Duration::from_millis(499)));
        assert!(b.may_try(t + Duration::from_millis(500)));
        b.succeeded();
        assert!(b.may_try(t));
        assert_eq!(b.failed(t).as_millis(), 100);
    }
}
