//! OBR in results -> Specimen (IG OBR[Specimen]; ORU_R01 message map:
//! `DiagnosticReport.specimen`), for results that describe their specimen
//! in the OBR (v2.3 to v2.4 style) rather than in an SPM.
//!
//! Made only when the OBR carries specimen data: OBR-9 collection volume,
//! OBR-10 collector, OBR-14 received time, OBR-15 specimen source or
//! OBR-39 collector's comment. OBR-7/8 alone are the observation time
//! (IG OBR[DiagnosticReport] effective[x]) and say nothing a Specimen
//! would add. Then: OBR-2 `accessionIdentifier` (as the IG row says),
//! OBR-7/8 collection time, OBR-9 `collection.quantity`, OBR-10
//! `collection.collector`, OBR-14 `receivedTime`, OBR-15 (SPS) SPS-1
//! `type` and SPS-4 `collection.bodySite`, OBR-39 `note`.

use std::borrow::Cow;

use crate::hl7v2::Value;

use super::ctx::{comps, txt, Ctx, Key, Loc, Seg, ALL};
use super::cwe;
use super::dates;
use super::json::{decimal, push, set, Json, Obj, ObjWriter};
use super::xcn;

/// Specimen fields of OBR (see the module doc).
const SPECIMEN_FIELDS: [usize; 5] = [9, 10, 14, 15, 39];

/// A CWE held in the sub-components of one component (SPS-1, SPS-4).
fn sub_concept<'a>(ctx: &mut Ctx<'_, 'a>, v: Value<'a>, loc: Loc<'a>) -> Option<Json<'a>> {
    let code = txt(v.subcomponent(1));
    let display = txt(v.subcomponent(2));
    let text = txt(v.subcomponent(9));
    if code.is_none() && display.is_none() && text.is_none() {
        return None;
    }
    let mut cc = ObjWriter::new();
    if let Some(c) = &code {
        let mut coding = ObjWriter::new();
        if let Some(name) = txt(v.subcomponent(3)) {
            let s: Cow<'static, str> = cwe::system_for(ctx, &name, loc);
            coding.str("system", &s);
        }
        coding.str("code", c);
        coding.opt_str("display", display.as_deref());
        cc.array_of_one("coding", coding);
    }
    let text = text.or(if code.is_none() { display } else { None });
    cc.opt_str("text", text.as_deref());
    Some(cc.finish())
}

/// Whether the OBR carries specimen data.
pub fn has_specimen(seg: &Seg<'_>) -> bool {
    SPECIMEN_FIELDS.iter().any(|&s| seg.peek(s).has_value())
}

/// Makes the Specimen of an OBR in results and links it from `report`.
/// `accession` is OBR-2 as an Identifier; `observed` OBR-7/8.
pub fn map<'a>(
    ctx: &mut Ctx<'_, 'a>,
    seg: &mut Seg<'a>,
    report: usize,
    accession: Option<Json<'a>>,
    observed: (Option<String>, Option<String>),
) {
    let mut s = Obj::new();
    if let Some(a) = accession {
        set(&mut s, "accessionIdentifier", a);
    }
    let source = seg.take_c(15, comps(&[1, 4]));
    let at = seg.at(15);
    if let Some(t) = sub_concept(ctx, source.component(1), at) {
        set(&mut s, "type", t);
    }
    if let Some(p) = ctx.patient {
        set(&mut s, "subject", ctx.reference(p));
    }
    let at = seg.at(14);
    if let Some(r) = dates::date_time(ctx, seg.take(14), at) {
        set(&mut s, "receivedTime", r);
    }
    let mut c = Obj::new();
    match observed {
        (Some(start), Some(end)) => {
            let mut p = Obj::with_capacity(2);
            set(&mut p, "start", start);
            set(&mut p, "end", end);
            set(&mut c, "collectedPeriod", p);
        }
        (Some(start), None) => set(&mut c, "collectedDateTime", start),
        _ => {}
    }
    let volume = seg.peek(9);
    if let Some(a) = txt(volume.component(1)) {
        match decimal(&a) {
            Some(v) => {
                seg.mark(9, ALL);
                let mut q = Obj::new();
                set(&mut q, "value", v);
                let units = volume.component(2);
                if let Some(code) = txt(units.subcomponent(1)) {
                    let unit = txt(units.subcomponent(2)).unwrap_or_else(|| code.clone());
                    set(&mut q, "unit", unit);
                    set(&mut q, "code", code);
                }
                set(&mut c, "quantity", q);
            }
            None => ctx.not_mapped(seg.at(9), "collection volume is not a number"),
        }
    }
    let at = seg.at(10);
    let collector = seg.take_c(10, xcn::MASK);
    if let Some(p) = xcn::practitioner(ctx, collector.repetition(1), at) {
        set(&mut c, "collector", ctx.reference(p));
    }
    let at = seg.at(15);
    if let Some(b) = sub_concept(ctx, source.component(4), at) {
        set(&mut c, "bodySite", b);
    }
    if !c.is_empty() {
        set(&mut s, "collection", c);
    }
    let notes = seg.take_c(39, cwe::MASK);
    for rep in notes.repetitions() {
        if let Some(t) = txt(rep.component(9))
            .or_else(|| txt(rep.component(2)))
            .or_else(|| txt(rep.component(1)))
        {
            let mut n = Obj::with_capacity(1);
            set(&mut n, "text", t);
            push(&mut s, "note", n);
        }
    }
    let idx = ctx.add("Specimen", Key::Pos(&format!("OBR-SPM|{}", seg.index())), s);
    let r = ctx.reference(idx);
    push(ctx.res(report), "specimen", r);
}
