//! Canonical compositions: create, read, update with If-Match, delete.

use serde_json::json;

use super::fixtures::{ehr_with_heart_rate, ensure_vitals, heart_rate, new_ehr, REPR};
use super::{assert_error_shape, text, Target};

const T1: &str = "2024-03-01T10:00:00Z";

/// `POST` with `Prefer: return=minimal` (or no Prefer) answers 204, not
/// 201, with Location and a quoted ETag `"uuid::system::1"`.
pub async fn create_minimal_is_204(t: &Target) {
    ensure_vitals(t).await;
    let ehr = new_ehr(t).await;
    for prefer in [None, Some(("prefer", "return=minimal"))] {
        let headers: Vec<_> = prefer.into_iter().collect();
        let a = t
            .post_json(
                &format!("/ehr/{ehr}/composition"),
                &heart_rate(T1),
                &headers,
            )
            .await;
        assert_eq!(a.status, 204, "prefer {prefer:?}: {}", text(&a));
        assert!(a.body.is_empty());
        let etag = a.header("etag").expect("ETag");
        assert!(etag.starts_with('"') && etag.ends_with("::1\""), "{etag}");
        assert!(a.header("location").is_some(), "Location");
    }
}

/// `POST` with `Prefer: return=representation`: 201 and the stored
/// composition, its `uid` the new version uid.
pub async fn create_representation_is_201(t: &Target) {
    ensure_vitals(t).await;
    let ehr = new_ehr(t).await;
    let comp = heart_rate(T1);
    let a = t
        .post_json(&format!("/ehr/{ehr}/composition"), &comp, &[REPR])
        .await;
    assert_eq!(a.status, 201, "{}", text(&a));
    let back = a.json();
    let etag = a.header("etag").expect("ETag").trim_matches('"').to_owned();
    assert_eq!(back["uid"]["value"], etag.as_str());
    assert_eq!(
        back["archetype_details"]["template_id"]["value"],
        comp["archetype_details"]["template_id"]["value"]
    );
}

/// `GET` by versioned object id answers the latest version; by version
/// uid that version.
pub async fn read_latest_and_by_version(t: &Target) {
    let (ehr, v1) = ehr_with_heart_rate(t, T1).await;
    let object = v1.split("::").next().expect("object id").to_owned();
    for id in [object.as_str(), v1.as_str()] {
        let got = t.get(&format!("/ehr/{ehr}/composition/{id}"), &[]).await;
        assert_eq!(got.status, 200, "{id}: {}", text(&got));
        assert_eq!(got.json()["uid"]["value"], v1.as_str());
        assert_eq!(got.json()["_type"], "COMPOSITION");
    }
    let other_ehr = new_ehr(t).await;
    let elsewhere = t
        .get(&format!("/ehr/{other_ehr}/composition/{object}"), &[])
        .await;
    assert_eq!(elsewhere.status, 404, "{}", text(&elsewhere));
}

/// `PUT` with `If-Match` set to the raw version uid (how EHRbase 2.x
/// parses it) makes version 2.
pub async fn update_raw_if_match(t: &Target) {
    let (ehr, v1) = ehr_with_heart_rate(t, T1).await;
    let object = v1.split("::").next().expect("object id").to_owned();
    let a = t
        .put_json(
            &format!("/ehr/{ehr}/composition/{object}"),
            &heart_rate("2024-03-01T11:00:00Z"),
            &[("if-match", v1.as_str()), REPR],
        )
        .await;
    assert_eq!(a.status, 200, "{}", text(&a));
    let v2 = a.header("etag").expect("ETag").trim_matches('"').to_owned();
    assert!(v2.ends_with("::2"), "{v2}");
    assert_eq!(a.json()["uid"]["value"], v2.as_str());
    let minimal = t
        .put_json(
            &format!("/ehr/{ehr}/composition/{object}"),
            &heart_rate("2024-03-01T12:00:00Z"),
            &[("if-match", v2.as_str())],
        )
        .await;
    assert_eq!(minimal.status, 204, "minimal update: {}", text(&minimal));
    assert!(minimal.header("etag").expect("ETag").ends_with("::3\""));
}

/// `If-Match` in the REST spec's quoted ETag form is refused (400):
/// EHRbase 2.x parses the header as a version uid (its issue 1639).
pub async fn update_quoted_if_match_refused(t: &Target) {
    let (ehr, v1) = ehr_with_heart_rate(t, T1).await;
    let object = v1.split("::").next().expect("object id").to_owned();
    let quoted = format!("\"{v1}\"");
    let a = t
        .put_json(
            &format!("/ehr/{ehr}/composition/{object}"),
            &heart_rate(T1),
            &[("if-match", quoted.as_str())],
        )
        .await;
    assert_eq!(a.status, 400, "{}", text(&a));
    assert_error_shape(&a, "quoted If-Match");
}

/// `PUT` from a stale version is 412; without `If-Match` 400.
pub async fn update_stale_or_missing_if_match(t: &Target) {
    let (ehr, v1) = ehr_with_heart_rate(t, T1).await;
    let object = v1.split("::").next().expect("object id").to_owned();
    let url = format!("/ehr/{ehr}/composition/{object}");
    let ok = t
        .put_json(&url, &heart_rate(T1), &[("if-match", v1.as_str())])
        .await;
    assert!(ok.status.is_success(), "{}", text(&ok));
    let stale = t
        .put_json(&url, &heart_rate(T1), &[("if-match", v1.as_str())])
        .await;
    assert_eq!(stale.status, 412, "{}", text(&stale));
    let missing = t.put_json(&url, &heart_rate(T1), &[]).await;
    assert_eq!(missing.status, 400, "{}", text(&missing));
}

/// `DELETE` by the latest version uid: 204 with a quoted ETag naming the
/// object (EHRbase 2.16.0 echoes the preceding version uid there, not the
/// deletion's version: BEHAVIOURS.md); the composition then reads as 204;
/// deleting it again, by either version uid, is 404.
pub async fn delete_then_read_and_delete_again(t: &Target) {
    let (ehr, v1) = ehr_with_heart_rate(t, T1).await;
    let object = v1.split("::").next().expect("object id").to_owned();
    let gone = t.delete(&format!("/ehr/{ehr}/composition/{v1}")).await;
    assert_eq!(gone.status, 204, "{}", text(&gone));
    let etag = gone.header("etag").expect("ETag");
    assert!(
        etag.starts_with(&format!("\"{object}::")) && etag.ends_with('"'),
        "{etag}"
    );
    let read = t
        .get(&format!("/ehr/{ehr}/composition/{object}"), &[])
        .await;
    assert_eq!(read.status, 204, "a deleted composition: {}", text(&read));
    let (stem, _) = v1.rsplit_once("::").expect("version uid");
    for again in [v1.clone(), format!("{stem}::2")] {
        let twice = t.delete(&format!("/ehr/{ehr}/composition/{again}")).await;
        assert_eq!(
            twice.status,
            404,
            "deleting {again} again: {}",
            text(&twice)
        );
        assert_error_shape(&twice, "deleted twice");
    }
}

/// A composition the template refuses (a unit it does not allow) is 422
/// with EHRbase's error shape; an unknown template id also 422; JSON that
/// does not parse 400.
pub async fn validation_failures(t: &Target) {
    ensure_vitals(t).await;
    let ehr = new_ehr(t).await;
    let url = format!("/ehr/{ehr}/composition");
    let good = heart_rate(T1).to_string();
    assert!(good.contains("\"/min\""), "heart rate in /min");
    let bad: serde_json::Value =
        serde_json::from_str(&good.replace("\"/min\"", "\"furlong\"")).expect("JSON");
    let a = t.post_json(&url, &bad, &[]).await;
    assert_eq!(a.status, 422, "unit outside the template: {}", text(&a));
    assert_error_shape(&a, "template violation");

    let mut unknown = heart_rate(T1);
    unknown["archetype_details"]["template_id"]["value"] = json!("no such template");
    let a = t.post_json(&url, &unknown, &[]).await;
    assert_eq!(a.status, 422, "unknown template: {}", text(&a));
    assert_error_shape(&a, "unknown template");

    let a = t
        .call(
            http::Method::POST,
            &url,
            &[("content-type", "application/json")],
            "{not json",
        )
        .await;
    assert_eq!(a.status, 400, "not JSON: {}", text(&a));
    assert_error_shape(&a, "not JSON");
}
