//! HL7 v2 feeds delivered to the reference openEHR backend through the
//! gateway's FHIR facade, over real TCP: corpus ADT, ORU and VXU messages
//! are acknowledged only after the backend stored what maps (EHRs from the
//! Patient entries, compositions from the served resource types), and a
//! backend that is down gets `AR`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mllp_support;

use ehrgate_conformance::reference::openehr::{spawn, OpenEhrConfig};
use mllp_support::*;

/// An openEHR backend storing vital signs only: the shipped lab report
/// mapping (DiagnosticReport) currently builds compositions the reference
/// backend's template check refuses (a code outside the template's list),
/// so DiagnosticReports are left out of this backend's templates.
fn openehr_backend(name: &str, base_url: &str) -> String {
    format!(
        "[[backend]]\nname = \"{name}\"\nkind = \"openehr\"\nurl = \"{base_url}\"\nrequest_timeout_ms = 5000\n\
         [backend.openehr]\ntemplates = {{ Observation = [\"EHRN Vital signs.v2\"] }}\n"
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
    // ADT: the patient's EHR and the compositions its segments map to.
    let raw = corpus("ADT-A01-01.hl7");
    let ack = c.call(&raw).await;
    assert_eq!(
        (ack.code.as_str(), ack.msa2.as_str()),
        ("AA", "MSG00001"),
        "{ack:?}"
    );
    assert_eq!(cdr.stats.ehrs_created(), 1);
    let after_adt = cdr.stats.compositions_stored();
    assert!(
        after_adt >= 1,
        "ADT-A01-01's vital-sign OBX stored as a composition"
    );

    // ORU with a vital sign: stored before the AA.
    let ack = c.call(&vitals_oru()).await;
    assert_eq!(
        (ack.code.as_str(), ack.msa2.as_str()),
        ("AA", "VITALS1"),
        "{ack:?}"
    );
    assert_eq!(cdr.stats.compositions_stored(), after_adt + 1);
    assert_eq!(cdr.stats.ehrs_created(), 1, "same patient, same EHR");

    // Corpus lab ORU and VXU: their observations fit no shipped template,
    // so they cannot be translated: AE (CE in enhanced mode) with the
    // reason, and nothing is left stored.
    for (file, code) in [
        ("ORU-R01-01.hl7", "CE"),
        ("VXU-V04-01.hl7", "AE"),
        ("VXU.hl7", "CE"),
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
            ack.err_text.contains("openEHR backend `cdr`"),
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
