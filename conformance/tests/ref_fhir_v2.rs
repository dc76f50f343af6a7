//! Every corpus HL7 v2 message, translated to a FHIR transaction Bundle,
//! is accepted whole by the reference FHIR backend (schema-valid, every
//! conditional update and reference resolvable), and replaying it
//! updates instead of duplicating: what the MLLP path relies on.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod refclient;

use ehrgate_conformance::corpus_files;
use ehrgate_conformance::reference::fhir::{spawn, FhirConfig};
use ehrgate_mappers::v2fhir::Config;
use http::StatusCode;
use refclient::post_json;

#[tokio::test]
async fn corpus_messages_land_as_transactions() {
    let s = spawn(FhirConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut sent = 0;
    let mut refused = Vec::new();
    // Every third message keeps the debug-build test short; the choice is
    // fixed, so failures reproduce.
    for path in corpus_files("hl7v2", ".hl7").into_iter().step_by(3) {
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let Ok(t) = common::translate_file(&name, Config::default(), true) else {
            continue;
        };
        sent += 1;
        let a = post_json(&s.base_url, &t.output, &[]).await;
        if a.status != StatusCode::OK {
            refused.push(format!(
                "{name}: {} {}",
                a.status,
                String::from_utf8_lossy(&a.body)
            ));
        }
    }
    assert!(sent > 40, "{sent} messages translated");
    assert!(
        refused.is_empty(),
        "{} refused:\n{}",
        refused.len(),
        refused.join("\n")
    );
    let stored = s.stats.stored_resources().len();
    assert!(stored > 100, "{stored}");
    assert!(s.stats.recheck().is_empty());

    // Replaying one message adds no resources.
    let t = common::translate_file("ADT-A01-01", Config::default(), true).unwrap();
    let before = s.stats.stored_resources().len();
    assert_eq!(
        post_json(&s.base_url, &t.output, &[]).await.status,
        StatusCode::OK
    );
    let after = s.stats.stored_resources().len();
    assert_eq!(
        post_json(&s.base_url, &t.output, &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(
        s.stats.stored_resources().len(),
        after,
        "replay adds nothing"
    );
    assert!(after >= before);
}
