//! Backend health: the state that active checks (a periodic GET,
//! [`super::checker`]) and passive outlier ejection (a circuit breaker on
//! consecutive failures) keep.
//!
//! A backend gets traffic when the last active checks passed and it is not
//! ejected. Ejection ends by itself after `eject_ms` (half-open: the next
//! request tries again and a failure ejects it anew). All state is atomics:
//! the request path reads it without a lock.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use crate::config::model::OutlierConfig;

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    epoch().elapsed().as_millis() as u64
}

/// Health and outlier state of one upstream.
#[derive(Debug)]
pub struct HealthState {
    healthy: AtomicBool,
    consecutive_failures: AtomicU32,
    ejected_until_ms: AtomicU64,
    eject_after: u32,
    eject_for_ms: u64,
}

// === impl HealthState ===

impl HealthState {
    /// A healthy state with the given ejection rule.
    pub fn new(outlier: &OutlierConfig) -> HealthState {
        HealthState {
            healthy: AtomicBool::new(true),
            consecutive_failures: AtomicU32::new(0),
            ejected_until_ms: AtomicU64::new(0),
            eject_after: outlier.consecutive_failures,
            eject_for_ms: outlier.eject_ms,
        }
    }

    /// Whether requests may be sent.
    pub fn available(&self) -> bool {
        self.healthy.load(Ordering::Relaxed) && {
            let until = self.ejected_until_ms.load(Ordering::Relaxed);
            until == 0 || now_ms() >= until
        }
    }

    /// Whether the active check says up.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Records a good response.
    pub fn success(&self) {
        if self.consecutive_failures.load(Ordering::Relaxed) != 0 {
            self.consecutive_failures.store(0, Ordering::Relaxed);
        }
        if self.ejected_until_ms.load(Ordering::Relaxed) != 0 {
            self.ejected_until_ms.store(0, Ordering::Relaxed);
        }
    }

    /// Records a connect error, timeout or 5xx; may eject.
    pub fn failure(&self) {
        if self.eject_after == 0 {
            return;
        }
        let n = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= self.eject_after {
            self.consecutive_failures.store(0, Ordering::Relaxed);
            self.ejected_until_ms
                .store(now_ms() + self.eject_for_ms.max(1), Ordering::Relaxed);
            tracing::warn!(target: "ehrgate::health", "backend ejected after {n} consecutive failures");
        }
    }

    /// Records the active check's verdict (the checker, [`super::checker`]).
    pub(crate) fn set_healthy(&self, healthy: bool, name: &str) {
        if self.healthy.swap(healthy, Ordering::Relaxed) != healthy {
            tracing::warn!(target: "ehrgate::health", backend = name, healthy, "backend health changed");
            if healthy {
                self.ejected_until_ms.store(0, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ejects_after_consecutive_failures_and_recovers_on_success() {
        let h = HealthState::new(&OutlierConfig {
            consecutive_failures: 3,
            eject_ms: 60_000,
        });
        h.failure();
        h.failure();
        assert!(h.available());
        h.failure();
        assert!(!h.available());
        h.success();
        assert!(h.available());
    }

    #[test]
    fn zero_threshold_never_ejects() {
        let h = HealthState::new(&OutlierConfig {
            consecutive_failures: 0,
            eject_ms: 60_000,
        });
        for _ in 0..100 {
            h.failure();
        }
        assert!(h.available());
    }
}
