//! ServiceRequest -> ORC + OBR (+ TQ1 in OML^O21) for ORM^O01 and
//! OML^O21: IG ORC[ServiceRequest] and OBR[ServiceRequest] in reverse.

use super::config::Version;
use super::ctx::Ctx;
use super::dt;
use super::er7::{Rep, Seg};
use super::error::FhirV2Error;
use super::lengths::{coded_components, segment_exists};
use super::obx;

/// ORC-1 for a request status: a new order while it is active (or a
/// draft), else the request that moves it to its state. The IG's
/// OrderControlCode[ServiceRequest.status] map is one-to-many in reverse
/// (AF, CA, HD... all give `active`), so the sender's intent is chosen
/// here, not read from the table.
fn order_control(status: &str) -> &'static str {
    match status {
        "on-hold" => "HD",
        "revoked" | "entered-in-error" => "CA",
        "completed" => "SC",
        _ => "NW",
    }
}

/// The ORC of ServiceRequest `sr` and what the OBR beside it repeats.
#[derive(Debug)]
pub struct Orc {
    /// The segment.
    pub seg: Seg,
    /// ORC-2, the placer number (OBR-2 too).
    pub placer: Option<Rep>,
    /// ORC-3, the filler number (OBR-3 too).
    pub filler: Option<Rep>,
    /// ORC-12, the ordering provider (OBR-16 too).
    pub requester: Option<Rep>,
    /// The priority, as a table 0485 code.
    pub priority: Option<String>,
}

/// ORC from ServiceRequest `sr` (IG ORC[ServiceRequest] in reverse):
/// ORC-1 `control` or the one its status asks for, 2/3 the placer and
/// filler numbers, 4 the requisition, 5 the status, 7 the priority (TQ,
/// when `tq_priority`), 9 authored, 12 the requester.
pub fn orc(
    ctx: &mut Ctx<'_, '_>,
    sr: usize,
    control: Option<&'static str>,
    tq_priority: bool,
) -> Orc {
    let base = ctx.res.list[sr].path.clone();
    let v = ctx.version();
    let _ = ctx.get(sr, "subject");
    let _ = ctx.get(sr, "encounter");
    let _ = ctx.get(sr, "intent"); // an order message carries orders
    let status = ctx.str(sr, "status").unwrap_or("active");
    let mut seg = Seg::new("ORC");
    seg.set(1, control.unwrap_or_else(|| order_control(status)));
    let ids = ctx.arr(sr, "identifier");
    let placer = dt::typed(ids, "PLAC").or_else(|| {
        ids.iter()
            .find(|i| i.get("type").and_then(|t| dt::code_in(t, None)) != Some("FILL"))
    });
    let filler = dt::typed(ids, "FILL");
    let placer = placer.and_then(|i| dt::ei(ctx.cfg, i));
    let filler = filler.and_then(|i| dt::ei(ctx.cfg, i));
    seg.opt_rep(2, placer.clone());
    seg.opt_rep(3, filler.clone());
    if ids.len() > 2 {
        ctx.not_mapped(
            format!("{base}.identifier"),
            "ORC and OBR hold a placer and a filler number",
        );
    }
    if let Some(r) = ctx.get(sr, "requisition") {
        seg.opt_rep(4, dt::ei(ctx.cfg, r));
    }
    let p = ctx.path(sr, "status");
    if let Some(code) = dt::table_code(ctx, "order-status", status, &p, false) {
        seg.set(5, code);
    }
    let priority = ctx.str(sr, "priority").and_then(|pr| {
        let p = ctx.path(sr, "priority");
        dt::table_code(ctx, "request-priority", pr, &p, false)
    });
    if let Some(pr) = &priority {
        if tq_priority && !v.at_least(Version::V27) {
            // ORC-7 quantity/timing (TQ), component 6 the priority
            let mut tq = Rep::default();
            tq.set(6, pr.clone());
            seg.rep(7, tq);
        }
    }
    seg.opt(9, dt::dtm_of(ctx, sr, "authoredOn"));
    let requester = ctx.get(sr, "requester").and_then(|r| {
        let p = ctx.path(sr, "requester");
        dt::xcn(ctx, sr, r, &p)
    });
    seg.opt_rep(12, requester.clone());
    Orc {
        seg,
        placer,
        filler,
        requester,
        priority,
    }
}

/// OBR-31 from the request's reasons.
pub fn reasons(ctx: &mut Ctx<'_, '_>, sr: usize, obr: &mut Seg) {
    let base = ctx.res.list[sr].path.clone();
    let v = ctx.version();
    let reasons = ctx.arr(sr, "reasonCode");
    for (n, r) in reasons.iter().enumerate() {
        let comps = coded_components(v, "OBR", 31);
        obr.push(
            31,
            dt::cwe(ctx, r, &format!("{base}.reasonCode[{n}]"), comps),
        );
    }
}

/// The order group of ServiceRequest `sr`: ORC, TQ1 (`timing`), OBR, NTE.
pub fn group(
    ctx: &mut Ctx<'_, '_>,
    sr: usize,
    set_id: usize,
    timing: bool,
    out: &mut Vec<Seg>,
) -> Result<(), FhirV2Error> {
    let base = ctx.res.list[sr].path.clone();
    let v = ctx.version();
    let with_tq1 = timing && segment_exists(v, "TQ1");
    let o = orc(ctx, sr, None, !with_tq1);
    out.push(o.seg);
    if with_tq1 {
        if let Some(pr) = &o.priority {
            let mut tq1 = Seg::new("TQ1");
            tq1.set(1, "1");
            let mut r = Rep::default();
            r.set(1, pr.clone());
            r.set(3, "HL70485");
            tq1.rep(9, r);
            out.push(tq1);
        }
    }
    let mut obr = Seg::new("OBR");
    obr.set(1, set_id.to_string());
    obr.opt_rep(2, o.placer);
    obr.opt_rep(3, o.filler);
    let code = ctx.require(sr, "code", "OBR-4")?;
    let comps = coded_components(v, "OBR", 4);
    obr.rep(4, dt::cwe(ctx, code, &format!("{base}.code"), comps));
    if let Some((k, val)) = ctx.choice(sr, &["occurrenceDateTime", "occurrencePeriod"]) {
        match k {
            "occurrencePeriod" => obr.opt(7, dt::dtm_at(ctx, val, "start", &format!("{base}.{k}"))),
            _ => obr.opt(7, val.as_str().and_then(dt::dtm)),
        }
    }
    obr.opt_rep(16, o.requester);
    reasons(ctx, sr, &mut obr);
    out.push(obr);
    obx::notes(ctx, sr, out);
    Ok(())
}
