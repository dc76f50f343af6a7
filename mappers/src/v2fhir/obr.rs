//! OBR -> ServiceRequest (IG OBR[ServiceRequest]) and, in result messages,
//! DiagnosticReport (OBR[DiagnosticReport]) and, when it describes one, the
//! Specimen (`obrspm`), merged with the preceding ORC.

use super::json::Json;

use super::ctx::{comps, txt, Ctx, Key, Seg, ALL};
use super::cwe;
use super::cx;
use super::dates;
use super::json::{concept, push, set, set_opt, Obj};
use super::tables;
use super::xcn;

fn code_or_unknown<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>, seq: usize) -> Json<'a> {
    let at = seg.at(seq);
    cwe::concept_of(ctx, seg.take_c(seq, cwe::MASK), at).unwrap_or_else(|| {
        ctx.warn(
            at,
            "empty universal service identifier: code set to text 'unknown'",
        );
        let mut o = Obj::new();
        set(&mut o, "text", "unknown");
        Json::Object(o)
    })
}

/// Maps OBR; `results` is true in result messages (ORU, OUL);
/// `spm_in_group`: an SPM of this OBR's group describes the specimen, so
/// no Specimen is made from the OBR's own specimen fields (one specimen,
/// not two readings of it).
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>, results: bool, spm_in_group: bool) {
    let Some(patient) = ctx.patient else { return };
    let orc = ctx.orc.take();
    seg.mark(1, ALL);
    let ei = comps(&[1, 2, 3, 4]);
    let placer = cx::entity(ctx, seg.take_c(2, ei), Some("PLAC")).or_else(|| {
        orc.as_ref()
            .and_then(|o| o.placer.as_ref())
            .map(|i| cx::Ident {
                json: i.json.clone(),
                system: i.system.clone(),
                value: i.value.clone(),
            })
    });
    let filler = cx::entity(ctx, seg.take_c(3, ei), Some("FILL")).or_else(|| {
        orc.as_ref()
            .and_then(|o| o.filler.as_ref())
            .map(|i| cx::Ident {
                json: i.json.clone(),
                system: i.system.clone(),
                value: i.value.clone(),
            })
    });
    let code = code_or_unknown(ctx, seg, 4);
    let accession = placer.as_ref().map(|p| p.json.clone());
    let at = seg.at(7);
    let observed = dates::date_time(ctx, seg.take(7), at);
    let at = seg.at(8);
    let observed_end = dates::date_time(ctx, seg.take(8), at);
    // IG OBR[ServiceRequest] OBR-16: the requester IF ORC-12 NOT VALUED
    // (an OBR-16 beside ORC-12 stays in the report)
    let requester = match orc.as_ref().and_then(|o| o.requester) {
        Some(r) => Some(r),
        None => {
            let at = seg.at(16);
            let f = seg.take_c(16, xcn::MASK);
            xcn::practitioner(ctx, f.repetition(1), at)
        }
    };
    let at = seg.at(31);
    let reasons = cwe::concepts(ctx, seg.take_c(31, cwe::MASK), at);

    let mut sr = Obj::new();
    for i in [&placer, &filler].into_iter().flatten() {
        push(&mut sr, "identifier", i.json.clone());
    }
    if let Some(g) = orc.as_ref().and_then(|o| o.group.as_ref()) {
        set(&mut sr, "requisition", g.json.clone());
    }
    let status =
        orc.as_ref()
            .and_then(|o| o.status)
            .unwrap_or(if results { "completed" } else { "active" });
    set(&mut sr, "status", status);
    set(&mut sr, "intent", "order");
    set(&mut sr, "code", code.clone());
    set(&mut sr, "subject", ctx.reference(patient));
    if let Some(e) = ctx.encounter_ref() {
        set(&mut sr, "encounter", e);
    }
    if !results {
        set_opt(&mut sr, "occurrenceDateTime", observed.clone());
    }
    set_opt(
        &mut sr,
        "authoredOn",
        orc.as_ref().and_then(|o| o.authored.clone()),
    );
    if let Some(r) = requester {
        set(&mut sr, "requester", ctx.reference(r));
    }
    for r in reasons {
        push(&mut sr, "reasonCode", r);
    }
    let key = [&filler, &placer]
        .into_iter()
        .flatten()
        .find_map(|i| i.system.clone().map(|s| (s, i.value.clone())));
    let sr_idx = match &key {
        Some((s, v)) => ctx.add("ServiceRequest", Key::Ident(s, v), sr),
        None => ctx.add(
            "ServiceRequest",
            Key::Pos(&format!("OBR-SR|{}", seg.index())),
            sr,
        ),
    };
    if let Some(t) = orc.and_then(|o| o.timing) {
        super::tq1::apply_service(ctx, sr_idx, t);
    }
    ctx.order = Some(sr_idx);
    ctx.note_target = Some(sr_idx);
    ctx.report = None;
    if !results {
        ctx.focus.push(sr_idx);
        return;
    }
    let mut dr = Obj::new();
    if let Some(f) = &filler {
        push(&mut dr, "identifier", f.json.clone());
    }
    push(&mut dr, "basedOn", ctx.reference(sr_idx));
    let status = match txt(seg.take_c(25, comps(&[1])).component(1)) {
        Some(s) => match tables::lookup("report-status", &s) {
            Some(e) => e.code.as_str(),
            None => {
                ctx.not_mapped(seg.at(25), "code not in the v2 table 0123 map");
                "unknown"
            }
        },
        None => "unknown",
    };
    set(&mut dr, "status", status);
    if let Some(sect) = txt(seg.take_c(24, comps(&[1])).component(1)) {
        push(
            &mut dr,
            "category",
            concept(tables::v2_system("0074"), sect, None),
        );
    }
    set(&mut dr, "code", code);
    set(&mut dr, "subject", ctx.reference(patient));
    if let Some(e) = ctx.encounter_ref() {
        set(&mut dr, "encounter", e);
    }
    let observed_pair = (observed.clone(), observed_end.clone());
    match (observed, observed_end) {
        (Some(s), Some(e)) => {
            let mut p = Obj::new();
            set(&mut p, "start", s);
            set(&mut p, "end", e);
            set(&mut dr, "effectivePeriod", p);
        }
        (Some(s), None) => set(&mut dr, "effectiveDateTime", s),
        _ => {}
    }
    let at = seg.at(22);
    set_opt(&mut dr, "issued", dates::instant(ctx, seg.take(22), at));
    let key = filler
        .as_ref()
        .and_then(|i| i.system.clone().map(|s| (s, i.value.clone())));
    let dr_idx = match &key {
        Some((s, v)) => ctx.add("DiagnosticReport", Key::Ident(s, v), dr),
        None => ctx.add(
            "DiagnosticReport",
            Key::Pos(&format!("OBR-DR|{}", seg.index())),
            dr,
        ),
    };
    ctx.report = Some(dr_idx);
    ctx.focus.push(dr_idx);
    if !spm_in_group && super::obrspm::has_specimen(seg) {
        super::obrspm::map(ctx, seg, dr_idx, accession, observed_pair);
    }
}
