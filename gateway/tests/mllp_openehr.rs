//! HL7 v2 feeds delivered to the reference openEHR backend through the
//! gateway's FHIR facade, over real TCP: corpus ADT, ORU and VXU messages
//! are acknowledged only after the backend stored what maps (EHRs from the
//! Patient entries, compositions from the served resource types), and a
//! backend that is down gets `AR`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mllp_support;

use ehrgate_conformance::reference::openehr::{spawn, OpenEhrConfig};
use mllp_support::*;

/// An openEHR backend storing vital signs, allergies and diagnoses: the shipped lab report
/// mapping (DiagnosticReport) currently builds compositions the reference
/// backend's template check refuses (a code outside the template's list),
/// so DiagnosticReports are left out of this backend's templates.
fn openehr_backend(name: &str, base_url: &str) -> String {
    format!(
        "[[backend]]\nname = \"{name}\"\nkind = \"openehr\"\nurl = \"{base_url}\"\nrequest_timeout_ms = 5000\n\
         [backend.openehr]\ntemplates = {{ Observation = [\"EHRN Vital signs.v2\"], \
         AllergyIntolerance = [\"Adverse Reaction List.v1\"], Condition = [\"IDCR - Problem List.v1\"] }}\n"
    )
}

/// An ORU^R01 made of corpus segments: ADT-A01-01's PID and its vital-sign
/// OBX (heart rate, LOINC 8867-4), under an OBR.
fn vitals_oru() -> Vec<u8> {
    let adt = String::from_utf8(corpus("ADT-A01-01.hl7")).unwrap();
    let line = |name: &str| {
        adt.lines()
            .find(|l| l.trim_start_matches('\u{feff}').starts_with(name))
            .unwrap()
            .to_string()
    };
    format!(
        "MSH|^~\\&|LABAPP|LAB|GW|HOSP|20240101120000||ORU^R01^ORU_R01|VITALS1|P|2.5.1\r{}\rOBR|1|||8716-3^Vital signs^LN\r{}\r",
        line("PID|"),
        line("OBX|")
    )
    .into_bytes()
}

/// An ADT^A01 made of ADT-A01-01's EVN, PID, PV1, AL1, DG1 and OBX.
fn adt_from_corpus_segments() -> Vec<u8> {
    let adt = String::from_utf8(corpus("ADT-A01-01.hl7")).unwrap();
    let msh = adt
        .lines()
        .find(|l| l.trim_start_matches('\u{feff}').starts_with("MSH|"))
        .unwrap()
        .trim_start_matches('\u{feff}')
        .trim_end_matches('\r');
    // Same sender and facilities, a control id of its own (MSH-10).
    let mut fields: Vec<&str> = msh.split('|').collect();
    fields[9] = "ADTCLIN1";
    let mut out = fields.join("|");
    out.push('\r');
    for name in ["EVN|", "PID|", "PV1|", "AL1|", "DG1|", "OBX|"] {
        let line = adt
            .lines()
            .find(|l| l.trim_start_matches('\u{feff}').starts_with(name))
            .unwrap();
        out.push_str(line.trim_end_matches('\r'));
        out.push('\r');
    }
    out.into_bytes()
}

fn control_id(raw: &[u8]) -> String {
    ehrgate_mappers::hl7v2::Message::parse(raw)
        .unwrap()
        .control_id()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_adt_oru_vxu_reach_the_reference_openehr_backend() {
    let cdr = spawn(
        OpenEhrConfig::with_shipped_templates(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let gw = gateway(&config(&format!(
        "{}[[mllp_route]]\nid = \"all\"\nstable = \"cdr\"\n",
        openehr_backend("cdr", &cdr.base_url)
    )))
    .await;
    let mut c = Client::connect(gw.mllp_addrs()[0]).await;
    // Corpus ADT-A01-01 also carries a procedure (PR1), which this backend
    // has no template for: refused whole with AR naming the type, so the
    // sender keeps it; no EHR is created and nothing is stored.
    let raw = corpus("ADT-A01-01.hl7");
    let ack = c.call(&raw).await;
    assert_eq!(
        (ack.code.as_str(), ack.msa2.as_str()),
        ("AR", "MSG00001"),
        "{ack:?}"
    );
    assert!(
        ack.err_text.contains("has no template for Procedure"),
        "{ack:?}"
    );
    assert_eq!(cdr.stats.ehrs_created(), 0);
    assert_eq!(cdr.stats.compositions_stored(), 0);

    // The same patient's ADT without the procedure: the EHR and a
    // composition per clinical segment (allergy, diagnosis, vital sign),
    // all stored before the AA.
    let raw = adt_from_corpus_segments();
    let ack = c.call(&raw).await;
    assert_eq!(
        (ack.code.as_str(), ack.msa2.as_str()),
        ("AA", "ADTCLIN1"),
        "{ack:?}"
    );
    assert_eq!(cdr.stats.ehrs_created(), 1);
    let after_adt = cdr.stats.compositions_stored();
    assert_eq!(
        after_adt, 3,
        "AL1, DG1 and the vital-sign OBX each stored as a composition"
    );

    // ORU with a vital sign: its OBR also becomes a DiagnosticReport, and
    // this backend has no DiagnosticReport template (see `openehr_backend`),
    // so the whole message is refused with AR naming the type; nothing of
    // it is stored (before, the report was dropped and the rest AA'd).
    let ack = c.call(&vitals_oru()).await;
    assert_eq!(
        (ack.code.as_str(), ack.msa2.as_str()),
        ("AR", "VITALS1"),
        "{ack:?}"
    );
    assert!(
        ack.err_text
            .contains("has no template for DiagnosticReport"),
        "{ack:?}"
    );
    assert_eq!(cdr.stats.compositions_stored(), after_adt);
    assert_eq!(cdr.stats.ehrs_created(), 1, "same patient, same EHR");

    // Corpus lab ORU and VXU carry clinical resources this backend has no
    // template for (the order, the specimen, the immunization): acknowledging
    // them would drop that content silently, so they are refused with AR
    // (CR in enhanced mode) and the reason, the sender keeps them, and
    // nothing is left stored.
    for (file, code) in [
        ("ORU-R01-01.hl7", "CR"),
        ("VXU-V04-01.hl7", "AR"),
        ("VXU.hl7", "CR"),
    ] {
        let raw = corpus(file);
        let stored = cdr.stats.compositions_stored() - cdr.stats.compositions_deleted();
        let ack = c.call(&raw).await;
        assert_eq!(
            (ack.code.as_str(), ack.msa2.as_str()),
            (code, control_id(&raw).as_str()),
            "{file}: {ack:?}"
        );
        assert_eq!(ack.err_code, "207", "{file}");
        assert!(
            ack.err_text
                .contains("openEHR backend `cdr` has no template for"),
            "{file}: {ack:?}"
        );
        assert_eq!(
            cdr.stats.compositions_stored() - cdr.stats.compositions_deleted(),
            stored,
            "{file}: nothing kept"
        );
    }
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openehr_backend_down_is_ar() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = dead.local_addr().unwrap();
    drop(dead);
    let gw = gateway(&config(&format!(
        "{}[[mllp_route]]\nid = \"all\"\nstable = \"cdr\"\n",
        openehr_backend("cdr", &format!("http://{addr}/ehrbase/rest/openehr/v1"))
    )))
    .await;
    let mut c = Client::connect(gw.mllp_addrs()[0]).await;
    let ack = c.call(&adt("DOWN1", "P1")).await;
    assert_eq!(
        (ack.code.as_str(), ack.msa2.as_str()),
        ("AR", "DOWN1"),
        "{ack:?}"
    );
    gw.shutdown().await;
}
