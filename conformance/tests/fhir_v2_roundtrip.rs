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
    (
        "MSH-19",
        "the principal language of the message is the writer's setting",
    ),
    (
        "MSH-22",
        "the sending responsible organization is the writer's setting",
    ),
    (
        "EVN-1",
        "EVN-1 is the event of the message written (withdrawn from v2.7)",
    ),
    ("EVN-2", "EVN-2 is the time the new message is recorded"),
    (
        "PID-2",
        "PID-2 (deprecated) becomes Patient.identifier, written back in PID-3",
    ),
    (
        "PID-4",
        "PID-4 (deprecated) becomes Patient.identifier, written back in PID-3",
    ),
    (
        "PID-9",
        "PID-9 aliases become Patient.name, written back in PID-5",
    ),
    (
        "PID-12",
        "PID-12 county becomes Address.district, written back in PID-11 XAD-9",
    ),
    (
        "PID-19",
        "the SSN is written in PID-3 from v2.7 (PID-19 withdrawn) and when PID-19 is taken",
    ),
    (
        "PID-20",
        "the driver's licence is written in PID-3 from v2.7 (PID-20 withdrawn)",
    ),
];

/// Segments the v2 -> FHIR maps read and the FHIR -> v2 writer does not
/// write: outside issue 22's segment list (insurance, guarantor,
/// procedures, charges, roles and participations, software, documents).
/// Their resources (Coverage, guarantors, Procedure, ChargeItem,
/// PractitionerRole, Device, DocumentReference) are in the FHIR -> v2
/// report as resources no segment takes: nothing is dropped silently.
const SCOPE_SEGMENTS: &[&str] = &[
    "ROL", "IN1", "IN2", "IN3", "GT1", "PR1", "FT1", "PRT", "SFT", "TXA", "DB1", "ACC", "UB1",
    "UB2", "PDA", "ARV", "UAC",
];

/// In-scope fields (`SEG-f`) that do not come back yet: the work left
/// after this round, measured by this test (it prints the counts). A
/// field fixed is taken off the list; a field outside it that differs
/// fails. Main causes, from the DIFF lines: OBX alignment (an RP/ED OBX
/// becomes a DocumentReference, which no OBX is written from, so later
/// rows shift), order and specimen OBX not written, XTN-1 numbers written
/// as XTN-12 from v2.6, HD namespaces lost where a universal id made the
/// system, SAD/FN sub-components the v2 -> FHIR map folds, EVN-4/5/6
/// (Provenance) not written, one of several responsible observers and
/// practitioners kept.
const GAPS: &[&str] = &[
    // read by the v2 -> FHIR maps since main's issue 21 depth work (v2more),
    // not yet written back
    "PID-21", "PV2-13", "PV2-1", "PV2-25", "PV1-54", "OBR-10", "NK1-33", "PV2-38", "PV2-22",
    "PV2-12", "PV2-11", "PD1-14", "NK1-9", "NK1-8", "NK1-15", "ORC-22", "ORC-23", "ORC-21",
    "OBR-9", "OBR-15", "PV2-9", "PV2-8", "OBR-39", "OBR-14", "AL1-6", "DG1-1", "DG1-3", "DG1-4",
    "DG1-5", "DG1-6", "DG1-16", "DG1-19", "DG1-20", "EVN-4", "EVN-5", "EVN-6", "IAM-2", "IAM-6",
    "IAM-7", "IAM-13", "IAM-17", "NK1-2", "NK1-3", "NK1-4", "NK1-5", "NK1-6", "NK1-7", "NK1-12",
    "NK1-16", "NK1-20", "NK1-31", "NK1-32", "NTE-1", "NTE-2", "NTE-3", "OBR-1", "OBR-2", "OBR-3",
    "OBR-4", "OBR-7", "OBR-8", "OBR-16", "OBR-22", "OBR-31", "OBX-1", "OBX-2", "OBX-3", "OBX-4",
    "OBX-5", "OBX-6", "OBX-7", "OBX-8", "OBX-11", "OBX-14", "OBX-16", "OBX-23", "ORC-1", "ORC-2",
    "ORC-3", "ORC-4", "ORC-5", "ORC-9", "ORC-12", "PD1-3", "PD1-4", "PID-3", "PID-5", "PID-7",
    "PID-11", "PID-13", "PID-14", "PID-16", "PID-18", "PID-24", "PID-28", "PID-30", "PRB-16",
    "PV1-1", "PV1-2", "PV1-3", "PV1-6", "PV1-7", "PV1-8", "PV1-9", "PV1-14", "PV1-16", "PV1-17",
    "PV1-18", "PV1-19", "PV1-36", "PV1-37", "PV1-43", "PV1-44", "PV1-45", "PV1-50", "PV1-52",
    "RXA-9", "RXA-10", "SPM-1", "SPM-2", "SPM-4", "SPM-7", "SPM-8", "SPM-17", "SPM-18", "TQ1-1",
    "TQ1-7", "TQ1-8", "TQ1-9", "TQ1-11",
];

/// Corpus messages that make no message on the way back, and why (the
/// error names the FHIR path).
const NO_WAY_BACK: &[(&str, &str)] = &[
    (
        "ORM-O01-04.hl7#0",
        "a medication order (ORC + RXO): its ServiceRequest from ORC alone has no code for OBR-4",
    ),
    (
        "ORM-O01-05.hl7#0",
        "a medication order (ORC + RXO): its ServiceRequest from ORC alone has no code for OBR-4",
    ),
    (
        "ORM-O01-06.hl7#0",
        "a pharmacy order (RXO): a MedicationRequest, which ORM^O01's OBR does not carry",
    ),
    (
        "SIU_12.hl7#0",
        "an ADT^A60 without IAM segments: no AllergyIntolerance, and IAM is what A60 carries",
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
        for (i, item) in batch::split(&bytes).enumerate() {
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
    scope: usize,
    gaps: BTreeMap<String, usize>,
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
                let field_key = format!("{sname}-{f}");
                if let Some(why) = legit(&key) {
                    t.legit.entry(key).or_insert((0, why)).0 += 1;
                } else if SCOPE_SEGMENTS.contains(&sname) {
                    t.scope += 1;
                } else if GAPS.contains(&field_key.as_str()) {
                    *t.gaps.entry(field_key).or_default() += 1;
                } else {
                    t.unexpected.push(format!("{name} {cl}: {a:?} -> {b:?}"));
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
    eprintln!(
        "  {} components in segments outside the writer's scope",
        t.scope
    );
    let gap_n: usize = t.gaps.values().sum();
    eprintln!("  {gap_n} components in {} known gap fields:", t.gaps.len());
    for (k, n) in &t.gaps {
        eprintln!("    gap {k} x{n}");
    }
    for u in &t.unexpected {
        eprintln!("  DIFF {u}");
    }
    // the share kept was 4,248 of 8,391 (50.6 %) when the gap list was
    // taken, 4,081 of 9,013 (45.3 %) after main's v2more made the forward
    // maps read more fields: a regression inside a gap field fails here
    assert!(
        (t.equal + t.zone_added) * 1000 >= t.compared * 450,
        "kept {} of {}",
        t.equal + t.zone_added,
        t.compared
    );
    let unexpected_failures: Vec<&String> = failures
        .iter()
        .filter(|f| !NO_WAY_BACK.iter().any(|(n, _)| f.starts_with(n)))
        .collect();
    for (n, why) in NO_WAY_BACK {
        eprintln!("  no message back from {n}: {why}");
    }
    assert_eq!(
        failures.len() - unexpected_failures.len(),
        NO_WAY_BACK.len(),
        "a listed message translates now: take it off NO_WAY_BACK\n{}",
        failures.join("\n")
    );
    assert!(
        unexpected_failures.is_empty(),
        "failures:\n{}",
        failures.join("\n")
    );
    assert!(
        t.unexpected.is_empty(),
        "{} components differ without a listed reason (see DIFF lines)",
        t.unexpected.len()
    );
}
