//! Feed routes: the first `[[mllp_route]]` whose message types and tenants
//! match picks the destinations, and the sticky canary split by patient
//! chooses the arm.
//!
//! The split is the HTTP routes' own ([`crate::routing::split`]: one rule,
//! one implementation) keyed on the route id and the patient's PID-3
//! identifier, so at a given weight every message of one patient goes to
//! the same side and no patient's record is split between backends. A
//! message without PID-3 is keyed on its tenant, as a key-less HTTP request
//! is (it went to the stable arm before, whatever the weight).
//!
//! Run-time overrides from the admin API (`Shared::update_overrides`) apply
//! to a feed route whose id matches the overridden route's: the route
//! weight, a tenant's weight, and a tenant's pin to one arm (a pin wins over
//! the patient split, for every patient of that tenant).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ehrgate_mappers::hl7v2::Message;

use crate::config::model::PinConfig;
use crate::config::model_mllp::{MllpRouteConfig, UnstorablePolicy};
use crate::routing::bucket::WeightBp;
use crate::routing::split::{split, Arm, Rule, Split};
use crate::routing::Overrides;

/// A message-type pattern: `ADT`, `ADT^A01` or `ADT^*`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TypePattern {
    code: String,
    trigger: Option<String>,
}

/// One route at run time.
#[derive(Debug)]
pub struct FeedRoute {
    /// The route id (metrics, hash key).
    pub id: Arc<str>,
    types: Vec<TypePattern>,
    tenants: Option<HashSet<String>>,
    /// Stable destination backend name.
    pub stable: Arc<str>,
    /// Canary destination backend name.
    pub canary: Option<Arc<str>>,
    /// Canary share.
    pub weight: WeightBp,
    /// What an openEHR destination does with resources no template takes.
    pub unstorable: UnstorablePolicy,
    /// Canary share per tenant (admin overrides).
    tenant_weights: HashMap<String, WeightBp>,
    /// Arm pins per tenant (admin overrides).
    pins: HashMap<String, PinConfig>,
}

/// Why an arm was chosen, for the access log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArmRule {
    /// No canary on the route.
    NoCanary,
    /// The message has no PID-3: its tenant was hashed (the one split
    /// rule, [`crate::routing::split`]).
    NoPatient,
    /// The patient's bucket against the weight.
    Patient,
    /// The tenant is pinned to an arm.
    Pinned,
}

impl ArmRule {
    /// For logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ArmRule::NoCanary => "no-canary",
            ArmRule::NoPatient => "no-patient",
            ArmRule::Patient => "patient",
            ArmRule::Pinned => "pinned",
        }
    }
}

// === impl FeedRoute ===

impl FeedRoute {
    /// Builds a route (validation already checked the patterns) with the
    /// overrides naming its id.
    pub fn new(c: &MllpRouteConfig, overrides: &Overrides) -> FeedRoute {
        let id = c.id.get_ref().as_str();
        let tenant_weights = overrides
            .tenant_weights
            .iter()
            .filter(|((r, _), _)| r == id)
            .map(|((_, t), w)| (t.clone(), *w))
            .collect();
        let pins = overrides
            .pins
            .iter()
            .filter(|((r, _), _)| r == id)
            .filter_map(|((_, t), p)| Some((t.clone(), (*p)?)))
            .collect();
        FeedRoute {
            id: Arc::from(c.id.get_ref().as_str()),
            types: c
                .message_types
                .iter()
                .map(|t| {
                    let t = t.get_ref();
                    let (code, trigger) = match t.split_once('^') {
                        Some((c, "*")) => (c, None),
                        Some((c, tr)) => (c, Some(tr.to_string())),
                        None => (t.as_str(), None),
                    };
                    TypePattern {
                        code: code.to_string(),
                        trigger,
                    }
                })
                .collect(),
            tenants: c
                .tenants
                .as_ref()
                .map(|ts| ts.iter().map(|t| t.get_ref().clone()).collect()),
            stable: Arc::from(c.stable.get_ref().as_str()),
            canary: c.canary.as_ref().map(|b| Arc::from(b.get_ref().as_str())),
            weight: overrides.route_weights.get(id).copied().unwrap_or_else(|| {
                c.weight
                    .as_ref()
                    .map_or(WeightBp::ZERO, |w| WeightBp::from_percent(*w.get_ref()))
            }),
            tenant_weights,
            pins,
            unstorable: c.unstorable_policy(),
        }
    }

    fn matches(&self, code: &str, trigger: &str, tenant: &str) -> bool {
        let type_ok = self.types.is_empty()
            || self
                .types
                .iter()
                .any(|p| p.code == code && p.trigger.as_deref().is_none_or(|t| t == trigger));
        type_ok && self.tenants.as_ref().is_none_or(|ts| ts.contains(tenant))
    }

    /// The arm for a message of `tenant`, and the backend it names.
    pub fn arm(&self, msg: &Message<'_>, tenant: &str) -> (Arm, ArmRule, &Arc<str>) {
        let chosen = split(
            &Split {
                route_id: &self.id,
                has_canary: self.canary.is_some(),
                pin: self.pins.get(tenant).copied(),
                route_weight: self.weight,
                tenant_weight: self.tenant_weights.get(tenant).copied(),
                tenant,
            },
            || patient_key(msg),
        );
        let rule = match chosen.rule {
            Rule::NoCanary => ArmRule::NoCanary,
            Rule::Pinned => ArmRule::Pinned,
            Rule::TenantWeight { .. } | Rule::RouteWeight { .. } if chosen.keyed => {
                ArmRule::Patient
            }
            Rule::TenantWeight { .. } | Rule::RouteWeight { .. } => ArmRule::NoPatient,
        };
        match (chosen.arm, &self.canary) {
            (Arm::Canary, Some(canary)) => (Arm::Canary, rule, canary),
            _ => (Arm::Stable, rule, &self.stable),
        }
    }
}

/// The sticky key: PID-3's first identifier (CX-1) with its assigning
/// authority (CX-4, first sub-component), decoded so escapes and
/// delimiters chosen by different senders give the same key.
pub fn patient_key(msg: &Message<'_>) -> Option<String> {
    let cx = msg.segment("PID")?.field(3).repetition(1);
    let id = cx.component(1).text();
    if id.trim().is_empty() {
        return None;
    }
    let authority = cx.component(4).subcomponent(1).text();
    Some(format!("{id}\u{1f}{authority}"))
}

/// All routes, in file order.
#[derive(Debug, Default)]
pub struct FeedRoutes {
    routes: Vec<FeedRoute>,
}

// === impl FeedRoutes ===

impl FeedRoutes {
    /// Builds the table with the run-time overrides.
    pub fn new(routes: &[MllpRouteConfig], overrides: &Overrides) -> FeedRoutes {
        FeedRoutes {
            routes: routes
                .iter()
                .map(|r| FeedRoute::new(r, overrides))
                .collect(),
        }
    }

    /// The first route that matches.
    pub fn select(&self, code: &str, trigger: &str, tenant: &str) -> Option<&FeedRoute> {
        self.routes
            .iter()
            .find(|r| r.matches(code, trigger, tenant))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml::Spanned;

    fn sp<T>(v: T) -> Spanned<T> {
        Spanned::new(0..0, v)
    }

    fn route(id: &str, types: &[&str], tenants: Option<&[&str]>, weight: f64) -> MllpRouteConfig {
        MllpRouteConfig {
            id: sp(id.into()),
            message_types: types.iter().map(|t| sp(t.to_string())).collect(),
            tenants: tenants.map(|ts| ts.iter().map(|t| sp(t.to_string())).collect()),
            stable: sp("old".into()),
            canary: Some(sp("new".into())),
            weight: Some(sp(weight)),
            openehr_unstorable: None,
        }
    }

    #[test]
    fn first_matching_route_by_type_and_tenant() {
        let t = FeedRoutes::new(
            &[
                route("adt-a01", &["ADT^A01"], None, 0.0),
                route("adt", &["ADT^*"], Some(&["acme"]), 0.0),
                route("lab", &["ORU"], None, 0.0),
                route("any", &[], Some(&["beta"]), 0.0),
            ],
            &Overrides::default(),
        );
        let id = |c, tr, te| t.select(c, tr, te).map(|r| r.id.to_string());
        assert_eq!(id("ADT", "A01", "x").as_deref(), Some("adt-a01"));
        assert_eq!(id("ADT", "A08", "acme").as_deref(), Some("adt"));
        assert_eq!(id("ADT", "A08", "x"), None);
        assert_eq!(id("ORU", "R01", "x").as_deref(), Some("lab"));
        assert_eq!(id("VXU", "V04", "beta").as_deref(), Some("any"));
    }

    fn msg_for(pid3: &str) -> Vec<u8> {
        format!("MSH|^~\\&|A|F|R|RF|T||ADT^A01|1|P|2.5\rPID|1||{pid3}\r").into_bytes()
    }

    #[test]
    fn arm_is_sticky_per_patient_and_by_tenant_without_one() {
        let r = FeedRoute::new(&route("adt", &[], None, 50.0), &Overrides::default());
        let mut canary = 0;
        for i in 0..400 {
            let raw = msg_for(&format!("P{i}^^^HOSP&1.2&ISO^MR"));
            let m = Message::parse(&raw).unwrap();
            let (arm, rule, _) = r.arm(&m, "t");
            assert_eq!(rule, ArmRule::Patient);
            // Another message of the same patient, other delimiters' escape
            // and another repetition after it: same arm.
            let raw2 = msg_for(&format!("P{i}^^^HOSP&1.2&ISO^MR~X{i}^^^OTHER"));
            let m2 = Message::parse(&raw2).unwrap();
            assert_eq!(r.arm(&m2, "t").0, arm);
            if arm == Arm::Canary {
                canary += 1;
            }
        }
        assert!((150..250).contains(&canary), "{canary} of 400 at 50 %");
        let none = Message::parse(b"MSH|^~\\&|A|F|R|RF|T||ADT^A01|1|P|2.5\rPID|1\r").unwrap();
        assert_eq!(r.arm(&none, "t").1, ArmRule::NoPatient);
        // Issue 16: keyed on the tenant, as a key-less HTTP request is (it
        // went to the stable arm whatever the weight).
        let by_tenant =
            WeightBp::from_percent(50.0).is_canary(crate::routing::bucket::bucket_v1("adt", b"t"));
        let want = if by_tenant { Arm::Canary } else { Arm::Stable };
        assert_eq!(r.arm(&none, "t").0, want);
    }

    #[test]
    fn a_message_without_a_patient_moves_at_full_weight() {
        let none = Message::parse(b"MSH|^~\\&|A|F|R|RF|T||ADT^A01|1|P|2.5\rPID|1\r").unwrap();
        let at = |w| FeedRoute::new(&route("adt", &[], None, w), &Overrides::default());
        assert_eq!(at(100.0).arm(&none, "t").0, Arm::Canary);
        assert_eq!(at(0.0).arm(&none, "t").0, Arm::Stable);
    }

    /// The one split rule on both protocols: for the same route id, weight
    /// and tenant, a key-less HTTP request (`sticky = "patient"`, no
    /// patient in it) and a message without PID-3 land on the same arm
    /// (they disagreed: HTTP hashed the tenant, MLLP went to stable).
    #[test]
    fn http_and_mllp_split_alike() {
        use crate::routing::decision::{decide, StickySource};
        use crate::routing::flags::FlagContext;
        use crate::routing::route_match::MatchInput;
        use http::{HeaderMap, Method};

        let tenants: Vec<String> = (0..24).map(|i| format!("t{i}")).collect();
        let mut toml = String::from(
            "[[listener]]\nbind = \"127.0.0.1:0\"\n\
             [[backend]]\nname = \"old\"\nurl = \"http://127.0.0.1:21002\"\nkind = \"fhir\"\n\
             [[backend]]\nname = \"new\"\nurl = \"http://127.0.0.1:21003\"\nkind = \"fhir\"\n",
        );
        for t in &tenants {
            toml.push_str(&format!("[[tenant]]\nid = \"{t}\"\n"));
        }
        toml.push_str(
            "[[route]]\nid = \"adt\"\npath_prefix = \"/fhir\"\nstable = \"old\"\n\
             canary = \"new\"\nweight = 50\nsticky = \"patient\"\n",
        );
        let loaded = crate::config::load_str(&toml, std::path::Path::new("t.toml")).unwrap();
        let table = crate::routing::RoutingTable::build(&loaded, &Overrides::default(), 1).unwrap();
        let feed = FeedRoute::new(&route("adt", &[], None, 50.0), &Overrides::default());
        let http_arm = |tenant: &str| {
            let t = table.tenants().by_id(tenant).unwrap();
            let headers = HeaderMap::new();
            let input = MatchInput {
                method: &Method::GET,
                path: "/fhir/Observation",
                headers: &headers,
                tenant: t.idx,
                flags: FlagContext {
                    tenant: &t.id,
                    user: None,
                    roles: &[],
                    headers: &headers,
                },
            };
            let sticky = StickySource {
                request_id: "rid",
                user: None,
                query: None,
            };
            decide(&table, &input, &sticky).unwrap().arm
        };
        let none = Message::parse(b"MSH|^~\\&|A|F|R|RF|T||ADT^A01|1|P|2.5\rPID|1\r").unwrap();
        let mut seen = std::collections::HashSet::new();
        for t in &tenants {
            let arm = feed.arm(&none, t).0;
            assert_eq!(arm, http_arm(t), "tenant {t}, no key");
            seen.insert(arm);
        }
        assert_eq!(seen.len(), 2, "24 tenants at 50 % use both arms");
    }

    #[test]
    fn admin_overrides_with_the_same_route_id_apply() {
        let mut o = Overrides::default();
        o.route_weights
            .insert("adt".into(), WeightBp::from_percent(100.0));
        o.tenant_weights
            .insert(("adt".into(), "slow".into()), WeightBp::ZERO);
        o.pins
            .insert(("adt".into(), "pinned".into()), Some(PinConfig::Stable));
        o.pins
            .insert(("other".into(), "t".into()), Some(PinConfig::Stable));
        let r = FeedRoute::new(&route("adt", &[], None, 0.0), &o);
        let raw = msg_for("P1");
        let m = Message::parse(&raw).unwrap();
        assert_eq!(
            r.arm(&m, "t").0,
            Arm::Canary,
            "route weight 100 %, other route's pin ignored"
        );
        assert_eq!(r.arm(&m, "slow").0, Arm::Stable, "tenant weight 0 %");
        assert_eq!(
            (r.arm(&m, "pinned").0, r.arm(&m, "pinned").1),
            (Arm::Stable, ArmRule::Pinned)
        );
    }

    #[test]
    fn weight_zero_and_hundred() {
        let raw = msg_for("P1");
        let m = Message::parse(&raw).unwrap();
        assert_eq!(
            FeedRoute::new(&route("r", &[], None, 0.0), &Overrides::default())
                .arm(&m, "t")
                .0,
            Arm::Stable
        );
        assert_eq!(
            FeedRoute::new(&route("r", &[], None, 100.0), &Overrides::default())
                .arm(&m, "t")
                .0,
            Arm::Canary
        );
    }
}
