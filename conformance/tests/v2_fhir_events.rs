//! Golden tests for the message types of issue 21, on messages written
//! here to the v2.8 message structures (not copied from the corpus): what
//! each event does to the resources (cancel, swap, merge, link, no-show,
//! addendum...), and that every Bundle validates against the R4 JSON
//! schema and parses strictly with fhirbolt.

// Test code: a failed expectation is a panic with the reason.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::fhir_check::{fhirbolt_strict, schema_errors};
use common::{of_type, translate_bytes};
use ehrgate_mappers::translation::Translation;
use ehrgate_mappers::v2fhir::Config;
use serde_json::Value;

/// `MSH` for `kind` (`ADT^A17^ADT_A17`), then `body` (segments joined
/// by `\r`).
fn msg(kind: &str, body: &[&str]) -> String {
    let mut m = format!(
        "MSH|^~\\&|ADT|HOSP|RCV|RFAC|20240301101500+0100||{kind}|CTRL-{}|P|2.8\r",
        kind.replace('^', "-")
    );
    for s in body {
        m.push_str(s);
        m.push('\r');
    }
    m
}

/// Translates in strict mode and checks the Bundle against the schema and
/// fhirbolt.
fn run(kind: &str, body: &[&str]) -> Translation<Value> {
    let text = msg(kind, body);
    let t = translate_bytes(text.as_bytes(), Config::default(), false)
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    let errs = schema_errors(&t.output, 5).unwrap();
    assert!(errs.is_empty(), "{kind}: schema: {errs:?}");
    fhirbolt_strict(&t.output.to_string()).unwrap_or_else(|e| panic!("{kind}: fhirbolt: {e}"));
    t
}

fn full_url_of<'b>(bundle: &'b Value, resource: &Value) -> &'b str {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| &e["resource"] == resource)
        .and_then(|e| e["fullUrl"].as_str())
        .unwrap()
}

fn resource_at<'b>(bundle: &'b Value, url: &str) -> &'b Value {
    &bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["fullUrl"] == url)
        .unwrap_or_else(|| panic!("{url} not in the bundle"))["resource"]
}

fn patient_with<'b>(bundle: &'b Value, id: &str) -> &'b Value {
    of_type(bundle, "Patient")
        .into_iter()
        .find(|p| p["identifier"][0]["value"] == id)
        .unwrap_or_else(|| panic!("no Patient {id}"))
}

const EVN: &str = "EVN||20240301101500+0100";
const PID1: &str = "PID|1||P1^^^HOSP&1.2.3.4&ISO^MR||Alpha^Ann||19700101|F";
const PID2: &str = "PID|2||P2^^^HOSP&1.2.3.4&ISO^MR||Beta^Bob||19800202|M";

fn encounter_status(trigger: &str, class: &str) -> String {
    let pv1 = format!("PV1|1|{class}|4E^401^1^HOSP||||||||||||||||V1^^^HOSP&1.2.3.4&ISO^VN");
    let t = run(&format!("ADT^{trigger}"), &[EVN, PID1, &pv1]);
    of_type(&t.output, "Encounter")[0]["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn cancel_and_pending_events_set_or_revert_the_encounter_status() {
    for (trigger, status) in [
        ("A11", "cancelled"),   // cancel admit (IG Event[EncounterStatus])
        ("A27", "cancelled"),   // cancel pending admit
        ("A38", "cancelled"),   // cancel pre-admit
        ("A13", "in-progress"), // cancel discharge (IG)
        ("A12", "in-progress"), // cancel transfer
        ("A25", "in-progress"), // cancel pending discharge
        ("A26", "in-progress"), // cancel pending transfer
        ("A14", "planned"),     // pending admit
        ("A15", "in-progress"), // pending transfer
        ("A16", "in-progress"), // pending discharge
        ("A06", "in-progress"),
        ("A07", "in-progress"),
        ("A09", "in-progress"),
        ("A10", "in-progress"),
        ("A21", "onleave"),
        ("A22", "in-progress"),
        // change attending says nothing about the state: PV1-2 decides
        ("A54", "in-progress"),
    ] {
        assert_eq!(encounter_status(trigger, "I"), status, "ADT^{trigger}");
    }
    // IG PV1[Encounter]: PV1-2 through PatientClass[EncounterStatus] when
    // the event does not set the state (the IG's message maps for A04,
    // A05 and A08 take the status from PV1, not from the event)
    assert_eq!(encounter_status("A04", "E"), "in-progress");
    assert_eq!(encounter_status("A05", "P"), "planned");
    assert_eq!(encounter_status("A08", "O"), "in-progress");
    assert_eq!(encounter_status("A08", "U"), "unknown");
    // the cancel wins over the class
    assert_eq!(encounter_status("A11", "I"), "cancelled");
}

#[test]
fn a17_swaps_two_patients_locations() {
    // v2.8 3.3.17: two PID/PV1 groups, each PV1-3 the patient's new bed
    let t = run(
        "ADT^A17^ADT_A17",
        &[
            EVN,
            PID1,
            "PV1|1|I|4E^402^2^HOSP|||4E^401^1^HOSP|||||||||||||V1^^^HOSP&1.2.3.4&ISO^VN",
            PID2,
            "PV1|1|I|4E^401^1^HOSP|||4E^402^2^HOSP|||||||||||||V2^^^HOSP&1.2.3.4&ISO^VN",
        ],
    );
    let b = &t.output;
    let encounters = of_type(b, "Encounter");
    assert_eq!(encounters.len(), 2);
    let (p1, p2) = (patient_with(b, "P1"), patient_with(b, "P2"));
    let (u1, u2) = (full_url_of(b, p1), full_url_of(b, p2));
    // the bed (deepest level) a location entry of an encounter names
    let bed = |e: &Value, status: &str| -> String {
        let l = e["location"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["status"] == status)
            .unwrap();
        let loc = resource_at(b, l["location"]["reference"].as_str().unwrap());
        loc["name"].as_str().unwrap_or_default().to_owned()
    };
    let e1 = encounters
        .iter()
        .find(|e| e["subject"]["reference"] == u1)
        .unwrap();
    let e2 = encounters
        .iter()
        .find(|e| e["subject"]["reference"] == u2)
        .unwrap();
    assert_eq!(bed(e1, "active"), bed(e2, "completed"));
    assert_eq!(bed(e2, "active"), bed(e1, "completed"));
    assert_ne!(bed(e1, "active"), bed(e2, "active"));
}

#[test]
fn a40_merge_links_the_retired_record() {
    let t = run(
        "ADT^A40^ADT_A39",
        &[EVN, PID1, "MRG|OLD9^^^HOSP&1.2.3.4&ISO^MR||||||Alpha^Anne"],
    );
    let b = &t.output;
    let (survivor, old) = (patient_with(b, "P1"), patient_with(b, "OLD9"));
    assert_eq!(old["active"], false);
    assert_eq!(old["link"][0]["type"], "replaced-by");
    assert_eq!(
        old["link"][0]["other"]["reference"],
        full_url_of(b, survivor)
    );
    assert_eq!(survivor["link"][0]["type"], "replaces");
    assert_eq!(
        survivor["link"][0]["other"]["reference"],
        full_url_of(b, old)
    );
}

#[test]
fn a47_identifier_change_retires_the_old_identifier_and_a41_does_not_link() {
    let t = run(
        "ADT^A47^ADT_A30",
        &[EVN, PID1, "MRG|WRONG1^^^HOSP&1.2.3.4&ISO^MR"],
    );
    let old = patient_with(&t.output, "WRONG1");
    assert_eq!(old["link"][0]["type"], "replaced-by");
    // A41 merges accounts of one patient: MRG-3 is the prior account (IG
    // MRG[Account], status unknown); no patient is retired
    let t = run(
        "ADT^A41^ADT_A39",
        &[
            EVN,
            "PID|1||P1^^^HOSP&1.2.3.4&ISO^MR||Alpha^Ann|||||||||||||ACC2^^^HOSP&1.2.3.4&ISO^AN",
            "MRG|P1^^^HOSP&1.2.3.4&ISO^MR||ACC1^^^HOSP&1.2.3.4&ISO^AN",
        ],
    );
    assert_eq!(of_type(&t.output, "Patient").len(), 1);
    assert!(of_type(&t.output, "Patient")[0].get("link").is_none());
    let accounts = of_type(&t.output, "Account");
    let prior = accounts
        .iter()
        .find(|a| a["identifier"][0]["value"] == "ACC1")
        .unwrap();
    assert_eq!(prior["status"], "unknown");
    assert!(t.unmapped.iter().any(|u| u.location == "MRG-1"));
    // a merge whose MRG names the PID's own record makes no self-link
    let t = run(
        "ADT^A40^ADT_A39",
        &[EVN, PID1, "MRG|P1^^^HOSP&1.2.3.4&ISO^MR"],
    );
    assert!(of_type(&t.output, "Patient")[0].get("link").is_none());
    assert!(t.warnings.iter().any(|w| w.location == "MRG-1"));
}

#[test]
fn a24_links_and_a37_unlinks_two_patients() {
    let t = run("ADT^A24^ADT_A24", &[EVN, PID1, PID2]);
    let b = &t.output;
    let (p1, p2) = (patient_with(b, "P1"), patient_with(b, "P2"));
    assert_eq!(p1["link"][0]["type"], "seealso");
    assert_eq!(p1["link"][0]["other"]["reference"], full_url_of(b, p2));
    assert_eq!(p2["link"][0]["other"]["reference"], full_url_of(b, p1));
    let t = run("ADT^A37^ADT_A37", &[EVN, PID1, PID2]);
    for p in of_type(&t.output, "Patient") {
        assert!(p.get("link").is_none(), "A37 leaves no link: {p}");
    }
}

#[test]
fn a29_delete_is_not_a_silent_update() {
    let t = run("ADT^A29^ADT_A21", &[EVN, PID1]);
    assert!(t.warnings.iter().any(|w| w.message.contains("delete")));
}

#[test]
fn a60_iam_gives_an_allergy() {
    let t = run(
        "ADT^A60^ADT_A60",
        &[
            EVN,
            PID1,
            "IAM|1|FA^Food allergy^HL70127|227493005^Cashew nuts^SCT|SV^Severe^HL70128|39579001^Anaphylaxis^SCT|A^Add^HL70206|ALG-7^^1.2.3.9^ISO||||20230501||20240301||||C^Confirmed^HL70389",
            "IAM|2|DA^Drug allergy^HL70127|7980^Penicillin^RXNORM||||ALG-8^^1.2.3.9^ISO|||||||||||",
        ],
    );
    let a = of_type(&t.output, "AllergyIntolerance");
    assert_eq!(a.len(), 2);
    assert_eq!(a[0]["category"][0], "food");
    assert_eq!(a[0]["criticality"], "high");
    assert_eq!(a[0]["code"]["coding"][0]["code"], "227493005");
    assert_eq!(a[0]["verificationStatus"]["coding"][0]["code"], "confirmed");
    assert_eq!(
        a[0]["reaction"][0]["manifestation"][0]["text"],
        "Anaphylaxis"
    );
    assert_eq!(a[0]["recordedDate"], "2024-03-01");
    assert_eq!(a[1]["category"][0], "medication");
    assert_eq!(a[1]["identifier"][0]["value"], "ALG-8");
}

const SCH: &str = "SCH|PL-1^HOSP|FL-1^HOSP|||||CHECKUP^Check-up^HL70276|NORMAL^Normal^HL70277|30|MIN|^^^20240310090000+0100^20240310093000+0100||||||||||||||Booked";

#[test]
fn siu_events_set_the_appointment_status() {
    for (trigger, status) in [
        ("S12", "booked"),
        ("S13", "booked"),
        ("S14", "booked"),
        ("S15", "cancelled"),
        ("S16", "cancelled"),
        ("S17", "entered-in-error"),
        ("S26", "noshow"),
    ] {
        let t = run(
            &format!("SIU^{trigger}^SIU_S12"),
            &[
                SCH,
                PID1,
                "RGS|1",
                "AIL|1||4E^401^^HOSP",
                "AIP|1||D1^Doc^Dora|ATND",
            ],
        );
        let a = of_type(&t.output, "Appointment");
        assert_eq!(a.len(), 1);
        assert_eq!(a[0]["status"], status, "SIU^{trigger}");
        // SCH-25 says Booked: an event that overrides it says so
        let warned = t.warnings.iter().any(|w| w.location == "SCH-25");
        assert_eq!(warned, status != "booked", "SIU^{trigger}");
        assert_eq!(a[0]["participant"].as_array().map(Vec::len), Some(3));
    }
}

#[test]
fn dft_p03_gives_charge_items_with_codes_and_amounts() {
    let t = run(
        "DFT^P03^DFT_P03",
        &[
            EVN,
            "PID|1||P1^^^HOSP&1.2.3.4&ISO^MR||Alpha^Ann|||||||||||||ACC9^^^HOSP&1.2.3.4&ISO^AN",
            "PV1|1|O|CLIN^^^HOSP||||||||||||||||V1^^^HOSP&1.2.3.4&ISO^VN",
            "FT1|1|T-1^HOSP||20240301|20240302|CG|71045^X-ray chest 1 view^C4|||2|100.50&EUR||||||||R07.4^Chest pain^I10|D1^Doc^Dora",
            "FT1|2|T-2^HOSP||20240301|20240302|CG|99213^Office visit^C4|||1|80&EUR",
            "FT1|3|T-3^HOSP||20240301|20240302|CD|99213^Office visit^C4|||1|-80&EUR",
        ],
    );
    let b = &t.output;
    let items = of_type(b, "ChargeItem");
    assert_eq!(items.len(), 2, "the credit (FT1-6 CD) is not a charge");
    assert!(t
        .unmapped
        .iter()
        .any(|u| u.location == "FT1(3)-6" && u.reason.contains("not a charge")));
    let x = items
        .iter()
        .find(|c| c["code"]["coding"][0]["code"] == "71045")
        .unwrap();
    assert_eq!(
        x["code"]["coding"][0]["system"],
        "http://www.ama-assn.org/go/cpt"
    );
    assert_eq!(x["status"], "billable");
    assert_eq!(x["quantity"]["value"], 2);
    assert_eq!(x["priceOverride"]["value"], 100.5);
    assert_eq!(x["priceOverride"]["currency"], "EUR");
    assert_eq!(x["occurrenceDateTime"], "2024-03-01");
    assert_eq!(x["enteredDate"], "2024-03-02");
    assert_eq!(x["reason"][0]["coding"][0]["code"], "R07.4");
    assert!(x["performer"][0]["actor"]["reference"].is_string());
    let account = of_type(b, "Account")[0];
    assert_eq!(x["account"][0]["reference"], full_url_of(b, account));
    let enc = of_type(b, "Encounter")[0];
    assert_eq!(x["context"]["reference"], full_url_of(b, enc));
    let v = items
        .iter()
        .find(|c| c["code"]["coding"][0]["code"] == "99213")
        .unwrap();
    assert_eq!(v["priceOverride"]["value"], 80);
}

#[test]
fn bar_p01_gt1_is_the_accounts_guarantor() {
    let t = run(
        "BAR^P01^BAR_P01",
        &[
            EVN,
            "PID|1||P1^^^HOSP&1.2.3.4&ISO^MR||Alpha^Ann|||||||||||||ACC9^^^HOSP&1.2.3.4&ISO^AN",
            "PV1|1|O",
            "DG1|1||R07.4^Chest pain^I10",
            "GT1|1|G-1^^^HOSP&1.2.3.4&ISO|Alpha^Carl||1 Main St^^Town^^12345|555-1234|||M||FTH^Father^HL70063||20240101|20241231",
            "GT1|2||Alpha^Ann||||||||SEL^Self^HL70063",
        ],
    );
    let b = &t.output;
    let account = of_type(b, "Account")[0];
    let g = account["guarantor"].as_array().unwrap();
    assert_eq!(g.len(), 2);
    let rp = resource_at(b, g[0]["party"]["reference"].as_str().unwrap());
    assert_eq!(rp["resourceType"], "RelatedPerson");
    assert_eq!(rp["name"][0]["family"], "Alpha");
    assert_eq!(rp["relationship"][0]["coding"][0]["code"], "FTH");
    assert_eq!(rp["gender"], "male");
    assert_eq!(g[0]["period"]["start"], "2024-01-01");
    let me = resource_at(b, g[1]["party"]["reference"].as_str().unwrap());
    assert_eq!(me["resourceType"], "Patient");
    assert_eq!(of_type(b, "Condition").len(), 1);
}

const ORC: &str = "ORC|NW|RX-1^PHARM^1.2.3.5^ISO|||||||20240301100000+0100|||D1^Doc^Dora";

#[test]
fn rde_o11_gives_a_medication_request_with_route_and_dose() {
    let t = run(
        "RDE^O11^RDE_O11",
        &[
            PID1,
            "PV1|1|I",
            ORC,
            "RXO|197361^Amlodipine 5 MG Oral Tablet^RXNORM|5||mg^milligram^UCUM|||^1 tablet daily||||30|TAB^tablet^HL70292|2",
            "RXR|PO^Oral^HL70162",
            "RXE||197361^Amlodipine 5 MG Oral Tablet^RXNORM|5|10|mg^milligram^UCUM||^1 to 2 tablets daily|||30|TAB^tablet^HL70292|2|||RX-778",
            "RXR|PO^Oral^HL70162|LA^Left arm^HL70163",
        ],
    );
    let b = &t.output;
    let reqs = of_type(b, "MedicationRequest");
    assert_eq!(reqs.len(), 2);
    let rxo = reqs
        .iter()
        .find(|r| r["intent"] == "original-order")
        .unwrap();
    let rxe = reqs.iter().find(|r| r["intent"] == "order").unwrap();
    // the ORC's placer number and status go to the first pharmacy order
    assert_eq!(rxo["identifier"][0]["value"], "RX-1");
    assert_eq!(rxo["status"], "active");
    assert_eq!(rxe["basedOn"][0]["reference"], full_url_of(b, rxo));
    assert_eq!(rxe["identifier"][0]["value"], "RX-778");
    assert_eq!(
        rxe["medicationCodeableConcept"]["coding"][0]["code"],
        "197361"
    );
    let d = &rxe["dosageInstruction"][0];
    assert_eq!(d["route"]["coding"][0]["code"], "PO");
    assert_eq!(d["site"]["coding"][0]["code"], "LA");
    assert_eq!(d["text"], "1 to 2 tablets daily");
    let range = &d["doseAndRate"][0]["doseRange"];
    assert_eq!(range["low"]["value"], 5);
    assert_eq!(range["high"]["value"], 10);
    assert_eq!(range["low"]["code"], "mg");
    assert_eq!(range["low"]["system"], "http://unitsofmeasure.org");
    assert_eq!(rxe["dispenseRequest"]["quantity"]["value"], 30);
    assert_eq!(rxe["dispenseRequest"]["numberOfRepeatsAllowed"], 2);
    assert_eq!(
        rxo["dosageInstruction"][0]["route"]["coding"][0]["code"],
        "PO"
    );
    assert!(rxo["requester"]["reference"].is_string());
}

#[test]
fn rds_o13_gives_a_dispense_of_the_order() {
    let t = run(
        "RDS^O13^RDS_O13",
        &[
            PID1,
            ORC,
            "RXE||197361^Amlodipine 5 MG Oral Tablet^RXNORM|5||mg^milligram^UCUM",
            "RXD|1|197361^Amlodipine 5 MG Oral Tablet^RXNORM|20240302120000+0100|30|TAB^tablet^HL70292||RX-778|||P9^Pharm^Paul",
            "RXR|PO^Oral^HL70162",
        ],
    );
    let b = &t.output;
    let req = of_type(b, "MedicationRequest")[0];
    let d = of_type(b, "MedicationDispense")[0];
    assert_eq!(d["status"], "completed");
    assert_eq!(
        d["authorizingPrescription"][0]["reference"],
        full_url_of(b, req)
    );
    assert_eq!(d["quantity"]["value"], 30);
    assert_eq!(d["whenHandedOver"], "2024-03-02T12:00:00+01:00");
    assert_eq!(
        d["dosageInstruction"][0]["route"]["coding"][0]["code"],
        "PO"
    );
    assert!(req
        .get("dosageInstruction")
        .is_some_and(|x| x[0].get("route").is_none()));
}

const TXA_PARENT: &str = "TXA|1|CN^Consultation note|TX|||20240301100000+0100||||||DOC-2^HOSP^1.2.3.6^ISO|DOC-1^HOSP^1.2.3.6^ISO||||AU||AV";

#[test]
fn mdm_addenda_replacements_and_cancels() {
    for (trigger, relation) in [
        ("T06", Some("appends")),
        ("T10", Some("replaces")),
        ("T02", None),
    ] {
        let t = run(
            &format!("MDM^{trigger}^MDM_T02"),
            &[
                EVN,
                PID1,
                TXA_PARENT,
                "OBX|1|TX|CN^Note||Addendum text||||||F",
            ],
        );
        let d = of_type(&t.output, "DocumentReference")[0];
        match relation {
            Some(code) => {
                assert_eq!(d["relatesTo"][0]["code"], code, "MDM^{trigger}");
                assert_eq!(d["relatesTo"][0]["target"]["identifier"]["value"], "DOC-1");
            }
            None => {
                assert!(d.get("relatesTo").is_none());
                // TXA-13 is not used there: it stays in the report
                assert!(t.unmapped.iter().any(|u| u.location == "TXA-13"));
            }
        }
        assert_eq!(d["status"], "current");
        assert!(d["content"][0]["attachment"]["data"].is_string());
    }
    // T01 and T05 (notifications) have no OBX content
    let t = run("MDM^T01^MDM_T01", &[EVN, PID1, TXA_PARENT]);
    let d = of_type(&t.output, "DocumentReference")[0];
    assert!(d["content"][0]["attachment"].get("data").is_none());
    let t = run("MDM^T11^MDM_T01", &[EVN, PID1, TXA_PARENT]);
    assert_eq!(
        of_type(&t.output, "DocumentReference")[0]["status"],
        "entered-in-error"
    );
}

#[test]
fn ppr_problems_goals_and_pathways() {
    let t = run(
        "PPR^PC1^PPR_PC1",
        &[
            PID1,
            "PRB|AD|20240301|38341003^Hypertension^SCT|PRB-1||||||||||Active||20230101",
            "PRB|UP|20240301|44054006^Diabetes^SCT|PRB-2|||||20240201|||||Resolved",
            "PRB|DE|20240301|22298006^Myocardial infarction^SCT|PRB-3||||||||||Deleted",
            "GOL|AD|20240301|BP^Blood pressure below 140/90^L|GOL-1|||20240301|20240901||||||||||Active",
            "PTH|AD|HTN^Hypertension pathway^L|PTH-1|20240301|Active",
        ],
    );
    let b = &t.output;
    let c = of_type(b, "Condition");
    assert_eq!(c.len(), 3);
    assert_eq!(c[0]["clinicalStatus"]["coding"][0]["code"], "active");
    assert_eq!(
        c[0]["category"][0]["coding"][0]["code"],
        "problem-list-item"
    );
    assert_eq!(c[0]["onsetDateTime"], "2023-01-01");
    assert_eq!(c[1]["clinicalStatus"]["coding"][0]["code"], "resolved");
    assert_eq!(c[1]["abatementDateTime"], "2024-02-01");
    assert_eq!(
        c[2]["verificationStatus"]["coding"][0]["code"],
        "entered-in-error"
    );
    assert!(c[2].get("clinicalStatus").is_none());
    let g = of_type(b, "Goal")[0];
    assert_eq!(g["lifecycleStatus"], "active");
    assert_eq!(g["description"]["coding"][0]["code"], "BP");
    assert_eq!(g["target"][0]["dueDate"], "2024-09-01");
    let p = of_type(b, "CarePlan")[0];
    assert_eq!(p["status"], "active");
    assert_eq!(p["intent"], "plan");
    assert_eq!(p["period"]["start"], "2024-03-01");
}

#[test]
fn ack_and_order_responses_carry_the_acknowledgment() {
    for (code, fhir) in [
        ("AA", "ok"),
        ("AE", "fatal-error"),
        ("AR", "transient-error"),
    ] {
        let t = run("ACK^A01^ACK", &[&format!("MSA|{code}|ORIG-1")]);
        let h = of_type(&t.output, "MessageHeader")[0];
        assert_eq!(h["response"]["identifier"], "ORIG-1");
        assert_eq!(h["response"]["code"], fhir);
    }
    // ORR^O02: the acknowledgment and the order it answers, no PID needed
    let t = run(
        "ORR^O02^ORR_O02",
        &["MSA|AA|ORIG-2", "ORC|OK|ORD-1^HOSP^1.2.3.7^ISO"],
    );
    assert_eq!(
        of_type(&t.output, "MessageHeader")[0]["response"]["code"],
        "ok"
    );
}

#[test]
fn point_of_care_and_specimen_results() {
    for kind in ["ORU^R30^ORU_R30", "ORU^R31^ORU_R30", "ORU^R32^ORU_R30"] {
        let t = run(
            kind,
            &[
                PID1,
                "ORC|NW|ORD-1^HOSP^1.2.3.7^ISO",
                "OBR|1|ORD-1^HOSP^1.2.3.7^ISO||2345-7^Glucose^LN|||20240301090000+0100",
                "OBX|1|NM|2345-7^Glucose^LN||95|mg/dL^mg/dL^UCUM|||||F",
            ],
        );
        let o = of_type(&t.output, "Observation");
        assert_eq!(o.len(), 1, "{kind}");
        assert_eq!(o[0]["valueQuantity"]["value"], 95);
    }
    // OUL^R22: the patient group is optional
    let t = run(
        "OUL^R22^OUL_R22",
        &[
            "SPM|1|SP-1^HOSP||119297000^Blood specimen^SCT",
            "OBR|1|ORD-2^HOSP^1.2.3.7^ISO||2345-7^Glucose^LN",
            "OBX|1|NM|2345-7^Glucose^LN||101|mg/dL^mg/dL^UCUM|||||F",
        ],
    );
    assert_eq!(of_type(&t.output, "Specimen").len(), 1);
    let o = of_type(&t.output, "Observation");
    assert_eq!(o.len(), 1);
    assert!(o[0].get("subject").is_none(), "no PID: no subject");
}

/// One message per new type, to its v2.8 structure with the segments its
/// family needs: each translates in strict mode to a valid Bundle with
/// the resources that family is about.
#[test]
fn every_new_type_translates_to_a_valid_bundle() {
    let adt = [EVN, PID1, "PV1|1|I|4E^401^1^HOSP"];
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "ADT^A18",
            &[EVN, PID1, "MRG|OLD1^^^HOSP&1.2.3.4&ISO^MR"],
            "Patient",
        ),
        ("ADT^A23", &adt, "Encounter"),
        ("ADT^A32", &adt, "Encounter"),
        ("ADT^A33", &adt, "Encounter"),
        (
            "ADT^A34",
            &[EVN, PID1, "MRG|OLD1^^^HOSP&1.2.3.4&ISO^MR"],
            "Patient",
        ),
        (
            "ADT^A35",
            &[EVN, PID1, "MRG|||ACC0^^^HOSP&1.2.3.4&ISO^AN"],
            "Account",
        ),
        (
            "ADT^A36",
            &[EVN, PID1, "MRG|OLD1^^^HOSP&1.2.3.4&ISO^MR"],
            "Patient",
        ),
        (
            "ADT^A39",
            &[EVN, PID1, "MRG|OLD1^^^HOSP&1.2.3.4&ISO^MR"],
            "Patient",
        ),
        (
            "ADT^A42",
            &[EVN, PID1, "MRG|||||V0^^^HOSP&1.2.3.4&ISO^VN", "PV1|1|I"],
            "Encounter",
        ),
        (
            "ADT^A44",
            &[EVN, PID1, "MRG|||ACC0^^^HOSP&1.2.3.4&ISO^AN"],
            "Account",
        ),
        (
            "ADT^A45",
            &[EVN, PID1, "MRG|||||V0^^^HOSP&1.2.3.4&ISO^VN", "PV1|1|I"],
            "Encounter",
        ),
        (
            "ADT^A46",
            &[EVN, PID1, "MRG|OLD1^^^HOSP&1.2.3.4&ISO^MR"],
            "Patient",
        ),
        ("ADT^A52", &adt, "Encounter"),
        ("ADT^A53", &adt, "Encounter"),
        ("ADT^A55", &adt, "Encounter"),
        ("BAR^P02", &[EVN, PID1], "Patient"),
        ("BAR^P05", &[EVN, PID1, "PV1|1|O"], "Encounter"),
        ("BAR^P06", &[EVN, PID1, "PV1|1|O"], "Encounter"),
        (
            "BAR^P10",
            &[EVN, PID1, "PV1|1|O", "PR1|1||0DT^Appendectomy^ICD10PCS"],
            "Procedure",
        ),
        (
            "BAR^P12",
            &[EVN, PID1, "PV1|1|O", "DG1|1||K35.8^Appendicitis^I10"],
            "Condition",
        ),
        (
            "DFT^P11",
            &[EVN, PID1, "FT1|1|||20240301||CG|99213^Visit^C4|||1"],
            "ChargeItem",
        ),
        ("MDM^T03", &[EVN, PID1, TXA_PARENT], "DocumentReference"),
        (
            "MDM^T04",
            &[EVN, PID1, TXA_PARENT, "OBX|1|TX|||Text"],
            "DocumentReference",
        ),
        ("MDM^T05", &[EVN, PID1, TXA_PARENT], "DocumentReference"),
        ("MDM^T07", &[EVN, PID1, TXA_PARENT], "DocumentReference"),
        (
            "MDM^T08",
            &[EVN, PID1, TXA_PARENT, "OBX|1|TX|||Text"],
            "DocumentReference",
        ),
        ("MDM^T09", &[EVN, PID1, TXA_PARENT], "DocumentReference"),
        (
            "OMG^O19",
            &[
                PID1,
                "ORC|NW|ORD-3^HOSP^1.2.3.7^ISO",
                "OBR|1|ORD-3^HOSP^1.2.3.7^ISO||24627-2^Chest CT^LN",
            ],
            "ServiceRequest",
        ),
        (
            "OMD^O03",
            &[PID1, "ORC|NW|ORD-4^HOSP^1.2.3.7^ISO"],
            "ServiceRequest",
        ),
        (
            "ORL^O22",
            &["MSA|AA|ORIG-3", PID1, "ORC|OK|ORD-5^HOSP^1.2.3.7^ISO"],
            "ServiceRequest",
        ),
        (
            "ORL^O34",
            &[
                "MSA|AA|ORIG-4",
                PID1,
                "SPM|1|SP-2^HOSP||119297000^Blood^SCT",
            ],
            "Specimen",
        ),
        (
            "OUL^R23",
            &[PID1, "SPM|1|SP-3^HOSP||119297000^Blood^SCT"],
            "Specimen",
        ),
        (
            "OUL^R24",
            &[
                PID1,
                "OBR|1|ORD-6^HOSP^1.2.3.7^ISO||2345-7^Glucose^LN",
                "OBX|1|NM|2345-7^Glucose^LN||99|mg/dL^mg/dL^UCUM|||||F",
            ],
            "Observation",
        ),
        (
            "RDE^O25",
            &[PID1, ORC, "RXE||197361^Amlodipine^RXNORM|5||mg^mg^UCUM"],
            "MedicationRequest",
        ),
        (
            "REF^I12",
            &[PID1, "PV1|1|O", "DG1|1||R07.4^Chest pain^I10"],
            "Condition",
        ),
        ("REF^I13", &[PID1, "PV1|1|O"], "Encounter"),
        ("REF^I14", &[PID1, "PV1|1|O"], "Encounter"),
        (
            "SIU^S18",
            &[SCH, PID1, "RGS|1", "AIS|1||CHK^Check-up^L"],
            "Appointment",
        ),
        ("SIU^S19", &[SCH, PID1], "Appointment"),
        ("SIU^S20", &[SCH, PID1], "Appointment"),
        ("SIU^S21", &[SCH, PID1], "Appointment"),
        ("SIU^S22", &[SCH, PID1], "Appointment"),
        ("SIU^S23", &[SCH, PID1], "Appointment"),
        ("SIU^S24", &[SCH, PID1], "Appointment"),
        (
            "PPR^PC2",
            &[
                PID1,
                "PRB|UP|20240301|38341003^Hypertension^SCT|PRB-1||||||||||Active",
            ],
            "Condition",
        ),
        (
            "PPR^PC3",
            &[PID1, "PRB|DE|20240301|38341003^Hypertension^SCT|PRB-1"],
            "Condition",
        ),
    ];
    for (kind, body, rtype) in cases {
        let t = run(kind, body);
        assert!(
            !of_type(&t.output, rtype).is_empty(),
            "{kind}: no {rtype} in {}",
            t.output
        );
    }
}

#[test]
fn order_timing_from_tq1() {
    // OML: ORC, TQ1, OBR: the TQ1 waits for the OBR's ServiceRequest
    let t = run(
        "OML^O21^OML_O21",
        &[
            PID1,
            "ORC|NW|ORD-7^HOSP^1.2.3.7^ISO",
            "TQ1|1||||||20240305080000+0100|20240305100000+0100|S^Stat^HL70485||Fasting",
            "OBR|1|ORD-7^HOSP^1.2.3.7^ISO||2345-7^Glucose^LN",
        ],
    );
    let sr = of_type(&t.output, "ServiceRequest")[0];
    assert_eq!(sr["priority"], "stat");
    assert_eq!(
        sr["occurrenceTiming"]["repeat"]["boundsPeriod"]["start"],
        "2024-03-05T08:00:00+01:00"
    );
    assert_eq!(sr["note"][0]["text"], "Fasting");
    // a priority outside the IG map is reported, not guessed
    let t = run(
        "OML^O21^OML_O21",
        &[
            PID1,
            "ORC|NW|ORD-8^HOSP^1.2.3.7^ISO",
            "TQ1|1||||||||P^Preop^HL70485",
            "OBR|1|ORD-8^HOSP^1.2.3.7^ISO||2345-7^Glucose^LN",
        ],
    );
    assert!(of_type(&t.output, "ServiceRequest")[0]
        .get("priority")
        .is_none());
    assert!(t.unmapped.iter().any(|u| u.location == "TQ1-9"));
    // RDE: a TQ1 after RXE goes to that request's dosage
    let t = run(
        "RDE^O11^RDE_O11",
        &[
            PID1,
            ORC,
            "RXE||197361^Amlodipine^RXNORM|5||mg^mg^UCUM",
            "TQ1|1||||||20240305|20240405|R^Routine^HL70485||Take with water",
        ],
    );
    let mr = of_type(&t.output, "MedicationRequest")[0];
    assert_eq!(mr["priority"], "routine");
    let d = &mr["dosageInstruction"][0];
    assert_eq!(d["timing"]["repeat"]["boundsPeriod"]["end"], "2024-04-05");
    assert_eq!(d["text"], "Take with water");
}
