//! AQL over `POST /query/aql`: the query shapes the facade's search sends.

use serde_json::{json, Value};

use super::fixtures::ehr_with_heart_rate;
use super::{assert_error_shape, text, Target};

async fn aql(t: &Target, q: &str, params: Value) -> crate::refclient::Answer {
    t.post_json(
        "/query/aql",
        &json!({"q": q, "query_parameters": params}),
        &[],
    )
    .await
}

/// Selecting the ordered path: rows in that order, `columns` and `rows`
/// in the result, parameters bound from `query_parameters`.
pub async fn order_by_a_selected_path(t: &Target) {
    let (ehr, v1) = ehr_with_heart_rate(t, "2024-03-01T10:00:00Z").await;
    let (_, v2) = {
        let a = t
            .post_json(
                &format!("/ehr/{ehr}/composition"),
                &super::fixtures::heart_rate("2024-03-02T10:00:00Z"),
                &[],
            )
            .await;
        assert!(a.status.is_success(), "{}", text(&a));
        (
            ehr.clone(),
            a.header("etag").expect("ETag").trim_matches('"').to_owned(),
        )
    };
    let a = aql(
        t,
        "SELECT c/uid/value, c/context/start_time/value FROM EHR e CONTAINS COMPOSITION c \
         WHERE e/ehr_id/value = $ehr_id ORDER BY c/context/start_time/value DESC",
        json!({"ehr_id": ehr}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", text(&a));
    let r = a.json();
    assert_eq!(r["columns"].as_array().map(Vec::len), Some(2), "{r}");
    let uids: Vec<&str> = r["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|row| row[0].as_str())
        .collect();
    assert_eq!(uids, vec![v2.as_str(), v1.as_str()], "newest first");
}

/// Ordering by a path that is not selected (what the facade sent before
/// issue 27: `SELECT c ... ORDER BY c/context/start_time/value`) is
/// refused with 400.
pub async fn order_by_an_unselected_path_refused(t: &Target) {
    let (ehr, _) = ehr_with_heart_rate(t, "2024-03-01T10:00:00Z").await;
    let a = aql(
        t,
        "SELECT c FROM EHR e CONTAINS COMPOSITION c WHERE e/ehr_id/value = $ehr_id \
         ORDER BY c/context/start_time/value DESC",
        json!({"ehr_id": ehr}),
    )
    .await;
    assert_eq!(a.status, 400, "{}", text(&a));
    assert_error_shape(&a, "ORDER BY unselected");
}

/// Date bounds compared on the DV_DATE_TIME itself select by time.
pub async fn date_bounds_on_the_date_time(t: &Target) {
    let (ehr, v1) = ehr_with_heart_rate(t, "2024-03-01T10:00:00Z").await;
    let later = t
        .post_json(
            &format!("/ehr/{ehr}/composition"),
            &super::fixtures::heart_rate("2024-06-01T10:00:00Z"),
            &[],
        )
        .await;
    assert!(later.status.is_success(), "{}", text(&later));
    let a = aql(
        t,
        "SELECT c/uid/value, c/context/start_time FROM EHR e CONTAINS COMPOSITION c \
         WHERE e/ehr_id/value = $ehr_id AND c/context/start_time < $before",
        json!({"ehr_id": ehr, "before": "2024-04-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", text(&a));
    let uids: Vec<String> = a.json()["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|row| row[0].as_str().map(str::to_owned))
        .collect();
    assert_eq!(uids, vec![v1], "only the March composition");
}

/// A query that does not parse is 400 in EHRbase's error shape.
pub async fn unparsable_query(t: &Target) {
    let a = aql(t, "SELEKT nothing", json!({})).await;
    assert_eq!(a.status, 400, "{}", text(&a));
    assert_error_shape(&a, "bad AQL");
}
