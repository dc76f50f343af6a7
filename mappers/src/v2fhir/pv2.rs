//! PV2 -> the current Encounter (IG PV2[Encounter]).
//!
//! Mapped: PV2-1 prior pending location (a `location` with status
//! `planned`), PV2-3 admit reason (`reasonCode`), PV2-8/9 expected admit
//! and discharge (the IG's R5 cross-version extensions plannedStartDate
//! and plannedEndDate; the IG sheet's PV2-9 URL has a stray `v\` and is
//! written as the R5 canonical), PV2-11 actual length of stay (`length`
//! in days, IG NM[Quantity-LengthOfStay]), PV2-12 visit description (the
//! narrative), PV2-13 referral source (a `REF` participant), PV2-22 visit
//! protection `Y` (a `restricted` security label: the IG maps the yes/no
//! flag to `meta.security` without naming the label, and v3
//! Confidentiality R is the one that means "protected"), PV2-25 priority
//! (EncounterPriority) and PV2-38 mode of arrival (the
//! encounter-modeOfArrival extension). The rest is reported.

use super::ctx::{comps, txt, Ctx, Seg};
use super::json::{push, set, Json, Obj, ObjWriter};
use super::{arv, cwe, dates, pl, pv1, tables};

const PLANNED_START: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-Encounter.plannedStartDate";
const PLANNED_END: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-Encounter.plannedEndDate";
const MODE_OF_ARRIVAL: &str = "http://hl7.org/fhir/StructureDefinition/encounter-modeOfArrival";

fn extension<'a>(url: &'static str, key: &'static str, value: Json<'a>) -> Json<'a> {
    let mut e = Obj::with_capacity(2);
    set(&mut e, "url", url);
    set(&mut e, key, value);
    Json::Object(e)
}

/// `text` with `plain` as an XHTML narrative div (escaped).
pub fn narrative(plain: &str) -> Json<'static> {
    let mut div = String::with_capacity(plain.len() + 48);
    div.push_str("<div xmlns=\"http://www.w3.org/1999/xhtml\">");
    for ch in plain.chars() {
        match ch {
            '<' => div.push_str("&lt;"),
            '>' => div.push_str("&gt;"),
            '&' => div.push_str("&amp;"),
            '"' => div.push_str("&quot;"),
            c => div.push(c),
        }
    }
    div.push_str("</div>");
    let mut t = ObjWriter::new();
    t.str("status", "generated");
    t.str("div", &div);
    t.finish()
}

/// Maps PV2 into the current Encounter.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(enc) = ctx.encounter else { return };
    let at = seg.at(3);
    if let Some(c) = cwe::concept_of(ctx, seg.take_c(3, cwe::MASK), at) {
        push(ctx.res(enc), "reasonCode", c);
    }
    if let Some(l) = pl::location(ctx, seg.take_c(1, pl::MASK)) {
        let mut o = ObjWriter::new();
        o.reference("location", ctx.full_url(l));
        o.str("status", "planned");
        let entry = o.finish();
        push(ctx.res(enc), "location", entry);
    }
    let mut extensions = Vec::new();
    for (seq, url) in [(8, PLANNED_START), (9, PLANNED_END)] {
        let at = seg.at(seq);
        if let Some(d) = dates::date_time(ctx, seg.take(seq), at) {
            extensions.push(extension(url, "valueDateTime", Json::from(d)));
        }
    }
    if let Some(code) = txt(seg.peek(38).component(1)) {
        match tables::lookup("mode-of-arrival", &code) {
            Some(e) => {
                seg.mark(38, cwe::MASK);
                let mut c = ObjWriter::new();
                c.str("system", &e.system);
                c.str("code", &e.code);
                c.opt_str(
                    "display",
                    Some(e.display.as_str()).filter(|d| !d.is_empty()),
                );
                extensions.push(extension(MODE_OF_ARRIVAL, "valueCoding", c.finish()));
            }
            None => ctx.not_mapped(seg.at(38), "code not in the v2 table 0430 map"),
        }
    }
    for e in extensions {
        push(ctx.res(enc), "extension", e);
    }
    if let Some(n) = seg.text(11) {
        match n.parse::<u32>() {
            Ok(days) => {
                let mut q = Obj::with_capacity(4);
                set(&mut q, "value", days);
                set(&mut q, "unit", "days");
                set(&mut q, "system", "http://unitsofmeasure.org");
                set(&mut q, "code", "d");
                set(ctx.res(enc), "length", q);
            }
            Err(_) => ctx.not_mapped(seg.at(11), "length of stay is not a count of days"),
        }
    }
    if let Some(d) = seg.text(12) {
        set(ctx.res(enc), "text", narrative(&d));
    }
    let mut parts = Vec::new();
    pv1::participant(ctx, seg, 13, "REF", "referrer", &mut parts);
    for p in parts {
        push(ctx.res(enc), "participant", p);
    }
    if let Some(flag) = txt(seg.take_c(22, comps(&[1])).component(1)) {
        let at = seg.at(22);
        if cwe::mapped_code(ctx, "yes-no", &flag, at) == Some("true") {
            let mut c = ObjWriter::new();
            c.str(
                "system",
                "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
            );
            c.str("code", "R");
            c.str("display", "restricted");
            arv::label(ctx.res(enc), c.finish());
        }
    }
    let at = seg.at(25);
    if seg.peek(25).has_value() {
        if let Some(p) =
            cwe::mapped_concept(ctx, "encounter-priority", seg.take_c(25, cwe::MASK), at)
        {
            set(ctx.res(enc), "priority", p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrative_escapes_markup() {
        let mut out = Vec::new();
        narrative("a < b & \"c\"").write(&mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">a &lt; b &amp; &quot;c&quot;</div>"}"#
        );
    }

    #[test]
    fn priority_and_arrival_tables_follow_the_ig() {
        let p = |c: &str| tables::lookup("encounter-priority", c).map(|e| e.code.as_str());
        assert_eq!(
            (p("1"), p("2"), p("3"), p("4")),
            (Some("EM"), Some("UR"), Some("EL"), None)
        );
        let a = |c: &str| tables::lookup("mode-of-arrival", c).map(|e| e.display.as_str());
        assert_eq!(a("H"), Some("Helicopter"));
        assert_eq!(a("X"), None);
    }
}
