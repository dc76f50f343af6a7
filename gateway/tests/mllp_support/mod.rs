//! Test peers for the MLLP feed tests, all on 127.0.0.1 with port 0:
//! an MLLP receiver with configurable behaviour (AA, AE, AR, slow, stray
//! ACKs, silence, dying after N messages), a FHIR server that counts the
//! Bundles it receives, an MLLP client, and a gateway started from text.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ehrgate::config::load_str;
use ehrgate::Gateway;
use ehrgate_mappers::hl7v2::{Message, MllpCodec};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::codec::{Decoder, Encoder};

/// What the test receiver does with each message.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Answer with this MSA-1 code.
    Ack(&'static str),
    /// Wait, then answer AA.
    Slow(Duration),
    /// Before the real AA, send an ACK for another control id (a late ACK
    /// of some earlier message).
    StrayFirst,
    /// Only ever answer with a wrong MSA-2.
    WrongIdOnly,
    /// Never answer.
    Silent,
}

/// An MLLP receiver that records what it received.
pub struct TestReceiver {
    pub addr: SocketAddr,
    /// Control ids received, in arrival order (duplicates kept).
    pub received: Arc<Mutex<Vec<String>>>,
    /// Payloads received, by control id.
    pub payloads: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    /// Control ids answered AA.
    pub acked: Arc<Mutex<Vec<String>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    /// Close every connection and stop listening after this many messages
    /// (the last one received is not answered); 0 = never.
    die_after: Arc<AtomicUsize>,
    stop: watch::Sender<bool>,
}

impl TestReceiver {
    pub async fn start(behaviour: Behaviour) -> TestReceiver {
        Self::start_on("127.0.0.1:0".parse().unwrap(), behaviour).await
    }

    pub async fn start_on(addr: SocketAddr, behaviour: Behaviour) -> TestReceiver {
        let listener = bind_retry(addr).await;
        let addr = listener.local_addr().unwrap();
        let (stop, stop_rx) = watch::channel(false);
        let r = TestReceiver {
            addr,
            received: Default::default(),
            payloads: Default::default(),
            acked: Default::default(),
            behaviour: Arc::new(Mutex::new(behaviour)),
            die_after: Arc::new(AtomicUsize::new(0)),
            stop,
        };
        let (received, payloads, acked, behaviour, die_after) = (
            r.received.clone(),
            r.payloads.clone(),
            r.acked.clone(),
            r.behaviour.clone(),
            r.die_after.clone(),
        );
        let stop_tx = r.stop.clone();
        tokio::spawn(async move {
            let mut stop_accept = stop_rx.clone();
            loop {
                let (stream, _) = tokio::select! {
                    _ = stop_accept.changed() => return,
                    a = listener.accept() => match a { Ok(p) => p, Err(_) => continue },
                };
                let ctx = (
                    received.clone(),
                    payloads.clone(),
                    acked.clone(),
                    behaviour.clone(),
                    die_after.clone(),
                    stop_tx.clone(),
                );
                let mut stop_conn = stop_rx.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = receiver_conn(stream, ctx) => {}
                        _ = stop_conn.changed() => {}
                    }
                });
            }
        });
        r
    }

    pub fn set(&self, b: Behaviour) {
        *self.behaviour.lock().unwrap() = b;
    }

    pub fn die_after(&self, n: usize) {
        self.die_after.store(n, Ordering::SeqCst);
    }

    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    pub fn received(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}

type ReceiverCtx = (
    Arc<Mutex<Vec<String>>>,
    Arc<Mutex<HashMap<String, Vec<u8>>>>,
    Arc<Mutex<Vec<String>>>,
    Arc<Mutex<Behaviour>>,
    Arc<AtomicUsize>,
    watch::Sender<bool>,
);

async fn receiver_conn(mut stream: TcpStream, ctx: ReceiverCtx) {
    let (received, payloads, acked, behaviour, die_after, stop) = ctx;
    let mut codec = MllpCodec::default();
    let mut buf = BytesMut::new();
    loop {
        while let Ok(Some(frame)) = codec.decode(&mut buf) {
            let msg = Message::parse(&frame.payload).unwrap();
            let id = msg.control_id().unwrap_or_default();
            let count = {
                let mut r = received.lock().unwrap();
                r.push(id.clone());
                r.len()
            };
            payloads
                .lock()
                .unwrap()
                .insert(id.clone(), frame.payload.to_vec());
            let limit = die_after.load(Ordering::SeqCst);
            if limit > 0 && count >= limit {
                let _ = stop.send(true);
                return;
            }
            let b = behaviour.lock().unwrap().clone();
            let out: Vec<Vec<u8>> = match b {
                Behaviour::Ack(code) => vec![ack_payload(code, &id)],
                Behaviour::Slow(d) => {
                    tokio::time::sleep(d).await;
                    vec![ack_payload("AA", &id)]
                }
                Behaviour::StrayFirst => vec![
                    ack_payload("AA", "SOMETHING-EARLIER"),
                    ack_payload("AA", &id),
                ],
                Behaviour::WrongIdOnly => vec![ack_payload("AA", "NOT-THIS-ONE")],
                Behaviour::Silent => vec![],
            };
            if matches!(
                b,
                Behaviour::Ack("AA") | Behaviour::Slow(_) | Behaviour::StrayFirst
            ) {
                acked.lock().unwrap().push(id.clone());
            }
            for a in out {
                let mut f = BytesMut::new();
                MllpCodec::default().encode(a.as_slice(), &mut f).unwrap();
                if stream.write_all(&f).await.is_err() {
                    return;
                }
            }
        }
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

pub fn ack_payload(code: &str, msa2: &str) -> Vec<u8> {
    format!("MSH|^~\\&|RECV|RF|GW|GF|20240101||ACK^A01^ACK|R{msa2}|P|2.5\rMSA|{code}|{msa2}\r")
        .into_bytes()
}

/// A FHIR server that counts POSTed transaction Bundles.
pub struct TestFhir {
    pub addr: SocketAddr,
    /// Bundle.identifier.value of every accepted POST (the MSH-10).
    pub bundles: Arc<Mutex<Vec<String>>>,
    /// Tenant headers seen.
    pub tenants: Arc<Mutex<Vec<String>>>,
    pub status: Arc<AtomicU16>,
    stop: watch::Sender<bool>,
}

impl TestFhir {
    pub async fn start() -> TestFhir {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stop_rx) = watch::channel(false);
        let bundles: Arc<Mutex<Vec<String>>> = Default::default();
        let tenants: Arc<Mutex<Vec<String>>> = Default::default();
        let status = Arc::new(AtomicU16::new(201));
        let (b, t, s) = (bundles.clone(), tenants.clone(), status.clone());
        tokio::spawn(async move {
            let mut stop_accept = stop_rx.clone();
            loop {
                let (stream, _) = tokio::select! {
                    _ = stop_accept.changed() => return,
                    a = listener.accept() => match a { Ok(p) => p, Err(_) => continue },
                };
                let (b, t, s) = (b.clone(), t.clone(), s.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let (b, t, s) = (b.clone(), t.clone(), s.clone());
                        async move {
                            let ok_path =
                                req.method() == http::Method::POST && req.uri().path() == "/fhir";
                            let tenant = req
                                .headers()
                                .get("x-tenant-id")
                                .map(|v| v.to_str().unwrap().to_string())
                                .unwrap_or_default();
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                            assert!(ok_path, "POST to the base URL");
                            assert_eq!(json["resourceType"], "Bundle");
                            assert_eq!(json["type"], "transaction");
                            let code = s.load(Ordering::SeqCst);
                            if code < 300 {
                                b.lock().unwrap().push(
                                    json["identifier"]["value"]
                                        .as_str()
                                        .unwrap_or("")
                                        .to_string(),
                                );
                                t.lock().unwrap().push(tenant);
                            }
                            Ok::<_, Infallible>(
                                http::Response::builder()
                                    .status(code)
                                    .header("content-type", "application/fhir+json")
                                    .body(Full::new(Bytes::from_static(b"{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\"}")))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        TestFhir {
            addr,
            bundles,
            tenants,
            status,
            stop,
        }
    }

    pub fn count(&self) -> usize {
        self.bundles.lock().unwrap().len()
    }
}

impl Drop for TestFhir {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for TestReceiver {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// An MLLP client.
pub struct Client {
    pub stream: TcpStream,
    buf: BytesMut,
    codec: MllpCodec,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        Client {
            stream: TcpStream::connect(addr).await.unwrap(),
            buf: BytesMut::new(),
            codec: MllpCodec::default(),
        }
    }

    pub async fn send(&mut self, payload: &[u8]) {
        let mut f = BytesMut::new();
        MllpCodec::default().encode(payload, &mut f).unwrap();
        self.stream.write_all(&f).await.unwrap();
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// The next acknowledgement, or `None` after 10 s or at EOF.
    pub async fn recv(&mut self) -> Option<Ack> {
        self.recv_within(Duration::from_secs(10)).await
    }

    pub async fn recv_within(&mut self, limit: Duration) -> Option<Ack> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(f) = self.codec.decode(&mut self.buf).unwrap() {
                return Some(Ack::parse(&f.payload));
            }
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return None,
                Ok(Ok(_)) => {}
            }
        }
    }

    /// Sends and waits for one acknowledgement.
    pub async fn call(&mut self, payload: &[u8]) -> Ack {
        self.send(payload).await;
        self.recv().await.expect("an acknowledgement")
    }
}

/// The parts of an acknowledgement the tests look at.
#[derive(Debug, Clone, PartialEq)]
pub struct Ack {
    pub code: String,
    pub msa2: String,
    pub err_code: String,
    pub err_text: String,
    pub msh3: String,
    pub msh5: String,
    pub msh9: String,
    /// Every ERR segment: ERR-2 as `SEG^occurrence` (with `^field` when
    /// given), ERR-3.1, ERR-4, ERR-8.
    pub errors: Vec<[String; 4]>,
}

impl Ack {
    pub fn parse(raw: &[u8]) -> Ack {
        let m = Message::parse(raw).unwrap();
        let g = |p: &str| {
            m.get(p)
                .unwrap()
                .map(|v| v.text().into_owned())
                .unwrap_or_default()
        };
        Ack {
            code: g("MSA-1"),
            msa2: g("MSA-2"),
            err_code: g("ERR-3-1"),
            err_text: g("ERR-8"),
            msh3: g("MSH-3"),
            msh5: g("MSH-5"),
            msh9: g("MSH-9"),
            errors: m
                .segments_named("ERR")
                .map(|e| {
                    let loc: Vec<String> = (1..=3)
                        .map(|c| e.field(2).component(c).text().into_owned())
                        .filter(|c| !c.is_empty())
                        .collect();
                    [
                        loc.join("^"),
                        e.field(3).component(1).text().into_owned(),
                        e.field(4).text().into_owned(),
                        e.field(8).text().into_owned(),
                    ]
                })
                .collect(),
        }
    }
}

/// A test message: ADT^A01 from LAB (tenant `acme` in [`config`]).
pub fn adt(control_id: &str, patient: &str) -> Vec<u8> {
    format!(
        "MSH|^~\\&|LABAPP|LAB|GW|HOSP|20240101120000||ADT^A01^ADT_A01|{control_id}|P|2.5.1\r\
         EVN|A01|20240101120000\r\
         PID|1||{patient}^^^HOSP^MR||Doe^John||19700101|M\r\
         PV1|1|I|WARD^1^1\r"
    )
    .into_bytes()
}

/// Starts a gateway from config text; `{fhir}`, `{recv}`, `{recv2}` in the
/// text are replaced by the given addresses first.
pub async fn gateway(text: &str) -> Gateway {
    let loaded =
        load_str(text, Path::new("/tmp/mllp-test.toml")).unwrap_or_else(|e| panic!("config: {e}"));
    Gateway::start(loaded).await.unwrap()
}

/// A config with one MLLP listener, the facility table used by [`adt`]
/// and the corpus files, and the given backends and routes.
pub fn config(backends_and_routes: &str) -> String {
    format!(
        r#"
[mllp]
replay_window_ms = 60000
reconnect_backoff_min_ms = 50
reconnect_backoff_max_ms = 200

[[mllp_listener]]
bind = "127.0.0.1:0"

[[tenant]]
id = "acme"
[[tenant]]
id = "ghh"
[[tenant]]
id = "iowa"
[[tenant]]
id = "nist"

[[mllp_facility]]
sending = "LAB"
tenant = "acme"
[[mllp_facility]]
sending = "GHHSFacility"
tenant = "ghh"
[[mllp_facility]]
sending = "IA Public Health Lab"
tenant = "iowa"
[[mllp_facility]]
sending = "NISTEHRFAC"
tenant = "nist"

{backends_and_routes}
"#
    )
}

pub fn mllp_backend(name: &str, addr: SocketAddr, timeout_ms: u64) -> String {
    format!(
        "[[backend]]\nname = \"{name}\"\nkind = \"hl7v2-mllp\"\nurl = \"mllp://{addr}\"\nrequest_timeout_ms = {timeout_ms}\nconnect_timeout_ms = 500\n"
    )
}

pub fn fhir_backend(name: &str, addr: SocketAddr) -> String {
    format!(
        "[[backend]]\nname = \"{name}\"\nkind = \"fhir\"\nurl = \"http://{addr}/fhir\"\nrequest_timeout_ms = 5000\n"
    )
}

pub fn corpus(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../conformance/corpus/hl7v2")
        .join(name);
    std::fs::read(p).unwrap()
}

async fn bind_retry(addr: SocketAddr) -> TcpListener {
    for _ in 0..100 {
        if let Ok(l) = TcpListener::bind(addr).await {
            return l;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("cannot bind {addr}");
}
