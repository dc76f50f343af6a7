//! IN2 (insurance additional information) -> the Coverage of the IN1
//! before it and its subscriber. The IG has no IN2 sheet; the fields
//! taken have one FHIR element each:
//!
//! - IN2-6 Medicare card number, IN2-8 Medicaid case number and IN2-61
//!   patient member number -> `Coverage.identifier`, typed MC, MA and MB
//!   (v2 table 0203: the patient's Medicare, Medicaid and member numbers);
//! - when the subscriber is a RelatedPerson (IN1-17 not `SEL`): IN2-1
//!   insured's employee id (type EI) and IN2-2 social security number
//!   (type SS) -> its identifiers, IN2-63/64 insured's home and employer
//!   telephone -> its telecom.
//!
//! When the patient is the insured, IN2-1/2/63/64 describe the patient,
//! whose identifiers and telecom come from PID (IG PID[Patient]); they are
//! reported rather than merged. Everything else is reported.

use super::ctx::{Ctx, Seg};
use super::cx::{self, id_type};
use super::json::{push, set, Json, Obj};
use super::xtn;

fn typed<'a>(code: &str, system: Option<&str>, value: &str) -> Json<'a> {
    let mut i = Obj::with_capacity(3);
    set(&mut i, "type", id_type(code));
    if let Some(s) = system {
        set(&mut i, "system", s.to_owned());
    }
    set(&mut i, "value", value.to_owned());
    Json::Object(i)
}

/// Maps IN2; `false` without a Coverage to add to (the caller reports the
/// segment).
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) -> bool {
    let Some((cov, related)) = ctx.coverage else {
        return false;
    };
    for (seq, code) in [(6, "MC"), (8, "MA")] {
        if let Some(v) = seg.text(seq) {
            let i = typed(code, None, &v);
            push(ctx.res(cov), "identifier", i);
        }
    }
    let at = seg.at(61);
    let members = cx::typed_identifiers(ctx, seg.take_c(61, cx::MASK), at, Some("MB"));
    for m in members {
        push(ctx.res(cov), "identifier", m.json);
    }
    let Some(rp) = related else { return true };
    let at = seg.at(1);
    let employee = cx::typed_identifiers(ctx, seg.take_c(1, cx::MASK), at, Some("EI"));
    for e in employee {
        push(ctx.res(rp), "identifier", e.json);
    }
    if let Some(ssn) = seg.text(2) {
        let i = typed("SS", Some("http://hl7.org/fhir/sid/us-ssn"), &ssn);
        push(ctx.res(rp), "identifier", i);
    }
    for (seq, default_use) in [(63, "home"), (64, "work")] {
        let at = seg.at(seq);
        let phones = xtn::contacts(ctx, seg.take_c(seq, xtn::MASK), Some(default_use), at);
        for p in phones {
            push(ctx.res(rp), "telecom", p);
        }
    }
    true
}
