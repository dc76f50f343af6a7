//! The FHIR facade over a stub openEHR backend, on real sockets: create,
//! read, search, update, delete per shipped type; errors as
//! OperationOutcomes that leave the backend untouched; template uploads
//! invalidating the cache; transactions all-or-nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod stub_openehr;

use std::net::SocketAddr;

use bytes::Bytes;
use common::{client, send, start_gateway, ConfigDir};
use serde_json::{json, Value};
use stub_openehr::Stub;

fn example(name: &str) -> Value {
    let p = format!(
        "{}/../conformance/corpus/fhir/examples/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn config(stub: &Stub, extra: &str) -> String {
    format!(
        r#"
[server]
reload_poll_ms = 0
[[listener]]
bind = "127.0.0.1:0"
[[backend]]
name = "cdr"
url = "{}"
kind = "openehr"
[backend.openehr]
subject_namespace = "ns-default"
subject_namespaces = {{ acme = "ns-acme" }}
{extra}
[[tenant]]
id = "acme"
[[tenant]]
id = "other"
[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "cdr"
[[route]]
id = "openehr"
path_prefix = "/"
stable = "cdr"
"#,
        stub.url()
    )
}

struct Env {
    stub: Stub,
    gw: SocketAddr,
    _gateway: ehrgate::Gateway,
    _dir: ConfigDir,
    http: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Full<Bytes>,
    >,
}

async fn env(extra: &str) -> Env {
    let stub = Stub::start().await;
    let dir = ConfigDir::new(&config(&stub, extra));
    let gateway = start_gateway(&dir.path()).await;
    let gw = gateway.local_addrs()[0];
    Env {
        stub,
        gw,
        _gateway: gateway,
        _dir: dir,
        http: client(),
    }
}

impl Env {
    async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> common::Answer {
        let mut h = vec![
            ("x-tenant-id", "acme"),
            ("content-type", "application/fhir+json"),
        ];
        h.extend_from_slice(headers);
        send(
            &self.http,
            self.gw,
            method,
            path,
            &h,
            Bytes::from(body.to_owned()),
        )
        .await
    }

    async fn json(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (common::Answer, Value) {
        let a = self.call(method, path, headers, body).await;
        let v = serde_json::from_str(&a.body).unwrap_or(Value::Null);
        (a, v)
    }
}

fn id_of_location(loc: &str) -> String {
    // .../fhir/Observation/{id}/_history/{v}
    let parts: Vec<&str> = loc.split('/').collect();
    parts[parts.len() - 3].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observation_create_read_search_update_delete() {
    let e = env("").await;
    let obs = example("Observation-heart-rate");
    let (a, created) = e
        .json("POST", "/fhir/Observation", &[], &obs.to_string())
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.header("etag"), "W/\"1\"");
    let loc = a.header("location").to_owned();
    assert!(
        loc.starts_with(&format!("http://{}/fhir/Observation/", e.gw)),
        "{loc}"
    );
    let id = id_of_location(&loc);
    assert_eq!(created["id"], id.as_str());
    assert_eq!(id.len(), 64);
    // stored under the tenant's namespace, one composition
    assert_eq!(e.stub.live().len(), 1);
    assert!(e
        .stub
        .state
        .lock()
        .unwrap()
        .ehrs
        .contains_key(&("ns-acme".into(), "example".into())));
    assert_eq!(
        e.stub.live()[0].body["context"]["start_time"]["value"],
        "1999-07-02T00:00:00Z"
    );

    // read
    let (a, read) = e
        .json("GET", &format!("/fhir/Observation/{id}"), &[], "")
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.header("etag"), "W/\"1\"");
    assert_eq!(read["id"], id.as_str());
    assert_eq!(read["meta"]["versionId"], "1");
    assert_eq!(read["subject"]["reference"], "Patient/example");
    // the value and its UCUM code survive (the display unit text is not
    // kept by the mapping: UCUM `code` is what FHIR vital signs require)
    assert_eq!(
        read["valueQuantity"]["value"],
        obs["valueQuantity"]["value"]
    );
    assert_eq!(read["valueQuantity"]["code"], obs["valueQuantity"]["code"]);
    assert_eq!(read["code"]["coding"][0]["code"], "8867-4");
    assert_eq!(read["effectiveDateTime"], "1999-07-02");

    // search: patient, code, date, paging
    let (a, b) = e
        .json("GET", "/fhir/Observation?patient=Patient/example", &[], "")
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(b["type"], "searchset");
    assert_eq!(b["total"], 1);
    assert_eq!(b["entry"][0]["resource"]["id"], id.as_str());
    for (q, n) in [
        ("code=http://loinc.org|8867-4", 1),
        ("code=8480-6", 0),
        ("date=1999-07-02", 1),
        ("date=ge1999-07-03", 0),
        ("date=lt1999-07", 0),
        ("date=le1999", 1),
        ("patient=nobody", 0),
        (&format!("_id={id}"), 1),
    ] {
        let (a, b) = e
            .json("GET", &format!("/fhir/Observation?{q}"), &[], "")
            .await;
        assert_eq!(a.status, 200, "{q}: {}", a.body);
        assert_eq!(b["total"], n, "{q}");
    }
    // the patient id travelled as an AQL parameter, never in the text
    for q in &e.stub.state.lock().unwrap().aql {
        assert!(!q["q"].as_str().unwrap().contains("example"), "{q}");
    }

    // update with the right and a stale version
    let mut changed = obs.clone();
    changed["valueQuantity"]["value"] = json!(51);
    changed["id"] = json!(id);
    let (a, _) = e
        .json(
            "PUT",
            &format!("/fhir/Observation/{id}"),
            &[("if-match", "W/\"1\"")],
            &changed.to_string(),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.header("etag"), "W/\"2\"");
    let (_, read) = e
        .json("GET", &format!("/fhir/Observation/{id}"), &[], "")
        .await;
    assert_eq!(read["valueQuantity"]["value"], 51);
    assert_eq!(read["meta"]["versionId"], "2");
    let writes = e.stub.writes();
    let a = e
        .call(
            "PUT",
            &format!("/fhir/Observation/{id}"),
            &[("if-match", "W/\"1\"")],
            &changed.to_string(),
        )
        .await;
    assert_eq!(a.status, 412, "{}", a.body);
    assert_eq!(a.outcome_code(), "openehr.version-mismatch");
    assert!(e.stub.writes() <= writes + 1);

    // delete, then the read is gone
    let a = e
        .call("DELETE", &format!("/fhir/Observation/{id}"), &[], "")
        .await;
    assert_eq!(a.status, 204, "{}", a.body);
    let a = e
        .call("GET", &format!("/fhir/Observation/{id}"), &[], "")
        .await;
    assert_eq!(a.status, 410, "{}", a.body);
    let (_, b) = e
        .json("GET", "/fhir/Observation?patient=example", &[], "")
        .await;
    assert_eq!(b["total"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shipped_type_round_trips() {
    let e = env("").await;
    for (ty, file, subject_el) in [
        ("Condition", "Condition-example", "subject"),
        (
            "AllergyIntolerance",
            "AllergyIntolerance-example",
            "patient",
        ),
    ] {
        let r = example(file);
        let a = e
            .call("POST", &format!("/fhir/{ty}"), &[], &r.to_string())
            .await;
        assert_eq!(a.status, 201, "{ty}: {}", a.body);
        let id = id_of_location(a.header("location"));
        let (a, read) = e.json("GET", &format!("/fhir/{ty}/{id}"), &[], "").await;
        assert_eq!(a.status, 200, "{ty}: {}", a.body);
        assert_eq!(read["resourceType"], ty);
        assert_eq!(read[subject_el]["reference"], "Patient/example");
        assert_eq!(
            read["code"]["coding"][0]["code"], r["code"]["coding"][0]["code"],
            "{ty}"
        );
        let (_, b) = e
            .json(
                "GET",
                &format!("/fhir/{ty}?subject=Patient/example"),
                &[],
                "",
            )
            .await;
        assert_eq!(b["total"], 1, "{ty}");
        // a Condition id read as an Observation is not found
        let a = e
            .call("GET", &format!("/fhir/Observation/{id}"), &[], "")
            .await;
        assert_eq!(a.status, 404, "{ty}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_answer_outcomes_and_write_nothing() {
    let e = env("").await;
    let obs = example("Observation-heart-rate");
    let mut kg = obs.clone();
    kg["valueQuantity"]["code"] = json!("kg");
    kg["valueQuantity"]["unit"] = json!("kg");
    let mut no_subject = obs.clone();
    no_subject.as_object_mut().unwrap().remove("subject");
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "/fhir/Observation",
            "{\"resourceType\": ".into(),
            400,
            "facade.invalid-json",
        ),
        (
            "/fhir/Observation",
            example("Condition-example").to_string(),
            400,
            "facade.wrong-resource-type",
        ),
        (
            "/fhir/Condition",
            json!({"resourceType": "Condition", "subject": {"reference": "Patient/x"}}).to_string(),
            422,
            "facade.not-mapped",
        ),
        (
            "/fhir/Observation",
            kg.to_string(),
            422,
            "template.unit-not-allowed",
        ),
        (
            "/fhir/Observation",
            no_subject.to_string(),
            422,
            "facade.no-subject",
        ),
        (
            "/fhir/Patient",
            json!({"resourceType": "Patient"}).to_string(),
            404,
            "facade.unsupported-type",
        ),
    ];
    for (path, body, status, code) in cases {
        let a = e.call("POST", path, &[], &body).await;
        assert_eq!(a.status, status, "{code}: {}", a.body);
        assert_eq!(a.outcome_code(), code, "{}", a.body);
    }
    let v: Value = serde_json::from_str(
        &e.call("POST", "/fhir/Observation", &[], &kg.to_string())
            .await
            .body,
    )
    .unwrap();
    assert_eq!(v["issue"][0]["expression"][0], "Observation.valueQuantity");
    assert!(v["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .contains("openEHR path"));
    assert_eq!(e.stub.writes(), 0, "nothing may reach the backend");
    assert!(
        e.stub.state.lock().unwrap().ehrs.is_empty(),
        "no EHR for a failed write"
    );

    // the backend refuses: its reason comes back, nothing is stored
    e.stub
        .reject
        .store(422, std::sync::atomic::Ordering::SeqCst);
    let a = e
        .call("POST", "/fhir/Observation", &[], &obs.to_string())
        .await;
    assert_eq!(a.status, 422, "{}", a.body);
    assert_eq!(a.outcome_code(), "openehr.rejected");
    assert!(a.body.contains("stub rejects"), "{}", a.body);
    assert!(e.stub.live().is_empty());
    // a backend failure is a 502 with the backend's reason
    e.stub
        .reject
        .store(500, std::sync::atomic::Ordering::SeqCst);
    let a = e
        .call("POST", "/fhir/Observation", &[], &obs.to_string())
        .await;
    assert_eq!(a.status, 502, "{}", a.body);
    assert_eq!(a.outcome_code(), "openehr.server-error");
    assert!(a.body.contains("stub rejects"), "{}", a.body);
    // a version conflict is a 409
    e.stub
        .reject
        .store(409, std::sync::atomic::Ordering::SeqCst);
    let a = e
        .call("POST", "/fhir/Observation", &[], &obs.to_string())
        .await;
    assert_eq!(
        (a.status, a.outcome_code().as_str()),
        (409, "openehr.conflict")
    );
    e.stub.reject.store(0, std::sync::atomic::Ordering::SeqCst);

    // ids we never issued, bad search parameters
    let a = e.call("GET", "/fhir/Observation/123", &[], "").await;
    assert_eq!(
        (a.status, a.outcome_code().as_str()),
        (404, "facade.not-found")
    );
    let a = e
        .call("GET", "/fhir/Observation?date=xx2020", &[], "")
        .await;
    assert_eq!(
        (a.status, a.outcome_code().as_str()),
        (400, "facade.bad-search")
    );
    let a = e.call("GET", "/fhir/Observation?colour=red", &[], "").await;
    assert_eq!(a.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_ehr_creation_when_switched_off() {
    let e = env("create_ehr = false").await;
    let a = e
        .call(
            "POST",
            "/fhir/Observation",
            &[],
            &example("Observation-heart-rate").to_string(),
        )
        .await;
    assert_eq!(a.status, 422, "{}", a.body);
    assert_eq!(a.outcome_code(), "facade.unknown-patient");
    assert_eq!(e.stub.writes(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_links_walk_every_result() {
    let e = env("default_count = 2").await;
    let obs = example("Observation-heart-rate");
    for day in 1..=5 {
        let mut o = obs.clone();
        o["effectiveDateTime"] = json!(format!("2024-01-0{day}"));
        let a = e
            .call("POST", "/fhir/Observation", &[], &o.to_string())
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
    let mut url = "/fhir/Observation?patient=example".to_owned();
    let mut seen = Vec::new();
    loop {
        let (a, b) = e.json("GET", &url, &[], "").await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(b["total"], 5);
        for en in b["entry"].as_array().unwrap() {
            seen.push(
                en["resource"]["effectiveDateTime"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        let next = b["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next");
        match next {
            Some(l) => {
                let full = l["url"].as_str().unwrap();
                url = full.split_once(&e.gw.to_string()).unwrap().1.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "2024-01-05",
            "2024-01-04",
            "2024-01-03",
            "2024-01-02",
            "2024-01-01"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_lists_what_is_served() {
    let e = env("").await;
    let (a, c) = e.json("GET", "/fhir/metadata", &[], "").await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(c["resourceType"], "CapabilityStatement");
    let types: Vec<&str> = c["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"Observation") && types.contains(&"Condition"),
        "{types:?}"
    );
    assert!(!types.contains(&"Patient"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_upload_invalidates_the_cached_template() {
    let e = env("").await;
    let obs = example("Observation-heart-rate").to_string();
    assert_eq!(
        e.call("POST", "/fhir/Observation", &[], &obs).await.status,
        201
    );
    let gets = e.stub.state.lock().unwrap().template_gets;
    assert_eq!(gets, 2, "vital signs and laboratory templates");
    assert_eq!(
        e.call("POST", "/fhir/Observation", &[], &obs).await.status,
        201
    );
    assert_eq!(
        e.stub.state.lock().unwrap().template_gets,
        gets,
        "the second write is served from the cache"
    );
    let opt = ehrgate_mappers::fhirconnect::shipped::find("EHRN Vital signs.v2")
        .unwrap()
        .opt()
        .unwrap();
    let a = send(
        &e.http,
        e.gw,
        "POST",
        "/definition/template/adl1.4",
        &[("x-tenant-id", "acme"), ("content-type", "application/xml")],
        Bytes::from_static(opt),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(e.stub.state.lock().unwrap().uploads, 1);
    assert_eq!(
        e.call("POST", "/fhir/Observation", &[], &obs).await.status,
        201
    );
    assert_eq!(
        e.stub.state.lock().unwrap().template_gets,
        gets + 1,
        "only the uploaded template is fetched again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_all_or_nothing() {
    let e = env("").await;
    let mut obs = example("Observation-heart-rate");
    obs["subject"] = json!({"reference": "urn:uuid:pat-1"});
    let mut cond = example("Condition-example");
    cond["subject"] = json!({"reference": "urn:uuid:pat-1"});
    let patient =
        json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "mrn-7"}]});
    let bundle = |second: Value| {
        json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:pat-1", "resource": patient, "request": {"method": "POST", "url": "Patient"}},
            {"resource": obs, "request": {"method": "POST", "url": "Observation"}},
            {"resource": second, "request": {"method": "POST", "url": "Condition"}},
        ]})
    };
    // a bad second entry: nothing is written
    let bad = json!({"resourceType": "Condition", "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1"}]}});
    let a = e.call("POST", "/fhir", &[], &bundle(bad).to_string()).await;
    assert_eq!(a.status, 422, "{}", a.body);
    let v: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(
        v["issue"][0]["expression"][0],
        "Bundle.entry[2].resource.subject"
    );
    assert_eq!(e.stub.writes(), 0, "{}", a.body);

    let (a, resp) = e
        .json("POST", "/fhir", &[], &bundle(cond).to_string())
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(resp["type"], "transaction-response");
    assert_eq!(resp["entry"][1]["response"]["status"], "201 Created");
    // the Condition's severity has no place in the problem-list template:
    // its entry's outcome says so
    let warned = resp["entry"][2]["response"]["outcome"]["issue"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["expression"][0] == "Condition.severity.coding[0].code");
    assert!(warned, "{resp}");
    assert_eq!(e.stub.live().len(), 2);
    assert!(e
        .stub
        .state
        .lock()
        .unwrap()
        .ehrs
        .contains_key(&("ns-acme".into(), "mrn-7".into())));
    let (_, b) = e
        .json("GET", "/fhir/Condition?patient=mrn-7", &[], "")
        .await;
    assert_eq!(b["total"], 1);

    // the backend refusing the third entry undoes the second
    e.stub
        .reject
        .store(422, std::sync::atomic::Ordering::SeqCst);
    let before = e.stub.live().len();
    let a = e
        .call(
            "POST",
            "/fhir",
            &[],
            &bundle(example("Condition-example")).to_string(),
        )
        .await;
    assert_eq!(a.status, 422, "{}", a.body);
    assert_eq!(e.stub.live().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_never_see_each_others_patients() {
    let e = env("").await;
    let a = e
        .call(
            "POST",
            "/fhir/Observation",
            &[],
            &example("Observation-heart-rate").to_string(),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let id = id_of_location(a.header("location"));
    let h = |t: &'static str| {
        vec![
            ("x-tenant-id", t),
            ("content-type", "application/fhir+json"),
        ]
    };
    let get = |path: String| {
        let http = e.http.clone();
        let gw = e.gw;
        async move { send(&http, gw, "GET", &path, &h("other"), Bytes::new()).await }
    };
    let a = get(format!("/fhir/Observation/{id}")).await;
    assert_eq!(a.status, 404, "{}", a.body);
    let a = get("/fhir/Observation".to_owned()).await;
    let b: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(b["total"], 0, "{}", a.body);
    let a = get("/fhir/Observation?patient=example".to_owned()).await;
    let b: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(b["total"], 0, "{}", a.body);
    let a = send(
        &e.http,
        e.gw,
        "DELETE",
        &format!("/fhir/Observation/{id}"),
        &h("other"),
        Bytes::new(),
    )
    .await;
    assert_eq!(a.status, 404, "{}", a.body);
    assert_eq!(e.stub.live().len(), 1, "still there");
    // the owner sees it
    let a = e.call("GET", "/fhir/Observation", &[], "").await;
    let b: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(b["total"], 1, "{}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_measurements_are_served_through_the_growth_chart_template() {
    // Two shipped sets map `Growth chart`; a single Observation must reach
    // the vital-signs one (the other takes Bundles and maps nothing here).
    let e = env(r#"templates = { Observation = ["EHRN Vital signs.v2", "Growth chart"] }"#).await;
    let obs = example("Observation-body-height");
    let a = e
        .call("POST", "/fhir/Observation", &[], &obs.to_string())
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let stored = &e.stub.live()[0].body;
    assert_eq!(
        stored["archetype_details"]["template_id"]["value"],
        "Growth chart"
    );
    let id = id_of_location(a.header("location"));
    let (a, read) = e
        .json("GET", &format!("/fhir/Observation/{id}"), &[], "")
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(read["code"]["coding"][0]["code"], "8302-2");
    assert_eq!(
        read["valueQuantity"]["value"],
        obs["valueQuantity"]["value"]
    );
    assert_eq!(read["valueQuantity"]["code"], obs["valueQuantity"]["code"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elements_the_template_cannot_hold_are_named_or_refused() {
    let condition = example("Condition-example").to_string();
    // Default ("warn"): stored, and the outcome names what was left out:
    // the severity the problem-list mapping has no place for, not the id,
    // narrative or patient reference the facade keeps itself.
    let e = env("").await;
    let (a, oo) = e
        .json(
            "POST",
            "/fhir/Condition",
            &[("prefer", "return=OperationOutcome")],
            &condition,
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert!(!a.header("location").is_empty());
    assert_eq!(oo["resourceType"], "OperationOutcome");
    let paths: Vec<&str> = oo["issue"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|i| assert_eq!(i["severity"], "warning", "{i}"))
        .filter_map(|i| i["expression"][0].as_str())
        .collect();
    assert!(
        paths.contains(&"Condition.severity.coding[0].code"),
        "{paths:?}"
    );
    for kept in [
        "Condition.id",
        "Condition.text.div",
        "Condition.subject.reference",
    ] {
        assert!(!paths.contains(&kept), "{kept} reported: {paths:?}");
    }
    assert_eq!(e.stub.writes(), 1);

    // "refuse": 422, one issue per element at its path, nothing written.
    let e = env("unmapped_elements = \"refuse\"").await;
    let (a, oo) = e.json("POST", "/fhir/Condition", &[], &condition).await;
    assert_eq!(a.status, 422, "{}", a.body);
    let issue = oo["issue"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["expression"][0] == "Condition.severity.coding[0].code")
        .expect("the severity is named");
    assert_eq!(issue["code"], "not-supported");
    assert_eq!(
        issue["details"]["coding"][0]["code"],
        "facade.not-all-mapped"
    );
    assert_eq!(e.stub.writes(), 0);
}
