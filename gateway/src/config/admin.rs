//! The `[admin]` and `[telemetry]` sections: the admin API's listener and
//! tokens, where release state persists, and where logs and traces go.
//!
//! Token secrets never live in the config file itself (it sits in a
//! ConfigMap and in version control): each token names a file or an
//! environment variable holding the secret. Validation checks the shape
//! here; the secrets are read when the admin listener starts.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::model::TlsConfig;

/// The admin API.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// `host:port` of the admin listener (keep it off the public network).
    pub bind: Spanned<String>,
    /// TLS for the admin listener; plain HTTP without it.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Where release state and its history persist, relative to the config
    /// file's folder.
    #[serde(default = "default_state_file")]
    pub state_file: PathBuf,
    /// Changes kept in the history (older ones are dropped from the file
    /// and can no longer be reverted to).
    #[serde(default = "default_history_limit")]
    pub history_limit: usize,
    /// Largest admin request body, in bytes.
    #[serde(default = "default_max_body")]
    pub max_body: u64,
    /// Bearer tokens; at least one.
    #[serde(default, rename = "token")]
    pub tokens: Vec<AdminTokenConfig>,
}

fn default_state_file() -> PathBuf {
    PathBuf::from("ehrgate-state.json")
}
fn default_history_limit() -> usize {
    1000
}
fn default_max_body() -> u64 {
    64 * 1024
}

/// What a token may do.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TokenRole {
    /// Read the routing table, history and metrics.
    Read,
    /// Also change weights, pins and flags.
    Write,
}

/// One admin bearer token.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AdminTokenConfig {
    /// Who holds it; recorded in the change history and audit log.
    pub name: Spanned<String>,
    /// What it may do.
    pub role: TokenRole,
    /// A file holding the secret (trailing whitespace is ignored).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// An environment variable holding the secret.
    #[serde(default)]
    pub secret_env: Option<String>,
}

/// Where the access log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessLogTarget {
    /// As a `tracing` event (target `ehrgate::access`), the default.
    Tracing,
    /// JSON lines on standard output.
    Stdout,
    /// No access log.
    Off,
    /// JSON lines appended to a file (relative to the config's folder).
    File(PathBuf),
}

impl<'de> Deserialize<'de> for AccessLogTarget {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "tracing" => AccessLogTarget::Tracing,
            "stdout" => AccessLogTarget::Stdout,
            "off" => AccessLogTarget::Off,
            "" => return Err(serde::de::Error::custom("access_log is empty")),
            path => AccessLogTarget::File(PathBuf::from(path)),
        })
    }
}

/// Logs, metrics and traces.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// `tracing`, `stdout`, `off` or a file path.
    pub access_log: AccessLogTarget,
    /// JSON lines of admin actions; without it they go to `tracing` only.
    pub audit_log: Option<PathBuf>,
    /// Lines buffered for the log writer thread before new ones are dropped
    /// (and counted in `ehrgate_log_lines_dropped_total`).
    pub log_buffer_lines: usize,
    /// OTLP/HTTP endpoint (`http://collector:4318`); traces are exported
    /// only when it is set.
    pub otlp_endpoint: Option<Spanned<String>>,
    /// CA certificate (PEM) an `https://` collector's certificate chains to.
    pub otlp_ca: Option<PathBuf>,
    /// `service.name` of exported spans.
    pub service_name: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            access_log: AccessLogTarget::Tracing,
            audit_log: None,
            log_buffer_lines: 65_536,
            otlp_endpoint: None,
            otlp_ca: None,
            service_name: "ehrgate".into(),
        }
    }
}

/// Checks both sections; `at` reports a problem at a value's line,
/// `global` one without a location.
pub(super) fn check(
    admin: Option<&AdminConfig>,
    telemetry: &TelemetryConfig,
    mut at: impl FnMut(&dyn Spanned2, String),
    mut global: impl FnMut(String),
) {
    if let Some(a) = admin {
        if a.bind.get_ref().parse::<SocketAddr>().is_err() {
            at(
                &a.bind,
                format!(
                    "admin.bind `{}` is not an IP:port address",
                    a.bind.get_ref()
                ),
            );
        }
        if a.tokens.is_empty() {
            global(
                "[admin] needs at least one [[admin.token]]: the admin API always requires a token"
                    .into(),
            );
        }
        if a.history_limit == 0 || a.max_body == 0 {
            global("admin.history_limit and admin.max_body must be greater than 0".into());
        }
        let mut names = HashSet::new();
        for t in &a.tokens {
            let name = t.name.get_ref();
            let printable = name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b));
            if name.is_empty() || !printable || name.len() > 64 {
                at(
                    &t.name,
                    format!("token name `{name}` must be 1..=64 characters of A-Z a-z 0-9 - _ . @"),
                );
            } else if !names.insert(name.as_str()) {
                at(&t.name, format!("token `{name}` is declared twice"));
            }
            if t.secret_file.is_some() == t.secret_env.is_some() {
                at(
                    &t.name,
                    format!("token `{name}` needs exactly one of secret_file or secret_env"),
                );
            }
        }
    }
    if telemetry.log_buffer_lines == 0 {
        global("telemetry.log_buffer_lines must be greater than 0".into());
    }
    if let Some(ep) = &telemetry.otlp_endpoint {
        let ok = ep.get_ref().parse::<http::Uri>().ok().is_some_and(|u| {
            matches!(u.scheme_str(), Some("http" | "https")) && u.authority().is_some()
        });
        if !ok {
            at(
                ep,
                format!("otlp_endpoint `{}` is not an http(s):// URL", ep.get_ref()),
            );
        } else if ep.get_ref().starts_with("https://") && telemetry.otlp_ca.is_none() {
            at(
                ep,
                "an https:// otlp_endpoint needs `otlp_ca` (the CA its certificate chains to)"
                    .into(),
            );
        }
    }
}

/// A spanned value of any type (validation only needs its span).
pub(super) trait Spanned2 {
    /// The byte range in the source.
    fn span(&self) -> std::ops::Range<usize>;
}

impl<T> Spanned2 for Spanned<T> {
    fn span(&self) -> std::ops::Range<usize> {
        Spanned::span(self)
    }
}
