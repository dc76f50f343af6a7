//! Date fields of a segment -> FHIR, with the report: a value that is not
//! a v2 date is reported unmapped, a time without zone is a warning.

use std::borrow::Cow;

use super::json::Json;

use crate::hl7v2::Value;

use super::ctx::{txt, Ctx, Loc};
use super::dtm::{Dtm, DtmIssue};
use super::json::{set_opt, Obj};

fn parse_or_report<'a>(ctx: &mut Ctx<'_, 'a>, v: Value<'a>, loc: Loc<'_>) -> Option<Cow<'a, str>> {
    // TS/DR carry the time in component 1; plain DTM has no components.
    let s = txt(v.component(1))?;
    if Dtm::parse(&s).is_none() {
        ctx.not_mapped(loc, "not a valid HL7 date/time");
        return None;
    }
    Some(s)
}

/// A FHIR `dateTime` from a DTM/TS value.
pub fn date_time<'a>(ctx: &mut Ctx<'_, 'a>, v: Value<'a>, loc: Loc<'_>) -> Option<String> {
    let s = parse_or_report(ctx, v, loc)?;
    let d = Dtm::parse(&s)?;
    match d.date_time(ctx.cfg.default_timezone.as_deref()) {
        Ok(t) => Some(t),
        Err((date, DtmIssue::TimeWithoutZone)) => {
            ctx.warn(
                loc,
                "time without zone: kept the date only (set a default timezone to keep the time)",
            );
            Some(date)
        }
        Err(_) => None,
    }
}

/// A FHIR `date` (the date part, at its precision).
pub fn date<'a>(ctx: &mut Ctx<'_, 'a>, v: Value<'a>, loc: Loc<'_>) -> Option<String> {
    let s = parse_or_report(ctx, v, loc)?;
    Dtm::parse(&s).map(|d| d.date())
}

/// A FHIR `instant`; values too imprecise for one are reported unmapped.
pub fn instant<'a>(ctx: &mut Ctx<'_, 'a>, v: Value<'a>, loc: Loc<'_>) -> Option<String> {
    let s = parse_or_report(ctx, v, loc)?;
    let d = Dtm::parse(&s)?;
    match d.instant(ctx.cfg.default_timezone.as_deref()) {
        Ok(t) => Some(t),
        Err(_) => {
            ctx.not_mapped(
                loc,
                "too imprecise for a FHIR instant (needs seconds and a zone)",
            );
            None
        }
    }
}

/// A Period from two date/time values.
pub fn period<'a>(
    ctx: &mut Ctx<'_, 'a>,
    start: Value<'a>,
    end: Value<'a>,
    loc: Loc<'_>,
) -> Option<Json<'a>> {
    let mut p = Obj::new();
    set_opt(&mut p, "start", date_time(ctx, start, loc));
    set_opt(&mut p, "end", date_time(ctx, end, loc));
    (!p.is_empty()).then_some(Json::Object(p))
}
