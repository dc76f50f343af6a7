//! The access-log line as JSON: time, request id, tenant, route, arm, rule,
//! backend, method, status, bytes and durations. Only values we generate or
//! that come from the config appear: never the path, the query string, a
//! body or a header a client sent (a propagated request id is the one
//! exception, and it is limited to 128 visible ASCII bytes).

use std::fmt::Write as _;
use std::time::Duration;

use super::clock::now_rfc3339;
use crate::telemetry::access_log::AccessLog;

/// One JSON line. Written field by field into one buffer rather than
/// through `serde_json::Value`: this runs once per request, and building a
/// map first cost about 15 times a routing decision (benches/release.rs).
pub fn json_line(log: &AccessLog, bytes: u64, elapsed: Duration) -> String {
    let mut s = String::with_capacity(384);
    s.push_str("{\"time\":");
    push_str(&mut s, Some(&now_rfc3339()));
    s.push_str(",\"request_id\":");
    push_str(&mut s, Some(log.request_id.to_str().unwrap_or("-")));
    s.push_str(",\"tenant\":");
    push_str(&mut s, log.tenant.as_deref());
    s.push_str(",\"route\":");
    push_str(&mut s, log.route.as_deref());
    s.push_str(",\"arm\":");
    push_str(&mut s, (log.arm != "-").then_some(log.arm));
    s.push_str(",\"rule\":");
    push_str(&mut s, (log.rule != "-").then_some(log.rule));
    s.push_str(",\"backend\":");
    push_str(&mut s, log.backend.as_deref());
    s.push_str(",\"method\":");
    push_str(&mut s, Some(log.method.as_str()));
    let _ = write!(
        s,
        ",\"status\":{},\"bytes\":{bytes},\"attempts\":{},\"truncated\":{},\"duration_us\":{},\"upstream_us\":",
        log.status,
        log.attempts,
        log.truncated,
        elapsed.as_micros() as u64
    );
    match log.upstream_us {
        Some(us) => {
            let _ = write!(s, "{us}");
        }
        None => s.push_str("null"),
    }
    s.push_str(",\"failover\":");
    push_str(&mut s, log.failover);
    s.push('}');
    s
}

/// A JSON string (or `null`), escaped.
fn push_str(s: &mut String, v: Option<&str>) {
    let Some(v) = v else {
        s.push_str("null");
        return;
    };
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
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
        failover = log.failover.unwrap_or("-"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn the_line_is_json_with_every_field_and_escapes() {
        let log = AccessLog {
            request_id: http::HeaderValue::from_static("id-\"1\\"),
            tenant: Some(Arc::from("t\u{1}x")),
            route: Some(Arc::from("fhir")),
            arm: "canary",
            rule: "route-weight",
            backend: None,
            method: http::Method::POST,
            status: 502,
            start: Instant::now(),
            attempts: 2,
            truncated: false,
            upstream_us: None,
            failover: Some("canary->stable"),
            telemetry: Arc::default(),
        };
        let line = json_line(&log, 17, Duration::from_micros(1234));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
        assert_eq!(v["request_id"], "id-\"1\\");
        assert_eq!(v["tenant"], "t\u{1}x");
        assert_eq!(
            (v["route"].as_str(), v["arm"].as_str(), v["rule"].as_str()),
            (Some("fhir"), Some("canary"), Some("route-weight"))
        );
        assert!(v["backend"].is_null() && v["upstream_us"].is_null());
        assert_eq!(v["failover"], "canary->stable");
        assert_eq!(
            (
                v["method"].as_str(),
                v["status"].as_u64(),
                v["bytes"].as_u64()
            ),
            (Some("POST"), Some(502), Some(17))
        );
        assert_eq!(
            (
                v["attempts"].as_u64(),
                v["truncated"].as_bool(),
                v["duration_us"].as_u64()
            ),
            (Some(2), Some(false), Some(1234))
        );
    }
}
