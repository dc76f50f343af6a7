//! The retry budget: retries may add at most a fixed share of the request
//! rate (plus a small floor), so a failing backend is not hit with a retry
//! storm. Only idempotent requests without a body are ever retried, and
//! only after a failure that happened before the upstream saw the request
//! (connect errors), so a retry can never apply a change twice.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use http::Method;

/// Units per request deposit; a retry costs `UNIT / ratio`.
const UNIT: i64 = 1_000;

/// A token bucket shared by all requests of one table revision.
#[derive(Debug)]
pub struct RetryBudget {
    balance: AtomicI64,
    cost: i64,
    cap: i64,
}

// === impl RetryBudget ===

impl RetryBudget {
    /// A budget allowing `ratio` retries per request, with `min_per_sec`
    /// retries always available (refilled by [`RetryBudget::refill`]).
    pub fn new(ratio: f64, min_per_sec: u32) -> RetryBudget {
        let cost = if ratio <= 0.0 {
            i64::MAX / 4
        } else {
            (UNIT as f64 / ratio).ceil() as i64
        };
        let floor = i64::from(min_per_sec) * cost;
        RetryBudget {
            balance: AtomicI64::new(floor),
            cost,
            cap: floor.max(cost) * 10,
        }
    }

    /// Called once per request.
    pub fn deposit(&self) {
        let b = self.balance.fetch_add(UNIT, Ordering::Relaxed);
        if b > self.cap {
            self.balance.fetch_sub(UNIT, Ordering::Relaxed);
        }
    }

    /// Takes one retry from the budget, if there is one.
    pub fn withdraw(&self) -> bool {
        let prev = self.balance.fetch_sub(self.cost, Ordering::Relaxed);
        if prev >= self.cost {
            true
        } else {
            self.balance.fetch_add(self.cost, Ordering::Relaxed);
            false
        }
    }

    /// Adds the per-second floor back (called by a timer).
    pub fn refill(&self, min_per_sec: u32, elapsed: Duration) {
        let add = (f64::from(min_per_sec) * elapsed.as_secs_f64() * self.cost as f64) as i64;
        let b = self.balance.fetch_add(add, Ordering::Relaxed);
        if b + add > self.cap {
            self.balance.store(self.cap, Ordering::Relaxed);
        }
    }
}

/// Whether a request may be retried at all: idempotent method and no body.
pub fn retryable(method: &Method, has_body: bool) -> bool {
    !has_body
        && matches!(
            *method,
            Method::GET
                | Method::HEAD
                | Method::OPTIONS
                | Method::PUT
                | Method::DELETE
                | Method::TRACE
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_limits_retries_to_ratio() {
        let b = RetryBudget::new(0.2, 0);
        assert!(!b.withdraw());
        for _ in 0..10 {
            b.deposit();
        }
        assert!(b.withdraw());
        assert!(b.withdraw());
        assert!(!b.withdraw());
    }

    #[test]
    fn only_idempotent_bodiless_requests_retry() {
        assert!(retryable(&Method::GET, false));
        assert!(!retryable(&Method::POST, false));
        assert!(!retryable(&Method::PUT, true));
    }
}
