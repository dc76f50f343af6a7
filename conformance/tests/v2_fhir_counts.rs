//! Per message, the resource-type counts of our Bundle against the
//! expected Bundle the corpus pairs with it (`hl7v2/expected/*.json`,
//! written by Microsoft's FHIR-Converter). Every difference is printed
//! (`cargo test --test v2_fhir_counts -- --nocapture`) and must be in
//! [`EXPLAINED`]: a rule for one resource type, in the direction it
//! differs, naming the IG or FHIR rule behind it. A listed rule that no
//! longer explains any difference fails the test too, so the list stays
//! true.

// Test code: a failed expectation is a panic with the reason.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::{resources, translate_file};
use ehrgate_conformance::corpus_files;
use ehrgate_mappers::v2fhir::Config;
use serde_json::Value;

/// How our count relates to theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    /// We make fewer (or none).
    Fewer,
    /// We make more.
    More,
}

/// Why a count differs, for the rules below.
const MSH3_DEVICE: &str = "IG MSH[Provenance-Source]: the sending application (MSH-3, with the \
    first SFT) is the Device the Provenance names as source, in every message; the expected \
    file makes it for some message types only";
const EQUIPMENT: &str = "the expected file also makes Devices from PRT-10 and OBX-18 equipment \
    (IG PRT[Device], OBX-18); those maps are not built here and the fields are reported unmapped";
const ASSIGNERS: &str = "IG CX.4 / XCN.9 assigner(Organization), HD[Organization]: one \
    Organization per assigning authority, shared by every identifier it assigned and by MSH-4 \
    when the OID is the same; the expected file splits or skips some of them";
const ORG_FEWER: &str = "the expected file makes Organizations from fields reported here (PRT-8 \
    of roles in order and note groups, OBX-23 performing organization, FT1 and AIS fields) and \
    one per mention where an authority named twice is one entry here";
const LOCATIONS: &str = "IG PL[Location]: one Location per valued PL level, one entry for the \
    same level chain named again; the expected file makes one per mention and also from fields \
    reported here (EVN-7, PRT-9 of order groups, AIL beyond PL)";
const PEOPLE: &str = "the expected file makes Practitioners and PractitionerRoles from fields \
    reported here: PRT after ORC/NTE (no request exists yet when it stands), OBR-32/34/35 \
    (NDL[PractitionerRole]), OBX-16, FT1-20/21, TXA authenticators; and a PractitionerRole for \
    OBR-16 and PV1 doctors where the IG rows name Practitioner (OBR[ServiceRequest], \
    PV1[Encounter])";
const SPECIMENS: &str = "IG OBR[Specimen] is built here only for an OBR that describes a \
    specimen (OBR-9/10/14/15/39); the expected file makes one for every OBR (OBR-7 alone) and \
    from SPM in order messages";
const REQUESTS: &str = "VXU's ORC -> ServiceRequest is opt-in (Config::vxu_order_requests; IG \
    VXU_V04: 'only if the system wants to know about the order'); AIS[ServiceRequest] (SIU) and \
    a ServiceRequest per ORC beside its OBR are not built: the OBR's ServiceRequest carries the \
    ORC (IG OBR[ServiceRequest] + ORC[ServiceRequest] are one resource)";
const REPORTS: &str = "a DiagnosticReport comes from an OBR in results (ORU/OUL); the expected \
    file makes one for OBR in order and financial messages (OML, DFT, MDM) and for OBX-level \
    report references";
const FT1_EXTRA: &str = "the expected file derives a MedicationDispense, Procedure and \
    ResearchStudy from FT1 fields (FT1-25 procedure, FT1-29/30 drug, FT1 clinical trial) and \
    PR1 in order groups; FT1 is a ChargeItem here (IG has no FT1 sheet) and those fields are \
    reported unmapped";
const ACCOUNTS_FEWER: &str = "IG PID[Account]: PID-18 is the Account; the expected file adds \
    one per FT1/GT1 account field";
const ACCOUNTS_MORE: &str = "IG MRG[Account] (ADT^A40): MRG-3 prior account number is an \
    Account; the expected file makes none";
const MEDICATIONS: &str = "a Medication only where RXC lists a compound's components \
    (Medication.ingredient); a plain RXO/RXE/RXD code stays medicationCodeableConcept, while \
    the expected file makes a Medication per pharmacy segment";
const A40: &str = "FHIR R4 Patient.link and IG MRG: the surviving Patient and the retired record \
    (MRG-1, active false) linked replaces/replaced-by; the expected file emits a Linkage and no \
    Patient";
const MDM_OBX: &str = "IG MDM_T02 10.1: OBX -> DocumentReference content, not Observation or \
    DiagnosticReport; the expected file's Consent (TXA-18 confidentiality) and Specimen are not \
    built here";
const DOCS: &str = "IG OBX[DocumentReference]: an OBX of type ED or RP is a DocumentReference \
    (ORU/OML); the expected file keeps one";
const OML_GT1: &str = "the corpus file runs its ORC into the GT1 line (no segment terminator \
    after 'Walmart^L'); the expected file lost the order group with it, while the OBR, OBX, \
    SPM and DG1 that follow are translated here (ServiceRequest, Observation, Specimen, \
    Condition)";
const SUBSCRIBER: &str = "IG IN1[Coverage] IN1-16/17: a subscriber who is not the patient is a \
    RelatedPerson, beside the NK1 next of kin";
const MOTHER_ONLY: &str = "IG CX[RelatedPerson-Mother]: PID-21 is a RelatedPerson here; the \
    expected file also makes one from NK1 in ADT_A60, whose v2.8 structure has no NK1";
const EVN_PEOPLE: &str = "EVN-5 operator and EVN-7 facility are the expected file's Provenance \
    agent and location; without a PV1 (ADT_A60) nothing else names them, and EVN-7 is reported";

/// (file stem or `*` for every file, resource type, direction, why).
const EXPLAINED: &[(&str, &str, Dir, &str)] = &[
    ("*", "Device", Dir::More, MSH3_DEVICE),
    ("*", "Device", Dir::Fewer, EQUIPMENT),
    ("*", "Organization", Dir::More, ASSIGNERS),
    ("*", "Organization", Dir::Fewer, ORG_FEWER),
    ("*", "Location", Dir::Fewer, LOCATIONS),
    ("*", "Practitioner", Dir::Fewer, PEOPLE),
    ("*", "PractitionerRole", Dir::Fewer, PEOPLE),
    ("*", "Specimen", Dir::Fewer, SPECIMENS),
    ("*", "ServiceRequest", Dir::Fewer, REQUESTS),
    ("*", "DiagnosticReport", Dir::Fewer, REPORTS),
    ("*", "MedicationDispense", Dir::Fewer, FT1_EXTRA),
    ("*", "Procedure", Dir::Fewer, FT1_EXTRA),
    ("*", "ResearchStudy", Dir::Fewer, FT1_EXTRA),
    ("*", "Account", Dir::Fewer, ACCOUNTS_FEWER),
    ("ADT-A40-01", "Account", Dir::More, ACCOUNTS_MORE),
    ("RDE-O11-02", "Medication", Dir::Fewer, MEDICATIONS),
    ("ADT-A40-01", "Patient", Dir::More, A40),
    ("ADT-A40-01", "Linkage", Dir::Fewer, A40),
    ("MDM-T02-01", "Observation", Dir::Fewer, MDM_OBX),
    ("MDM-T02-01", "DiagnosticReport", Dir::Fewer, MDM_OBX),
    ("MDM-T02-01", "Consent", Dir::Fewer, MDM_OBX),
    ("*", "DocumentReference", Dir::More, DOCS),
    ("MDHHS-OML-O21-1", "ServiceRequest", Dir::More, OML_GT1),
    ("MDHHS-OML-O21-1", "Observation", Dir::More, OML_GT1),
    ("MDHHS-OML-O21-1", "Specimen", Dir::More, OML_GT1),
    ("MDHHS-OML-O21-1", "Condition", Dir::More, OML_GT1),
    ("MDHHS-OML-O21-1", "RelatedPerson", Dir::More, SUBSCRIBER),
    ("ADT-A60-02", "RelatedPerson", Dir::Fewer, MOTHER_ONLY),
    ("ADT-A60-02", "Practitioner", Dir::Fewer, EVN_PEOPLE),
];

fn counts(bundle: &Value) -> BTreeMap<String, usize> {
    let mut c = BTreeMap::new();
    for r in resources(bundle) {
        let t = r["resourceType"].as_str().unwrap_or("(none)").to_owned();
        *c.entry(t).or_insert(0) += 1;
    }
    c
}

#[test]
fn resource_type_counts_match_or_are_explained() {
    let files = corpus_files("hl7v2/expected", ".json");
    assert!(files.len() >= 22, "expected files missing: {}", files.len());
    let mut unexplained = Vec::new();
    let mut used = vec![false; EXPLAINED.len()];
    let mut report = Vec::new();
    let (mut same, mut differ) = (0usize, 0usize);
    for path in &files {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let theirs = counts(&serde_json::from_str(&text).unwrap());
        let ours = match translate_file(&name, Config::default(), false) {
            Ok(t) => counts(&t.output),
            Err(e) => panic!("{name}: translation failed: {e}"),
        };
        let types: std::collections::BTreeSet<&String> = theirs.keys().chain(ours.keys()).collect();
        for t in types {
            let (o, m) = (
                ours.get(t).copied().unwrap_or(0),
                theirs.get(t).copied().unwrap_or(0),
            );
            if o == m {
                same += 1;
                continue;
            }
            differ += 1;
            let dir = if o < m { Dir::Fewer } else { Dir::More };
            report.push(format!("{name:40} {t:22} ours {o:3} theirs {m:3}"));
            // a rule for this file wins over one for every file
            let find = |file: &str| {
                EXPLAINED
                    .iter()
                    .position(|(f, rt, d, _)| *f == file && rt == t && *d == dir)
            };
            let rule = find(&name).or_else(|| find("*"));
            match rule {
                Some(i) => used[i] = true,
                None => unexplained.push(format!("{name} {t}: ours {o}, theirs {m}")),
            }
        }
    }
    println!(
        "{same} type counts agree, {differ} differ:\n{}",
        report.join("\n")
    );
    for (i, (f, t, d, why)) in EXPLAINED.iter().enumerate() {
        if !used[i] {
            unexplained.push(format!("rule no longer used: {f} {t} {d:?} ({why})"));
        }
    }
    assert!(
        unexplained.is_empty(),
        "{} unexplained count differences:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
}
