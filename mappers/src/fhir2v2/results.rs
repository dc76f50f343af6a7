//! The ORU^R01 order observation groups: DiagnosticReport -> OBR (IG
//! OBR[DiagnosticReport] in reverse) with its results as OBX, its
//! conclusion as NTE and its specimens as SPM; an Observation outside any
//! report gets an OBR of its own (OBR-4 its code), its members and
//! components beneath.

use serde_json::Value;

use super::ctx::{s, Ctx};
use super::dt;
use super::er7::{Rep, Seg};
use super::error::FhirV2Error;
use super::lengths::{coded_components, segment_exists};
use super::obx;

const PLAC: &str = "PLAC";

/// An ORC for an OBR without a ServiceRequest: RE (observations to
/// follow) and the OBR's numbers. ORC is optional in ORU^R01, but receivers
/// (and the v2.7+ structure, whose OBX may else start an order document)
/// expect one per order.
fn plain_orc(obr: &Seg) -> Seg {
    let mut orc = Seg::new("ORC");
    orc.set(1, "RE");
    for seq in [2, 3] {
        if let Some(r) = obr.field(seq).first() {
            orc.rep(seq, r.clone());
        }
    }
    orc
}

/// The order observation groups of an ORU^R01, after the patient group.
pub fn groups(ctx: &mut Ctx<'_, '_>, out: &mut Vec<Seg>) -> Result<(), FhirV2Error> {
    let mut obr_id = 1;
    for d in ctx.res.of_kind("DiagnosticReport") {
        report(ctx, d, obr_id, out)?;
        obr_id += 1;
    }
    for o in ctx.res.of_kind("Observation") {
        if ctx.is_included(o) {
            continue;
        }
        standalone(ctx, o, obr_id, out)?;
        obr_id += 1;
    }
    Ok(())
}

/// OBR-2 from a ServiceRequest's identifiers (the placer's, typed PLAC,
/// else the first).
fn placer(ctx: &mut Ctx<'_, '_>, sr: usize) -> Option<Rep> {
    let ids = ctx.arr(sr, "identifier");
    let id = dt::typed(ids, PLAC).or_else(|| ids.first())?;
    dt::ei(ctx.cfg, id)
}

/// The ServiceRequest a `basedOn` list names, when it is in the input.
fn based_on(ctx: &mut Ctx<'_, '_>, i: usize) -> Option<usize> {
    let refs = ctx.arr(i, "basedOn");
    let found = refs
        .iter()
        .filter_map(|r| ctx.resolve(i, r))
        .find(|t| ctx.kind(*t) == "ServiceRequest");
    if found.is_none() && !refs.is_empty() {
        let p = ctx.path(i, "basedOn");
        ctx.not_mapped(p, "the order is not in the input: OBR-2 left empty");
    }
    found
}

fn report(
    ctx: &mut Ctx<'_, '_>,
    d: usize,
    set_id: usize,
    out: &mut Vec<Seg>,
) -> Result<(), FhirV2Error> {
    let base = ctx.res.list[d].path.clone();
    let ver = ctx.version();
    let mut seg = Seg::new("OBR");
    seg.set(1, set_id.to_string());
    let _ = ctx.get(d, "subject");
    let _ = ctx.get(d, "encounter");
    let sr = based_on(ctx, d);
    let orc_at = out.len();
    if let Some(sr) = sr {
        // the order the report answers: ORC (RE, observations to follow)
        // and the OBR's placer number, requester and reasons
        let o = super::order::orc(ctx, sr, Some("RE"), true);
        out.push(o.seg);
        seg.opt_rep(2, o.placer);
        seg.opt_rep(16, o.requester);
        let _ = ctx.get(sr, "code"); // the OBR-4 the report repeats
        super::order::reasons(ctx, sr, &mut seg);
    }
    let ids = ctx.arr(d, "identifier");
    if let Some(id) = dt::typed(ids, "FILL").or_else(|| ids.first()) {
        seg.opt_rep(3, dt::ei(ctx.cfg, id));
    }
    if out.len() == orc_at {
        out.push(plain_orc(&seg));
    }
    if ids.len() > 1 {
        ctx.not_mapped(
            format!("{base}.identifier[1]"),
            "OBR-3 holds one filler number",
        );
    }
    let code = ctx.require(d, "code", "OBR-4")?;
    let comps = coded_components(ver, "OBR", 4);
    seg.rep(4, dt::cwe(ctx, code, &format!("{base}.code"), comps));
    match ctx.choice(d, &["effectiveDateTime", "effectivePeriod"]) {
        Some(("effectivePeriod", p)) => {
            seg.opt(
                7,
                dt::dtm_at(ctx, p, "start", &format!("{base}.effectivePeriod")),
            );
            seg.opt(
                8,
                dt::dtm_at(ctx, p, "end", &format!("{base}.effectivePeriod")),
            );
        }
        Some((_, t)) => seg.opt(7, t.as_str().and_then(dt::dtm)),
        None => {}
    }
    seg.opt(22, dt::dtm_of(ctx, d, "issued"));
    let cats = ctx.arr(d, "category");
    for (n, c) in cats.iter().enumerate() {
        match dt::code_in(c, Some("http://terminology.hl7.org/CodeSystem/v2-0074")) {
            Some(code) if seg.field(24).is_empty() => seg.set(24, code),
            _ => ctx.not_mapped(
                format!("{base}.category[{n}]"),
                "OBR-24 takes one v2 table 0074 section",
            ),
        }
    }
    if let Some(st) = ctx.str(d, "status") {
        let path = ctx.path(d, "status");
        let code = match st {
            "amended" | "appended" => Some("C".to_owned()),
            other => dt::table_code(ctx, "report-status", other, &path, false),
        };
        seg.opt(25, code);
    }
    out.push(seg);
    if let Some(c) = ctx.str(d, "conclusion") {
        out.push(obx::nte(1, c));
    }
    let mut obx_id = 1;
    let results = ctx.arr(d, "result");
    for (n, r) in results.iter().enumerate() {
        match ctx.resolve(d, r).filter(|o| ctx.kind(*o) == "Observation") {
            Some(o) => observation(ctx, o, &mut obx_id, out)?,
            None => ctx.not_mapped(
                format!("{base}.result[{n}]"),
                "result not in the input: no OBX written for it",
            ),
        }
    }
    let specimens = ctx.arr(d, "specimen");
    specimens_into(ctx, d, specimens, &format!("{base}.specimen"), out);
    Ok(())
}

/// The OBX rows of `o` and of its members (a panel without a value gives
/// no row of its own).
fn observation(
    ctx: &mut Ctx<'_, '_>,
    o: usize,
    obx_id: &mut usize,
    out: &mut Vec<Seg>,
) -> Result<(), FhirV2Error> {
    ctx.include(o);
    let members: Vec<usize> = ctx
        .arr(o, "hasMember")
        .iter()
        .filter_map(|m| ctx.resolve(o, m))
        .filter(|m| ctx.kind(*m) == "Observation")
        .collect();
    let has_value = obx::VALUES
        .iter()
        .any(|k| ctx.res.list[o].value.get(*k).is_some())
        || ctx.res.list[o].value.get("component").is_some();
    if has_value || members.is_empty() {
        obx::obx(ctx, o, obx_id, out)?;
    } else {
        // the panel is the OBR; its own code and status are there
        let _ = ctx.get(o, "code");
        let _ = ctx.get(o, "status");
        obx::notes(ctx, o, out);
    }
    for m in members {
        if !ctx.is_included(m) {
            observation(ctx, m, obx_id, out)?;
        }
    }
    Ok(())
}

fn standalone(
    ctx: &mut Ctx<'_, '_>,
    o: usize,
    set_id: usize,
    out: &mut Vec<Seg>,
) -> Result<(), FhirV2Error> {
    let base = ctx.res.list[o].path.clone();
    let ver = ctx.version();
    let code = ctx.require(o, "code", "OBR-4")?;
    let mut seg = Seg::new("OBR");
    seg.set(1, set_id.to_string());
    if let Some(sr) = based_on(ctx, o) {
        ctx.include(sr);
        seg.opt_rep(2, placer(ctx, sr));
    }
    let comps = coded_components(ver, "OBR", 4);
    seg.rep(4, dt::cwe(ctx, code, &format!("{base}.code"), comps));
    let eff = ctx.res.list[o]
        .value
        .get("effectiveDateTime")
        .and_then(Value::as_str)
        .and_then(dt::dtm);
    seg.opt(7, eff);
    let st = ctx.res.list[o].value.get("status").and_then(Value::as_str);
    let obr25 = st.and_then(|s| super::codes::v2_code("observation-status", s));
    seg.opt(25, obr25.filter(|c| matches!(*c, "F" | "P" | "C" | "X")));
    out.push(plain_orc(&seg));
    out.push(seg);
    let mut obx_id = 1;
    observation(ctx, o, &mut obx_id, out)?;
    let specimens = ctx.arr(o, "specimen");
    specimens_into(ctx, o, specimens, &format!("{base}.specimen"), out);
    Ok(())
}

fn specimens_into(
    ctx: &mut Ctx<'_, '_>,
    from: usize,
    refs: &[Value],
    path: &str,
    out: &mut Vec<Seg>,
) {
    let v = ctx.version();
    for (n, r) in refs.iter().enumerate() {
        let Some(sp) = ctx.resolve(from, r).filter(|t| ctx.kind(*t) == "Specimen") else {
            ctx.not_mapped(format!("{path}[{n}]"), "specimen not in the input");
            continue;
        };
        if ctx.is_included(sp) {
            continue;
        }
        if !segment_exists(v, "SPM") {
            ctx.not_mapped(format!("{path}[{n}]"), "SPM came with v2.5");
            continue;
        }
        let set_id = out.iter().filter(|s| s.name == "SPM").count() + 1;
        out.push(spm(ctx, sp, set_id));
    }
}

/// SPM from Specimen `sp` (IG SPM[Specimen] in reverse).
pub fn spm(ctx: &mut Ctx<'_, '_>, sp: usize, set_id: usize) -> Seg {
    let base = ctx.res.list[sp].path.clone();
    let v = ctx.version();
    let mut seg = Seg::new("SPM");
    seg.set(1, set_id.to_string());
    let _ = ctx.get(sp, "subject");
    let _ = ctx.get(sp, "request");
    let mut ids: Vec<&Value> = ctx.arr(sp, "identifier").iter().collect();
    if let Some(a) = ctx.get(sp, "accessionIdentifier") {
        ids.push(a);
    }
    let mut eip = Rep::default();
    let plac = ids
        .iter()
        .position(|i| dt::code_in(i.get("type").unwrap_or(&Value::Null), None) == Some(PLAC));
    let fill = (0..ids.len()).find(|k| Some(*k) != plac);
    for (comp, idx) in [(1, plac), (2, fill)] {
        if let Some(e) = idx.and_then(|k| dt::ei(ctx.cfg, ids[k])) {
            for (sub, c) in e.0.iter().enumerate() {
                if let Some(t) = c.first() {
                    eip.set_sub(comp, sub + 1, t.clone());
                }
            }
        }
    }
    if ids.len() > 2 {
        ctx.not_mapped(
            format!("{base}.identifier"),
            "SPM-2 holds a placer and a filler id",
        );
    }
    seg.rep(2, eip);
    match ctx.get(sp, "type") {
        Some(t) => {
            let comps = coded_components(v, "SPM", 4);
            seg.rep(4, dt::cwe(ctx, t, &format!("{base}.type"), comps));
        }
        None => {
            // SPM-4 is required: the null flavour says the type is unknown
            let mut r = Rep::default();
            r.set(1, "UNK");
            r.set(2, "unknown");
            r.set(3, "NULLFL");
            seg.rep(4, r);
            ctx.warn(
                format!("{base}.type"),
                "no specimen type: SPM-4 sent as UNK",
            );
        }
    }
    if let Some(c) = ctx.get(sp, "collection") {
        let cpath = format!("{base}.collection");
        if let Some(m) = c.get("method") {
            let comps = coded_components(v, "SPM", 7);
            seg.rep(7, dt::cwe(ctx, m, &format!("{cpath}.method"), comps));
        }
        if let Some(b) = c.get("bodySite") {
            let comps = coded_components(v, "SPM", 8);
            seg.rep(8, dt::cwe(ctx, b, &format!("{cpath}.bodySite"), comps));
        }
        let mut dr = Rep::default();
        if let Some(t) = s(c, "collectedDateTime").and_then(dt::dtm) {
            dr.set(1, t);
        } else if let Some(p) = c.get("collectedPeriod") {
            dr.opt(1, dt::dtm_at(ctx, p, "start", &cpath));
            dr.opt(2, dt::dtm_at(ctx, p, "end", &cpath));
        }
        seg.rep(17, dr);
        if let Some(o) = c.as_object() {
            let known = ["method", "bodySite", "collectedDateTime", "collectedPeriod"];
            for k in o.keys().filter(|k| !known.contains(&k.as_str())) {
                ctx.not_mapped(format!("{cpath}.{k}"), "no v2 field takes it");
            }
        }
    }
    seg.opt(18, dt::dtm_of(ctx, sp, "receivedTime"));
    seg
}
