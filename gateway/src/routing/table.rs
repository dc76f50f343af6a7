//! The immutable routing table of one revision, and the handle it is
//! swapped through.
//!
//! A table is built from a validated config plus run-time [`Overrides`]
//! (weights, pins, flags changed through the admin API, issue 7) and never
//! changes afterwards: a reload or an admin change builds a new table with
//! the next revision and swaps it in with one atomic store. A request loads
//! the table once (`arc-swap`, no lock) and uses that one revision to the end,
//! so it never sees a half-applied change.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use ehrgate_templates::fault::{Classified, Fault};

use super::bucket::WeightBp;
use super::flags::FlagSet;
use super::route_match::{CompiledRoute, Override};
use super::tenant::TenantResolver;
use crate::config::model::{BackendKind, PinConfig};
use crate::config::LoadedConfig;

/// Index of a route in its table.
pub type RouteIdx = u16;
/// Index of a backend in its table.
pub type BackendIdx = u16;

/// A backend as routing sees it (the connection pool lives in the proxy).
#[derive(Debug, Clone)]
pub struct BackendEntry {
    /// Its name.
    pub name: Arc<str>,
    /// What it speaks.
    pub kind: BackendKind,
}

/// Run-time changes on top of the config file; survive reloads.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Route weights by route id.
    pub route_weights: HashMap<String, WeightBp>,
    /// Per-tenant weights by (route id, tenant id).
    pub tenant_weights: HashMap<(String, String), WeightBp>,
    /// Per-tenant pins by (route id, tenant id); `None` removes a config pin.
    pub pins: HashMap<(String, String), Option<PinConfig>>,
    /// A replacement flag set.
    pub flags: Option<FlagSet>,
    /// Flags switched on or off for every request, by name.
    pub flag_switches: HashMap<String, bool>,
}

/// Why a table could not be built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TableError {
    /// More routes, tenants or backends than the index types hold.
    #[error("too many {0} (at most 65535)")]
    TooMany(&'static str),
    /// A name that validation should have caught.
    #[error("unknown {kind} `{name}`")]
    Unknown {
        /// What kind of name.
        kind: &'static str,
        /// The name.
        name: String,
    },
}

impl Classified for TableError {
    fn fault(&self) -> Fault {
        Fault::Internal
    }
    fn code(&self) -> &'static str {
        match self {
            TableError::TooMany(_) => "table.too-many",
            TableError::Unknown { .. } => "table.unknown-name",
        }
    }
}

/// One immutable revision of routing state.
#[derive(Debug)]
pub struct RoutingTable {
    revision: u64,
    tenants: TenantResolver,
    routes: Vec<CompiledRoute>,
    backends: Vec<BackendEntry>,
    flags: FlagSet,
}

// === impl RoutingTable ===

impl RoutingTable {
    /// Builds a table from a validated config and run-time overrides.
    pub fn build(
        loaded: &LoadedConfig,
        overrides: &Overrides,
        revision: u64,
    ) -> Result<RoutingTable, TableError> {
        let config = &loaded.config;
        if config.routes.len() > usize::from(u16::MAX)
            || config.tenants.len() > usize::from(u16::MAX)
            || config.backends.len() > usize::from(u16::MAX)
        {
            return Err(TableError::TooMany("routes, tenants or backends"));
        }
        let tenants = TenantResolver::new(&config.tenancy, &config.tenants);
        let backends: Vec<BackendEntry> = config
            .backends
            .iter()
            .map(|b| BackendEntry {
                name: Arc::from(b.name.get_ref().as_str()),
                kind: b.kind,
            })
            .collect();
        let backend_idx = |name: &str| {
            backends
                .iter()
                .position(|b| &*b.name == name)
                .map(|i| i as BackendIdx)
                .ok_or_else(|| TableError::Unknown {
                    kind: "backend",
                    name: name.to_string(),
                })
        };
        let tenant_idx = |name: &str| {
            tenants
                .by_id(name)
                .map(|t| t.idx)
                .ok_or_else(|| TableError::Unknown {
                    kind: "tenant",
                    name: name.to_string(),
                })
        };
        let n_tenants = tenants.tenants().len();
        let mut routes = Vec::with_capacity(config.routes.len());
        for r in &config.routes {
            let id = r.id.get_ref().as_str();
            let allowed = match &r.tenants {
                Some(list) => {
                    let mut v = vec![false; n_tenants];
                    for t in list {
                        v[usize::from(tenant_idx(t.get_ref())?)] = true;
                    }
                    Some(v)
                }
                None => None,
            };
            let mut overrides_by_tenant = vec![Override::default(); n_tenants];
            let mut any_override = false;
            for (t, o) in &r.tenant_overrides {
                let slot = &mut overrides_by_tenant[usize::from(tenant_idx(t)?)];
                slot.weight = o
                    .weight
                    .as_ref()
                    .map(|w| WeightBp::from_percent(*w.get_ref()));
                slot.pin = o.pin;
                any_override = true;
            }
            // Run-time overrides naming a tenant that a reload removed are
            // skipped, not fatal: the new config decides what exists.
            for ((route, t), w) in &overrides.tenant_weights {
                if let (true, Ok(i)) = (route == id, tenant_idx(t)) {
                    overrides_by_tenant[usize::from(i)].weight = Some(*w);
                    any_override = true;
                }
            }
            for ((route, t), pin) in &overrides.pins {
                if let (true, Ok(i)) = (route == id, tenant_idx(t)) {
                    overrides_by_tenant[usize::from(i)].pin = *pin;
                    any_override = true;
                }
            }
            let weight = overrides.route_weights.get(id).copied().unwrap_or_else(|| {
                r.weight
                    .as_ref()
                    .map_or(WeightBp::ZERO, |w| WeightBp::from_percent(*w.get_ref()))
            });
            routes.push(CompiledRoute {
                id: Arc::from(id),
                prefix: r.path_prefix.trim_end_matches('/').into(),
                resource_types: r.resource_types.iter().map(|s| s.as_str().into()).collect(),
                methods: r
                    .methods
                    .iter()
                    .filter_map(|m| {
                        http::Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok()
                    })
                    .collect(),
                headers: r
                    .headers
                    .iter()
                    .filter_map(|(k, v)| {
                        Some((
                            http::HeaderName::from_bytes(k.as_bytes()).ok()?,
                            http::HeaderValue::from_str(v).ok()?,
                        ))
                    })
                    .collect(),
                tenants: allowed,
                flag: r.flag.as_ref().map(|f| f.get_ref().as_str().into()),
                stable: backend_idx(r.stable.get_ref())?,
                canary: r
                    .canary
                    .as_ref()
                    .map(|c| backend_idx(c.get_ref()))
                    .transpose()?,
                weight,
                sticky: r.sticky.clone(),
                overrides: if any_override {
                    overrides_by_tenant
                } else {
                    Vec::new()
                },
                strip_prefix: r.strip_prefix,
                failover: r.failover,
                writes: r.writes,
            });
        }
        Ok(RoutingTable {
            revision,
            tenants,
            routes,
            backends,
            flags: overrides
                .flags
                .as_ref()
                .unwrap_or(&loaded.flags)
                .with_switches(&overrides.flag_switches),
        })
    }

    /// The revision (increases with every swap).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Tenant lookup.
    pub fn tenants(&self) -> &TenantResolver {
        &self.tenants
    }

    /// Routes in match order.
    pub fn routes(&self) -> &[CompiledRoute] {
        &self.routes
    }

    /// A route by index.
    pub fn route(&self, idx: RouteIdx) -> Option<&CompiledRoute> {
        self.routes.get(usize::from(idx))
    }

    /// Backends by index.
    pub fn backends(&self) -> &[BackendEntry] {
        &self.backends
    }

    /// The flags in force.
    pub fn flags(&self) -> &FlagSet {
        &self.flags
    }
}

/// The shared, atomically swapped current table.
pub type TableHandle = Arc<ArcSwap<RoutingTable>>;
