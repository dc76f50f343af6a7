//! FLAT (simSDT) compositions: `?format=FLAT&templateId=` in and out.

use serde_json::Value;

use super::fixtures::{ensure_vitals, new_ehr, vitals_flat, REPR, VITALS_QUERY};
use super::{text, Target};

fn is_flat(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| !o.is_empty() && o.keys().all(|k| k.contains('/')))
}

/// Create from FLAT (201 with FLAT back), read as canonical and as FLAT,
/// update from FLAT with the raw version uid.
pub async fn create_read_update(t: &Target) {
    ensure_vitals(t).await;
    let ehr = new_ehr(t).await;
    let url = format!("/ehr/{ehr}/composition?format=FLAT&templateId={VITALS_QUERY}");
    let a = t.post_json(&url, &vitals_flat(), &[REPR]).await;
    assert_eq!(a.status, 201, "{}", text(&a));
    assert!(is_flat(&a.json()), "FLAT answered for FLAT: {}", text(&a));
    let v1 = a.header("etag").expect("ETag").trim_matches('"').to_owned();
    let object = v1.split("::").next().expect("object id").to_owned();

    let canon = t
        .get(&format!("/ehr/{ehr}/composition/{object}"), &[])
        .await;
    assert_eq!(canon.status, 200, "{}", text(&canon));
    assert_eq!(canon.json()["_type"], "COMPOSITION");
    assert_eq!(
        canon.json()["archetype_details"]["template_id"]["value"],
        "EHRN Vital signs.v2"
    );
    let flat = t
        .get(&format!("/ehr/{ehr}/composition/{object}?format=FLAT"), &[])
        .await;
    assert_eq!(flat.status, 200, "{}", text(&flat));
    assert!(is_flat(&flat.json()), "{}", text(&flat));

    let put = t
        .put_json(
            &format!("/ehr/{ehr}/composition/{object}?format=FLAT&templateId={VITALS_QUERY}"),
            &vitals_flat(),
            &[("if-match", v1.as_str()), REPR],
        )
        .await;
    assert_eq!(put.status, 200, "{}", text(&put));
    assert!(put.header("etag").expect("ETag").ends_with("::2\""));
}

/// `format` is case-sensitive: `format=flat` is refused (406, EHRbase's
/// "Invalid compositions format").
pub async fn format_is_case_sensitive(t: &Target) {
    ensure_vitals(t).await;
    let ehr = new_ehr(t).await;
    let a = t
        .post_json(
            &format!("/ehr/{ehr}/composition?format=flat&templateId={VITALS_QUERY}"),
            &vitals_flat(),
            &[],
        )
        .await;
    assert_eq!(a.status, 406, "{}", text(&a));
}

/// FLAT without `templateId` cannot be built and is not stored. EHRbase
/// 2.16.0 answers 500 (its FLAT parser fails on the missing id), the
/// reference 400: the client must always send `templateId`.
pub async fn flat_without_template_id(t: &Target) {
    ensure_vitals(t).await;
    let ehr = new_ehr(t).await;
    let a = t
        .post_json(
            &format!("/ehr/{ehr}/composition?format=FLAT"),
            &vitals_flat(),
            &[],
        )
        .await;
    assert!(
        a.status.is_client_error() || a.status.is_server_error(),
        "{} {}",
        a.status,
        text(&a)
    );
    let q = t
        .post_json(
            "/query/aql",
            &serde_json::json!({
                "q": "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c WHERE e/ehr_id/value = $ehr_id",
                "query_parameters": {"ehr_id": ehr}
            }),
            &[],
        )
        .await;
    assert_eq!(q.status, 200, "{}", text(&q));
    assert_eq!(
        q.json()["rows"].as_array().map(Vec::len),
        Some(0),
        "nothing stored"
    );
}
