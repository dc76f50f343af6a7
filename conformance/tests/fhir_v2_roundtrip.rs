//! v2 -> FHIR -> v2 over the corpus: for every corpus message of a type
//! both directions support, the fields the v2 -> FHIR maps read (every
//! valued component the forward report does not list as unmapped) come
//! back, compared component by component. The ones that legitimately
//! differ are listed in [`LEGIT`] with the reason; any other difference
//! fails the test.

// Test code: a failed expectation is a panic with the reason.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};

use ehrgate_conformance::corpus_files;
use ehrgate_mappers::fhir2v2::{self, FhirToV2, MessageType, Request, Version};
use ehrgate_mappers::hl7v2::{batch, Message, Segment};
use ehrgate_mappers::translation::Translator;
use ehrgate_mappers::v2fhir::{BundleType, Config as V2Config, V2ToFhir};

/// Components (`SEG-f-c`, or `SEG-f` for every component of a field) that
/// may differ after the round trip, and why.
const LEGIT: &[(&str, &str)] = &[
    (
        "MSH-3",
        "MSH comes from the FHIR -> v2 configuration, not the input",
    ),
    ("MSH-4", "MSH comes from the FHIR -> v2 configuration"),
    ("MSH-5", "MSH comes from the FHIR -> v2 configuration"),
    ("MSH-6", "MSH comes from the FHIR -> v2 configuration"),
    ("MSH-7", "MSH-7 is the time the new message is made"),
    (
        "MSH-9-3",
        "MSH-9-3 is the structure the writer names (senders leave it out or misname it)",
    ),
    (
        "MSH-10",
        "MSH-10 is generated: a new message has a new control id",
    ),
    ("MSH-11", "processing id from the configuration"),
    ("MSH-18", "the charset the writer uses (UTF-8), named"),
    (
        "MSH-15",
        "acknowledgment types are the receiving side's setting",
    ),
    (
        "MSH-16",
        "acknowledgment types are the receiving side's setting",
    ),
];

/// True when `key` (`PID-3-4`) is covered by [`LEGIT`].
fn legit(key: &str) -> Option<&'static str> {
    LEGIT
        .iter()
        .find_map(|(k, why)| (key == *k || key.starts_with(&format!("{k}-"))).then_some(*why))
}

fn message_type(code: &str, trigger: &str) -> Option<MessageType> {
    format!("{code}^{trigger}").parse().ok()
}

/// The messages of the corpus both directions translate.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for path in corpus_files("hl7v2", ".hl7") {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for (i, item) in batch::split(&bytes).into_iter().enumerate() {
            let Ok(item) = item else { continue };
            let Ok(msg) = Message::parse(item.bytes) else {
                continue;
            };
            let code = msg.message_code().unwrap_or_default();
            let trigger = msg.trigger_event().unwrap_or_default();
            if message_type(&code, &trigger).is_some() {
                out.push((format!("{name}#{i}"), item.bytes.to_vec()));
            }
        }
    }
    out
}

/// The forward translation settings: a default zone, so times keep their
/// time part (the product default keeps only the date of a zoneless time).
fn forward() -> V2ToFhir {
    V2ToFhir::new(V2Config {
        bundle_type: BundleType::Collection,
        default_timezone: Some("Z".into()),
        ..V2Config::default()
    })
    .unwrap()
}

fn backward(version: Version) -> FhirToV2 {
    FhirToV2::new(fhir2v2::Config {
        version,
        fixed_time: Some("20240101000000+0000".into()),
        ..fhir2v2::Config::default()
    })
    .unwrap()
}

/// `name(occ)` the way the forward report writes it (`OBX(2)`, `PID`).
fn seg_loc(name: &str, occ: usize) -> String {
    if occ > 1 {
        format!("{name}({occ})")
    } else {
        name.to_owned()
    }
}

/// The texts of component `c` across the repetitions of field `f`.
fn component_texts(seg: &Segment<'_>, f: usize, c: usize) -> Vec<String> {
    seg.field(f)
        .repetitions()
        .map(|r| r.component(c).text().into_owned())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .skip_while(String::is_empty)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

#[derive(Default)]
struct Tally {
    compared: usize,
    equal: usize,
    zone_added: usize,
    legit: BTreeMap<String, (usize, &'static str)>,
    unexpected: Vec<String>,
}

fn compare(
    name: &str,
    orig: &Message<'_>,
    unmapped: &HashSet<String>,
    back: &Message<'_>,
    t: &mut Tally,
) {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut back_seen: BTreeMap<String, Vec<Segment<'_>>> = BTreeMap::new();
    for s in back.segments() {
        back_seen.entry(s.name().to_owned()).or_default().push(s);
    }
    for seg in orig.segments() {
        let sname = seg.name();
        let occ = {
            let e = seen.entry(sname).or_insert(0);
            *e += 1;
            *e
        };
        let sl = seg_loc(sname, occ);
        if unmapped.contains(&sl) {
            continue;
        }
        let other = back_seen.get(sname).and_then(|v| v.get(occ - 1));
        let first = if sname == "MSH" { 3 } else { 1 };
        for f in first..=seg.field_count() {
            let field = seg.field(f);
            if !field.has_value() {
                continue;
            }
            let fl = format!("{sl}-{f}");
            if unmapped.contains(&fl) {
                continue;
            }
            let comps = field
                .repetitions()
                .map(|r| r.components().count())
                .max()
                .unwrap_or(1);
            for c in 1..=comps {
                let cl = format!("{fl}-{c}");
                if unmapped.contains(&cl) {
                    continue;
                }
                let a = component_texts(&seg, f, c);
                if a.iter().all(String::is_empty) {
                    continue;
                }
                t.compared += 1;
                let b = other.map(|o| component_texts(o, f, c)).unwrap_or_default();
                // kept: every original value is among the round trip's at
                // the same place (FHIR merges fields: PID-2/3/4/19/20 are
                // one identifier list, PID-5 and PID-9 one name list, so
                // the way back may hold more)
                let kept = |zone: bool| {
                    a.iter().filter(|x| !x.is_empty()).all(|x| {
                        b.iter()
                            .any(|y| y == x || (zone && *y == format!("{x}+0000")))
                    })
                };
                if kept(false) {
                    t.equal += 1;
                    continue;
                }
                if kept(true) {
                    t.zone_added += 1;
                    continue;
                }
                let key = format!("{sname}-{f}-{c}");
                match legit(&key) {
                    Some(why) => {
                        t.legit.entry(key).or_insert((0, why)).0 += 1;
                    }
                    None => t.unexpected.push(format!("{name} {cl}: {a:?} -> {b:?}")),
                }
            }
        }
    }
}

#[test]
fn corpus_round_trip_keeps_the_fields_the_forward_maps_read() {
    let fwd = forward();
    let msgs = corpus();
    assert!(
        msgs.len() >= 20,
        "only {} corpus messages in scope",
        msgs.len()
    );
    let mut t = Tally::default();
    let mut failures = Vec::new();
    for (name, bytes) in &msgs {
        let orig = Message::parse(bytes).unwrap();
        let code = orig.message_code().unwrap_or_default();
        let trigger = orig.trigger_event().unwrap_or_default();
        let mt = message_type(&code, &trigger).unwrap();
        let version = orig
            .version()
            .and_then(|v| v.parse::<Version>().ok())
            .filter(|v| mt.exists_in(*v))
            .unwrap_or_default();
        let fhir = match fwd.translate(&orig) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{name}: v2 -> FHIR: {e}"));
                continue;
            }
        };
        let unmapped: HashSet<String> = fhir.unmapped.iter().map(|u| u.location.clone()).collect();
        let out = match backward(version).translate(Request {
            fhir: &fhir.output,
            message: Some(mt),
        }) {
            Ok(o) => o.output,
            Err(e) => {
                failures.push(format!("{name}: FHIR -> v2: {e}"));
                continue;
            }
        };
        let back = Message::parse(&out)
            .unwrap_or_else(|e| panic!("{name}: our output does not parse: {e}"));
        compare(name, &orig, &unmapped, &back, &mut t);
    }
    eprintln!(
        "round trip: {} messages, {} components compared, {} kept, {} kept with the default zone made explicit",
        msgs.len(),
        t.compared,
        t.equal,
        t.zone_added
    );
    for (k, (n, why)) in &t.legit {
        eprintln!("  legit {k} x{n}: {why}");
    }
    for u in &t.unexpected {
        eprintln!("  DIFF {u}");
    }
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
    assert!(
        t.unexpected.is_empty(),
        "{} components differ without a listed reason (see DIFF lines)",
        t.unexpected.len()
    );
}
