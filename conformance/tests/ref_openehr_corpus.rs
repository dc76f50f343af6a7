//! The corpus compositions (EHRbase's own test data, canonical JSON and
//! FLAT) posted to the reference openEHR backend after uploading their
//! templates over the API. Each is stored, except a fixed list the shared
//! template check refuses although EHRbase accepts it; the list names why,
//! so a change in either direction shows up here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod refclient;

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;

use ehrgate_conformance::corpus_dir;
use ehrgate_conformance::reference::openehr::{spawn, OpenEhrConfig};
use http::{Method, StatusCode};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use refclient::{call, post_json};
use serde_json::Value;

/// Refused by `fhirconnect::check` (the check the gateway runs before
/// sending), accepted by EHRbase: `virology_finding_with_specimen` names its
/// other_context `[at0001]` with brackets inside the node id and leaves out
/// nodes the template requires.
const KNOWN_REFUSED: &[(&str, &str)] = &[(
    "canonical_json/virology_finding_with_specimen.json",
    "template.unknown-path",
)];

#[tokio::test]
async fn corpus_compositions_pass_the_template_check() {
    let s = spawn(OpenEhrConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = s.base_url.clone();
    let ehr = call(Method::POST, &format!("{base}/ehr"), &[], "").await;
    let ehr = ehr.header("etag").unwrap().trim_matches('"').to_owned();
    let c = corpus_dir();
    let manifest = std::fs::File::open(c.join("MANIFEST.tsv")).unwrap();
    let mut uploaded = BTreeSet::new();
    let mut refused: BTreeMap<String, String> = BTreeMap::new();
    let mut stored = 0;
    for line in std::io::BufReader::new(manifest).lines().skip(1) {
        let line = line.unwrap();
        let cols: Vec<&str> = line.split('\t').collect();
        let (path, template_id, opt) = (cols[0], cols[3], cols[4]);
        let Some(rel) = path.strip_prefix("openehr/compositions/") else {
            continue;
        };
        let flat = rel.starts_with("flat/");
        if !(flat || rel.starts_with("canonical_json/")) || !rel.ends_with(".json") {
            continue;
        }
        if uploaded.insert(template_id.to_owned()) {
            let a = call(
                Method::POST,
                &format!("{base}/definition/template/adl1.4"),
                &[("content-type", "application/xml")],
                std::fs::read(c.join(opt)).unwrap(),
            )
            .await;
            assert_eq!(a.status, StatusCode::CREATED, "{opt}");
        }
        let body: Value = serde_json::from_slice(&std::fs::read(c.join(path)).unwrap()).unwrap();
        let url = if flat {
            let t = utf8_percent_encode(template_id, NON_ALPHANUMERIC);
            format!("{base}/ehr/{ehr}/composition?format=FLAT&templateId={t}")
        } else {
            format!("{base}/ehr/{ehr}/composition")
        };
        let a = post_json(&url, &body, &[]).await;
        match a.status {
            // 204: EHRbase answers a create without `Prefer: return=representation`
            // with headers only.
            StatusCode::NO_CONTENT => stored += 1,
            StatusCode::UNPROCESSABLE_ENTITY => {
                refused.insert(
                    rel.to_owned(),
                    a.json()["message"].as_str().unwrap().to_owned(),
                );
            }
            other => panic!("{rel}: {other} {}", String::from_utf8_lossy(&a.body)),
        }
    }
    let expected: BTreeSet<&str> = KNOWN_REFUSED.iter().map(|(f, _)| *f).collect();
    let got: BTreeSet<&str> = refused.keys().map(String::as_str).collect();
    assert_eq!(got, expected, "refusals changed: {refused:#?}");
    for (file, code) in KNOWN_REFUSED {
        assert!(refused[*file].contains(code), "{file}: {}", refused[*file]);
    }
    assert!(stored >= 60, "{stored} stored");
    assert_eq!(s.stats.stored_compositions().len(), stored);
    assert!(s.stats.recheck().is_empty());
}
