//! Rules for the MLLP sections, each broken rule reported with the line of
//! the value that breaks it (the same collector as the HTTP sections).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use super::model::{BackendConfig, BackendKind, Config};
use super::model_mllp::UnstorablePolicy;
use super::validate::{check_weight, Issues};

/// Checks `[mllp]`, `[[mllp_listener]]`, `[[mllp_facility]]` and
/// `[[mllp_route]]` against the backends and tenants already collected.
pub(super) fn check(
    config: &Config,
    backends: &HashMap<&str, BackendKind>,
    tenants: &HashSet<&str>,
    issues: &mut Issues<'_>,
) {
    check_settings(config, issues);
    let mut seen: HashSet<SocketAddr> = config
        .listeners
        .iter()
        .filter_map(|l| l.bind.get_ref().parse().ok())
        .collect();
    for l in &config.mllp_listeners {
        match l.bind.get_ref().parse::<SocketAddr>() {
            Ok(addr) if addr.port() != 0 && !seen.insert(addr) => {
                issues.at(&l.bind, format!("listener `{addr}` is declared twice"));
            }
            Ok(_) => {}
            Err(_) => issues.at(
                &l.bind,
                format!("`{}` is not an IP:port address", l.bind.get_ref()),
            ),
        }
        if let Some(m) = &l.max_connections {
            if !(1..=1_000_000).contains(m.get_ref()) {
                issues.at(
                    m,
                    "mllp_listener.max_connections must be within 1..=1000000".into(),
                );
            }
        }
        if let Some(m) = &l.max_connections_per_source {
            if *m.get_ref() == 0 || *m.get_ref() > l.max_connections() {
                issues.at(
                    m,
                    "mllp_listener.max_connections_per_source must be within 1..=max_connections"
                        .into(),
                );
            }
        }
    }
    let mut facilities = HashSet::new();
    for f in &config.mllp_facilities {
        let key = (f.sending.get_ref().as_str(), f.receiving.as_deref());
        if f.sending.get_ref().is_empty() {
            issues.at(&f.sending, "mllp_facility.sending is empty".into());
        } else if !facilities.insert(key) {
            issues.at(
                &f.sending,
                format!(
                    "facility `{}` (receiving {}) is mapped twice",
                    key.0,
                    key.1.unwrap_or("any")
                ),
            );
        }
        if !tenants.contains(f.tenant.get_ref().as_str()) {
            issues.at(
                &f.tenant,
                format!(
                    "mllp_facility names unknown tenant `{}`",
                    f.tenant.get_ref()
                ),
            );
        }
    }
    if !config.mllp_listeners.is_empty() && config.mllp_routes.is_empty() {
        issues.global(
            "[[mllp_listener]] without any [[mllp_route]]: every message would be refused".into(),
        );
    }
    let mut ids = HashSet::new();
    for r in &config.mllp_routes {
        let id = r.id.get_ref();
        if id.is_empty() || id.contains('\0') || !ids.insert(id.as_str()) {
            issues.at(
                &r.id,
                format!("mllp_route `{id}` is empty or declared twice"),
            );
        }
        for t in &r.message_types {
            if !valid_message_type(t.get_ref()) {
                issues.at(
                    t,
                    format!(
                        "message type `{}` must be CODE, CODE^TRIGGER or CODE^* (e.g. ADT^A01)",
                        t.get_ref()
                    ),
                );
            }
        }
        for t in r.tenants.iter().flatten() {
            if !tenants.contains(t.get_ref().as_str()) {
                issues.at(
                    t,
                    format!("mllp_route `{id}` names unknown tenant `{}`", t.get_ref()),
                );
            }
        }
        for b in std::iter::once(&r.stable).chain(r.canary.as_ref()) {
            match backends.get(b.get_ref().as_str()) {
                None => issues.at(
                    b,
                    format!("mllp_route `{id}` names unknown backend `{}`", b.get_ref()),
                ),
                Some(BackendKind::Http) => issues.at(
                    b,
                    format!(
                        "backend `{}` is kind http; a feed goes to hl7v2-mllp, fhir or openehr",
                        b.get_ref()
                    ),
                ),
                Some(_) => {}
            }
        }
        if let Some(p) = &r.openehr_unstorable {
            if UnstorablePolicy::parse(p.get_ref()).is_none() {
                issues.at(
                    p,
                    format!(
                        "mllp_route `{id}`: openehr_unstorable `{}` must be \"refuse\" or \"warn\"",
                        p.get_ref()
                    ),
                );
            } else {
                let openehr = std::iter::once(&r.stable)
                    .chain(r.canary.as_ref())
                    .any(|b| backends.get(b.get_ref().as_str()) == Some(&BackendKind::Openehr));
                if !openehr {
                    issues.at(
                        p,
                        format!(
                            "mllp_route `{id}` sets openehr_unstorable but has no openehr backend"
                        ),
                    );
                }
            }
        }
        if let Some(w) = &r.weight {
            check_weight(w, issues);
            if r.canary.is_none() {
                issues.at(
                    w,
                    format!("mllp_route `{id}` has a weight but no canary backend"),
                );
            }
        }
    }
}

fn check_settings(config: &Config, issues: &mut Issues<'_>) {
    let m = &config.mllp;
    if m.max_frame_bytes < 64 || m.max_frame_bytes > u32::MAX as usize {
        issues.global("mllp.max_frame_bytes must be within 64..=4294967295".into());
    }
    if m.max_segments == 0 || m.max_field_bytes == 0 {
        issues.global("mllp.max_segments and mllp.max_field_bytes must be > 0".into());
    }
    if m.sender_pool_size == 0 || m.sender_pool_size > 1024 {
        issues.global("mllp.sender_pool_size must be within 1..=1024".into());
    }
    if m.reconnect_backoff_min_ms == 0 || m.reconnect_backoff_max_ms < m.reconnect_backoff_min_ms {
        issues.global(
            "mllp.reconnect_backoff_min_ms must be > 0 and not above reconnect_backoff_max_ms"
                .into(),
        );
    }
    if m.max_log_lines_per_reason == 0 || m.log_interval_ms == 0 {
        issues.global("mllp.max_log_lines_per_reason and mllp.log_interval_ms must be > 0".into());
    }
    if m.replay_window_ms > 0 && m.replay_capacity == 0 {
        issues.global("mllp.replay_capacity must be > 0 when replay_window_ms is set".into());
    }
    if let Some(q) = &m.queue {
        if q.dir.as_os_str().is_empty() {
            issues.global("mllp.queue.dir is required".into());
        }
        if q.max_records == 0 || q.segment_bytes < 4096 || q.max_bytes < q.segment_bytes {
            issues.global(
                "mllp.queue: max_records must be > 0, segment_bytes >= 4096 and max_bytes >= segment_bytes"
                    .into(),
            );
        }
        if q.retry_backoff_min_ms == 0 || q.retry_backoff_max_ms < q.retry_backoff_min_ms {
            issues.global(
                "mllp.queue.retry_backoff_min_ms must be > 0 and not above retry_backoff_max_ms"
                    .into(),
            );
        }
    }
}

/// `mllp://host:port` (TLS when a `tls` block is given) or
/// `mllps://host:port` (TLS; the block names the CA), no path, no HTTP
/// health check.
pub(super) fn check_mllp_backend(b: &BackendConfig, issues: &mut Issues<'_>) {
    let url = b.url.get_ref();
    let rest = url
        .strip_prefix("mllp://")
        .or_else(|| url.strip_prefix("mllps://"));
    match rest {
        Some(rest) if valid_host_port(rest) => {}
        _ => issues.at(
            &b.url,
            format!("hl7v2-mllp backend url `{url}` must be mllp://host:port or mllps://host:port"),
        ),
    }
    if url.starts_with("mllps://") && b.tls.is_none() {
        issues.at(
            &b.url,
            "mllps:// needs a `tls` block naming the CA the destination's certificate chains to"
                .into(),
        );
    }
    if let Some(t) = &b.tls {
        if t.cert.is_some() != t.key.is_some() {
            issues.at(
                &b.name,
                "tls.cert and tls.key go together (mutual TLS)".into(),
            );
        }
    }
    if let Some(h) = &b.health {
        if !h.path.is_empty() {
            issues.at(
                &b.name,
                "hl7v2-mllp health checks are TCP connects (and the TLS handshake), not HTTP: set health.path = \"\"".into(),
            );
        }
        if h.interval_ms == 0 || h.timeout_ms == 0 {
            issues.at(
                &b.name,
                "health.interval_ms and timeout_ms must be > 0".into(),
            );
        }
    }
    if b.connect_timeout_ms == 0 || b.request_timeout_ms == 0 {
        issues.at(&b.name, "timeouts must be greater than 0".into());
    }
}

fn valid_host_port(s: &str) -> bool {
    match s.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty()
                && !host.contains(['/', '?', '#', '@'])
                && port.parse::<u16>().is_ok_and(|p| p > 0)
        }
        None => false,
    }
}

/// `CODE`, `CODE^TRIGGER` or `CODE^*`, codes of letters and digits.
pub(crate) fn valid_message_type(t: &str) -> bool {
    let word =
        |w: &str| !w.is_empty() && w.len() <= 8 && w.bytes().all(|b| b.is_ascii_alphanumeric());
    match t.split_once('^') {
        None => word(t),
        Some((code, trigger)) => word(code) && (trigger == "*" || word(trigger)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_type_patterns() {
        for ok in ["ADT", "ADT^A01", "ORU^*", "Z01^Z99"] {
            assert!(valid_message_type(ok), "{ok}");
        }
        for bad in ["", "ADT^", "^A01", "ADT^A01^ADT_A01", "AD T", "ADT^A*"] {
            assert!(!valid_message_type(bad), "{bad}");
        }
    }

    #[test]
    fn connection_limits_are_checked_with_their_line() {
        let src = "[[listener]]\nbind = \"127.0.0.1:1\"\nmax_connections = 0\n\n\
                   [[mllp_listener]]\nbind = \"127.0.0.1:2\"\nmax_connections = 10\n\
                   max_connections_per_source = 11\n\n[[mllp_route]]\nid = \"r\"\nstable = \"b\"\n\n\
                   [[backend]]\nname = \"b\"\nkind = \"hl7v2-mllp\"\nurl = \"mllp://127.0.0.1:3\"\n";
        let err = crate::config::load_str(src, std::path::Path::new("t.toml")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("listener.max_connections must be within"),
            "{text}"
        );
        assert!(
            text.contains("max_connections_per_source must be within"),
            "{text}"
        );
        let crate::config::ConfigError::Invalid { issues, .. } = err else {
            panic!("{text}")
        };
        let lines: Vec<_> = issues.iter().filter_map(|i| i.at.map(|l| l.line)).collect();
        assert!(lines.contains(&3) && lines.contains(&8), "{lines:?}");
    }

    #[test]
    fn host_port() {
        assert!(valid_host_port("127.0.0.1:2575"));
        assert!(valid_host_port("lab.example:2575"));
        assert!(!valid_host_port("127.0.0.1"));
        assert!(!valid_host_port("127.0.0.1:0"));
        assert!(!valid_host_port("h:2575/path"));
    }
}
