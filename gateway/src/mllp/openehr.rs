//! Delivery to an openEHR backend through the FHIR facade's write path
//! (issue 8): the message becomes a FHIR transaction Bundle (v2 -> FHIR),
//! the entries the facade can store as compositions are kept, and the
//! facade runs the transaction (EHR resolution or creation from the
//! Patient entries, every composition checked before the first write,
//! writes undone if one fails).
//!
//! The v2 -> FHIR Bundle uses conditional `PUT`s for a FHIR server; here
//! each kept entry becomes a `POST` of its type, since the compositions
//! are new. Context entries (Encounter, Organization, Practitioner, the
//! MessageHeader ...) are left out and counted in the log: openEHR keeps
//! demographics and directories outside the CDR. A *clinical* entry the
//! backend has no template for (a Specimen no report names, say) refuses
//! the whole message instead (the route's default `openehr_unstorable =
//! "refuse"`): acknowledging it would lose clinical data silently. A route
//! with `openehr_unstorable = "warn"` stores the rest and acknowledges with
//! one ERR segment of severity `W` per resource left out
//! ([`super::unstorable`]); when nothing clinical is left it refuses the
//! same way. The refusal is `AE` (see [`FeedError::NoTemplate`]): the
//! message is valid, but resending it unchanged cannot succeed until the
//! backend's templates cover it. A message with nothing but its patient
//! still makes sure the patient's EHR exists.
//!
//! [`FeedError::NoTemplate`]: super::error::FeedError::NoTemplate
//!
//! Two v2 shapes are carried over before the facade sees the Bundle (pure
//! reshaping, in `ehrgate_mappers::fhirconnect::v2_bundle`):
//! - a Specimen (SPM) that a DiagnosticReport names in `specimen` goes
//!   into that report as a contained resource, since the laboratory report
//!   template holds the specimen inside the result (one report per
//!   composition); a Specimen no report names has no template of its own
//!   and refuses the message;
//! - an Observation that is `partOf` an Immunization (a VXU's order OBX:
//!   funding source, eligibility, the vaccine information statement and
//!   the dates it was published and presented) is, per the v2-to-FHIR IG,
//!   detail of the immunization (FHIR R4 `Immunization.fundingSource`,
//!   `programEligibility`, `education`), not a result: the shipped
//!   immunisation template has no element for it, so it is unstorable
//!   with that reason instead of being filed as a laboratory result.

use serde_json::{json, Value};

use ehrgate_mappers::fhirconnect::v2_bundle;
use ehrgate_mappers::hl7v2::Message;

use super::error::FeedError;
use super::unstorable::{LeftOut, Reason, Stored, Unstorable};
use crate::config::model_mllp::UnstorablePolicy;
use crate::facade::error::FacadeError;
use crate::facade::write::BundlePatients;
use crate::facade::Facade;

/// Resource types that carry context kept outside an openEHR CDR, never
/// clinical content of their own.
const CONTEXT_TYPES: &[&str] = &[
    "MessageHeader",
    "Provenance",
    "Encounter",
    "EpisodeOfCare",
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "Location",
    "RelatedPerson",
    "Coverage",
    "Account",
    "Device",
];

fn rt_of(e: &Value) -> &str {
    e.pointer("/resource/resourceType")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The entries of a translated Bundle sorted for the facade.
#[derive(Debug)]
pub struct Selection {
    /// Patient entries and the entries of served types, as `POST`s.
    pub kept: Vec<Value>,
    /// Context entries left out (kept outside an openEHR CDR).
    pub context_skipped: usize,
    /// Clinical entries no template takes, in Bundle order.
    pub unstorable: Vec<Unstorable>,
}

// === impl Selection ===

impl Selection {
    /// Whether anything but Patient entries is kept.
    fn has_clinical(&self) -> bool {
        self.kept.iter().any(|e| rt_of(e) != "Patient")
    }

    /// The transaction Bundle of the kept entries.
    fn bundle(&self) -> Value {
        json!({"resourceType": "Bundle", "type": "transaction", "entry": self.kept})
    }

    /// Under `policy`, the error that stops the message, if any: `refuse`
    /// stops at the first unstorable entry; `warn` only when something was
    /// left out and nothing clinical is left to store.
    fn refusal(&self, policy: UnstorablePolicy, backend: &str) -> Option<FeedError> {
        let first = self.unstorable.first()?;
        let refuse = match policy {
            UnstorablePolicy::Refuse => true,
            UnstorablePolicy::Warn => !self.has_clinical(),
        };
        refuse.then(|| FeedError::NoTemplate {
            backend: backend.to_string(),
            resource_type: first.describe(),
        })
    }
}

/// Sorts the Bundle's entries: Patient entries and the served types are
/// kept (as `POST`s), context entries counted, and every clinical entry
/// the backend has no template for (or that is immunization detail) is
/// listed as unstorable.
pub fn select(bundle: &Value, facade: &Facade) -> Selection {
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let shaped = v2_bundle::reshape(entries);
    let entries = shaped.entries.as_slice();
    // A ServiceRequest beside results is the order those results answer
    // (the OBR of an ORU), held by the ordering system; on its own (ORM,
    // OML) it is the message's clinical content and must be storable.
    let has_results = entries
        .iter()
        .any(|e| matches!(rt_of(e), "Observation" | "DiagnosticReport"));
    let mut out = Selection {
        kept: Vec::with_capacity(entries.len()),
        context_skipped: 0,
        unstorable: Vec::new(),
    };
    for e in entries {
        let rt = rt_of(e);
        let unstorable = |reason| Unstorable {
            resource_type: if rt.is_empty() { "(untyped)" } else { rt }.to_string(),
            full_url: e
                .get("fullUrl")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            reason,
        };
        if rt == "Patient" {
            out.kept.push(e.clone());
        } else if rt == "Observation" && shaped.is_immunization_detail(e) {
            out.unstorable.push(unstorable(Reason::ImmunizationDetail));
        } else if !rt.is_empty() && !facade.settings().templates_of(rt).is_empty() {
            let mut e = e.clone();
            if let Some(obj) = e.as_object_mut() {
                obj.insert("request".into(), json!({"method": "POST", "url": rt}));
            }
            out.kept.push(e);
        } else if CONTEXT_TYPES.contains(&rt) || (has_results && rt == "ServiceRequest") {
            out.context_skipped += 1;
        } else {
            out.unstorable.push(unstorable(Reason::NoTemplate));
        }
    }
    out
}

/// What can be decided without the backend (used before a `CA` with the
/// durable queue): the refusal of [`select`] under `policy`.
pub fn check(
    bundle: &Value,
    facade: &Facade,
    backend: &str,
    policy: UnstorablePolicy,
) -> Result<(), FeedError> {
    match select(bundle, facade).refusal(policy, backend) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Under `warn`, moves every kept entry no mapping of its type's templates
/// takes (the facade's `NotMapped`) to the unstorable list, so the
/// transaction stores the rest. Any other finding (a template violation,
/// no patient) stays for the transaction to report: those are errors in
/// the message, not content a template lacks room for.
async fn leave_out_unmapped(
    facade: &Facade,
    backend: &str,
    sel: &mut Selection,
) -> Result<(), FeedError> {
    let openehr = |e| FeedError::OpenEhr {
        backend: backend.to_string(),
        source: Box::new(e),
    };
    let mut types: Vec<&str> = sel
        .kept
        .iter()
        .map(rt_of)
        .filter(|rt| *rt != "Patient")
        .collect();
    types.sort_unstable();
    types.dedup();
    for rt in types {
        facade.warm(rt).await.map_err(openehr)?;
    }
    // Subjects only decide which EHR; the mapping does not read them, so
    // a stand-in per Patient entry lets `prepare` run the mapping alone.
    let patients: BundlePatients = sel
        .kept
        .iter()
        .filter(|e| rt_of(e) == "Patient")
        .filter_map(|e| e.get("fullUrl").and_then(Value::as_str))
        .map(|u| (u.to_string(), "subject".to_string()))
        .collect();
    let mut kept = Vec::with_capacity(sel.kept.len());
    for e in std::mem::take(&mut sel.kept) {
        let rt = rt_of(&e);
        if rt != "Patient" {
            if let Some(r) = e.get("resource") {
                if let Err(FacadeError::NotMapped { templates, .. }) =
                    facade.prepare(r, Some(rt), Some(&patients))
                {
                    sel.unstorable.push(Unstorable {
                        resource_type: rt.to_string(),
                        full_url: e
                            .get("fullUrl")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        reason: Reason::NotMapped { templates },
                    });
                    continue;
                }
            }
        }
        kept.push(e);
    }
    sel.kept = kept;
    Ok(())
}

/// Runs the transaction; the facade's error keeps its fault (a client
/// fault is `AE`, an unreachable or failing backend `AR`). Under `warn`
/// the resources left out come back with their v2 source.
pub async fn deliver(
    facade: &Facade,
    backend: &str,
    tenant: &str,
    msg: &Message<'_>,
    bundle: &Value,
    policy: UnstorablePolicy,
) -> Result<Stored, FeedError> {
    let mut sel = select(bundle, facade);
    if policy == UnstorablePolicy::Warn {
        leave_out_unmapped(facade, backend, &mut sel).await?;
    }
    if let Some(e) = sel.refusal(policy, backend) {
        return Err(e);
    }
    tracing::debug!(target: "ehrgate::mllp", backend, skipped_entries = sel.context_skipped, left_out = sel.unstorable.len(), "openEHR delivery");
    let sent = sel.bundle();
    let answer = facade
        .transaction(tenant, &sent)
        .await
        .map_err(|e| FeedError::OpenEhr {
            backend: backend.to_string(),
            source: Box::new(e),
        })?;
    let partly = partly_stored(&sent, &answer);
    Ok(Stored {
        left_out: located(msg, sel.unstorable),
        partly: located(msg, partly),
    })
}

/// `items` with their v2 source segments.
fn located(msg: &Message<'_>, items: Vec<Unstorable>) -> Vec<LeftOut> {
    let sources = super::unstorable::locate(msg, &items);
    items
        .into_iter()
        .zip(sources)
        .map(|(u, source)| LeftOut {
            resource_type: u.resource_type,
            reason: u.reason,
            source,
        })
        .collect()
}

/// The entries of `sent` the facade stored without some elements: its
/// transaction response names them in each entry's `response.outcome`
/// (entries answer in request order).
fn partly_stored(sent: &Value, answer: &Value) -> Vec<Unstorable> {
    fn entries(v: &Value) -> &[Value] {
        v.get("entry")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
    }
    let mut out = Vec::new();
    for (request, response) in entries(sent).iter().zip(entries(answer)) {
        let paths: Vec<&str> = response
            .pointer("/response/outcome/issue")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter(|i| i.get("severity").and_then(Value::as_str) == Some("warning"))
            .filter_map(|i| i.pointer("/expression/0").and_then(Value::as_str))
            .collect();
        let Some(first) = paths.first() else {
            continue;
        };
        out.push(Unstorable {
            resource_type: rt_of(request).to_string(),
            full_url: request
                .get("fullUrl")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            reason: Reason::PartlyStored {
                elements: paths.len(),
                first: (*first).to_string(),
            },
        });
    }
    out
}
