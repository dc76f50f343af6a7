//! The Prometheus text exposition format (version 0.0.4), written by hand:
//! a few families with fixed label sets do not need a metrics framework.
//! Gauges that describe the running gateway (upstream health, the routing
//! table's revision) are read from the current snapshot at scrape time.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use super::metrics::{Histogram, Metrics, MllpKey, LATENCY_BUCKETS};

/// What the exposition reads of the gateway's state in force at scrape
/// time. The runtime's snapshot implements it; telemetry sits below the
/// runtime (the runtime carries it) and so names no type of it.
pub trait StateView {
    /// The routing table's revision.
    fn revision(&self) -> u64;
    /// Every backend's name, whether its active check passes and whether
    /// it gets traffic (healthy and not ejected).
    fn upstream_health(&self) -> Vec<UpstreamHealth>;
    /// The openEHR backends' counters, by backend name.
    fn openehr_backends(&self) -> Vec<(std::sync::Arc<str>, std::sync::Arc<dyn OpenEhrGauges>)>;
}

/// An openEHR backend's counters (the facade's, attached by the
/// composition root), read at scrape time.
pub trait OpenEhrGauges: std::fmt::Debug + Send + Sync {
    /// Calls refused for authentication or made without credentials.
    fn auth_failures(&self) -> u64;
    /// Template lookups answered from a stale copy.
    fn template_stale(&self) -> u64;
}

/// One backend's health gauges.
#[derive(Debug, Clone)]
pub struct UpstreamHealth {
    /// The backend name.
    pub name: std::sync::Arc<str>,
    /// The active check passes.
    pub healthy: bool,
    /// It gets traffic.
    pub available: bool,
}

impl<T: StateView + ?Sized> StateView for std::sync::Arc<T> {
    fn revision(&self) -> u64 {
        (**self).revision()
    }
    fn upstream_health(&self) -> Vec<UpstreamHealth> {
        (**self).upstream_health()
    }
    fn openehr_backends(&self) -> Vec<(std::sync::Arc<str>, std::sync::Arc<dyn OpenEhrGauges>)> {
        (**self).openehr_backends()
    }
}

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

const CLASSES: [&str; 6] = ["none", "1xx", "2xx", "3xx", "4xx", "5xx"];

/// Renders every metric.
pub fn render<S: StateView + ?Sized>(metrics: &Metrics, snap: &S) -> String {
    let mut out = String::with_capacity(16 * 1024);
    requests(&mut out, metrics);
    mllp(&mut out, metrics);
    mllp_not_stored(&mut out, metrics);
    failovers(&mut out, metrics);
    limits(&mut out, metrics);
    upstreams(&mut out, &snap.upstream_health());
    header(
        &mut out,
        "ehrgate_config_revision",
        "gauge",
        "Revision of the routing table in force (config reloads and admin changes).",
    );
    let _ = writeln!(out, "ehrgate_config_revision {}", snap.revision());
    header(
        &mut out,
        "ehrgate_release_state_revision",
        "gauge",
        "Revision of the release state (admin changes; survives restarts).",
    );
    let _ = writeln!(
        out,
        "ehrgate_release_state_revision {}",
        metrics.release_revision.load(Ordering::Relaxed)
    );
    template_caches(&mut out, metrics);
    openehr_backends(&mut out, &snap.openehr_backends());
    header(
        &mut out,
        "ehrgate_log_lines_dropped_total",
        "counter",
        "Access/audit log lines dropped because the writer could not keep up.",
    );
    let _ = writeln!(
        out,
        "ehrgate_log_lines_dropped_total {}",
        metrics.log_lines_dropped.load(Ordering::Relaxed)
    );
    out
}

fn requests(out: &mut String, metrics: &Metrics) {
    let map = metrics
        .series
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut rows: Vec<_> = map.iter().collect();
    rows.sort_by(|a, b| {
        (&a.0.route, a.0.arm, &a.0.backend, &a.0.tenant).cmp(&(
            &b.0.route,
            b.0.arm,
            &b.0.backend,
            &b.0.tenant,
        ))
    });
    let labels = |k: &super::metrics::SeriesKey| {
        format!(
            "route=\"{}\",arm=\"{}\",backend=\"{}\",tenant=\"{}\"",
            escape(&k.route),
            escape(k.arm),
            escape(&k.backend),
            escape(&k.tenant)
        )
    };
    header(
        out,
        "ehrgate_requests_total",
        "counter",
        "HTTP requests answered, by route, arm, backend, tenant and status class.",
    );
    for (k, s) in &rows {
        let l = labels(k);
        for (i, class) in CLASSES.iter().enumerate() {
            let n = s.by_class[i].load(Ordering::Relaxed);
            if n > 0 {
                let _ = writeln!(out, "ehrgate_requests_total{{{l},class=\"{class}\"}} {n}");
            }
        }
    }
    header(
        out,
        "ehrgate_request_errors_total",
        "counter",
        "HTTP requests answered with a 5xx status (ours or the upstream's).",
    );
    for (k, s) in &rows {
        let _ = writeln!(
            out,
            "ehrgate_request_errors_total{{{}}} {}",
            labels(k),
            s.errors.load(Ordering::Relaxed)
        );
    }
    header(
        out,
        "ehrgate_request_duration_seconds",
        "histogram",
        "Whole-request latency, from the request head to the end of the response body.",
    );
    for (k, s) in &rows {
        histogram(
            out,
            "ehrgate_request_duration_seconds",
            &labels(k),
            &s.latency,
        );
    }
}

fn mllp(out: &mut String, metrics: &Metrics) {
    let map = metrics
        .mllp
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut rows: Vec<_> = map.iter().collect();
    rows.sort_by(|a, b| a.0.cmp(b.0));
    header(
        out,
        "ehrgate_mllp_messages_total",
        "counter",
        "HL7 v2 messages handled on MLLP listeners, by message type, tenant, arm and ack code.",
    );
    let labels = |(message_type, tenant, arm, ack): &MllpKey| {
        format!(
            "message_type=\"{}\",tenant=\"{}\",arm=\"{}\",ack=\"{}\"",
            escape(message_type),
            escape(tenant),
            escape(arm),
            escape(ack)
        )
    };
    for (key, s) in &rows {
        let _ = writeln!(
            out,
            "ehrgate_mllp_messages_total{{{}}} {}",
            labels(key),
            s.messages.load(Ordering::Relaxed)
        );
    }
    header(
        out,
        "ehrgate_mllp_duration_seconds",
        "histogram",
        "MLLP message handling latency.",
    );
    for (key, s) in &rows {
        histogram(
            out,
            "ehrgate_mllp_duration_seconds",
            &labels(key),
            &s.latency,
        );
    }
}

fn failovers(out: &mut String, metrics: &Metrics) {
    let map = metrics
        .failovers
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut rows: Vec<_> = map.iter().collect();
    rows.sort_by(|a, b| a.0.cmp(b.0));
    header(
        out,
        "ehrgate_failover_total",
        "counter",
        "Requests sent to the other arm of their route (route failover = other-arm), by route, the arm left and the arm that served.",
    );
    for ((route, from, to), n) in rows {
        let _ = writeln!(
            out,
            "ehrgate_failover_total{{route=\"{}\",from=\"{from}\",to=\"{to}\"}} {}",
            escape(route),
            n.load(Ordering::Relaxed)
        );
    }
}

fn mllp_not_stored(out: &mut String, metrics: &Metrics) {
    let map = metrics
        .mllp_not_stored
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut rows: Vec<_> = map.iter().collect();
    rows.sort_by(|a, b| a.0.cmp(b.0));
    header(
        out,
        "ehrgate_mllp_resources_not_stored_total",
        "counter",
        "Resources of HL7 v2 messages an openEHR destination left out (route policy openehr_unstorable = warn), by route, tenant and FHIR resource type.",
    );
    for ((route, tenant, resource_type), n) in rows {
        let _ = writeln!(
            out,
            "ehrgate_mllp_resources_not_stored_total{{route=\"{}\",tenant=\"{}\",resource_type=\"{}\"}} {n}",
            escape(route),
            escape(tenant),
            escape(resource_type)
        );
    }
}

fn upstreams(out: &mut String, health: &[UpstreamHealth]) {
    header(
        out,
        "ehrgate_upstream_healthy",
        "gauge",
        "1 when the backend's active health check passes.",
    );
    for u in health {
        let _ = writeln!(
            out,
            "ehrgate_upstream_healthy{{backend=\"{}\"}} {}",
            escape(&u.name),
            u8::from(u.healthy)
        );
    }
    header(
        out,
        "ehrgate_upstream_available",
        "gauge",
        "1 when the backend gets traffic (healthy and not ejected by outlier detection).",
    );
    for u in health {
        let _ = writeln!(
            out,
            "ehrgate_upstream_available{{backend=\"{}\"}} {}",
            escape(&u.name),
            u8::from(u.available)
        );
    }
}

fn template_caches(out: &mut String, metrics: &Metrics) {
    let caches = metrics
        .template_caches
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let stats: Vec<_> = caches.iter().map(|(name, f)| (name, f())).collect();
    header(
        out,
        "ehrgate_template_cache_hits_total",
        "counter",
        "Template lookups answered from the cache.",
    );
    for (name, s) in &stats {
        let _ = writeln!(
            out,
            "ehrgate_template_cache_hits_total{{cache=\"{}\"}} {}",
            escape(name),
            s.hits
        );
    }
    header(
        out,
        "ehrgate_template_cache_misses_total",
        "counter",
        "Template lookups not answered from the cache.",
    );
    for (name, s) in &stats {
        let _ = writeln!(
            out,
            "ehrgate_template_cache_misses_total{{cache=\"{}\"}} {}",
            escape(name),
            s.misses
        );
    }
}

/// Per openEHR backend: authentication failures (401/403 from the CDR, or
/// no usable credentials) and template lookups served from a stale copy
/// because the CDR failed (issue 27). Read from the facades at scrape time.
fn openehr_backends(
    out: &mut String,
    facades: &[(std::sync::Arc<str>, std::sync::Arc<dyn OpenEhrGauges>)],
) {
    header(
        out,
        "ehrgate_openehr_auth_failures_total",
        "counter",
        "openEHR calls refused for authentication (401/403) or made without usable credentials.",
    );
    for (name, f) in facades {
        let n = f.auth_failures();
        let _ = writeln!(
            out,
            "ehrgate_openehr_auth_failures_total{{backend=\"{}\"}} {n}",
            escape(name)
        );
    }
    header(
        out,
        "ehrgate_openehr_template_stale_total",
        "counter",
        "Template lookups answered with a copy fetched earlier because the CDR failed.",
    );
    for (name, f) in facades {
        let _ = writeln!(
            out,
            "ehrgate_openehr_template_stale_total{{backend=\"{}\"}} {}",
            escape(name),
            f.template_stale()
        );
    }
}

fn histogram(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    let mut cumulative = 0u64;
    for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
        cumulative += h.buckets[i].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
    }
    cumulative += h.buckets[LATENCY_BUCKETS.len()].load(Ordering::Relaxed);
    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
    let sum = h.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
    let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
    // The count is the +Inf bucket, so the two always agree in one scrape.
    let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
}

fn limits(out: &mut String, metrics: &Metrics) {
    let l = &metrics.limits;
    header(
        out,
        "ehrgate_connections_refused_total",
        "counter",
        "New connections closed at once: listener, file-handle or per-source limit.",
    );
    for (listener, reason, n) in l.refused_snapshot() {
        let _ = writeln!(
            out,
            "ehrgate_connections_refused_total{{listener=\"{}\",reason=\"{}\"}} {n}",
            escape(&listener),
            reason.as_str()
        );
    }
    header(
        out,
        "ehrgate_mllp_log_suppressed_total",
        "counter",
        "MLLP warning lines not written (per connection and reason rate limit).",
    );
    for (i, reason) in super::limits::LOG_REASONS.iter().enumerate() {
        let _ = writeln!(
            out,
            "ehrgate_mllp_log_suppressed_total{{reason=\"{reason}\"}} {}",
            l.log_suppressed[i].load(Ordering::Relaxed)
        );
    }
    header(
        out,
        "ehrgate_mllp_queue_disk_full",
        "gauge",
        "1 while the durable MLLP queue cannot write for lack of disk space.",
    );
    let _ = writeln!(
        out,
        "ehrgate_mllp_queue_disk_full {}",
        l.queue_disk_full.load(Ordering::Relaxed)
    );
    header(
        out,
        "ehrgate_mllp_queue_disk_full_total",
        "counter",
        "Times the durable MLLP queue found its disk full.",
    );
    let _ = writeln!(
        out,
        "ehrgate_mllp_queue_disk_full_total {}",
        l.queue_disk_full_total.load(Ordering::Relaxed)
    );
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Escapes a label value (backslash, double quote, newline).
pub fn escape(v: &str) -> std::borrow::Cow<'_, str> {
    if !v.contains(['\\', '"', '\n']) {
        return std::borrow::Cow::Borrowed(v);
    }
    let mut s = String::with_capacity(v.len() + 4);
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    std::borrow::Cow::Owned(s)
}
