//! EHR create and lookup by subject.

use http::Method;

use super::fixtures::{ehr_status, unique, REPR};
use super::{assert_error_shape, text, Target};

/// `POST /ehr` without a body: 201, minimal (no body), the id in a quoted
/// ETag and in Location; the EHR is then readable.
pub async fn create_minimal(t: &Target) {
    let a = t.call(Method::POST, "/ehr", &[], "").await;
    assert_eq!(a.status, 201, "{}", text(&a));
    assert!(a.body.is_empty(), "minimal by default: {}", text(&a));
    let etag = a.header("etag").expect("ETag");
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "quoted ETag: {etag}"
    );
    let id = etag.trim_matches('"');
    uuid::Uuid::parse_str(id).expect("the ETag is the EHR id");
    let location = a.header("location").expect("Location");
    assert!(location.ends_with(&format!("/ehr/{id}")), "{location}");
    let got = t.get(&format!("/ehr/{id}"), &[]).await;
    assert_eq!(got.status, 200, "{}", text(&got));
    assert_eq!(got.json()["ehr_id"]["value"], id);
}

/// `POST /ehr` with an EHR_STATUS naming a subject, then
/// `GET /ehr?subject_id=&subject_namespace=` finds it; another namespace
/// does not (404, EHRbase's error shape).
pub async fn create_with_subject_and_lookup(t: &Target) {
    let subject = unique("pat");
    let a = t
        .post_json("/ehr", &ehr_status(&subject, "ehrgate_contract"), &[REPR])
        .await;
    assert_eq!(a.status, 201, "{}", text(&a));
    let ehr = a.json();
    let id = ehr["ehr_id"]["value"].as_str().expect("ehr_id").to_owned();
    let found = t
        .get(
            &format!("/ehr?subject_id={subject}&subject_namespace=ehrgate_contract"),
            &[],
        )
        .await;
    assert_eq!(found.status, 200, "{}", text(&found));
    assert_eq!(found.json()["ehr_id"]["value"], id.as_str());
    let other = t
        .get(
            &format!("/ehr?subject_id={subject}&subject_namespace=other_clinic"),
            &[],
        )
        .await;
    assert_eq!(other.status, 404, "{}", text(&other));
    assert_error_shape(&other, "unknown subject");
}

/// A second EHR for the same subject is a conflict (409).
pub async fn duplicate_subject_conflicts(t: &Target) {
    let subject = unique("pat");
    let status = ehr_status(&subject, "ehrgate_contract");
    let a = t.post_json("/ehr", &status, &[]).await;
    assert_eq!(a.status, 201, "{}", text(&a));
    let again = t.post_json("/ehr", &status, &[]).await;
    assert_eq!(again.status, 409, "{}", text(&again));
    assert_error_shape(&again, "duplicate subject");
}

/// Subject namespaces must match EHRbase's
/// `[a-zA-Z][a-zA-Z0-9-_:/&+?]*`; a dotted one (`hospital.org`) or one
/// with a leading digit is refused with 400.
pub async fn namespace_pattern_enforced(t: &Target) {
    for ns in ["hospital.org", "1clinic", "urn:oid:1.2.3"] {
        let a = t
            .post_json("/ehr", &ehr_status(&unique("pat"), ns), &[])
            .await;
        assert_eq!(a.status, 400, "namespace `{ns}`: {}", text(&a));
        assert_error_shape(&a, ns);
    }
    let ok = t
        .post_json("/ehr", &ehr_status(&unique("pat"), "urn:clinic:a/b"), &[])
        .await;
    assert_eq!(
        ok.status,
        201,
        "a namespace within the pattern: {}",
        text(&ok)
    );
}

/// Unknown EHR ids are 404; `PUT /ehr/{id}` with a non-UUID is 400.
pub async fn unknown_and_malformed_ids(t: &Target) {
    let missing = t.get(&format!("/ehr/{}", uuid::Uuid::new_v4()), &[]).await;
    assert_eq!(missing.status, 404, "{}", text(&missing));
    assert_error_shape(&missing, "unknown EHR");
    let bad = t.call(Method::PUT, "/ehr/not-a-uuid", &[], "").await;
    assert_eq!(bad.status, 400, "{}", text(&bad));
}
