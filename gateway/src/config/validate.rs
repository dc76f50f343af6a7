//! Rules a parsed config must follow, each broken rule reported with the
//! line of the value that breaks it. Validation collects every problem
//! instead of stopping at the first, so one `check-config` run shows them all.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use toml::Spanned;

use super::load::{ConfigIssue, Location};
use super::model::{BackendKind, Config, PinConfig, TenantSource};
use crate::routing::flags::FlagSet;

/// Collects problems with their locations.
pub(super) struct Issues<'a> {
    source: &'a str,
    found: Vec<ConfigIssue>,
}

impl Issues<'_> {
    pub(super) fn at<T>(&mut self, spanned: &Spanned<T>, message: String) {
        self.found.push(ConfigIssue {
            at: Some(Location::of_span(self.source, &spanned.span())),
            message,
        });
    }

    pub(super) fn global(&mut self, message: String) {
        self.found.push(ConfigIssue { at: None, message });
    }
}

/// Returns every rule the config breaks (empty when it is valid).
pub fn validate(config: &Config, source: &str, flags: &FlagSet) -> Vec<ConfigIssue> {
    let mut issues = Issues {
        source,
        found: Vec::new(),
    };
    check_listeners(config, &mut issues);
    let backends = check_backends(config, &mut issues);
    let tenants = check_tenants(config, &mut issues);
    check_routes(config, &backends, &tenants, flags, &mut issues);
    super::validate_mllp::check(config, &backends, &tenants, &mut issues);
    super::validate_openehr::check(config, &tenants, &mut issues);
    check_admin(config, &mut issues);
    issues
        .found
        .sort_by_key(|i| i.at.map_or((0, 0), |l| (l.line, l.column)));
    issues.found
}

fn check_listeners(config: &Config, issues: &mut Issues<'_>) {
    if config.listeners.is_empty() && config.mllp_listeners.is_empty() {
        issues.global("no [[listener]] or [[mllp_listener]]: at least one is needed".into());
    }
    let mut seen = HashSet::new();
    for l in &config.listeners {
        match l.bind.get_ref().parse::<SocketAddr>() {
            Ok(addr) if !seen.insert(addr) => {
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
                    "listener.max_connections must be within 1..=1000000".into(),
                );
            }
        }
    }
    let s = &config.server;
    if !(16..=1_000_000).contains(&s.reserved_file_handles) {
        issues.global("server.reserved_file_handles must be within 16..=1000000".into());
    }
    if !(0.0..=1.0).contains(&s.retry_budget_ratio) {
        issues.global("server.retry_budget_ratio must be within 0..=1".into());
    }
    if s.max_attempts == 0 || s.max_attempts > 5 {
        issues.global("server.max_attempts must be within 1..=5".into());
    }
    if http::HeaderName::from_bytes(s.request_id_header.as_bytes()).is_err() {
        issues.global("server.request_id_header is not a valid header name".into());
    }
    if !(1..=10_000_000).contains(&s.placement_capacity) {
        issues.global("server.placement_capacity must be within 1..=10000000 entries".into());
    }
    if !(1024..=1024 * 1024).contains(&s.max_request_head) {
        issues.global("server.max_request_head must be within 1024..=1048576 bytes".into());
    }
    for entry in &s.trusted_proxies {
        if let Err(e) = super::cidr::Cidr::parse(entry) {
            issues.global(format!("server.trusted_proxies: {e}"));
        }
    }
}

fn check_backends<'c>(
    config: &'c Config,
    issues: &mut Issues<'_>,
) -> HashMap<&'c str, BackendKind> {
    let mut names = HashMap::new();
    for b in &config.backends {
        if names.insert(b.name.get_ref().as_str(), b.kind).is_some() {
            issues.at(
                &b.name,
                format!("backend `{}` is declared twice", b.name.get_ref()),
            );
        }
        if b.kind == BackendKind::Hl7v2Mllp {
            super::validate_mllp::check_mllp_backend(b, issues);
            continue;
        }
        match b.url.get_ref().parse::<http::Uri>() {
            Ok(uri) => {
                match (uri.scheme_str(), &b.tls) {
                    (Some("http"), None) | (Some("https"), Some(_)) => {}
                    (Some("https"), None) => issues.at(
                        &b.url,
                        "an https:// backend needs `tls = { ca = \"...\" }` (the CA its certificate chains to)".into(),
                    ),
                    (Some("http"), Some(_)) => issues.at(
                        &b.url,
                        "`tls` is set but the url is http://; use https://".into(),
                    ),
                    _ => issues.at(&b.url, "backend url must start with http:// or https://".into()),
                }
                if let Some(tls) = &b.tls {
                    if tls.cert.is_some() != tls.key.is_some() {
                        issues.at(
                            &b.name,
                            "tls.cert and tls.key go together (mutual TLS)".into(),
                        );
                    }
                }
                if uri.authority().is_none() {
                    issues.at(&b.url, "backend url has no host".into());
                }
                if uri.query().is_some() {
                    issues.at(&b.url, "backend url must not have a query".into());
                }
            }
            Err(e) => issues.at(&b.url, format!("backend url is not a URL: {e}")),
        }
        if b.connect_timeout_ms == 0 || b.request_timeout_ms == 0 {
            issues.at(&b.name, "timeouts must be greater than 0".into());
        }
        if let Some(h) = &b.health {
            if !h.path.starts_with('/') {
                issues.at(&b.name, "health.path must start with /".into());
            }
            if h.interval_ms == 0 || h.timeout_ms == 0 {
                issues.at(&b.name, "health interval and timeout must be > 0".into());
            }
        }
    }
    names
}

fn check_tenants<'c>(config: &'c Config, issues: &mut Issues<'_>) -> HashSet<&'c str> {
    let t = &config.tenancy;
    if t.resolve.is_empty() {
        issues.global("tenancy.resolve is empty: name at least one source".into());
    }
    for status in [t.missing_status, t.unknown_status] {
        if status != 400 && status != 403 {
            issues.global(format!("tenancy: status {status} must be 400 or 403"));
        }
    }
    if t.resolve.contains(&TenantSource::Jwt) && t.jwt.is_none() {
        issues.global("tenancy.resolve names `jwt` but [tenancy.jwt] is missing".into());
    }
    if http::HeaderName::from_bytes(t.header.as_bytes()).is_err() {
        issues.global("tenancy.header is not a valid header name".into());
    }
    let mut ids = HashSet::new();
    let mut hosts = HashSet::new();
    let mut prefixes = HashSet::new();
    for tenant in &config.tenants {
        let id = tenant.id.get_ref();
        if id.is_empty() || !ids.insert(id.as_str()) {
            issues.at(
                &tenant.id,
                format!("tenant `{id}` is empty or declared twice"),
            );
        }
        for h in &tenant.hosts {
            if !hosts.insert(h.to_ascii_lowercase()) {
                issues.at(&tenant.id, format!("host `{h}` belongs to two tenants"));
            }
        }
        if let Some(p) = &tenant.path_prefix {
            if !p.starts_with('/') || p.len() < 2 {
                issues.at(
                    &tenant.id,
                    format!("path_prefix `{p}` must start with / and name something"),
                );
            } else if !prefixes.insert(p.trim_end_matches('/')) {
                issues.at(
                    &tenant.id,
                    format!("path_prefix `{p}` belongs to two tenants"),
                );
            }
        }
    }
    ids
}

fn check_routes(
    config: &Config,
    backends: &HashMap<&str, BackendKind>,
    tenants: &HashSet<&str>,
    flags: &FlagSet,
    issues: &mut Issues<'_>,
) {
    let mut ids = HashSet::new();
    for r in &config.routes {
        let id = r.id.get_ref();
        if id.is_empty() || id.contains('\0') || !ids.insert(id.as_str()) {
            issues.at(&r.id, format!("route `{id}` is empty or declared twice"));
        }
        if !r.path_prefix.starts_with('/') {
            issues.at(
                &r.id,
                format!("path_prefix `{}` must start with /", r.path_prefix),
            );
        }
        for m in &r.methods {
            if http::Method::from_bytes(m.to_ascii_uppercase().as_bytes()).is_err() {
                issues.at(&r.id, format!("`{m}` is not an HTTP method"));
            }
        }
        for name in r.headers.keys() {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                issues.at(&r.id, format!("`{name}` is not a header name"));
            }
        }
        for backend in std::iter::once(&r.stable).chain(r.canary.as_ref()) {
            match backends.get(backend.get_ref().as_str()) {
                None => issues.at(
                    backend,
                    format!("route `{id}` names unknown backend `{}`", backend.get_ref()),
                ),
                Some(BackendKind::Hl7v2Mllp) => issues.at(
                    backend,
                    format!(
                        "backend `{}` speaks MLLP and cannot serve an HTTP route",
                        backend.get_ref()
                    ),
                ),
                Some(_) => {}
            }
        }
        let allowed: Option<HashSet<&str>> = r
            .tenants
            .as_ref()
            .map(|list| list.iter().map(|t| t.get_ref().as_str()).collect());
        for t in r.tenants.iter().flatten() {
            if !tenants.contains(t.get_ref().as_str()) {
                issues.at(
                    t,
                    format!("route `{id}` names unknown tenant `{}`", t.get_ref()),
                );
            }
        }
        if let Some(w) = &r.weight {
            check_weight(w, issues);
            if r.canary.is_none() {
                issues.at(
                    w,
                    format!("route `{id}` has a weight but no canary backend"),
                );
            }
        }
        for (tenant, o) in &r.tenant_overrides {
            if !tenants.contains(tenant.as_str()) {
                issues.at(
                    &r.id,
                    format!("tenant_overrides names unknown tenant `{tenant}`"),
                );
            } else if allowed
                .as_ref()
                .is_some_and(|a| !a.contains(tenant.as_str()))
            {
                issues.at(
                    &r.id,
                    format!("tenant_overrides names `{tenant}`, which the route does not allow"),
                );
            }
            if let Some(w) = &o.weight {
                check_weight(w, issues);
            }
            if r.canary.is_none() && (o.weight.is_some() || o.pin == Some(PinConfig::Canary)) {
                issues.at(
                    &r.id,
                    format!("tenant_overrides for `{tenant}` need a canary backend"),
                );
            }
        }
        if let Some(flag) = &r.flag {
            if !flags.contains(flag.get_ref()) {
                issues.at(
                    flag,
                    format!("route `{id}` requires unknown flag `{}`", flag.get_ref()),
                );
            }
        }
    }
}

fn check_admin(config: &Config, issues: &mut Issues<'_>) {
    let source = issues.source;
    let found = std::cell::RefCell::new(Vec::new());
    super::admin::check(
        config.admin.as_ref(),
        &config.telemetry,
        |spanned, message| {
            found.borrow_mut().push(ConfigIssue {
                at: Some(Location::of_span(source, &spanned.span())),
                message,
            });
        },
        |message| found.borrow_mut().push(ConfigIssue { at: None, message }),
    );
    issues.found.extend(found.into_inner());
    if let Some(a) = &config.admin {
        // Port 0 (any free port, tests) never clashes.
        let admin_addr = a
            .bind
            .get_ref()
            .parse::<SocketAddr>()
            .ok()
            .filter(|x| x.port() != 0);
        let clash = config.listeners.iter().any(|l| {
            l.bind.get_ref().parse::<SocketAddr>().ok() == admin_addr && admin_addr.is_some()
        });
        if clash {
            issues.at(
                &a.bind,
                "admin.bind is also a proxy listener; give the admin API its own port".into(),
            );
        }
    }
}

pub(super) fn check_weight(w: &Spanned<f64>, issues: &mut Issues<'_>) {
    let v = *w.get_ref();
    if !(0.0..=100.0).contains(&v) || v.is_nan() {
        issues.at(w, format!("weight {v} must be within 0..=100 (percent)"));
    } else if ((v * 100.0).round() - v * 100.0).abs() > 1e-6 {
        issues.at(
            w,
            format!("weight {v} has more than two decimals (10,000 buckets)"),
        );
    }
}
