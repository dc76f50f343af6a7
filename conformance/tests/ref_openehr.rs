//! The reference openEHR backend over real sockets: EHRs, compositions
//! with versions, the template check, templates, AQL, limits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod refclient;

use ehrgate_conformance::corpus_dir;
use ehrgate_conformance::reference::openehr::OpenEhrStats;
use ehrgate_conformance::reference::openehr::{spawn, OpenEhrConfig, Received};
use ehrgate_conformance::reference::RefServer;
use ehrgate_mappers::fhirconnect::canonical::CanonicalDefaults;
use ehrgate_mappers::fhirconnect::shipped::find;
use ehrgate_mappers::fhirconnect::translators::{FhirToOpenEhr, OpenEhrFormat};
use ehrgate_mappers::translation::Translator;
use http::{Method, StatusCode};
use refclient::{call, delete, get, post_json, put_json};
use serde_json::{json, Value};

const REPR: (&str, &str) = ("prefer", "return=representation");

async fn server() -> RefServer<OpenEhrStats> {
    spawn(
        OpenEhrConfig::with_shipped_templates(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

fn example(name: &str) -> Value {
    let p = corpus_dir().join("fhir/examples").join(name);
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// A FHIR example translated by a shipped mapping set, as the facade does.
fn composition(template: &str, fhir_example: &str, time: &str) -> Value {
    let engine = find(template).unwrap().engine().unwrap();
    FhirToOpenEhr {
        engine: &engine,
        format: OpenEhrFormat::Canonical,
        defaults: CanonicalDefaults {
            language: "en".into(),
            territory: "DE".into(),
            composer: "ehrgate".into(),
            time: time.into(),
        },
    }
    .translate(&example(fhir_example))
    .unwrap()
    .output
}

/// Appends `element` to the first `items` list of ELEMENTs.
fn push_element(v: &mut Value, element: Value) -> bool {
    match v {
        Value::Object(o) => {
            if let Some(Value::Array(items)) = o.get_mut("items") {
                if items.iter().any(|i| i["_type"] == "ELEMENT") {
                    items.push(element);
                    return true;
                }
            }
            o.values_mut().any(|c| push_element(c, element.clone()))
        }
        Value::Array(a) => a.iter_mut().any(|c| push_element(c, element.clone())),
        _ => false,
    }
}

async fn new_ehr(s: &RefServer<OpenEhrStats>) -> String {
    let a = call(Method::POST, &format!("{}/ehr", s.base_url), &[], "").await;
    assert_eq!(a.status, StatusCode::CREATED);
    a.header("etag").unwrap().trim_matches('"').to_owned()
}

#[tokio::test]
async fn ehr_create_and_lookup_by_subject() {
    let s = server().await;
    let base = &s.base_url;
    let a = call(Method::POST, &format!("{base}/ehr"), &[], "").await;
    assert_eq!(a.status, StatusCode::CREATED);
    let id = a.header("etag").unwrap().trim_matches('"').to_owned();
    assert_eq!(a.header("location").unwrap(), format!("{base}/ehr/{id}"));
    assert!(a.body.is_empty(), "minimal by default");
    let got = get(&format!("{base}/ehr/{id}")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json()["ehr_id"]["value"], id.as_str());

    let status = json!({
        "_type": "EHR_STATUS",
        "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
        "name": {"value": "EHR Status"},
        "subject": {"external_ref": {
            "id": {"_type": "GENERIC_ID", "value": "patient-1", "scheme": "id_scheme"},
            "namespace": "clinic-a", "type": "PERSON"}},
        "is_modifiable": true, "is_queryable": true
    });
    let a = post_json(&format!("{base}/ehr"), &status, &[REPR]).await;
    assert_eq!(a.status, StatusCode::CREATED);
    let ehr = a.json();
    let sid = ehr["ehr_id"]["value"].as_str().unwrap().to_owned();
    assert_eq!(
        ehr["ehr_status"]["type"], "EHR_STATUS",
        "an OBJECT_REF, as the REST API says"
    );
    let st = get(&format!("{base}/ehr/{sid}/ehr_status")).await.json();
    assert_eq!(st["subject"]["external_ref"]["namespace"], "clinic-a");
    assert!(st["uid"]["value"]
        .as_str()
        .unwrap()
        .ends_with("::ehrgate-ref::1"));

    let found = get(&format!(
        "{base}/ehr?subject_id=patient-1&subject_namespace=clinic-a"
    ))
    .await;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(found.json()["ehr_id"]["value"], sid.as_str());
    // Same id, other namespace: another patient.
    let other = get(&format!(
        "{base}/ehr?subject_id=patient-1&subject_namespace=clinic-b"
    ))
    .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(other.json()["error"], "Not Found");
    let dup = post_json(&format!("{base}/ehr"), &status, &[]).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let chosen = uuid::Uuid::new_v4().to_string();
    let put = call(Method::PUT, &format!("{base}/ehr/{chosen}"), &[], "").await;
    assert_eq!(put.status, StatusCode::CREATED);
    assert_eq!(
        get(&format!("{base}/ehr/{chosen}")).await.status,
        StatusCode::OK
    );
    let again = call(Method::PUT, &format!("{base}/ehr/{chosen}"), &[], "").await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let not_uuid = call(Method::PUT, &format!("{base}/ehr/not-a-uuid"), &[], "").await;
    assert_eq!(not_uuid.status, StatusCode::BAD_REQUEST);
    let missing = get(&format!("{base}/ehr/{}", uuid::Uuid::new_v4())).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let bad = post_json(
        &format!("{base}/ehr"),
        &json!({"_type": "COMPOSITION"}),
        &[],
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let no_params = get(&format!("{base}/ehr?subject_id=x")).await;
    assert_eq!(no_params.status, StatusCode::BAD_REQUEST);
    assert_eq!(s.stats.ehrs_created(), 3);
    assert_eq!(s.stats.rejected().get("ehr.subject-exists"), Some(&1));
}

#[tokio::test]
async fn composition_versions_if_match_and_delete() {
    let s = server().await;
    let base = s.base_url.clone();
    let ehr = new_ehr(&s).await;
    let comp = composition(
        "EHRN Vital signs.v2",
        "Observation-heart-rate.json",
        "2024-03-01T10:00:00Z",
    );
    // EHRbase answers a create without `Prefer: return=representation`
    // with 204 and the headers (201 only with a body).
    let a = post_json(&format!("{base}/ehr/{ehr}/composition"), &comp, &[]).await;
    assert_eq!(
        a.status,
        StatusCode::NO_CONTENT,
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    assert!(a.body.is_empty());
    let v1 = a.header("etag").unwrap().trim_matches('"').to_owned();
    assert!(v1.ends_with("::ehrgate-ref::1"), "{v1}");
    let object = v1.split("::").next().unwrap().to_owned();
    assert_eq!(
        a.header("location").unwrap(),
        format!("{base}/ehr/{ehr}/composition/{v1}")
    );

    let got = get(&format!("{base}/ehr/{ehr}/composition/{object}")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json()["uid"]["value"], v1.as_str());
    assert_eq!(got.json()["content"], comp["content"]);

    let url = format!("{base}/ehr/{ehr}/composition/{object}");
    let no_if_match = put_json(&url, &comp, &[]).await;
    assert_eq!(no_if_match.status, StatusCode::BAD_REQUEST);
    let stale = format!("{object}::ehrgate-ref::7");
    let wrong = put_json(&url, &comp, &[("if-match", stale.as_str())]).await;
    assert_eq!(wrong.status, StatusCode::PRECONDITION_FAILED);
    // EHRbase 2.x parses If-Match raw: the quoted entity tag is 400.
    let quoted = format!("\"{v1}\"");
    let refused = put_json(&url, &comp, &[("if-match", quoted.as_str()), REPR]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.json()["message"], "UUID string too large");
    let ok = put_json(&url, &comp, &[("if-match", v1.as_str()), REPR]).await;
    assert_eq!(ok.status, StatusCode::OK);
    let v2 = ok.header("etag").unwrap().trim_matches('"').to_owned();
    assert!(v2.ends_with("::2"));
    assert_eq!(ok.json()["uid"]["value"], v2.as_str());
    // Version 1 stays readable by its version uid.
    let old = get(&format!("{base}/ehr/{ehr}/composition/{v1}")).await;
    assert_eq!(old.json()["uid"]["value"], v1.as_str());
    // Updating from v1 again is a conflict.
    let again = put_json(&url, &comp, &[("if-match", v1.as_str())]).await;
    assert_eq!(again.status, StatusCode::PRECONDITION_FAILED);

    let stale_delete = delete(&format!("{base}/ehr/{ehr}/composition/{v1}"), &[]).await;
    assert_eq!(stale_delete.status, StatusCode::CONFLICT);
    let gone = delete(&format!("{base}/ehr/{ehr}/composition/{v2}"), &[]).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert!(gone.header("etag").unwrap().contains("::3"));
    let read_deleted = get(&url).await;
    assert_eq!(read_deleted.status, StatusCode::NO_CONTENT);
    // EHRbase: a deleted composition has no version head to delete (404).
    let twice = delete(&format!("{base}/ehr/{ehr}/composition/{object}"), &[]).await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);
    let in_other_ehr = get(&format!(
        "{base}/ehr/{}/composition/{object}",
        new_ehr(&s).await
    ))
    .await;
    assert_eq!(in_other_ehr.status, StatusCode::NOT_FOUND);

    assert_eq!(s.stats.compositions_stored(), 2);
    assert_eq!(s.stats.compositions_deleted(), 1);
    assert!(s.stats.stored_compositions().is_empty());
    assert_eq!(s.stats.all_versions().len(), 2);
    assert!(s.stats.recheck().is_empty());
}

#[tokio::test]
async fn template_check_refuses_and_stores_nothing() {
    let s = server().await;
    let base = s.base_url.clone();
    let ehr = new_ehr(&s).await;
    let good = composition(
        "EHRN Vital signs.v2",
        "Observation-heart-rate.json",
        "2024-03-01T10:00:00Z",
    );
    // A unit the template does not allow, anywhere in the composition.
    // EHRbase 2.16.0 answers template violations and an unknown template
    // with 422 (observed, conformance/ehrbase/BEHAVIOURS.md).
    let text = good.to_string();
    assert!(text.contains("\"/min\""), "heart rate in /min: {text}");
    let bad: Value = serde_json::from_str(&text.replace("\"/min\"", "\"furlong\"")).unwrap();
    let a = post_json(&format!("{base}/ehr/{ehr}/composition"), &bad, &[]).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let err = a.json();
    assert_eq!(err["code"], "composition.template-violation");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("template.unit-not-allowed"),
        "{err}"
    );
    assert!(
        !err["message"].as_str().unwrap().contains("furlong"),
        "no values in errors"
    );

    // Wrong root archetype.
    let mut wrong_root = good.clone();
    wrong_root["archetype_node_id"] = json!("openEHR-EHR-COMPOSITION.other.v1");
    let a = post_json(&format!("{base}/ehr/{ehr}/composition"), &wrong_root, &[]).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A node the template does not have.
    let mut extra = good.clone();
    assert!(push_element(
        &mut extra,
        json!({"_type": "ELEMENT", "archetype_node_id": "at9999", "name": {"value": "x"},
               "value": {"_type": "DV_TEXT", "value": "x"}})
    ));
    let a = post_json(&format!("{base}/ehr/{ehr}/composition"), &extra, &[]).await;
    assert_eq!(
        a.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    assert!(a.json()["message"]
        .as_str()
        .unwrap()
        .contains("template.unknown-path"));

    // Unknown template, missing language, not JSON, missing EHR.
    let mut unknown = good.clone();
    unknown["archetype_details"]["template_id"]["value"] = json!("no such template");
    let a = post_json(&format!("{base}/ehr/{ehr}/composition"), &unknown, &[]).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.json()["code"], "composition.unknown-template");
    let mut no_language = good.clone();
    no_language.as_object_mut().unwrap().remove("language");
    let a = post_json(&format!("{base}/ehr/{ehr}/composition"), &no_language, &[]).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = call(
        Method::POST,
        &format!("{base}/ehr/{ehr}/composition"),
        &[("content-type", "application/json")],
        "{not json",
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = post_json(
        &format!("{base}/ehr/{}/composition", uuid::Uuid::new_v4()),
        &good,
        &[],
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    assert_eq!(s.stats.compositions_stored(), 0, "nothing half-written");
    let refusals: Vec<_> = s
        .stats
        .exchanges()
        .into_iter()
        .filter(|e| e.method == "POST" && e.path.ends_with("/composition"))
        .map(|e| (e.status, e.code))
        .collect();
    assert_eq!(refusals.len(), 7);
    assert!(refusals
        .iter()
        .all(|(status, code)| *status >= 400 && code.is_some()));
    assert!(s.stats.all_versions().is_empty());
    assert_eq!(
        s.stats.rejected().get("composition.template-violation"),
        Some(&4)
    );
    // The good one passes.
    let a = post_json(&format!("{base}/ehr/{ehr}/composition"), &good, &[]).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(s.stats.stored_compositions().len(), 1);
    assert!(s.stats.recheck().is_empty());
}

#[tokio::test]
async fn flat_compositions_in_and_out() {
    let s = server().await;
    let base = s.base_url.clone();
    let ehr = new_ehr(&s).await;
    let flat: Value = serde_json::from_slice(
        &std::fs::read(corpus_dir().join("openehr/compositions/flat/Vitalsigns.json")).unwrap(),
    )
    .unwrap();
    let url =
        format!("{base}/ehr/{ehr}/composition?format=FLAT&templateId=EHRN%20Vital%20signs.v2");
    let a = post_json(&url, &flat, &[REPR]).await;
    assert_eq!(
        a.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    let back = a.json();
    assert!(
        back.as_object().unwrap().keys().all(|k| k.contains('/')),
        "FLAT answered for FLAT"
    );
    let stored = s.stats.stored_compositions();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].received, Received::Flat);
    assert_eq!(stored[0].composition["_type"], "COMPOSITION");
    let uid = &stored[0].uid;
    let canon = get(&format!("{base}/ehr/{ehr}/composition/{uid}")).await;
    assert_eq!(
        canon.json()["archetype_details"]["template_id"]["value"],
        "EHRN Vital signs.v2"
    );
    let as_flat = get(&format!("{base}/ehr/{ehr}/composition/{uid}?format=FLAT")).await;
    assert_eq!(as_flat.json(), back);

    let no_template = post_json(
        &format!("{base}/ehr/{ehr}/composition?format=FLAT"),
        &flat,
        &[],
    )
    .await;
    assert_eq!(no_template.status, StatusCode::BAD_REQUEST);
    let mut unknown_key = flat.clone();
    unknown_key["vital_signs/no_such_node"] = json!("x");
    let a = post_json(&url, &unknown_key, &[]).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.json()["code"], "composition.flat-unknown-path");
    assert_eq!(s.stats.compositions_stored(), 1);
}

#[tokio::test]
async fn templates_upload_get_list() {
    let s = spawn(OpenEhrConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = s.base_url.clone();
    let opt =
        std::fs::read(corpus_dir().join("openehr/templates/IDCR - Problem List.v1.opt")).unwrap();
    let url = format!("{base}/definition/template/adl1.4");
    let a = call(
        Method::POST,
        &url,
        &[("content-type", "application/xml")],
        opt.clone(),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert!(a
        .header("location")
        .unwrap()
        .ends_with("/definition/template/adl1.4/IDCR%20%2D%20Problem%20List%2Ev1"));
    let again = call(
        Method::POST,
        &url,
        &[("content-type", "application/xml")],
        opt.clone(),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let got = get(&format!("{url}/IDCR%20-%20Problem%20List.v1")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body.as_ref(), opt.as_slice(), "the OPT as uploaded");
    let wt = call(
        Method::GET,
        &format!("{url}/IDCR%20-%20Problem%20List.v1"),
        &[("accept", "application/json")],
        "",
    )
    .await;
    assert_eq!(wt.json()["templateId"], "IDCR - Problem List.v1");
    let list = get(&url).await.json();
    assert_eq!(list[0]["template_id"], "IDCR - Problem List.v1");
    assert_eq!(
        get(&format!("{url}/nope")).await.status,
        StatusCode::NOT_FOUND
    );
    let garbage = call(
        Method::POST,
        &url,
        &[("content-type", "application/xml")],
        "<not-an-opt/>",
    )
    .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert_eq!(s.stats.templates_stored(), 1);

    // The gateway's template source (over its openEHR client) reads what
    // this backend serves.
    use ehrgate::facade::openehr::templates::ClientTemplateSource;
    use ehrgate::facade::openehr::OpenEhrClient;
    use ehrgate_templates::{OptLimits, TemplateId, TemplateStore};
    let config = ehrgate::config::load_str(
        &format!(
            "[[listener]]\nbind = \"127.0.0.1:0\"\n[[backend]]\nname = \"cdr\"\nurl = \"{base}\"\n\
             kind = \"openehr\"\n[[route]]\nid = \"r\"\npath_prefix = \"/\"\nstable = \"cdr\"\n"
        ),
        std::path::Path::new("gateway.toml"),
    )
    .unwrap();
    let client =
        OpenEhrClient::for_backend(&config.config.backends[0], &|p| p.to_path_buf(), 1 << 24)
            .unwrap();
    let source = ClientTemplateSource::new(client, OptLimits::default());
    let meta = source
        .get(&TemplateId::new("IDCR - Problem List.v1"))
        .await
        .unwrap();
    assert_eq!(meta.template_id.as_str(), "IDCR - Problem List.v1");
    assert_eq!(source.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let cfg = OpenEhrConfig {
        max_body_bytes: 1024,
        ..OpenEhrConfig::default()
    };
    let s = spawn(cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let a = call(
        Method::POST,
        &format!("{}/ehr", s.base_url),
        &[],
        vec![b' '; 4096],
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(s.stats.ehrs_created(), 0);
    let outside = get(&format!("http://{}/other", s.addr)).await;
    assert_eq!(outside.status, StatusCode::NOT_FOUND);
}

async fn aql(s: &RefServer<OpenEhrStats>, q: &str, params: Value) -> refclient::Answer {
    post_json(
        &format!("{}/query/aql", s.base_url),
        &json!({"q": q, "query_parameters": params}),
        &[],
    )
    .await
}

fn uids(result: &Value, col: usize) -> Vec<String> {
    result["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[col].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn aql_queries_over_stored_compositions() {
    let s = server().await;
    let base = s.base_url.clone();
    let a = new_ehr(&s).await;
    let b = new_ehr(&s).await;
    let mut a_uids = Vec::new();
    for day in [
        "2024-03-01T10:00:00Z",
        "2024-03-03T10:00:00+02:00",
        "2024-03-02T10:00:00Z",
    ] {
        let c = composition("EHRN Vital signs.v2", "Observation-heart-rate.json", day);
        let r = post_json(&format!("{base}/ehr/{a}/composition"), &c, &[]).await;
        a_uids.push(r.header("etag").unwrap().trim_matches('"').to_owned());
    }
    let c = composition(
        "IDCR - Problem List.v1",
        "Condition-example.json",
        "2024-03-05T00:00:00Z",
    );
    assert_eq!(
        post_json(&format!("{base}/ehr/{a}/composition"), &c, &[])
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let c = composition(
        "EHRN Vital signs.v2",
        "Observation-heart-rate.json",
        "2024-03-04T00:00:00Z",
    );
    assert_eq!(
        post_json(&format!("{base}/ehr/{b}/composition"), &c, &[])
            .await
            .status,
        StatusCode::NO_CONTENT
    );

    // EHRbase orders only by selected paths, so the start time is selected.
    let pulse = "SELECT c/uid/value AS uid, c, c/context/start_time/value AS t FROM EHR e[ehr_id/value=$ehr_id] \
                 CONTAINS COMPOSITION c[openEHR-EHR-COMPOSITION.encounter.v1] \
                 CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.pulse.v1]";
    let r = aql(
        &s,
        &format!("{pulse} ORDER BY c/context/start_time/value DESC"),
        json!({"ehr_id": a}),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let r = r.json();
    assert_eq!(
        r["columns"],
        json!([{"name": "uid", "path": "c/uid/value"}, {"name": "#1", "path": "c"}, {"name": "t", "path": "c/context/start_time/value"}])
    );
    // 03-03T10:00+02:00 is 08:00Z: after 03-02T10:00Z.
    assert_eq!(
        uids(&r, 0),
        vec![a_uids[1].clone(), a_uids[2].clone(), a_uids[0].clone()]
    );
    assert_eq!(r["rows"][0][1]["_type"], "COMPOSITION");
    assert_eq!(r["meta"]["resultsize"], 3);

    let since = aql(
        &s,
        &format!(
            "{pulse} WHERE c/context/start_time/value >= $from ORDER BY c/context/start_time/value"
        ),
        json!({"ehr_id": a, "from": "2024-03-02"}),
    )
    .await
    .json();
    assert_eq!(uids(&since, 0), vec![a_uids[2].clone(), a_uids[1].clone()]);
    let page = aql(
        &s,
        &format!("{pulse} ORDER BY c/context/start_time/value LIMIT 1 OFFSET 1"),
        json!({"ehr_id": a}),
    )
    .await
    .json();
    assert_eq!(uids(&page, 0), vec![a_uids[2].clone()]);
    let fetched = post_json(&format!("{base}/query/aql"),
        &json!({"q": format!("{pulse} ORDER BY c/context/start_time/value"), "query_parameters": {"ehr_id": a}, "offset": 2, "fetch": 5}), &[]).await.json();
    assert_eq!(uids(&fetched, 0), vec![a_uids[1].clone()]);

    let everyone = aql(
        &s,
        "SELECT COUNT(*) AS n FROM EHR e CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.pulse.v1]",
        json!({}),
    )
    .await
    .json();
    assert_eq!(everyone["rows"], json!([[4]]));
    let problems = aql(
        &s,
        "SELECT e/ehr_id/value, o/name/value FROM EHR e CONTAINS EVALUATION o",
        json!({}),
    )
    .await
    .json();
    assert_eq!(problems["rows"].as_array().unwrap().len(), 1);
    assert_eq!(problems["rows"][0][0], a.as_str());
    let by_value = aql(&s, "SELECT o/data[at0002]/events[at0003]/data[at0001]/items[at0004]/value/magnitude AS rate \
                            FROM EHR e CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.pulse.v1] \
                            WHERE o/data[at0002]/events[at0003]/data[at0001]/items[at0004]/value/magnitude > 0 AND e/ehr_id/value != $a",
        json!({"a": a})).await.json();
    assert_eq!(by_value["rows"].as_array().unwrap().len(), 1, "{by_value}");
    assert!(by_value["rows"][0][0].is_number());

    // Updates show the new version; deletions drop out.
    let object = a_uids[0].split("::").next().unwrap();
    let c = composition(
        "EHRN Vital signs.v2",
        "Observation-heart-rate.json",
        "2024-03-01T11:00:00Z",
    );
    let put = put_json(
        &format!("{base}/ehr/{a}/composition/{object}"),
        &c,
        &[("if-match", a_uids[0].as_str())],
    )
    .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT);
    let v2 = put.header("etag").unwrap().trim_matches('"').to_owned();
    assert_eq!(
        delete(&format!("{base}/ehr/{a}/composition/{}", a_uids[1]), &[])
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let now = aql(
        &s,
        &format!("{pulse} ORDER BY c/context/start_time/value"),
        json!({"ehr_id": a}),
    )
    .await
    .json();
    assert_eq!(uids(&now, 0), vec![v2, a_uids[2].clone()]);

    let templates = aql(
        &s,
        "SELECT DISTINCT c/archetype_details/template_id/value FROM EHR e CONTAINS COMPOSITION c",
        json!({}),
    )
    .await
    .json();
    assert_eq!(
        templates["rows"],
        json!([["EHRN Vital signs.v2"], ["IDCR - Problem List.v1"]])
    );

    // Refusals name the reason and are 400.
    for (q, params, code) in [
        (pulse.to_owned(), json!({}), "aql.parameter-missing"),
        (
            format!("{pulse} WHERE c/name/value LIKE 'x%'"),
            json!({"ehr_id": a}),
            "aql.unsupported",
        ),
        (
            "SELECT x/uid/value FROM EHR e".to_owned(),
            json!({}),
            "aql.unknown-variable",
        ),
        ("SELEKT c FROM EHR e".to_owned(), json!({}), "aql.syntax"),
    ] {
        let r = aql(&s, &q, params).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(r.json()["code"], code, "{q}");
    }
    let none = aql(
        &s,
        "SELECT e/ehr_id/value FROM EHR e WHERE e/ehr_status/subject/external_ref/id/value = $p",
        json!({"p": "nobody"}),
    )
    .await
    .json();
    assert_eq!(none["rows"], json!([]));
    let not_json = call(Method::POST, &format!("{base}/query/aql"), &[], "q=SELECT").await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    let get_form = get(&format!(
        "{base}/query/aql?q=SELECT%20e%2Fehr_id%2Fvalue%20FROM%20EHR%20e"
    ))
    .await
    .json();
    assert_eq!(get_form["rows"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn aql_without_limit_is_bounded() {
    let cfg = OpenEhrConfig {
        max_rows: 2,
        ..OpenEhrConfig::default()
    };
    let s = spawn(cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    for _ in 0..3 {
        new_ehr(&s).await;
    }
    let r = aql(&s, "SELECT e/ehr_id/value FROM EHR e", json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["code"], "aql.too-many-rows");
    let r = aql(&s, "SELECT e/ehr_id/value FROM EHR e LIMIT 2", json!({})).await;
    assert_eq!(r.json()["rows"].as_array().unwrap().len(), 2);
    let r = aql(&s, "SELECT e/ehr_id/value FROM EHR e LIMIT 3", json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "never cut silently");
    let r = aql(
        &s,
        "SELECT e/ehr_id/value FROM EHR e LIMIT 5 OFFSET 2",
        json!({}),
    )
    .await;
    assert_eq!(r.json()["rows"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn concurrent_writes_are_all_kept_with_distinct_uids() {
    let s = server().await;
    let ehr = new_ehr(&s).await;
    let comp = composition(
        "EHRN Vital signs.v2",
        "Observation-heart-rate.json",
        "2024-03-01T10:00:00Z",
    );
    let url = format!("{}/ehr/{ehr}/composition", s.base_url);
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (url, comp) = (url.clone(), comp.clone());
            tokio::spawn(async move {
                let a = post_json(&url, &comp, &[]).await;
                assert_eq!(a.status, StatusCode::NO_CONTENT);
                a.header("etag").unwrap().to_owned()
            })
        })
        .collect();
    let mut uids = std::collections::BTreeSet::new();
    for t in tasks {
        uids.insert(t.await.unwrap());
    }
    assert_eq!(uids.len(), 64);
    assert_eq!(s.stats.stored_compositions().len(), 64);
    assert_eq!(s.stats.compositions_stored(), 64);
}

#[tokio::test]
async fn garbage_on_the_socket_gets_an_answer_and_the_server_keeps_serving() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = server().await;
    for garbage in [
        &b"\x00\x01\x02 not http\r\n\r\n"[..],
        b"GET /ehrbase/rest/openehr/v1/ehr HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
        b"POST /ehrbase/rest/openehr/v1/ehr HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab",
    ] {
        let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        conn.write_all(garbage).await.unwrap();
        conn.shutdown().await.unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            conn.read_to_end(&mut answer),
        )
        .await;
    }
    assert_eq!(s.stats.ehrs_created(), 0, "nothing half-written");
    let a = call(Method::POST, &format!("{}/ehr", s.base_url), &[], "").await;
    assert_eq!(a.status, StatusCode::CREATED);
}

/// What the facade sends for each shipped mapping set it serves, in both
/// serialisations, passes the backend's template check.
#[tokio::test]
async fn facade_output_of_the_shipped_sets_is_accepted_canonical_and_flat() {
    let s = server().await;
    let ehr = new_ehr(&s).await;
    let cases: &[(&str, &[&str])] = &[
        (
            "EHRN Vital signs.v2",
            &[
                "Observation-blood-pressure.json",
                "Observation-heart-rate.json",
                "Observation-body-temperature.json",
                "Observation-respiratory-rate.json",
                "Observation-satO2.json",
            ],
        ),
        (
            "IDCR - Problem List.v1",
            &[
                "Condition-example.json",
                "Condition-f201.json",
                "Condition-stroke.json",
            ],
        ),
        (
            "Adverse Reaction List.v1",
            &[
                "AllergyIntolerance-example.json",
                "AllergyIntolerance-nka.json",
            ],
        ),
    ];
    let mut sent = 0;
    for (template, files) in cases {
        let engine = find(template).unwrap().engine().unwrap();
        for file in *files {
            for format in [OpenEhrFormat::Canonical, OpenEhrFormat::Flat] {
                let out = FhirToOpenEhr {
                    engine: &engine,
                    format,
                    defaults: CanonicalDefaults {
                        language: "en".into(),
                        territory: "DE".into(),
                        composer: "ehrgate".into(),
                        time: "2024-03-01T10:00:00Z".into(),
                    },
                }
                .translate(&example(file))
                .unwrap()
                .output;
                let url = match format {
                    OpenEhrFormat::Canonical => format!("{}/ehr/{ehr}/composition", s.base_url),
                    OpenEhrFormat::Flat => format!(
                        "{}/ehr/{ehr}/composition?format=FLAT&templateId={}",
                        s.base_url,
                        template.replace(' ', "%20")
                    ),
                };
                let a = post_json(&url, &out, &[]).await;
                assert_eq!(
                    a.status,
                    StatusCode::NO_CONTENT,
                    "{template} {file} {format:?}: {}",
                    String::from_utf8_lossy(&a.body)
                );
                sent += 1;
            }
        }
    }
    assert_eq!(s.stats.stored_compositions().len(), sent);
    assert!(s.stats.recheck().is_empty());
}

/// The EHRbase 2.x behaviours issue 27 names, each against the reference:
/// Basic authentication, ORDER BY only on selected paths, LIMIT within the
/// configured maximum, form-encoded `query_parameters` on GET, `format`
/// matched case-sensitively.
#[tokio::test]
async fn ehrbase_refusals_are_copied() {
    let cfg = OpenEhrConfig {
        max_limit: Some(100),
        ..OpenEhrConfig::with_shipped_templates().with_ehrbase_basic_auth()
    };
    let s = spawn(cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let base = s.base_url.clone();
    // base64("ehrbase-user:SuperSecretPassword")
    let auth = (
        "authorization",
        "Basic ZWhyYmFzZS11c2VyOlN1cGVyU2VjcmV0UGFzc3dvcmQ=",
    );
    let anonymous = call(Method::POST, &format!("{base}/ehr"), &[], "").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some("Basic realm=\"Realm\"")
    );
    let wrong = call(
        Method::POST,
        &format!("{base}/ehr"),
        &[("authorization", "Basic ZWhyYmFzZS11c2VyOndyb25n")],
        "",
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(s.stats.ehrs_created(), 0);
    let created = call(Method::POST, &format!("{base}/ehr"), &[auth], "").await;
    assert_eq!(created.status, StatusCode::CREATED);
    let ehr = created.header("etag").unwrap().trim_matches('"').to_owned();

    let comp = composition(
        "EHRN Vital signs.v2",
        "Observation-heart-rate.json",
        "2024-03-01T10:00:00Z",
    );
    let lower = post_json(
        &format!("{base}/ehr/{ehr}/composition?format=json"),
        &comp,
        &[auth],
    )
    .await;
    assert_eq!(
        lower.status,
        StatusCode::NOT_ACCEPTABLE,
        "format is case-sensitive"
    );
    let stored = post_json(&format!("{base}/ehr/{ehr}/composition"), &comp, &[auth]).await;
    assert_eq!(stored.status, StatusCode::NO_CONTENT);

    let q = |text: &str| json!({"q": text, "query_parameters": {"ehr_id": ehr}});
    let unselected = post_json(
        &format!("{base}/query/aql"),
        &q(
            "SELECT c FROM EHR e[ehr_id/value=$ehr_id] CONTAINS COMPOSITION c \
            ORDER BY c/context/start_time/value DESC",
        ),
        &[auth],
    )
    .await;
    assert_eq!(unselected.status, StatusCode::BAD_REQUEST);
    assert!(unselected.json()["message"]
        .as_str()
        .unwrap()
        .contains("is not present in SELECT statement"));
    let selected = post_json(
        &format!("{base}/query/aql"),
        &q(
            "SELECT c, c/context/start_time/value FROM EHR e[ehr_id/value=$ehr_id] \
            CONTAINS COMPOSITION c ORDER BY c/context/start_time/value DESC LIMIT 100",
        ),
        &[auth],
    )
    .await;
    assert_eq!(selected.status, StatusCode::OK);
    assert_eq!(selected.json()["rows"].as_array().unwrap().len(), 1);
    let too_many = post_json(
        &format!("{base}/query/aql"),
        &q("SELECT c FROM EHR e[ehr_id/value=$ehr_id] CONTAINS COMPOSITION c LIMIT 101"),
        &[auth],
    )
    .await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);

    // GET: `query_parameters` is `k=v&k2=v2`, percent-encoded as one value.
    let text = "SELECT c/uid/value FROM EHR e[ehr_id/value=$ehr_id] CONTAINS COMPOSITION c";
    let enc = |v: &str| {
        percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let by_get = call(
        Method::GET,
        &format!(
            "{base}/query/aql?q={}&query_parameters={}",
            enc(text),
            enc(&format!("ehr_id={ehr}"))
        ),
        &[auth],
        "",
    )
    .await;
    assert_eq!(
        by_get.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&by_get.body)
    );
    assert_eq!(by_get.json()["rows"].as_array().unwrap().len(), 1);
}
