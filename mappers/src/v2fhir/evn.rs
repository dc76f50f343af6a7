//! EVN -> Provenance (IG EVN[Provenance]): EVN-2 recorded, EVN-4 reason,
//! EVN-5 operator as agent, EVN-6 occurred. Target is the MessageHeader.
//! FHIR requires an agent and a recorded instant; without EVN-5 the sending
//! facility (MSH-4) is the agent, without EVN-2 the message time (MSH-7).
//! When neither exists no Provenance is made and the fields are reported.

use super::json::Json;

use super::ctx::{Ctx, Key, Seg, ALL};
use super::cwe;
use super::dates;
use super::dtm::Dtm;
use super::json::{push, set, set_opt, Obj};
use super::xcn;

/// Maps EVN.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(header) = ctx.header else { return };
    let sender = ctx.entries[header].resource.get("sender").cloned();
    let recorded_ok = super::ctx::txt(seg.peek(2).component(1))
        .and_then(|s| {
            Dtm::parse(&s).map(|d| d.instant(ctx.cfg.default_timezone.as_deref()).is_ok())
        })
        .unwrap_or(false);
    if (!seg.peek(5).has_value() && sender.is_none()) || (!recorded_ok && ctx.timestamp.is_none()) {
        return;
    }
    let at = seg.at(5);
    let v = seg.take_c(5, xcn::MASK);
    let agent_who = match xcn::practitioner(ctx, v.repetition(1), at) {
        Some(p) => ctx.reference(p),
        None => match sender {
            Some(s) => s,
            None => return,
        },
    };
    let mut p = Obj::new();
    push(&mut p, "target", ctx.reference(header));
    let at = seg.at(6);
    set_opt(
        &mut p,
        "occurredDateTime",
        dates::date_time(ctx, seg.take(6), at),
    );
    let at = seg.at(2);
    let recorded = if recorded_ok {
        dates::instant(ctx, seg.take(2), at)
    } else {
        None
    };
    if let Some(r) = recorded.or_else(|| ctx.timestamp.clone()) {
        set(&mut p, "recorded", r);
    }
    let at = seg.at(4);
    if let Some(r) = cwe::concept_of(ctx, seg.take_c(4, cwe::MASK), at) {
        push(&mut p, "reason", r);
    }
    let mut agent = Obj::new();
    set(&mut agent, "who", agent_who);
    push(&mut p, "agent", Json::Object(agent));
    seg.mark(1, ALL); // event type code: repeats MSH-9-2
    let disc = format!("EVN|{}", seg.index());
    ctx.add("Provenance", Key::Pos(&disc), p);
}
