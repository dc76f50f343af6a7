//! Route matching: which configured route a request belongs to.
//!
//! Routes are tried in file order; the first whose prefix, resource type,
//! method, headers, tenant list and required flag all fit wins. A route that
//! does not allow the request's tenant never matches, which is what keeps
//! tenant A away from backends that only tenant B's routes name.

use std::sync::Arc;

use http::{HeaderName, HeaderValue, Method};

use super::bucket::WeightBp;
use super::flags::{FlagContext, FlagSet};
use super::table::BackendIdx;
use super::tenant::TenantIdx;
use crate::config::model::{PinConfig, StickyKey};

/// A per-tenant override of one route (config plus run-time changes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Override {
    /// Weight for this tenant instead of the route's.
    pub weight: Option<WeightBp>,
    /// Pin to one arm (wins over weights).
    pub pin: Option<PinConfig>,
}

/// A route ready for matching.
#[derive(Debug, Clone)]
pub struct CompiledRoute {
    /// The route id.
    pub id: Arc<str>,
    /// Path prefix, without trailing slash (empty for `/`).
    pub prefix: Box<str>,
    /// FHIR resource types; empty = any.
    pub resource_types: Vec<Box<str>>,
    /// Methods; empty = any.
    pub methods: Vec<Method>,
    /// Required header values.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Allowed tenants by index; `None` = all configured tenants.
    pub tenants: Option<Vec<bool>>,
    /// Required flag.
    pub flag: Option<Box<str>>,
    /// The stable backend.
    pub stable: BackendIdx,
    /// The canary backend.
    pub canary: Option<BackendIdx>,
    /// The route's canary weight.
    pub weight: WeightBp,
    /// What the split is sticky on.
    pub sticky: StickyKey,
    /// Per-tenant overrides by tenant index (empty when there are none).
    pub overrides: Vec<Override>,
    /// Remove the prefix before forwarding.
    pub strip_prefix: bool,
    /// Where a request goes when its arm's backend is down.
    pub failover: crate::config::model::FailoverPolicy,
    /// Which arm serves writes.
    pub writes: crate::config::model::WritePlacement,
}

/// The parts of a request that matching looks at.
#[derive(Debug, Clone, Copy)]
pub struct MatchInput<'a> {
    /// Method.
    pub method: &'a Method,
    /// Path with the tenant's path prefix already removed.
    pub path: &'a str,
    /// Headers.
    pub headers: &'a http::HeaderMap,
    /// The tenant.
    pub tenant: TenantIdx,
    /// Context for flag targeting.
    pub flags: FlagContext<'a>,
}

/// Whether `path` starts with `prefix` at a segment boundary.
pub fn prefix_matches(prefix: &str, path: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'),
        None => false,
    }
}

/// The first path segment after `prefix` (the FHIR resource type).
pub fn resource_type<'p>(prefix: &str, path: &'p str) -> Option<&'p str> {
    let rest = path.get(prefix.len()..)?.trim_start_matches('/');
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let seg = &rest[..end];
    (!seg.is_empty()).then_some(seg)
}

// === impl CompiledRoute ===

impl CompiledRoute {
    /// Whether this route may serve the request.
    pub fn matches(&self, req: &MatchInput<'_>, flags: &FlagSet) -> bool {
        if !prefix_matches(&self.prefix, req.path) {
            return false;
        }
        if let Some(allowed) = &self.tenants {
            if !allowed
                .get(usize::from(req.tenant))
                .copied()
                .unwrap_or(false)
            {
                return false;
            }
        }
        if !self.methods.is_empty() && !self.methods.contains(req.method) {
            return false;
        }
        if !self.resource_types.is_empty() {
            match resource_type(&self.prefix, req.path) {
                Some(rt) if self.resource_types.iter().any(|t| &**t == rt) => {}
                _ => return false,
            }
        }
        if !self
            .headers
            .iter()
            .all(|(name, value)| req.headers.get(name) == Some(value))
        {
            return false;
        }
        match &self.flag {
            Some(flag) => flags.is_on(flag, &req.flags),
            None => true,
        }
    }

    /// The override for a tenant, if any.
    pub fn override_for(&self, tenant: TenantIdx) -> Override {
        self.overrides
            .get(usize::from(tenant))
            .copied()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_whole_segments() {
        assert!(prefix_matches("/fhir", "/fhir"));
        assert!(prefix_matches("/fhir", "/fhir/Patient"));
        assert!(prefix_matches("/fhir", "/fhir?x=1"));
        assert!(!prefix_matches("/fhir", "/fhirx/Patient"));
        assert!(prefix_matches("", "/anything"));
    }

    #[test]
    fn resource_type_is_first_segment_after_prefix() {
        assert_eq!(resource_type("/fhir", "/fhir/Patient/1"), Some("Patient"));
        assert_eq!(
            resource_type("/fhir", "/fhir/Observation?code=x"),
            Some("Observation")
        );
        assert_eq!(resource_type("/fhir", "/fhir"), None);
        assert_eq!(resource_type("", "/Patient"), Some("Patient"));
    }
}
