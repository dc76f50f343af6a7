//! `decide`: the routing seam. Given the request parts and its tenant, pick a
//! route and an arm (stable or canary), and say which rule chose it.
//!
//! This is pure: no I/O, no clock, no randomness (the request id is an input),
//! so every decision can be unit-tested and replayed from an access log.
//! The shape follows linkerd's `SelectRoute` + `Distribution`: the route is
//! selected first, then the distribution picks the backend.

use super::route_match::{CompiledRoute, MatchInput};
use super::split::{split as split_arm, Split};
pub use super::split::{Arm, Rule};
use super::table::{BackendIdx, RouteIdx, RoutingTable};
use crate::config::model::StickyKey;
use ehrgate_templates::fault::{Classified, Fault};

/// A routing decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The route.
    pub route: RouteIdx,
    /// The arm.
    pub arm: Arm,
    /// The backend that serves it.
    pub backend: BackendIdx,
    /// Why.
    pub rule: Rule,
}

/// Why no route serves a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    /// No route matches for this tenant.
    #[error("no route serves this request for this tenant")]
    NoRoute,
}

impl Classified for Reject {
    fn fault(&self) -> Fault {
        Fault::Client
    }
    fn code(&self) -> &'static str {
        "route.none"
    }
}

/// What the sticky key can be taken from.
#[derive(Debug, Clone, Copy)]
pub struct StickySource<'a> {
    /// The request id (generated or propagated).
    pub request_id: &'a str,
    /// The verified user, or the `x-user-id` header.
    pub user: Option<&'a str>,
    /// The query string, if any.
    pub query: Option<&'a str>,
}

/// Picks the route and arm for a request.
pub fn decide(
    table: &RoutingTable,
    req: &MatchInput<'_>,
    sticky: &StickySource<'_>,
) -> Result<Decision, Reject> {
    let (idx, route) = table
        .routes()
        .iter()
        .enumerate()
        .find(|(_, r)| r.matches(req, table.flags()))
        .ok_or(Reject::NoRoute)?;
    Ok(split(idx as RouteIdx, route, table, req, sticky))
}

fn split(
    idx: RouteIdx,
    route: &CompiledRoute,
    table: &RoutingTable,
    req: &MatchInput<'_>,
    sticky: &StickySource<'_>,
) -> Decision {
    let over = route.override_for(req.tenant);
    let tenant_id = table
        .tenants()
        .tenants()
        .get(usize::from(req.tenant))
        .map_or("", |t| &t.id);
    let (arm, rule) = split_arm(
        &Split {
            route_id: &route.id,
            has_canary: route.canary.is_some(),
            pin: over.pin,
            route_weight: route.weight,
            tenant_weight: over.weight,
            tenant: tenant_id,
        },
        || sticky_key(&route.sticky, req, sticky),
    )
    .arm_and_rule();
    let backend = match (arm, route.canary) {
        (Arm::Canary, Some(canary)) => canary,
        _ => route.stable,
    };
    Decision {
        route: idx,
        arm,
        backend,
        rule,
    }
}

/// The key the split hashes, when the request has one (the split falls
/// back to the tenant without one: [`super::split`]).
fn sticky_key<'a>(
    kind: &'a StickyKey,
    req: &MatchInput<'a>,
    src: &StickySource<'a>,
) -> Option<&'a str> {
    match kind {
        StickyKey::Tenant => None,
        StickyKey::RequestId => Some(src.request_id),
        StickyKey::User => src.user,
        StickyKey::Header(name) => req.headers.get(name.as_str()).and_then(|v| v.to_str().ok()),
        StickyKey::Patient => patient_id(req, src.query),
    }
}

/// The patient a FHIR request is about: `x-patient-id`, a `Patient/{id}`
/// path, or a `patient=` / `subject=Patient/` query parameter.
pub fn patient_id<'a>(req: &MatchInput<'a>, query: Option<&'a str>) -> Option<&'a str> {
    if let Some(v) = req
        .headers
        .get("x-patient-id")
        .and_then(|v| v.to_str().ok())
    {
        return Some(v);
    }
    let mut segs = req.path.split('/');
    while let Some(s) = segs.next() {
        if s == "Patient" {
            if let Some(id) = segs
                .next()
                .filter(|id| !id.is_empty() && !id.starts_with('$') && !id.starts_with('_'))
            {
                return Some(id);
            }
        }
    }
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        match k {
            "patient" => Some(v.strip_prefix("Patient/").unwrap_or(v)),
            "subject" => v
                .strip_prefix("Patient/")
                .or_else(|| v.strip_prefix("Patient%2F")),
            _ => None,
        }
    })
}

/// The other arm of a decision's route and its backend: where failover may
/// send the request. `None` when the route has no canary, or when a pin
/// chose the arm: a pin is an operator's explicit choice for a tenant
/// ("this clinic stays on stable", "this clinic is on the new system"), and
/// serving the tenant from the arm the operator kept it away from could
/// show it data from the wrong system; a pinned tenant gets 503 while its
/// arm is down, as without failover, and the operator moves the pin.
pub fn other_arm(route: &CompiledRoute, decision: &Decision) -> Option<(Arm, BackendIdx)> {
    if decision.rule == Rule::Pinned {
        return None;
    }
    let canary = route.canary?;
    match decision.arm {
        Arm::Stable => Some((Arm::Canary, canary)),
        Arm::Canary => Some((Arm::Stable, route.stable)),
    }
}

/// `decision` moved to `arm` of its route (the rule is kept, so the log
/// still says why the first arm was chosen). `None` without a canary.
pub fn with_arm(route: &CompiledRoute, decision: Decision, arm: Arm) -> Option<Decision> {
    let backend = match arm {
        Arm::Stable => route.stable,
        Arm::Canary => route.canary?,
    };
    Some(Decision {
        arm,
        backend,
        ..decision
    })
}

/// The `from->to` label of a failover move (a fixed word: logs, headers,
/// metrics); here, beside [`Arm`], so telemetry reads it without the proxy.
pub fn failover_label(from: Arm, to: Arm) -> &'static str {
    match (from, to) {
        (Arm::Canary, Arm::Stable) => "canary->stable",
        (Arm::Stable, Arm::Canary) => "stable->canary",
        (Arm::Stable, Arm::Stable) => "stable->stable",
        (Arm::Canary, Arm::Canary) => "canary->canary",
    }
}

/// The arms of a `from->to` label (for the metric's labels).
pub fn failover_arms(label: &str) -> (&'static str, &'static str) {
    match label {
        "canary->stable" => ("canary", "stable"),
        "stable->canary" => ("stable", "canary"),
        "stable->stable" => ("stable", "stable"),
        _ => ("canary", "canary"),
    }
}
