//! Writes that stored less than the client sent. Under the default
//! `unmapped_elements = "warn"` the facade stores what the template holds
//! and says what it left out: as warning issues of an OperationOutcome
//! (the body of a create/update asked with `Prefer: return=OperationOutcome`,
//! and `response.outcome` of each transaction entry), and as a count in
//! the log. Locations are FHIR paths; values never appear.

use ehrgate_mappers::translation::Unmapped;
use serde_json::{json, Value};

use crate::outcome::CODE_SYSTEM;

/// Our code on each warning.
const CODE: &str = "facade.element-not-stored";

/// The OperationOutcome for a write that left out `unmapped` (an
/// information issue when it left out nothing: FHIR wants at least one).
pub fn outcome(unmapped: &[Unmapped]) -> Value {
    let issues: Vec<Value> = if unmapped.is_empty() {
        vec![json!({
            "severity": "information",
            "code": "informational",
            "diagnostics": "every element of the resource is stored",
        })]
    } else {
        unmapped
            .iter()
            .map(|u| {
                json!({
                    "severity": "warning",
                    "code": "not-supported",
                    "details": { "coding": [ { "system": CODE_SYSTEM, "code": CODE } ] },
                    "diagnostics": format!("not stored: the template cannot hold this element ({})", u.reason),
                    "expression": [u.location],
                })
            })
            .collect()
    };
    json!({ "resourceType": "OperationOutcome", "issue": issues })
}

/// Logs how many elements a write left out (a count, the type and the
/// template: no paths, no values).
pub fn log(resource_type: &str, template: &str, unmapped: &[Unmapped]) {
    if !unmapped.is_empty() {
        tracing::info!(
            target: "ehrgate::facade",
            resource_type,
            template,
            not_stored = unmapped.len(),
            "stored without elements the template cannot hold"
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn each_left_out_element_is_a_warning_at_its_path() {
        let o = outcome(&[Unmapped {
            location: "Immunization.lotNumber".into(),
            reason: "no mapping".into(),
        }]);
        assert_eq!(o["issue"][0]["severity"], "warning");
        assert_eq!(o["issue"][0]["expression"][0], "Immunization.lotNumber");
        assert_eq!(o["issue"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn nothing_left_out_is_one_information_issue() {
        let o = outcome(&[]);
        assert_eq!(o["issue"][0]["severity"], "information");
    }
}
