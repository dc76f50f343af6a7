//! A caching [`TemplateStore`] on moka.
//!
//! - **One fetch per concurrent miss**: misses go through moka's
//!   `try_get_with`, which runs one load per key and hands its result to
//!   every waiter.
//! - **Errors are shared, not cached**: a failed load is returned (cloned) to
//!   all waiters of that load; nothing is stored, so the next call retries.
//! - **Size bound**: entries are weighed by node count, so one large
//!   template (IPS, ~30k nodes) counts for what it costs in memory.
//! - **Two expiries**: ids listed as *pinned* (released templates whose
//!   content never changes for that id) live for `pinned_ttl`; other ids,
//!   which a backend may re-upload with new content (`cache.opt` /
//!   `cache_updated.opt` share one id), for `mutable_ttl`. Freshness is
//!   checked against the tokio clock (so tests can pause time); moka's own
//!   per-entry expiry, set to the same durations, reclaims memory.
//! - **Not-found answers are remembered briefly** (`not_found_ttl`, 5 s by
//!   default, zero disables): without it every request naming an unknown id
//!   reaches the backend, which lets a client put load on the CDR at will.
//!   Invalidating an id (a template upload) forgets its not-found answer too.
//! - **Invalidation** of one id or all; a load already in flight when
//!   invalidating still completes and is stored.
//! - **Counters** for metrics: hits, misses, loads, load errors, load time.

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use moka::ops::compute::Op;
use moka::Expiry;
use tokio::time::Instant;

use super::{TemplateError, TemplateStore, TemplateSummary};
use crate::id::TemplateId;
use crate::meta::TemplateMeta;

/// Settings of a [`CachedStore`].
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Upper bound on the summed node counts of cached templates.
    pub max_nodes: u64,
    /// Ids whose content is fixed; they get `pinned_ttl`.
    pub pinned: HashSet<TemplateId>,
    /// Lifetime of pinned entries.
    pub pinned_ttl: Duration,
    /// Lifetime of all other entries.
    pub mutable_ttl: Duration,
    /// How long a not-found answer is remembered; zero disables.
    pub not_found_ttl: Duration,
    /// Upper bound on remembered not-found ids.
    pub max_not_found: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_nodes: 5_000_000,
            pinned: HashSet::new(),
            pinned_ttl: Duration::from_secs(24 * 3600),
            mutable_ttl: Duration::from_secs(300),
            not_found_ttl: Duration::from_secs(5),
            max_not_found: 10_000,
        }
    }
}

/// A snapshot of the cache counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Calls answered from the cache.
    pub hits: u64,
    /// Calls not answered from the cache (including waiters on another call's load).
    pub misses: u64,
    /// Loads started on the inner store.
    pub loads: u64,
    /// Loads that failed.
    pub load_errors: u64,
    /// Calls answered "not found" from the remembered not-found answers.
    pub not_found_hits: u64,
    /// Total time spent in loads.
    pub load_time: Duration,
    /// Entries currently cached (approximate, as moka reports it).
    pub entries: u64,
}

#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    loads: AtomicU64,
    load_errors: AtomicU64,
    not_found_hits: AtomicU64,
    load_nanos: AtomicU64,
}

/// A cached template and when it stops being fresh.
#[derive(Debug, Clone)]
struct Entry {
    meta: Arc<TemplateMeta>,
    expires_at: Instant,
    ttl: Duration,
}

/// Tells moka each entry's lifetime (memory reclamation).
struct EntryExpiry;

impl Expiry<TemplateId, Entry> for EntryExpiry {
    fn expire_after_create(
        &self,
        _key: &TemplateId,
        value: &Entry,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// A [`TemplateStore`] that caches another one.
pub struct CachedStore {
    inner: Arc<dyn TemplateStore>,
    cache: Cache<TemplateId, Entry>,
    /// Ids the inner store answered "not found" for, with when that answer
    /// stops counting (tokio clock, like the entries).
    not_found: Cache<TemplateId, Instant>,
    config: Arc<CacheConfig>,
    counters: Arc<Counters>,
}

// === impl CachedStore ===

impl CachedStore {
    /// Caches `inner` with `config`.
    pub fn new(inner: Arc<dyn TemplateStore>, config: CacheConfig) -> Self {
        let cache = Cache::builder()
            .max_capacity(config.max_nodes)
            .weigher(|_id: &TemplateId, entry: &Entry| {
                u32::try_from(entry.meta.node_count).unwrap_or(u32::MAX)
            })
            .expire_after(EntryExpiry)
            .build();
        let not_found = Cache::builder()
            .max_capacity(config.max_not_found)
            .time_to_live(config.not_found_ttl.max(Duration::from_millis(1)))
            .build();
        CachedStore {
            inner,
            cache,
            not_found,
            config: Arc::new(config),
            counters: Arc::new(Counters::default()),
        }
    }

    /// The template `id`: from the cache when fresh, else loaded once for
    /// all concurrent callers. Same as [`TemplateStore::get`], without the
    /// boxed future of the trait object (the hit path stays allocation-free).
    pub async fn get(&self, id: &TemplateId) -> Result<Arc<TemplateMeta>, TemplateError> {
        if let Some(entry) = self.cache.get(id).await {
            if entry.expires_at > Instant::now() {
                self.counters.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(entry.meta);
            }
            self.remove_if_stale(id).await;
        }
        if let Some(until) = self.not_found.get(id).await {
            if until > Instant::now() {
                self.counters.not_found_hits.fetch_add(1, Ordering::Relaxed);
                return Err(TemplateError::NotFound(id.clone()));
            }
            self.not_found.invalidate(id).await;
        }
        self.counters.misses.fetch_add(1, Ordering::Relaxed);
        let inner = Arc::clone(&self.inner);
        let counters = Arc::clone(&self.counters);
        let ttl = self.ttl_for(id);
        let key = id.clone();
        let load = async move {
            counters.loads.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let result = inner.get(&key).await;
            let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            counters.load_nanos.fetch_add(nanos, Ordering::Relaxed);
            match result {
                Ok(meta) => Ok(Entry {
                    meta,
                    expires_at: Instant::now() + ttl,
                    ttl,
                }),
                Err(e) => {
                    counters.load_errors.fetch_add(1, Ordering::Relaxed);
                    Err(e)
                }
            }
        };
        let result = self.cache.try_get_with(id.clone(), load).await;
        match result {
            Ok(entry) => Ok(entry.meta),
            Err(shared) => {
                let error = TemplateError::clone(&shared);
                if matches!(error, TemplateError::NotFound(_))
                    && !self.config.not_found_ttl.is_zero()
                {
                    let until = Instant::now() + self.config.not_found_ttl;
                    self.not_found.insert(id.clone(), until).await;
                }
                Err(error)
            }
        }
    }

    /// Drops `id`; the next `get` loads it again.
    pub async fn invalidate(&self, id: &TemplateId) {
        self.not_found.invalidate(id).await;
        self.cache.invalidate(id).await;
    }

    /// Drops every entry.
    pub fn invalidate_all(&self) {
        self.not_found.invalidate_all();
        self.cache.invalidate_all();
    }

    /// Runs moka's pending maintenance (evictions, expirations) now;
    /// useful before reading [`CacheStats::entries`].
    pub async fn run_pending_tasks(&self) {
        self.cache.run_pending_tasks().await;
    }

    /// Current counters.
    pub fn stats(&self) -> CacheStats {
        let c = &self.counters;
        CacheStats {
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            loads: c.loads.load(Ordering::Relaxed),
            load_errors: c.load_errors.load(Ordering::Relaxed),
            not_found_hits: c.not_found_hits.load(Ordering::Relaxed),
            load_time: Duration::from_nanos(c.load_nanos.load(Ordering::Relaxed)),
            entries: self.cache.entry_count(),
        }
    }

    fn ttl_for(&self, id: &TemplateId) -> Duration {
        if self.config.pinned.contains(id) {
            self.config.pinned_ttl
        } else {
            self.config.mutable_ttl
        }
    }

    /// Removes `id` only if the cached entry is still stale, so a fresh
    /// entry loaded meanwhile by another caller is not thrown away.
    async fn remove_if_stale(&self, id: &TemplateId) {
        let now = Instant::now();
        self.cache
            .entry(id.clone())
            .and_compute_with(|current| {
                let stale = current.is_some_and(|e| e.value().expires_at <= now);
                async move {
                    if stale {
                        Op::Remove
                    } else {
                        Op::Nop
                    }
                }
            })
            .await;
    }
}

impl fmt::Debug for CachedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedStore")
            .field("inner", &self.inner)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl TemplateStore for CachedStore {
    async fn get(&self, id: &TemplateId) -> Result<Arc<TemplateMeta>, TemplateError> {
        CachedStore::get(self, id).await
    }

    async fn list(&self) -> Result<Vec<TemplateSummary>, TemplateError> {
        self.inner.list().await
    }
}
