//! HL7 v2 feeds delivered to the reference FHIR backend (schema-validated,
//! atomic transactions) over real TCP: corpus ADT, ORU and VXU messages
//! become transaction Bundles that the backend stores whole before the
//! gateway answers AA (CA in enhanced mode); a replayed control id adds
//! nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mllp_support;

use ehrgate_conformance::reference::fhir::{spawn, FhirConfig};
use mllp_support::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_adt_oru_vxu_reach_the_reference_fhir_backend() {
    let fhir = spawn(FhirConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let gw = gateway(&config(&format!(
        "[[backend]]\nname = \"fhir\"\nkind = \"fhir\"\nurl = \"{}\"\nrequest_timeout_ms = 120000\n\
         [[mllp_route]]\nid = \"all\"\nstable = \"fhir\"\n",
        fhir.base_url
    )))
    .await;
    let mut c = Client::connect(gw.mllp_addrs()[0]).await;
    for (file, code) in [
        ("ADT-A01-01.hl7", "AA"),
        ("ORU-R01-01.hl7", "CA"),
        ("VXU-V04-01.hl7", "AA"),
        ("VXU.hl7", "AA"),
    ] {
        let raw = corpus(file);
        let id = ehrgate_mappers::hl7v2::Message::parse(&raw)
            .unwrap()
            .control_id()
            .unwrap();
        let (tx, stored) = (fhir.stats.transactions(), fhir.stats.resources_stored());
        // The first Bundle also compiles the backend's R4 schema (seconds
        // in a debug build): wait generously.
        c.send(&raw).await;
        let ack = c.recv_within(Duration::from_secs(120)).await.unwrap();
        assert_eq!(
            (ack.code.as_str(), ack.msa2.as_str()),
            (code, id.as_str()),
            "{file}: {ack:?}"
        );
        assert_eq!(fhir.stats.transactions(), tx + 1, "{file}: one transaction");
        assert!(
            fhir.stats.resources_stored() > stored,
            "{file}: resources stored"
        );
    }
    assert_eq!(
        fhir.stats.rejected_total(),
        0,
        "{:?}",
        fhir.stats.rejected()
    );
    // A replay (same sender, same MSH-10) is acknowledged, not re-sent.
    let tx = fhir.stats.transactions();
    let ack = c.call(&corpus("ADT-A01-01.hl7")).await;
    assert_eq!(ack.code, "AA");
    assert_eq!(fhir.stats.transactions(), tx);
    gw.shutdown().await;
}
