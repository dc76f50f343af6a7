//! Active health checks for MLLP destinations: a TCP connect (and the TLS
//! handshake for a TLS destination) every `interval_ms`, closed at once;
//! no message is sent, since an HL7 v2 receiver has no side-effect-free
//! probe message. After `unhealthy_after` failures in a row the destination
//! is marked down and messages for it are answered `AR` at once (no connect
//! attempt, no wait for a timeout); after `healthy_after` successes it is
//! up again. The checker ends when its sender is dropped (gateway stop, or
//! a reload that replaced the backend).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::sender::MllpSender;
use super::stats::FeedStats;
use crate::config::model::HealthConfig;

/// A destination's health as the checker last saw it (up until told
/// otherwise).
#[derive(Debug)]
pub struct Health {
    up: AtomicBool,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            up: AtomicBool::new(true),
        }
    }
}

// === impl Health ===

impl Health {
    /// Whether messages may be sent.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    fn set(&self, up: bool) {
        self.up.store(up, Ordering::Relaxed);
    }
}

/// Starts the checker of `sender`.
pub fn spawn(sender: &Arc<MllpSender>, check: HealthConfig) {
    let weak = Arc::downgrade(sender);
    tokio::spawn(run(weak, check));
}

async fn run(sender: Weak<MllpSender>, check: HealthConfig) {
    let interval = Duration::from_millis(check.interval_ms.max(1));
    let timeout = Duration::from_millis(check.timeout_ms.max(1));
    let (mut fails, mut passes) = (0u32, 0u32);
    loop {
        {
            let Some(s) = sender.upgrade() else { return };
            let ok = matches!(tokio::time::timeout(timeout, s.probe()).await, Ok(true));
            if !ok {
                FeedStats::inc(&s.stats().health_check_failures);
            }
            if ok {
                passes += 1;
                fails = 0;
                if !s.health().is_up() && passes >= check.healthy_after.max(1) {
                    s.health().set(true);
                    tracing::info!(target: "ehrgate::mllp", backend = %s.name(), "MLLP destination healthy again");
                }
            } else {
                fails += 1;
                passes = 0;
                if s.health().is_up() && fails >= check.unhealthy_after.max(1) {
                    s.health().set(false);
                    tracing::warn!(target: "ehrgate::mllp", backend = %s.name(), "MLLP destination marked down by health checks");
                }
            }
        }
        // The sender is not held while sleeping, so it can be dropped.
        tokio::time::sleep(interval).await;
    }
}
