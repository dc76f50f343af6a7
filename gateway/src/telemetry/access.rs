//! The access-log line as JSON: time, request id, tenant, route, arm, rule,
//! backend, method, status, bytes and durations. Only values we generate or
//! that come from the config appear: never the path, the query string, a
//! body or a header a client sent (a propagated request id is the one
//! exception, and it is limited to 128 visible ASCII bytes).

use std::time::Duration;

use serde_json::json;

use super::clock::now_rfc3339;
use crate::proxy::access_log::AccessLog;

/// One JSON line.
pub fn json_line(log: &AccessLog, bytes: u64, elapsed: Duration) -> String {
    json!({
        "time": now_rfc3339(),
        "request_id": log.request_id.to_str().unwrap_or("-"),
        "tenant": log.tenant.as_deref(),
        "route": log.route.as_deref(),
        "arm": (log.arm != "-").then_some(log.arm),
        "rule": (log.rule != "-").then_some(log.rule),
        "backend": log.backend.as_deref(),
        "method": log.method.as_str(),
        "status": log.status,
        "bytes": bytes,
        "attempts": log.attempts,
        "truncated": log.truncated,
        "duration_us": elapsed.as_micros() as u64,
        "upstream_us": log.upstream_us,
    })
    .to_string()
}

/// The same fields as a `tracing` event (target `ehrgate::access`).
pub fn trace_line(log: &AccessLog, bytes: u64, elapsed: Duration) {
    tracing::info!(
        target: "ehrgate::access",
        request_id = log.request_id.to_str().unwrap_or("-"),
        tenant = log.tenant.as_deref().unwrap_or("-"),
        route = log.route.as_deref().unwrap_or("-"),
        arm = log.arm,
        rule = log.rule,
        backend = log.backend.as_deref().unwrap_or("-"),
        method = %log.method,
        status = log.status,
        bytes,
        attempts = log.attempts,
        truncated = log.truncated,
        duration_us = elapsed.as_micros() as u64,
        upstream_us = log.upstream_us,
    );
}
