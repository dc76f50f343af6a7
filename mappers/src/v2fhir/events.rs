//! What a trigger event means for the resources a message builds: the
//! state an event sets or reverts (Encounter.status, Appointment.status,
//! DocumentReference.status), and the events that link or merge patient
//! records (Patient.link).
//!
//! Rows follow the IG where it speaks (Event[EncounterStatus] for A11 and
//! the other state changes it lists, FillerStatusCodes for SCH-25) and the
//! HL7 v2.8 chapter 3 (ADT), 10 (SIU) and 9 (MDM) event definitions
//! elsewhere.

use super::tables;

/// Encounter.status set by an ADT trigger event whose meaning is a change
/// of the visit's state that PV1 cannot say (a cancel, a discharge, a
/// pending admit, a leave of absence), or `None`: then the IG PV1 rule
/// decides (PV1-45 discharge time -> `finished`, else PV1-2 through
/// PatientClass[EncounterStatus], else `unknown`).
///
/// The IG applies the Event[EncounterStatus] map (MSH[Encounter]) in the
/// ADT_A11 message map only; its A01/A04/A05/A08 rows are not used by their
/// message maps, which take the status from PV1. The other events here
/// follow v2.8 chapter 3: cancelling a pending or planned visit leaves it
/// `cancelled`, cancelling a change to an ongoing one (transfer,
/// discharge, leave) leaves it `in-progress`.
pub fn encounter_status(trigger: &str) -> Option<&'static str> {
    Some(match trigger {
        // IG Event[EncounterStatus] rows for events that change the state
        "A03" | "A11" | "A13" => tables::lookup("encounter-status", trigger)?.code.as_str(),
        // cancel transfer, cancel pending discharge / transfer
        "A12" | "A25" | "A26" => "in-progress",
        // pending admit: the visit is planned
        "A14" => "planned",
        // leave of absence starts / its return is cancelled
        "A21" | "A53" => "onleave",
        // return from leave / the leave is cancelled
        "A22" | "A52" => "in-progress",
        // cancel pending admit / cancel pre-admit: the planned visit will
        // not happen
        "A27" | "A38" => "cancelled",
        _ => return None,
    })
}

/// Appointment.status set by an SIU trigger event, or `None` when the
/// event does not change it (S12 new, S13 reschedule, S14 modify, S18-S25
/// service and resource changes: SCH-25 gives the status).
pub fn appointment_status(trigger: &str) -> Option<&'static str> {
    Some(match trigger {
        // cancel, and discontinue (no further occurrences of this one)
        "S15" | "S16" => "cancelled",
        // delete: the appointment was booked in error
        "S17" => "entered-in-error",
        "S26" => "noshow",
        _ => return None,
    })
}

/// How a DocumentReference of an MDM event relates to the document named
/// in TXA-13 (parent document number): FHIR R4 document-relationship-type.
pub fn document_relation(trigger: &str) -> Option<&'static str> {
    match trigger {
        // addendum notification / with content
        "T05" | "T06" => Some("appends"),
        // replacement notification / with content
        "T09" | "T10" => Some("replaces"),
        _ => None,
    }
}

/// DocumentReference.status set by an MDM event, or `None` (`current`).
pub fn document_status(trigger: &str) -> Option<&'static str> {
    match trigger {
        // document cancel notification: the document must not be used
        "T11" => Some("entered-in-error"),
        _ => None,
    }
}

/// What an ADT event does to patient records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatientEvent {
    /// Nothing beyond the Patient itself.
    None,
    /// MRG names a record this one replaces (merge, identifier change):
    /// the old record is `replaced-by` the PID's, and inactive.
    Merge,
    /// Two PID groups are the same person (A24): `seealso` both ways.
    Link,
    /// Two PID groups are no longer linked (A37): both Patients are sent
    /// without the link, which the replacing PUT removes.
    Unlink,
}

/// The [`PatientEvent`] of `code^trigger`.
pub fn patient_event(code: &str, trigger: &str) -> PatientEvent {
    if code != "ADT" {
        return PatientEvent::None;
    }
    match trigger {
        "A18" | "A30" | "A34" | "A36" | "A39" | "A40" | "A46" | "A47" => PatientEvent::Merge,
        "A24" => PatientEvent::Link,
        "A37" => PatientEvent::Unlink,
        _ => PatientEvent::None,
    }
}

/// True for events that ask the receiver to delete what the message names
/// (A23 delete visit, A29 delete person information). The IG defines no
/// message map for them, so no DELETE entries are made; the Bundle carries
/// the records as named and a warning says the event asks for a delete.
pub fn is_delete(code: &str, trigger: &str) -> bool {
    code == "ADT" && matches!(trigger, "A23" | "A29")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_changing_events_set_the_status() {
        assert_eq!(encounter_status("A03"), Some("finished"));
        assert_eq!(encounter_status("A11"), Some("cancelled"));
        assert_eq!(encounter_status("A13"), Some("in-progress"));
        // the IG message maps take these from PV1
        assert_eq!(encounter_status("A01"), None);
        assert_eq!(encounter_status("A04"), None);
        assert_eq!(encounter_status("A08"), None);
        assert_eq!(encounter_status("A27"), Some("cancelled"));
        assert_eq!(encounter_status("A38"), Some("cancelled"));
        assert_eq!(encounter_status("A12"), Some("in-progress"));
        assert_eq!(encounter_status("A14"), Some("planned"));
        assert_eq!(encounter_status("A21"), Some("onleave"));
        assert_eq!(encounter_status("A31"), None);
        assert_eq!(encounter_status("A15"), None);
        assert_eq!(encounter_status("P03"), None);
    }

    #[test]
    fn siu_events_set_appointment_status() {
        assert_eq!(appointment_status("S15"), Some("cancelled"));
        assert_eq!(appointment_status("S17"), Some("entered-in-error"));
        assert_eq!(appointment_status("S26"), Some("noshow"));
        assert_eq!(appointment_status("S12"), None);
        assert_eq!(appointment_status("S13"), None);
    }

    #[test]
    fn mdm_events_relate_documents() {
        assert_eq!(document_relation("T06"), Some("appends"));
        assert_eq!(document_relation("T10"), Some("replaces"));
        assert_eq!(document_relation("T02"), None);
        assert_eq!(document_status("T11"), Some("entered-in-error"));
        assert_eq!(document_status("T02"), None);
    }

    #[test]
    fn patient_events() {
        assert_eq!(patient_event("ADT", "A40"), PatientEvent::Merge);
        assert_eq!(patient_event("ADT", "A47"), PatientEvent::Merge);
        assert_eq!(patient_event("ADT", "A24"), PatientEvent::Link);
        assert_eq!(patient_event("ADT", "A37"), PatientEvent::Unlink);
        assert_eq!(patient_event("ADT", "A01"), PatientEvent::None);
        assert_eq!(patient_event("BAR", "A40"), PatientEvent::None);
        assert!(is_delete("ADT", "A29"));
        assert!(!is_delete("ADT", "A28"));
    }
}
