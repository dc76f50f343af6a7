//! PD1 -> Patient.generalPractitioner (IG PD1[Patient]): PD1-3 primary
//! facility (Organization), PD1-4 primary care provider (Practitioner).

use super::ctx::{Ctx, Seg};
use super::json::push;
use super::{xcn, xon};

/// Maps PD1 into the current Patient.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(patient) = ctx.patient else { return };
    let mut refs = Vec::new();
    let facility = seg.take_c(3, xon::MASK);
    for rep in facility.repetitions() {
        if let Some(o) = xon::organization(ctx, rep) {
            refs.push(ctx.reference(o));
        }
    }
    let at = seg.at(4);
    let providers = seg.take_c(4, xcn::MASK);
    for p in xcn::practitioners(ctx, providers, at) {
        refs.push(ctx.reference(p));
    }
    for r in refs {
        push(ctx.res(patient), "generalPractitioner", r);
    }
}
