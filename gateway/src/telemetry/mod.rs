//! Telemetry: Prometheus metrics ([`metrics`], [`exposition`]), the
//! structured JSON access log ([`access`]), the audit log of admin actions,
//! per-request tracing spans and the optional OTLP trace export ([`otlp`]).
//!
//! One [`Telemetry`] per gateway process, created from the `[telemetry]`
//! section at start (changing its destinations needs a restart). The proxy
//! records a request in exactly one place: when its access-log line is
//! emitted ([`crate::telemetry::access_log::AccessLog::emit`]).
//!
//! # For other listeners
//! The MLLP listeners call [`Metrics::record_mllp`] through
//! `shared.telemetry.metrics`; a component holding a template cache calls
//! [`Metrics::register_template_cache`].
//!
//! # What it may import
//! `routing` (arm and failover labels), `config`, `tls`: it sits below the
//! runtime, which carries one `Telemetry`; the state it exposes at scrape
//! time comes through [`exposition::StateView`].

pub mod access;
pub mod access_log;
pub mod clock;
pub mod exposition;
pub mod limits;
pub mod line_writer;
pub mod metrics;
#[cfg(feature = "otlp")]
pub mod otlp;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use line_writer::LogOpenError;
pub use metrics::Metrics;

use crate::config::admin::{AccessLogTarget, TelemetryConfig};
use line_writer::LineWriter;

/// Where access-log lines go.
#[derive(Debug)]
enum AccessSink {
    Tracing,
    Off,
    Lines(LineWriter),
}

/// Metrics and log destinations of one gateway process.
#[derive(Debug)]
pub struct Telemetry {
    /// The metrics registry.
    pub metrics: Metrics,
    access: AccessSink,
    audit: Option<LineWriter>,
}

// === impl Telemetry ===

impl Telemetry {
    /// Metrics only; the access log goes to `tracing` (tests, tools).
    pub fn new() -> Telemetry {
        Telemetry {
            metrics: Metrics::default(),
            access: AccessSink::Tracing,
            audit: None,
        }
    }

    /// Opens the configured destinations; `resolve` makes relative paths
    /// relative to the config file.
    pub fn from_config(
        config: &TelemetryConfig,
        resolve: impl Fn(&Path) -> std::path::PathBuf,
    ) -> Result<Telemetry, LogOpenError> {
        let metrics = Metrics::default();
        let dropped = metrics.log_lines_dropped.clone();
        let cap = config.log_buffer_lines;
        let access = match &config.access_log {
            AccessLogTarget::Tracing => AccessSink::Tracing,
            AccessLogTarget::Off => AccessSink::Off,
            AccessLogTarget::Stdout => AccessSink::Lines(LineWriter::stdout(cap, dropped.clone())?),
            AccessLogTarget::File(p) => {
                AccessSink::Lines(LineWriter::file(&resolve(p), cap, dropped.clone())?)
            }
        };
        let audit = match &config.audit_log {
            Some(p) => Some(LineWriter::file(&resolve(p), cap, dropped)?),
            None => None,
        };
        Ok(Telemetry {
            metrics,
            access,
            audit,
        })
    }

    /// Writes one access-log line and records the request's metrics.
    pub fn request_done(&self, log: &crate::telemetry::access_log::AccessLog, bytes: u64) {
        let elapsed = log.start.elapsed();
        self.metrics.record_request(
            log.route.as_ref(),
            log.arm,
            log.backend.as_ref(),
            log.tenant.as_ref(),
            log.status,
            elapsed,
        );
        if let (Some(moved), Some(route)) = (log.failover, &log.route) {
            let (from, to) = crate::routing::decision::failover_arms(moved);
            self.metrics.record_failover(route, from, to);
        }
        match &self.access {
            AccessSink::Off => {}
            AccessSink::Tracing => access::trace_line(log, bytes, elapsed),
            AccessSink::Lines(w) => w.write(access::json_line(log, bytes, elapsed)),
        }
    }

    /// Writes one audit record (a JSON object) as a line, and a short
    /// `tracing` event naming the action.
    pub fn audit(&self, record: &serde_json::Value) {
        tracing::info!(
            target: "ehrgate::audit",
            action = record["action"].as_str().unwrap_or("-"),
            who = record["who"].as_str().unwrap_or("-"),
            revision = record["revision"].as_u64().unwrap_or(0),
            "admin action"
        );
        if let Some(w) = &self.audit {
            w.write(record.to_string());
        }
    }

    /// Waits until queued log lines are on disk (shutdown, tests).
    pub fn flush(&self) {
        let t = Duration::from_secs(5);
        if let AccessSink::Lines(w) = &self.access {
            w.flush(t);
        }
        if let Some(w) = &self.audit {
            w.flush(t);
        }
    }
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry::new()
    }
}

/// A shared handle.
pub type TelemetryHandle = Arc<Telemetry>;
