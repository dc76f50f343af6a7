//! PRT (participation) -> PractitionerRole (IG PRT[PractitionerRole]),
//! referenced from the Patient (after PID/PD1, as
//! PRT[Patient-GeneralPractitioner-PractitionerRole]), the Encounter
//! (after PV1/PV2), the Observation (after OBX, as `performer`), the
//! Procedure (after PR1) or the report or order (after OBR).
//!
//! Mapped: PRT-1 identifier, PRT-4 role as `code`, PRT-5 person
//! (XCN[Practitioner]), PRT-6 provider type as `specialty`, PRT-8
//! organization (XON[Organization]), PRT-9 location (PL[Location]),
//! PRT-11/12 period, PRT-15 telecom. Not built yet, so reported: PRT
//! without a person (the IG's PRT[Device] and PRT[Observation-Location]
//! maps), PRT in order groups before their request exists (after ORC,
//! NTE, RXO...), PRT-2 action
//! code, PRT-7 organization unit type, PRT-10 device, PRT-14 address and
//! the fields after PRT-15.

use super::ctx::Ctx;
use super::ctx::Seg;
use super::rol::{attach_roles, target_of, RoleParts, Scope};
use super::{cwe, cx, dates, pl, xcn, xon, xtn};

/// Maps PRT; `false` when nothing was mapped (the caller reports the
/// segment).
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>, scope: Scope) -> bool {
    let Some(target) = target_of(ctx, scope) else {
        return false;
    };
    if !seg.peek(5).has_value() {
        return false;
    }
    let at = seg.at(5);
    let people = xcn::practitioners(ctx, seg.take_c(5, xcn::MASK), at);
    if people.is_empty() {
        return false;
    }
    let id = cx::entity(ctx, seg.take(1), None);
    let at = seg.at(4);
    let code = cwe::concept_of(ctx, seg.take_c(4, cwe::MASK), at);
    let at = seg.at(6);
    let specialty = cwe::concepts(ctx, seg.take_c(6, cwe::MASK), at);
    let at = seg.at(11);
    let (start, end) = (seg.take(11), seg.take(12));
    let period = dates::period(ctx, start, end, at);
    let at = seg.at(15);
    let telecom = xtn::contacts(ctx, seg.take_c(15, xtn::MASK), Some("work"), at);
    let location = pl::location(ctx, seg.take_c(9, pl::MASK));
    let organization = seg
        .take_c(8, xon::MASK)
        .repetitions()
        .next()
        .and_then(|rep| xon::organization(ctx, rep));
    let parts = RoleParts {
        id,
        code,
        specialty,
        period,
        telecom,
        location,
        organization,
    };
    attach_roles(ctx, seg, people, &parts, scope, target);
    true
}
