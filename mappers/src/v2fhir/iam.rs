//! IAM (patient adverse reaction information, ADT^A60) ->
//! AllergyIntolerance (IG IAM[AllergyIntolerance]): IAM-2 category
//! (table 0127), IAM-3 code, IAM-4 criticality (table 0128), IAM-5
//! reactions, IAM-7 identifier, IAM-11 onset, IAM-13 recorded date, IAM-17
//! clinical status (table 0389) as verification status.
//!
//! IAM-6 action code `D` (delete) makes the record `entered-in-error`
//! (without a clinical status, as FHIR requires); table 0389 `E`
//! (erroneous) is `refuted`, `I` (confirmed but inactive) is `confirmed`
//! with clinical status `inactive`, `C` is `confirmed`, and `D`, `P`, `S`,
//! `U` (doubt, pending, suspect, unconfirmed) are `unconfirmed`.

use super::json::Json;

use super::ctx::{comps, txt, Ctx, Key, Seg, ALL};
use super::cwe;
use super::cx;
use super::dates;
use super::json::{concept, push, set, set_opt, Obj};

const CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
const VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification";

/// (verification, clinical) for a table 0389 code.
pub fn status_of(code: &str) -> Option<(&'static str, &'static str)> {
    Some(match code {
        "C" => ("confirmed", "active"),
        "I" => ("confirmed", "inactive"),
        "E" => ("refuted", "inactive"),
        "D" | "P" | "S" | "U" => ("unconfirmed", "active"),
        _ => return None,
    })
}

/// Maps IAM.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(patient) = ctx.patient else { return };
    seg.mark(1, ALL);
    let mut a = Obj::new();
    let id = cx::entity(ctx, seg.take_c(7, comps(&[1, 2, 3, 4])), None);
    let k = match &id {
        Some(i) => format!("IAM|{}|{}", i.system.as_deref().unwrap_or(""), i.value),
        None => format!("IAM|{}", seg.index()),
    };
    if let Some(i) = id {
        push(&mut a, "identifier", i.json);
    }
    let deleted = txt(seg.take_c(6, comps(&[1, 2, 3])).component(1)).as_deref() == Some("D");
    if deleted {
        set(
            &mut a,
            "verificationStatus",
            concept(VERIFICATION, "entered-in-error", None),
        );
    } else {
        let code = txt(seg.peek(17).component(1));
        let (ver, clin) = match code.as_deref().map(|c| (c, status_of(c))) {
            Some((_, Some(s))) => {
                seg.mark(17, cwe::MASK);
                (Some(s.0), s.1)
            }
            Some((_, None)) => {
                ctx.not_mapped(seg.at(17), "code not in the v2 table 0389 map");
                (None, "active")
            }
            None => (None, "active"),
        };
        set(&mut a, "clinicalStatus", concept(CLINICAL, clin, None));
        if let Some(v) = ver {
            set(&mut a, "verificationStatus", concept(VERIFICATION, v, None));
        }
    }
    if let Some(t) = txt(seg.take_c(2, comps(&[1, 2, 3])).component(1)) {
        match super::tables::lookup("allergy-category", &t) {
            Some(cat) => push(&mut a, "category", cat.code.as_str()),
            None => ctx.not_mapped(seg.at(2), "code not in the v2 table 0127 map"),
        }
    }
    if let Some(s) = txt(seg.take_c(4, comps(&[1, 2, 3])).component(1)) {
        match super::tables::lookup("allergy-criticality", &s) {
            Some(c) => set(&mut a, "criticality", c.code.as_str()),
            None => ctx.not_mapped(seg.at(4), "code not in the v2 table 0128 map"),
        }
    }
    let at = seg.at(3);
    set_opt(
        &mut a,
        "code",
        cwe::concept_of(ctx, seg.take_c(3, cwe::MASK), at),
    );
    set(&mut a, "patient", ctx.reference(patient));
    if let Some(e) = ctx.encounter_ref() {
        set(&mut a, "encounter", e);
    }
    let at = seg.at(11);
    set_opt(
        &mut a,
        "onsetDateTime",
        dates::date_time(ctx, seg.take(11), at),
    );
    let at = seg.at(13);
    set_opt(
        &mut a,
        "recordedDate",
        dates::date_time(ctx, seg.take(13), at),
    );
    let reactions: Vec<Json<'_>> = seg
        .take(5)
        .repetitions()
        .filter_map(|r| txt(r.component(2)).or_else(|| txt(r.component(1))))
        .map(|t| {
            let mut m = Obj::new();
            set(&mut m, "text", t);
            Json::Object(m)
        })
        .collect();
    if !reactions.is_empty() {
        let mut r = Obj::new();
        set(&mut r, "manifestation", Json::Array(reactions));
        push(&mut a, "reaction", r);
    }
    let idx = ctx.add("AllergyIntolerance", Key::Pos(&k), a);
    ctx.note_target = Some(idx);
}

#[cfg(test)]
mod tests {
    use super::status_of;

    #[test]
    fn table_0389() {
        assert_eq!(status_of("C"), Some(("confirmed", "active")));
        assert_eq!(status_of("I"), Some(("confirmed", "inactive")));
        assert_eq!(status_of("E"), Some(("refuted", "inactive")));
        assert_eq!(status_of("S"), Some(("unconfirmed", "active")));
        assert_eq!(status_of("X"), None);
    }
}
