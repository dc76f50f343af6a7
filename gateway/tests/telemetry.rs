//! Telemetry against a running gateway: `/metrics` parses as Prometheus
//! text and its counters match the requests sent; the access and audit logs
//! are JSON lines that hold none of the identifiers the traffic carried.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_support;
mod common;

use std::collections::HashMap;
use std::time::Duration;

use admin_support::{admin, admin_config, READ_TOKEN, WRITE_TOKEN};
use bytes::Bytes;
use common::{client, get, send, start_gateway, TestUpstream};
use serde_json::{json, Value};

/// One parsed sample: name, labels, value.
type Sample = (String, Vec<(String, String)>, f64);

/// A strict parser of the text exposition format 0.0.4: every line is a
/// `# HELP`, a `# TYPE` or a sample of a family whose TYPE came first.
fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let ctx = || format!("line {}: {line}", n + 1);
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let kind = parts.next().unwrap();
            let name = parts.next().unwrap_or_else(|| panic!("{}", ctx()));
            assert!(valid_name(name), "{}", ctx());
            match kind {
                "HELP" => {}
                "TYPE" => {
                    let t = parts.next().unwrap_or_else(|| panic!("{}", ctx()));
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&t),
                        "{}",
                        ctx()
                    );
                    assert!(
                        types.insert(name.to_string(), t.to_string()).is_none(),
                        "TYPE twice: {}",
                        ctx()
                    );
                }
                _ => panic!("unknown comment {}", ctx()),
            }
            continue;
        }
        assert!(!line.is_empty(), "{}", ctx());
        let name_end = line.find(['{', ' ']).unwrap_or_else(|| panic!("{}", ctx()));
        let name = &line[..name_end];
        assert!(valid_name(name), "{}", ctx());
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(
            types.contains_key(family),
            "sample before its TYPE: {}",
            ctx()
        );
        let mut rest = &line[name_end..];
        let mut labels = Vec::new();
        if let Some(r) = rest.strip_prefix('{') {
            let mut chars = r.char_indices().peekable();
            let mut key = String::new();
            let end;
            loop {
                let (i, c) = chars.next().unwrap_or_else(|| panic!("{}", ctx()));
                match c {
                    '}' if key.is_empty() => {
                        end = i;
                        break;
                    }
                    '=' => {
                        assert_eq!(chars.next().map(|x| x.1), Some('"'), "{}", ctx());
                        let mut value = String::new();
                        loop {
                            let (_, c) = chars.next().unwrap_or_else(|| panic!("{}", ctx()));
                            match c {
                                '\\' => match chars.next().map(|x| x.1) {
                                    Some('\\') => value.push('\\'),
                                    Some('"') => value.push('"'),
                                    Some('n') => value.push('\n'),
                                    _ => panic!("bad escape {}", ctx()),
                                },
                                '"' => break,
                                c => value.push(c),
                            }
                        }
                        assert!(valid_name(&key), "{}", ctx());
                        labels.push((std::mem::take(&mut key), value));
                        match chars.next().map(|x| x.1) {
                            Some(',') => {}
                            Some('}') => {
                                end = chars.peek().map_or(r.len(), |x| x.0) - 1;
                                break;
                            }
                            _ => panic!("{}", ctx()),
                        }
                    }
                    c => key.push(c),
                }
            }
            rest = &r[end + 1..];
        }
        let value = rest
            .strip_prefix(' ')
            .unwrap_or_else(|| panic!("{}", ctx()));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value: {}", ctx())),
        };
        out.push((name.to_string(), labels, value));
    }
    out
}

fn valid_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, labels, _)| {
            n == name
                && want
                    .iter()
                    .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|s| s.2)
        .sum()
}

async fn scrape(ad: std::net::SocketAddr) -> Vec<Sample> {
    let (status, body) = admin(ad, "GET", "/metrics", Some(READ_TOKEN), Value::Null).await;
    assert_eq!(status, 200);
    parse_exposition(body.as_str().unwrap())
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_count_the_requests_sent() {
    let s = TestUpstream::start("legacy").await;
    let c = TestUpstream::start("modern").await;
    let dir = admin_config(&s.url(), &c.url(), "");
    let gw = start_gateway(&dir.path()).await;
    let (px, ad) = (gw.local_addrs()[0], gw.admin_addr().unwrap());
    let cl = client();
    for i in 0..30 {
        assert_eq!(
            get(&cl, px, &format!("/fhir/Patient/{i}"), "acme")
                .await
                .status,
            200
        );
    }
    for _ in 0..4 {
        assert_eq!(get(&cl, px, "/fhir/fail", "beta").await.status, 500);
    }
    admin(
        ad,
        "PUT",
        "/v1/routes/fhir/weight",
        Some(WRITE_TOKEN),
        json!({"percent": 100, "reason": "t"}),
    )
    .await;
    for i in 0..20 {
        assert_eq!(
            get(&cl, px, &format!("/fhir/Patient/{i}"), "acme")
                .await
                .status,
            200
        );
    }
    for i in 0..5 {
        // unknown tenants: refused, and folded into one label
        assert_eq!(
            get(&cl, px, "/fhir/Patient/1", &format!("ghost-{i}"))
                .await
                .status,
            403
        );
    }
    for _ in 0..3 {
        let a = send(&cl, px, "GET", "/fhir/Patient/1", &[], Bytes::new()).await;
        assert_eq!(a.status, 400);
    }

    // The line is recorded when the response body is released, which may
    // trail the client's read by a moment: poll briefly.
    let mut samples = Vec::new();
    for _ in 0..100 {
        samples = scrape(ad).await;
        if value(&samples, "ehrgate_requests_total", &[]) >= 62.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let base = |arm: &'static str, backend: &'static str, tenant: &'static str| {
        [
            ("route", "fhir"),
            ("arm", arm),
            ("backend", backend),
            ("tenant", tenant),
        ]
    };
    let req = "ehrgate_requests_total";
    assert_eq!(
        value(
            &samples,
            req,
            &[&base("stable", "legacy", "acme")[..], &[("class", "2xx")]].concat()
        ),
        30.0
    );
    assert_eq!(
        value(
            &samples,
            req,
            &[&base("canary", "modern", "acme")[..], &[("class", "2xx")]].concat()
        ),
        20.0
    );
    assert_eq!(
        value(
            &samples,
            req,
            &[&base("stable", "legacy", "beta")[..], &[("class", "5xx")]].concat()
        ),
        4.0
    );
    assert_eq!(
        value(
            &samples,
            "ehrgate_request_errors_total",
            &base("stable", "legacy", "beta")
        ),
        4.0
    );
    assert_eq!(
        value(
            &samples,
            "ehrgate_request_errors_total",
            &base("stable", "legacy", "acme")
        ),
        0.0
    );
    assert_eq!(
        value(&samples, req, &[("tenant", "_unknown"), ("class", "4xx")]),
        8.0
    );
    assert_eq!(value(&samples, req, &[]), 62.0);
    assert_eq!(
        value(&samples, "ehrgate_request_duration_seconds_count", &[]),
        62.0
    );
    assert_eq!(
        value(
            &samples,
            "ehrgate_request_duration_seconds_bucket",
            &[&base("stable", "legacy", "acme")[..], &[("le", "+Inf")]].concat()
        ),
        30.0
    );
    assert!(samples
        .iter()
        .all(|(_, labels, _)| labels.iter().all(|(_, v)| !v.starts_with("ghost"))));
    assert_eq!(
        value(
            &samples,
            "ehrgate_upstream_healthy",
            &[("backend", "legacy")]
        ),
        1.0
    );
    assert_eq!(value(&samples, "ehrgate_release_state_revision", &[]), 1.0);
    assert!(value(&samples, "ehrgate_config_revision", &[]) >= 2.0);
    gw.shutdown().await;
}

#[tokio::test]
async fn access_and_audit_logs_hold_no_identifiers_from_paths_queries_or_bodies() {
    let s = TestUpstream::start("legacy").await;
    let c = TestUpstream::start("modern").await;
    let dir = admin_config(
        &s.url(),
        &c.url(),
        "[telemetry]\naccess_log = \"logs/access.jsonl\"\naudit_log = \"logs/audit.jsonl\"\n",
    );
    std::fs::create_dir_all(dir.dir.path().join("logs")).unwrap();
    let gw = start_gateway(&dir.path()).await;
    let (px, ad) = (gw.local_addrs()[0], gw.admin_addr().unwrap());
    let secrets = [
        "PATID93847561",
        "MRN55501234",
        "Zyxwvutsrq",
        "1961-07-13",
        "SSN078051120",
    ];
    let cl = client();
    let mut sent = 0;
    for i in 0..10 {
        let path = format!(
            "/fhir/Patient/PATID93847561?identifier=MRN55501234&birthdate=1961-07-13&n={i}"
        );
        assert_eq!(get(&cl, px, &path, "acme").await.status, 200);
        let body = Bytes::from(
            r#"{"resourceType":"Patient","name":[{"family":"Zyxwvutsrq"}],"identifier":[{"value":"SSN078051120"}]}"#,
        );
        let a = send(
            &cl,
            px,
            "POST",
            "/fhir/Patient?_id=PATID93847561",
            &[
                ("x-tenant-id", "beta"),
                ("content-type", "application/fhir+json"),
            ],
            body,
        )
        .await;
        assert_eq!(a.status, 200);
        // refused requests are logged too
        let a = get(
            &cl,
            px,
            "/other/Patient/PATID93847561?patient=MRN55501234",
            "acme",
        )
        .await;
        assert_eq!(a.status, 404);
        sent += 3;
    }
    admin(
        ad,
        "PUT",
        "/v1/routes/fhir/weight",
        Some(WRITE_TOKEN),
        json!({"percent": 50, "reason": "ramp up"}),
    )
    .await;
    admin(
        ad,
        "PUT",
        "/v1/pins/acme",
        Some(WRITE_TOKEN),
        json!({"arm": "stable"}),
    )
    .await;
    admin(
        ad,
        "PUT",
        "/v1/flags/beta-ui",
        Some(READ_TOKEN),
        json!({"on": true}),
    )
    .await; // refused: 403
    tokio::time::sleep(Duration::from_millis(50)).await;
    gw.shutdown().await; // flushes both logs

    let access = std::fs::read_to_string(dir.dir.path().join("logs/access.jsonl")).unwrap();
    let audit = std::fs::read_to_string(dir.dir.path().join("logs/audit.jsonl")).unwrap();
    for s in secrets {
        assert!(!access.contains(s), "access log holds {s}");
        assert!(!audit.contains(s), "audit log holds {s}");
    }
    let lines: Vec<Value> = access
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), sent);
    for l in &lines {
        for k in [
            "time",
            "request_id",
            "tenant",
            "route",
            "arm",
            "backend",
            "method",
            "status",
            "bytes",
            "duration_us",
            "upstream_us",
        ] {
            assert!(l.get(k).is_some(), "{k} missing in {l}");
        }
    }
    let first = &lines[0];
    assert_eq!(
        (
            first["tenant"].as_str(),
            first["route"].as_str(),
            first["arm"].as_str()
        ),
        (Some("acme"), Some("fhir"), Some("stable"))
    );
    assert_eq!(
        (
            first["backend"].as_str(),
            first["method"].as_str(),
            first["status"].as_u64()
        ),
        (Some("legacy"), Some("GET"), Some(200))
    );
    let audit: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(audit.len(), 3, "{audit:?}");
    assert_eq!(
        (
            audit[0]["action"].as_str(),
            audit[0]["who"].as_str(),
            audit[0]["revision"].as_u64()
        ),
        (Some("weight.set"), Some("ops"), Some(1))
    );
    // old is null: the config decided before (no run-time weight was set)
    assert_eq!(
        audit[0]["changes"][0],
        json!({"what": "weight fhir", "old": null, "new": 50.0})
    );
    assert_eq!(audit[1]["action"], "pin.set");
    assert_eq!(
        (audit[2]["who"].as_str(), audit[2]["refused"].as_str()),
        (Some("viewer"), Some("admin.forbidden"))
    );
}

#[tokio::test]
async fn template_cache_and_mllp_hooks_show_in_metrics() {
    let s = TestUpstream::start("legacy").await;
    let c = TestUpstream::start("modern").await;
    let dir = admin_config(&s.url(), &c.url(), "");
    let gw = start_gateway(&dir.path()).await;
    let ad = gw.admin_addr().unwrap();
    let metrics = &gw.shared().telemetry.metrics;
    metrics.register_template_cache(
        "opt",
        Box::new(|| ehrgate_templates::store::CacheStats {
            hits: 7,
            misses: 3,
            ..Default::default()
        }),
    );
    let tenant: std::sync::Arc<str> = std::sync::Arc::from("acme");
    for _ in 0..4 {
        metrics.record_mllp("ADT^A01", &tenant, "stable", "AA", Duration::from_millis(2));
    }
    metrics.record_mllp(
        "ADT^A01",
        &tenant,
        "canary",
        "AE",
        Duration::from_millis(40),
    );
    // A message type a sender made up never becomes a label of its own.
    metrics.record_mllp(
        "X<\"y\">^Z",
        &tenant,
        "stable",
        "AA",
        Duration::from_millis(1),
    );
    let samples = scrape(ad).await;
    assert_eq!(
        value(
            &samples,
            "ehrgate_template_cache_hits_total",
            &[("cache", "opt")]
        ),
        7.0
    );
    assert_eq!(
        value(
            &samples,
            "ehrgate_template_cache_misses_total",
            &[("cache", "opt")]
        ),
        3.0
    );
    assert_eq!(
        value(
            &samples,
            "ehrgate_mllp_messages_total",
            &[
                ("message_type", "ADT^A01"),
                ("tenant", "acme"),
                ("arm", "stable"),
                ("ack", "AA")
            ]
        ),
        4.0
    );
    assert_eq!(
        value(
            &samples,
            "ehrgate_mllp_messages_total",
            &[("message_type", "_other"), ("tenant", "acme")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "ehrgate_mllp_duration_seconds_count",
            &[("message_type", "ADT^A01")]
        ),
        5.0
    );
    assert_eq!(
        value(
            &samples,
            "ehrgate_mllp_duration_seconds_bucket",
            &[("listener", "adt-in"), ("outcome", "ae"), ("le", "0.025")]
        ),
        0.0
    );
    gw.shutdown().await;
}
