//! Pharmacy orders, gives and dispenses (RDE, RDS, RGV, OMP): RXO, RXE and
//! RXG -> MedicationRequest, RXD -> MedicationDispense, RXR -> the route, site
//! and method of their dosage (IG RXO[MedicationRequest],
//! RXR[MedicationRequest]).
//!
//! RXO is the order as the provider wrote it (intent `original-order`, as
//! the IG assigns); RXE is the pharmacy's encoding of the same order
//! (intent `order`), `basedOn` the RXO request of its group when there is
//! one. The first of them takes the pending ORC (identifiers, status,
//! authored time, ordering provider). RXD's dispense points to the group's
//! request as `authorizingPrescription`.
//!
//! A segment without its medication code (RXO-1, RXE-2, RXD-2: FHIR
//! requires `medication[x]`) makes no resource and stays in the report.

use std::borrow::Cow;

use crate::hl7v2::Value;

use super::ctx::{txt, Ctx, Key, Loc, Seg, ALL};
use super::cwe;
use super::dates;
use super::json::{decimal, push, set, set_opt, Json, Obj};
use super::orc::OrcData;
use super::xcn;

/// MedicationRequest.status for a ServiceRequest.status taken from ORC
/// (request-status and medicationrequest-status share all codes but
/// `revoked`, which a medication request calls `cancelled`).
fn request_status(sr: Option<&'static str>) -> &'static str {
    match sr {
        Some("revoked") => "cancelled",
        Some(s) => s,
        None => "unknown",
    }
}

/// A Quantity from an NM amount and CWE units: `None` when the amount is
/// not a number (reported at `loc`).
fn quantity<'a>(
    ctx: &mut Ctx<'_, 'a>,
    amount: &str,
    units: Value<'a>,
    loc: Loc<'a>,
) -> Option<Json<'a>> {
    let Some(v) = decimal(amount) else {
        ctx.not_mapped(loc, "amount is not a number");
        return None;
    };
    let mut q = Obj::new();
    set(&mut q, "value", v);
    let code = txt(units.component(1));
    let unit = txt(units.component(2)).or_else(|| code.clone());
    set_opt(&mut q, "unit", unit);
    if let Some(c) = code {
        if let Some(name) = txt(units.component(3)) {
            set(&mut q, "system", cwe::system_for(ctx, &name, loc));
        }
        set(&mut q, "code", c);
    }
    Some(Json::Object(q))
}

/// `dosageInstruction.doseAndRate` with an ordered dose range from the
/// minimum (`low_seq`), maximum (`high_seq`) and units (`unit_seq`).
fn dose_range<'a>(
    ctx: &mut Ctx<'_, 'a>,
    seg: &mut Seg<'a>,
    (low_seq, high_seq, unit_seq): (usize, usize, usize),
) -> Option<Json<'a>> {
    let units = seg.peek(unit_seq);
    let mut range = Obj::new();
    for (seq, key) in [(low_seq, "low"), (high_seq, "high")] {
        if let Some(a) = txt(seg.peek(seq)) {
            let at = seg.at(seq);
            if let Some(q) = quantity(ctx, &a, units, at) {
                seg.mark(seq, ALL);
                seg.mark(unit_seq, cwe::MASK);
                set(&mut range, key, q);
            }
        }
    }
    if range.is_empty() {
        return None;
    }
    let mut dr = Obj::new();
    set(
        &mut dr,
        "type",
        super::json::concept(
            "http://terminology.hl7.org/CodeSystem/dose-rate-type",
            "ordered",
            Some("Ordered"),
        ),
    );
    set(&mut dr, "doseRange", range);
    Some(Json::Object(dr))
}

/// `dispenseRequest` from the dispense amount, units and refills.
fn dispense_request<'a>(
    ctx: &mut Ctx<'_, 'a>,
    seg: &mut Seg<'a>,
    (amount, units, refills): (usize, usize, usize),
) -> Option<Json<'a>> {
    let mut d = Obj::new();
    if let Some(a) = txt(seg.peek(amount)) {
        let at = seg.at(amount);
        if let Some(q) = quantity(ctx, &a, seg.peek(units), at) {
            seg.mark(amount, ALL);
            seg.mark(units, cwe::MASK);
            set(&mut d, "quantity", q);
        }
    }
    if let Some(r) = txt(seg.peek(refills)) {
        match r.parse::<u32>() {
            Ok(n) => {
                seg.mark(refills, ALL);
                set(&mut d, "numberOfRepeatsAllowed", n);
            }
            Err(_) => ctx.not_mapped(seg.at(refills), "number of refills is not a count"),
        }
    }
    (!d.is_empty()).then_some(Json::Object(d))
}

/// The text of a CWE instruction (CWE-9, else CWE-2, else CWE-1).
fn instruction_text<'a>(v: Value<'a>) -> Option<Cow<'a, str>> {
    v.repetitions()
        .filter_map(|r| {
            txt(r.component(9))
                .or_else(|| txt(r.component(2)))
                .or_else(|| txt(r.component(1)))
        })
        .reduce(|a, b| Cow::Owned(format!("{a}\n{b}")))
}

/// The common part of RXO and RXE.
#[derive(Clone, Copy)]
struct Order {
    intent: &'static str,
    medication: usize,
    dose: (usize, usize, usize),
    dispense: Option<(usize, usize, usize)>,
    instructions: usize,
    requester: Option<usize>,
}

fn request<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>, o: Order) -> Option<usize> {
    let patient = ctx.patient?;
    let at = seg.at(o.medication);
    let Some(med) = cwe::concept_of(ctx, seg.peek(o.medication), at) else {
        ctx.not_mapped(
            seg.at(o.medication),
            "pharmacy order without medication code",
        );
        return None;
    };
    seg.mark(o.medication, cwe::MASK);
    // the group's RXO request, when this is the RXE after it; for a give
    // (RXG), the order it carries out
    let based_on = ctx.medication.filter(|&m| {
        let e = &ctx.entries[m];
        o.intent != "original-order"
            && e.rtype == "MedicationRequest"
            && e.resource.get("intent") != Some(&Json::from("instance-order"))
    });
    ctx.administration = None;
    let orc: Option<OrcData<'a>> = ctx.orc.take();
    let mut r = Obj::new();
    let key = orc.as_ref().and_then(|d| {
        [&d.filler, &d.placer]
            .into_iter()
            .flatten()
            .find_map(|i| i.system.clone().map(|s| (s, i.value.clone())))
    });
    if let Some(d) = &orc {
        for i in [&d.placer, &d.filler].into_iter().flatten() {
            push(&mut r, "identifier", i.json.clone());
        }
    }
    set(
        &mut r,
        "status",
        request_status(orc.as_ref().and_then(|d| d.status)),
    );
    set(&mut r, "intent", o.intent);
    set(&mut r, "medicationCodeableConcept", med);
    set(&mut r, "subject", ctx.reference(patient));
    if let Some(e) = ctx.encounter_ref() {
        set(&mut r, "encounter", e);
    }
    if let Some(d) = &orc {
        set_opt(&mut r, "authoredOn", d.authored.clone());
    }
    let requester = match o.requester {
        Some(seq) => {
            let at = seg.at(seq);
            let f = seg.take_c(seq, xcn::MASK);
            xcn::practitioner(ctx, f.repetition(1), at)
        }
        None => None,
    }
    .or(orc.as_ref().and_then(|d| d.requester));
    if let Some(p) = requester {
        set(&mut r, "requester", ctx.reference(p));
    }
    if let Some(b) = based_on {
        push(&mut r, "basedOn", ctx.reference(b));
    }
    let mut dosage = Obj::new();
    if let Some(t) = instruction_text(seg.peek(o.instructions)) {
        seg.mark(o.instructions, ALL);
        set(&mut dosage, "text", t);
    }
    if let Some(dr) = dose_range(ctx, seg, o.dose) {
        push(&mut dosage, "doseAndRate", dr);
    }
    if !dosage.is_empty() {
        push(&mut r, "dosageInstruction", dosage);
    }
    if let Some(d) = o.dispense {
        set_opt(&mut r, "dispenseRequest", dispense_request(ctx, seg, d));
    }
    let idx = match (&key, orc.is_some()) {
        (Some((s, v)), true) => ctx.add("MedicationRequest", Key::Ident(s, v), r),
        _ => ctx.add(
            "MedicationRequest",
            Key::Pos(&format!("{}|{}", seg.name(), seg.index())),
            r,
        ),
    };
    if let Some(t) = orc.and_then(|d| d.timing) {
        super::tq1::apply_medication(ctx, idx, t);
    }
    ctx.medication = Some(idx);
    ctx.immunization = None;
    ctx.note_target = Some(idx);
    ctx.focus.push(idx);
    Some(idx)
}

/// RXO (pharmacy/treatment order): RXO-1 medication, RXO-2/3/4 dose
/// range, RXO-7 administration instructions as dosage text, RXO-11/12/13
/// dispense quantity and refills, RXO-14 ordering provider.
pub fn map_rxo<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    // a new order group: RXE after this one is based on this request
    ctx.medication = None;
    let _ = request(
        ctx,
        seg,
        Order {
            intent: "original-order",
            medication: 1,
            dose: (2, 3, 4),
            dispense: Some((11, 12, 13)),
            instructions: 7,
            requester: Some(14),
        },
    );
}

/// RXE (pharmacy/treatment encoded order): RXE-2 medication, RXE-3/4/5
/// dose range, RXE-7 administration instructions, RXE-10/11/12 dispense
/// quantity and refills, RXE-15 prescription number as identifier.
pub fn map_rxe<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(idx) = request(
        ctx,
        seg,
        Order {
            intent: "order",
            medication: 2,
            dose: (3, 4, 5),
            dispense: Some((10, 11, 12)),
            instructions: 7,
            requester: None,
        },
    ) else {
        return;
    };
    if let Some(n) = seg.text(15) {
        let mut i = Obj::new();
        set(&mut i, "value", n);
        push(ctx.res(idx), "identifier", i);
    }
}

/// RXG (pharmacy/treatment give) -> MedicationRequest with intent
/// `instance-order`, `basedOn` the group's order (RXO/RXE): a give is the
/// instruction to administer one occurrence of the order, which FHIR
/// calls an instance order; the administration itself is the RXA that
/// reports it (`medadmin`). RXG-4 give code, RXG-5/6/7 give amount range
/// and units, RXG-9 administration notes as dosage text.
pub fn map_rxg<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    seg.mark(1, ALL);
    seg.mark(2, ALL);
    let _ = request(
        ctx,
        seg,
        Order {
            intent: "instance-order",
            medication: 4,
            dose: (5, 6, 7),
            dispense: None,
            instructions: 9,
            requester: None,
        },
    );
}

/// RXD (pharmacy/treatment dispense) -> MedicationDispense (status
/// `completed`: RXD reports a dispense made): RXD-2 medication, RXD-3
/// when handed over, RXD-4/5 quantity, RXD-7 prescription number as
/// identifier, RXD-10 dispensing provider as performer.
pub fn map_rxd<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(patient) = ctx.patient else { return };
    let at = seg.at(2);
    let Some(med) = cwe::concept_of(ctx, seg.peek(2), at) else {
        ctx.not_mapped(seg.at(2), "dispense without medication code");
        return;
    };
    seg.mark(2, cwe::MASK);
    seg.mark(1, ALL);
    ctx.administration = None;
    let mut d = Obj::new();
    if let Some(n) = seg.text(7) {
        let mut i = Obj::new();
        set(&mut i, "value", n);
        push(&mut d, "identifier", i);
    }
    set(&mut d, "status", "completed");
    set(&mut d, "medicationCodeableConcept", med);
    set(&mut d, "subject", ctx.reference(patient));
    if let Some(e) = ctx.encounter_ref() {
        set(&mut d, "context", e);
    }
    let at = seg.at(10);
    let f = seg.take_c(10, xcn::MASK);
    for p in xcn::practitioners(ctx, f, at) {
        let mut o = Obj::new();
        set(&mut o, "actor", ctx.reference(p));
        push(&mut d, "performer", o);
    }
    if let Some(m) = ctx.medication {
        if ctx.entries[m].rtype == "MedicationRequest" {
            push(&mut d, "authorizingPrescription", ctx.reference(m));
        }
    }
    if let Some(a) = txt(seg.peek(4)) {
        let at = seg.at(4);
        if let Some(q) = quantity(ctx, &a, seg.peek(5), at) {
            seg.mark(4, ALL);
            seg.mark(5, cwe::MASK);
            set(&mut d, "quantity", q);
        }
    }
    let at = seg.at(3);
    set_opt(
        &mut d,
        "whenHandedOver",
        dates::date_time(ctx, seg.take(3), at),
    );
    let idx = ctx.add(
        "MedicationDispense",
        Key::Pos(&format!("RXD|{}", seg.index())),
        d,
    );
    ctx.medication = Some(idx);
    ctx.note_target = Some(idx);
    ctx.focus.push(idx);
}

/// RXR -> the route (RXR-1), site (RXR-2), method (RXR-4) and routing
/// instruction (RXR-5, as additionalInstruction) of the current request's
/// or dispense's first dosage.
pub fn map_rxr<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(m) = ctx.medication else { return };
    // FHIR has one route, site and method per Dosage: a second RXR for
    // the same dosage leaves its fields unmarked, so they are reported
    let taken = |ctx: &Ctx<'_, 'a>, key: &str| {
        ctx.entries[m]
            .resource
            .get("dosageInstruction")
            .and_then(|d| d.at(0))
            .and_then(|d| match d {
                Json::Object(o) => Some(o.contains_key(key)),
                _ => None,
            })
            .unwrap_or(false)
    };
    let mut parts: Vec<(&'static str, Json<'a>)> = Vec::new();
    for (seq, key) in [
        (1, "route"),
        (2, "site"),
        (4, "method"),
        (5, "additionalInstruction"),
    ] {
        if key != "additionalInstruction" && taken(ctx, key) {
            continue;
        }
        let at = seg.at(seq);
        if let Some(c) = cwe::concept_of(ctx, seg.take_c(seq, cwe::MASK), at) {
            parts.push((key, c));
        }
    }
    if parts.is_empty() {
        return;
    }
    let res = ctx.res(m);
    let slot = res.get_or_insert_with("dosageInstruction", || Json::Array(Vec::new()));
    let Json::Array(list) = slot else { return };
    if list.is_empty() {
        list.push(Json::Object(Obj::new()));
    }
    if let Some(Json::Object(dosage)) = list.first_mut() {
        for (key, c) in parts {
            if key == "additionalInstruction" {
                push(dosage, key, c);
            } else {
                set(dosage, key, c);
            }
        }
    }
}
