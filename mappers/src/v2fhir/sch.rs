//! SIU scheduling: SCH -> Appointment (IG SCH[Appointment]); AIL, AIP, AIG
//! and AIS add participants and the service (IG AIL/AIP/AIG/AIS
//! [Appointment]); TQ1 (v2.6+) or SCH-11 (TQ, older versions) give start
//! and end. RGS only groups the resource segments that follow it. SCH-26/27
//! give the ServiceRequest the appointment is based on (SCH[ServiceRequest]).

use super::json::Json;

use super::ctx::{comps, txt, Ctx, Key, Loc, Seg, ALL};
use super::cwe;
use super::cx;
use super::dates;
use super::json::{push, set, set_opt, Obj};
use super::tables;
use super::{pl, xcn};

/// An Appointment participant.
pub fn participant<'a>(actor: Json<'a>, kind: Option<Json<'a>>) -> Json<'a> {
    let mut p = Obj::new();
    if let Some(k) = kind {
        push(&mut p, "type", k);
    }
    set(&mut p, "actor", actor);
    set(&mut p, "status", "accepted");
    Json::Object(p)
}

/// Maps SCH.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let mut a = Obj::new();
    let ei = comps(&[1, 2, 3, 4]);
    let placer = cx::entity(ctx, seg.take_c(1, ei), Some("PLAC"));
    let filler = cx::entity(ctx, seg.take_c(2, ei), Some("FILL"));
    let key = [&filler, &placer]
        .into_iter()
        .flatten()
        .find_map(|i| i.system.clone().map(|s| (s, i.value.clone())));
    for i in [placer, filler].into_iter().flatten() {
        push(&mut a, "identifier", i.json);
    }
    let status = match txt(seg.take_c(25, comps(&[1])).component(1)) {
        Some(s) => match tables::lookup("appointment-status", &s) {
            Some(e) => e.code.as_str(),
            None => {
                ctx.not_mapped(seg.at(25), "code not in the v2 table 0278 map");
                "booked"
            }
        },
        None => "booked",
    };
    // the event wins over SCH-25 (an S15 cancels whatever SCH-25 says);
    // a disagreeing SCH-25 is kept as a warning, not dropped unseen
    let status = match super::events::appointment_status(&ctx.trigger) {
        Some(e) => {
            if seg.peek(25).has_value() && e != status {
                ctx.warn(
                    seg.at(25),
                    format!(
                        "filler status code gives {status}, the trigger event {e}: the event wins"
                    ),
                );
            }
            e
        }
        None => status,
    };
    set(&mut a, "status", status);
    let at = seg.at(6);
    if let Some(c) = cwe::concept_of(ctx, seg.take_c(6, cwe::MASK), at) {
        push(&mut a, "reasonCode", c);
    }
    let at = seg.at(7);
    if let Some(c) = cwe::concept_of(ctx, seg.take_c(7, cwe::MASK), at) {
        push(&mut a, "reasonCode", c);
    }
    let at = seg.at(8);
    set_opt(
        &mut a,
        "appointmentType",
        cwe::concept_of(ctx, seg.take_c(8, cwe::MASK), at),
    );
    let units = txt(seg.peek(10).component(1));
    if matches!(units.as_deref(), None | Some("MIN") | Some("min")) {
        if let Some(d) = txt(seg.peek(9))
            .and_then(|d| d.parse::<u32>().ok())
            .filter(|d| *d > 0)
        {
            seg.mark(9, ALL);
            seg.mark(10, ALL);
            set(&mut a, "minutesDuration", d);
        }
    }
    let tq = seg.take_c(11, comps(&[4, 5]));
    let at = seg.at(11);
    set_opt(&mut a, "start", dates::instant(ctx, tq.component(4), at));
    set_opt(&mut a, "end", dates::instant(ctx, tq.component(5), at));
    let mut parts = Vec::new();
    for seq in [12, 16] {
        let at = seg.at(seq);
        let f = seg.take_c(seq, xcn::MASK);
        for p in xcn::practitioners(ctx, f, at) {
            parts.push(participant(ctx.reference(p), None));
        }
    }
    if let Some(p) = ctx.patient {
        parts.push(participant(ctx.reference(p), None));
    }
    if !parts.is_empty() {
        set(&mut a, "participant", Json::Array(parts));
    }
    let idx = match &key {
        Some((s, v)) => ctx.add("Appointment", Key::Ident(s, v), a),
        None => ctx.add("Appointment", Key::Pos(&format!("SCH|{}", seg.index())), a),
    };
    ctx.appointment = Some(idx);
    ctx.focus.push(idx);
    // SCH-26/27: the order the appointment books (IG SCH[ServiceRequest],
    // IF SCH-26 OR SCH-27 VALUED); made in `flush`, when the patient (PID
    // follows SCH in SIU) is known
    let placer = cx::entity(ctx, seg.take_c(26, ei), Some("PLAC"));
    let filler = cx::entity(ctx, seg.take_c(27, ei), Some("FILL"));
    if placer.is_some() || filler.is_some() {
        let key = [&filler, &placer]
            .into_iter()
            .flatten()
            .find_map(|i| i.system.clone().map(|s| (s, i.value.to_string())));
        ctx.scheduled = Some(Ordered {
            appointment: idx,
            identifiers: [placer, filler]
                .into_iter()
                .flatten()
                .map(|i| i.json)
                .collect(),
            key,
            status: request_status(status),
            at: seg.at(26),
        });
    }
}

/// The order an Appointment books (SCH-26/27), waiting for the patient.
#[derive(Debug)]
pub struct Ordered<'a> {
    appointment: usize,
    identifiers: Vec<Json<'a>>,
    key: Option<(String, String)>,
    status: &'static str,
    at: Loc<'a>,
}

/// ServiceRequest.status for the Appointment.status the SCH gave. The
/// IG's SCH[ServiceRequest] names the FillerStatusCodes[Appointment] map,
/// whose codes are Appointment codes, so they are carried over to the
/// request's own status: a cancelled booking revokes the order, a
/// fulfilled one completes it, an appointment entered in error makes the
/// order one too; any other state (a no-show too: the order can be booked
/// again) leaves it `active`, the IG's value when SCH-25 is empty.
pub fn request_status(appointment: &str) -> &'static str {
    match appointment {
        "cancelled" => "revoked",
        "fulfilled" => "completed",
        "entered-in-error" => "entered-in-error",
        _ => "active",
    }
}

/// Makes the ServiceRequest of the SCH (see [`Ordered`]) now that the
/// patient is known; without a patient (FHIR requires the subject) SCH-26
/// is reported.
pub fn flush<'a>(ctx: &mut Ctx<'_, 'a>) {
    let Some(o) = ctx.scheduled.take() else {
        return;
    };
    let Some(patient) = ctx.patient else {
        ctx.not_mapped(o.at, "order of an appointment without a patient");
        return;
    };
    let mut sr = Obj::new();
    set(&mut sr, "identifier", Json::Array(o.identifiers));
    set(&mut sr, "status", o.status);
    set(&mut sr, "intent", "order");
    set(&mut sr, "subject", ctx.reference(patient));
    let idx = match &o.key {
        Some((s, v)) => ctx.add("ServiceRequest", Key::Ident(s, v), sr),
        None => ctx.add("ServiceRequest", Key::Pos("SCH-26"), sr),
    };
    let r = ctx.reference(idx);
    push(ctx.res(o.appointment), "basedOn", r);
}

/// Maps TQ1 into the current Appointment (start and end).
pub fn map_tq1<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(app) = ctx.appointment else { return };
    seg.mark(1, ALL);
    let at = seg.at(7);
    let start = dates::instant(ctx, seg.take(7), at);
    let at = seg.at(8);
    let end = dates::instant(ctx, seg.take(8), at);
    let r = ctx.res(app);
    if let Some(s) = start {
        set(r, "start", s);
    }
    if let Some(e) = end {
        set(r, "end", e);
    }
}

/// Maps AIL (location resource), AIP (personnel) and AIS (service).
pub fn map_resource<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(app) = ctx.appointment else { return };
    seg.mark(1, ALL);
    match seg.name() {
        "AIL" => {
            let v = seg.take_c(3, pl::MASK);
            if let Some(l) = pl::location(ctx, v.repetition(1)) {
                let p = participant(ctx.reference(l), None);
                push(ctx.res(app), "participant", p);
            }
        }
        "AIP" => {
            let at = seg.at(4);
            let role = cwe::concept_of(ctx, seg.take_c(4, cwe::MASK), at);
            let at = seg.at(3);
            let f = seg.take_c(3, xcn::MASK);
            for p in xcn::practitioners(ctx, f, at) {
                let part = participant(ctx.reference(p), role.clone());
                push(ctx.res(app), "participant", part);
            }
        }
        "AIG" => map_aig(ctx, seg, app),
        _ => {
            let at = seg.at(3);
            if let Some(c) = cwe::concept_of(ctx, seg.take_c(3, cwe::MASK), at) {
                push(ctx.res(app), "serviceType", c);
            }
        }
    }
}

/// AIG (a general resource: equipment, a room...) -> a participant whose
/// actor is a Location identified by AIG-3 (IG AIG[Appointment]:
/// CWE[Identifier], CWE-1 the value and CWE-3 the system; the IG maps no
/// name, so AIG-3-2 is reported), AIG-4 its type and AIG-8 the start of
/// its period. AIG-9 to AIG-12 (offsets and duration, which the IG turns
/// into period arithmetic) are not mapped yet and are reported.
fn map_aig<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>, app: usize) {
    let at = seg.at(3);
    let id = seg.take_c(3, comps(&[1, 3]));
    let Some(value) = txt(id.component(1)) else {
        return;
    };
    let mut ident = Obj::new();
    let system = txt(id.component(3)).map(|name| cwe::system_for(ctx, &name, at));
    set_opt(&mut ident, "system", system.clone());
    set(&mut ident, "value", value.clone());
    let mut l = Obj::new();
    push(&mut l, "identifier", ident);
    set(&mut l, "mode", "instance");
    let key = format!("AIG|{}|{value}", system.unwrap_or_default());
    let loc = ctx.add("Location", Key::Pos(&key), l);
    let at = seg.at(4);
    let kind = cwe::concept_of(ctx, seg.take_c(4, cwe::MASK), at);
    let mut part = participant(ctx.reference(loc), kind);
    let at = seg.at(8);
    if let (Some(start), Json::Object(p)) = (dates::date_time(ctx, seg.take(8), at), &mut part) {
        let mut period = Obj::new();
        set(&mut period, "start", start);
        set(p, "period", period);
    }
    push(ctx.res(app), "participant", part);
}

/// RGS (resource group): a structural grouping with no FHIR target; its
/// set id is consumed here, a valued RGS-2 action code or RGS-3 group id
/// is reported.
pub fn map_rgs<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) -> bool {
    if ctx.appointment.is_none() {
        return false;
    }
    seg.mark(1, ALL);
    true
}

#[cfg(test)]
mod tests {
    use super::request_status;

    #[test]
    fn booked_order_status_follows_the_appointment() {
        for (appointment, request) in [
            ("booked", "active"),
            ("pending", "active"),
            ("proposed", "active"),
            ("waitlist", "active"),
            ("cancelled", "revoked"),
            ("noshow", "active"),
            ("fulfilled", "completed"),
            ("arrived", "active"),
            ("checked-in", "active"),
            ("entered-in-error", "entered-in-error"),
        ] {
            assert_eq!(request_status(appointment), request, "{appointment}");
        }
    }
}
