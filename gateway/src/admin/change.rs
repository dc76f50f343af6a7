//! The changes a release manager can make, checked against the config in
//! force and applied to a [`ReleaseState`] (pure: no I/O, no locks), with
//! the old -> new diff the history records.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::error::AdminError;
use super::state::{PinChoice, ReleaseState};
use crate::config::model::{PinConfig, RouteConfig};
use crate::config::LoadedConfig;
use crate::routing::bucket::WeightBp;

/// One requested change.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A route's canary weight, globally or for one tenant.
    Weight {
        /// Route id.
        route: String,
        /// Tenant id, for a per-tenant weight.
        tenant: Option<String>,
        /// Percent, 0..=100 with at most two decimals.
        percent: f64,
    },
    /// Pin (or unpin) a tenant on one route or on every route with a canary.
    Pin {
        /// Tenant id.
        tenant: String,
        /// One route; `None` = every route with a canary that allows the tenant.
        route: Option<String>,
        /// The arm, or `None` to lift pins.
        arm: PinChoice,
    },
    /// Switch a flag on or off for every request.
    Flag {
        /// Flag name.
        name: String,
        /// On or off.
        on: bool,
    },
    /// Send all of a route's traffic to stable.
    Rollback {
        /// Route id.
        route: String,
    },
    /// Restore the state of an earlier revision (as a new revision).
    Revert {
        /// The revision to restore (0 = no run-time changes).
        revision: u64,
    },
}

impl Change {
    /// The action name recorded in the history.
    pub fn action(&self) -> &'static str {
        match self {
            Change::Weight { .. } => "weight.set",
            Change::Pin { .. } => "pin.set",
            Change::Flag { .. } => "flag.set",
            Change::Rollback { .. } => "route.rollback",
            Change::Revert { .. } => "revert",
        }
    }
}

/// Applies a change (other than revert) to `state`, checking it against
/// the config; on error `state` is untouched by the caller (it works on a copy).
pub fn apply(
    change: &Change,
    state: &mut ReleaseState,
    loaded: &LoadedConfig,
) -> Result<(), AdminError> {
    match change {
        Change::Weight {
            route,
            tenant,
            percent,
        } => {
            let r = find_route(loaded, route)?;
            check_percent(*percent)?;
            if r.canary.is_none() {
                return Err(AdminError::invalid(
                    "admin.no-canary",
                    format!("route `{route}` has no canary backend; a weight has nothing to split"),
                ));
            }
            match tenant {
                None => {
                    state.weights.insert(route.clone(), *percent);
                }
                Some(t) => {
                    check_tenant(loaded, r, t)?;
                    state
                        .tenant_weights
                        .entry(route.clone())
                        .or_default()
                        .insert(t.clone(), *percent);
                }
            }
        }
        Change::Pin { tenant, route, arm } => {
            let routes: Vec<&RouteConfig> = match route {
                Some(id) => {
                    let r = find_route(loaded, id)?;
                    check_tenant(loaded, r, tenant)?;
                    if r.canary.is_none() && *arm == PinChoice::Canary {
                        return Err(AdminError::invalid(
                            "admin.no-canary",
                            format!("route `{id}` has no canary backend to pin to"),
                        ));
                    }
                    vec![r]
                }
                None => {
                    known_tenant(loaded, tenant)?;
                    let list: Vec<_> = loaded
                        .config
                        .routes
                        .iter()
                        .filter(|r| r.canary.is_some() && allows(r, tenant))
                        .collect();
                    if list.is_empty() {
                        return Err(AdminError::invalid(
                            "admin.no-canary",
                            format!("no route with a canary serves tenant `{tenant}`"),
                        ));
                    }
                    list
                }
            };
            for r in routes {
                state
                    .pins
                    .entry(r.id.get_ref().clone())
                    .or_default()
                    .insert(tenant.clone(), *arm);
            }
        }
        Change::Flag { name, on } => {
            if !loaded.flags.contains(name) {
                return Err(AdminError::not_found(
                    "admin.unknown-flag",
                    format!("flag `{name}` is not in the flag file"),
                ));
            }
            state.flags.insert(name.clone(), *on);
        }
        Change::Rollback { route } => {
            let r = find_route(loaded, route)?;
            state.tenant_weights.remove(route);
            state.pins.remove(route);
            if r.canary.is_some() {
                state.weights.insert(route.clone(), 0.0);
                // Config-file overrides that still send traffic to the canary.
                for (tenant, o) in &r.tenant_overrides {
                    if o.weight.as_ref().is_some_and(|w| *w.get_ref() > 0.0) {
                        state
                            .tenant_weights
                            .entry(route.clone())
                            .or_default()
                            .insert(tenant.clone(), 0.0);
                    }
                    if o.pin == Some(PinConfig::Canary) {
                        state
                            .pins
                            .entry(route.clone())
                            .or_default()
                            .insert(tenant.clone(), PinChoice::Stable);
                    }
                }
            }
        }
        Change::Revert { .. } => {}
    }
    Ok(())
}

/// The old -> new differences between two states, one entry per value.
pub fn diff(old: &ReleaseState, new: &ReleaseState) -> Vec<super::store::Diff> {
    let mut out = Vec::new();
    map_diff(&mut out, "weight", &old.weights, &new.weights, |v| json!(v));
    nested_diff(
        &mut out,
        "weight",
        &old.tenant_weights,
        &new.tenant_weights,
        |v| json!(v),
    );
    nested_diff(&mut out, "pin", &old.pins, &new.pins, |v| json!(v.as_str()));
    map_diff(&mut out, "flag", &old.flags, &new.flags, |v| {
        json!(if *v { "on" } else { "off" })
    });
    out
}

fn map_diff<V: PartialEq>(
    out: &mut Vec<super::store::Diff>,
    what: &str,
    old: &BTreeMap<String, V>,
    new: &BTreeMap<String, V>,
    show: impl Fn(&V) -> Value,
) {
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for k in keys {
        let (a, b) = (old.get(k), new.get(k));
        if a != b {
            out.push(super::store::Diff {
                what: format!("{what} {k}"),
                old: a.map_or(Value::Null, &show),
                new: b.map_or(Value::Null, &show),
            });
        }
    }
}

fn nested_diff<V: PartialEq>(
    out: &mut Vec<super::store::Diff>,
    what: &str,
    old: &BTreeMap<String, BTreeMap<String, V>>,
    new: &BTreeMap<String, BTreeMap<String, V>>,
    show: impl Fn(&V) -> Value,
) {
    let empty = BTreeMap::new();
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for route in keys {
        map_diff(
            out,
            &format!("{what} {route} tenant"),
            old.get(route).unwrap_or(&empty),
            new.get(route).unwrap_or(&empty),
            &show,
        );
    }
}

fn find_route<'c>(loaded: &'c LoadedConfig, id: &str) -> Result<&'c RouteConfig, AdminError> {
    loaded
        .config
        .routes
        .iter()
        .find(|r| r.id.get_ref() == id)
        .ok_or_else(|| {
            AdminError::not_found(
                "admin.unknown-route",
                format!("route `{id}` is not configured"),
            )
        })
}

fn known_tenant(loaded: &LoadedConfig, tenant: &str) -> Result<(), AdminError> {
    if loaded
        .config
        .tenants
        .iter()
        .any(|t| t.id.get_ref() == tenant)
    {
        Ok(())
    } else {
        Err(AdminError::not_found(
            "admin.unknown-tenant",
            format!("tenant `{tenant}` is not configured"),
        ))
    }
}

fn allows(r: &RouteConfig, tenant: &str) -> bool {
    r.tenants
        .as_ref()
        .is_none_or(|list| list.iter().any(|t| t.get_ref() == tenant))
}

fn check_tenant(loaded: &LoadedConfig, r: &RouteConfig, tenant: &str) -> Result<(), AdminError> {
    known_tenant(loaded, tenant)?;
    if !allows(r, tenant) {
        return Err(AdminError::invalid(
            "admin.tenant-not-allowed",
            format!(
                "route `{}` does not serve tenant `{tenant}`",
                r.id.get_ref()
            ),
        ));
    }
    Ok(())
}

fn check_percent(p: f64) -> Result<(), AdminError> {
    if !p.is_finite() || !(0.0..=100.0).contains(&p) {
        return Err(AdminError::invalid(
            "admin.weight-out-of-range",
            format!("weight {p} must be within 0..=100 (percent)"),
        ));
    }
    if (f64::from(WeightBp::from_percent(p).bp()) - p * 100.0).abs() > 1e-6 {
        return Err(AdminError::invalid(
            "admin.weight-precision",
            format!("weight {p} has more than two decimals (10,000 buckets)"),
        ));
    }
    Ok(())
}
