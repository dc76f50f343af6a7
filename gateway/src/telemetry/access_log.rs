//! The access-log line: one per request, written when the response body is
//! finished or dropped (through [`crate::telemetry`], which also records the
//! request's metrics). It names the request id, tenant, route, arm, rule,
//! backend, method, status, bytes and duration, and never the path, the
//! query string, a body or anything else that may identify a patient.

use std::sync::Arc;
use std::time::Instant;

/// The fields of one access-log line.
#[derive(Debug)]
pub struct AccessLog {
    /// Our request id.
    pub request_id: http::HeaderValue,
    /// The tenant, if resolved.
    pub tenant: Option<Arc<str>>,
    /// The route, if one matched.
    pub route: Option<Arc<str>>,
    /// `stable` / `canary`.
    pub arm: &'static str,
    /// The rule that picked the arm.
    pub rule: &'static str,
    /// The backend, if one was chosen.
    pub backend: Option<Arc<str>>,
    /// The request method.
    pub method: http::Method,
    /// The response status.
    pub status: u16,
    /// When the request arrived.
    pub start: Instant,
    /// Attempts made upstream.
    pub attempts: u32,
    /// The body was cut off at the size limit.
    pub truncated: bool,
    /// Time from sending upstream to the response head, when sent.
    pub upstream_us: Option<u64>,
    /// `canary->stable` / `stable->canary` when the request was moved to
    /// the other arm of its route (`proxy::failover`); `arm` and `backend`
    /// then name the arm that served it.
    pub failover: Option<&'static str>,
    /// Where the line and the metrics go.
    pub telemetry: Arc<crate::telemetry::Telemetry>,
}

// === impl AccessLog ===

impl AccessLog {
    /// The line of a request that just arrived: nothing decided yet.
    pub fn new(
        request_id: http::HeaderValue,
        method: http::Method,
        start: Instant,
        telemetry: Arc<crate::telemetry::Telemetry>,
    ) -> AccessLog {
        AccessLog {
            request_id,
            tenant: None,
            route: None,
            arm: "-",
            rule: "-",
            backend: None,
            method,
            status: 0,
            start,
            attempts: 0,
            truncated: false,
            upstream_us: None,
            failover: None,
            telemetry,
        }
    }

    /// The request's span (exported over OTLP when configured), named by
    /// our request id and the method; the decision is recorded on it by
    /// [`AccessLog::record_on`] once made.
    pub fn span(&self) -> tracing::Span {
        tracing::info_span!(
            "request",
            request_id = self.request_id.to_str().unwrap_or("-"),
            method = %self.method,
            tenant = tracing::field::Empty,
            route = tracing::field::Empty,
            arm = tracing::field::Empty,
            backend = tracing::field::Empty,
            status = tracing::field::Empty,
        )
    }

    /// Records tenant, route, arm, backend and status on the request's span
    /// (nothing when the span is disabled).
    pub fn record_on(&self, span: &tracing::Span) {
        if span.is_disabled() {
            return;
        }
        span.record("tenant", self.tenant.as_deref());
        span.record("route", self.route.as_deref());
        span.record("arm", self.arm);
        span.record("backend", self.backend.as_deref());
        span.record("status", self.status);
    }

    /// Writes the line and records the request's metrics (the one place
    /// where a finished request is accounted for).
    pub fn emit(self, bytes: u64) {
        self.emit_ref(bytes);
    }

    /// [`AccessLog::emit`] for a caller that still reads the fields after
    /// (the native HTTP/1.1 engine records its span from them); call it
    /// once per request.
    pub fn emit_ref(&self, bytes: u64) {
        self.telemetry.request_done(self, bytes);
    }
}
