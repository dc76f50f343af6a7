//! The retry budget: retries may add at most a fixed share of the request
//! rate (plus a small floor), so a failing backend is not hit with a retry
//! storm. Only idempotent requests without a body are ever retried, and
//! only after the upstream gave no response (the connection failed, or
//! closed or reset before a response head): sending such a request twice
//! has the effect of sending it once.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use http::Method;

/// Units per request deposit; a retry costs `UNIT / ratio`.
const UNIT: i64 = 1_000;

/// A token bucket shared by all requests of one table revision.
#[derive(Debug)]
pub struct RetryBudget {
    balance: AtomicI64,
    /// What a request deposits: `UNIT`, or 0 when the ratio is 0 (then only
    /// the per-second floor ever pays for a retry).
    earn: i64,
    cost: i64,
    cap: i64,
}

// === impl RetryBudget ===

impl RetryBudget {
    /// A budget allowing `ratio` retries per request, with `min_per_sec`
    /// retries always available (refilled by [`RetryBudget::refill`]).
    /// Ratios are clamped to `1e-6..=1` so the arithmetic stays in range.
    pub fn new(ratio: f64, min_per_sec: u32) -> RetryBudget {
        let (earn, cost) = if ratio > 0.0 {
            let ratio = ratio.clamp(1e-6, 1.0);
            (UNIT, (UNIT as f64 / ratio).ceil() as i64)
        } else {
            (0, UNIT)
        };
        // A quarter of the range: balance + a refill of at most `cap` can
        // never wrap the atomic.
        let cap = cost
            .saturating_mul(i64::from(min_per_sec).max(1))
            .saturating_mul(10)
            .min(i64::MAX / 4);
        let floor = i64::from(min_per_sec).saturating_mul(cost).min(cap);
        RetryBudget {
            balance: AtomicI64::new(floor),
            earn,
            cost,
            cap,
        }
    }

    /// Called once per request.
    pub fn deposit(&self) {
        if self.earn == 0 {
            return;
        }
        let b = self.balance.fetch_add(self.earn, Ordering::Relaxed);
        if b > self.cap {
            self.balance.fetch_sub(self.earn, Ordering::Relaxed);
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
        let add = add.min(self.cap);
        let b = self.balance.fetch_add(add, Ordering::Relaxed);
        if b.saturating_add(add) > self.cap {
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
    fn a_zero_ratio_allows_only_the_floor() {
        let b = RetryBudget::new(0.0, 0);
        for _ in 0..100_000 {
            b.deposit();
        }
        assert!(!b.withdraw(), "ratio 0 and no floor: never a retry");
        let b = RetryBudget::new(0.0, 2);
        assert!(b.withdraw());
        assert!(b.withdraw());
        assert!(!b.withdraw());
        b.refill(2, Duration::from_secs(1));
        assert!(b.withdraw());
    }

    #[test]
    fn extreme_settings_do_not_overflow() {
        let b = RetryBudget::new(1e-300, u32::MAX);
        b.deposit();
        b.refill(u32::MAX, Duration::from_secs(3600));
        assert!(b.withdraw());
    }

    #[test]
    fn only_idempotent_bodiless_requests_retry() {
        assert!(retryable(&Method::GET, false));
        assert!(!retryable(&Method::POST, false));
        assert!(!retryable(&Method::PUT, true));
    }
}
