//! Write placement (issue 26, item 7): read-your-writes across the arms of
//! a split. With `sticky = "patient"` a `POST /fhir/Patient` has no patient
//! id yet, so it hashes on the tenant and may land on the canary while the
//! next `GET Patient/{id}` hashes on the id and goes to stable: 404.
//!
//! A route says how writes are placed (`writes`):
//!
//! - `follow` (the default): writes go to the arm the split picks; when one
//!   creates a resource (2xx to a POST or PUT with a `Location` or
//!   `Content-Location` header; only the header is read, never the body),
//!   `Type/id -> arm` is recorded in a bounded [`PlacementStore`]. Later
//!   requests for that resource (`Type/id`, `Type/id/_history/...`, and for
//!   a Patient, searches with `patient=ID` or `subject=Patient/ID`) go to
//!   the recorded arm.
//! - `stable`: every write (any method that is not safe) goes to stable;
//!   the canary serves reads only, so nothing exists only on the canary.
//!
//! Limits, for a migration plan: the table is in memory, per process, and
//! bounded (`[server] placement_capacity`, least recently used forgotten
//! first). A forgotten entry (evicted, or lost by a restart) sends the
//! resource back to the arm its own id hashes to, which may not have it
//! (404) until the backends are synchronised; a fleet of gateways does not
//! share the table yet. The [`PlacementStore`] trait is the seam for a
//! shared store in the release state (etcd, a later issue), so every
//! gateway of a fleet sees every placement. A pin wins over a placement (an
//! operator's explicit choice), and failover may still move a placed
//! request when its arm is down (a read of a resource whose arm is down
//! cannot succeed there anyway).

use std::sync::Arc;

use http::Method;

use super::failover::is_safe;
use crate::config::model::WritePlacement;
use crate::routing::decision::{with_arm, Arm, Decision, Rule};
use crate::routing::route_match::CompiledRoute;
use crate::runtime::placements::{PlacementKey, PlacementStore};

/// What a write needs to record its resource once answered.
#[derive(Debug, Clone)]
pub struct Recorder {
    route: Arc<str>,
    tenant: Arc<str>,
}

// === impl Recorder ===

impl Recorder {
    /// Records the resource a response says was created (`location`: the
    /// `Location` or `Content-Location` value) on `arm`.
    pub fn created(&self, store: &dyn PlacementStore, arm: Arm, status: u16, location: &[u8]) {
        if !(200..300).contains(&status) {
            return;
        }
        let Some(resource) = std::str::from_utf8(location).ok().and_then(resource_in_url) else {
            return;
        };
        store.record(
            PlacementKey {
                route: self.route.clone(),
                tenant: self.tenant.clone(),
                resource: resource.into(),
            },
            arm,
        );
    }
}

/// Applies the route's write placement to a decision: `stable` sends
/// writes to stable, `follow` sends a request for a recorded resource to
/// its arm. Returns the decision and, for a write that may create a
/// resource on a `follow` route, the [`Recorder`] for its response.
pub fn place(
    store: &dyn PlacementStore,
    route: &CompiledRoute,
    decision: Decision,
    req: &Request<'_>,
) -> (Decision, Option<Recorder>) {
    if route.canary.is_none() || decision.rule == Rule::Pinned {
        return (decision, None);
    }
    match route.writes {
        WritePlacement::Stable => {
            let placed = if is_safe(req.method) {
                decision
            } else {
                with_arm(route, decision, Arm::Stable).unwrap_or(decision)
            };
            (placed, None)
        }
        WritePlacement::Follow => {
            let recorder =
                (*req.method == Method::POST || *req.method == Method::PUT).then(|| Recorder {
                    route: route.id.clone(),
                    tenant: req.tenant.clone(),
                });
            if store.never_recorded() {
                return (decision, recorder);
            }
            let rel = req.path.get(route.prefix.len()..).unwrap_or("");
            let resource = resource_in_path(rel).or_else(|| patient_in_query(req.query));
            let found = resource.and_then(|resource| {
                store.lookup(&PlacementKey {
                    route: route.id.clone(),
                    tenant: req.tenant.clone(),
                    resource: resource.into(),
                })
            });
            let placed = found
                .and_then(|arm| with_arm(route, decision, arm))
                .unwrap_or(decision);
            (placed, recorder)
        }
    }
}

/// The request as placement sees it.
#[derive(Debug)]
pub struct Request<'a> {
    /// The method.
    pub method: &'a Method,
    /// The path under the tenant prefix (the route's prefix included).
    pub path: &'a str,
    /// The query string.
    pub query: Option<&'a str>,
    /// The resolved tenant.
    pub tenant: &'a Arc<str>,
}

/// `Type/id` from a path relative to the route's prefix:
/// `/Patient/123`, `/Patient/123/_history/2`, `/Patient/123/$everything`.
fn resource_in_path(rel: &str) -> Option<String> {
    let mut segs = rel.trim_start_matches('/').split('/');
    let ty = segs.next()?;
    let id = segs.next()?;
    (is_type(ty) && is_id(id)).then(|| format!("{ty}/{id}"))
}

/// `Patient/ID` from a `patient=ID`, `patient=Patient/ID` or
/// `subject=Patient/ID` search parameter.
fn patient_in_query(query: Option<&str>) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        let id = match k {
            "patient" => v.strip_prefix("Patient/").unwrap_or(v),
            "subject" => v
                .strip_prefix("Patient/")
                .or_else(|| v.strip_prefix("Patient%2F"))?,
            _ => return None,
        };
        is_id(id).then(|| format!("Patient/{id}"))
    })
}

/// `Type/id` from a `Location` (absolute or relative URL): the pair before
/// `_history`, or the last two segments.
fn resource_in_url(url: &str) -> Option<String> {
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => url,
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let end = segs
        .iter()
        .position(|s| *s == "_history")
        .unwrap_or(segs.len());
    let ty = segs.get(end.checked_sub(2)?)?;
    let id = segs.get(end - 1)?;
    (is_type(ty) && is_id(id)).then(|| format!("{ty}/{id}"))
}

/// A FHIR resource type name: a capital, then letters, at most 64.
fn is_type(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
        && s.bytes().all(|b| b.is_ascii_alphabetic())
}

/// A FHIR id (`[A-Za-z0-9\-\.]{1,64}`).
fn is_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resource_is_read_from_locations_paths_and_queries() {
        let url = "http://new:8080/fhir/Patient/a1b2/_history/1";
        assert_eq!(resource_in_url(url).as_deref(), Some("Patient/a1b2"));
        assert_eq!(
            resource_in_url("Observation/o-9").as_deref(),
            Some("Observation/o-9")
        );
        assert_eq!(resource_in_url("/fhir/Patient/").as_deref(), None);
        assert_eq!(resource_in_url("http://h/x/../y").as_deref(), None);
        assert_eq!(
            resource_in_path("/Patient/7/_history/3").as_deref(),
            Some("Patient/7")
        );
        assert_eq!(resource_in_path("/Patient/_search"), None);
        assert_eq!(resource_in_path("/Patient"), None);
        assert_eq!(
            patient_in_query(Some("code=x&subject=Patient/7")).as_deref(),
            Some("Patient/7")
        );
        assert_eq!(
            patient_in_query(Some("patient=7")).as_deref(),
            Some("Patient/7")
        );
        assert_eq!(patient_in_query(Some("subject=Group/7")), None);
    }
}
