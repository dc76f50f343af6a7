//! A tiny in-memory openEHR REST stub for the facade's socket tests: just
//! enough of EHRbase's behaviour (EHRs by subject, versioned compositions
//! with ETag/If-Match, template GET/upload, AQL answered from the query
//! parameters) to drive the facade. The conformance crate's reference
//! backend is the full one; this stub keeps the gateway's tests free of it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// One stored composition.
#[derive(Debug, Clone)]
pub struct Stored {
    pub ehr: String,
    pub object: String,
    pub version: u32,
    pub body: Value,
    pub deleted: bool,
}

/// What the stub holds and saw.
#[derive(Debug, Default)]
pub struct State {
    pub ehrs: HashMap<(String, String), String>,
    pub compositions: Vec<Stored>,
    pub writes: usize,
    pub template_gets: usize,
    pub uploads: usize,
    pub aql: Vec<Value>,
    pub paths: Vec<String>,
}

/// The stub.
#[derive(Clone)]
pub struct Stub {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<State>>,
    /// Answer this status (422, 500...) to every composition write; 0 = accept.
    pub reject: Arc<AtomicU16>,
    counter: Arc<AtomicUsize>,
}

impl Stub {
    pub async fn start() -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stub = Stub {
            addr: listener.local_addr().unwrap(),
            state: Arc::default(),
            reject: Arc::default(),
            counter: Arc::default(),
        };
        let s = stub.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let s = s.clone();
                        async move { Ok::<_, Infallible>(s.answer(req).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        stub
    }

    pub fn url(&self) -> String {
        format!("http://{}/ehrbase/rest/openehr/v1", self.addr)
    }

    pub fn writes(&self) -> usize {
        self.state.lock().unwrap().writes
    }

    pub fn live(&self) -> Vec<Stored> {
        self.state
            .lock()
            .unwrap()
            .compositions
            .iter()
            .filter(|c| !c.deleted)
            .cloned()
            .collect()
    }

    fn uuid(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        format!("00000000-0000-4000-8000-{n:012x}")
    }

    async fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        let path = parts
            .uri
            .path()
            .strip_prefix("/ehrbase/rest/openehr/v1")
            .unwrap_or("")
            .to_owned();
        let query: HashMap<String, String> = parts
            .uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| {
                (
                    k.to_owned(),
                    percent_encoding::percent_decode_str(v)
                        .decode_utf8_lossy()
                        .into_owned(),
                )
            })
            .collect();
        let if_match = parts
            .headers
            .get("if-match")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim_matches('"').to_owned());
        self.state
            .lock()
            .unwrap()
            .paths
            .push(format!("{} {path}", parts.method));
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let m = parts.method.clone();
        match (m, segs.as_slice()) {
            (Method::GET, ["definition", "template", "adl1.4", id]) => {
                let id = percent_encoding::percent_decode_str(id)
                    .decode_utf8_lossy()
                    .into_owned();
                self.state.lock().unwrap().template_gets += 1;
                match ehrgate_mappers::fhirconnect::shipped::find(&id)
                    .ok()
                    .and_then(|s| s.opt())
                {
                    Some(b) => reply(
                        200,
                        Bytes::from_static(b),
                        &[("content-type", "application/xml")],
                    ),
                    None => json_reply(
                        404,
                        &json!({"error": "Not Found", "message": "no such template"}),
                        &[],
                    ),
                }
            }
            (Method::POST, ["definition", "template", "adl1.4"]) => {
                self.state.lock().unwrap().uploads += 1;
                reply(201, Bytes::new(), &[])
            }
            (Method::GET, ["ehr"]) => {
                let key = (
                    query["subject_namespace"].clone(),
                    query["subject_id"].clone(),
                );
                match self.state.lock().unwrap().ehrs.get(&key) {
                    Some(e) => json_reply(200, &json!({"ehr_id": {"value": e}}), &[]),
                    None => json_reply(404, &json!({"message": "No EHR found"}), &[]),
                }
            }
            (Method::POST, ["ehr"]) => {
                let v: Value = serde_json::from_slice(&body).unwrap();
                let id = v
                    .pointer("/subject/external_ref/id/value")
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned();
                let ns = v
                    .pointer("/subject/external_ref/namespace")
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned();
                let ehr = self.uuid();
                let mut st = self.state.lock().unwrap();
                if st.ehrs.contains_key(&(ns.clone(), id.clone())) {
                    return json_reply(409, &json!({"message": "subject has an EHR"}), &[]);
                }
                st.ehrs.insert((ns, id), ehr.clone());
                json_reply(201, &json!({"ehr_id": {"value": ehr}}), &[])
            }
            (Method::GET, ["ehr", ehr]) => {
                let st = self.state.lock().unwrap();
                match st.ehrs.iter().find(|(_, e)| e == ehr) {
                    Some(((ns, id), _)) => json_reply(
                        200,
                        &json!({"ehr_id": {"value": ehr}, "ehr_status": {"subject": {"external_ref": {"id": {"value": id}, "namespace": ns}}}}),
                        &[],
                    ),
                    None => json_reply(404, &json!({"message": "no EHR"}), &[]),
                }
            }
            (Method::POST, ["ehr", ehr, "composition"]) => {
                self.state.lock().unwrap().writes += 1;
                let reject = self.reject.load(Ordering::SeqCst);
                if reject != 0 {
                    return json_reply(
                        reject,
                        &json!({"error": "refused", "message": "stub rejects: /content[0] invalid"}),
                        &[],
                    );
                }
                let v: Value = serde_json::from_slice(&body).unwrap();
                let object = self.uuid();
                let uid = format!("{object}::stub::1");
                let mut stored = v;
                if stored.get("_type").is_some() {
                    stored["uid"] = json!({"_type": "OBJECT_VERSION_ID", "value": uid});
                }
                self.state.lock().unwrap().compositions.push(Stored {
                    ehr: (*ehr).to_owned(),
                    object,
                    version: 1,
                    body: stored,
                    deleted: false,
                });
                reply(
                    201,
                    Bytes::new(),
                    &[
                        ("etag", &format!("\"{uid}\"")),
                        (
                            "location",
                            &format!("{}/ehr/{ehr}/composition/{uid}", self.url()),
                        ),
                    ],
                )
            }
            (Method::GET, ["ehr", ehr, "composition", uid]) => {
                let object = uid.split("::").next().unwrap();
                let st = self.state.lock().unwrap();
                match st
                    .compositions
                    .iter()
                    .find(|c| c.ehr == *ehr && c.object == object)
                {
                    Some(c) if c.deleted => reply(204, Bytes::new(), &[]),
                    Some(c) => json_reply(
                        200,
                        &c.body,
                        &[("etag", &format!("\"{}::stub::{}\"", c.object, c.version))],
                    ),
                    None => json_reply(404, &json!({"message": "no composition"}), &[]),
                }
            }
            (Method::PUT, ["ehr", ehr, "composition", object]) => {
                let mut st = self.state.lock().unwrap();
                st.writes += 1;
                let Some(c) = st
                    .compositions
                    .iter_mut()
                    .find(|c| c.ehr == *ehr && c.object == *object && !c.deleted)
                else {
                    return json_reply(404, &json!({"message": "no composition"}), &[]);
                };
                let current = format!("{}::stub::{}", c.object, c.version);
                if if_match.as_deref() != Some(current.as_str()) {
                    return json_reply(
                        412,
                        &json!({"message": "If-Match is not the latest version"}),
                        &[],
                    );
                }
                c.version += 1;
                let uid = format!("{}::stub::{}", c.object, c.version);
                let mut v: Value = serde_json::from_slice(&body).unwrap();
                v["uid"] = json!({"_type": "OBJECT_VERSION_ID", "value": uid});
                c.body = v;
                reply(200, Bytes::new(), &[("etag", &format!("\"{uid}\""))])
            }
            (Method::DELETE, ["ehr", ehr, "composition", vuid]) => {
                let mut st = self.state.lock().unwrap();
                st.writes += 1;
                let object = vuid.split("::").next().unwrap();
                let Some(c) = st
                    .compositions
                    .iter_mut()
                    .find(|c| c.ehr == *ehr && c.object == object && !c.deleted)
                else {
                    return json_reply(404, &json!({"message": "no composition"}), &[]);
                };
                if *vuid != format!("{}::stub::{}", c.object, c.version) {
                    return json_reply(409, &json!({"message": "not the latest version"}), &[]);
                }
                c.deleted = true;
                reply(204, Bytes::new(), &[])
            }
            (Method::POST, ["query", "aql"]) => {
                let v: Value = serde_json::from_slice(&body).unwrap();
                self.state.lock().unwrap().aql.push(v.clone());
                let q = v["q"].as_str().unwrap().to_owned();
                let p = &v["query_parameters"];
                let mut rows: Vec<(String, Value)> = Vec::new();
                for c in self.live() {
                    if c.body.pointer("/archetype_details/template_id/value")
                        != Some(&p["template_id"])
                    {
                        continue;
                    }
                    if let Some(e) = p.get("ehr_id") {
                        if e.as_str() != Some(c.ehr.as_str()) {
                            continue;
                        }
                    }
                    let t = c
                        .body
                        .pointer("/context/start_time/value")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned();
                    let ok = (0..8).all(|i| {
                        let name = format!("date_{i}");
                        let Some(bound) = p.get(&name).and_then(Value::as_str) else {
                            return true;
                        };
                        if q.contains(&format!(">= ${name}")) {
                            t.as_str() >= bound
                        } else {
                            t.as_str() < bound
                        }
                    });
                    if ok {
                        let uid = format!("{}::stub::{}", c.object, c.version);
                        rows.push((t, json!([c.ehr, uid, c.body])));
                    }
                }
                rows.sort_by(|a, b| b.0.cmp(&a.0));
                json_reply(
                    200,
                    &json!({"q": q, "columns": [{"path": "e/ehr_id/value"}, {"path": "c/uid/value"}, {"path": "c"}], "rows": rows.into_iter().map(|r| r.1).collect::<Vec<_>>()}),
                    &[],
                )
            }
            _ => json_reply(404, &json!({"message": "stub: unknown path"}), &[]),
        }
    }
}

fn reply(status: u16, body: Bytes, headers: &[(&str, &str)]) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    for (k, v) in headers {
        r.headers_mut().insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    r
}

fn json_reply(status: u16, v: &Value, headers: &[(&str, &str)]) -> Response<Full<Bytes>> {
    let mut h = headers.to_vec();
    h.push(("content-type", "application/json"));
    reply(status, Bytes::from(v.to_string()), &h)
}
