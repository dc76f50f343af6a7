//! Golden tests for the segment maps and IG depth of issue 21's second
//! part, on messages written here to the v2.8 segment definitions (not
//! copied from the corpus): RXC, RXG, RXA outside VXU, IN1/IN2, PV2, PD1,
//! ARV, ROL/PRT after PR1 and OBR, the segments without a FHIR home, and
//! the IG rules XPN-15, CX-4 assigner, ORC-12 PractitionerRole, PID-21,
//! PV1-54, MSH-3/SFT Device and Provenance, SIU SCH-26/27, VXU ORC, OBR
//! Specimen and XTN-5..8. Every Bundle validates against the R4 JSON
//! schema and parses strictly with fhirbolt.

// Test code: a failed expectation is a panic with the reason.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::fhir_check::{fhirbolt_strict, schema_errors};
use common::{of_type, translate_bytes};
use ehrgate_mappers::translation::Translation;
use ehrgate_mappers::v2fhir::Config;
use serde_json::Value;

fn msg(kind: &str, body: &[&str]) -> String {
    let mut m = format!(
        "MSH|^~\\&|ADT^1.2.3.100^ISO|HOSP|RCV|RFAC|20240301101500+0100||{kind}|CTRL-{}|P|2.8\r",
        kind.replace('^', "-")
    );
    for s in body {
        m.push_str(s);
        m.push('\r');
    }
    m
}

/// A segment with the given fields at their sequence numbers (the rest
/// empty): long segments stay readable and each value is where the v2.8
/// definition puts it.
fn seg(name: &str, fields: &[(usize, &str)]) -> String {
    let last = fields.iter().map(|(i, _)| *i).max().unwrap_or(0);
    let mut out = vec![String::new(); last + 1];
    out[0] = name.to_owned();
    for (i, v) in fields {
        out[*i] = (*v).to_owned();
    }
    out.join("|")
}

fn run_with(cfg: Config, kind: &str, body: &[&str]) -> Translation<Value> {
    let text = msg(kind, body);
    let t = translate_bytes(text.as_bytes(), cfg, false).unwrap_or_else(|e| panic!("{kind}: {e}"));
    let errs = schema_errors(&t.output, 5).unwrap();
    assert!(errs.is_empty(), "{kind}: schema: {errs:?}");
    fhirbolt_strict(&t.output.to_string()).unwrap_or_else(|e| panic!("{kind}: fhirbolt: {e}"));
    t
}

fn run(kind: &str, body: &[&str]) -> Translation<Value> {
    run_with(Config::default(), kind, body)
}

fn url_of<'b>(bundle: &'b Value, resource: &Value) -> &'b str {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| &e["resource"] == resource)
        .and_then(|e| e["fullUrl"].as_str())
        .unwrap()
}

fn at<'b>(bundle: &'b Value, reference: &Value) -> &'b Value {
    let url = reference["reference"].as_str().unwrap();
    &bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["fullUrl"] == url)
        .unwrap_or_else(|| panic!("{url} not in the bundle"))["resource"]
}

fn unmapped(t: &Translation<Value>, location: &str) -> Option<String> {
    t.unmapped
        .iter()
        .find(|u| u.location == location)
        .map(|u| u.reason.to_string())
}

const EVN: &str = "EVN||20240301101500+0100";
const PID: &str = "PID|1||P1^^^HOSP&1.2.3.4&ISO^MR||Alpha^Ann^^^^^L^^^^^^^^Annie||19700101|F|||||^PRN^PH^^1^734^6777777^12";
const PV1: &str = "PV1|1|I|4E^401^1^HOSP||||||||||||||||V1^^^HOSP&1.2.3.4&ISO^VN";
const ORC: &str = "ORC|NW|RX-1^PHARM^1.2.3.5^ISO|||||||20240301100000+0100|||D1^Doc^Dora";

#[test]
fn rxc_components_make_the_orders_medication() {
    let t = run(
        "RDE^O11^RDE_O11",
        &[
            PID,
            PV1,
            ORC,
            "RXE||IVMIX^Nicardipine infusion^L|1||BAG^bag^L",
            "RXC|B|338-0049^Sodium chloride 0.9% 250 mL^NDC|250|mL^milliliter^UCUM",
            "RXC|A|0143-9634^Nicardipine 25 mg/10 mL^NDC|25|mg^milligram^UCUM|2.5|mg/mL^mg/mL^UCUM",
        ],
    );
    let b = &t.output;
    let req = of_type(b, "MedicationRequest")[0];
    assert!(req.get("medicationCodeableConcept").is_none());
    let med = at(b, &req["medicationReference"]);
    assert_eq!(med["resourceType"], "Medication");
    assert_eq!(med["code"]["coding"][0]["code"], "IVMIX");
    let ing = med["ingredient"].as_array().unwrap();
    assert_eq!(ing.len(), 2);
    assert_eq!(ing[0]["isActive"], false, "RXC-1 B: the base");
    assert_eq!(ing[1]["isActive"], true, "RXC-1 A: an additive");
    assert_eq!(
        ing[1]["itemCodeableConcept"]["coding"][0]["code"],
        "0143-9634"
    );
    assert_eq!(ing[1]["strength"]["numerator"]["value"], 25);
    assert_eq!(ing[1]["strength"]["numerator"]["code"], "mg");
    assert_eq!(ing[1]["strength"]["denominator"]["value"], 1);
    // the component strength has no place beside the amount: reported
    assert!(unmapped(&t, "RXC(2)-5").is_some());
}

#[test]
fn rgv_give_and_ras_administration() {
    let t = run(
        "RGV^O15^RGV_O15",
        &[
            PID,
            PV1,
            ORC,
            "RXE||197361^Amlodipine 5 MG Oral Tablet^RXNORM|5||mg^milligram^UCUM",
            &seg(
                "RXG",
                &[
                    (1, "1"),
                    (4, "197361^Amlodipine 5 MG Oral Tablet^RXNORM"),
                    (5, "5"),
                    (7, "mg^milligram^UCUM"),
                    (9, "^Give with water"),
                ],
            ),
            "RXR|PO^Oral^HL70162",
        ],
    );
    let b = &t.output;
    let reqs = of_type(b, "MedicationRequest");
    let order = reqs.iter().find(|r| r["intent"] == "order").unwrap();
    let give = reqs
        .iter()
        .find(|r| r["intent"] == "instance-order")
        .unwrap();
    assert_eq!(give["basedOn"][0]["reference"], url_of(b, order));
    assert_eq!(give["dosageInstruction"][0]["text"], "Give with water");
    assert_eq!(
        give["dosageInstruction"][0]["route"]["coding"][0]["code"],
        "PO"
    );
    assert_eq!(
        give["dosageInstruction"][0]["doseAndRate"][0]["doseRange"]["low"]["value"],
        5
    );

    let t = run(
        "RAS^O17^RAS_O17",
        &[
            PID,
            PV1,
            ORC,
            &seg(
                "RXA",
                &[
                    (1, "0"),
                    (2, "1"),
                    (3, "20240301120000+0100"),
                    (4, "20240301121500+0100"),
                    (5, "197361^Amlodipine 5 MG Oral Tablet^RXNORM"),
                    (6, "5"),
                    (7, "mg^milligram^UCUM"),
                    (9, "^Patient swallowed"),
                    (10, "N1^Nurse^Nina"),
                    (19, "I10^Hypertension^I10"),
                    (20, "CP"),
                ],
            ),
            "RXR|PO^Oral^HL70162|LA^Left arm^HL70163",
            &seg(
                "RXA",
                &[
                    (1, "0"),
                    (2, "2"),
                    (3, "20240302120000+0100"),
                    (5, "197361^Amlodipine 5 MG Oral Tablet^RXNORM"),
                    (6, "999"),
                    (18, "RFS^Refused^L"),
                    (20, "RE"),
                ],
            ),
        ],
    );
    let b = &t.output;
    assert!(of_type(b, "Immunization").is_empty(), "RAS is no VXU");
    let admins = of_type(b, "MedicationAdministration");
    assert_eq!(admins.len(), 2);
    let a = admins[0];
    assert_eq!(a["status"], "completed");
    assert_eq!(a["effectivePeriod"]["start"], "2024-03-01T12:00:00+01:00");
    assert_eq!(a["effectivePeriod"]["end"], "2024-03-01T12:15:00+01:00");
    assert_eq!(a["dosage"]["dose"]["value"], 5);
    assert_eq!(a["dosage"]["route"]["coding"][0]["code"], "PO");
    assert_eq!(a["dosage"]["site"]["coding"][0]["code"], "LA");
    assert_eq!(a["reasonCode"][0]["coding"][0]["code"], "I10");
    assert_eq!(a["note"][0]["text"], "Patient swallowed");
    assert_eq!(a["identifier"][0]["value"], "RX-1");
    let functions: Vec<&Value> = a["performer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["function"]["coding"][0]["code"])
        .collect();
    assert_eq!(functions, ["performer", "OP"]);
    let refused = admins[1];
    assert_eq!(refused["status"], "not-done");
    assert_eq!(refused["effectiveDateTime"], "2024-03-02T12:00:00+01:00");
    assert_eq!(refused["statusReason"][0]["coding"][0]["code"], "RFS");
    assert!(refused.get("dosage").is_none(), "999: amount unknown");
}

#[test]
fn vxu_rxa_stays_an_immunization_and_its_order_request_is_opt_in() {
    let body = [
        PID,
        "ORC|RE|IZ-1^HOSP^1.2.3.8^ISO||||||||||D1^Doc^Dora",
        "RXA|0|1|20240301|20240301|08^Hep B^CVX|0.5|mL^mL^UCUM",
    ];
    let t = run("VXU^V04^VXU_V04", &body);
    assert_eq!(of_type(&t.output, "Immunization").len(), 1);
    assert!(of_type(&t.output, "MedicationAdministration").is_empty());
    assert!(of_type(&t.output, "ServiceRequest").is_empty());
    let cfg = Config {
        vxu_order_requests: true,
        ..Config::default()
    };
    let t = run_with(cfg, "VXU^V04^VXU_V04", &body);
    let sr = of_type(&t.output, "ServiceRequest");
    assert_eq!(sr.len(), 1);
    assert_eq!(sr[0]["identifier"][0]["value"], "IZ-1");
    assert_eq!(
        at(&t.output, &sr[0]["requester"])["resourceType"],
        "PractitionerRole"
    );
}

#[test]
fn in1_in2_give_coverage_payor_and_subscriber() {
    let t = run(
        "ADT^A04^ADT_A01",
        &[
            EVN,
            PID,
            PV1,
            &seg(
                "IN1",
                &[
                    (1, "1"),
                    (2, "GOLD^Gold plan^L"),
                    (3, "INS1^^^HOSP&1.2.3.4&ISO"),
                    (4, "Acme Insurance"),
                    (5, "1 Main St^^Town^^12345"),
                    (12, "20240101"),
                    (13, "20241231"),
                    (15, "HMO^HMO^HL70086"),
                    (16, "Alpha^Bob"),
                    (17, "SPO^Spouse^HL70063"),
                    (36, "POL-77"),
                ],
            ),
            &seg(
                "IN2",
                &[
                    (1, "EMP-5^^^EMPL&1.2.3.9&ISO"),
                    (2, "123-45-6789"),
                    (6, "MED-1"),
                    (8, "MCD-2"),
                    (61, "MEM-3^^^INS1&1.2.3.4&ISO"),
                    (63, "^PRN^PH^^^555^1234567"),
                ],
            ),
            "IN3|1|CERT-1",
        ],
    );
    let b = &t.output;
    let c = of_type(b, "Coverage")[0];
    let payor = at(b, &c["payor"][0]);
    assert_eq!(payor["name"], "Acme Insurance");
    assert_eq!(c["class"][0]["value"], "GOLD");
    assert_eq!(c["period"]["start"], "2024-01-01");
    assert_eq!(c["relationship"]["coding"][0]["code"], "SPO");
    let types: Vec<&Value> = c["identifier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["type"]["coding"][0]["code"])
        .collect();
    assert!(types.contains(&&Value::from("MC")), "{types:?}");
    assert!(types.contains(&&Value::from("MA")));
    assert!(types.contains(&&Value::from("MB")));
    let sub = at(b, &c["subscriber"]);
    assert_eq!(sub["resourceType"], "RelatedPerson");
    assert_eq!(sub["name"][0]["family"], "Alpha");
    let ids: Vec<&Value> = sub["identifier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["value"])
        .collect();
    assert_eq!(ids, ["EMP-5", "123-45-6789"]);
    assert_eq!(sub["telecom"][0]["value"], "555 1234567");
    // IN3 has no FHIR home: reported once, with the reason
    assert!(unmapped(&t, "IN3").unwrap().contains("no FHIR R4 home"));
}

#[test]
fn segments_without_a_fhir_home_are_reported_with_the_reason() {
    let t = run(
        "ADT^A01^ADT_A01",
        &[
            EVN,
            PID,
            PV1,
            "ACC|20240229|AUTO^Auto accident^HL70050|Route 50",
            "DRG|470^Major joint replacement^MS-DRG",
            "UB1|1",
            "UB2|1|",
            "UAC|KERB|^^^^A^secret-token",
        ],
    );
    for seg in ["ACC", "DRG", "UB1", "UAC"] {
        let r = unmapped(&t, seg).unwrap_or_else(|| panic!("{seg} not reported"));
        assert!(
            r.contains("no FHIR R4 home") || r.contains("never copied"),
            "{seg}: {r}"
        );
    }
    // the credential never reaches the Bundle or the report
    assert!(!t.output.to_string().contains("secret-token"));
    assert!(!format!("{:?}", t.unmapped).contains("secret-token"));
}

#[test]
fn pv2_and_pd1_complete_encounter_and_patient() {
    let t = run(
        "ADT^A05^ADT_A05",
        &[
            EVN,
            PID,
            &seg(
                "PD1",
                &[
                    (3, "Good Clinic^^GC1"),
                    (4, "G1^Gp^Greta"),
                    (14, "Saint Mary Church"),
                ],
            ),
            PV1,
            &seg(
                "PV2",
                &[
                    (1, "4E^405^1^HOSP"),
                    (3, "CHK^Check-up^L"),
                    (8, "20240305080000+0100"),
                    (9, "20240308120000+0100"),
                    (11, "3"),
                    (12, "Elective knee surgery"),
                    (13, "R1^Ref^Rita"),
                    (22, "Y"),
                    (25, "2"),
                    (38, "H"),
                ],
            ),
        ],
    );
    let b = &t.output;
    let e = of_type(b, "Encounter")[0];
    let planned = e["location"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["status"] == "planned")
        .unwrap();
    assert_eq!(at(b, &planned["location"])["name"], "1");
    let ext: Vec<&str> = e["extension"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["url"].as_str().unwrap())
        .collect();
    assert!(ext
        .iter()
        .any(|u| u.ends_with("Encounter.plannedStartDate")));
    assert!(ext.iter().any(|u| u.ends_with("Encounter.plannedEndDate")));
    assert!(ext.iter().any(|u| u.ends_with("encounter-modeOfArrival")));
    assert_eq!(e["length"]["value"], 3);
    assert_eq!(e["length"]["code"], "d");
    assert!(e["text"]["div"]
        .as_str()
        .unwrap()
        .contains("Elective knee surgery"));
    assert_eq!(e["priority"]["coding"][0]["code"], "UR");
    assert_eq!(e["meta"]["security"][0]["code"], "R");
    assert!(e["participant"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["type"][0]["coding"][0]["code"] == "REF"));
    let p = of_type(b, "Patient")[0];
    assert!(p["extension"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["valueString"] == "Saint Mary Church"));
    assert_eq!(p["generalPractitioner"].as_array().map(Vec::len), Some(2));
}

#[test]
fn arv_restrictions_become_security_labels() {
    let t = run(
        "ADT^A01^ADT_A01",
        &[
            "ARV|1|A|ALL^All^HL70717|PAT",
            EVN,
            PID,
            "ARV|1|A|DEM^Demographics^HL70717|PAT",
            "ARV|2|D|LOC^Location^HL70717",
            PV1,
            "ARV|1|A|HIV^HIV status^HL70717",
        ],
    );
    let b = &t.output;
    assert_eq!(b["meta"]["security"][0]["code"], "ALL");
    let p = of_type(b, "Patient")[0];
    let labels = p["meta"]["security"].as_array().unwrap();
    assert_eq!(labels.len(), 1, "the D action lifts a label, adds none");
    assert_eq!(labels[0]["code"], "DEM");
    assert_eq!(
        labels[0]["system"],
        "http://terminology.hl7.org/CodeSystem/v2-0717"
    );
    assert_eq!(
        of_type(b, "Encounter")[0]["meta"]["security"][0]["code"],
        "HIV"
    );
    assert!(
        unmapped(&t, "ARV(2)-4").is_some(),
        "the reason has no Coding element"
    );
}

#[test]
fn roles_after_procedures_and_orders() {
    let t = run(
        "ADT^A01^ADT_A01",
        &[
            EVN,
            PID,
            PV1,
            "PR1|1||0SR90JZ^Knee replacement^ICD10PCS||20240301|A",
            "ROL|1|AD|SURG^Surgeon^L|S1^Cut^Sam",
        ],
    );
    let b = &t.output;
    let pr = of_type(b, "Procedure")[0];
    let perf = &pr["performer"][0];
    assert_eq!(perf["function"]["coding"][0]["code"], "SURG");
    assert_eq!(at(b, &perf["actor"])["resourceType"], "PractitionerRole");
    let t = run(
        "ORU^R01^ORU_R01",
        &[
            PID,
            "OBR|1|ORD-1^HOSP^1.2.3.7^ISO||2345-7^Glucose^LN|||20240301090000+0100",
            "PRT|1|AD||RI^Result interpreter^L|I1^Read^Ian",
            "OBX|1|NM|2345-7^Glucose^LN||95|mg/dL^mg/dL^UCUM|||||F",
        ],
    );
    let dr = of_type(&t.output, "DiagnosticReport")[0];
    assert_eq!(
        at(&t.output, &dr["performer"][0])["resourceType"],
        "PractitionerRole"
    );
}

#[test]
fn ig_depth_patient_names_identifiers_and_telecom() {
    let t = run(
        "ADT^A01^ADT_A01",
        &[
            EVN,
            &format!("{PID}||||||||M1^^^HOSP&1.2.3.4&ISO^MR"),
            &format!("{PV1}{}EP-1^^^HOSP&1.2.3.4&ISO", "|".repeat(35)),
        ],
    );
    let b = &t.output;
    let p = of_type(b, "Patient")[0];
    // IG XPN[HumanName] row 15: called-by is a second name, use nickname
    let nick = p["name"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["use"] == "nickname")
        .unwrap();
    assert_eq!(nick["given"][0], "Annie");
    // IG CX.4: the assigning authority is the identifier's assigner, one
    // Organization for every identifier HOSP assigned
    let assigner = at(b, &p["identifier"][0]["assigner"]);
    assert_eq!(assigner["resourceType"], "Organization");
    let enc = of_type(b, "Encounter")[0];
    assert_eq!(
        enc["identifier"][0]["assigner"]["reference"],
        p["identifier"][0]["assigner"]["reference"]
    );
    // IG XTN[ContactPoint]: "+"+5+" "+6+" "+7+" X"+8 and the parts
    let phone = &p["telecom"][0];
    assert_eq!(phone["value"], "+1 734 6777777 X12");
    let parts: Vec<&Value> = phone["extension"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["valueString"])
        .collect();
    assert_eq!(parts, ["1", "734", "6777777", "12"]);
    // IG PID-21 CX[RelatedPerson-Mother]
    let mother = of_type(b, "RelatedPerson")[0];
    assert_eq!(mother["identifier"][0]["value"], "M1");
    assert_eq!(mother["relationship"][0]["coding"][0]["code"], "MTH");
    assert_eq!(mother["patient"]["reference"], url_of(b, p));
    // IG PV1-54: the Encounter's EpisodeOfCare
    let ep = at(b, &enc["episodeOfCare"][0]);
    assert_eq!(ep["identifier"][0]["value"], "EP-1");
    assert_eq!(ep["patient"]["reference"], url_of(b, p));
}

#[test]
fn ig_depth_provenance_device_and_order_roles() {
    let t = run(
        "ORM^O01^ORM_O01",
        &[
            "SFT|Acme Labs|4.2|LabSys|B-77||20230101",
            "SFT|Relay Inc|1.0|Router",
            PID,
            &seg(
                "ORC",
                &[
                    (1, "NW"),
                    (2, "ORD-1^HOSP^1.2.3.7^ISO"),
                    (9, "20240301100000+0100"),
                    (12, "D1^Doc^Dora"),
                    (21, "Main Clinic^^MC1"),
                    (22, "2 Side St^^Town"),
                    (23, "^WPN^PH^^^555^7654321"),
                ],
            ),
            &seg(
                "OBR",
                &[
                    (1, "1"),
                    (2, "ORD-1^HOSP^1.2.3.7^ISO"),
                    (4, "2345-7^Glucose^LN"),
                    (16, "D9^Other^Olga"),
                ],
            ),
        ],
    );
    let b = &t.output;
    let prov = of_type(b, "Provenance")[0];
    assert_eq!(prov["recorded"], "2024-03-01T10:15:00+01:00");
    assert_eq!(
        prov["activity"]["coding"][0]["display"],
        "message - ORM^O01^ORM_O01"
    );
    let author = at(b, &prov["agent"][0]["who"]);
    assert_eq!(author["resourceType"], "Organization");
    let source = &prov["entity"][0];
    assert_eq!(source["role"], "source");
    let dev = at(b, &source["what"]);
    assert_eq!(dev["identifier"][0]["value"], "ADT");
    assert_eq!(dev["identifier"][1]["value"], "urn:oid:1.2.3.100");
    assert_eq!(dev["manufacturer"], "Acme Labs");
    assert_eq!(dev["version"][0]["value"], "4.2");
    assert_eq!(dev["deviceName"][0]["name"], "LabSys");
    assert_eq!(dev["modelNumber"], "B-77");
    assert_eq!(prov["entity"][1]["role"], "derivation");
    assert_eq!(
        at(b, &prov["entity"][1]["what"])["manufacturer"],
        "Relay Inc"
    );
    let header = of_type(b, "MessageHeader")[0];
    assert_eq!(prov["target"][0]["reference"], url_of(b, header));
    // IG ORC-12 requester(PractitionerRole): the provider at the ORC-21
    // facility; OBR-16 is the requester only IF ORC-12 NOT VALUED
    let sr = of_type(b, "ServiceRequest")[0];
    let role = at(b, &sr["requester"]);
    assert_eq!(role["resourceType"], "PractitionerRole");
    assert_eq!(at(b, &role["practitioner"])["name"][0]["family"], "Doc");
    let org = at(b, &role["organization"]);
    assert_eq!(org["name"], "Main Clinic");
    assert_eq!(org["address"][0]["line"][0], "2 Side St");
    assert_eq!(org["telecom"][0]["value"], "555 7654321");
    assert!(unmapped(&t, "OBR-16").is_some());
}

#[test]
fn ig_depth_siu_order_and_oru_specimen() {
    let t = run(
        "SIU^S12^SIU_S12",
        &[
            &seg(
                "SCH",
                &[
                    (1, "PL-1^HOSP"),
                    (2, "FL-1^HOSP"),
                    (7, "CHECKUP^Check-up^HL70276"),
                    (25, "Booked"),
                    (26, "ORD-5^HOSP^1.2.3.7^ISO"),
                ],
            ),
            PID,
        ],
    );
    let b = &t.output;
    let a = of_type(b, "Appointment")[0];
    let sr = at(b, &a["basedOn"][0]);
    assert_eq!(sr["resourceType"], "ServiceRequest");
    assert_eq!(sr["status"], "active");
    assert_eq!(sr["identifier"][0]["value"], "ORD-5");
    assert_eq!(
        sr["subject"]["reference"],
        url_of(b, of_type(b, "Patient")[0])
    );

    let t = run(
        "ORU^R01^ORU_R01",
        &[
            PID,
            &seg(
                "OBR",
                &[
                    (1, "1"),
                    (2, "ORD-1^HOSP^1.2.3.7^ISO"),
                    (4, "2345-7^Glucose^LN"),
                    (7, "20240301090000+0100"),
                    (9, "5^mL&milliliter&UCUM"),
                    (10, "C1^Draw^Carl"),
                    (14, "20240301093000+0100"),
                    (15, "BLD&Blood&HL70487^^^LA&Left arm&HL70163"),
                ],
            ),
            "OBX|1|NM|2345-7^Glucose^LN||95|mg/dL^mg/dL^UCUM|||||F",
        ],
    );
    let b = &t.output;
    let dr = of_type(b, "DiagnosticReport")[0];
    let s = at(b, &dr["specimen"][0]);
    assert_eq!(s["resourceType"], "Specimen");
    assert_eq!(s["type"]["coding"][0]["code"], "BLD");
    assert_eq!(s["collection"]["bodySite"]["coding"][0]["code"], "LA");
    assert_eq!(s["collection"]["quantity"]["value"], 5);
    assert_eq!(
        s["collection"]["collectedDateTime"],
        "2024-03-01T09:00:00+01:00"
    );
    assert_eq!(s["receivedTime"], "2024-03-01T09:30:00+01:00");
    assert_eq!(
        at(b, &s["collection"]["collector"])["name"][0]["family"],
        "Draw"
    );
    assert_eq!(s["accessionIdentifier"]["value"], "ORD-1");
    // an OBR without specimen data makes none
    let t = run(
        "ORU^R01^ORU_R01",
        &[
            PID,
            "OBR|1|ORD-1^HOSP^1.2.3.7^ISO||2345-7^Glucose^LN|||20240301090000+0100",
        ],
    );
    assert!(of_type(&t.output, "Specimen").is_empty());
}
