//! Condition -> DG1 (a diagnosis of the visit) or PRB (a problem-list
//! item); AllergyIntolerance -> AL1 (in ADT) or IAM (ADT^A60). The rows
//! read the v2 -> FHIR maps (`v2fhir::clinical`, `problem`, `iam`) in
//! reverse.

use serde_json::Value;

use super::config::Version;
use super::ctx::{list, s, Ctx};
use super::dt;
use super::er7::{Rep, Seg};
use super::error::FhirV2Error;
use super::lengths::coded_components;

const CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
const VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
const DIAGNOSIS_TYPE: &str = "http://terminology.hl7.org/CodeSystem/v2-0052";

fn code_or_text(
    ctx: &mut Ctx<'_, '_>,
    c: usize,
    seg: &str,
    field: usize,
    base: &str,
) -> Result<Rep, FhirV2Error> {
    let code = ctx.require(c, "code", field_name(seg, field))?;
    let comps = coded_components(ctx.version(), seg, field);
    Ok(dt::cwe(ctx, code, &format!("{base}.code"), comps))
}

fn field_name(seg: &str, field: usize) -> &'static str {
    match (seg, field) {
        ("DG1", 3) => "DG1-3",
        ("PRB", 3) => "PRB-3",
        ("AL1", 3) => "AL1-3",
        ("IAM", 3) => "IAM-3",
        _ => "code",
    }
}

/// DG1 from Condition `c`, numbered `set_id`; `diagnosis_use` is the
/// Encounter.diagnosis.use that names it (DG1-6).
pub fn dg1(
    ctx: &mut Ctx<'_, '_>,
    c: usize,
    set_id: usize,
    diagnosis_use: Option<&str>,
) -> Result<Seg, FhirV2Error> {
    let base = ctx.res.list[c].path.clone();
    let mut seg = Seg::new("DG1");
    seg.set(1, set_id.to_string());
    let _ = ctx.get(c, "subject");
    let _ = ctx.get(c, "encounter");
    let code = code_or_text(ctx, c, "DG1", 3, &base)?;
    seg.rep(3, code);
    seg.opt(5, dt::dtm_of(ctx, c, "onsetDateTime"));
    let kind = match diagnosis_use {
        Some(u) => u.to_owned(),
        None => {
            let ver = ctx
                .get(c, "verificationStatus")
                .and_then(|v| dt::code_in(v, Some(VERIFICATION)));
            // DG1-6 is required: a confirmed diagnosis is final, any other working
            let k = if ver == Some("confirmed") { "F" } else { "W" };
            ctx.warn(
                format!("{base}.verificationStatus"),
                format!("no Encounter.diagnosis use: DG1-6 diagnosis type {k} from the verification status"),
            );
            k.to_owned()
        }
    };
    if coded_components(ctx.version(), "DG1", 6) > 0 {
        let mut r = Rep::default();
        r.set(1, kind);
        r.set(3, "HL70052");
        seg.rep(6, r);
    } else {
        seg.set(6, kind);
    }
    if let Some(a) = ctx.get(c, "asserter") {
        let p = ctx.path(c, "asserter");
        seg.opt_rep(16, dt::xcn(ctx, c, a, &p));
    }
    seg.opt(19, dt::dtm_of(ctx, c, "recordedDate"));
    if ctx.version().at_least(Version::V25) {
        let ids = ctx.arr(c, "identifier");
        if let Some(id) = ids.first() {
            seg.opt_rep(20, dt::ei(ctx.cfg, id));
        }
    }
    Ok(seg)
}

/// The DG1-6 code an Encounter.diagnosis gives Condition `c`, if any.
pub fn diagnosis_use(ctx: &Ctx<'_, '_>, e: usize, c: usize) -> Option<String> {
    list(ctx.res.list[e].value, "diagnosis")
        .iter()
        .find(|d| {
            d.get("condition")
                .and_then(|r| ctx.resolve(e, r))
                .is_some_and(|t| t == c)
        })
        .and_then(|d| d.get("use"))
        .and_then(|u| dt::code_in(u, Some(DIAGNOSIS_TYPE)))
        .map(str::to_owned)
}

/// PRB from Condition `c` (a problem-list item), at `time` when it has no
/// recorded date.
pub fn prb(ctx: &mut Ctx<'_, '_>, c: usize, time: &str) -> Result<Seg, FhirV2Error> {
    let base = ctx.res.list[c].path.clone();
    let mut seg = Seg::new("PRB");
    let _ = ctx.get(c, "subject");
    let _ = ctx.get(c, "encounter");
    let _ = ctx.get(c, "category"); // problem-list-item: the segment says it
    let ver = ctx
        .get(c, "verificationStatus")
        .and_then(|v| dt::code_in(v, Some(VERIFICATION)));
    let deleted = ver == Some("entered-in-error");
    seg.set(1, if deleted { "DE" } else { "AD" });
    let recorded = dt::dtm_of(ctx, c, "recordedDate");
    seg.set(2, recorded.clone().unwrap_or_else(|| time.to_owned()));
    seg.rep(3, code_or_text(ctx, c, "PRB", 3, &base)?);
    // PRB-4 (required) the problem instance: the identifier, else the id
    let ids = ctx.arr(c, "identifier");
    match ids.first().and_then(|id| dt::ei(ctx.cfg, id)) {
        Some(e) => seg.rep(4, e),
        None => {
            let id = ctx
                .str(c, "id")
                .ok_or_else(|| FhirV2Error::MissingElement {
                    path: format!("{base}.identifier"),
                    field: "PRB-4",
                    message: ctx.message.to_owned(),
                })?;
            seg.set(4, id);
        }
    }
    seg.opt(7, recorded);
    if let Some(a) = ctx.choice(c, &["abatementDateTime"]) {
        seg.opt(9, a.1.as_str().and_then(dt::dtm));
    }
    if let Some(v) = ver.filter(|_| !deleted) {
        let mut r = Rep::default();
        r.set(1, v);
        seg.rep(13, r);
    }
    let clinical = ctx
        .get(c, "clinicalStatus")
        .and_then(|v| dt::code_in(v, Some(CLINICAL)));
    if let Some(cs) = clinical {
        let mut r = Rep::default();
        r.set(1, cs);
        seg.rep(14, r);
    }
    match ctx.choice(c, &["onsetDateTime", "onsetString"]) {
        Some(("onsetDateTime", d)) => seg.opt(16, d.as_str().and_then(dt::dtm)),
        Some((_, t)) => seg.opt(17, t.as_str()),
        None => {}
    }
    Ok(seg)
}

/// AL1 from AllergyIntolerance `a` (IG AL1[AllergyIntolerance] in
/// reverse): AL1-2 type, 3 code, 4 severity, 5 reactions, 6 onset.
pub fn al1(ctx: &mut Ctx<'_, '_>, a: usize, set_id: usize) -> Result<Seg, FhirV2Error> {
    let base = ctx.res.list[a].path.clone();
    let mut seg = Seg::new("AL1");
    seg.set(1, set_id.to_string());
    allergy_common(ctx, a, &base, &mut seg, 2, 3, 4, 5)?;
    seg.opt(6, dt::dtm_of(ctx, a, "onsetDateTime"));
    let _ = ctx.get(a, "clinicalStatus"); // AL1 lists current allergies
    Ok(seg)
}

/// IAM from AllergyIntolerance `a` (ADT^A60): as AL1, plus IAM-6 the
/// action, IAM-7 the identifier, IAM-11 onset, IAM-13 reported date.
pub fn iam(ctx: &mut Ctx<'_, '_>, a: usize, set_id: usize) -> Result<Seg, FhirV2Error> {
    let base = ctx.res.list[a].path.clone();
    let mut seg = Seg::new("IAM");
    seg.set(1, set_id.to_string());
    allergy_common(ctx, a, &base, &mut seg, 2, 3, 4, 5)?;
    let ver = ctx
        .get(a, "verificationStatus")
        .and_then(|v| dt::code_in(v, None));
    let _ = ctx.get(a, "clinicalStatus");
    let action = if ver == Some("entered-in-error") {
        "D"
    } else {
        "A"
    };
    let mut r = Rep::default();
    r.set(1, action);
    r.set(3, "HL70323");
    seg.rep(6, r);
    let ids = ctx.arr(a, "identifier");
    match ids.first().and_then(|id| dt::ei(ctx.cfg, id)) {
        Some(e) => seg.rep(7, e),
        None => seg.opt(7, ctx.str(a, "id")),
    }
    seg.opt(11, dt::dtm_of(ctx, a, "onsetDateTime"));
    seg.opt(13, dt::dtm_of(ctx, a, "recordedDate"));
    Ok(seg)
}

#[allow(clippy::too_many_arguments)]
fn allergy_common(
    ctx: &mut Ctx<'_, '_>,
    a: usize,
    base: &str,
    seg: &mut Seg,
    type_f: usize,
    code_f: usize,
    severity_f: usize,
    reaction_f: usize,
) -> Result<(), FhirV2Error> {
    let v = ctx.version();
    let name = seg.name;
    let _ = ctx.get(a, "patient");
    let _ = ctx.get(a, "encounter");
    let cats = ctx.arr(a, "category");
    if let Some(cat) = cats.first().and_then(Value::as_str) {
        let p = format!("{base}.category[0]");
        if let Some(code) = dt::table_code(ctx, "allergy-category", cat, &p, false) {
            let mut r = Rep::default();
            r.set(1, code);
            if coded_components(v, name, type_f) > 0 {
                r.set(3, "HL70127");
            }
            seg.rep(type_f, r);
        }
    }
    if cats.len() > 1 {
        ctx.not_mapped(
            format!("{base}.category[1]"),
            "one allergen type per segment",
        );
    }
    let code = ctx.require(a, "code", field_name(name, code_f))?;
    let comps = coded_components(v, name, code_f);
    seg.rep(code_f, dt::cwe(ctx, code, &format!("{base}.code"), comps));
    if let Some(c) = ctx.str(a, "criticality") {
        let p = ctx.path(a, "criticality");
        if let Some(code) = dt::table_code(ctx, "allergy-criticality", c, &p, false) {
            let mut r = Rep::default();
            r.set(1, code);
            if coded_components(v, name, severity_f) > 0 {
                r.set(3, "HL70128");
            }
            seg.rep(severity_f, r);
        }
    }
    let reactions = ctx.arr(a, "reaction");
    for (n, r) in reactions.iter().enumerate() {
        let rp = format!("{base}.reaction[{n}]");
        for (k, m) in list(r, "manifestation").iter().enumerate() {
            let text = s(m, "text").or_else(|| {
                list(m, "coding")
                    .iter()
                    .find_map(|c| s(c, "display").or_else(|| s(c, "code")))
            });
            match text {
                Some(t) => seg.push(reaction_f, Rep::text(t)),
                None => ctx.not_mapped(
                    format!("{rp}.manifestation[{k}]"),
                    "manifestation without text",
                ),
            }
        }
        if let Some(o) = r.as_object() {
            for key in o.keys().filter(|k| *k != "manifestation") {
                ctx.not_mapped(
                    format!("{rp}.{key}"),
                    "AL1/IAM reactions carry the manifestation only",
                );
            }
        }
    }
    Ok(())
}
