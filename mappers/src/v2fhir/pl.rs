//! PL (person location) -> a Location hierarchy (IG PL[Location]).
//!
//! Each valued level of the PL becomes a Location with an identifier
//! (HD[Identifier]: HD-1 the value, HD-2/3 the system), `mode: instance`
//! and the IG's physical type, linked to the next higher valued level by
//! `partOf`. The IG's default granularity, most granular first: bed
//! (PL-3), room (PL-2), floor (PL-8), point of care (PL-1), building
//! (PL-7), facility (PL-4). A missing level is skipped: the reference goes
//! to the next higher one. The most granular Location is the one the
//! caller references; it also carries PL-9 as `description`. The point of
//! care has no physical type: the IG's code for it is an undefined
//! extension (`extension??-poc`). PL-5, PL-6, PL-10 and PL-11 are not in
//! [`MASK`] and so are reported unmapped.

use crate::hl7v2::Value;

use super::ctx::{comps, txt, Ctx, Key};
use super::hd::Hd;
use super::json::{concept, set, Obj, ObjWriter};

/// Components the PL map uses.
pub const MASK: u64 = comps(&[1, 2, 3, 4, 7, 8, 9]);

/// FHIR location-physical-type code system.
const PHYSICAL_TYPE: &str = "http://terminology.hl7.org/CodeSystem/location-physical-type";

/// (PL component, physical type code, display), least granular first: the
/// order Locations are created in, so each one's parent already exists.
const LEVELS: [(usize, Option<(&str, &str)>); 6] = [
    (4, Some(("si", "Site"))),
    (7, Some(("bu", "Building"))),
    (1, None),
    (8, Some(("lvl", "Level"))),
    (2, Some(("ro", "Room"))),
    (3, Some(("bd", "Bed"))),
];

/// One PL value -> the index of its most granular Location entry.
pub fn location<'a>(ctx: &mut Ctx<'_, 'a>, v: Value<'a>) -> Option<usize> {
    let cs = v.indexed();
    let description = txt(cs.get(9));
    // the chain of level values so far: the key of each Location, so the
    // same room under the same ward and facility is one resource
    let mut key = String::from("Location");
    let mut parent: Option<usize> = None;
    for (comp, kind) in LEVELS {
        let hd = Hd::from_subcomponents(cs.get(comp));
        let Some(value) = hd.namespace.clone().or_else(|| hd.universal.clone()) else {
            continue;
        };
        key.push('|');
        key.push_str(&comp.to_string());
        key.push('=');
        key.push_str(&value);
        // the same level under the same parents is one resource: found
        // before it is built again
        let id = ctx.id_of("Location", Key::Pos(&key));
        if let Some(i) = ctx.existing(&id) {
            parent = Some(i);
            continue;
        }
        let mut o = Obj::with_capacity(5);
        let mut ident = ObjWriter::in_array();
        // HD[Identifier]: HD-2 (typed by HD-3) is the system; without it
        // the identifier has none, rather than one made from the value
        if hd.namespace.is_some() && hd.universal.is_some() {
            ident.opt_str("system", hd.system(ctx.cfg).as_deref());
        }
        ident.str("value", &value);
        set(&mut o, "identifier", ident.finish());
        set(&mut o, "name", value);
        set(&mut o, "mode", "instance");
        if let Some((code, display)) = kind {
            set(
                &mut o,
                "physicalType",
                concept(PHYSICAL_TYPE, code, Some(display)),
            );
        }
        if let Some(p) = parent {
            set(&mut o, "partOf", ctx.reference(p));
        }
        parent = Some(ctx.add_with_id(id, o));
    }
    match (parent, description) {
        (Some(i), Some(d)) => {
            let r = ctx.res(i);
            if !r.contains_key("description") {
                set(r, "description", d);
            }
            Some(i)
        }
        (Some(i), None) => Some(i),
        (None, Some(d)) => {
            // only a description: one Location named by it
            let mut o = Obj::new();
            set(&mut o, "name", d.clone());
            set(&mut o, "description", d.clone());
            set(&mut o, "mode", "instance");
            key.push_str("|9=");
            key.push_str(&d);
            Some(ctx.add("Location", Key::Pos(&key), o))
        }
        (None, None) => None,
    }
}
