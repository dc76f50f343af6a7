//! The configuration file's shape (TOML), as serde reads it.
//!
//! Names that other sections refer to (backend names, tenant ids, flag
//! names) are kept as [`Spanned`] so validation can point at the line of the
//! reference, not only say that something is wrong. Unknown keys are refused
//! (`deny_unknown_fields`): a misspelt `wieght` must not silently mean 0 %.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Limits, timeouts and header behaviour shared by all listeners.
    #[serde(default)]
    pub server: ServerConfig,
    /// Where we accept connections.
    #[serde(default, rename = "listener")]
    pub listeners: Vec<ListenerConfig>,
    /// The upstreams requests can be sent to.
    #[serde(default, rename = "backend")]
    pub backends: Vec<BackendConfig>,
    /// How the tenant of a request is found.
    #[serde(default)]
    pub tenancy: TenancyConfig,
    /// The known tenants.
    #[serde(default, rename = "tenant")]
    pub tenants: Vec<TenantConfig>,
    /// Routes, tried in file order; the first match wins.
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteConfig>,
    /// Feature flags (a flagd-format JSON file).
    #[serde(default)]
    pub flags: Option<FlagsConfig>,
    /// Settings shared by the HL7 v2 MLLP feeds.
    #[serde(default)]
    pub mllp: super::model_mllp::MllpConfig,
    /// Where HL7 v2 feeds connect (MLLP over TCP, optionally TLS).
    #[serde(default, rename = "mllp_listener")]
    pub mllp_listeners: Vec<super::model_mllp::MllpListenerConfig>,
    /// Sending/receiving facility (MSH-4/MSH-6) to tenant.
    #[serde(default, rename = "mllp_facility")]
    pub mllp_facilities: Vec<super::model_mllp::MllpFacilityConfig>,
    /// Feed routes by message type and trigger, tried in file order.
    #[serde(default, rename = "mllp_route")]
    pub mllp_routes: Vec<super::model_mllp::MllpRouteConfig>,
    /// The admin API (release control, metrics); off without this section.
    #[serde(default)]
    pub admin: Option<super::admin::AdminConfig>,
    /// Access log, audit log, traces.
    #[serde(default)]
    pub telemetry: super::admin::TelemetryConfig,
}

/// Server-wide settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Header carrying the request id: propagated when it is a UUID or a
    /// hex trace id, generated otherwise (free-form values never reach logs).
    pub request_id_header: String,
    /// Add `x-ehrgate-route` / `x-ehrgate-arm` to responses.
    pub decision_headers: bool,
    /// Largest request body forwarded, in bytes.
    pub max_request_body: u64,
    /// Largest response body passed back, in bytes.
    pub max_response_body: u64,
    /// How long graceful shutdown waits for in-flight requests.
    pub shutdown_grace_ms: u64,
    /// How often the config file's mtime is polled for changes (0 = never).
    pub reload_poll_ms: u64,
    /// Retries may add at most this fraction of the request rate.
    pub retry_budget_ratio: f64,
    /// Retries always allowed per second, whatever the ratio says.
    pub retry_budget_min_per_sec: u32,
    /// Attempts per request at most, the first included.
    pub max_attempts: u32,
    /// Which engine serves HTTP/1.1 connections (see `proxy::h1`).
    pub http1_engine: Http1Engine,
    /// Largest request head (request line and headers), in bytes; a larger
    /// one is answered 431 on every path: the native engine's byte count,
    /// hyper's read buffer (sized from this, 8 KiB at least; a reload
    /// resizes it for connections accepted after it) and
    /// `proxy::head_limit` on hyper's path and h2.
    pub max_request_head: usize,
    /// Entries of the write-placement table (resource id -> arm it was
    /// created on, for routes with `writes = "follow"`); the oldest are
    /// forgotten first.
    pub placement_capacity: usize,
    /// File handles kept out of the data listeners' reach (HTTP and MLLP):
    /// the admin listener, the queue and log files, upstream connections
    /// beyond one per client, so the release manager can still roll back
    /// when clients take every connection they may. See
    /// `proxy::conn_limit`.
    pub reserved_file_handles: u64,
    /// Refuse request paths with an encoded slash (`%2F`), an encoded
    /// backslash (`%5C`) or a raw backslash (400), which backends split
    /// differently (see `proxy::target`). Dot segments in any disguise are
    /// refused either way.
    pub reject_encoded_slash: bool,
    /// Peers (`ADDRESS/PREFIX` networks, IPv4 or IPv6; a bare address is
    /// one host) whose forwarding headers and `X-User-Id` are honoured;
    /// from any other peer they are removed (see `proxy::trusted`). Empty:
    /// nobody is trusted.
    pub trusted_proxies: Vec<String>,
}

/// The engine serving HTTP/1.1 connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Http1Engine {
    /// The native pass-through engine (`proxy::h1`), falling back to hyper
    /// for what it does not handle.
    #[default]
    Native,
    /// hyper's HTTP/1.1 server and hyper-util's client for every request.
    Hyper,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            request_id_header: "x-request-id".into(),
            decision_headers: true,
            max_request_body: 16 * 1024 * 1024,
            max_response_body: 256 * 1024 * 1024,
            shutdown_grace_ms: 10_000,
            reload_poll_ms: 2_000,
            retry_budget_ratio: 0.2,
            retry_budget_min_per_sec: 10,
            max_attempts: 2,
            http1_engine: Http1Engine::Native,
            max_request_head: 64 * 1024,
            placement_capacity: 100_000,
            reserved_file_handles: 256,
            reject_encoded_slash: true,
            trusted_proxies: Vec::new(),
        }
    }
}

/// One listening socket.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    /// `host:port` to bind.
    pub bind: Spanned<String>,
    /// TLS termination; plain HTTP (HTTP/1.1 and h2c) without it.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Most open client connections on this listener (default
    /// [`DEFAULT_MAX_CONNECTIONS`]); one more is closed at once, before
    /// any byte is read, and counted (see `proxy::conn_limit`).
    #[serde(default)]
    pub max_connections: Option<Spanned<usize>>,
}

/// [`ListenerConfig::max_connections`] when not set: well under a typical
/// production file limit (65536 or more) and the 20,000 a storm took.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

// === impl ListenerConfig ===

impl ListenerConfig {
    /// The listener's connection cap.
    pub fn max_connections(&self) -> usize {
        self.max_connections
            .as_ref()
            .map_or(DEFAULT_MAX_CONNECTIONS, |s| *s.get_ref())
    }
}

/// Certificate and key for a TLS listener (PEM files, re-read on reload).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// What a backend speaks; decides the handler (pass-through or facade).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// A FHIR server: errors are OperationOutcomes.
    Fhir,
    /// An openEHR server (served through the FHIR facade, issue 8).
    Openehr,
    /// An HL7 v2 MLLP endpoint (issue 9).
    Hl7v2Mllp,
    /// Any other HTTP service.
    Http,
}

/// One upstream.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    /// Unique name, used by routes.
    pub name: Spanned<String>,
    /// Base URL (`http://host:port[/base]`).
    pub url: Spanned<String>,
    /// What it speaks.
    pub kind: BackendKind,
    /// TCP connect timeout.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_ms: u64,
    /// Time to the response head.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_ms: u64,
    /// Active health check; without it only outlier ejection marks it down.
    #[serde(default)]
    pub health: Option<HealthConfig>,
    /// Passive ejection after consecutive failures.
    #[serde(default)]
    pub outlier: OutlierConfig,
    /// TLS to the upstream (`https://` URLs), with a client certificate for mTLS.
    #[serde(default)]
    pub tls: Option<UpstreamTlsConfig>,
    /// FHIR facade settings; only for `kind = "openehr"` (defaults without it).
    #[serde(default)]
    pub openehr: Option<super::openehr::OpenEhrBackendConfig>,
}

/// TLS from the gateway to an upstream.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UpstreamTlsConfig {
    /// PEM file with the CA certificate(s) the upstream's certificate must chain to.
    pub ca: PathBuf,
    /// Client certificate chain (PEM) for mutual TLS.
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// Client private key (PEM) for mutual TLS.
    #[serde(default)]
    pub key: Option<PathBuf>,
}

fn default_connect_timeout() -> u64 {
    2_000
}

fn default_request_timeout() -> u64 {
    30_000
}

/// Active health checking.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// Path requested with GET; any 2xx/3xx is healthy.
    pub path: String,
    /// Time between checks.
    #[serde(default = "default_health_interval")]
    pub interval_ms: u64,
    /// Per-check timeout.
    #[serde(default = "default_health_timeout")]
    pub timeout_ms: u64,
    /// Failed checks in a row before the backend is marked down.
    #[serde(default = "default_two")]
    pub unhealthy_after: u32,
    /// Passed checks in a row before it is marked up again.
    #[serde(default = "default_one")]
    pub healthy_after: u32,
}

fn default_health_interval() -> u64 {
    2_000
}
fn default_health_timeout() -> u64 {
    1_000
}
fn default_two() -> u32 {
    2
}
fn default_one() -> u32 {
    1
}

/// Passive outlier ejection (circuit breaker).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OutlierConfig {
    /// Consecutive connect errors, timeouts or 5xx that eject (0 = never).
    pub consecutive_failures: u32,
    /// How long an ejected backend gets no traffic.
    pub eject_ms: u64,
}

impl Default for OutlierConfig {
    fn default() -> Self {
        OutlierConfig {
            consecutive_failures: 5,
            eject_ms: 10_000,
        }
    }
}

/// Where a tenant id can come from.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TenantSource {
    /// A request header (`tenancy.header`); unverified.
    Header,
    /// The `Host` / `:authority`, matched against `tenant.hosts`.
    Host,
    /// A path prefix, matched against `tenant.path_prefix` (stripped upstream).
    Path,
    /// A claim of a verified JWT.
    Jwt,
}

/// Tenant resolution.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenancyConfig {
    /// Sources tried in order; the first that yields an id decides.
    pub resolve: Vec<TenantSource>,
    /// Header name for the `header` source.
    pub header: String,
    /// Status for a request without a tenant (400 or 403).
    pub missing_status: u16,
    /// Status for a tenant id that is not configured (400 or 403).
    pub unknown_status: u16,
    /// JWT verification for the `jwt` source.
    pub jwt: Option<JwtConfig>,
}

impl Default for TenancyConfig {
    fn default() -> Self {
        TenancyConfig {
            resolve: vec![TenantSource::Header],
            header: "x-tenant-id".into(),
            missing_status: 400,
            unknown_status: 403,
            jwt: None,
        }
    }
}

/// JWT verification against a JWKS file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// A JSON Web Key Set file (RSA and P-256 keys).
    pub jwks: PathBuf,
    /// The claim holding the tenant id.
    #[serde(default = "default_tenant_claim")]
    pub tenant_claim: String,
    /// Required `iss`, if set.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Required `aud` member, if set.
    #[serde(default)]
    pub audience: Option<String>,
}

fn default_tenant_claim() -> String {
    "tenant".into()
}

/// A known tenant.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// The id (as sent in the header or claim).
    pub id: Spanned<String>,
    /// Host names that identify it.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// A path prefix that identifies it (e.g. `/t/acme`).
    #[serde(default)]
    pub path_prefix: Option<String>,
}

/// Which arm a tenant is pinned to.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum PinConfig {
    /// Always the stable backend.
    Stable,
    /// Always the canary backend.
    Canary,
}

/// What the sticky canary hash is keyed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StickyKey {
    /// The resolved tenant: a whole clinic moves at once.
    Tenant,
    /// The JWT `sub` or the `x-user-id` header.
    User,
    /// The patient: `x-patient-id` header, `patient`/`subject` query
    /// parameter or a `Patient/{id}` path.
    Patient,
    /// The request id: not sticky, a plain random split.
    RequestId,
    /// A named request header.
    Header(String),
}

impl<'de> Deserialize<'de> for StickyKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "tenant" => Ok(StickyKey::Tenant),
            "user" => Ok(StickyKey::User),
            "patient" => Ok(StickyKey::Patient),
            "request-id" => Ok(StickyKey::RequestId),
            other => match other.strip_prefix("header:") {
                Some(h) if !h.is_empty() => Ok(StickyKey::Header(h.to_ascii_lowercase())),
                _ => Err(serde::de::Error::custom(format!(
                    "sticky key `{other}` is not one of tenant, user, patient, request-id, header:NAME"
                ))),
            },
        }
    }
}

/// A per-tenant override on one route.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TenantOverride {
    /// Canary weight for this tenant, in percent.
    #[serde(default)]
    pub weight: Option<Spanned<f64>>,
    /// Pin this tenant to one arm (wins over any weight).
    #[serde(default)]
    pub pin: Option<PinConfig>,
}

/// One route.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Unique id; part of the sticky hash key and of metrics.
    pub id: Spanned<String>,
    /// Path prefix the request must start with (segment-aligned).
    #[serde(default = "default_prefix")]
    pub path_prefix: String,
    /// FHIR resource types (first segment after the prefix); empty = any.
    #[serde(default)]
    pub resource_types: Vec<String>,
    /// Methods; empty = any.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Headers that must be present with these exact values.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Tenants allowed on this route; absent = every configured tenant.
    #[serde(default)]
    pub tenants: Option<Vec<Spanned<String>>>,
    /// A feature flag that must be on for the route to match.
    #[serde(default)]
    pub flag: Option<Spanned<String>>,
    /// The stable (legacy) backend.
    pub stable: Spanned<String>,
    /// The canary (new) backend.
    #[serde(default)]
    pub canary: Option<Spanned<String>>,
    /// Canary share in percent (0..=100, two decimals = 10,000 buckets).
    #[serde(default)]
    pub weight: Option<Spanned<f64>>,
    /// What the canary split is sticky on.
    #[serde(default = "default_sticky")]
    pub sticky: StickyKey,
    /// Per-tenant weights and pins.
    #[serde(default)]
    pub tenant_overrides: BTreeMap<String, TenantOverride>,
    /// Strip the route's path prefix before forwarding.
    #[serde(default)]
    pub strip_prefix: bool,
    /// Where a request goes when its arm's backend is down.
    #[serde(default)]
    pub failover: FailoverPolicy,
    /// Which arm serves writes and reads of what was written.
    #[serde(default)]
    pub writes: WritePlacement,
}

/// A route's failover policy (see `proxy::failover`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum FailoverPolicy {
    /// A request whose arm's backend is ejected, unhealthy or refuses the
    /// connection goes to the other arm of the route; safe requests also
    /// retry there after a reset or timeout before a response head.
    #[default]
    OtherArm,
    /// Every request stays on its arm (503 while that backend is down).
    None,
}

/// Where a route's writes go (see `proxy::placement`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum WritePlacement {
    /// Writes go to their arm; a resource created on an arm is recorded
    /// and later requests for it go to that arm.
    #[default]
    Follow,
    /// Every write (any method but GET, HEAD, OPTIONS, TRACE) goes to the
    /// stable arm; the canary serves reads only.
    Stable,
}

fn default_prefix() -> String {
    "/".into()
}

fn default_sticky() -> StickyKey {
    StickyKey::Tenant
}

/// The flag file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FlagsConfig {
    /// flagd-format JSON file, relative to the config file.
    pub file: PathBuf,
}
