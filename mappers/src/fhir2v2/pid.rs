//! Patient -> PID (IG PID[Patient] in reverse) and PD1 (general
//! practitioners).

use serde_json::Value;

use super::config::Version;
use super::ctx::{list, s, Ctx};
use super::dt;
use super::er7::{Rep, Seg};
use super::error::FhirV2Error;
use super::lengths::coded_components;

const EXT: &str = "http://hl7.org/fhir/StructureDefinition/";
const SSN: &str = "http://hl7.org/fhir/sid/us-ssn";

/// PID from Patient `p`.
pub fn pid(ctx: &mut Ctx<'_, '_>, p: usize) -> Result<Seg, FhirV2Error> {
    let v = ctx.version();
    let base = ctx.res.list[p].path.clone();
    let mut seg = Seg::new("PID");
    seg.set(1, "1");
    let ids = ctx.arr(p, "identifier");
    for (n, id) in ids.iter().enumerate() {
        let path = format!("{base}.identifier[{n}]");
        let is_ssn = s(id, "system") == Some(SSN);
        if is_ssn && !v.at_least(Version::V27) && seg.field(19).is_empty() {
            seg.opt(19, s(id, "value"));
            continue;
        }
        let is_dl = id
            .get("type")
            .and_then(|t| dt::code_in(t, None))
            .is_some_and(|c| c == "DL");
        if is_dl && !v.at_least(Version::V27) && seg.field(20).is_empty() {
            let mut r = Rep::default();
            r.opt(1, s(id, "value"));
            if let Some(sys) = s(id, "system") {
                if let Some(state) = super::codes::local_name(ctx.cfg, sys) {
                    r.set(2, state.trim_start_matches("driver-license-").to_owned());
                }
            }
            r.opt(
                3,
                id.get("period")
                    .and_then(|pp| s(pp, "end"))
                    .and_then(dt::dtm),
            );
            seg.rep(20, r);
            continue;
        }
        if let Some(r) = dt::cx(ctx, id, &path) {
            seg.push(3, r);
        }
    }
    if seg.field(3).is_empty() {
        // PID-3 is required; a patient known only by its resource id
        // keeps that id, and the report says so
        let id = ctx
            .str(p, "id")
            .ok_or_else(|| FhirV2Error::MissingElement {
                path: format!("{base}.identifier"),
                field: "PID-3",
                message: ctx.message.to_owned(),
            })?;
        seg.push(3, bare_id(ctx, id));
        ctx.warn(
            format!("{base}.identifier"),
            "no identifier: PID-3 carries the resource id",
        );
    }
    seg.source(3, format!("{base}.identifier"));
    let names = ctx.arr(p, "name");
    for (n, name) in names.iter().enumerate() {
        let r = dt::xpn(ctx, name, &format!("{base}.name[{n}]"));
        seg.push(5, r);
    }
    if seg.field(5).is_empty() {
        return Err(FhirV2Error::MissingElement {
            path: format!("{base}.name"),
            field: "PID-5",
            message: ctx.message.to_owned(),
        });
    }
    seg.source(5, format!("{base}.name"));
    seg.opt(7, dt::dtm_of(ctx, p, "birthDate"));
    if let Some(ext) = ctx.get(p, "_birthDate") {
        let t = find_ext(ext, "patient-birthTime").and_then(|e| s(e, "valueDateTime"));
        if let Some(t) = t.and_then(dt::dtm) {
            seg.set(7, t);
        }
    }
    if let Some(g) = ctx.str(p, "gender") {
        let path = ctx.path(p, "gender");
        seg.opt(8, dt::table_code(ctx, "gender", g, &path, false));
    }
    let addrs = ctx.arr(p, "address");
    for (n, a) in addrs.iter().enumerate() {
        let r = dt::xad(ctx, a, &format!("{base}.address[{n}]"));
        seg.push(11, r);
    }
    let telecom = ctx.arr(p, "telecom");
    for (n, c) in telecom.iter().enumerate() {
        let work = s(c, "use") == Some("work");
        if let Some(r) = dt::xtn(ctx, c, &format!("{base}.telecom[{n}]")) {
            seg.push(if work { 14 } else { 13 }, r);
        }
    }
    let comms = ctx.arr(p, "communication");
    if let Some(lang) = comms.first().and_then(|c| c.get("language")) {
        let comps = coded_components(v, "PID", 15);
        let r = dt::cwe(
            ctx,
            lang,
            &format!("{base}.communication[0].language"),
            comps,
        );
        seg.rep(15, r);
    }
    if comms.len() > 1 {
        ctx.not_mapped(
            format!("{base}.communication[1]"),
            "PID-15 holds one primary language",
        );
    }
    if let Some(m) = ctx.get(p, "maritalStatus") {
        let path = ctx.path(p, "maritalStatus");
        seg.rep(16, marital(ctx, m, &path));
    }
    match ctx.choice(p, &["multipleBirthInteger", "multipleBirthBoolean"]) {
        Some(("multipleBirthInteger", n)) => {
            seg.set(24, "Y");
            seg.opt(25, dt::number(n));
        }
        Some((_, Value::Bool(b))) => seg.set(24, if *b { "Y" } else { "N" }),
        _ => {}
    }
    match ctx.choice(p, &["deceasedDateTime", "deceasedBoolean"]) {
        Some(("deceasedDateTime", d)) => {
            seg.opt(29, d.as_str().and_then(dt::dtm));
            seg.set(30, "Y");
        }
        Some((_, Value::Bool(b))) => seg.set(30, if *b { "Y" } else { "N" }),
        _ => {}
    }
    extensions(ctx, p, &base, &mut seg);
    account(ctx, p, &mut seg);
    Ok(seg)
}

/// A CX of a bare id; CX-5 (required from v2.7) `U`, unspecified.
fn bare_id(ctx: &Ctx<'_, '_>, id: &str) -> Rep {
    let mut r = Rep::text(id);
    if ctx.version().at_least(Version::V27) {
        r.set(5, "U");
    }
    r
}

/// PID from a reference (`subject`, `patient` of resource `i`) to a
/// Patient that is not in the input: PID-3 from its identifier, else the
/// id in its literal reference; PID-5 its display, else a name of type
/// `U` (unspecified) with a warning: the record exists on the receiver's
/// side, the identifier finds it.
pub fn from_reference(ctx: &mut Ctx<'_, '_>, i: usize, key: &str) -> Result<Seg, FhirV2Error> {
    let path = ctx.path(i, key);
    // read without marking: the resource's own segment map takes the
    // element (and the resource) into the message
    let r = ctx.res.list[i]
        .value
        .get(key)
        .ok_or_else(|| FhirV2Error::MissingElement {
            path: path.clone(),
            field: "PID-3",
            message: ctx.message.to_owned(),
        })?;
    let mut seg = Seg::new("PID");
    seg.set(1, "1");
    let id = match r.get("identifier") {
        Some(id) => dt::cx(ctx, id, &format!("{path}.identifier")),
        None => None,
    };
    match id {
        Some(x) => seg.push(3, x),
        None => {
            let literal = s(r, "reference")
                .and_then(|x| x.split("/_history/").next())
                .and_then(|x| x.rsplit('/').next())
                .filter(|x| !x.is_empty())
                .ok_or_else(|| FhirV2Error::MissingElement {
                    path: format!("{path}.identifier"),
                    field: "PID-3",
                    message: ctx.message.to_owned(),
                })?;
            ctx.warn(
                format!("{path}.reference"),
                "the Patient is not in the input: PID-3 carries the id of its reference",
            );
            seg.push(3, bare_id(ctx, literal));
        }
    }
    match s(r, "display") {
        Some(d) => seg.push(5, Rep::text(d)),
        None => {
            let mut name = Rep::default();
            name.set(7, "U");
            seg.push(5, name);
            ctx.warn(
                format!("{path}.display"),
                "the Patient is not in the input: PID-5 is a name of type U (unspecified)",
            );
        }
    }
    Ok(seg)
}

/// PID-18 (IG PID[Account] in reverse): the identifier of the first
/// Account whose subject is the Patient.
fn account(ctx: &mut Ctx<'_, '_>, p: usize, seg: &mut Seg) {
    for a in ctx.res.of_kind("Account") {
        let about = list(ctx.res.list[a].value, "subject")
            .iter()
            .any(|r| ctx.resolve(a, r) == Some(p));
        if !about || ctx.is_included(a) {
            continue;
        }
        let ids = ctx.arr(a, "identifier");
        let path = ctx.path(a, "identifier");
        if let Some(x) = ids
            .first()
            .and_then(|id| dt::cx(ctx, id, &format!("{path}[0]")))
        {
            for k in ["subject", "status"] {
                let _ = ctx.get(a, k);
            }
            seg.rep(18, x);
            return;
        }
    }
}

/// Patient.maritalStatus: the v2 code through the reverse of the IG map
/// when the coding is a v3 MaritalStatus code, else the concept as is.
fn marital(ctx: &mut Ctx<'_, '_>, m: &Value, path: &str) -> Rep {
    let v3 = dt::code_in(
        m,
        Some("http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"),
    )
    .or_else(|| {
        dt::code_in(
            m,
            Some("http://terminology.hl7.org/CodeSystem/v3-NullFlavor"),
        )
    });
    let comps = coded_components(ctx.version(), "PID", 16);
    if let Some(code) = v3.and_then(|c| super::codes::v2_code("marital-status", c)) {
        let mut r = Rep::default();
        r.set(1, code);
        if comps > 0 {
            r.opt(2, list(m, "coding").first().and_then(|c| s(c, "display")));
            r.set(3, "HL70002");
        }
        return r;
    }
    dt::cwe(ctx, m, path, comps)
}

fn find_ext<'v>(holder: &'v Value, name: &str) -> Option<&'v Value> {
    let url = format!("{EXT}{name}");
    list(holder, "extension")
        .iter()
        .find(|e| s(e, "url") == Some(url.as_str()))
}

/// The Patient extensions the IG maps (PID-6, 17, 23, 26, 28); any other
/// is reported.
fn extensions(ctx: &mut Ctx<'_, '_>, p: usize, base: &str, seg: &mut Seg) {
    let v = ctx.version();
    let exts = ctx.arr(p, "extension");
    for (n, e) in exts.iter().enumerate() {
        let url = s(e, "url").unwrap_or("");
        let path = format!("{base}.extension[{n}]");
        let coded = |e: &Value| -> Option<Value> {
            list(e, "extension")
                .iter()
                .find(|x| s(x, "url") == Some("code"))
                .and_then(|x| x.get("valueCodeableConcept"))
                .or_else(|| e.get("valueCodeableConcept"))
                .cloned()
        };
        match url.strip_prefix(EXT) {
            Some("patient-mothersMaidenName") => {
                let mut r = Rep::default();
                r.opt(1, s(e, "valueString"));
                seg.rep(6, r);
            }
            Some("patient-religion") => {
                if let Some(c) = e.get("valueCodeableConcept") {
                    let r = dt::cwe(ctx, c, &path, coded_components(v, "PID", 17));
                    seg.rep(17, r);
                }
            }
            Some("patient-birthPlace") => {
                let text = e
                    .get("valueAddress")
                    .and_then(|a| s(a, "text").or_else(|| s(a, "city")));
                seg.opt(23, text);
            }
            Some("patient-citizenship") => {
                if let Some(c) = coded(e) {
                    let r = dt::cwe(ctx, &c, &path, coded_components(v, "PID", 26));
                    seg.push(26, r);
                }
            }
            Some("patient-nationality") => {
                if let Some(c) = coded(e) {
                    let r = dt::cwe(ctx, &c, &path, coded_components(v, "PID", 28));
                    seg.rep(28, r);
                }
            }
            _ => ctx.not_mapped(path, "extension without a v2 field"),
        }
    }
}

/// PD1 from Patient `p` (IG PD1[Patient] in reverse): general
/// practitioners that are Organizations go to PD1-3 (primary facility),
/// the others to PD1-4 (primary care provider). `None` when there is none.
pub fn pd1(ctx: &mut Ctx<'_, '_>, p: usize) -> Option<Seg> {
    let mut seg = Seg::new("PD1");
    let base = ctx.res.list[p].path.clone();
    let gps = ctx.arr(p, "generalPractitioner");
    for (n, g) in gps.iter().enumerate() {
        let path = format!("{base}.generalPractitioner[{n}]");
        if let Some(t) = ctx.resolve(p, g).filter(|t| ctx.kind(*t) == "Organization") {
            ctx.include(t);
            let r = dt::xon(ctx, t);
            seg.push(3, r);
            continue;
        }
        if let Some(r) = dt::xcn(ctx, p, g, &path) {
            seg.push(4, r);
        }
    }
    (!seg.fields.is_empty()).then_some(seg)
}
