//! The gateway's shared state: one [`Snapshot`] (routing table + upstream
//! pools + settings of one revision) behind an `ArcSwap`, and the operations
//! that replace it: config reload and run-time overrides (the admin API's
//! seam, issue 7). Requests load the snapshot once, without a lock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use http::{HeaderName, HeaderValue, StatusCode};

use super::placements::{MemoryPlacements, PlacementStore};
use super::services::{Attached, BackendServices, HttpHandler, NoServices};
use crate::config::{ConfigError, LoadedConfig};
use crate::routing::jwt::Jwks;
use crate::routing::table::TableError;
use crate::routing::{Overrides, RoutingTable};
use crate::upstream::checker::spawn_checker;
use crate::upstream::pool::{Upstream, UpstreamError};
use crate::upstream::retry::RetryBudget;

/// Per-revision settings the request path reads.
#[derive(Debug)]
pub struct Settings {
    /// Header carrying the request id.
    pub request_id_header: HeaderName,
    /// Add route/arm headers to responses.
    pub decision_headers: bool,
    /// Request body limit.
    pub max_request_body: u64,
    /// Response body limit.
    pub max_response_body: u64,
    /// Statuses for tenant errors.
    pub tenant_statuses: TenantStatuses,
    /// The tenancy header (overwritten upstream with the resolved tenant).
    pub tenant_header: HeaderName,
    /// Attempts per request at most.
    pub max_attempts: u32,
    /// JWT verification (claim, issuer, audience).
    pub jwt: Option<JwtSettings>,
    /// Refuse `%2F`, `%5C` and `\` in request paths (`proxy::target`).
    pub reject_encoded_slash: bool,
    /// Peers whose forwarding and identity headers are honoured.
    pub trusted_proxies: crate::config::cidr::TrustedProxies,
}

/// Statuses for tenant errors, from the config.
#[derive(Debug, Clone, Copy)]
pub struct TenantStatuses {
    /// For a missing tenant.
    pub missing: StatusCode,
    /// For an unknown tenant.
    pub unknown: StatusCode,
}

/// What the JWT source checks.
#[derive(Debug)]
pub struct JwtSettings {
    /// The keys.
    pub jwks: Jwks,
    /// The tenant claim.
    pub tenant_claim: String,
    /// Required issuer.
    pub issuer: Option<String>,
    /// Required audience.
    pub audience: Option<String>,
}

/// Everything one request needs, from one revision.
#[derive(Debug)]
pub struct Snapshot {
    /// The routing table.
    pub table: RoutingTable,
    /// One entry per configured backend, aligned with `table.backends()`
    /// (a [`BackendIdx`](crate::routing::table::BackendIdx) indexes it).
    pub backends: Vec<Backend>,
    /// Route id header values, aligned with `table.routes()`.
    pub route_headers: Vec<HeaderValue>,
    /// Settings.
    pub settings: Settings,
    /// The config this came from (rebuilt with new overrides by the admin API).
    pub loaded: Arc<LoadedConfig>,
    /// Where resources were created (`writes = "follow"`); carried from
    /// revision to revision while `placement_capacity` is unchanged.
    pub placements: Arc<dyn PlacementStore>,
}

/// One backend at run time: its upstream pool and what the composition
/// root attached to it ([`super::services`]). One struct per backend, so
/// the parts cannot fall out of step (they were vectors aligned by index).
#[derive(Debug, Clone)]
pub struct Backend {
    /// The pool, timeouts and health.
    pub upstream: Arc<Upstream>,
    /// Serves some of its HTTP requests itself (the FHIR facade of an
    /// `openehr` backend); `None`: everything passes through.
    pub handler: Option<Arc<dyn HttpHandler>>,
    /// Services by type (the facade as MLLP delivery's write API).
    pub extensions: http::Extensions,
}

// === impl Snapshot ===

impl Snapshot {
    /// The backend at `idx` (a routing decision's backend).
    pub fn backend(&self, idx: usize) -> Option<&Backend> {
        self.backends.get(idx)
    }

    /// The upstream of the backend at `idx`.
    pub fn upstream(&self, idx: usize) -> Option<&Arc<Upstream>> {
        self.backends.get(idx).map(|b| &b.upstream)
    }

    /// The backend called `name`.
    pub fn backend_named(&self, name: &str) -> Option<&Backend> {
        self.backends.iter().find(|b| &*b.upstream.name == name)
    }

    /// The service of type `T` attached to the backend `name`.
    pub fn service<T: Send + Sync + 'static>(&self, name: &str) -> Option<&T> {
        self.backend_named(name)
            .and_then(|b| b.extensions.get::<T>())
    }
}

impl crate::telemetry::exposition::StateView for Snapshot {
    fn revision(&self) -> u64 {
        self.table.revision()
    }

    fn upstream_health(&self) -> Vec<crate::telemetry::exposition::UpstreamHealth> {
        self.backends
            .iter()
            .map(|b| crate::telemetry::exposition::UpstreamHealth {
                name: b.upstream.name.clone(),
                healthy: b.upstream.health.is_healthy(),
                available: b.upstream.health.available(),
            })
            .collect()
    }

    fn openehr_backends(
        &self,
    ) -> Vec<(
        Arc<str>,
        Arc<dyn crate::telemetry::exposition::OpenEhrGauges>,
    )> {
        self.backends
            .iter()
            .filter_map(|b| {
                let g = b
                    .extensions
                    .get::<Arc<dyn crate::telemetry::exposition::OpenEhrGauges>>()?;
                Some((b.upstream.name.clone(), g.clone()))
            })
            .collect()
    }
}

/// Why a new snapshot was refused (the old one keeps serving).
#[derive(Debug, thiserror::Error)]
pub enum SwapError {
    /// The config does not load.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The table could not be built.
    #[error(transparent)]
    Table(#[from] TableError),
    /// An upstream could not be built.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// TLS material could not be loaded.
    #[error("tls: {0}")]
    Tls(String),
    /// A listener the new config adds could not bind (MLLP listeners are
    /// bound by the reload; HTTP listener changes need a restart).
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// The address as configured.
        addr: String,
        /// The OS error.
        reason: String,
    },
}

impl ehrgate_templates::fault::Classified for SwapError {
    fn fault(&self) -> ehrgate_templates::fault::Fault {
        ehrgate_templates::fault::Fault::Internal
    }
    fn code(&self) -> &'static str {
        match self {
            SwapError::Config(e) => e.code(),
            SwapError::Table(e) => e.code(),
            SwapError::Upstream(e) => e.code(),
            SwapError::Tls(_) => "tls.load",
            SwapError::Bind { .. } => "listener.bind",
        }
    }
}

/// The shared state of a running gateway.
#[derive(Debug)]
pub struct Shared {
    current: ArcSwap<Snapshot>,
    overrides: Mutex<Overrides>,
    revision: AtomicU64,
    /// The retry budget (shared across revisions).
    pub retry: RetryBudget,
    /// Metrics and log destinations (fixed for the process's life).
    pub telemetry: Arc<crate::telemetry::Telemetry>,
    /// The revision in force, for parts that rebuild their own tables on a
    /// swap (the MLLP feeds).
    revisions: tokio::sync::watch::Sender<u64>,
    /// What the composition root attaches to each newly built backend.
    services: Arc<dyn BackendServices>,
}

// === impl Shared ===

impl Shared {
    /// Builds the first snapshot. Must run inside a tokio runtime (health
    /// checkers are spawned).
    pub fn new(loaded: LoadedConfig) -> Result<Arc<Shared>, SwapError> {
        Self::with_telemetry(loaded, Arc::default())
    }

    /// Like [`Shared::new`], with the process's telemetry.
    pub fn with_telemetry(
        loaded: LoadedConfig,
        telemetry: Arc<crate::telemetry::Telemetry>,
    ) -> Result<Arc<Shared>, SwapError> {
        Self::with_services(loaded, telemetry, Arc::new(NoServices))
    }

    /// Like [`Shared::with_telemetry`], attaching `services` to every
    /// backend built (the composition root's handlers).
    pub fn with_services(
        loaded: LoadedConfig,
        telemetry: Arc<crate::telemetry::Telemetry>,
        services: Arc<dyn BackendServices>,
    ) -> Result<Arc<Shared>, SwapError> {
        let retry = RetryBudget::new(
            loaded.config.server.retry_budget_ratio,
            loaded.config.server.retry_budget_min_per_sec,
        );
        let snapshot = build(Arc::new(loaded), &Overrides::default(), 1, None, &*services)?;
        Ok(Arc::new(Shared {
            current: ArcSwap::from_pointee(snapshot),
            overrides: Mutex::new(Overrides::default()),
            revision: AtomicU64::new(1),
            retry,
            telemetry,
            revisions: tokio::sync::watch::Sender::new(1),
            services,
        }))
    }

    /// The snapshot in force (one atomic load).
    pub fn load(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Replaces the config (reload). On error nothing changes.
    pub fn reload(&self, loaded: LoadedConfig) -> Result<u64, SwapError> {
        let guard = self.lock_overrides();
        self.swap_with(Arc::new(loaded), &guard)
    }

    /// Changes run-time overrides and swaps in a table built with them (the
    /// admin API's entry point). On error nothing changes.
    pub fn update_overrides(&self, change: impl FnOnce(&mut Overrides)) -> Result<u64, SwapError> {
        let mut guard = self.lock_overrides();
        let mut next = guard.clone();
        change(&mut next);
        let loaded = self.load().loaded.clone();
        let rev = self.swap_with(loaded, &next)?;
        *guard = next;
        Ok(rev)
    }

    fn lock_overrides(&self) -> std::sync::MutexGuard<'_, Overrides> {
        self.overrides
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn swap_with(
        &self,
        loaded: Arc<LoadedConfig>,
        overrides: &Overrides,
    ) -> Result<u64, SwapError> {
        let old = self.load();
        let rev = self.revision.fetch_add(1, Ordering::SeqCst) + 1;
        let snapshot = build(loaded, overrides, rev, Some(&old), &*self.services)?;
        self.current.store(Arc::new(snapshot));
        self.revisions.send_replace(rev);
        Ok(rev)
    }

    /// Notified with the new revision after every swap (reload or
    /// override change).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.revisions.subscribe()
    }

    /// The run-time overrides in force (the MLLP routes apply those whose
    /// route id matches theirs).
    pub fn overrides(&self) -> Overrides {
        self.lock_overrides().clone()
    }
}

fn build(
    loaded: Arc<LoadedConfig>,
    overrides: &Overrides,
    revision: u64,
    previous: Option<&Snapshot>,
    services: &dyn BackendServices,
) -> Result<Snapshot, SwapError> {
    let table = RoutingTable::build(&loaded, overrides, revision)?;
    let reuse: HashMap<&str, &Backend> = previous
        .map(|p| p.backends.iter().map(|b| (&*b.upstream.name, b)).collect())
        .unwrap_or_default();
    let mut backends = Vec::with_capacity(loaded.config.backends.len());
    for b in &loaded.config.backends {
        match reuse.get(b.name.get_ref().as_str()) {
            Some(kept) if kept.upstream.same_config(b, |p| loaded.resolve(p)) => {
                backends.push((*kept).clone());
            }
            _ => {
                let up = Arc::new(Upstream::new(b, |p| loaded.resolve(p))?);
                // MLLP destinations run their own TCP-connect checks
                // (`mllp::health`); an HTTP GET would hit an MLLP port.
                let http = b.kind != crate::config::model::BackendKind::Hl7v2Mllp;
                if let (Some(check), true) = (&b.health, http) {
                    spawn_checker(&up, check.clone());
                }
                let Attached {
                    handler,
                    extensions,
                } = services.attach(&up, &loaded);
                backends.push(Backend {
                    upstream: up,
                    handler,
                    extensions,
                });
            }
        }
    }
    let capacity = loaded.config.server.placement_capacity;
    let placements: Arc<dyn PlacementStore> = match previous {
        Some(p) if p.placements.capacity() == capacity => p.placements.clone(),
        _ => Arc::new(MemoryPlacements::new(capacity)),
    };
    let route_headers = table
        .routes()
        .iter()
        .map(|r| HeaderValue::from_str(&r.id).unwrap_or(HeaderValue::from_static("-")))
        .collect();
    let s = &loaded.config.server;
    let t = &loaded.config.tenancy;
    let status = |code: u16| StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    let settings = Settings {
        request_id_header: HeaderName::from_bytes(s.request_id_header.as_bytes())
            .unwrap_or(HeaderName::from_static("x-request-id")),
        decision_headers: s.decision_headers,
        max_request_body: s.max_request_body,
        max_response_body: s.max_response_body,
        tenant_statuses: TenantStatuses {
            missing: status(t.missing_status),
            unknown: status(t.unknown_status),
        },
        tenant_header: HeaderName::from_bytes(t.header.as_bytes())
            .unwrap_or(HeaderName::from_static("x-tenant-id")),
        max_attempts: s.max_attempts.max(1),
        jwt: match (&t.jwt, &loaded.jwks) {
            (Some(j), Some(jwks)) => Some(JwtSettings {
                jwks: jwks.clone(),
                tenant_claim: j.tenant_claim.clone(),
                issuer: j.issuer.clone(),
                audience: j.audience.clone(),
            }),
            _ => None,
        },
        reject_encoded_slash: s.reject_encoded_slash,
        trusted_proxies: crate::config::cidr::TrustedProxies::from_config(&s.trusted_proxies),
    };
    Ok(Snapshot {
        table,
        backends,
        route_headers,
        settings,
        loaded,
        placements,
    })
}
