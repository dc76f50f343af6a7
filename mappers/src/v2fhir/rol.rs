//! ROL -> PractitionerRole, referenced from the Patient or the Encounter
//! (IG ROL[Patient-GeneralPractitioner], ROL[Encounter-PractitionerRole]).
//!
//! Where a ROL stands decides what it describes, as in the v2 message
//! structures: after PID/PD1 it is a role for the patient (the IG puts it
//! in `Patient.generalPractitioner`), after PV1/PV2 a role in the visit
//! (`Encounter.participant`), after PR1 a performer of the procedure
//! (`Procedure.performer`, the role as `function`), after OBR a performer
//! of the report (results) or of the order. ROL in the insurance group
//! (after IN1, IN2, IN3) has no Coverage element to go to, and a role
//! after ORC or NTE has no resource yet: the caller reports those
//! segments unmapped, as it does a ROL with no role person.
//!
//! Mapped: ROL-1 identifier, ROL-3 role as `code` (and the participant's
//! `type`), ROL-4 each role person (XCN[Practitioner]) as `practitioner`,
//! ROL-5/6 period, ROL-12 telecom, ROL-13 location (PL[Location]), ROL-14
//! organization (XON[Organization]). Not mapped (reported): ROL-2 action
//! code (an instruction to the receiver, not data), ROL-7 duration (an
//! undefined IG extension), ROL-8 to ROL-10, and ROL-11 address (the IG
//! splits it by address type across Practitioner, Organization and
//! "local consideration").

use super::ctx::{Ctx, Key, Seg};
use super::cx::Ident;
use super::json::{push, set, set_opt, Json, Obj};
use super::{cwe, cx, dates, pl, xcn, xon, xtn};

/// Where a ROL or PRT segment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// After PID or PD1: the patient's care team.
    Patient,
    /// After PV1 or PV2: the visit's participants.
    Encounter,
    /// After OBX (PRT only): the observation's performers.
    Observation,
    /// After OBR: the report's performers in results (ORU, OUL), the
    /// order's requested performers otherwise.
    Order,
    /// After PR1: the procedure's performers, with the role as function.
    Procedure,
    /// Anywhere else: no map yet.
    Other,
}

impl Scope {
    /// The scope of a ROL or PRT that follows the segment named `prev`
    /// (the last segment before it that is neither, ARV skipped).
    pub fn after(prev: &str) -> Self {
        match prev {
            "PID" | "PD1" => Scope::Patient,
            "PV1" | "PV2" => Scope::Encounter,
            "OBX" => Scope::Observation,
            "OBR" => Scope::Order,
            "PR1" => Scope::Procedure,
            _ => Scope::Other,
        }
    }
}

/// The parts of a PractitionerRole read from a ROL or PRT.
#[derive(Debug, Default)]
pub struct RoleParts<'a> {
    /// The role instance / participation id.
    pub id: Option<Ident<'a>>,
    /// The role (ROL-3, PRT-4).
    pub code: Option<Json<'a>>,
    /// The provider type (PRT-6).
    pub specialty: Vec<Json<'a>>,
    /// Begin and end.
    pub period: Option<Json<'a>>,
    /// Telecom.
    pub telecom: Vec<Json<'a>>,
    /// Location entry.
    pub location: Option<usize>,
    /// Organization entry.
    pub organization: Option<usize>,
}

/// One PractitionerRole per person in `people`, each referenced from the
/// resource `target` as `scope` says.
pub fn attach_roles<'a>(
    ctx: &mut Ctx<'_, 'a>,
    seg: &Seg<'a>,
    people: Vec<usize>,
    parts: &RoleParts<'a>,
    scope: Scope,
    target: usize,
) {
    for (n, person) in people.into_iter().enumerate() {
        let mut r = Obj::new();
        if let Some(i) = &parts.id {
            push(&mut r, "identifier", i.json.clone());
        }
        set_opt(&mut r, "period", parts.period.clone());
        set(&mut r, "practitioner", ctx.reference(person));
        if let Some(o) = parts.organization {
            set(&mut r, "organization", ctx.reference(o));
        }
        if let Some(c) = &parts.code {
            push(&mut r, "code", c.clone());
        }
        if !parts.specialty.is_empty() {
            set(&mut r, "specialty", Json::Array(parts.specialty.clone()));
        }
        if let Some(l) = parts.location {
            push(&mut r, "location", ctx.reference(l));
        }
        if !parts.telecom.is_empty() {
            set(&mut r, "telecom", Json::Array(parts.telecom.clone()));
        }
        let key = format!("{}|{}|{n}", seg.name(), seg.index());
        let pr = ctx.add("PractitionerRole", Key::Pos(&key), r);
        let reference = ctx.reference(pr);
        match scope {
            Scope::Patient => push(ctx.res(target), "generalPractitioner", reference),
            Scope::Observation | Scope::Order => push(ctx.res(target), "performer", reference),
            Scope::Procedure => {
                let mut p = Obj::new();
                if let Some(c) = &parts.code {
                    set(&mut p, "function", c.clone());
                }
                set(&mut p, "actor", reference);
                push(ctx.res(target), "performer", p);
            }
            Scope::Encounter | Scope::Other => {
                let mut p = Obj::new();
                if let Some(c) = &parts.code {
                    push(&mut p, "type", c.clone());
                }
                set_opt(&mut p, "period", parts.period.clone());
                set(&mut p, "individual", reference);
                push(ctx.res(target), "participant", p);
            }
        }
    }
}

/// The resource a ROL/PRT in `scope` attaches to, if there is one.
pub fn target_of<'a>(ctx: &Ctx<'_, 'a>, scope: Scope) -> Option<usize> {
    match scope {
        Scope::Patient => ctx.patient,
        Scope::Encounter => ctx.encounter,
        Scope::Observation => ctx.observation,
        Scope::Order => ctx.report.or(ctx.order),
        Scope::Procedure => ctx.procedure,
        Scope::Other => None,
    }
}

/// Maps ROL; `false` when nothing was mapped (the caller reports the
/// segment).
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>, scope: Scope) -> bool {
    if scope == Scope::Observation {
        return false;
    }
    let Some(target) = target_of(ctx, scope) else {
        return false;
    };
    if !seg.peek(4).has_value() {
        return false;
    }
    let at = seg.at(4);
    let people = xcn::practitioners(ctx, seg.take_c(4, xcn::MASK), at);
    if people.is_empty() {
        return false;
    }
    let id = cx::entity(ctx, seg.take(1), None);
    let at = seg.at(3);
    let code = cwe::concept_of(ctx, seg.take_c(3, cwe::MASK), at);
    let at = seg.at(5);
    let (start, end) = (seg.take(5), seg.take(6));
    let period = dates::period(ctx, start, end, at);
    let at = seg.at(12);
    let telecom = xtn::contacts(ctx, seg.take_c(12, xtn::MASK), Some("work"), at);
    let location = pl::location(ctx, seg.take_c(13, pl::MASK));
    let organization = seg
        .take_c(14, xon::MASK)
        .repetitions()
        .next()
        .and_then(|rep| xon::organization(ctx, rep));
    let parts = RoleParts {
        id,
        code,
        specialty: Vec::new(),
        period,
        telecom,
        location,
        organization,
    };
    attach_roles(ctx, seg, people, &parts, scope, target);
    true
}
