//! The facade against a reference backend that behaves as EHRbase 2.x on
//! the points where the facade used to fail on a real EHRbase (issue 27):
//! Basic authentication on, ORDER BY only on selected paths, `If-Match`
//! parsed raw, subject namespaces checked against EHRbase's pattern,
//! template uploads only with `Accept: application/xml`.
//!
//! The first four tests are the four breaking cases of the issue; each
//! fails against the client before issue 27 (no credentials at all, ORDER
//! BY on an unselected path, a quoted `If-Match`, namespaces with dots
//! accepted at load).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod gateway;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use ehrgate_conformance::corpus_dir;
use ehrgate_conformance::reference::openehr::{
    spawn, OpenEhrConfig, OpenEhrStats, RefAuth, EHRBASE_PASSWORD, EHRBASE_USER,
};
use ehrgate_conformance::reference::RefServer;
use gateway::{id_of_location, openehr_config, Gw};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

fn example(name: &str) -> Value {
    let p = corpus_dir()
        .join("fhir/examples")
        .join(format!("{name}.json"));
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

async fn backend(cfg: OpenEhrConfig) -> RefServer<OpenEhrStats> {
    spawn(cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

/// `[backend.openehr]` lines plus EHRbase's Basic user, the password read
/// from a file beside the config.
fn basic_auth(extra: &str) -> String {
    format!(
        "{extra}\n[backend.openehr.auth]\nkind = \"basic\"\nusername = \"{EHRBASE_USER}\"\n\
         password = {{ file = \"ehrbase-password\" }}\n"
    )
}

async fn gateway_with_basic(ehr: &RefServer<OpenEhrStats>, extra: &str) -> Gw {
    Gw::start_with_files(
        &openehr_config(&ehr.base_url, &basic_auth(extra)),
        &[("ehrbase-password", &format!("{EHRBASE_PASSWORD}\n"))],
    )
    .await
}

fn observation(patient: &str, when: &str) -> String {
    let mut o = example("Observation-heart-rate");
    o["subject"] = json!({"reference": format!("Patient/{patient}")});
    o["effectiveDateTime"] = json!(when);
    o.to_string()
}

fn metrics(gw: &Gw) -> String {
    let shared = gw.gateway.shared();
    ehrgate::telemetry::exposition::render(&shared.telemetry.metrics, &shared.load())
}

/// Breaking case 1: EHRbase's default is Basic auth. Without credentials
/// the CDR answers 401; the FHIR client gets a 502 that names the backend
/// and authentication, the refusal is counted, nothing is stored.
#[tokio::test]
async fn without_credentials_the_cdr_refusal_is_a_clear_502() {
    let ehr = backend(OpenEhrConfig::with_shipped_templates().with_ehrbase_basic_auth()).await;
    let gw = Gw::start(&openehr_config(&ehr.base_url, "")).await;
    let a = gw
        .call(
            "POST",
            "/fhir/Observation",
            &[],
            &observation("p-1", "2024-03-01"),
        )
        .await;
    assert_eq!(a.status, 502, "{}", a.body);
    assert_eq!(a.outcome_code(), "openehr.authentication");
    let issue = &a.json()["issue"][0];
    assert_eq!(issue["code"], "security");
    let diagnostics = issue["diagnostics"].as_str().unwrap();
    assert!(
        diagnostics.contains("`cdr`") && diagnostics.contains("authentication"),
        "{diagnostics}"
    );
    assert_eq!(ehr.stats.ehrs_created(), 0);
    assert_eq!(ehr.stats.compositions_stored(), 0);
    assert!(
        ehr.stats.exchanges().iter().all(|e| e.status == 401),
        "the backend saw only refused calls"
    );
    let m = metrics(&gw);
    let line = m
        .lines()
        .find(|l| l.starts_with("ehrgate_openehr_auth_failures_total{backend=\"cdr\"}"))
        .unwrap_or_else(|| panic!("no auth failure metric:\n{m}"));
    let n: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 1, "{line}");
}

/// With EHRbase's user and a password file, every call of the facade
/// carries the credentials: EHR lookup and creation, composition create,
/// read, update, delete, AQL search, template fetch.
#[tokio::test]
async fn basic_credentials_are_sent_on_every_call() {
    let ehr = backend(OpenEhrConfig::with_shipped_templates().with_ehrbase_basic_auth()).await;
    let gw = gateway_with_basic(&ehr, "").await;
    let a = gw
        .call(
            "POST",
            "/fhir/Observation",
            &[],
            &observation("p-1", "2024-03-01"),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let id = id_of_location(a.header("location"));
    let r = gw
        .call("GET", &format!("/fhir/Observation/{id}"), &[], "")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s = gw
        .call("GET", "/fhir/Observation?patient=Patient/p-1", &[], "")
        .await;
    assert_eq!(s.status, 200, "{}", s.body);
    assert_eq!(s.json()["total"], 1, "{}", s.body);
    let u = gw
        .call(
            "PUT",
            &format!("/fhir/Observation/{id}"),
            &[("if-match", "W/\"1\"")],
            &{
                let mut o: Value = serde_json::from_str(&observation("p-1", "2024-03-02")).unwrap();
                o["id"] = json!(id);
                o.to_string()
            },
        )
        .await;
    assert_eq!(u.status, 200, "{}", u.body);
    let d = gw
        .call("DELETE", &format!("/fhir/Observation/{id}"), &[], "")
        .await;
    assert_eq!(d.status, 204, "{}", d.body);
    let refused: Vec<_> = ehr
        .stats
        .exchanges()
        .into_iter()
        .filter(|e| e.status == 401)
        .collect();
    assert!(refused.is_empty(), "calls without credentials: {refused:?}");
    let paths: Vec<String> = ehr
        .stats
        .exchanges()
        .iter()
        .map(|e| e.path.clone())
        .collect();
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("/definition/template/adl1.4/")),
        "the template was fetched from the backend: {paths:?}"
    );
    assert!(paths.iter().any(|p| p == "/query/aql"), "{paths:?}");
}

/// Breaking case 2: EHRbase refuses an ORDER BY on a path the query does
/// not select (400), which made every FHIR search fail. And date bounds
/// compare the DV_DATE_TIME by instant: 00:30 at +01:00 on March 1st is
/// February in UTC (as text it would sort into March).
#[tokio::test]
async fn searches_pass_ehrbase_order_by_check_and_compare_instants() {
    let ehr = backend(OpenEhrConfig::with_shipped_templates().with_ehrbase_basic_auth()).await;
    let gw = gateway_with_basic(&ehr, "").await;
    for when in ["2024-03-01T00:30:00+01:00", "2024-03-10T12:00:00Z"] {
        let a = gw
            .call("POST", "/fhir/Observation", &[], &observation("p-2", when))
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
    for (query, total) in [
        ("patient=Patient/p-2", 2),
        ("patient=Patient/p-2&date=lt2024-03", 1),
        ("patient=Patient/p-2&date=ge2024-03", 1),
        ("patient=Patient/p-2&date=2024-02-29", 1),
        ("date=ge2024-03-10T12:00:00Z", 1),
        ("date=gt2024-03-10T12:00:00Z", 0),
    ] {
        let a = gw
            .call("GET", &format!("/fhir/Observation?{query}"), &[], "")
            .await;
        assert_eq!(a.status, 200, "{query}: {}", a.body);
        assert_eq!(a.json()["total"], total, "{query}: {}", a.body);
    }
    let refused: Vec<_> = ehr
        .stats
        .exchanges()
        .into_iter()
        .filter(|e| e.path == "/query/aql" && e.status != 200)
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
}

/// Breaking case 3: EHRbase 2.x parses `If-Match` raw; the quoted form
/// (the REST spec's) is 400 there. Raw is the default; `if_match =
/// "quoted"` is for CDRs that want the spec's form, and against an
/// EHRbase-like backend it shows the refusal.
#[tokio::test]
async fn updates_send_if_match_raw_unless_told_otherwise() {
    let ehr = backend(OpenEhrConfig::with_shipped_templates().with_ehrbase_basic_auth()).await;
    for (extra, status) in [("", 200), ("if_match = \"quoted\"", 422)] {
        let gw = gateway_with_basic(&ehr, extra).await;
        let patient = format!("p-3{}", extra.len());
        let a = gw
            .call(
                "POST",
                "/fhir/Observation",
                &[],
                &observation(&patient, "2024-03-01"),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
        let id = id_of_location(a.header("location"));
        let mut o: Value = serde_json::from_str(&observation(&patient, "2024-03-02")).unwrap();
        o["id"] = json!(id);
        let u = gw
            .call(
                "PUT",
                &format!("/fhir/Observation/{id}"),
                &[("if-match", "W/\"1\"")],
                &o.to_string(),
            )
            .await;
        assert_eq!(u.status, status, "{extra}: {}", u.body);
        if status == 200 {
            assert_eq!(u.header("etag"), "W/\"2\"");
        } else {
            assert!(u.body.contains("UUID string too large"), "{}", u.body);
        }
    }
}

/// Breaking case 4: EHRbase refuses EHR_STATUS subject namespaces outside
/// `[a-zA-Z][a-zA-Z0-9-_:/&+?]*` (400), so such a namespace is refused at
/// config load, with its line, instead of failing every first write.
#[tokio::test]
async fn namespaces_ehrbase_refuses_are_config_errors() {
    let ehr = backend(OpenEhrConfig::with_shipped_templates()).await;
    for ns in ["urn:oid:1.2.3", "hospital.org", "1clinic"] {
        let text = openehr_config(&ehr.base_url, "").replace("demo-mrn", ns);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, &text).unwrap();
        let e = ehrgate::config::load(&path).unwrap_err().to_string();
        assert!(
            e.contains(ns) && e.contains("[a-zA-Z][a-zA-Z0-9-_:/&+?]*"),
            "{ns}: {e}"
        );
        // ... and the backend itself refuses them as EHRbase does.
        let status = json!({
            "_type": "EHR_STATUS",
            "subject": {"external_ref": {"id": {"value": "p"}, "namespace": ns}},
            "is_modifiable": true, "is_queryable": true
        });
        let a = raw_post(
            &format!("{}/ehr", ehr.base_url),
            &[("content-type", "application/json")],
            status.to_string(),
        )
        .await;
        assert_eq!(a.0, 400, "{ns}: {}", a.1);
    }
    let ok = openehr_config(&ehr.base_url, "").replace("demo-mrn", "urn:oid:hospital");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, &ok).unwrap();
    ehrgate::config::load(&path).unwrap();
}

/// EHRbase's template upload consumes and produces only XML: an uploader
/// asking for JSON got 406 through the gateway before; the client now
/// always asks for XML.
#[tokio::test]
async fn template_uploads_ask_for_xml_whatever_the_uploader_sent() {
    let ehr = backend(OpenEhrConfig::default().with_ehrbase_basic_auth()).await;
    let gw = gateway_with_basic(&ehr, "").await;
    let opt = ehrgate_mappers::fhirconnect::shipped::find("EHRN Vital signs.v2")
        .unwrap()
        .opt()
        .unwrap();
    let a = gw
        .call(
            "POST",
            "/definition/template/adl1.4",
            &[
                ("content-type", "application/xml"),
                ("accept", "application/json"),
            ],
            std::str::from_utf8(opt).unwrap(),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(ehr.stats.templates_stored(), 1);
    // The backend itself refuses an upload that does not accept XML.
    // base64("ehrbase-user:SuperSecretPassword")
    let basic = "Basic ZWhyYmFzZS11c2VyOlN1cGVyU2VjcmV0UGFzc3dvcmQ=";
    let direct = raw_post(
        &format!("{}/definition/template/adl1.4", ehr.base_url),
        &[
            ("content-type", "application/xml"),
            ("accept", "application/json"),
            ("authorization", basic),
        ],
        String::from_utf8(opt.to_vec()).unwrap(),
    )
    .await;
    assert_eq!(direct.0, 406, "{}", direct.1);
}

/// OAuth2 client credentials: one token request for many calls; a token
/// the CDR refuses is dropped and the call repeated once with a new one.
#[tokio::test]
async fn oauth2_tokens_are_cached_and_renewed_when_refused() {
    let issued = Arc::new(AtomicUsize::new(0));
    let idp = token_endpoint(issued.clone()).await;
    // The CDR accepts only the second token: the first call is refused once.
    let ehr = backend(OpenEhrConfig {
        auth: RefAuth::Bearer {
            tokens: vec!["token-2".into()],
        },
        ..OpenEhrConfig::with_shipped_templates()
    })
    .await;
    let extra = format!(
        "\n[backend.openehr.auth]\nkind = \"oauth2\"\ntoken_url = \"http://{idp}/token\"\n\
         client_id = \"ehrgate\"\nclient_secret = {{ file = \"client-secret\" }}\n"
    );
    let gw = Gw::start_with_files(
        &openehr_config(&ehr.base_url, &extra),
        &[("client-secret", "s3cret")],
    )
    .await;
    for i in 0..3 {
        let a = gw
            .call(
                "POST",
                "/fhir/Observation",
                &[],
                &observation(&format!("p-o{i}"), "2024-03-01"),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
    assert_eq!(
        issued.load(Ordering::SeqCst),
        2,
        "one refused token, one kept"
    );
    let refused = ehr
        .stats
        .exchanges()
        .iter()
        .filter(|e| e.status == 401)
        .count();
    assert_eq!(refused, 1);
}

/// A token endpoint issuing `token-1`, `token-2`, ... (5 minutes each) to
/// the client `ehrgate` / `s3cret` authenticated with HTTP Basic.
async fn token_endpoint(issued: Arc<AtomicUsize>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let issued = issued.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let issued = issued.clone();
                    async move {
                        let auth = req
                            .headers()
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned();
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        // base64("ehrgate:s3cret")
                        let ok = auth == "Basic ZWhyZ2F0ZTpzM2NyZXQ="
                            && body.as_ref() == b"grant_type=client_credentials";
                        let (status, v) = if ok {
                            let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
                            (
                                200,
                                json!({"access_token": format!("token-{n}"), "token_type": "Bearer", "expires_in": 300}),
                            )
                        } else {
                            (401, json!({"error": "invalid_client"}))
                        };
                        let mut r = Response::new(Full::new(Bytes::from(v.to_string())));
                        *r.status_mut() = http::StatusCode::from_u16(status).unwrap();
                        Ok::<_, Infallible>(r)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    addr
}

/// A POST straight to the backend: `(status, body)`.
async fn raw_post(url: &str, headers: &[(&str, &str)], body: String) -> (u16, String) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut req = Request::post(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = client
        .request(req.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}
