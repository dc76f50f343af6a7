//! NK1 (IG NK1[RelatedPerson] in reverse): the Patient's contacts, then
//! the RelatedPersons about the Patient.

use serde_json::Value;

use super::ctx::{list, s, Ctx};
use super::dt;
use super::er7::{Rep, Seg};
use super::lengths::coded_components;

/// NK1 segments: Patient.contact, then RelatedPersons about `p`.
pub fn nk1s(ctx: &mut Ctx<'_, '_>, p: usize) -> Vec<Seg> {
    let mut out = Vec::new();
    let base = ctx.res.list[p].path.clone();
    let contacts = ctx.arr(p, "contact");
    for (n, c) in contacts.iter().enumerate() {
        let path = format!("{base}.contact[{n}]");
        let mut seg = Seg::new("NK1");
        seg.set(1, (out.len() + 1).to_string());
        if let Some(name) = c.get("name") {
            seg.push(2, dt::xpn(ctx, name, &format!("{path}.name")));
        }
        for (k, rel) in list(c, "relationship").iter().enumerate() {
            let rpath = format!("{path}.relationship[{k}]");
            let role = dt::code_in(rel, Some("http://terminology.hl7.org/CodeSystem/v2-0131"));
            if let Some(role) = role {
                let mut r = Rep::default();
                r.set(1, role);
                r.set(3, "HL70131");
                seg.rep(7, r);
            } else {
                let r = relationship(ctx, rel, &rpath);
                seg.rep(3, r);
            }
        }
        if let Some(a) = c.get("address") {
            seg.push(4, dt::xad(ctx, a, &format!("{path}.address")));
        }
        for (k, t) in list(c, "telecom").iter().enumerate() {
            let work = s(t, "use") == Some("work");
            if let Some(r) = dt::xtn(ctx, t, &format!("{path}.telecom[{k}]")) {
                seg.push(if work { 6 } else { 5 }, r);
            }
        }
        if let Some(g) = s(c, "gender") {
            seg.opt(
                15,
                dt::table_code(ctx, "gender", g, &format!("{path}.gender"), false),
            );
        }
        if let Some(per) = c.get("period") {
            seg.opt(8, dt::dtm_at(ctx, per, "start", &path));
            seg.opt(9, dt::dtm_at(ctx, per, "end", &path));
        }
        if c.get("organization").is_some() {
            ctx.not_mapped(
                format!("{path}.organization"),
                "NK1-13 organization not written",
            );
        }
        out.push(seg);
    }
    for r in ctx.res.of_kind("RelatedPerson") {
        let about = ctx.res.list[r]
            .value
            .get("patient")
            .and_then(|x| ctx.resolve(r, x));
        if about != Some(p) {
            continue;
        }
        let _ = ctx.get(r, "patient");
        let rbase = ctx.res.list[r].path.clone();
        let mut seg = Seg::new("NK1");
        seg.set(1, (out.len() + 1).to_string());
        let names = ctx.arr(r, "name");
        for (n, name) in names.iter().enumerate() {
            seg.push(2, dt::xpn(ctx, name, &format!("{rbase}.name[{n}]")));
        }
        let rels = ctx.arr(r, "relationship");
        for (k, rel) in rels.iter().enumerate() {
            let rpath = format!("{rbase}.relationship[{k}]");
            let x = relationship(ctx, rel, &rpath);
            if seg.field(3).is_empty() {
                seg.rep(3, x);
            } else {
                seg.rep(7, x);
            }
        }
        let addrs = ctx.arr(r, "address");
        for (n, a) in addrs.iter().enumerate() {
            seg.push(4, dt::xad(ctx, a, &format!("{rbase}.address[{n}]")));
        }
        let tel = ctx.arr(r, "telecom");
        for (n, t) in tel.iter().enumerate() {
            let work = s(t, "use") == Some("work");
            if let Some(x) = dt::xtn(ctx, t, &format!("{rbase}.telecom[{n}]")) {
                seg.push(if work { 6 } else { 5 }, x);
            }
        }
        if let Some(g) = ctx.str(r, "gender") {
            let gp = ctx.path(r, "gender");
            seg.opt(15, dt::table_code(ctx, "gender", g, &gp, false));
        }
        seg.opt(16, dt::dtm_of(ctx, r, "birthDate"));
        if let Some(per) = ctx.get(r, "period") {
            seg.opt(8, dt::dtm_at(ctx, per, "start", &rbase));
            seg.opt(9, dt::dtm_at(ctx, per, "end", &rbase));
        }
        let ids = ctx.arr(r, "identifier");
        for (n, id) in ids.iter().enumerate() {
            if let Some(x) = dt::cx(ctx, id, &format!("{rbase}.identifier[{n}]")) {
                seg.push(33, x);
            }
        }
        out.push(seg);
    }
    out
}

/// A relationship concept: the v2 table 0063 code through the reverse of
/// the IG map when it is a v3 RoleCode, else the concept as is.
fn relationship(ctx: &mut Ctx<'_, '_>, rel: &Value, path: &str) -> Rep {
    let comps = coded_components(ctx.version(), "NK1", 3);
    for c in list(rel, "coding") {
        if let Some(code) = s(c, "code") {
            if let Some(v2) = super::codes::v2_code("relationship", code) {
                let mut r = Rep::default();
                r.set(1, v2);
                if comps > 0 {
                    r.opt(2, s(c, "display"));
                    r.set(3, "HL70063");
                }
                return r;
            }
        }
    }
    dt::cwe(ctx, rel, path, comps)
}
