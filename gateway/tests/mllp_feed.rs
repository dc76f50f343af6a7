//! HL7 v2 feeds over MLLP through the gateway, over real TCP on 127.0.0.1:
//! corpus messages to an MLLP receiver and to a FHIR server, ack codes for
//! valid, invalid and undeliverable messages, order per connection, a
//! destination dying mid-stream, patient stickiness at 50 %, malformed and
//! oversized frames, late ACKs, replays, enhanced mode and reconnects.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mllp_support;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::Duration;

use ehrgate::mllp::FeedStats;
use mllp_support::*;

fn route(id: &str, stable: &str) -> String {
    format!("[[mllp_route]]\nid = \"{id}\"\nstable = \"{stable}\"\n")
}

/// Corpus files and the acknowledgement codes their MSH-15/16 ask for.
const CORPUS: &[(&str, &[&str])] = &[
    ("ADT-A01-01.hl7", &["AA"]),
    ("ORU-R01-01.hl7", &["CA"]), // MSH-15 AL, MSH-16 NE
    ("VXU-V04-01.hl7", &["AA"]),
    ("VXU.hl7", &["AA"]), // MSH-15 ER, MSH-16 AL
];

fn control_id(raw: &[u8]) -> String {
    ehrgate_mappers::hl7v2::Message::parse(raw)
        .unwrap()
        .control_id()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_adt_oru_vxu_reach_the_mllp_receiver_unchanged() {
    let recv = TestReceiver::start(Behaviour::Ack("AA")).await;
    let gw = gateway(&config(&format!(
        "{}{}",
        mllp_backend("legacy", recv.addr, 2000),
        route("all", "legacy")
    )))
    .await;
    let mut c = Client::connect(gw.mllp_addrs()[0]).await;
    for (file, codes) in CORPUS {
        let raw = corpus(file);
        let id = control_id(&raw);
        c.send(&raw).await;
        for code in *codes {
            let ack = c.recv().await.unwrap();
            assert_eq!(&ack.code, code, "{file}");
            assert_eq!(ack.msa2, id, "{file}: MSA-2 is MSH-10");
        }
        assert_eq!(
            recv.payloads.lock().unwrap().get(&id).unwrap(),
            &raw,
            "{file} passes unchanged"
        );
    }
    assert_eq!(recv.received().len(), CORPUS.len());
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_adt_oru_vxu_reach_the_fhir_server_as_transaction_bundles() {
    let fhir = TestFhir::start().await;
    let gw = gateway(&config(&format!(
        "{}{}",
        fhir_backend("fhir", fhir.addr),
        route("all", "fhir")
    )))
    .await;
    let mut c = Client::connect(gw.mllp_addrs()[0]).await;
    let mut ids = Vec::new();
    for (file, codes) in CORPUS {
        let raw = corpus(file);
        let id = control_id(&raw);
        c.send(&raw).await;
        for code in *codes {
            let ack = c.recv().await.unwrap();
            assert_eq!(&ack.code, code, "{file}: {ack:?}");
            assert_eq!(ack.msa2, id);
        }
        ids.push(id);
    }
    assert_eq!(*fhir.bundles.lock().unwrap(), ids);
    assert_eq!(
        *fhir.tenants.lock().unwrap(),
        ["ghh", "iowa", "ghh", "nist"],
        "tenant from MSH-4 through the facility table"
    );
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_codes_for_valid_invalid_and_undeliverable_messages() {
    let fhir = TestFhir::start().await;
    let recv = TestReceiver::start(Behaviour::Ack("AA")).await;
    let routes = format!(
        "{}{}[[mllp_route]]\nid = \"adt\"\nmessage_types = [\"ADT^*\"]\nstable = \"fhir\"\n\
         [[mllp_route]]\nid = \"lab\"\nmessage_types = [\"ORU^R01\"]\nstable = \"legacy\"\n",
        fhir_backend("fhir", fhir.addr),
        mllp_backend("legacy", recv.addr, 2000),
    );
    let gw = gateway(&config(&routes)).await;
    let mut c = Client::connect(gw.mllp_addrs()[0]).await;

    let ok = c.call(&adt("V1", "P1")).await;
    assert_eq!((ok.code.as_str(), ok.msa2.as_str()), ("AA", "V1"));
    assert_eq!(
        (ok.msh3.as_str(), ok.msh5.as_str()),
        ("GW", "LABAPP"),
        "sender and receiver swapped"
    );
    assert_eq!(ok.msh9, "ACK^A01^ACK");

    let garbage = c.call(b"this is not HL7").await;
    assert_eq!(
        (garbage.code.as_str(), garbage.err_code.as_str()),
        ("AE", "100")
    );

    let no_pid = b"MSH|^~\\&|LABAPP|LAB|GW|HOSP|20240101||ADT^A01|V2|P|2.5.1\rEVN|A01|20240101\r";
    let e = c.call(no_pid).await;
    assert_eq!(
        (e.code.as_str(), e.msa2.as_str(), e.err_code.as_str()),
        ("AE", "V2", "100")
    );
    assert!(e.err_text.contains("PID"), "{e:?}");

    let no_id = b"MSH|^~\\&|LABAPP|LAB|GW|HOSP|20240101||ADT^A01||P|2.5.1\rPID|1||P1\r";
    let e = c.call(no_id).await;
    assert_eq!((e.code.as_str(), e.err_code.as_str()), ("AE", "101"));

    let stranger = String::from_utf8(adt("V3", "P1"))
        .unwrap()
        .replace("|LAB|", "|NOBODY|");
    let e = c.call(stranger.as_bytes()).await;
    assert_eq!(
        (e.code.as_str(), e.err_code.as_str()),
        ("AR", "204"),
        "unknown facility"
    );

    let siu = String::from_utf8(adt("V4", "P1"))
        .unwrap()
        .replace("ADT^A01^ADT_A01", "SIU^S12");
    let e = c.call(siu.as_bytes()).await;
    assert_eq!(
        (e.code.as_str(), e.err_code.as_str()),
        ("AR", "200"),
        "no route"
    );

    fhir.status.store(503, Ordering::SeqCst);
    let e = c.call(&adt("V5", "P1")).await;
    assert_eq!((e.code.as_str(), e.msa2.as_str()), ("AR", "V5"), "FHIR 503");
    fhir.status.store(422, Ordering::SeqCst);
    assert_eq!(c.call(&adt("V6", "P1")).await.code, "AR", "FHIR refuses");
    fhir.status.store(201, Ordering::SeqCst);

    let oru = |id: &str| {
        String::from_utf8(adt(id, "P1"))
            .unwrap()
            .replace("ADT^A01^ADT_A01", "ORU^R01^ORU_R01")
            .into_bytes()
    };
    assert_eq!(c.call(&oru("L1")).await.code, "AA");
    recv.set(Behaviour::Ack("AR"));
    assert_eq!(c.call(&oru("L2")).await.code, "AR", "receiver AR");
    recv.set(Behaviour::Ack("AE"));
    assert_eq!(c.call(&oru("L3")).await.code, "AE", "receiver AE");
    recv.stop();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let down = c.call(&oru("L4")).await;
    assert_eq!(
        (down.code.as_str(), down.msa2.as_str()),
        ("AR", "L4"),
        "receiver down"
    );

    let stats = gw.mllp_stats().unwrap();
    assert_eq!(stats.acks_sent(ehrgate_mappers::hl7v2::AckCode::AA), 2);
    assert_eq!(FeedStats::get(&stats.unparsed), 1);
    assert_eq!(fhir.count(), 1);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_messages_are_delivered_and_acknowledged_in_order() {
    let recv = TestReceiver::start(Behaviour::Ack("AA")).await;
    let gw = gateway(&config(&format!(
        "{}{}",
        mllp_backend("legacy", recv.addr, 2000),
        route("all", "legacy")
    )))
    .await;
    let mut c = Client::connect(gw.mllp_addrs()[0]).await;
    let ids: Vec<String> = (0..40).map(|i| format!("ORD{i}")).collect();
    let mut all = Vec::new();
    for id in &ids {
        all.extend_from_slice(&{
            let mut f = bytes::BytesMut::new();
            tokio_util::codec::Encoder::encode(
                &mut ehrgate_mappers::hl7v2::MllpCodec::default(),
                adt(id, "P1").as_slice(),
                &mut f,
            )
            .unwrap();
            f
        });
    }
    c.send_raw(&all).await;
    let mut acked = Vec::new();
    for _ in &ids {
        let a = c.recv().await.unwrap();
        assert_eq!(a.code, "AA");
        acked.push(a.msa2);
    }
    assert_eq!(acked, ids, "MSA-2 order is the sending order");
    assert_eq!(recv.received(), ids, "delivery order is the sending order");
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destination_dying_mid_stream_never_gets_an_aa_without_exactly_one_delivery() {
    let recv = TestReceiver::start(Behaviour::Ack("AA")).await;
    recv.die_after(40);
    let gw = gateway(&config(&format!(
        "{}{}",
        mllp_backend("legacy", recv.addr, 1000),
        route("all", "legacy")
    )))
    .await;
    let addr = gw.mllp_addrs()[0];
    let mut tasks = Vec::new();
    for s in 0..4 {
        tasks.push(tokio::spawn(async move {
            let mut c = Client::connect(addr).await;
            let mut out = Vec::new();
            for i in 0..25 {
                let id = format!("S{s}M{i}");
                let a = c.call(&adt(&id, &format!("P{s}-{i}"))).await;
                assert_eq!(a.msa2, id);
                out.push((id, a.code));
            }
            out
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.extend(t.await.unwrap());
    }
    let received = recv.received();
    let mut times: HashMap<&str, usize> = HashMap::new();
    for id in &received {
        *times.entry(id.as_str()).or_default() += 1;
    }
    let aa: Vec<&String> = results
        .iter()
        .filter(|(_, c)| c == "AA")
        .map(|(i, _)| i)
        .collect();
    let not_aa = results.len() - aa.len();
    for id in &aa {
        assert_eq!(
            times.get(id.as_str()),
            Some(&1),
            "{id} acknowledged AA, delivered once"
        );
    }
    assert!(results.iter().all(|(_, c)| c == "AA" || c == "AR"));
    assert!(aa.len() < 40, "the receiver died after 40 messages");
    assert!(not_aa >= 60, "every message after the death is not AA");
    let delivered_not_aa = received.len() - aa.len();
    eprintln!(
        "dies mid-stream: {} AA (each delivered once), {not_aa} not AA, {} received by the destination of which {delivered_not_aa} were not AA'd",
        aa.len(),
        received.len()
    );
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_at_50_percent_is_sticky_per_patient() {
    let stable = TestReceiver::start(Behaviour::Ack("AA")).await;
    let canary = TestReceiver::start(Behaviour::Ack("AA")).await;
    let gw = gateway(&config(&format!(
        "{}{}[[mllp_route]]\nid = \"adt\"\nstable = \"old\"\ncanary = \"new\"\nweight = 50\n",
        mllp_backend("old", stable.addr, 2000),
        mllp_backend("new", canary.addr, 2000),
    )))
    .await;
    let addr = gw.mllp_addrs()[0];
    let mut tasks = Vec::new();
    for conn in 0..2 {
        tasks.push(tokio::spawn(async move {
            let mut c = Client::connect(addr).await;
            for round in 0..3 {
                for p in 0..150 {
                    let id = format!("C{conn}R{round}P{p}");
                    assert_eq!(c.call(&adt(&id, &format!("PAT{p}"))).await.code, "AA");
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let patient_of = |id: &String| id.split('P').nth(1).unwrap().to_string();
    let on_stable: HashSet<String> = stable.received().iter().map(patient_of).collect();
    let on_canary: HashSet<String> = canary.received().iter().map(patient_of).collect();
    assert!(
        on_stable.is_disjoint(&on_canary),
        "no patient split between backends"
    );
    assert_eq!(on_stable.len() + on_canary.len(), 150);
    assert_eq!(stable.received().len() + canary.received().len(), 900);
    assert!(
        (50..=100).contains(&on_canary.len()),
        "{} of 150 patients on the canary at 50 %",
        on_canary.len()
    );
    // Metrics per feed: message type, tenant, arm, ack code, latency.
    let series = gw.mllp_stats().unwrap().series();
    let count = |arm: &str| {
        series
            .iter()
            .filter(|(k, _)| {
                k.message_type == "ADT^A01" && &*k.tenant == "acme" && k.arm == arm && k.ack == "AA"
            })
            .map(|(_, s)| s.count)
            .sum::<u64>()
    };
    assert_eq!(count("stable") as usize, stable.received().len());
    assert_eq!(count("canary") as usize, canary.received().len());
    assert!(series.iter().all(|(_, s)| s.latency_max <= s.latency_total));
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_frames_are_nacked_and_serving_goes_on() {
    let recv = TestReceiver::start(Behaviour::Ack("AA")).await;
    let text = config(&format!(
        "{}{}",
        mllp_backend("legacy", recv.addr, 2000),
        route("all", "legacy")
    ))
    .replace("[mllp]\n", "[mllp]\nmax_frame_bytes = 1024\n");
    let gw = gateway(&text).await;
    let addr = gw.mllp_addrs()[0];
    let mut other = Client::connect(addr).await;
    let mut c = Client::connect(addr).await;

    let mut big = adt("BIG1", "P1");
    big.extend_from_slice(format!("NTE|1||{}\r", "x".repeat(4000)).as_bytes());
    let nack = c.call(&big).await;
    assert_eq!(
        (
            nack.code.as_str(),
            nack.msa2.as_str(),
            nack.err_code.as_str()
        ),
        ("AE", "BIG1", "104")
    );
    // The same connection carries on, noise before a frame included.
    c.send_raw(b"\r\nnoise").await;
    assert_eq!(c.call(&adt("AFTER1", "P1")).await.code, "AA");
    assert_eq!(other.call(&adt("OTHER1", "P2")).await.code, "AA");

    // A frame with a payload that is not HL7.
    let e = c.call(b"\x00\x01garbage").await;
    assert_eq!(e.code, "AE");

    // A frame cut by the end of the stream: NACKed, then closed.
    let mut cut = bytes::BytesMut::new();
    cut.extend_from_slice(b"\x0b");
    cut.extend_from_slice(&adt("CUT1", "P1")[..120]);
    c.send_raw(&cut).await;
    c.stream.shutdown().await.unwrap();
    let last = c.recv().await.unwrap();
    assert_eq!((last.code.as_str(), last.msa2.as_str()), ("AE", "CUT1"));
    assert!(
        c.recv_within(Duration::from_secs(2)).await.is_none(),
        "closed"
    );

    assert_eq!(other.call(&adt("OTHER2", "P2")).await.code, "AA");
    let mut fresh = Client::connect(addr).await;
    assert_eq!(fresh.call(&adt("FRESH", "P3")).await.code, "AA");
    assert!(!recv.received().contains(&"BIG1".to_string()));
    let stats = gw.mllp_stats().unwrap();
    assert_eq!(FeedStats::get(&stats.frames_too_large), 1);
    assert!(FeedStats::get(&stats.bytes_skipped) > 4000);
    gw.shutdown().await;
}

use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_or_stray_ack_is_never_taken_for_another_message() {
    let recv = TestReceiver::start(Behaviour::StrayFirst).await;
    let gw = gateway(&config(&format!(
        "{}{}",
        mllp_backend("legacy", recv.addr, 300),
        route("all", "legacy")
    )))
    .await;
    let mut c = Client::connect(gw.mllp_addrs()[0]).await;
    assert_eq!(c.call(&adt("ST1", "P1")).await.code, "AA");
    let stats = gw.mllp_stats().unwrap().clone();
    assert!(FeedStats::get(&stats.late_acks) >= 1);

    recv.set(Behaviour::WrongIdOnly);
    assert_eq!(
        c.call(&adt("ST2", "P1")).await.code,
        "AR",
        "an ACK for another id is no ACK"
    );

    recv.set(Behaviour::Slow(Duration::from_millis(600)));
    assert_eq!(
        c.call(&adt("ST3", "P1")).await.code,
        "AR",
        "ACK after the timeout"
    );
    recv.set(Behaviour::Ack("AA"));
    let a = c.call(&adt("ST4", "P1")).await;
    assert_eq!((a.code.as_str(), a.msa2.as_str()), ("AA", "ST4"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let a = c.call(&adt("ST5", "P1")).await;
    assert_eq!((a.code.as_str(), a.msa2.as_str()), ("AA", "ST5"));
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_control_id_is_acknowledged_without_a_second_delivery() {
    let recv = TestReceiver::start(Behaviour::Ack("AA")).await;
    let gw = gateway(&config(&format!(
        "{}{}",
        mllp_backend("legacy", recv.addr, 2000),
        route("all", "legacy")
    )))
    .await;
    let mut c = Client::connect(gw.mllp_addrs()[0]).await;
    assert_eq!(c.call(&adt("R1", "P1")).await.code, "AA");
    let mut c2 = Client::connect(gw.mllp_addrs()[0]).await;
    let again = c2.call(&adt("R1", "P1")).await;
    assert_eq!((again.code.as_str(), again.msa2.as_str()), ("AA", "R1"));
    assert_eq!(recv.received(), ["R1"]);
    assert_eq!(FeedStats::get(&gw.mllp_stats().unwrap().replays), 1);

    // After an AR the resend is delivered.
    recv.set(Behaviour::Ack("AR"));
    assert_eq!(c.call(&adt("R2", "P1")).await.code, "AR");
    recv.set(Behaviour::Ack("AA"));
    assert_eq!(c.call(&adt("R2", "P1")).await.code, "AA");
    assert_eq!(recv.received(), ["R1", "R2", "R2"]);

    // The same message on two connections at once: delivered once; the
    // other copy gets AR (or AA once the first is done), never a second
    // delivery.
    recv.set(Behaviour::Slow(Duration::from_millis(300)));
    let addr = gw.mllp_addrs()[0];
    let both: Vec<_> = (0..2)
        .map(|_| {
            tokio::spawn(async move {
                let mut c = Client::connect(addr).await;
                c.call(&adt("R3", "P1")).await.code
            })
        })
        .collect();
    let mut codes = Vec::new();
    for t in both {
        codes.push(t.await.unwrap());
    }
    codes.sort();
    assert_eq!(codes, ["AA", "AR"], "{codes:?}");
    assert_eq!(recv.received().iter().filter(|i| *i == "R3").count(), 1);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enhanced_mode_commit_then_application_ack() {
    let recv = TestReceiver::start(Behaviour::Ack("AA")).await;
    let gw = gateway(&config(&format!(
        "{}{}",
        mllp_backend("legacy", recv.addr, 2000),
        route("all", "legacy")
    )))
    .await;
    let mut c = Client::connect(gw.mllp_addrs()[0]).await;
    let enhanced = |id: &str| {
        String::from_utf8(adt(id, "P1"))
            .unwrap()
            .replace("|P|2.5.1\r", "|P|2.5.1|||AL|AL\r")
            .into_bytes()
    };
    c.send(&enhanced("E1")).await;
    let commit = c.recv().await.unwrap();
    let app = c.recv().await.unwrap();
    assert_eq!((commit.code.as_str(), commit.msa2.as_str()), ("CA", "E1"));
    assert_eq!((app.code.as_str(), app.msa2.as_str()), ("AA", "E1"));
    assert_eq!(
        recv.received(),
        ["E1"],
        "CA only after the destination accepted"
    );

    recv.set(Behaviour::Ack("AR"));
    c.send(&enhanced("E2")).await;
    let commit = c.recv().await.unwrap();
    assert_eq!((commit.code.as_str(), commit.msa2.as_str()), ("CR", "E2"));
    assert!(
        c.recv_within(Duration::from_millis(300)).await.is_none(),
        "no application ack after a commit reject"
    );
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_reconnects_with_backoff_when_the_receiver_comes_back() {
    let recv = TestReceiver::start(Behaviour::Ack("AA")).await;
    let addr = recv.addr;
    let gw = gateway(&config(&format!(
        "{}{}",
        mllp_backend("legacy", addr, 1000),
        route("all", "legacy")
    )))
    .await;
    let mut c = Client::connect(gw.mllp_addrs()[0]).await;
    assert_eq!(c.call(&adt("B1", "P1")).await.code, "AA");
    recv.stop();
    drop(recv);
    tokio::time::sleep(Duration::from_millis(50)).await;
    for i in 0..5 {
        assert_eq!(c.call(&adt(&format!("DOWN{i}"), "P1")).await.code, "AR");
    }
    let back = TestReceiver::start_on(addr, Behaviour::Ack("AA")).await;
    let mut tries = 0;
    loop {
        tries += 1;
        let a = c.call(&adt("B2", "P1")).await;
        if a.code == "AA" {
            break;
        }
        assert!(tries < 40, "never reconnected");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(back.received(), ["B2"]);
    let stats = gw.mllp_stats().unwrap();
    assert!(FeedStats::get(&stats.sender_connect_failures) >= 1);
    assert!(
        FeedStats::get(&stats.sender_connect_failures) < 10,
        "backoff answered most messages without a connect attempt"
    );
    gw.shutdown().await;
}

#[test]
fn mllp_config_errors_name_their_lines() {
    let text = r#"[[mllp_listener]]
bind = "127.0.0.1:0"

[[tenant]]
id = "acme"

[[backend]]
name = "legacy"
kind = "hl7v2-mllp"
url = "http://127.0.0.1:1"

[[mllp_facility]]
sending = "LAB"
tenant = "nobody"

[[mllp_route]]
id = "r"
message_types = ["ADT^A01^X"]
stable = "missing"
weight = 10
"#;
    let err = ehrgate::config::load_str(text, std::path::Path::new("t.toml")).unwrap_err();
    let ehrgate::config::ConfigError::Invalid { issues, .. } = err else {
        panic!("{err}")
    };
    let lines: Vec<usize> = issues.iter().filter_map(|i| i.at.map(|l| l.line)).collect();
    let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
    assert_eq!(lines, [10, 14, 18, 19, 20], "{text:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mllp_over_tls() {
    use ehrgate_mappers::hl7v2::MllpCodec;
    use rustls::pki_types::ServerName;
    use std::sync::Arc;
    use tokio::io::AsyncReadExt;
    use tokio_util::codec::{Decoder, Encoder};

    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let recv = TestReceiver::start(Behaviour::Ack("AA")).await;
    let text = config(&format!(
        "{}{}",
        mllp_backend("legacy", recv.addr, 2000),
        route("all", "legacy")
    ))
    .replace(
        "bind = \"127.0.0.1:0\"\n",
        &format!(
            "bind = \"127.0.0.1:0\"\ntls = {{ cert = \"{}\", key = \"{}\" }}\n",
            cert_path.display(),
            key_path.display()
        ),
    );
    let gw = gateway(&text).await;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(gw.mllp_addrs()[0])
        .await
        .unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(client))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let mut frame = bytes::BytesMut::new();
    MllpCodec::default()
        .encode(adt("TLS1", "P1").as_slice(), &mut frame)
        .unwrap();
    tls.write_all(&frame).await.unwrap();
    let mut codec = MllpCodec::default();
    let mut buf = bytes::BytesMut::new();
    let ack = loop {
        if let Some(f) = codec.decode(&mut buf).unwrap() {
            break Ack::parse(&f.payload);
        }
        assert!(tls.read_buf(&mut buf).await.unwrap() > 0, "closed early");
    };
    assert_eq!((ack.code.as_str(), ack.msa2.as_str()), ("AA", "TLS1"));
    assert_eq!(recv.received(), ["TLS1"]);

    // A plain-TCP client on the TLS listener gets no answer and no crash.
    let mut plain = Client::connect(gw.mllp_addrs()[0]).await;
    plain.send(&adt("PLAIN", "P1")).await;
    assert!(plain
        .recv_within(Duration::from_millis(500))
        .await
        .is_none());
    gw.shutdown().await;
}
