//! The access-log line: one per request, written when the response body is
//! finished or dropped. It names the request id, tenant, route, arm, rule,
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
}

// === impl AccessLog ===

impl AccessLog {
    /// Writes the line.
    pub fn emit(self, bytes: u64) {
        tracing::info!(
            target: "ehrgate::access",
            request_id = self.request_id.to_str().unwrap_or("-"),
            tenant = self.tenant.as_deref().unwrap_or("-"),
            route = self.route.as_deref().unwrap_or("-"),
            arm = self.arm,
            rule = self.rule,
            backend = self.backend.as_deref().unwrap_or("-"),
            method = %self.method,
            status = self.status,
            bytes,
            attempts = self.attempts,
            truncated = self.truncated,
            duration_us = self.start.elapsed().as_micros() as u64,
        );
    }
}
