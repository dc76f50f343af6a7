//! Operational templates: upload, list, fetch.

use http::Method;

use super::fixtures::{renamed_opt, unique};
use super::{text, Target};

const PATH: &str = "/definition/template/adl1.4";

async fn upload(t: &Target, opt: Vec<u8>, accept: Option<&str>) -> crate::refclient::Answer {
    let mut h = vec![("content-type", "application/xml")];
    if let Some(a) = accept {
        h.push(("accept", a));
    }
    t.call(Method::POST, PATH, &h, opt).await
}

/// Everything but RFC 3986 unreserved characters, as the gateway's client
/// encodes a segment. (Encoding `.` as `%2E` would be refused by EHRbase's
/// Spring Security firewall before the controller sees it.)
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, SEGMENT).to_string()
}

/// Upload (201), the same id again (409), listed with its id, fetched as
/// the OPT XML with `Accept: application/xml`.
pub async fn upload_list_fetch(t: &Target) {
    let id = unique("ehrgate contract problem list");
    let opt = renamed_opt("IDCR - Problem List.v1.opt", "IDCR - Problem List.v1", &id);
    let a = upload(t, opt.clone(), Some("application/xml")).await;
    assert_eq!(a.status, 201, "{}", text(&a));
    let again = upload(t, opt, Some("application/xml")).await;
    assert_eq!(again.status, 409, "{}", text(&again));

    let list = t.get(PATH, &[("accept", "application/json")]).await;
    assert_eq!(list.status, 200, "{}", text(&list));
    let listed = list.json();
    assert!(
        listed
            .as_array()
            .expect("a JSON array")
            .iter()
            .any(|m| m["template_id"] == id.as_str()),
        "`{id}` listed"
    );

    let got = t
        .get(
            &format!("{PATH}/{}", encode(&id)),
            &[("accept", "application/xml")],
        )
        .await;
    assert_eq!(got.status, 200, "{}", text(&got));
    let xml = String::from_utf8_lossy(&got.body);
    assert!(
        xml.contains(&format!("<value>{id}</value>")),
        "the OPT: {}",
        text(&got)
    );
    let missing = t
        .get(
            &format!("{PATH}/{}", encode("no such template")),
            &[("accept", "application/xml")],
        )
        .await;
    assert_eq!(missing.status, 404, "{}", text(&missing));
}

/// An upload that asks for JSON back is 406 (the endpoint produces XML
/// only): the client must send `Accept: application/xml`.
pub async fn upload_accepting_json_refused(t: &Target) {
    let id = unique("ehrgate contract accept");
    let opt = renamed_opt("IDCR - Problem List.v1.opt", "IDCR - Problem List.v1", &id);
    let a = upload(t, opt, Some("application/json")).await;
    assert_eq!(a.status, 406, "{}", text(&a));
}
