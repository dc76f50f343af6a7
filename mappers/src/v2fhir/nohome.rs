//! Segments the v2-to-FHIR IG gives no FHIR R4 home, each with the reason
//! the unmapped report names: they are neither dropped unseen nor forced
//! into an element that means something else.
//!
//! - ACC (accident): R4 holds an accident only in `Claim.accident` and
//!   `ExplanationOfBenefit.accident`, claims a v2 feed does not send.
//! - UB1, UB2 (UB-82 / UB-92 billing data) and DRG (diagnosis related
//!   group): claim content (`Claim.supportingInfo`,
//!   `Claim.diagnosis.packageCode`); no Encounter, Account or Coverage
//!   element holds them and the IG has no segment map.
//! - IN3 (insurance certification): a pre-authorisation
//!   (`ClaimResponse.preAuthRef`), not part of the Coverage. The IG's
//!   IN3[CareTeam] sheet has only an assignment for IN3-21's role.
//! - UAC (user authentication credential): a credential for the
//!   receiver's access control. Copying it into clinical records would
//!   spread a secret, so it is never mapped; the report names the segment
//!   only (never a value).

/// The reason `segment` has no FHIR home, if it is one of those above.
pub fn reason(segment: &str) -> Option<&'static str> {
    Some(match segment {
        "ACC" => "no FHIR R4 home: an accident is held only by Claim and ExplanationOfBenefit",
        "UB1" | "UB2" => "no FHIR R4 home: UB-82/UB-92 billing data belongs to a Claim",
        "DRG" => "no FHIR R4 home: a DRG is Claim.diagnosis.packageCode, not an Encounter element",
        "IN3" => {
            "no FHIR R4 home: a certification is a pre-authorisation (ClaimResponse), not Coverage"
        }
        "UAC" => {
            "not mapped on purpose: an authentication credential is never copied into the Bundle"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_segments_have_a_reason_others_none() {
        for s in ["ACC", "UB1", "UB2", "DRG", "IN3", "UAC"] {
            assert!(reason(s).is_some_and(|r| !r.is_empty()), "{s}");
        }
        for s in ["PID", "IN1", "IN2", "ZAC", ""] {
            assert_eq!(reason(s), None, "{s}");
        }
    }
}
