//! TQ1 (timing/quantity) of an order: the bounds, priority and text of
//! the ServiceRequest or MedicationRequest the order group makes (IG
//! TQ1[ServiceRequest], TQ1[MedicationRequest]). TQ1 of an appointment is
//! in `sch`.
//!
//! A TQ1 right after its ORC comes before the OBR, RXO or RXE that builds
//! the request, so it is kept with the pending ORC and used there; a TQ1
//! after RXO/RXE goes to that request at once. TQ1-7/8 give
//! `occurrenceTiming.repeat.boundsPeriod` (ServiceRequest) or
//! `dosageInstruction.timing.repeat.boundsPeriod` (MedicationRequest),
//! TQ1-9 `priority` (table 0485, IG ExtendedPriorityCodes; codes without a
//! FHIR priority are reported), TQ1-11 a `note` (ServiceRequest) or the
//! dosage `text` (MedicationRequest). The repeat pattern, offsets,
//! durations and counts (TQ1-2..6, 10, 12..14) are reported.

use std::borrow::Cow;

use super::ctx::{comps, txt, Ctx, Seg, ALL};
use super::dates;
use super::json::{push, set, set_opt, Json, Obj};
use super::tables;

/// What one TQ1 gives its request.
#[derive(Debug, Clone, Default)]
pub struct Timing<'a> {
    /// TQ1-7/8 as a Period.
    pub bounds: Option<Json<'a>>,
    /// TQ1-9 as a FHIR request-priority code.
    pub priority: Option<&'static str>,
    /// TQ1-11.
    pub text: Option<Cow<'a, str>>,
}

fn read<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) -> Timing<'a> {
    seg.mark(1, ALL);
    let at = seg.at(7);
    let (s, e) = (seg.take(7), seg.take(8));
    let bounds = dates::period(ctx, s, e, at);
    let priority = match txt(seg.peek(9).component(1)) {
        Some(p) => match tables::lookup("request-priority", &p) {
            Some(t) => {
                seg.mark(9, comps(&[1, 2, 3]));
                Some(t.code.as_str())
            }
            None => {
                ctx.not_mapped(seg.at(9), "code not in the v2 table 0485 map");
                None
            }
        },
        None => None,
    };
    Timing {
        bounds,
        priority,
        text: seg.text(11),
    }
}

/// Maps a TQ1 outside SIU: returns false when no order is there to take
/// it (the segment is then reported).
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) -> bool {
    if ctx.orc.is_some() {
        let t = read(ctx, seg);
        if let Some(o) = ctx.orc.as_mut() {
            if o.timing.is_some() {
                // a second TQ1 of one order: FHIR has one occurrence
                ctx.warn(seg.at(0), "second TQ1 of an order: only the first is kept");
            } else {
                o.timing = Some(t);
            }
        }
        return true;
    }
    let Some(m) = ctx.medication else {
        return false;
    };
    if ctx.entries[m].rtype != "MedicationRequest" {
        return false;
    }
    let t = read(ctx, seg);
    apply_medication(ctx, m, t);
    true
}

/// Puts `t` on ServiceRequest entry `sr`; bounds only when the request
/// has no occurrence yet (OBR-7 gave one: then a warning says so).
pub fn apply_service<'a>(ctx: &mut Ctx<'_, 'a>, sr: usize, t: Timing<'a>) {
    let has_occurrence = ctx.entries[sr].resource.contains_key("occurrenceDateTime");
    let r = ctx.res(sr);
    set_opt(r, "priority", t.priority);
    if let Some(text) = t.text {
        let mut n = Obj::new();
        set(&mut n, "text", text);
        push(r, "note", n);
    }
    if let Some(b) = t.bounds {
        if has_occurrence {
            ctx.warn(
                "TQ1-7",
                "order timing not kept: OBR-7 already gives the occurrence",
            );
        } else {
            let mut repeat = Obj::new();
            set(&mut repeat, "boundsPeriod", b);
            let mut timing = Obj::new();
            set(&mut timing, "repeat", repeat);
            set(r, "occurrenceTiming", timing);
        }
    }
}

/// Puts `t` on MedicationRequest entry `m`: priority, and the first
/// dosage's timing bounds and text (a dosage text already there from
/// RXO-7/RXE-7 keeps TQ1-11 as an additional line). Bounds of a second
/// TQ1 for the same dosage are not kept, with a warning.
pub fn apply_medication<'a>(ctx: &mut Ctx<'_, 'a>, m: usize, t: Timing<'a>) {
    let has_timing = ctx.entries[m]
        .resource
        .get("dosageInstruction")
        .and_then(|d| d.at(0))
        .is_some_and(|d| matches!(d, Json::Object(o) if o.contains_key("timing")));
    let bounds = match t.bounds {
        Some(_) if has_timing => {
            ctx.warn(
                "TQ1-7",
                "second timing for one dosage: only the first is kept",
            );
            None
        }
        b => b,
    };
    let r = ctx.res(m);
    set_opt(r, "priority", t.priority);
    if bounds.is_none() && t.text.is_none() {
        return;
    }
    let slot = r.get_or_insert_with("dosageInstruction", || Json::Array(Vec::new()));
    let Json::Array(list) = slot else { return };
    if list.is_empty() {
        list.push(Json::Object(Obj::new()));
    }
    let Some(Json::Object(d)) = list.first_mut() else {
        return;
    };
    if let Some(text) = t.text {
        let joined = match d.get("text") {
            Some(Json::String(old)) => Cow::Owned(format!("{old}\n{text}")),
            _ => text,
        };
        set(d, "text", joined);
    }
    if let Some(b) = bounds {
        let mut repeat = Obj::new();
        set(&mut repeat, "boundsPeriod", b);
        let mut timing = Obj::new();
        set(&mut timing, "repeat", repeat);
        set(d, "timing", timing);
    }
}
