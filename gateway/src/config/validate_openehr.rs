//! Rules for the `[backend.openehr]` tables, each broken rule reported with
//! the line of the value that breaks it (the same collector as the HTTP
//! sections), and the load-time check that every secret they name can be
//! read (so a missing password file fails `check-config`, not the first
//! request).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::load::ConfigIssue;
use super::model::{BackendKind, Config};
use super::openehr::{is_ehrbase_namespace, AuthConfig, OpenEhrBackendConfig, SecretSource};
use super::validate::Issues;

/// Longest subject namespace accepted.
const MAX_NAMESPACE: usize = 256;

/// The `[backend.openehr]` tables: only on openEHR backends, known tenants,
/// resource types the facade serves, templates a shipped mapping covers,
/// subject namespaces EHRbase accepts, credentials that name their secrets,
/// and limits that leave something to serve.
pub(super) fn check(config: &Config, tenants: &HashSet<&str>, issues: &mut Issues<'_>) {
    for b in &config.backends {
        let Some(o) = &b.openehr else { continue };
        if b.kind != BackendKind::Openehr {
            issues.at(
                &b.name,
                format!(
                    "backend `{}` has [backend.openehr] but is not kind = \"openehr\"",
                    b.name.get_ref()
                ),
            );
        }
        let namespaces = std::iter::once(&o.subject_namespace).chain(o.subject_namespaces.values());
        for ns in namespaces {
            let v = ns.get_ref();
            if v.len() > MAX_NAMESPACE || !is_ehrbase_namespace(v) {
                let at = if ns.span().is_empty() { &b.name } else { ns };
                issues.at(
                    at,
                    format!(
                        "subject namespace `{v}` must be 1..=256 characters without spaces \
                         and match EHRbase's pattern [a-zA-Z][a-zA-Z0-9-_:/&+?]* (a letter \
                         first, no dots); EHRbase refuses other namespaces when creating an EHR"
                    ),
                );
            }
        }
        for tenant in o.subject_namespaces.keys() {
            if !tenants.contains(tenant.as_str()) {
                issues.at(
                    &b.name,
                    format!("openehr.subject_namespaces names unknown tenant `{tenant}`"),
                );
            }
        }
        for (ty, ids) in &o.templates {
            if !crate::facade::types::SUPPORTED.contains(&ty.as_str()) {
                issues.at(
                    &b.name,
                    format!(
                        "openehr.templates: the facade does not serve `{ty}` (it serves {})",
                        crate::facade::types::SUPPORTED.join(", ")
                    ),
                );
            }
            if ids.is_empty() {
                issues.at(&b.name, format!("openehr.templates.{ty} lists no template"));
            }
            for id in ids {
                if ehrgate_mappers::fhirconnect::shipped::find(id.get_ref()).is_err() {
                    issues.at(
                        id,
                        format!("no shipped mapping for template `{}`", id.get_ref()),
                    );
                }
            }
        }
        check_limits(o, &b.name, issues);
        if let Some(auth) = &o.auth {
            check_auth(auth, &b.name, issues);
        }
    }
}

fn check_limits(o: &OpenEhrBackendConfig, name: &toml::Spanned<String>, issues: &mut Issues<'_>) {
    if o.default_count == 0 || o.max_count == 0 || o.default_count > o.max_count {
        issues.at(name, "openehr: need 0 < default_count <= max_count".into());
    }
    if o.max_search_scan < o.max_count {
        issues.at(
            name,
            "openehr: max_search_scan must be at least max_count".into(),
        );
    }
    if o.max_resource_bytes == 0 || o.max_bundle_entries == 0 || o.ehr_cache_size == 0 {
        issues.at(
            name,
            "openehr: max_resource_bytes, max_bundle_entries and ehr_cache_size must be > 0".into(),
        );
    }
    if let Some(max) = o.aql_max_limit {
        // A search asks for one row more than it may scan, to tell "more
        // than max_search_scan" from "exactly that many".
        if u64::from(o.max_search_scan) + 1 > u64::from(max) {
            issues.at(
                name,
                format!(
                    "openehr: max_search_scan ({}) + 1 must fit in aql_max_limit ({max}); \
                     the CDR refuses a larger AQL LIMIT",
                    o.max_search_scan
                ),
            );
        }
    }
}

fn check_auth(auth: &AuthConfig, name: &toml::Spanned<String>, issues: &mut Issues<'_>) {
    for (field, s) in auth.secrets() {
        match (&s.file, &s.env) {
            (Some(_), None) => {}
            (None, Some(e)) if !e.is_empty() => {}
            _ => issues.at(
                name,
                format!(
                    "openehr.auth.{field} needs exactly one of `file` or `env` \
                     (secrets are never written inline)"
                ),
            ),
        }
    }
    if let AuthConfig::Basic { username, .. } = auth {
        if username.is_empty() || username.contains(':') {
            issues.at(
                name,
                "openehr.auth.username must be non-empty and without `:` (HTTP Basic)".into(),
            );
        }
    }
    if let AuthConfig::Oauth2 { token_url, ca, .. } = auth {
        match token_url.parse::<http::Uri>() {
            Ok(u) if u.scheme_str() == Some("https") && ca.is_none() => issues.at(
                name,
                "openehr.auth.token_url is https: name the IdP's CA with `ca`".into(),
            ),
            Ok(u) if matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some() => {}
            _ => issues.at(
                name,
                format!("openehr.auth.token_url `{token_url}` is not an http(s) URL"),
            ),
        }
    }
}

/// Reads every secret the config names (resolving files with `resolve`)
/// and reports those that cannot be read or are empty. The values are
/// dropped at once; the facade reads them again when it is built.
pub(crate) fn check_secrets(
    config: &Config,
    resolve: &dyn Fn(&Path) -> PathBuf,
) -> Vec<ConfigIssue> {
    let mut out = Vec::new();
    for b in &config.backends {
        let Some(auth) = b.openehr.as_ref().and_then(|o| o.auth.as_ref()) else {
            continue;
        };
        for (field, s) in auth.secrets() {
            if let Err(reason) = read_secret(s, resolve) {
                out.push(ConfigIssue {
                    at: None,
                    message: format!(
                        "backend `{}`: openehr.auth.{field}: {reason}",
                        b.name.get_ref()
                    ),
                });
            }
        }
    }
    out
}

/// The secret's value (a file's trailing newline removed), or why it
/// cannot be had. The reason names the source, never the value.
pub(crate) fn read_secret(
    s: &SecretSource,
    resolve: &dyn Fn(&Path) -> PathBuf,
) -> Result<String, String> {
    let value = match (&s.file, &s.env) {
        (Some(f), _) => {
            let path = resolve(f);
            std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", s.describe()))?
        }
        (None, Some(e)) => std::env::var(e).map_err(|_| format!("{} is not set", s.describe()))?,
        (None, None) => return Err("no `file` or `env` given".into()),
    };
    let value = value.trim_end_matches(['\r', '\n']).to_owned();
    if value.is_empty() {
        return Err(format!("{} is empty", s.describe()));
    }
    Ok(value)
}
