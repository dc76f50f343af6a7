//! IN1 -> Coverage with its payor Organization (IG IN1[Coverage]).
//!
//! IN1-3/4/5 the payor Organization (identifier, name, address); IN1-2
//! the plan, as a `class` of type `plan`; IN1-10/11 the policy holder
//! Organization (the insured's group employer) with IN1-10 also as the
//! subscriber id; IN1-12/13 the period; IN1-15 the type; IN1-16/17 the
//! subscriber (the Patient when IN1-17 is `SEL`, else a RelatedPerson with
//! that name and relationship); IN1-36 the policy number as identifier;
//! IN1-49 the insured's id as subscriber id. The subscriber id uses the
//! R5 element through the IG's cross-version extension. The payor is
//! required: an IN1 without IN1-3/IN1-4 is reported whole.

use super::ctx::{comps, txt, Ctx, Key, Seg, ALL};
use super::json::{concept, extend, push, set, set_opt, Json, Obj};
use super::{cwe, cx, dates, xad, xon, xpn};

/// The IG's cross-version extension for Coverage.subscriberId (R5).
const SUBSCRIBER_ID: &str = "http://hl7.org/fhir/5.0/StructureDefinition/extension-subscriberId";

fn key<'a>(seg: &Seg<'a>, what: &str) -> String {
    format!("{}|{}|{what}", seg.name(), seg.index())
}

/// Maps IN1.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    ctx.coverage = None;
    let Some(patient) = ctx.patient else { return };
    seg.mark(1, ALL);
    let company = seg.take_c(3, cx::MASK);
    let at3 = seg.at(3);
    let company_id = cx::identifier(ctx, company.repetition(1), at3);
    let name = txt(seg.take_c(4, comps(&[1])).component(1));
    if company_id.is_none() && name.is_none() {
        // payor is required: without one, leave the segment to the report
        ctx.not_mapped(seg.at(0), "IN1 without insurance company (IN1-3/IN1-4)");
        return;
    }
    let mut org = Obj::new();
    if let Some(i) = &company_id {
        push(&mut org, "identifier", i.json.clone());
    }
    set_opt(&mut org, "name", name);
    let at = seg.at(5);
    let addresses = xad::addresses(ctx, seg.take_c(5, xad::MASK), at);
    extend(&mut org, "address", addresses);
    let org_idx = match company_id
        .as_ref()
        .and_then(|i| i.system.clone().map(|s| (s, i.value.clone())))
    {
        Some((s, v)) => ctx.add("Organization", Key::Ident(&s, &v), org),
        None => ctx.add(
            "Organization",
            Key::Pos(&format!("IN1-3|{}", seg.index())),
            org,
        ),
    };
    let mut c = Obj::new();
    if let Some(pn) = seg.text(36) {
        let mut i = Obj::new();
        set(&mut i, "value", pn);
        push(&mut c, "identifier", i);
    }
    set(&mut c, "status", "active");
    let at = seg.at(15);
    set_opt(
        &mut c,
        "type",
        cwe::concept_of(ctx, seg.take_c(15, cwe::MASK), at),
    );
    holder(ctx, seg, &mut c);
    let related = subscriber(ctx, seg, &mut c, patient);
    set(&mut c, "beneficiary", ctx.reference(patient));
    let at = seg.at(17);
    set_opt(
        &mut c,
        "relationship",
        cwe::concept_of(ctx, seg.take_c(17, cwe::MASK), at),
    );
    let at = seg.at(12);
    let (s, e) = (seg.take(12), seg.take(13));
    set_opt(&mut c, "period", dates::period(ctx, s, e, at));
    push(&mut c, "payor", ctx.reference(org_idx));
    let plan = seg.take_c(2, cwe::MASK);
    if let Some(code) = txt(plan.component(1)) {
        let mut cl = Obj::new();
        set(
            &mut cl,
            "type",
            concept(
                "http://terminology.hl7.org/CodeSystem/coverage-class",
                "plan",
                None,
            ),
        );
        set(&mut cl, "value", code);
        set_opt(&mut cl, "name", txt(plan.component(2)));
        push(&mut c, "class", cl);
    }
    let cov = ctx.add(
        "Coverage",
        Key::Pos(&format!("{}|{}", seg.name(), seg.index())),
        c,
    );
    ctx.coverage = Some((cov, related));
}

/// IN1-10/11: the insured's group employer as policyHolder; IN1-10 also
/// as a subscriber id (IG rows 10 and 11).
fn holder<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>, c: &mut Obj<'a>) {
    let at = seg.at(10);
    let ids = cx::identifiers(ctx, seg.take_c(10, cx::MASK), at);
    for i in &ids {
        push(c, "extension", subscriber_id(i.json.clone()));
    }
    let employer = seg.take_c(11, xon::MASK);
    let name = txt(employer.component(1));
    if name.is_none() && ids.is_empty() {
        return;
    }
    let mut org = Obj::new();
    for i in &ids {
        push(&mut org, "identifier", i.json.clone());
    }
    set_opt(&mut org, "name", name);
    let o = ctx.add("Organization", Key::Pos(&key(seg, "holder")), org);
    set(c, "policyHolder", ctx.reference(o));
}

/// IN1-16/17/49: the subscriber, and IN1-49 as a subscriber id; the
/// RelatedPerson entry when the subscriber is not the patient.
fn subscriber<'a>(
    ctx: &mut Ctx<'_, 'a>,
    seg: &mut Seg<'a>,
    c: &mut Obj<'a>,
    patient: usize,
) -> Option<usize> {
    let at = seg.at(49);
    for i in cx::identifiers(ctx, seg.take_c(49, cx::MASK), at) {
        push(c, "extension", subscriber_id(i.json));
    }
    let rel = txt(seg.peek(17).component(1));
    if rel.as_deref() == Some("SEL") {
        // the patient is the insured: IN1-16 repeats the patient's name
        seg.mark(16, ALL);
        set(c, "subscriber", ctx.reference(patient));
        return None;
    }
    let at = seg.at(16);
    let names = xpn::names(ctx, seg.take_c(16, xpn::MASK), at);
    if names.is_empty() {
        return None;
    }
    let mut r = Obj::new();
    set(&mut r, "patient", ctx.reference(patient));
    let at = seg.at(17);
    if let Some(k) = cwe::mapped_concept(ctx, "relationship", seg.peek(17), at) {
        push(&mut r, "relationship", k);
    }
    extend(&mut r, "name", names);
    let p = ctx.add("RelatedPerson", Key::Pos(&key(seg, "subscriber")), r);
    set(c, "subscriber", ctx.reference(p));
    Some(p)
}

fn subscriber_id<'a>(ident: Json<'a>) -> Json<'a> {
    let mut e = Obj::with_capacity(2);
    set(&mut e, "url", SUBSCRIBER_ID);
    set(&mut e, "valueIdentifier", ident);
    Json::Object(e)
}
