//! PD1 -> the current Patient (IG PD1[Patient]): PD1-3 primary facility
//! and PD1-4 primary care provider as `generalPractitioner`
//! (Organization, Practitioner), PD1-6 handicap as the patient-disability
//! extension, PD1-14 place of worship (its XON-1 name) as the
//! patient-congregation extension. The rest is reported; PD1-7 living
//! will (the IG's PD1[Observation-LivingWill]) is not built yet.

use super::ctx::{comps, txt, Ctx, Seg};
use super::json::{push, set, Json, Obj};
use super::{cwe, xcn, xon};

const EXT: &str = "http://hl7.org/fhir/StructureDefinition/";

fn extension<'a>(name: &str, key: &'static str, value: Json<'a>) -> Json<'a> {
    let mut e = Obj::with_capacity(2);
    set(&mut e, "url", format!("{EXT}{name}"));
    set(&mut e, key, value);
    Json::Object(e)
}

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
    let mut extensions = Vec::new();
    let at = seg.at(6);
    if let Some(c) = cwe::concept_of(ctx, seg.take_c(6, cwe::MASK), at) {
        extensions.push(extension("patient-disability", "valueCodeableConcept", c));
    }
    let worship = seg.take_c(14, comps(&[1]));
    for rep in worship.repetitions() {
        if let Some(name) = txt(rep.component(1)) {
            extensions.push(extension(
                "patient-congregation",
                "valueString",
                Json::from(name),
            ));
        }
    }
    for e in extensions {
        push(ctx.res(patient), "extension", e);
    }
}
