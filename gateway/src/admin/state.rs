//! The release state: every run-time change the admin API has made
//! (weights global and per tenant, pins, flag switches), as plain data that
//! is persisted, diffed for the history and turned into routing
//! [`Overrides`]. It is kept apart from the config file so a reload of the
//! file keeps the release manager's changes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::model::PinConfig;
use crate::routing::bucket::WeightBp;
use crate::routing::Overrides;

/// A pin set through the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinChoice {
    /// Always the stable backend.
    Stable,
    /// Always the canary backend.
    Canary,
    /// No pin (also lifts a pin the config file sets).
    None,
}

impl PinChoice {
    /// The routing form (`None` = no pin).
    pub fn to_pin(self) -> Option<PinConfig> {
        match self {
            PinChoice::Stable => Some(PinConfig::Stable),
            PinChoice::Canary => Some(PinConfig::Canary),
            PinChoice::None => None,
        }
    }

    /// `stable`, `canary` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            PinChoice::Stable => "stable",
            PinChoice::Canary => "canary",
            PinChoice::None => "none",
        }
    }
}

/// Everything changed at run time, keyed by config names. Sorted maps so
/// the persisted file and the history diff are stable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseState {
    /// Canary weight in percent by route.
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
    /// Canary weight in percent by route, then tenant.
    #[serde(default)]
    pub tenant_weights: BTreeMap<String, BTreeMap<String, f64>>,
    /// Pins by route, then tenant.
    #[serde(default)]
    pub pins: BTreeMap<String, BTreeMap<String, PinChoice>>,
    /// Flags switched on (`true`) or off for every request.
    #[serde(default)]
    pub flags: BTreeMap<String, bool>,
}

// === impl ReleaseState ===

impl ReleaseState {
    /// Writes this state into routing overrides (keeping a replacement
    /// flag set someone else may have put there).
    pub fn write_overrides(&self, o: &mut Overrides) {
        o.route_weights = self
            .weights
            .iter()
            .map(|(r, w)| (r.clone(), WeightBp::from_percent(*w)))
            .collect();
        o.tenant_weights = self
            .tenant_weights
            .iter()
            .flat_map(|(r, ts)| {
                ts.iter()
                    .map(move |(t, w)| ((r.clone(), t.clone()), WeightBp::from_percent(*w)))
            })
            .collect();
        o.pins = self
            .pins
            .iter()
            .flat_map(|(r, ts)| {
                ts.iter()
                    .map(move |(t, p)| ((r.clone(), t.clone()), p.to_pin()))
            })
            .collect();
        o.flag_switches = self.flags.iter().map(|(k, v)| (k.clone(), *v)).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_json_exactly() {
        let mut s = ReleaseState::default();
        s.weights.insert("fhir".into(), 12.5);
        s.tenant_weights
            .entry("fhir".into())
            .or_default()
            .insert("acme".into(), 0.01);
        s.pins
            .entry("fhir".into())
            .or_default()
            .insert("beta".into(), PinChoice::None);
        s.flags.insert("new-ui".into(), true);
        let text = serde_json::to_string(&s).unwrap();
        let back: ReleaseState = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
        let mut o = Overrides::default();
        back.write_overrides(&mut o);
        assert_eq!(o.route_weights["fhir"], WeightBp::from_bp(1250));
        assert_eq!(
            o.tenant_weights[&("fhir".to_string(), "acme".to_string())],
            WeightBp::from_bp(1)
        );
        assert_eq!(o.pins[&("fhir".to_string(), "beta".to_string())], None);
        assert!(o.flag_switches["new-ui"]);
    }
}
