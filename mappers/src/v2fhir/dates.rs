//! Date fields of a segment -> FHIR, with the report: a value that is not
//! a v2 date is reported unmapped, a time without zone is a warning.

use super::json::Json;

use crate::hl7v2::Value;

use super::ctx::{txt, Ctx, Loc};
use super::dtm::{Dtm, DtmIssue};
use super::json::ObjWriter;

/// Parses `s`, reporting it when it is not a v2 date.
fn parse_or_report<'a, 's>(ctx: &mut Ctx<'_, 'a>, s: &'s str, loc: Loc<'a>) -> Option<Dtm<'s>> {
    let d = Dtm::parse(s);
    if d.is_none() {
        ctx.not_mapped(loc, "not a valid HL7 date/time");
    }
    d
}

/// A FHIR `dateTime` from a DTM/TS value.
pub fn date_time<'a>(ctx: &mut Ctx<'_, 'a>, v: Value<'a>, loc: Loc<'a>) -> Option<String> {
    let s = txt(v.component(1))?;
    let d = parse_or_report(ctx, &s, loc)?;
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
pub fn date<'a>(ctx: &mut Ctx<'_, 'a>, v: Value<'a>, loc: Loc<'a>) -> Option<String> {
    let s = txt(v.component(1))?;
    parse_or_report(ctx, &s, loc).map(|d| d.date())
}

/// A FHIR `instant`; values too imprecise for one are reported unmapped.
pub fn instant<'a>(ctx: &mut Ctx<'_, 'a>, v: Value<'a>, loc: Loc<'a>) -> Option<String> {
    let s = txt(v.component(1))?;
    let d = parse_or_report(ctx, &s, loc)?;
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
    loc: Loc<'a>,
) -> Option<Json<'a>> {
    let start = date_time(ctx, start, loc);
    let end = date_time(ctx, end, loc);
    if start.is_none() && end.is_none() {
        return None;
    }
    let mut p = ObjWriter::new();
    p.opt_str("start", start.as_deref());
    p.opt_str("end", end.as_deref());
    Some(p.finish())
}
