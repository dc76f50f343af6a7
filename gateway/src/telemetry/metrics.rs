//! Request metrics: counters and latency histograms per route, arm,
//! backend and tenant, plus MLLP message counters and the hooks the
//! exposition reads at scrape time.
//!
//! Cardinality is bounded by construction: every label value is a name from
//! the config (route ids, backend names, tenant ids) or a fixed word; a
//! request whose tenant did not resolve is counted under `_unknown`, and no
//! label ever takes a value from request data. A hard cap on the number of
//! series (config reloads can rename things) folds anything beyond it into
//! one `_other` series.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ehrgate_templates::store::CacheStats;

/// Upper bounds of the latency buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Series kept at most before new label sets fold into `_other`.
pub const MAX_SERIES: usize = 10_000;

/// Label value for "no tenant resolved" (missing or unknown tenant).
pub const UNKNOWN: &str = "_unknown";
/// Label value for "no route / backend / arm chosen".
pub const NONE: &str = "_none";
/// Label value of the overflow series.
pub const OTHER: &str = "_other";

/// The labels of one request series.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SeriesKey {
    /// Route id or [`NONE`].
    pub route: Arc<str>,
    /// `stable`, `canary` or [`NONE`].
    pub arm: &'static str,
    /// Backend name or [`NONE`].
    pub backend: Arc<str>,
    /// Tenant id or [`UNKNOWN`].
    pub tenant: Arc<str>,
}

/// A latency histogram (cumulative buckets are computed at render time).
#[derive(Debug, Default)]
pub struct Histogram {
    /// Non-cumulative counts per bucket; the last slot is `+Inf`.
    pub buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    /// Sum of observations in microseconds.
    pub sum_us: AtomicU64,
    /// Number of observations.
    pub count: AtomicU64,
}

impl Histogram {
    /// Records one duration.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = LATENCY_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counters of one request series.
#[derive(Debug, Default)]
pub struct Series {
    /// Responses by status class: index 0 = none, 1..=5 = 1xx..5xx.
    pub by_class: [AtomicU64; 6],
    /// Responses with status 5xx (ours or the upstream's) or none at all.
    pub errors: AtomicU64,
    /// Whole-request latency.
    pub latency: Histogram,
}

/// Counters of one MLLP feed series.
#[derive(Debug, Default)]
pub struct MllpSeries {
    /// Messages handled.
    pub messages: AtomicU64,
    /// Handling latency.
    pub latency: Histogram,
}

/// Labels of a not-stored count: route, tenant, resource type.
pub type NotStoredKey = (Arc<str>, Arc<str>, Arc<str>);

/// An MLLP series: message type (`ADT^A01`), tenant (a configured name or
/// `-`), arm and acknowledgement code.
pub type MllpKey = (Arc<str>, Arc<str>, &'static str, &'static str);

/// Labels of a failover count: route, the arm left, the arm that served.
pub type FailoverKey = (Arc<str>, &'static str, &'static str);

/// Reads template cache counters at scrape time.
pub type CacheStatsFn = Box<dyn Fn() -> CacheStats + Send + Sync>;

/// All metrics of one gateway process.
pub struct Metrics {
    pub(super) series: RwLock<HashMap<SeriesKey, Arc<Series>>>,
    pub(super) mllp: RwLock<HashMap<MllpKey, Arc<MllpSeries>>>,
    /// Resources an openEHR feed delivery left out (`warn` policy), by
    /// route, tenant and FHIR resource type.
    pub(super) mllp_not_stored: RwLock<HashMap<NotStoredKey, u64>>,
    /// Requests sent to the other arm of their route, by route and arms.
    pub(super) failovers: RwLock<HashMap<FailoverKey, Arc<AtomicU64>>>,
    pub(super) template_caches: RwLock<Vec<(Arc<str>, CacheStatsFn)>>,
    /// Log lines dropped because a log writer could not keep up.
    pub log_lines_dropped: Arc<AtomicU64>,
    /// The release-state revision (admin changes), for dashboards.
    pub release_revision: AtomicU64,
    /// Connection and log bounds (issue 26).
    pub limits: Arc<super::limits::LimitMetrics>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            series: RwLock::new(HashMap::new()),
            mllp: RwLock::new(HashMap::new()),
            mllp_not_stored: RwLock::new(HashMap::new()),
            failovers: RwLock::new(HashMap::new()),
            template_caches: RwLock::new(Vec::new()),
            log_lines_dropped: Arc::default(),
            release_revision: AtomicU64::new(0),
            limits: Arc::default(),
        }
    }
}

// === impl Metrics ===

impl Metrics {
    /// Records one finished HTTP request. The names must come from the
    /// routing table (config), never from the request.
    pub fn record_request(
        &self,
        route: Option<&Arc<str>>,
        arm: &'static str,
        backend: Option<&Arc<str>>,
        tenant: Option<&Arc<str>>,
        status: u16,
        elapsed: Duration,
    ) {
        let key = SeriesKey {
            route: label(route, NONE),
            arm: if arm == "stable" || arm == "canary" {
                arm
            } else {
                NONE
            },
            backend: label(backend, NONE),
            tenant: label(tenant, UNKNOWN),
        };
        let series = self.series_for(key);
        let class = usize::from(status / 100).min(5);
        series.by_class[class].fetch_add(1, Ordering::Relaxed);
        if status >= 500 || status == 0 {
            series.errors.fetch_add(1, Ordering::Relaxed);
        }
        series.latency.observe(elapsed);
    }

    /// Records one MLLP message. `tenant` must be a configured name (or
    /// `-`), `arm` and `ack` fixed words; `message_type` comes from the
    /// message, so anything but `CODE^TRIGGER` of 1-3 capitals or digits
    /// each is counted as `_other` (bounded labels, nothing a sender chose).
    pub fn record_mllp(
        &self,
        message_type: &str,
        tenant: &Arc<str>,
        arm: &'static str,
        ack: &'static str,
        elapsed: Duration,
    ) {
        let message_type: Arc<str> = if is_message_type(message_type) {
            Arc::from(message_type)
        } else {
            Arc::from(OTHER)
        };
        let key = (message_type, tenant.clone(), arm, ack);
        let found = self
            .mllp
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .cloned();
        let series = match found {
            Some(s) => s,
            None => {
                let mut map = self
                    .mllp
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let key = if map.len() >= MAX_SERIES && !map.contains_key(&key) {
                    (Arc::from(OTHER), Arc::from(OTHER), OTHER, OTHER)
                } else {
                    key
                };
                map.entry(key).or_default().clone()
            }
        };
        series.messages.fetch_add(1, Ordering::Relaxed);
        series.latency.observe(elapsed);
    }

    /// Counts one resource an openEHR feed delivery left out. `route` and
    /// `tenant` are config names (or `-`); `resource_type` comes from the
    /// translation, so anything but a FHIR type name (`[A-Z][A-Za-z]{0,63}`)
    /// is counted as `_other`, and past [`MAX_SERIES`] label sets too.
    pub fn record_mllp_not_stored(&self, route: &Arc<str>, tenant: &Arc<str>, resource_type: &str) {
        let resource_type: Arc<str> = if is_type_name(resource_type) {
            Arc::from(resource_type)
        } else {
            Arc::from(OTHER)
        };
        let mut map = self
            .mllp_not_stored
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (route.clone(), tenant.clone(), resource_type);
        let key = if map.len() >= MAX_SERIES && !map.contains_key(&key) {
            (Arc::from(OTHER), Arc::from(OTHER), Arc::from(OTHER))
        } else {
            key
        };
        *map.entry(key).or_insert(0) += 1;
    }

    /// Counts one request moved from arm `from` to arm `to` of `route` (a
    /// route id from the config; the arms are fixed words, so the series
    /// are bounded by routes x 2).
    pub fn record_failover(&self, route: &Arc<str>, from: &'static str, to: &'static str) {
        let key = (route.clone(), from, to);
        let found = self
            .failovers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .cloned();
        let counter = match found {
            Some(c) => c,
            None => {
                let mut map = self
                    .failovers
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let key = if map.len() >= MAX_SERIES && !map.contains_key(&key) {
                    (Arc::from(OTHER), OTHER, OTHER)
                } else {
                    key
                };
                map.entry(key).or_default().clone()
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Registers a template cache whose hits and misses `/metrics` shows
    /// (the FHIR facade calls this with its `CachedStore`'s `stats`).
    pub fn register_template_cache(&self, name: &str, stats: CacheStatsFn) {
        self.template_caches
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((Arc::from(name), stats));
    }

    fn series_for(&self, key: SeriesKey) -> Arc<Series> {
        if let Some(s) = self
            .series
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
        {
            return s.clone();
        }
        let mut map = self
            .series
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = if map.len() >= MAX_SERIES && !map.contains_key(&key) {
            let other: Arc<str> = Arc::from(OTHER);
            SeriesKey {
                route: other.clone(),
                arm: OTHER,
                backend: other.clone(),
                tenant: other,
            }
        } else {
            key
        };
        map.entry(key).or_default().clone()
    }
}

fn label(v: Option<&Arc<str>>, none: &str) -> Arc<str> {
    v.cloned().unwrap_or_else(|| Arc::from(none))
}

/// `CODE^TRIGGER`, each part 1-3 ASCII capitals or digits (`ADT^A01`).
/// A FHIR resource type name: a capital, then letters, at most 64.
fn is_type_name(v: &str) -> bool {
    (1..=64).contains(&v.len())
        && v.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
        && v.bytes().all(|b| b.is_ascii_alphabetic())
}

fn is_message_type(v: &str) -> bool {
    let part = |p: &str| {
        (1..=3).contains(&p.len())
            && p.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    v.split_once('^').is_some_and(|(c, t)| part(c) && part(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_stored_counts_by_route_tenant_and_type_with_bounded_types() {
        let m = Metrics::default();
        let (route, tenant): (Arc<str>, Arc<str>) = (Arc::from("r"), Arc::from("t"));
        m.record_mllp_not_stored(&route, &tenant, "Observation");
        m.record_mllp_not_stored(&route, &tenant, "Observation");
        m.record_mllp_not_stored(&route, &tenant, "x\"y");
        m.record_mllp_not_stored(&route, &tenant, "");
        let map = m.mllp_not_stored.read().unwrap();
        let get = |rt: &str| {
            map.get(&(route.clone(), tenant.clone(), Arc::from(rt)))
                .copied()
        };
        assert_eq!(get("Observation"), Some(2));
        assert_eq!(get(OTHER), Some(2), "anything but a type name is _other");
        assert_eq!(map.len(), 2);
    }
}
