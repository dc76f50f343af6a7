//! ARV (access restrictions, v2.6+) -> `meta.security` of the resource the
//! restriction is about.
//!
//! The IG's message maps list ARV without a target ("FHIR does not yet
//! support field level security tags"); a security label on the whole
//! resource is the FHIR R4 element that carries an access restriction, so
//! ARV-3 (access restriction value, table 0717) becomes a `meta.security`
//! Coding. Where an ARV stands decides what it restricts, as in the v2.8
//! message structures: after MSH/SFT/UAC the whole message (the Bundle),
//! after PID/PD1 the Patient, after PV1/PV2 the Encounter.
//!
//! ARV-2 `D` (delete the restriction) adds no label: the receiver is asked
//! to lift one, and the replacing PUT carries the labels that remain. Not
//! mapped (reported): ARV-4 reason, ARV-5 free text and ARV-6 period, for
//! a Coding has no place for them.

use super::ctx::{comps, txt, Ctx, Seg};
use super::json::{push, Json, Obj, ObjWriter};
use super::tables;

/// What an ARV restricts, from the segment before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The message: `Bundle.meta.security`.
    Message,
    /// A resource entry.
    Entry(usize),
}

fn target(ctx: &Ctx<'_, '_>, prev: &str) -> Option<Target> {
    match prev {
        "MSH" | "SFT" | "UAC" => Some(Target::Message),
        "PID" | "PD1" => ctx.patient.map(Target::Entry),
        "PV1" | "PV2" => ctx.encounter.map(Target::Entry),
        _ => None,
    }
}

/// Adds `label` to `meta.security` of `res`.
pub fn label<'a>(res: &mut Obj<'a>, label: Json<'a>) {
    let meta = res.get_or_insert_with("meta", || Json::Object(Obj::new()));
    if let Json::Object(m) = meta {
        push(m, "security", label);
    }
}

/// Maps ARV standing after the segment named `prev`; `false` when it has
/// no target here (the caller reports the segment).
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>, prev: &str) -> bool {
    let Some(t) = target(ctx, prev) else {
        return false;
    };
    let value = seg.take_c(3, comps(&[1, 2]));
    let Some(code) = txt(value.component(1)) else {
        return false;
    };
    seg.mark(1, u64::MAX);
    let action = txt(seg.take_c(2, comps(&[1])).component(1));
    if action.as_deref() == Some("D") {
        return true;
    }
    let mut c = ObjWriter::new();
    c.str("system", &tables::v2_system("0717"));
    c.str("code", &code);
    c.opt_str("display", txt(value.component(2)).as_deref());
    let coding = c.finish();
    match t {
        Target::Message => ctx.bundle_security.push(coding),
        Target::Entry(i) => label(ctx.res(i), coding),
    }
    true
}
