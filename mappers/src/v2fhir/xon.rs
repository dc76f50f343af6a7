//! XON (organization name and id) and HD -> Organization (IG
//! XON[Organization], HD[Organization]). Repeated mentions become one entry.

use std::borrow::Cow;

use crate::hl7v2::Value;

use super::ctx::{comps, txt, Ctx, Key};
use super::cx::id_type;
use super::hd::Hd;
use super::json::{push, set, set_opt, Obj};

/// Components the XON map uses.
pub const MASK: u64 = comps(&[1, 3, 6, 7, 10]);

fn add<'a>(
    ctx: &mut Ctx<'_, 'a>,
    name: Option<Cow<'a, str>>,
    id: Option<&str>,
    system: Option<&str>,
    id_kind: Option<Cow<'a, str>>,
    raw: &[u8],
) -> Option<usize> {
    if name.is_none() && id.is_none() {
        return None;
    }
    let mut o = Obj::new();
    if let Some(v) = id {
        let mut i = Obj::new();
        if let Some(t) = id_kind {
            set(&mut i, "type", id_type(&t));
        }
        set_opt(&mut i, "system", system.map(str::to_owned));
        set(&mut i, "value", v.to_owned());
        push(&mut o, "identifier", i);
    }
    set_opt(&mut o, "name", name);
    let raw = String::from_utf8_lossy(raw).into_owned();
    Some(match (system, id) {
        (Some(s), Some(v)) => ctx.add("Organization", Key::Ident(s, v), o),
        _ => ctx.add("Organization", Key::Pos(&raw), o),
    })
}

/// One XON repetition -> Organization entry index.
pub fn organization<'a>(ctx: &mut Ctx<'_, 'a>, rep: Value<'a>) -> Option<usize> {
    let id = txt(rep.component(10)).or_else(|| txt(rep.component(3)));
    let system = Hd::from_subcomponents(rep.component(6)).system(ctx.cfg);
    add(
        ctx,
        txt(rep.component(1)),
        id.as_deref(),
        system.as_deref(),
        txt(rep.component(7)),
        rep.raw(),
    )
}

/// An HD field (MSH-4, MSH-6) -> Organization: HD-1 the name, HD-2 the
/// identifier (as `urn:oid:` value under system `urn:ietf:rfc:3986`).
pub fn from_hd<'a>(ctx: &mut Ctx<'_, 'a>, v: Value<'a>) -> Option<usize> {
    from_hd_parts(ctx, Hd::from_components(v), v.raw())
}

/// An HD already split (an assigning authority inside a CX or XCN, IG
/// CX.4 / XCN.9 assigner(Organization), HD[Organization]) -> the same
/// Organization [`from_hd`] makes: an authority with a universal id is one
/// entry (and one conditional update) wherever it is named.
pub fn from_hd_parts<'a>(ctx: &mut Ctx<'_, 'a>, hd: Hd<'a>, raw: &[u8]) -> Option<usize> {
    if hd.is_empty() {
        return None;
    }
    let id = hd.universal.as_ref().and_then(|_| {
        let s = Hd {
            namespace: None,
            ..hd.clone()
        }
        .system(ctx.cfg)?;
        Some(s)
    });
    let system = id.as_ref().map(|_| "urn:ietf:rfc:3986");
    add(ctx, hd.namespace, id.as_deref(), system, None, raw)
}
