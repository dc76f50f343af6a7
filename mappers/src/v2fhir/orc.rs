//! ORC (common order) -> the order context consumed by the OBR or RXA that
//! follows (IG ORC[ServiceRequest], ORC[Immunization]); an ORC that nothing
//! consumes becomes a ServiceRequest of its own. ORC-12 is a
//! PractitionerRole: the provider (XCN[Practitioner]) at the ordering
//! facility (ORC-21/22/23, XON[Organization]).

use super::ctx::{comps, txt, Ctx, Key, Seg};
use super::cx::{self, Ident};
use super::dates;
use super::json::{push, set, set_opt, Obj};
use super::tables;
use super::{xad, xcn, xon, xtn};

/// What an ORC contributes to the resource its group creates.
#[derive(Debug)]
pub struct OrcData<'a> {
    /// ORC-2 placer order number.
    pub placer: Option<Ident<'a>>,
    /// ORC-3 filler order number.
    pub filler: Option<Ident<'a>>,
    /// ORC-4 placer group number.
    pub group: Option<Ident<'a>>,
    /// ServiceRequest.status from ORC-5 (table 0038) or ORC-1 (table 0119).
    pub status: Option<&'static str>,
    /// ORC-9 date/time of transaction.
    pub authored: Option<String>,
    /// ORC-12 ordering provider: the PractitionerRole entry (with the
    /// ORC-21 ordering facility) that `requester` references.
    pub requester: Option<usize>,
    /// Position of the ORC, for positional ids.
    pub index: usize,
    /// The order's TQ1, when one follows the ORC.
    pub timing: Option<super::tq1::Timing<'a>>,
}

/// Maps ORC: flushes a pending one, then records this one.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    flush(ctx);
    let ei = comps(&[1, 2, 3, 4]);
    let placer = cx::entity(ctx, seg.take_c(2, ei), Some("PLAC"));
    let filler = cx::entity(ctx, seg.take_c(3, ei), Some("FILL"));
    let group = cx::entity(ctx, seg.take_c(4, ei), Some("PGN"));
    let mut status = None;
    if let Some(s) = txt(seg.take_c(5, comps(&[1])).component(1)) {
        match tables::lookup("order-status", &s) {
            Some(e) => status = Some(e.code.as_str()),
            None => ctx.not_mapped(seg.at(5), "code not in the v2 table 0038 map"),
        }
    }
    if let Some(c) = txt(seg.take_c(1, comps(&[1])).component(1)) {
        if status.is_none() {
            match tables::lookup("order-control-status", &c) {
                Some(e) => status = Some(e.code.as_str()),
                None if c == "NW" || c == "RE" || c == "SC" => status = Some("active"),
                None => ctx.warn(
                    seg.at(1),
                    "order control code has no ServiceRequest.status in table 0119 map",
                ),
            }
        }
    }
    let at = seg.at(9);
    let authored = dates::date_time(ctx, seg.take(9), at);
    let at = seg.at(12);
    let f = seg.take_c(12, xcn::MASK);
    let requester = xcn::practitioner(ctx, f.repetition(1), at).map(|p| {
        let org = facility(ctx, seg);
        xcn::role(ctx, p, org)
    });
    ctx.orc = Some(OrcData {
        placer,
        filler,
        group,
        status,
        authored,
        requester,
        index: seg.index(),
        timing: None,
    });
}

/// ORC-21/22/23: the ordering facility (IG ORC[ServiceRequest]:
/// requester(PractitionerRole.organization), with its address and
/// telephone), when ORC-12 names a provider.
fn facility<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) -> Option<usize> {
    let name = seg.take_c(21, xon::MASK);
    let org = xon::organization(ctx, name.repetition(1))?;
    let at = seg.at(22);
    let addresses = xad::addresses(ctx, seg.take_c(22, xad::MASK), at);
    let at = seg.at(23);
    let phones = xtn::contacts(ctx, seg.take_c(23, xtn::MASK), Some("work"), at);
    // the same facility named by an earlier ORC already has them
    let res = ctx.res(org);
    if !res.contains_key("address") {
        for a in addresses {
            push(res, "address", a);
        }
    }
    if !res.contains_key("telecom") {
        for p in phones {
            push(res, "telecom", p);
        }
    }
    Some(org)
}

/// Turns an ORC nobody consumed into a ServiceRequest.
pub fn flush<'a>(ctx: &mut Ctx<'_, 'a>) {
    let Some(o) = ctx.orc.take() else { return };
    let Some(patient) = ctx.patient else { return };
    let idx = service_request(ctx, &o, patient);
    if let Some(t) = o.timing {
        super::tq1::apply_service(ctx, idx, t);
    }
    ctx.focus.push(idx);
}

/// The ServiceRequest of an ORC (IG ORC[ServiceRequest]): identifiers,
/// group, status, authored time and requester.
pub fn service_request<'a>(ctx: &mut Ctx<'_, 'a>, o: &OrcData<'a>, patient: usize) -> usize {
    let mut sr = Obj::new();
    let key = [&o.filler, &o.placer]
        .into_iter()
        .flatten()
        .find_map(|i| i.system.clone().map(|s| (s, i.value.clone())));
    for i in [&o.placer, &o.filler].into_iter().flatten() {
        push(&mut sr, "identifier", i.json.clone());
    }
    if let Some(g) = &o.group {
        set(&mut sr, "requisition", g.json.clone());
    }
    set(&mut sr, "status", o.status.unwrap_or("unknown"));
    set(&mut sr, "intent", "order");
    set(&mut sr, "subject", ctx.reference(patient));
    set_opt(&mut sr, "authoredOn", o.authored.clone());
    if let Some(r) = o.requester {
        set(&mut sr, "requester", ctx.reference(r));
    }
    match &key {
        Some((s, v)) => ctx.add("ServiceRequest", Key::Ident(s, v), sr),
        None => ctx.add("ServiceRequest", Key::Pos(&format!("ORC|{}", o.index)), sr),
    }
}
