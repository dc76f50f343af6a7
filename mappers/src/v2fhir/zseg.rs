//! Z-segments: reported as unmapped unless the run-time Z-map
//! (`Config::zmap`) says which fields become extensions or identifiers of
//! the Patient or Encounter.

use super::json::Json;

use super::config::{ZTarget, ZValueType};
use super::ctx::{txt, Ctx, Seg};
use super::cwe;
use super::dates;
use super::json::{push, set, Obj};

/// Maps a Z-segment; returns false when no rule exists (the caller reports
/// the whole segment).
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) -> bool {
    let Some(rule) = ctx.cfg.zmap.segments.get(seg.name()) else {
        return false;
    };
    let target = match rule.target {
        ZTarget::Patient => ctx.patient,
        ZTarget::Encounter => ctx.encounter,
    };
    let Some(target) = target else {
        ctx.not_mapped(seg.at(0), "z-segment rule target resource is absent");
        return true;
    };
    for f in &rule.fields {
        let v = seg.peek(f.field);
        if !v.has_value() {
            continue;
        }
        let at = seg.at(f.field);
        if let Some(url) = &f.extension {
            let value = match f.value_type {
                ZValueType::String => txt(v).map(|t| ("valueString", Json::from(t))),
                ZValueType::Code => txt(v.component(1)).map(|t| ("valueCode", Json::from(t))),
                ZValueType::DateTime => {
                    dates::date_time(ctx, v, at).map(|t| ("valueDateTime", Json::from(t)))
                }
                ZValueType::CodeableConcept => {
                    cwe::concept_of(ctx, v, at).map(|c| ("valueCodeableConcept", c))
                }
            };
            if let Some((k, val)) = value {
                seg.mark(f.field, super::ctx::ALL);
                let mut e = Obj::new();
                set(&mut e, "url", url.clone());
                set(&mut e, k, val);
                push(ctx.res(target), "extension", e);
            }
        } else if let Some(system) = &f.identifier_system {
            if let Some(value) = txt(v.component(1)) {
                seg.mark(f.field, super::ctx::ALL);
                let mut i = Obj::new();
                set(&mut i, "system", system.clone());
                set(&mut i, "value", value);
                push(ctx.res(target), "identifier", i);
            }
        }
    }
    true
}
