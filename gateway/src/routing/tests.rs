//! Unit tests of the routing core: tenant resolution, matching, `decide`,
//! weights, overrides, pins, isolation and monotonic stickiness.

use std::path::Path;

use http::{HeaderMap, Method};

use super::bucket::WeightBp;
use super::decision::{decide, Arm, Decision, Reject, Rule, StickySource};
use super::flags::FlagContext;
use super::route_match::MatchInput;
use super::table::{Overrides, RoutingTable};
use super::tenant::{TenantError, TenantInput};
use crate::config::load_str;
use crate::config::model::PinConfig;

const CONFIG: &str = r#"
[[listener]]
bind = "127.0.0.1:0"

[[backend]]
name = "legacy"
url = "http://127.0.0.1:9001"
kind = "fhir"

[[backend]]
name = "new"
url = "http://127.0.0.1:9002"
kind = "fhir"

[[backend]]
name = "b-only"
url = "http://127.0.0.1:9003"
kind = "http"

[tenancy]
resolve = ["header", "host", "path"]

[[tenant]]
id = "acme"
hosts = ["acme.ehr.example"]

[[tenant]]
id = "globex"
path_prefix = "/t/globex"

[[tenant]]
id = "initech"

[[route]]
id = "b-private"
path_prefix = "/private"
tenants = ["globex"]
stable = "b-only"

[[route]]
id = "patients"
path_prefix = "/fhir"
resource_types = ["Patient"]
methods = ["GET"]
stable = "legacy"
canary = "new"
weight = 25
sticky = "patient"
[route.tenant_overrides.acme]
pin = "canary"
[route.tenant_overrides.initech]
weight = 100

[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "legacy"
canary = "new"
weight = 0
"#;

fn table(overrides: &Overrides) -> RoutingTable {
    let loaded = load_str(CONFIG, Path::new("t.toml")).unwrap();
    RoutingTable::build(&loaded, overrides, 1).unwrap()
}

fn run(
    table: &RoutingTable,
    tenant: &str,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Result<Decision, Reject> {
    let t = table.tenants().by_id(tenant).unwrap();
    let (path, query) = path
        .split_once('?')
        .map_or((path, None), |(p, q)| (p, Some(q)));
    let input = MatchInput {
        method,
        path,
        headers,
        tenant: t.idx,
        flags: FlagContext {
            tenant: &t.id,
            user: None,
            roles: &[],
            headers,
        },
    };
    decide(
        table,
        &input,
        &StickySource {
            request_id: "rid",
            user: None,
            query,
        },
    )
}

fn route_id(table: &RoutingTable, d: &Decision) -> String {
    table.route(d.route).unwrap().id.to_string()
}

fn input<'a>(h: &'a HeaderMap, host: Option<&'a str>, path: &'a str) -> TenantInput<'a> {
    TenantInput {
        headers: h,
        host,
        path,
        jwt_tenant: None,
    }
}

#[test]
fn tenant_from_header_host_and_path_in_order() {
    let t = table(&Overrides::default());
    let mut h = HeaderMap::new();
    assert_eq!(
        t.tenants().resolve(&input(&h, None, "/x")).unwrap_err(),
        TenantError::Missing
    );
    let r = t
        .tenants()
        .resolve(&input(&h, Some("ACME.ehr.example"), "/x"))
        .unwrap();
    assert_eq!(&*r.tenant.id, "acme");
    let r = t
        .tenants()
        .resolve(&input(&h, None, "/t/globex/fhir/Patient"))
        .unwrap();
    assert_eq!((&*r.tenant.id, r.prefix_len), ("globex", 9));
    assert!(t
        .tenants()
        .resolve(&input(&h, None, "/t/globexx/fhir"))
        .is_err());
    h.insert("x-tenant-id", "initech".parse().unwrap());
    let r = t
        .tenants()
        .resolve(&input(&h, Some("acme.ehr.example"), "/x"))
        .unwrap();
    assert_eq!(&*r.tenant.id, "initech", "header comes first in the order");
    h.insert("x-tenant-id", "nobody".parse().unwrap());
    assert_eq!(
        t.tenants()
            .resolve(&input(&h, Some("acme.ehr.example"), "/x"))
            .unwrap_err(),
        TenantError::Unknown,
        "an unknown id is refused, not passed to the next source"
    );
}

#[test]
fn tenant_cannot_reach_another_tenants_backend() {
    let t = table(&Overrides::default());
    let h = HeaderMap::new();
    let d = run(&t, "globex", &Method::GET, "/private/x", &h).unwrap();
    assert_eq!(&*t.backends()[usize::from(d.backend)].name, "b-only");
    for tenant in ["acme", "initech"] {
        assert_eq!(
            run(&t, tenant, &Method::GET, "/private/x", &h),
            Err(Reject::NoRoute)
        );
        for path in [
            "/private",
            "/private/",
            "/fhir/Patient/1",
            "/fhir/Observation",
            "/",
        ] {
            if let Ok(d) = run(&t, tenant, &Method::GET, path, &h) {
                assert_ne!(
                    &*t.backends()[usize::from(d.backend)].name,
                    "b-only",
                    "{tenant} {path}"
                );
            }
        }
    }
}

#[test]
fn matching_by_resource_type_and_method() {
    let t = table(&Overrides::default());
    let h = HeaderMap::new();
    let d = run(&t, "globex", &Method::GET, "/fhir/Patient/7", &h).unwrap();
    assert_eq!(route_id(&t, &d), "patients");
    let d = run(&t, "globex", &Method::POST, "/fhir/Patient", &h).unwrap();
    assert_eq!(
        route_id(&t, &d),
        "fhir",
        "POST is not on the patients route"
    );
    let d = run(&t, "globex", &Method::GET, "/fhir/Observation", &h).unwrap();
    assert_eq!((route_id(&t, &d).as_str(), d.arm), ("fhir", Arm::Stable));
    assert_eq!(
        run(&t, "globex", &Method::GET, "/other", &h),
        Err(Reject::NoRoute)
    );
}

#[test]
fn pins_and_tenant_weights_win_over_route_weight() {
    let t = table(&Overrides::default());
    let h = HeaderMap::new();
    for i in 0..200 {
        let path = format!("/fhir/Patient/p{i}");
        let d = run(&t, "acme", &Method::GET, &path, &h).unwrap();
        assert_eq!((d.arm, d.rule), (Arm::Canary, Rule::Pinned));
        let d = run(&t, "initech", &Method::GET, &path, &h).unwrap();
        assert_eq!(d.arm, Arm::Canary);
        assert!(matches!(d.rule, Rule::TenantWeight { .. }));
    }
    let pinned_stable = Overrides {
        pins: [(
            ("patients".to_string(), "acme".to_string()),
            Some(PinConfig::Stable),
        )]
        .into(),
        ..Overrides::default()
    };
    let t = table(&pinned_stable);
    let d = run(&t, "acme", &Method::GET, "/fhir/Patient/1", &h).unwrap();
    assert_eq!((d.arm, d.rule), (Arm::Stable, Rule::Pinned));
}

/// 10,000 patients on weights 0, 25 and 100: the canary share is within
/// five standard deviations of the weight (binomial, p = 0.25: sd = 0.43 %).
#[test]
fn weights_split_patients_within_bounds() {
    let h = HeaderMap::new();
    for (weight, lo, hi) in [
        (0u32, 0usize, 0usize),
        (2500, 2284, 2716),
        (10_000, 10_000, 10_000),
    ] {
        let o = Overrides {
            route_weights: [("patients".to_string(), WeightBp::from_bp(weight))].into(),
            ..Overrides::default()
        };
        let t = table(&o);
        let canary = (0..10_000)
            .filter(|i| {
                run(
                    &t,
                    "globex",
                    &Method::GET,
                    &format!("/fhir/Patient/p{i}"),
                    &h,
                )
                .unwrap()
                .arm == Arm::Canary
            })
            .count();
        assert!(
            (lo..=hi).contains(&canary),
            "weight {weight}: {canary} canary"
        );
    }
}

/// Raising the weight moves only stable keys to canary; lowering moves
/// only canary keys back; the patient key comes from path, query or header.
#[test]
fn stickiness_is_monotonic_across_weight_changes() {
    let h = HeaderMap::new();
    let arms = |bp: u32| -> Vec<Arm> {
        let o = Overrides {
            route_weights: [("patients".to_string(), WeightBp::from_bp(bp))].into(),
            ..Overrides::default()
        };
        let t = table(&o);
        (0..2000)
            .map(|i| {
                run(
                    &t,
                    "globex",
                    &Method::GET,
                    &format!("/fhir/Patient/p{i}"),
                    &h,
                )
                .unwrap()
                .arm
            })
            .collect()
    };
    let steps = [0, 100, 1000, 2500, 2400, 5000, 9999, 10_000, 500];
    let mut prev = arms(steps[0]);
    for w in steps.windows(2) {
        let next = arms(w[1]);
        for (a, b) in prev.iter().zip(&next) {
            if w[1] >= w[0] {
                assert!(
                    !(*a == Arm::Canary && *b == Arm::Stable),
                    "raise {w:?} moved a key back"
                );
            } else {
                assert!(
                    !(*a == Arm::Stable && *b == Arm::Canary),
                    "lower {w:?} moved a key forward"
                );
            }
        }
        prev = next;
    }
    let t = table(&Overrides::default());
    let by_path = run(&t, "globex", &Method::GET, "/fhir/Patient/p42", &h).unwrap();
    let by_query = run(&t, "globex", &Method::GET, "/fhir/Patient?patient=p42", &h).unwrap();
    let mut with_header = HeaderMap::new();
    with_header.insert("x-patient-id", "p42".parse().unwrap());
    let by_header = run(&t, "globex", &Method::GET, "/fhir/Patient", &with_header).unwrap();
    assert_eq!(by_path.rule, by_query.rule);
    assert_eq!(by_path.rule, by_header.rule);
}

#[test]
fn table_rebuild_keeps_revision_and_overrides() {
    let o = Overrides {
        tenant_weights: [(
            ("patients".to_string(), "globex".to_string()),
            WeightBp::FULL,
        )]
        .into(),
        ..Overrides::default()
    };
    let loaded = load_str(CONFIG, Path::new("t.toml")).unwrap();
    let t = RoutingTable::build(&loaded, &o, 7).unwrap();
    assert_eq!(t.revision(), 7);
    let d = run(
        &t,
        "globex",
        &Method::GET,
        "/fhir/Patient/1",
        &HeaderMap::new(),
    )
    .unwrap();
    assert_eq!(d.arm, Arm::Canary);
}
