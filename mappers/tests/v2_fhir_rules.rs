//! Rule-level tests of the v2 -> FHIR translator on small hand-written
//! messages: dates and zones, unknown codes, OBX value types, notes,
//! errors and their classification, limits.

// Test code: a failed expectation is a panic with the reason.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use ehrgate_mappers::error::{Classified, Fault};
use ehrgate_mappers::hl7v2::Message;
use ehrgate_mappers::translation::{Translation, Translator};
use ehrgate_mappers::v2fhir::{Config, V2FhirError, V2ToFhir};
use serde_json::Value;

const MSH: &str = "MSH|^~\\&|APP|FAC|RCV|RFAC|20240101120000+0100||";

fn run(body: &str, cfg: Config) -> Result<Translation<Value>, V2FhirError> {
    let text = format!("{MSH}{body}");
    let msg = Message::parse(text.as_bytes()).unwrap();
    V2ToFhir::new(cfg).unwrap().translate(&msg)
}

fn first<'a>(b: &'a Value, t: &str) -> &'a Value {
    b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == t)
        .unwrap_or_else(|| panic!("no {t}"))
}

#[test]
fn birth_time_keeps_precision_and_zone() {
    let t = run(
        "ADT^A01|1|P|2.5\rPID|1||1^^^H&1.2.3&ISO||Doe^J||198808181126+0215|M\rPV1|1|I\r",
        Config::default(),
    )
    .unwrap();
    let p = first(&t.output, "Patient");
    assert_eq!(p["birthDate"], "1988-08-18");
    assert_eq!(
        p["_birthDate"]["extension"][0]["valueDateTime"],
        "1988-08-18T11:26:00+02:15"
    );
    assert_eq!(p["gender"], "male");
    assert_eq!(first(&t.output, "Encounter")["class"]["code"], "IMP");
    assert_eq!(first(&t.output, "Encounter")["status"], "in-progress");
}

#[test]
fn time_without_zone_is_truncated_with_a_warning_or_uses_the_default_zone() {
    let body = format!(
        "ADT^A01|1|P|2.5\rPID|1||1^^^H&1.2.3&ISO||Doe^J\rPV1|1|I{}202401011230\r",
        "|".repeat(42)
    );
    let body = body.as_str();
    let t = run(body, Config::default()).unwrap();
    assert_eq!(
        first(&t.output, "Encounter")["period"]["start"],
        "2024-01-01"
    );
    assert!(t
        .warnings
        .iter()
        .any(|w| w.location == "PV1-44" && w.message.contains("zone")));
    let cfg = Config {
        default_timezone: Some("+01:00".into()),
        ..Config::default()
    };
    let t = run(body, cfg).unwrap();
    assert_eq!(
        first(&t.output, "Encounter")["period"]["start"],
        "2024-01-01T12:30:00+01:00"
    );
}

#[test]
fn unknown_codes_pass_through_or_are_reported_never_dropped() {
    let t = run(
        "ADT^A01|1|P|2.5\rPID|1||1^^^H&1.2.3&ISO||Doe^J|||Q||||||||ZZ^Odd\rPV1|1|X\r",
        Config::default(),
    )
    .unwrap();
    let p = first(&t.output, "Patient");
    assert!(p.get("gender").is_none());
    assert!(t
        .unmapped
        .iter()
        .any(|u| u.location == "PID-8" && u.reason.contains("0001")));
    // CWE-typed: passed through with the v2 table system and a warning
    assert_eq!(
        p["maritalStatus"]["coding"][0]["system"],
        "http://terminology.hl7.org/CodeSystem/v2-0002"
    );
    assert_eq!(p["maritalStatus"]["coding"][0]["code"], "ZZ");
    assert!(t.warnings.iter().any(|w| w.location == "PID-16"));
    let e = first(&t.output, "Encounter");
    assert_eq!(
        e["class"]["system"],
        "http://terminology.hl7.org/CodeSystem/v2-0004"
    );
    assert_eq!(e["class"]["code"], "X");
}

#[test]
fn obx_value_types() {
    let body = "ORU^R01|1|P|2.5\rPID|1||1^^^H&1.2.3&ISO||Doe^J\rOBR|1||F1^LAB^1.2.9^ISO|24331-1^Lipid^LN|||20240101\r\
OBX|1|NM|2093-3^Chol^LN||196|mg/dL^^UCUM|<200|N|||F\rNTE|1||fasting\r\
OBX|2|SN|1^a^LN||<^5|mmol/L|||||F\r\
OBX|3|SN|2^b^LN||^1^:^128||||||F\r\
OBX|4|CWE|3^c^LN||260385009^Negative^SCT||||||F\r\
OBX|5|TX|4^d^LN||line one~line two||||||P\r\
OBX|6|DT|5^e^LN||20240102||||||F\r";
    let t = run(body, Config::default()).unwrap();
    let obs: Vec<&Value> = t.output["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == "Observation")
        .collect();
    assert_eq!(obs.len(), 6);
    assert_eq!(obs[0]["valueQuantity"]["value"], 196);
    assert_eq!(
        obs[0]["valueQuantity"]["system"],
        "http://unitsofmeasure.org"
    );
    assert_eq!(obs[0]["valueQuantity"]["code"], "mg/dL");
    assert_eq!(obs[0]["note"][0]["text"], "fasting");
    assert_eq!(obs[0]["interpretation"][0]["coding"][0]["code"], "N");
    assert_eq!(obs[0]["status"], "final");
    assert_eq!(obs[1]["valueQuantity"]["comparator"], "<");
    assert_eq!(obs[2]["valueRatio"]["denominator"]["value"], 128);
    assert_eq!(
        obs[3]["valueCodeableConcept"]["coding"][0]["system"],
        "http://snomed.info/sct"
    );
    assert_eq!(obs[4]["valueString"], "line one\nline two");
    assert_eq!(obs[4]["status"], "preliminary");
    assert_eq!(obs[5]["valueDateTime"], "2024-01-02");
    let dr = first(&t.output, "DiagnosticReport");
    assert_eq!(dr["result"].as_array().map(Vec::len), Some(6));
    assert_eq!(dr["effectiveDateTime"], "2024-01-01");
}

#[test]
fn errors_are_classified_client_faults_with_locations() {
    let e = run("ADT^A01|1|P|2.5\rPV1|1|I\r", Config::default()).unwrap_err();
    assert!(matches!(
        e,
        V2FhirError::MissingSegment { segment: "PID", .. }
    ));
    assert_eq!(
        (e.fault(), e.code()),
        (Fault::Client, "v2fhir.missing-segment")
    );
    let e = run("QRY^Q01|1|P|2.5\rQRD|1\r", Config::default()).unwrap_err();
    assert_eq!(e.code(), "v2fhir.unsupported-message");
    let bad = Config {
        default_timezone: Some("CET".into()),
        ..Config::default()
    };
    assert!(V2ToFhir::new(bad).is_err());
}

#[test]
fn unmapped_segments_and_fields_are_listed_by_location() {
    let t = run("ADT^A01|1|P|2.5\rPID|1||1^^^H&1.2.3&ISO||Doe^J||||||||||||||||||||||||||||||||||||||X\rPV1|1|I\rDB1|1||Roe^R\r", Config::default()).unwrap();
    let locs: Vec<&str> = t.unmapped.iter().map(|u| u.location.as_str()).collect();
    assert!(locs.contains(&"DB1"), "{locs:?}");
    assert!(locs.iter().any(|l| l.starts_with("PID-")), "{locs:?}");
    assert!(!t.unmapped.iter().any(|u| u.location.contains("Roe")));
}

#[test]
fn sft_names_the_source_software_and_describes_the_devices() {
    let t = run(
        "ADT^A01|1|P|2.5\rSFT|Orion|2.4.3.52854|Rhapsody|2.4.3|Product info|20070725111624\r\
         SFT|Other|1.0|Relay\rPID|1||1^^^H&1.2.3&ISO||Doe^J\rPV1|1|I\r",
        Config::default(),
    )
    .unwrap();
    let src = &first(&t.output, "MessageHeader")["source"];
    assert_eq!(src["software"], "Rhapsody");
    assert_eq!(src["version"], "2.4.3.52854");
    assert_eq!(src["name"], "APP");
    // IG SFT[Device]: the first SFT completes the sending application's
    // Device (MSH-3), the Provenance source; a later SFT is a Device of
    // its own, a derivation
    let devices: Vec<&Value> = t.output["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == "Device")
        .collect();
    assert_eq!(devices.len(), 2);
    let app = devices[0];
    assert_eq!(app["identifier"][0]["value"], "APP");
    assert_eq!(app["manufacturer"], "Orion");
    assert_eq!(app["modelNumber"], "2.4.3");
    assert_eq!(app["note"][0]["text"], "Product info");
    assert_eq!(app["version"][0]["value"], "2.4.3.52854");
    assert_eq!(
        app["version"][0]["extension"][0]["valueDateTime"],
        "2007-07-25"
    );
    assert_eq!(devices[1]["manufacturer"], "Other");
    let prov = first(&t.output, "Provenance");
    let roles: Vec<&Value> = prov["entity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["role"])
        .collect();
    assert_eq!(roles, ["source", "derivation"]);
    let unmapped: Vec<&str> = t.unmapped.iter().map(|u| u.location.as_str()).collect();
    for loc in [
        "SFT-1", "SFT-2", "SFT-3", "SFT-4", "SFT-5", "SFT-6", "SFT(2)",
    ] {
        assert!(!unmapped.contains(&loc), "{loc} reported: {unmapped:?}");
    }
}

#[test]
fn person_location_becomes_a_location_hierarchy() {
    // PV1-3: point of care 4E, room 402, bed 1, facility GOOD HEALTH (with
    // an OID), PL-6 type N, building B1, floor F4, description; PV1-6
    // prior location: another room of the same ward
    let body = "ADT^A01|1|P|2.5\rPID|1||1^^^H&1.2.3&ISO||Doe^J\r\
                PV1|1|I|4E^402^1^GOOD HEALTH&1.2.840.99&ISO^^N^B1^F4^Window bed|||4E^401^^GOOD HEALTH&1.2.840.99&ISO^^^B1^F4\r";
    let t = run(body, Config::default()).unwrap();
    let entries = t.output["entry"].as_array().unwrap();
    let by_url = |url: &str| {
        entries
            .iter()
            .find(|e| e["fullUrl"] == url)
            .map(|e| &e["resource"])
            .unwrap_or_else(|| panic!("{url} does not resolve"))
    };
    let locations: Vec<&Value> = entries
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == "Location")
        .collect();
    // six levels, plus the other room: the shared levels are not repeated
    assert_eq!(locations.len(), 7, "{locations:#?}");
    let enc = first(&t.output, "Encounter");
    let bed = by_url(
        enc["location"][0]["location"]["reference"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(bed["name"], "1");
    assert_eq!(bed["physicalType"]["coding"][0]["code"], "bd");
    assert_eq!(bed["description"], "Window bed");
    let mut chain = vec![bed["name"].as_str().unwrap().to_owned()];
    let mut at = bed;
    while let Some(parent) = at["partOf"]["reference"].as_str() {
        at = by_url(parent);
        chain.push(at["name"].as_str().unwrap().to_owned());
    }
    assert_eq!(chain, ["1", "402", "F4", "4E", "B1", "GOOD HEALTH"]);
    assert_eq!(at["physicalType"]["coding"][0]["code"], "si");
    assert_eq!(at["identifier"][0]["system"], "urn:oid:1.2.840.99");
    assert_eq!(at["identifier"][0]["value"], "GOOD HEALTH");
    let prior = by_url(
        enc["location"][1]["location"]["reference"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(prior["name"], "401");
    assert_eq!(prior["physicalType"]["coding"][0]["code"], "ro");
    let floor = by_url(prior["partOf"]["reference"].as_str().unwrap());
    assert_eq!(floor["name"], "F4");
    let unmapped: Vec<&str> = t.unmapped.iter().map(|u| u.location.as_str()).collect();
    assert!(unmapped.contains(&"PV1-3-6"), "{unmapped:?}");
}

#[test]
fn rol_becomes_a_practitioner_role_of_the_patient_or_the_visit() {
    let rol = "ROL|1|AD|PP^Primary Care Provider^HL70443|121^Phoeb^Harold^H|20220101000000+0000|20220202000000+0000||||||^^Internet^doc@example.org|4E^402^^GOOD HEALTH|Clinic^^^^^^^^^C1";
    let body = format!(
        "ADT^A01|1|P|2.5\rPID|1||1^^^H&1.2.3&ISO||Doe^J\r{rol}\rPV1|1|I\r\
         ARV|1|A|LOC\rROL|2|AD|AT^Attending^HL70443|122^Wu^Li\rIN1|1|P1|CO^^^H&1.2.9&ISO|Insurer\r\
         ROL|3|AD|PP^Primary Care Provider^HL70443|123^Late^Ann\r"
    );
    let t = run(&body, Config::default()).unwrap();
    let entries = t.output["entry"].as_array().unwrap();
    let by_url = |url: &str| {
        entries
            .iter()
            .find(|e| e["fullUrl"] == url)
            .map(|e| &e["resource"])
            .unwrap_or_else(|| panic!("{url} does not resolve"))
    };
    let patient = first(&t.output, "Patient");
    let gp = by_url(
        patient["generalPractitioner"][0]["reference"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(gp["resourceType"], "PractitionerRole");
    assert_eq!(gp["code"][0]["coding"][0]["code"], "PP");
    assert_eq!(gp["period"]["start"], "2022-01-01T00:00:00+00:00");
    assert_eq!(gp["telecom"][0]["value"], "doc@example.org");
    let doc = by_url(gp["practitioner"]["reference"].as_str().unwrap());
    assert_eq!(doc["name"][0]["family"], "Phoeb");
    assert_eq!(
        by_url(gp["location"][0]["reference"].as_str().unwrap())["name"],
        "402"
    );
    assert_eq!(
        by_url(gp["organization"]["reference"].as_str().unwrap())["name"],
        "Clinic"
    );

    let enc = first(&t.output, "Encounter");
    let part = enc["participant"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["type"][0]["coding"][0]["code"] == "AT")
        .expect("attending participant");
    let role = by_url(part["individual"]["reference"].as_str().unwrap());
    assert_eq!(role["resourceType"], "PractitionerRole");
    let wu = by_url(role["practitioner"]["reference"].as_str().unwrap());
    assert_eq!(wu["name"][0]["family"], "Wu");
    assert_eq!(patient["generalPractitioner"].as_array().unwrap().len(), 1);

    // the ROL of the insurance group has no map yet: reported, not guessed;
    // ROL-2 (action code) is an instruction, not data
    let unmapped: Vec<&str> = t.unmapped.iter().map(|u| u.location.as_str()).collect();
    assert!(unmapped.contains(&"ROL(3)"), "{unmapped:?}");
    assert!(unmapped.contains(&"ROL-2") && unmapped.contains(&"ROL(2)-2"));
    assert!(!unmapped
        .iter()
        .any(|l| l.starts_with("ROL-4") || l.starts_with("ROL-13")));
}

#[test]
fn prt_becomes_a_practitioner_role_where_it_stands() {
    let body = "ORU^R01|1|P|2.5\rPID|1||1^^^H&1.2.3&ISO||Doe^J\r\
                PRT|1|AD||PP^Primary Care Provider^HL70912|10535^Beethoven^Ludwig|FP^Family practice^L|1^Hospital^HL70406|Good Health Hospital|4E^402\r\
                PV1|1|O\rPRT||AD||AD^Admitting Provider^HL70912|11^Bach^Johann||||||20210223093000+0100\r\
                OBR|1||F1|GLU^Glucose^L\rOBX|1|NM|GLU^Glucose^L||5.5|mmol/L\r\
                PRT||AD||RO^Responsible Observer^HL70912|12^Haydn^Joseph||||||||||^WPN^PH^^^555^1234\r\
                PRT||AD||EQUIP^Equipment^HL70912||||||DEV-1\r\
                ORC|NW|P2\rPRT||AD||OP^Ordering Provider^HL70912|13^Liszt^Franz\r";
    let t = run(body, Config::default()).unwrap();
    let entries = t.output["entry"].as_array().unwrap();
    let by_url = |url: &str| {
        entries
            .iter()
            .find(|e| e["fullUrl"] == url)
            .map(|e| &e["resource"])
            .unwrap_or_else(|| panic!("{url} does not resolve"))
    };
    let family = |role: &Value| {
        by_url(role["practitioner"]["reference"].as_str().unwrap())["name"][0]["family"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let gp = by_url(
        first(&t.output, "Patient")["generalPractitioner"][0]["reference"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(family(gp), "Beethoven");
    assert_eq!(gp["specialty"][0]["coding"][0]["code"], "FP");
    assert_eq!(
        by_url(gp["organization"]["reference"].as_str().unwrap())["name"],
        "Good Health Hospital"
    );
    assert_eq!(
        by_url(gp["location"][0]["reference"].as_str().unwrap())["name"],
        "402"
    );

    let enc = first(&t.output, "Encounter");
    let p = &enc["participant"][0];
    assert_eq!(p["type"][0]["coding"][0]["code"], "AD");
    assert_eq!(p["period"]["start"], "2021-02-23T09:30:00+01:00");
    assert_eq!(
        family(by_url(p["individual"]["reference"].as_str().unwrap())),
        "Bach"
    );

    let obs = first(&t.output, "Observation");
    let performers: Vec<String> = obs["performer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| by_url(r["reference"].as_str().unwrap()))
        .filter(|r| r["resourceType"] == "PractitionerRole")
        .map(family)
        .collect();
    assert_eq!(performers, ["Haydn"]);

    // a device participation and a PRT of an order group have no map yet
    let unmapped: Vec<&str> = t.unmapped.iter().map(|u| u.location.as_str()).collect();
    assert!(unmapped.contains(&"PRT(4)"), "{unmapped:?}");
    assert!(unmapped.contains(&"PRT(5)"), "{unmapped:?}");
    // PRT-7 organization unit type belongs on the Organization (IG), not built
    assert!(unmapped.contains(&"PRT-7"), "{unmapped:?}");
}

#[test]
fn in1_maps_payor_address_policy_holder_and_subscriber() {
    let in1 = |rel: &str, insured: &str| {
        format!(
            "IN1|1|PLAN1^Gold|ACME^^^H&1.2.9&ISO|Acme Insurance|1 Main St^^Springfield^IL^62701|||||G-7^^^EMP&1.2.10&ISO|Big Employer|20240101|20241231||HMO^HMO^L|{insured}|{rel}{}|POL-9{}|ID-49^^^ACME&1.2.9&ISO\r",
            "|".repeat(18),
            "|".repeat(12)
        )
    };
    let base = "ADT^A01|1|P|2.5\rPID|1||1^^^H&1.2.3&ISO||Doe^J\rPV1|1|I\r";
    let t = run(
        &format!("{base}{}", in1("SPO^Spouse^HL70063", "Doe^Mary")),
        Config::default(),
    )
    .unwrap();
    let entries = t.output["entry"].as_array().unwrap();
    let by_url = |url: &str| {
        entries
            .iter()
            .find(|e| e["fullUrl"] == url)
            .map(|e| &e["resource"])
            .unwrap_or_else(|| panic!("{url} does not resolve"))
    };
    let c = first(&t.output, "Coverage");
    assert_eq!(c["identifier"][0]["value"], "POL-9");
    assert_eq!(c["type"]["coding"][0]["code"], "HMO");
    let payor = by_url(c["payor"][0]["reference"].as_str().unwrap());
    assert_eq!(payor["name"], "Acme Insurance");
    assert_eq!(payor["address"][0]["city"], "Springfield");
    let holder = by_url(c["policyHolder"]["reference"].as_str().unwrap());
    assert_eq!(holder["name"], "Big Employer");
    assert_eq!(holder["identifier"][0]["value"], "G-7");
    let sub = by_url(c["subscriber"]["reference"].as_str().unwrap());
    assert_eq!(sub["resourceType"], "RelatedPerson");
    assert_eq!(sub["name"][0]["given"][0], "Mary");
    assert_eq!(sub["relationship"][0]["coding"][0]["code"], "SPS");
    let ext: Vec<&str> = c["extension"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["valueIdentifier"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(ext, ["G-7", "ID-49"]);
    let unmapped: Vec<&str> = t.unmapped.iter().map(|u| u.location.as_str()).collect();
    for done in ["IN1-5", "IN1-10", "IN1-11", "IN1-16", "IN1-49", "IN1-36"] {
        assert!(
            !unmapped.iter().any(|l| l.starts_with(done)),
            "{done}: {unmapped:?}"
        );
    }

    // the patient insured: the subscriber is the Patient itself
    let t = run(
        &format!("{base}{}", in1("SEL^Self^HL70063", "Doe^J")),
        Config::default(),
    )
    .unwrap();
    let c = first(&t.output, "Coverage");
    let patient_url = t.output["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Patient")
        .map(|e| e["fullUrl"].clone())
        .unwrap();
    assert_eq!(c["subscriber"]["reference"], patient_url);
}

#[test]
fn siu_resource_groups_and_general_resources() {
    let body = "SIU^S12|1|P|2.5\rSCH|A1|F1|||||ROUTINE^Routine^HL70276|||30|MIN\r\
                PID|1||1^^^H&1.2.3&ISO||Doe^J\rRGS|1|A|G7^Group\r\
                AIG|1|A|1001^XYZ X-Ray Machine^L|015^Imaging Equipment^L||||20210924093000+0215|||50|min^Minutes^ISO\r";
    let t = run(body, Config::default()).unwrap();
    let entries = t.output["entry"].as_array().unwrap();
    let app = first(&t.output, "Appointment");
    let part = app["participant"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["type"][0]["coding"][0]["code"] == "015")
        .expect("AIG participant");
    assert_eq!(part["period"]["start"], "2021-09-24T09:30:00+02:15");
    assert_eq!(part["status"], "accepted");
    let loc = entries
        .iter()
        .find(|e| e["fullUrl"] == part["actor"]["reference"])
        .map(|e| &e["resource"])
        .unwrap();
    assert_eq!(loc["resourceType"], "Location");
    assert_eq!(loc["identifier"][0]["value"], "1001");
    let unmapped: Vec<&str> = t.unmapped.iter().map(|u| u.location.as_str()).collect();
    // RGS is structure: only its action code and group id are reported
    assert!(
        !unmapped.contains(&"RGS") && !unmapped.contains(&"RGS-1"),
        "{unmapped:?}"
    );
    for loc in ["RGS-2", "RGS-3", "AIG-2", "AIG-3-2", "AIG-11", "AIG-12"] {
        assert!(unmapped.contains(&loc), "{loc}: {unmapped:?}");
    }
}

/// Specimens in the report's entries, by resource type count.
fn count(b: &Value, t: &str) -> usize {
    b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == t)
        .count()
}

#[test]
fn an_obr_makes_a_specimen_only_when_no_spm_of_its_group_describes_one() {
    let pid = "PID|1||1^^^H&1.2.3&ISO||Doe^J\r";
    let obr = |n: u32| format!("OBR|{n}|P{n}|F{n}^LAB|1^Test^L|||20240101||||||||BLD^Blood^L\r");
    let obx = "OBX|1|NM|1^X^L||5|mg|||||F\r";
    let spm = "SPM|1|S1||SER^Serum^L\r";
    // ORU: SPM after the OBR in its group
    let oru = format!(
        "ORU^R01|1|P|2.5.1\r{pid}{}{obx}{spm}{}{obx}",
        obr(1),
        obr(2)
    );
    let t = run(&oru, Config::default()).unwrap();
    assert_eq!(
        count(&t.output, "Specimen"),
        2,
        "group 1: the SPM's specimen only; group 2 (no SPM): the OBR's"
    );
    // OUL^R22: the SPM heads the group
    let oul = format!("OUL^R22|1|P|2.5.1\r{pid}{spm}{}{obx}", obr(1));
    let t = run(&oul, Config::default()).unwrap();
    assert_eq!(count(&t.output, "Specimen"), 1, "the SPM's specimen only");
    // OUL: an OBR before the first SPM heads no SPM group of its own
    let spm2 = "SPM|2|S2||SER^Serum^L\r";
    let oul = format!(
        "OUL^R22|1|P|2.5.1\r{pid}{}{obx}{spm2}{}{obx}",
        obr(1),
        obr(2)
    );
    let t = run(&oul, Config::default()).unwrap();
    assert_eq!(
        count(&t.output, "Specimen"),
        2,
        "OBR 1's own, then the SPM's"
    );
}
