//! The canary split: one rule, one implementation, for HTTP routes
//! ([`super::decision::decide`]) and MLLP feed routes
//! (`mllp::routes::FeedRoute::arm`).
//!
//! The rule, in order:
//! 1. A route without a canary: stable ([`Rule::NoCanary`]).
//! 2. A tenant pinned on the route (config or admin override): the pinned
//!    arm ([`Rule::Pinned`]).
//! 3. Otherwise the sticky key, hashed with the route id ([`bucket_v1`]),
//!    against the weight in force: the tenant's own weight on the route
//!    ([`Rule::TenantWeight`]), else the route's ([`Rule::RouteWeight`]);
//!    the canary when the bucket is below the weight.
//!
//! The sticky key is the route's: on HTTP what `sticky` names (user,
//! patient, header, request id), on MLLP the patient's PID-3. **A request
//! or message without one is keyed on its tenant id.** Why the tenant and
//! not the stable arm (what MLLP did before, while HTTP used the tenant):
//! the assignment stays sticky (every key-less request of a tenant goes to
//! the same arm at a given weight), and a weight of 100 % moves everything,
//! so a cutover finishes; with "stable without a key", key-less messages
//! (a master-file update, a message whose PID-3 is empty) would stay on the
//! legacy backend at 100 % for ever. At 0 % nothing moves either way.
//!
//! Pure: no I/O, no clock, no randomness, so both protocols' decisions can
//! be replayed from their access logs.

use super::bucket::{bucket_v1, WeightBp};
use crate::config::model::PinConfig;

/// Which side of the split serves a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arm {
    /// The legacy backend.
    Stable,
    /// The new backend.
    Canary,
}

impl Arm {
    /// `stable` or `canary`, for headers, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Arm::Stable => "stable",
            Arm::Canary => "canary",
        }
    }
}

/// The rule that chose the arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The route has no canary.
    NoCanary,
    /// The tenant is pinned to an arm on this route.
    Pinned,
    /// The tenant's own weight on this route decided.
    TenantWeight {
        /// The key's bucket.
        bucket: u16,
        /// The weight in force.
        weight: WeightBp,
    },
    /// The route's weight decided.
    RouteWeight {
        /// The key's bucket.
        bucket: u16,
        /// The weight in force.
        weight: WeightBp,
    },
}

impl Rule {
    /// A short name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::NoCanary => "no-canary",
            Rule::Pinned => "pinned",
            Rule::TenantWeight { .. } => "tenant-weight",
            Rule::RouteWeight { .. } => "route-weight",
        }
    }
}

/// What the split of one request needs to know of its route and tenant.
#[derive(Debug, Clone, Copy)]
pub struct Split<'a> {
    /// The route id (the hash's salt: routes split independently).
    pub route_id: &'a str,
    /// Whether the route has a canary arm.
    pub has_canary: bool,
    /// The tenant's pin on the route, if any.
    pub pin: Option<PinConfig>,
    /// The route's weight.
    pub route_weight: WeightBp,
    /// The tenant's own weight on the route, if any.
    pub tenant_weight: Option<WeightBp>,
    /// The tenant id (the key when the request has none).
    pub tenant: &'a str,
}

/// The arm a split chose, why, and whether the request's own key decided
/// (`false`: it had none, the tenant id was hashed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chosen {
    /// The arm.
    pub arm: Arm,
    /// The rule.
    pub rule: Rule,
    /// The request's own sticky key was hashed (not the tenant's).
    pub keyed: bool,
}

// === impl Chosen ===

impl Chosen {
    /// The arm and the rule.
    pub fn arm_and_rule(self) -> (Arm, Rule) {
        (self.arm, self.rule)
    }
}

/// Splits one request. `key` gives its sticky key; it is asked only when
/// the weight decides (a route without a canary, or a pin, costs no key),
/// and an empty key counts as none.
pub fn split<K: AsRef<str>>(s: &Split<'_>, key: impl FnOnce() -> Option<K>) -> Chosen {
    let fixed = |arm, rule| Chosen {
        arm,
        rule,
        keyed: false,
    };
    if !s.has_canary {
        return fixed(Arm::Stable, Rule::NoCanary);
    }
    match s.pin {
        Some(PinConfig::Stable) => return fixed(Arm::Stable, Rule::Pinned),
        Some(PinConfig::Canary) => return fixed(Arm::Canary, Rule::Pinned),
        None => {}
    }
    let own = key();
    let own = own.as_ref().map(AsRef::as_ref).filter(|k| !k.is_empty());
    let bucket = bucket_v1(s.route_id, own.unwrap_or(s.tenant).as_bytes());
    let (weight, rule) = match s.tenant_weight {
        Some(weight) => (weight, Rule::TenantWeight { bucket, weight }),
        None => (
            s.route_weight,
            Rule::RouteWeight {
                bucket,
                weight: s.route_weight,
            },
        ),
    };
    let arm = if weight.is_canary(bucket) {
        Arm::Canary
    } else {
        Arm::Stable
    };
    Chosen {
        arm,
        rule,
        keyed: own.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(percent: f64) -> Split<'static> {
        Split {
            route_id: "r",
            has_canary: true,
            pin: None,
            route_weight: WeightBp::from_percent(percent),
            tenant_weight: None,
            tenant: "acme",
        }
    }

    #[test]
    fn no_canary_and_pins_come_first_and_ask_for_no_key() {
        let never = || -> Option<&str> { panic!("the key was asked for") };
        let s = Split {
            has_canary: false,
            ..at(100.0)
        };
        assert_eq!(
            split(&s, never).arm_and_rule(),
            (Arm::Stable, Rule::NoCanary)
        );
        for (pin, arm) in [
            (PinConfig::Stable, Arm::Stable),
            (PinConfig::Canary, Arm::Canary),
        ] {
            let s = Split {
                pin: Some(pin),
                ..at(50.0)
            };
            assert_eq!(split(&s, never).arm_and_rule(), (arm, Rule::Pinned));
        }
    }

    #[test]
    fn a_missing_or_empty_key_is_the_tenant() {
        let s = at(50.0);
        let tenant = split(&s, || Some("acme"));
        for none in [split(&s, || None::<&str>), split(&s, || Some(""))] {
            assert_eq!((none.arm, none.rule), (tenant.arm, tenant.rule));
            assert!(!none.keyed);
        }
        assert!(tenant.keyed);
        // At 100 % every key-less request moves; at 0 % none does.
        assert_eq!(split(&at(100.0), || None::<&str>).arm, Arm::Canary);
        assert_eq!(split(&at(0.0), || None::<&str>).arm, Arm::Stable);
    }

    #[test]
    fn the_tenant_weight_wins_over_the_route_weight() {
        let s = Split {
            tenant_weight: Some(WeightBp::ZERO),
            ..at(100.0)
        };
        let c = split(&s, || Some("p1"));
        assert_eq!(c.arm, Arm::Stable);
        assert!(matches!(c.rule, Rule::TenantWeight { .. }));
        assert!(matches!(
            split(&at(100.0), || Some("p1")).rule,
            Rule::RouteWeight { .. }
        ));
    }

    #[test]
    fn keys_spread_by_the_weight() {
        let s = at(30.0);
        let canary = (0..2000)
            .filter(|i| split(&s, || Some(format!("p{i}"))).arm == Arm::Canary)
            .count();
        assert!((500..700).contains(&canary), "{canary} of 2000 at 30 %");
    }
}
