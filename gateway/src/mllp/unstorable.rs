//! Clinical resources an openEHR destination cannot store, and where in
//! the v2 message they came from.
//!
//! A route's `openehr_unstorable` policy decides what happens to them
//! ([`UnstorablePolicy`]): `refuse` refuses the whole message (nothing is
//! dropped silently), `warn` stores the rest and acknowledges with one ERR
//! segment of severity `W` per resource left out (HL7 v2 ch. 2: an `AA`
//! may carry ERR segments; table 0516 `W` is "transaction successful, but
//! there may be issues"). Either way nothing is silent: the ERR segments,
//! a counter per route, tenant and resource type, and a count in the
//! access-log line. None of them carries a field value.
//!
//! Whatever the policy, a resource stored without some of its elements
//! (the facade's `unmapped_elements = "warn"` names them per transaction
//! entry) gets an ERR of severity `W` too ([`Reason::PartlyStored`]), so the
//! sender learns that the record is not whole.
//!
//! [`UnstorablePolicy`]: crate::config::model_mllp::UnstorablePolicy

use std::collections::HashMap;

use ehrgate_mappers::hl7v2::Message;
use ehrgate_mappers::v2fhir::ids;

/// Why a resource cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// An Observation `partOf` an Immunization (a VXU's order OBX:
    /// funding, eligibility, the vaccine information statement): detail
    /// of the immunization (FHIR R4 `Immunization.fundingSource`,
    /// `programEligibility`, `education`) the immunisation template has no
    /// element for.
    ImmunizationDetail,
    /// The backend has no template for the resource type.
    NoTemplate,
    /// Templates exist for the type, but no mapping of them takes this
    /// resource (it holds nothing they map, an empty document say).
    NotMapped {
        /// The templates tried, comma-separated (config names).
        templates: String,
    },
    /// Stored, but without elements its template cannot hold (the
    /// facade's `unmapped_elements = "warn"`): not a resource left out,
    /// a resource stored in part.
    PartlyStored {
        /// How many elements were not stored.
        elements: usize,
        /// The first of them, as a FHIR path (no value).
        first: String,
    },
}

/// One clinical resource of the translated Bundle no template takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unstorable {
    /// FHIR resource type (`(untyped)` when the entry has none).
    pub resource_type: String,
    /// The entry's `fullUrl`, to find its v2 source.
    pub full_url: String,
    /// Why.
    pub reason: Reason,
}

/// What an openEHR delivery left out under the `warn` policy: the
/// resource, why, and its v2 source segment when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    /// FHIR resource type.
    pub resource_type: String,
    /// Why.
    pub reason: Reason,
    /// Segment name and its occurrence among segments of that name
    /// (`("OBX", 4)`), for ERR-2.
    pub source: Option<(String, usize)>,
}

/// What a delivery stored: everything, or everything but `left_out`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    /// Resources left out under the `warn` policy (empty otherwise).
    pub left_out: Vec<LeftOut>,
    /// Resources stored without some of their elements
    /// ([`Reason::PartlyStored`]), whatever the policy.
    pub partly: Vec<LeftOut>,
}

// === impl Unstorable ===

impl Unstorable {
    /// How the refusal names it (`Observation about an Immunization (...)`,
    /// `Specimen`): what `FeedError::NoTemplate` says it has no template for.
    pub fn describe(&self) -> String {
        match &self.reason {
            Reason::ImmunizationDetail => IMMUNIZATION_DETAIL.to_string(),
            Reason::NoTemplate => self.resource_type.clone(),
            Reason::NotMapped { templates } => format!(
                "{} (no mapping of the templates {templates} takes it)",
                self.resource_type
            ),
            Reason::PartlyStored { elements, .. } => format!(
                "{} (stored without {elements} element(s) its template cannot hold)",
                self.resource_type
            ),
        }
    }
}

/// What an Observation `partOf` an Immunization is called in refusals
/// and warnings.
pub const IMMUNIZATION_DETAIL: &str = "Observation about an Immunization (funding, eligibility or vaccine information statement: FHIR Immunization.fundingSource/programEligibility/education)";

// === impl LeftOut ===

impl LeftOut {
    /// ERR-8: the resource type and why, for a human; no field value.
    /// At most [`MAX_MESSAGE`] characters (ERR-8 is a TX of 250 in v2.5;
    /// a long template list is cut).
    pub fn message(&self, backend: &str) -> String {
        let why = match &self.reason {
            Reason::ImmunizationDetail => {
                "immunization detail (FHIR Immunization.fundingSource/programEligibility/education) no template holds".to_string()
            }
            Reason::NoTemplate => "no template for this resource type".to_string(),
            Reason::NotMapped { templates } => {
                format!("no mapping of templates {templates} takes it")
            }
            Reason::PartlyStored { elements, first } => {
                return cap(format!(
                    "{} stored in openEHR backend `{backend}` without {elements} element(s) its template cannot hold (first: {first})",
                    self.resource_type
                ));
            }
        };
        let full = format!(
            "{} not stored in openEHR backend `{backend}`: {why}; rest of message stored",
            self.resource_type
        );
        cap(full)
    }
}

/// `s` cut to [`MAX_MESSAGE`] characters.
fn cap(s: String) -> String {
    match s.char_indices().nth(MAX_MESSAGE) {
        Some((cut, _)) => s[..cut].to_string(),
        None => s,
    }
}

/// Longest ERR-8 written.
pub const MAX_MESSAGE: usize = 250;

/// The v2 source of each resource in `items`, in order, when the v2 ->
/// FHIR mapping named it by its position.
///
/// The mapping gives a resource built from one segment (an OBX's
/// Observation, an ED/RP OBX's DocumentReference, an SPM's Specimen, a
/// TXA's document) a `urn:uuid:` derived from the sending facility and
/// application, the control id, the resource type and the segment's
/// position ([`ids::digest`]), so the same message always gives the same
/// ids. The candidates are computed here for each segment and the types
/// asked about; a resource named by a business identifier (or after a
/// change of the mapping's scheme) has no match and goes without a
/// location, which ERR-2 allows.
pub fn locate(msg: &Message<'_>, items: &[Unstorable]) -> Vec<Option<(String, usize)>> {
    if items.is_empty() {
        return Vec::new();
    }
    let text = |path: &str| {
        msg.get(path)
            .ok()
            .flatten()
            .map(|v| v.text().into_owned())
            .unwrap_or_default()
    };
    let sender = format!("{}|{}", text("MSH-4"), text("MSH-3"));
    let control_id = msg.control_id().unwrap_or_default();
    let mut types: Vec<&str> = items.iter().map(|u| u.resource_type.as_str()).collect();
    types.sort_unstable();
    types.dedup();
    let mut by_url: HashMap<String, (String, usize)> = HashMap::new();
    let mut occurrences: HashMap<&str, usize> = HashMap::new();
    for seg in msg.segments() {
        let name = seg.name();
        let occurrence = occurrences.entry(name).or_insert(0);
        *occurrence += 1;
        if name == "MSH" {
            continue;
        }
        let at = seg.index();
        for disc in [format!("{name}|{at}"), format!("{name}-DOC|{at}")] {
            for rt in &types {
                let url = format!(
                    "urn:uuid:{}",
                    ids::uuid(&[sender.as_str(), control_id.as_str(), rt, disc.as_str()])
                );
                by_url
                    .entry(url)
                    .or_insert_with(|| (name.to_string(), *occurrence));
            }
        }
    }
    items
        .iter()
        .map(|u| by_url.get(&u.full_url).cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_obx_observation_is_located_by_its_positional_id() {
        let raw = b"MSH|^~\\&|APP|FAC|R|RF|20240101||ORU^R01|C1|P|2.5.1\rPID|1||P1\rOBR|1\rOBX|1|NM|1^a^LN||1\rOBX|2|NM|2^b^LN||2\r";
        let msg = Message::parse(raw).unwrap();
        let second = ids::uuid(&["FAC|APP", "C1", "Observation", "OBX|4"]);
        let items = [
            Unstorable {
                resource_type: "Observation".into(),
                full_url: format!("urn:uuid:{second}"),
                reason: Reason::NoTemplate,
            },
            Unstorable {
                resource_type: "Observation".into(),
                full_url: "urn:uuid:00000000-0000-8000-8000-000000000000".into(),
                reason: Reason::NoTemplate,
            },
        ];
        assert_eq!(
            locate(&msg, &items),
            [Some(("OBX".to_string(), 2)), None],
            "segment index 4 is the second OBX; an unknown id has no location"
        );
    }

    #[test]
    fn messages_name_type_and_reason_only() {
        let l = LeftOut {
            resource_type: "DocumentReference".into(),
            reason: Reason::NotMapped {
                templates: "T1, T2".into(),
            },
            source: Some(("OBX".into(), 4)),
        };
        assert_eq!(
            l.message("cdr"),
            "DocumentReference not stored in openEHR backend `cdr`: no mapping of templates T1, T2 takes it; rest of message stored"
        );
        let long = LeftOut {
            reason: Reason::NotMapped {
                templates: "T".repeat(400),
            },
            ..l
        };
        assert_eq!(long.message("cdr").chars().count(), MAX_MESSAGE);
    }
}
