//! XCN (person with id) -> Practitioner (IG XCN[Practitioner]): XCN-1 id
//! with XCN-9 assigning authority (system and assigner Organization) and
//! XCN-13 type, XCN-2..7 the name,
//! XCN-10 name type, XCN-21 professional suffix. The same person named in
//! several fields becomes one entry.

use crate::hl7v2::Value;

use super::ctx::{comps, txt, Ctx, Key, Loc};
use super::cx::id_type;
use super::hd::Hd;
use super::json::{set, Obj, ObjWriter};
use super::{xon, xpn};

/// Components the XCN map uses.
pub const MASK: u64 = comps(&[1, 2, 3, 4, 5, 6, 7, 9, 10, 13, 21]);

/// One XCN repetition -> Practitioner entry index.
pub fn practitioner<'a>(ctx: &mut Ctx<'_, 'a>, rep: Value<'a>, loc: Loc<'a>) -> Option<usize> {
    let cs = rep.indexed();
    let id = txt(cs.get(1));
    let name = xpn::name_at(ctx, rep, 2, 10, loc);
    if id.is_none() && name.is_none() {
        return None;
    }
    let authority = cs.get(9);
    let hd = Hd::from_subcomponents(authority);
    let system = hd.system(ctx.cfg);
    let raw;
    let rid = match (&system, &id) {
        (Some(s), Some(v)) => ctx.id_of("Practitioner", Key::Ident(s, v)),
        _ => {
            raw = String::from_utf8_lossy(rep.raw());
            ctx.id_of("Practitioner", Key::Pos(&raw))
        }
    };
    // the same person named again (attending, referring, ROL...) is the
    // entry already built: found before it is built a second time
    if let Some(i) = ctx.existing(&rid) {
        return Some(i);
    }
    let mut p = Obj::with_capacity(2);
    if let Some(v) = &id {
        let mut i = ObjWriter::in_array();
        if let Some(t) = txt(cs.get(13)) {
            i.json("type", &id_type(&t));
        }
        i.opt_str("system", system.as_deref());
        i.str("value", v);
        // IG XCN.9: the assigning authority is also the identifier's
        // assigner (HD[Organization])
        if let Some(org) = xon::from_hd_parts(ctx, hd, authority.raw()) {
            i.reference("assigner", ctx.full_url(org));
        }
        set(&mut p, "identifier", i.finish());
    }
    if let Some(n) = name {
        let suffix = txt(cs.get(21));
        set(
            &mut p,
            "name",
            n.finish_with(ObjWriter::in_array(), suffix.as_deref(), None),
        );
    }
    Some(ctx.add_with_id(rid, p))
}

/// Every repetition of an XCN field -> Practitioner entry indexes.
pub fn practitioners<'a>(ctx: &mut Ctx<'_, 'a>, field: Value<'a>, loc: Loc<'a>) -> Vec<usize> {
    field
        .repetitions()
        .filter_map(|r| practitioner(ctx, r, loc))
        .collect()
}

/// A PractitionerRole for `practitioner` at `organization` (IG
/// ORC[ServiceRequest] ORC-12 requester(PractitionerRole.practitioner),
/// ORC-21 its organization): one entry per person and organization.
pub fn role<'a>(ctx: &mut Ctx<'_, 'a>, practitioner: usize, organization: Option<usize>) -> usize {
    let mut key = String::with_capacity(100);
    key.push_str("role|");
    key.push_str(ctx.full_url(practitioner));
    if let Some(o) = organization {
        key.push('|');
        key.push_str(ctx.full_url(o));
    }
    let id = ctx.id_of("PractitionerRole", Key::Pos(&key));
    if let Some(i) = ctx.existing(&id) {
        return i;
    }
    let mut obj = Obj::with_capacity(2);
    set(&mut obj, "practitioner", ctx.reference(practitioner));
    if let Some(o) = organization {
        set(&mut obj, "organization", ctx.reference(o));
    }
    ctx.add_with_id(id, obj)
}
