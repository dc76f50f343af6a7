//! PL (person location) -> Location (IG PL[Location], simplified): one
//! Location per distinct PL, named from its parts (point of care, room,
//! bed, facility, building, floor) or PL-9 description.

use crate::hl7v2::Value;

use super::ctx::{comps, txt, Ctx, Key};
use super::json::{set, Obj};

/// Components the PL map uses.
pub const MASK: u64 = comps(&[1, 2, 3, 4, 7, 8, 9]);

/// One PL value -> Location entry index.
pub fn location(ctx: &mut Ctx<'_, '_>, v: Value<'_>) -> Option<usize> {
    let name = txt(v.component(9)).or_else(|| {
        let parts: Vec<String> = [
            txt(v.component(1).subcomponent(1)),
            txt(v.component(2).subcomponent(1)),
            txt(v.component(3).subcomponent(1)),
            txt(v.component(7).subcomponent(1)),
            txt(v.component(8).subcomponent(1)),
            txt(v.component(4).subcomponent(1)),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    })?;
    let mut o = Obj::new();
    set(&mut o, "status", "active");
    set(&mut o, "name", name);
    set(&mut o, "mode", "instance");
    let raw = format!("Location|{}", String::from_utf8_lossy(v.raw()));
    Some(ctx.add("Location", Key::Pos(&raw), o))
}
