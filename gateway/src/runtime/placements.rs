//! Where resources were created (write placement, `proxy::placement`): the
//! store the snapshot carries from revision to revision, and its seam for
//! a fleet-wide store. The placement rules themselves are the proxy's; this
//! is only the state, so the runtime needs nothing of the proxy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::routing::decision::Arm;

/// Where resources were created: the seam for a fleet-wide store.
pub trait PlacementStore: Send + Sync + std::fmt::Debug {
    /// Records that `key` was created on `arm`.
    fn record(&self, key: PlacementKey, arm: Arm);
    /// The arm `key` was created on, if known.
    fn lookup(&self, key: &PlacementKey) -> Option<Arm>;
    /// The capacity it was built with (a reload with another capacity
    /// builds a new store).
    fn capacity(&self) -> usize;
    /// Nothing was ever recorded: the request path skips building a key
    /// (a route with a canary would otherwise pay for one per request).
    fn never_recorded(&self) -> bool {
        false
    }
}

/// One created resource: the route and tenant it was created through and
/// `Type/id` (ids are server-assigned, unique per backend, not globally).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlacementKey {
    /// The route id.
    pub route: Arc<str>,
    /// The tenant id.
    pub tenant: Arc<str>,
    /// `Type/id`.
    pub resource: Box<str>,
}

/// The in-memory store: a bounded map, least recently used evicted first.
#[derive(Debug)]
pub struct MemoryPlacements {
    cache: moka::sync::Cache<PlacementKey, Arm>,
    capacity: usize,
    recorded: AtomicBool,
}

// === impl MemoryPlacements ===

impl MemoryPlacements {
    /// A store of at most `capacity` entries.
    pub fn new(capacity: usize) -> MemoryPlacements {
        MemoryPlacements {
            cache: moka::sync::Cache::builder()
                .max_capacity(capacity as u64)
                // LRU rather than moka's default TinyLFU admission, which
                // may refuse a new entry when full: the newest creation is
                // the one most likely read next.
                .eviction_policy(moka::policy::EvictionPolicy::lru())
                .build(),
            capacity,
            recorded: AtomicBool::new(false),
        }
    }
}

impl PlacementStore for MemoryPlacements {
    fn record(&self, key: PlacementKey, arm: Arm) {
        self.cache.insert(key, arm);
        if !self.recorded.load(Ordering::Relaxed) {
            self.recorded.store(true, Ordering::Relaxed);
        }
    }

    fn lookup(&self, key: &PlacementKey) -> Option<Arm> {
        self.cache.get(key)
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn never_recorded(&self) -> bool {
        !self.recorded.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_is_bounded() {
        let s = MemoryPlacements::new(10);
        let key = |i: usize| PlacementKey {
            route: Arc::from("r"),
            tenant: Arc::from("t"),
            resource: format!("Patient/{i}").into(),
        };
        for i in 0..1000 {
            s.record(key(i), Arm::Canary);
        }
        s.cache.run_pending_tasks();
        assert!(s.cache.entry_count() <= 10, "{}", s.cache.entry_count());
        assert_eq!(s.lookup(&key(999)), Some(Arm::Canary));
    }
}
