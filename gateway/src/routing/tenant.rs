//! Tenant resolution: which clinic a request belongs to.
//!
//! Sources are tried in the configured order and the first that yields a
//! tenant decides. The header and JWT sources yield an *id*, which must be a
//! configured tenant (else the request is refused as unknown, never passed
//! on to a later source); the host and path sources only yield when the host
//! or prefix belongs to a configured tenant. The JWT source only ever sees
//! claims whose signature was verified (see [`super::jwt`]).

use std::collections::HashMap;
use std::sync::Arc;

use ehrgate_templates::fault::{Classified, Fault};

use crate::config::model::{TenancyConfig, TenantConfig, TenantSource};

/// Index of a tenant in the routing table.
pub type TenantIdx = u16;

/// A configured tenant.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// Its index (for per-tenant tables in routes).
    pub idx: TenantIdx,
    /// Its id.
    pub id: Arc<str>,
    /// Its id as a header value, sent upstream in the tenancy header.
    pub header_value: Option<http::HeaderValue>,
}

/// A tenant found for a request.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'t> {
    /// The tenant.
    pub tenant: &'t Tenant,
    /// Which source found it.
    pub source: TenantSource,
    /// Bytes of the path that were the tenant's prefix (stripped upstream).
    pub prefix_len: usize,
}

/// Why no tenant could be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    /// No source yielded an id.
    #[error("the request names no tenant")]
    Missing,
    /// A source yielded an id that is not configured.
    #[error("the request's tenant is not known here")]
    Unknown,
}

impl Classified for TenantError {
    fn fault(&self) -> Fault {
        Fault::Client
    }
    fn code(&self) -> &'static str {
        match self {
            TenantError::Missing => "tenant.missing",
            TenantError::Unknown => "tenant.unknown",
        }
    }
}

/// What tenant resolution may look at in a request.
#[derive(Debug, Clone, Copy)]
pub struct TenantInput<'a> {
    /// The request headers.
    pub headers: &'a http::HeaderMap,
    /// The host (`:authority` or `Host`), without port.
    pub host: Option<&'a str>,
    /// The request path.
    pub path: &'a str,
    /// The tenant claim of a verified JWT.
    pub jwt_tenant: Option<&'a str>,
}

/// The compiled tenant lookup of one table revision.
#[derive(Debug, Clone)]
pub struct TenantResolver {
    order: Vec<TenantSource>,
    header: http::HeaderName,
    tenants: Vec<Tenant>,
    by_id: HashMap<Arc<str>, TenantIdx>,
    by_host: HashMap<String, TenantIdx>,
    /// Longest prefix first.
    by_prefix: Vec<(String, TenantIdx)>,
}

// === impl TenantResolver ===

impl TenantResolver {
    /// Compiles the tenancy section (already validated).
    pub fn new(tenancy: &TenancyConfig, tenants: &[TenantConfig]) -> TenantResolver {
        let mut list = Vec::with_capacity(tenants.len());
        let mut by_id = HashMap::new();
        let mut by_host = HashMap::new();
        let mut by_prefix = Vec::new();
        for (i, t) in tenants.iter().enumerate() {
            let idx = i as TenantIdx;
            let id: Arc<str> = Arc::from(t.id.get_ref().as_str());
            by_id.insert(id.clone(), idx);
            for h in &t.hosts {
                by_host.insert(h.to_ascii_lowercase(), idx);
            }
            if let Some(p) = &t.path_prefix {
                by_prefix.push((p.trim_end_matches('/').to_string(), idx));
            }
            let header_value = http::HeaderValue::from_str(&id).ok();
            list.push(Tenant {
                idx,
                id,
                header_value,
            });
        }
        by_prefix.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
        TenantResolver {
            order: tenancy.resolve.clone(),
            header: http::HeaderName::from_bytes(tenancy.header.as_bytes())
                .unwrap_or(http::HeaderName::from_static("x-tenant-id")),
            tenants: list,
            by_id,
            by_host,
            by_prefix,
        }
    }

    /// All tenants, by index.
    pub fn tenants(&self) -> &[Tenant] {
        &self.tenants
    }

    /// A tenant by id.
    pub fn by_id(&self, id: &str) -> Option<&Tenant> {
        self.by_id.get(id).map(|i| &self.tenants[usize::from(*i)])
    }

    /// Whether the JWT source is in the order (so tokens must be verified).
    pub fn uses_jwt(&self) -> bool {
        self.order.contains(&TenantSource::Jwt)
    }

    /// Finds the tenant of a request.
    pub fn resolve<'t>(&'t self, input: &TenantInput<'_>) -> Result<Resolved<'t>, TenantError> {
        for source in &self.order {
            let found = match source {
                TenantSource::Header => match input.headers.get(&self.header) {
                    Some(v) => Some((self.id(v.to_str().ok())?, 0)),
                    None => None,
                },
                TenantSource::Jwt => match input.jwt_tenant {
                    Some(id) => Some((self.id(Some(id))?, 0)),
                    None => None,
                },
                TenantSource::Host => input
                    .host
                    .and_then(|h| self.by_host.get(&h.to_ascii_lowercase()).map(|i| (*i, 0))),
                TenantSource::Path => self.by_prefix.iter().find_map(|(p, i)| {
                    let rest = input.path.strip_prefix(p.as_str())?;
                    (rest.is_empty() || rest.starts_with('/')).then_some((*i, p.len()))
                }),
            };
            if let Some((idx, prefix_len)) = found {
                return Ok(Resolved {
                    tenant: &self.tenants[usize::from(idx)],
                    source: *source,
                    prefix_len,
                });
            }
        }
        Err(TenantError::Missing)
    }

    fn id(&self, id: Option<&str>) -> Result<TenantIdx, TenantError> {
        id.and_then(|id| self.by_id.get(id.trim()).copied())
            .ok_or(TenantError::Unknown)
    }
}
