//! The active health check of an upstream: a periodic GET of the
//! configured path; its verdicts go into the upstream's [`HealthState`]
//! (kept apart from the state so the state imports nothing of the pool).
//!
//! [`HealthState`]: super::health::HealthState

use std::sync::{Arc, Weak};
use std::time::Duration;

use http::Request;

use super::body::ProxyBody;
use super::pool::Upstream;
use crate::config::model::HealthConfig;

/// Starts the active checker of an upstream; it stops when the upstream is
/// dropped (after a reload removed the backend).
pub fn spawn_checker(upstream: &Arc<Upstream>, check: HealthConfig) {
    let weak: Weak<Upstream> = Arc::downgrade(upstream);
    tokio::spawn(async move {
        let mut passes = 0u32;
        let mut fails = 0u32;
        let mut tick = tokio::time::interval(Duration::from_millis(check.interval_ms));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(up) = weak.upgrade() else { return };
            let ok = probe(&up, &check).await;
            if ok {
                passes += 1;
                fails = 0;
                if passes >= check.healthy_after {
                    up.health.set_healthy(true, &up.name);
                }
            } else {
                fails += 1;
                passes = 0;
                if fails >= check.unhealthy_after {
                    up.health.set_healthy(false, &up.name);
                }
            }
        }
    });
}

async fn probe(up: &Upstream, check: &HealthConfig) -> bool {
    let Ok(uri) = up.uri_for(&check.path, None) else {
        return false;
    };
    let Ok(req) = Request::get(uri).body(ProxyBody::empty()) else {
        return false;
    };
    let call = up.client().request(req);
    match tokio::time::timeout(Duration::from_millis(check.timeout_ms), call).await {
        Ok(Ok(resp)) => {
            let ok = resp.status().is_success() || resp.status().is_redirection();
            drop(resp);
            ok
        }
        _ => false,
    }
}
