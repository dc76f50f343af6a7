//! PV1 -> Encounter (IG PV1[Encounter]); PV2 is in `pv2`.
//!
//! Encounter.status: an event that changes the visit's state (cancel,
//! discharge, pending admit, leave; see `events::encounter_status`) sets
//! it; otherwise the IG PV1 rule: `finished` when PV1-45 (discharge time)
//! is valued, else PV1-2 through PatientClass[EncounterStatus], else
//! `unknown`. Encounter.class is required
//! by FHIR: an empty PV1-2 gives the v3 NullFlavor `UNK`.

use super::json::Json;

use super::ctx::{comps, txt, Ctx, Key, Seg, ALL};
use super::cwe;
use super::cx;
use super::dates;
use super::json::{concept, push, set, set_opt, Obj, ObjWriter};
use super::tables;
use super::{pl, xcn};

const PARTICIPATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";

/// An Encounter participant of `code` (v3 ParticipationType) for each
/// person of XCN field `seq`.
pub fn participant<'a>(
    ctx: &mut Ctx<'_, 'a>,
    seg: &mut Seg<'a>,
    seq: usize,
    code: &'static str,
    display: &str,
    out: &mut Vec<Json<'a>>,
) {
    let at = seg.at(seq);
    let f = seg.take_c(seq, xcn::MASK);
    for p in xcn::practitioners(ctx, f, at) {
        let mut o = ObjWriter::new();
        let mut c = ObjWriter::in_array();
        c.str("system", PARTICIPATION);
        c.str("code", code);
        c.opt_str("display", Some(display).filter(|d| !d.is_empty()));
        let mut t = ObjWriter::in_array();
        t.raw("coding", c);
        o.raw("type", t);
        o.reference("individual", ctx.full_url(p));
        out.push(o.finish());
    }
}

fn location<'a>(
    ctx: &mut Ctx<'_, 'a>,
    seg: &mut Seg<'a>,
    seq: usize,
    status: &'static str,
    out: &mut Vec<Json<'a>>,
) {
    let v = seg.take_c(seq, pl::MASK);
    if let Some(l) = pl::location(ctx, v) {
        let mut o = ObjWriter::new();
        o.reference("location", ctx.full_url(l));
        o.str("status", status);
        out.push(o.finish());
    }
}

/// Maps PV1.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let mut e = Obj::new();
    seg.mark(1, ALL);
    let mut idents = Vec::new();
    for (seq, kind) in [(19, "VN"), (50, "AN")] {
        let at = seg.at(seq);
        let f = seg.take_c(seq, cx::MASK);
        idents.extend(cx::typed_identifiers(ctx, f, at, Some(kind)));
    }
    let key = super::pid::key_of(&idents);
    if !idents.is_empty() {
        set(
            &mut e,
            "identifier",
            Json::Array(idents.into_iter().map(|i| i.json).collect()),
        );
    }
    let at = seg.at(45);
    let discharge = dates::date_time(ctx, seg.take(45), at);
    // IG PV1[Encounter]: PV1-45 -> finished, else PV1-2 through
    // PatientClass[EncounterStatus]; an event that changes the state wins
    let class_status = txt(seg.peek(2).component(1))
        .and_then(|c| tables::lookup("encounter-status-class", &c))
        .map(|t| t.code.as_str());
    let status =
        super::events::encounter_status(&ctx.trigger).unwrap_or(match (&discharge, class_status) {
            (Some(_), _) => "finished",
            (None, Some(s)) => s,
            (None, None) => "unknown",
        });
    set(&mut e, "status", status);
    let class = seg.take_c(2, comps(&[1]));
    let class_code = txt(class.component(1));
    let class_json = match class_code {
        Some(c) => match tables::lookup("encounter-class", &c) {
            Some(t) => {
                let mut o = Obj::new();
                set(&mut o, "system", t.system.as_str());
                set(&mut o, "code", t.code.as_str());
                set_opt(
                    &mut o,
                    "display",
                    (!t.display.is_empty()).then(|| t.display.clone()),
                );
                Json::Object(o)
            }
            None => {
                ctx.warn(
                    seg.at(2),
                    "code not in the v2 table 0004 map: passed through",
                );
                let mut o = Obj::new();
                set(&mut o, "system", tables::v2_system("0004"));
                set(&mut o, "code", c);
                Json::Object(o)
            }
        },
        None => {
            let mut o = Obj::new();
            set(
                &mut o,
                "system",
                "http://terminology.hl7.org/CodeSystem/v3-NullFlavor",
            );
            set(&mut o, "code", "UNK");
            Json::Object(o)
        }
    };
    set(&mut e, "class", class_json);
    let mut types = Vec::new();
    for seq in [4, 18] {
        let at = seg.at(seq);
        let table = if seq == 4 { "0007" } else { "0018" };
        if let Some(code) = txt(seg.take_c(seq, cwe::MASK).component(1)) {
            let display = txt(seg.peek(seq).component(2));
            types.push(concept(tables::v2_system(table), code, display.as_deref()));
        } else if seg.peek(seq).has_value() {
            if let Some(c) = cwe::concept_of(ctx, seg.peek(seq), at) {
                types.push(c);
            }
        }
    }
    if !types.is_empty() {
        set(&mut e, "type", Json::Array(types));
    }
    let at = seg.at(10);
    if let Some(s) = txt(seg.take_c(10, cwe::MASK).component(1)) {
        let display = txt(seg.peek(10).component(2));
        set(
            &mut e,
            "serviceType",
            concept(tables::v2_system("0069"), s, display.as_deref()),
        );
    } else if let Some(c) = cwe::concept_of(ctx, seg.peek(10), at) {
        set(&mut e, "serviceType", c);
    }
    if let Some(p) = ctx.patient {
        set(&mut e, "subject", ctx.reference(p));
    }
    let mut parts = Vec::new();
    participant(ctx, seg, 7, "ATND", "attender", &mut parts);
    participant(ctx, seg, 8, "REF", "referrer", &mut parts);
    participant(ctx, seg, 9, "CON", "consultant", &mut parts);
    participant(ctx, seg, 17, "ADM", "admitter", &mut parts);
    participant(ctx, seg, 52, "PART", "Participation", &mut parts);
    if !parts.is_empty() {
        set(&mut e, "participant", Json::Array(parts));
    }
    let at = seg.at(44);
    let start = dates::date_time(ctx, seg.take(44), at);
    let mut period = Obj::new();
    set_opt(&mut period, "start", start);
    set_opt(&mut period, "end", discharge);
    if !period.is_empty() {
        set(&mut e, "period", period);
    }
    let mut locs = Vec::new();
    location(ctx, seg, 3, "active", &mut locs);
    location(ctx, seg, 6, "completed", &mut locs);
    location(ctx, seg, 42, "planned", &mut locs);
    location(ctx, seg, 11, "active", &mut locs);
    location(ctx, seg, 43, "completed", &mut locs);
    if !locs.is_empty() {
        set(&mut e, "location", Json::Array(locs));
    }
    let mut hosp = Obj::new();
    let at = seg.at(13);
    if let Some(c) = cwe::concept_of(ctx, seg.take_c(13, cwe::MASK), at) {
        set(&mut hosp, "reAdmission", c);
    }
    let at = seg.at(14);
    if let Some(c) = cwe::concept_of(ctx, seg.take_c(14, cwe::MASK), at) {
        set(&mut hosp, "admitSource", c);
    }
    let at = seg.at(16);
    if let Some(c) = cwe::concept_of(ctx, seg.take_c(16, cwe::MASK), at) {
        push(&mut hosp, "specialCourtesy", c);
    }
    let at = seg.at(36);
    if let Some(c) = cwe::concept_of(ctx, seg.take_c(36, cwe::MASK), at) {
        set(&mut hosp, "dischargeDisposition", c);
    }
    let at = seg.at(38);
    for c in cwe::concepts(ctx, seg.take_c(38, cwe::MASK), at) {
        push(&mut hosp, "dietPreference", c);
    }
    let dest = seg.take_c(37, comps(&[1]));
    if let Some(name) = txt(dest.component(1)) {
        let mut l = Obj::new();
        set(&mut l, "status", "active");
        set(&mut l, "name", name.clone());
        let loc = ctx.add(
            "Location",
            Key::Pos(&format!("Location|discharged-to|{name}")),
            l,
        );
        set(&mut hosp, "destination", ctx.reference(loc));
    }
    if !hosp.is_empty() {
        set(&mut e, "hospitalization", hosp);
    }
    episodes(ctx, seg, &mut e);
    let idx = match &key {
        Some((s, v)) => ctx.add("Encounter", Key::Ident(s, v), e),
        None => ctx.add("Encounter", Key::Pos(&format!("PV1|{}", seg.index())), e),
    };
    ctx.encounter = Some(idx);
}

/// PV1-54 service episode identifier -> an EpisodeOfCare the Encounter
/// belongs to (IG PV1[Encounter]: episodeOfCare(EpisodeOfCare.identifier)).
/// FHIR requires its status and patient: `active` (the IG assigns none;
/// a visit is being reported in the episode), and the PID's Patient, so
/// without a Patient PV1-54 stays in the report.
fn episodes<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>, e: &mut Obj<'a>) {
    let Some(patient) = ctx.patient else { return };
    let at = seg.at(54);
    for id in cx::identifiers(ctx, seg.take_c(54, cx::MASK), at) {
        let mut ep = Obj::with_capacity(3);
        push(&mut ep, "identifier", id.json);
        set(&mut ep, "status", "active");
        set(&mut ep, "patient", ctx.reference(patient));
        let i = match &id.system {
            Some(s) => ctx.add("EpisodeOfCare", Key::Ident(s, &id.value), ep),
            None => ctx.add(
                "EpisodeOfCare",
                Key::Pos(&format!("PV1-54|{}", id.value)),
                ep,
            ),
        };
        push(e, "episodeOfCare", ctx.reference(i));
    }
}
