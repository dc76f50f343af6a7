//! What the cases send: compositions the facade would write (shipped
//! mapping sets over official FHIR examples), the corpus FLAT composition,
//! shipped OPTs, fresh EHRs with unique subjects.

use ehrgate_conformance::corpus_dir;
use ehrgate_mappers::fhirconnect::canonical::CanonicalDefaults;
use ehrgate_mappers::fhirconnect::shipped::find;
use ehrgate_mappers::fhirconnect::translators::{FhirToOpenEhr, OpenEhrFormat};
use ehrgate_mappers::translation::Translator;
use http::Method;
use serde_json::{json, Value};

use super::target::{Kind, Target};

/// The template of the composition cases.
pub const VITALS: &str = "EHRN Vital signs.v2";
/// The same, percent-encoded for a query string.
pub const VITALS_QUERY: &str = "EHRN%20Vital%20signs.v2";

/// `Prefer: return=representation`.
pub const REPR: (&str, &str) = ("prefer", "return=representation");

/// A FHIR example translated by a shipped mapping set into a canonical
/// composition, as the facade writes it.
pub fn canonical(template: &str, fhir_example: &str, time: &str) -> Value {
    let p = corpus_dir().join("fhir/examples").join(fhir_example);
    let fhir: Value = serde_json::from_slice(&std::fs::read(&p).expect("FHIR example"))
        .expect("FHIR example is JSON");
    let engine = find(template)
        .expect("shipped set")
        .engine()
        .expect("shipped set compiles");
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
    .translate(&fhir)
    .expect("shipped example translates")
    .output
}

/// The heart-rate observation as a vital-signs composition EHRbase
/// accepts: the facade's translation with the pulse element's name set to
/// the coded "Heart Rate" (at1027) the template requires. The facade's own
/// translation names it "Rate" (DV_TEXT), which EHRbase refuses (422, "not
/// in template"): the `facade_writes` pairs keep that defect visible; the
/// REST cases need a composition that stores.
pub fn heart_rate(time: &str) -> Value {
    let mut c = canonical(VITALS, "Observation-heart-rate.json", time);
    assert!(
        rename_node(
            &mut c,
            "at0004",
            "Rate",
            &json!({
                "_type": "DV_CODED_TEXT",
                "value": "Heart Rate",
                "defining_code": {"terminology_id": {"value": "local"}, "code_string": "at1027"}
            })
        ),
        "the facade's heart-rate composition has its `Rate` element"
    );
    c
}

/// Replaces the name of the first node `node_id` named `old` by `name`.
fn rename_node(v: &mut Value, node_id: &str, old: &str, name: &Value) -> bool {
    match v {
        Value::Object(o) => {
            if o.get("archetype_node_id").and_then(Value::as_str) == Some(node_id)
                && o.get("name")
                    .and_then(|n| n.get("value"))
                    .and_then(Value::as_str)
                    == Some(old)
            {
                o.insert("name".to_owned(), name.clone());
                return true;
            }
            o.values_mut().any(|c| rename_node(c, node_id, old, name))
        }
        Value::Array(a) => a.iter_mut().any(|c| rename_node(c, node_id, old, name)),
        _ => false,
    }
}

/// The corpus FLAT composition of the vital-signs template.
pub fn vitals_flat() -> Value {
    let p = corpus_dir().join("openehr/compositions/flat/Vitalsigns.json");
    serde_json::from_slice(&std::fs::read(p).expect("corpus FLAT")).expect("FLAT is JSON")
}

/// A shipped OPT, as bytes.
pub fn shipped_opt(template: &str) -> Vec<u8> {
    find(template)
        .expect("shipped set")
        .opt()
        .expect("shipped set carries its OPT")
        .to_vec()
}

/// A corpus OPT with its template id replaced by `new_id` and a new uid,
/// so an upload is new on every run even against a long-lived EHRbase.
pub fn renamed_opt(corpus_name: &str, old_id: &str, new_id: &str) -> Vec<u8> {
    let p = corpus_dir().join("openehr/templates").join(corpus_name);
    let xml = String::from_utf8(std::fs::read(p).expect("corpus OPT")).expect("OPT is UTF-8");
    let renamed = xml.replace(
        &format!("<value>{old_id}</value>"),
        &format!("<value>{new_id}</value>"),
    );
    assert_ne!(
        renamed, xml,
        "template id `{old_id}` found in {corpus_name}"
    );
    // The template's own uid: `<uid>` then its `<value>`.
    let uid_at = renamed.find("<uid>").expect("OPT has a uid");
    let v_start = uid_at + renamed[uid_at..].find("<value>").expect("uid value") + "<value>".len();
    let v_end = v_start + renamed[v_start..].find("</value>").expect("uid value end");
    let mut out = renamed[..v_start].to_owned();
    out.push_str(&uuid::Uuid::new_v4().to_string());
    out.push_str(&renamed[v_end..]);
    out.into_bytes()
}

/// A run-unique token for subject ids and template ids.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Makes sure the vital-signs template is on the server (the reference
/// preloads shipped templates; EHRbase starts empty).
pub async fn ensure_vitals(t: &Target) {
    if t.kind == Kind::Reference {
        return;
    }
    let a = t
        .call(
            Method::POST,
            "/definition/template/adl1.4",
            &[
                ("content-type", "application/xml"),
                ("accept", "application/xml"),
            ],
            shipped_opt(VITALS),
        )
        .await;
    if a.status == 201 || a.status == 409 {
        return;
    }
    // Concurrent uploads of one template (the cases run in parallel) can
    // make EHRbase answer 500 to the losers: fine if the template is there.
    let there = t
        .get(
            &format!("/definition/template/adl1.4/{VITALS_QUERY}"),
            &[("accept", "application/xml")],
        )
        .await;
    assert_eq!(
        there.status,
        200,
        "uploading `{VITALS}`: {} {}",
        a.status,
        super::text(&a)
    );
}

/// An EHR_STATUS naming `subject` in `namespace`.
pub fn ehr_status(subject: &str, namespace: &str) -> Value {
    json!({
        "_type": "EHR_STATUS",
        "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
        "name": {"value": "EHR Status"},
        "subject": {"external_ref": {
            "id": {"_type": "GENERIC_ID", "value": subject, "scheme": "id_scheme"},
            "namespace": namespace, "type": "PERSON"}},
        "is_modifiable": true, "is_queryable": true
    })
}

/// A new EHR without subject; its id from the ETag (both servers quote it).
pub async fn new_ehr(t: &Target) -> String {
    let a = t.call(Method::POST, "/ehr", &[], "").await;
    assert_eq!(a.status, 201, "POST /ehr: {}", super::text(&a));
    a.header("etag")
        .expect("POST /ehr answers an ETag")
        .trim_matches('"')
        .to_owned()
}

/// A new EHR holding the heart-rate composition; `(ehr, version uid)`.
pub async fn ehr_with_heart_rate(t: &Target, time: &str) -> (String, String) {
    ensure_vitals(t).await;
    let ehr = new_ehr(t).await;
    let a = t
        .post_json(&format!("/ehr/{ehr}/composition"), &heart_rate(time), &[])
        .await;
    assert!(
        a.status.is_success(),
        "POST composition: {} {}",
        a.status,
        super::text(&a)
    );
    let v = a
        .header("etag")
        .expect("POST composition answers an ETag")
        .trim_matches('"')
        .to_owned();
    (ehr, v)
}
