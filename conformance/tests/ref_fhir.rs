//! The reference FHIR backend over real sockets: CRUD with versions,
//! schema validation, search, transactions (atomic), batches.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod refclient;

use ehrgate_conformance::corpus_dir;
use ehrgate_conformance::reference::fhir::{spawn, FhirConfig, FhirStats};
use ehrgate_conformance::reference::RefServer;
use http::{Method, StatusCode};
use refclient::{call, delete, get, post_json, put_json};
use serde_json::{json, Value};

async fn server() -> RefServer<FhirStats> {
    spawn(FhirConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn example(name: &str) -> Value {
    let p = corpus_dir().join("fhir/examples").join(name);
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn heart_rate(patient: &str, when: &str, bpm: i64) -> Value {
    json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": when,
        "valueQuantity": {"value": bpm, "unit": "beats/minute", "system": "http://unitsofmeasure.org", "code": "/min"}
    })
}

fn ids(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn crud_with_versions_and_if_match() {
    let s = server().await;
    let base = s.base_url.clone();
    let created = post_json(
        &format!("{base}/Observation"),
        &example("Observation-heart-rate.json"),
        &[],
    )
    .await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    assert_eq!(created.header("etag"), Some("W/\"1\""));
    let r = created.json();
    let id = r["id"].as_str().unwrap().to_owned();
    assert_ne!(id, "heart-rate", "server assigns ids on create");
    assert_eq!(r["meta"]["versionId"], "1");
    assert_eq!(
        created.header("location").unwrap(),
        format!("{base}/Observation/{id}/_history/1")
    );

    let read = get(&format!("{base}/Observation/{id}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json(), r);

    let url = format!("{base}/Observation/{id}");
    let mut changed = r.clone();
    changed["status"] = json!("amended");
    let stale = put_json(&url, &changed, &[("if-match", "W/\"7\"")]).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.json()["resourceType"], "OperationOutcome");
    let ok = put_json(&url, &changed, &[("if-match", "W/\"1\"")]).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.header("etag"), Some("W/\"2\""));
    assert_eq!(ok.json()["meta"]["versionId"], "2");
    let v1 = get(&format!("{url}/_history/1")).await.json();
    assert_eq!(v1["status"], "final");
    let minimal = put_json(&url, &changed, &[("prefer", "return=minimal")]).await;
    assert_eq!(minimal.status, StatusCode::OK);
    assert!(minimal.body.is_empty());

    let other_id = put_json(&url, &json!({"resourceType": "Observation", "id": "other", "status": "final", "code": {"text": "x"}}), &[]).await;
    assert_eq!(other_id.status, StatusCode::BAD_REQUEST);
    let update_as_create = put_json(
        &format!("{base}/Observation/chosen-id"),
        &heart_rate("p1", "2024-01-01", 60),
        &[],
    )
    .await;
    assert_eq!(update_as_create.status, StatusCode::CREATED);

    assert_eq!(
        delete(&url, &[("if-match", "W/\"1\"")]).await.status,
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(delete(&url, &[]).await.status, StatusCode::NO_CONTENT);
    assert_eq!(get(&url).await.status, StatusCode::GONE);
    assert_eq!(
        get(&format!("{base}/Observation/nope")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        delete(&format!("{base}/Observation/nope"), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    assert_eq!(s.stats.created(), 2);
    assert_eq!(s.stats.updated(), 2);
    assert_eq!(s.stats.deleted(), 1);
    assert_eq!(s.stats.stored_resources().len(), 1);
    assert!(s.stats.recheck().is_empty());
}

#[tokio::test]
async fn invalid_resources_are_refused_with_an_operation_outcome() {
    let s = server().await;
    let base = s.base_url.clone();
    let not_json = call(Method::POST, &format!("{base}/Observation"), &[], "{nope").await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    assert_eq!(not_json.json()["resourceType"], "OperationOutcome");
    let wrong_type = post_json(
        &format!("{base}/Observation"),
        &example("Condition-example.json"),
        &[],
    )
    .await;
    assert_eq!(wrong_type.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        wrong_type.json()["issue"][0]["details"]["coding"][0]["code"],
        "fhir.wrong-type"
    );
    // Missing required `code`, `status` of the wrong type.
    let bad = json!({"resourceType": "Observation", "status": 7});
    let a = post_json(&format!("{base}/Observation"), &bad, &[]).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let oo = a.json();
    assert_eq!(
        oo["issue"][0]["details"]["coding"][0]["code"],
        "fhir.schema"
    );
    assert!(
        oo["issue"].as_array().unwrap().len() > 1,
        "schema errors listed: {oo}"
    );
    let unknown_element = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "colour": "red"});
    let a = post_json(&format!("{base}/Observation"), &unknown_element, &[]).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(s.stats.resources_stored(), 0);
    assert_eq!(s.stats.rejected_total(), 4);
    let cs = get(&format!("{base}/metadata")).await.json();
    // The corpus copy of the R4 schema lists FHIR versions up to 4.0.0 in
    // its `fhirVersion` enum; R4's own version is 4.0.1, which is what a
    // CapabilityStatement must say. That one error is the schema's.
    let errors = ehrgate_conformance::fhir_schema::schema_errors(&cs, 5).unwrap();
    assert!(
        errors.len() == 1 && errors[0].ends_with("at /fhirVersion"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn search_by_patient_code_date_id_with_paging() {
    let s = server().await;
    let base = s.base_url.clone();
    let mut made = Vec::new();
    for (p, when, bpm) in [
        ("p1", "2024-01-01T08:00:00Z", 60),
        ("p1", "2024-02-01T08:00:00+01:00", 70),
        ("p1", "2024-03-01", 80),
        ("p2", "2024-02-15T10:00:00Z", 90),
    ] {
        let a = post_json(
            &format!("{base}/Observation"),
            &heart_rate(p, when, bpm),
            &[],
        )
        .await;
        assert_eq!(a.status, StatusCode::CREATED);
        made.push(a.json()["id"].as_str().unwrap().to_owned());
    }
    let mut temp = heart_rate("p1", "2024-02-10", 1);
    temp["code"] = json!({"coding": [{"system": "http://loinc.org", "code": "8310-5"}]});
    temp["valueQuantity"] =
        json!({"value": 37, "unit": "Cel", "system": "http://unitsofmeasure.org", "code": "Cel"});
    let t = post_json(&format!("{base}/Observation"), &temp, &[])
        .await
        .json();

    let q = |query: &str| {
        let url = format!("{base}/Observation?{query}");
        async move { get(&url).await }
    };
    let all_p1 = q("patient=p1").await.json();
    assert_eq!(all_p1["type"], "searchset");
    assert_eq!(all_p1["total"], 4);
    assert_eq!(q("subject=Patient/p2").await.json()["total"], 1);
    assert_eq!(
        q("patient=Patient/p1&code=http://loinc.org|8867-4")
            .await
            .json()["total"],
        3
    );
    assert_eq!(q("code=8310-5").await.json()["total"], 1);
    assert_eq!(q("code=http://other|8310-5").await.json()["total"], 0);
    assert_eq!(q("code=8310-5,8867-4&patient=p2").await.json()["total"], 1);
    assert_eq!(
        ids(&q("patient=p1&date=ge2024-02-01&date=lt2024-03-01")
            .await
            .json())
        .len(),
        2
    );
    assert_eq!(q("date=2024-02").await.json()["total"], 3);
    assert_eq!(q("date=gt2024-02-29").await.json()["total"], 1);
    assert_eq!(q("date=le2024-01-01").await.json()["total"], 1);
    assert_eq!(
        q(&format!("_id={},{}", made[0], t["id"].as_str().unwrap()))
            .await
            .json()["total"],
        2
    );
    let sorted = q("patient=p1&code=8867-4&_sort=-date").await.json();
    assert_eq!(
        ids(&sorted),
        vec![made[2].clone(), made[1].clone(), made[0].clone()]
    );

    // Paging: 2 per page over 5.
    let page1 = q("_count=2").await.json();
    assert_eq!(page1["total"], 5);
    assert_eq!(ids(&page1).len(), 2);
    let next = page1["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let page2 = get(&next).await.json();
    assert_eq!(ids(&page2).len(), 2);
    assert!(ids(&page2).iter().all(|i| !ids(&page1).contains(i)));
    let page3 = get(page2["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .unwrap()["url"]
        .as_str()
        .unwrap())
    .await
    .json();
    assert_eq!(ids(&page3).len(), 1);
    assert!(page3["link"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["relation"] != "next"));
    assert!(ehrgate_conformance::fhir_schema::schema_errors(&page1, 5)
        .unwrap()
        .is_empty());

    assert_eq!(q("color=red").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(q("code:text=heart").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(q("date=ap2024").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(q("_count=x").await.status, StatusCode::BAD_REQUEST);
}

fn tx(entries: &[Value]) -> Value {
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

#[tokio::test]
async fn transactions_resolve_references_and_are_atomic() {
    let s = server().await;
    let base = s.base_url.clone();
    let patient = json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "123"}], "gender": "female"});
    let obs = {
        let mut o = heart_rate("x", "2024-05-01", 72);
        o["subject"] = json!({"reference": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"});
        o
    };
    let bundle = tx(&[
        json!({"fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a", "resource": patient,
               "request": {"method": "PUT", "url": "Patient?identifier=urn:mrn|123"}}),
        json!({"fullUrl": "urn:uuid:88f151c0-a954-468a-88f4-9d3b5f9c1d2e", "resource": obs,
               "request": {"method": "POST", "url": "Observation"}}),
    ]);
    let a = post_json(&base, &bundle, &[]).await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    let resp = a.json();
    assert_eq!(resp["type"], "transaction-response");
    assert!(ehrgate_conformance::fhir_schema::schema_errors(&resp, 5)
        .unwrap()
        .is_empty());
    let loc = resp["entry"][0]["response"]["location"].as_str().unwrap();
    let patient_id = loc.split('/').nth(1).unwrap().to_owned();
    assert_eq!(resp["entry"][0]["response"]["status"], "201 Created");
    let stored = s.stats.stored_resources();
    let o = stored
        .iter()
        .find(|r| r.resource_type == "Observation")
        .unwrap();
    assert_eq!(
        o.resource["subject"]["reference"],
        format!("Patient/{patient_id}")
    );

    // The same conditional PUT again updates the same Patient.
    let again = post_json(&base, &bundle, &[]).await.json();
    assert_eq!(again["entry"][0]["response"]["status"], "200 OK");
    assert_eq!(
        again["entry"][0]["response"]["location"],
        format!("Patient/{patient_id}/_history/2")
    );
    let before = (
        s.stats.created(),
        s.stats.updated(),
        s.stats.stored_resources().len(),
    );

    // One bad entry: nothing of the Bundle is stored.
    let mut bad_obs = heart_rate("x", "2024-05-02", 75);
    bad_obs["subject"] = json!({"reference": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"});
    let failing = tx(&[
        json!({"fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a", "resource": {"resourceType": "Patient", "gender": "male"},
               "request": {"method": "POST", "url": "Patient"}}),
        json!({"resource": bad_obs, "request": {"method": "POST", "url": "Observation"}}),
        json!({"resource": heart_rate("x", "2024-05-03", 1), "request": {"method": "PUT", "url": format!("Observation/{}", o.id), "ifMatch": "W/\"9\""}}),
    ]);
    let a = post_json(&base, &failing, &[]).await;
    assert_eq!(a.status, StatusCode::PRECONDITION_FAILED);
    assert!(a.json()["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .contains("entry[2]"));
    assert_eq!(
        (
            s.stats.created(),
            s.stats.updated(),
            s.stats.stored_resources().len()
        ),
        before
    );

    // A schema-invalid entry fails the whole Bundle before anything runs.
    let invalid = tx(&[
        json!({"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}}),
        json!({"resource": {"resourceType": "Observation", "status": "final"}, "request": {"method": "POST", "url": "Observation"}}),
    ]);
    assert_eq!(
        post_json(&base, &invalid, &[]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let wrong_url = tx(&[
        json!({"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Observation"}}),
    ]);
    assert_eq!(
        post_json(&base, &wrong_url, &[]).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        (
            s.stats.created(),
            s.stats.updated(),
            s.stats.stored_resources().len()
        ),
        before
    );

    let by_identifier = refclient::get(&format!("{base}/Patient?identifier=urn:mrn|123"))
        .await
        .json();
    assert_eq!(by_identifier["total"], 1);
    assert_eq!(
        by_identifier["entry"][0]["resource"]["id"],
        patient_id.as_str()
    );
    let other_system = refclient::get(&format!("{base}/Patient?identifier=urn:other|123"))
        .await
        .json();
    assert_eq!(other_system["total"], 0);

    // Two Patients with the identifier make the conditional update ambiguous.
    let dup =
        json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "123"}]});
    assert_eq!(
        post_json(&format!("{base}/Patient"), &dup, &[])
            .await
            .status,
        StatusCode::CREATED
    );
    let ambiguous = post_json(&base, &tx(&[json!({"resource": dup, "request": {"method": "PUT", "url": "Patient?identifier=urn:mrn|123"}})]), &[]).await;
    assert_eq!(ambiguous.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(s.stats.transactions(), 2);
    assert!(s.stats.recheck().is_empty());
}

#[tokio::test]
async fn batches_run_entries_independently() {
    let s = server().await;
    let base = s.base_url.clone();
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": heart_rate("p", "2024-01-01", 60), "request": {"method": "POST", "url": "Observation"}},
        {"request": {"method": "DELETE", "url": "Observation/missing"}},
        {"resource": heart_rate("p", "2024-01-02", 61), "request": {"method": "PUT", "url": "Observation/abc", "ifMatch": "W/\"3\""}}
    ]});
    let a = post_json(&base, &batch, &[]).await;
    assert_eq!(a.status, StatusCode::OK);
    let r = a.json();
    assert_eq!(r["type"], "batch-response");
    assert_eq!(r["entry"][0]["response"]["status"], "201 Created");
    assert_eq!(
        r["entry"][2]["response"]["status"],
        "412 Precondition Failed"
    );
    assert_eq!(s.stats.created(), 1);
    let collection = json!({"resourceType": "Bundle", "type": "collection"});
    assert_eq!(
        post_json(&base, &collection, &[]).await.status,
        StatusCode::BAD_REQUEST
    );
}
