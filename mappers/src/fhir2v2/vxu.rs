//! Immunization -> ORC, RXA, RXR and OBX (IG RXA[Immunization],
//! RXR[Immunization] in reverse; the OBX rows are the CDC immunization
//! guide's funding source and dose number observations).

use serde_json::Value;

use super::config::Version;
use super::ctx::{list, s, Ctx};
use super::dt;
use super::er7::{Rep, Seg};
use super::error::FhirV2Error;
use super::lengths::coded_components;

const NIP001: &str = "NIP001";
const REPORT_ORIGIN: &str = "urn:oid:2.16.840.1.114222.4.5.274";
const MVX: &str = "http://terminology.hl7.org/CodeSystem/MVX";

/// The order group of Immunization `im`: ORC, RXA, RXR, OBX.
pub fn group(ctx: &mut Ctx<'_, '_>, im: usize, out: &mut Vec<Seg>) -> Result<(), FhirV2Error> {
    let base = ctx.res.list[im].path.clone();
    let v = ctx.version();
    let _ = ctx.get(im, "patient");
    let _ = ctx.get(im, "encounter");
    // ORC: RE (observations to follow), ORC-3 the immunization's id
    let mut orc = Seg::new("ORC");
    orc.set(1, "RE");
    let ids = ctx.arr(im, "identifier");
    if let Some(id) = ids.first() {
        orc.opt_rep(3, dt::ei(ctx.cfg, id));
    }
    if ids.len() > 1 {
        ctx.not_mapped(
            format!("{base}.identifier[1]"),
            "ORC-3 holds one filler number",
        );
    }
    let mut rxa = Seg::new("RXA");
    rxa.set(1, "0");
    rxa.set(2, "1");
    let when = ctx
        .choice(im, &["occurrenceDateTime", "occurrenceString"])
        .ok_or_else(|| FhirV2Error::MissingElement {
            path: format!("{base}.occurrence[x]"),
            field: "RXA-3",
            message: ctx.message.to_owned(),
        })?;
    match when {
        ("occurrenceDateTime", t) => {
            let d = t
                .as_str()
                .and_then(dt::dtm)
                .ok_or_else(|| FhirV2Error::MissingElement {
                    path: format!("{base}.occurrenceDateTime"),
                    field: "RXA-3",
                    message: ctx.message.to_owned(),
                })?;
            // RXA-4 (required) the end of administration: the same time
            rxa.set(4, d.clone());
            rxa.set(3, d);
        }
        _ => {
            return Err(FhirV2Error::MissingElement {
                path: format!("{base}.occurrenceDateTime"),
                field: "RXA-3 (a date; occurrenceString is no v2 date)",
                message: ctx.message.to_owned(),
            })
        }
    }
    let vaccine = ctx.require(im, "vaccineCode", "RXA-5")?;
    let comps = coded_components(v, "RXA", 5);
    rxa.rep(
        5,
        dt::cwe(ctx, vaccine, &format!("{base}.vaccineCode"), comps),
    );
    match ctx.get(im, "doseQuantity") {
        Some(q) => {
            rxa.set(
                6,
                q.get("value")
                    .and_then(dt::number)
                    .unwrap_or_else(|| "999".into()),
            );
            let units = dt::units(ctx, q, &format!("{base}.doseQuantity"));
            rxa.opt_rep(7, units);
        }
        // RXA-6 is required; 999 is the CDC guide's "amount unknown"
        None => rxa.set(6, "999"),
    }
    match ctx.get(im, "primarySource").and_then(Value::as_bool) {
        Some(true) => {
            let mut r = Rep::default();
            r.set(1, "00");
            r.set(2, "New immunization record");
            r.set(3, NIP001);
            rxa.push(9, r);
        }
        Some(false) => {
            let origin = ctx.get(im, "reportOrigin");
            let code = origin.and_then(|o| dt::code_in(o, Some(REPORT_ORIGIN)));
            let mut r = Rep::default();
            r.set(1, code.unwrap_or("01"));
            r.set(
                2,
                origin
                    .and_then(|o| list(o, "coding").first().and_then(|c| s(c, "display")))
                    .unwrap_or(if code.is_none() {
                        "Historical information - source unspecified"
                    } else {
                        ""
                    }),
            );
            r.set(3, NIP001);
            rxa.push(9, r);
        }
        None => {}
    }
    let notes = ctx.arr(im, "note");
    for n in notes {
        if let Some(t) = s(n, "text") {
            let mut r = Rep::default();
            r.set(2, t);
            rxa.push(9, r);
        }
    }
    let mut orderer = None;
    let performers = ctx.arr(im, "performer");
    for (n, p) in performers.iter().enumerate() {
        let path = format!("{base}.performer[{n}]");
        let func = p.get("function").and_then(|f| dt::code_in(f, None));
        let Some(actor) = p.get("actor") else {
            continue;
        };
        let x = dt::xcn(ctx, im, actor, &format!("{path}.actor"));
        match func {
            Some("OP") => orderer = orderer.or(x),
            _ if rxa.field(10).is_empty() => rxa.opt_rep(10, x),
            _ => ctx.not_mapped(path, "RXA-10 holds one administering provider"),
        }
    }
    orc.opt_rep(12, orderer);
    rxa.opt(15, ctx.str(im, "lotNumber"));
    rxa.opt(16, dt::dtm_of(ctx, im, "expirationDate"));
    if let Some(m) = ctx.get(im, "manufacturer") {
        let mut r = Rep::default();
        match ctx.resolve(im, m) {
            Some(o) => {
                ctx.include(o);
                let ids = ctx.arr(o, "identifier");
                let code = ids
                    .iter()
                    .find(|i| s(i, "system") == Some(MVX))
                    .and_then(|i| s(i, "value"));
                r.opt(1, code);
                r.opt(2, ctx.str(o, "name"));
                if code.is_some() {
                    r.set(3, "MVX");
                }
            }
            None => r.opt(2, s(m, "display")),
        }
        rxa.rep(17, r);
    }
    if let Some(sr) = ctx.get(im, "statusReason") {
        let comps = coded_components(v, "RXA", 18);
        rxa.rep(18, dt::cwe(ctx, sr, &format!("{base}.statusReason"), comps));
    }
    let reasons = ctx.arr(im, "reasonCode");
    for (n, r) in reasons.iter().enumerate() {
        let comps = coded_components(v, "RXA", 19);
        rxa.push(
            19,
            dt::cwe(ctx, r, &format!("{base}.reasonCode[{n}]"), comps),
        );
    }
    let status = ctx.str(im, "status").unwrap_or("completed");
    match status {
        "entered-in-error" => {
            rxa.set(20, "CP");
            rxa.set(21, "D");
        }
        other => {
            let p = ctx.path(im, "status");
            rxa.opt(
                20,
                dt::table_code(ctx, "immunization-status", other, &p, false),
            );
            rxa.set(21, "A");
        }
    }
    if v.at_least(Version::V25) {
        rxa.opt(22, dt::dtm_of(ctx, im, "recorded"));
    }
    out.push(orc);
    out.push(rxa);
    let route = ctx.get(im, "route");
    let site = ctx.get(im, "site");
    if route.is_some() || site.is_some() {
        let mut rxr = Seg::new("RXR");
        if let Some(r) = route {
            let comps = coded_components(v, "RXR", 1);
            rxr.rep(1, dt::cwe(ctx, r, &format!("{base}.route"), comps));
        }
        if let Some(st) = site {
            let comps = coded_components(v, "RXR", 2);
            rxr.rep(2, dt::cwe(ctx, st, &format!("{base}.site"), comps));
        }
        if rxr.field(1).is_empty() {
            // RXR-1 is required: a site without a route says route unknown
            let mut r = Rep::default();
            r.set(1, "UNK");
            r.set(2, "unknown");
            r.set(3, "NULLFL");
            rxr.rep(1, r);
            ctx.warn(
                format!("{base}.route"),
                "site without a route: RXR-1 sent as UNK",
            );
        }
        out.push(rxr);
    }
    observations(ctx, im, &base, out);
    // the Observations recorded with the administration (partOf it)
    let mut n = out.iter().rev().take_while(|s| s.name == "OBX").count() + 1;
    for o in ctx.res.of_kind("Observation") {
        let part = super::ctx::list(ctx.res.list[o].value, "partOf")
            .iter()
            .any(|r| ctx.resolve(o, r) == Some(im));
        if part && !ctx.is_included(o) {
            let _ = ctx.get(o, "partOf");
            super::obx::obx(ctx, o, &mut n, out)?;
        }
    }
    Ok(())
}

/// OBX rows the CDC guide defines for VXU: 30963-3 funding source and
/// 30973-2 dose number in series.
fn observations(ctx: &mut Ctx<'_, '_>, im: usize, base: &str, out: &mut Vec<Seg>) {
    let v = ctx.version();
    let cwe_kind = if v.at_least(Version::V25) {
        "CWE"
    } else {
        "CE"
    };
    let mut n = 1;
    let mut push = |out: &mut Vec<Seg>, code: (&str, &str), kind: &str, value: Rep| {
        let mut seg = Seg::new("OBX");
        seg.set(1, n.to_string());
        seg.set(2, kind);
        let mut c = Rep::default();
        c.set(1, code.0);
        c.set(2, code.1);
        c.set(3, "LN");
        seg.rep(3, c);
        seg.set(4, "1");
        seg.rep(5, value);
        seg.set(11, "F");
        out.push(seg);
        n += 1;
    };
    if let Some(f) = ctx.get(im, "fundingSource") {
        let comps = if v.at_least(Version::V25) { 9 } else { 6 };
        let r = dt::cwe(ctx, f, &format!("{base}.fundingSource"), comps);
        push(out, ("30963-3", "Vaccine funding source"), cwe_kind, r);
    }
    let protocol = ctx.arr(im, "protocolApplied");
    for (k, p) in protocol.iter().enumerate() {
        let ppath = format!("{base}.protocolApplied[{k}]");
        if let Some(d) = p.get("doseNumberPositiveInt").and_then(dt::number) {
            push(
                out,
                ("30973-2", "Dose number in series"),
                "NM",
                Rep::text(d),
            );
        }
        if let Some(o) = p.as_object() {
            for key in o.keys().filter(|k| *k != "doseNumberPositiveInt") {
                ctx.not_mapped(format!("{ppath}.{key}"), "no v2 field takes it");
            }
        }
    }
}
