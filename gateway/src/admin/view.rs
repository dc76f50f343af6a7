//! The effective routing table as the admin API shows it: what every route
//! does right now (config plus run-time changes), which backends are
//! healthy, which flags are switched, and the revisions.

use serde_json::{json, Value};

use super::store::Stored;
use crate::runtime::state::Snapshot;

/// Renders the table of `snap` with the release state `stored`.
pub fn routing_view(snap: &Snapshot, stored: &Stored) -> Value {
    let table = &snap.table;
    let backend_name = |i: u16| {
        table
            .backends()
            .get(usize::from(i))
            .map(|b| b.name.to_string())
    };
    let tenants = table.tenants().tenants();
    let routes: Vec<Value> = table
        .routes()
        .iter()
        .map(|r| {
            let overrides: Vec<Value> = r
                .overrides
                .iter()
                .enumerate()
                .filter(|(_, o)| o.weight.is_some() || o.pin.is_some())
                .filter_map(|(i, o)| {
                    Some(json!({
                        "tenant": &*tenants.get(i)?.id,
                        "weight": o.weight.map(|w| f64::from(w.bp()) / 100.0),
                        "pin": o.pin.map(|p| match p {
                            crate::config::model::PinConfig::Stable => "stable",
                            crate::config::model::PinConfig::Canary => "canary",
                        }),
                    }))
                })
                .collect();
            let allowed: Option<Vec<&str>> = r.tenants.as_ref().map(|v| {
                v.iter()
                    .enumerate()
                    .filter(|(_, ok)| **ok)
                    .filter_map(|(i, _)| tenants.get(i).map(|t| &*t.id))
                    .collect()
            });
            json!({
                "id": &*r.id,
                "stable": backend_name(r.stable),
                "canary": r.canary.and_then(backend_name),
                "weight": f64::from(r.weight.bp()) / 100.0,
                "weight_source": if stored.state.weights.contains_key(&*r.id) { "admin" } else { "config" },
                "flag": r.flag.as_deref(),
                "tenants": allowed,
                "tenant_overrides": overrides,
            })
        })
        .collect();
    let backends: Vec<Value> = table
        .backends()
        .iter()
        .zip(&snap.backends)
        .map(|(b, backend)| {
            let u = &backend.upstream;
            json!({
                "name": &*b.name,
                "kind": format!("{:?}", b.kind).to_ascii_lowercase(),
                "healthy": u.health.is_healthy(),
                "available": u.health.available(),
            })
        })
        .collect();
    let mut flag_names: Vec<&str> = table.flags().names().collect();
    flag_names.sort_unstable();
    let flags: Vec<Value> = flag_names
        .into_iter()
        .map(|name| {
            json!({
                "name": name,
                "switch": table.flags().forced(name).map(|on| if on { "on" } else { "off" }),
            })
        })
        .collect();
    json!({
        "revision": stored.revision,
        "table_revision": table.revision(),
        "routes": routes,
        "backends": backends,
        "flags": flags,
        "state": stored.state,
    })
}
