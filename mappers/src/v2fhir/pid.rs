//! PID -> Patient (IG PID[Patient]); PID-18 -> Account (PID[Account]);
//! PID-21 -> the mother as RelatedPerson (CX[RelatedPerson-Mother]).
//!
//! PID-10 race and PID-22 ethnic group are left to local extensions by the
//! IG ("local implementation") and are therefore reported unmapped.

use super::json::Json;

use super::ctx::{comps, txt, Ctx, Key, Seg, ALL};
use super::cwe;
use super::cx::{self, id_type, Ident};
use super::dates;
use super::dtm::Dtm;
use super::hd::local_system;
use super::json::{extend, push, set, set_opt, Obj};
use super::tables;
use super::{xad, xpn, xtn};

const EXT: &str = "http://hl7.org/fhir/StructureDefinition/";

fn ext<'a>(url: &str, key: &'static str, value: Json<'a>) -> Json<'a> {
    let mut e = Obj::new();
    set(&mut e, "url", format!("{EXT}{url}"));
    set(&mut e, key, value);
    Json::Object(e)
}

fn coded_ext<'a>(url: &str, value: Json<'a>) -> Json<'a> {
    let mut inner = Obj::new();
    set(&mut inner, "url", "code");
    set(&mut inner, "valueCodeableConcept", value);
    let mut e = Obj::new();
    set(&mut e, "url", format!("{EXT}{url}"));
    push(&mut e, "extension", inner);
    Json::Object(e)
}

/// The key of a person: the first identifier that has a system.
pub fn key_of(idents: &[Ident<'_>]) -> Option<(String, String)> {
    idents
        .iter()
        .find_map(|i| i.system.as_ref().map(|s| (s.clone(), i.value.to_string())))
}

/// PID-21 mother's identifier -> a RelatedPerson for the mother (IG
/// CX[RelatedPerson-Mother]: the identifier, relationship `MTH` of v3
/// RoleCode, the default "if no further context is known", and the
/// patient).
fn mother<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>, patient: usize) {
    let at = seg.at(21);
    for id in cx::identifiers(ctx, seg.take_c(21, cx::MASK), at) {
        let mut r = Obj::with_capacity(3);
        push(&mut r, "identifier", id.json);
        set(&mut r, "patient", ctx.reference(patient));
        push(
            &mut r,
            "relationship",
            super::json::concept(
                "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                "MTH",
                Some("mother"),
            ),
        );
        match &id.system {
            Some(s) => ctx.add("RelatedPerson", Key::Ident(s, &id.value), r),
            None => ctx.add(
                "RelatedPerson",
                Key::Pos(&format!("PID-21|{}", id.value)),
                r,
            ),
        };
    }
}

/// Maps PID.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    // a second PID group (A17, A24, A37) has its own account, if any
    ctx.account = None;
    let mut p = Obj::new();
    seg.mark(1, ALL); // set id
    let mut idents: Vec<Ident<'a>> = Vec::new();
    for seq in [3, 2, 4] {
        let at = seg.at(seq);
        let f = seg.take_c(seq, cx::MASK);
        idents.extend(cx::identifiers(ctx, f, at));
    }
    if let Some(ssn) = seg.text(19) {
        let mut i = Obj::new();
        set(&mut i, "type", id_type("SS"));
        set(&mut i, "system", "http://hl7.org/fhir/sid/us-ssn");
        set(&mut i, "value", ssn.clone());
        idents.push(Ident {
            json: Json::Object(i),
            system: Some("http://hl7.org/fhir/sid/us-ssn".into()),
            value: ssn,
        });
    }
    let dln = seg.take_c(20, comps(&[1, 2, 3]));
    if let Some(v) = txt(dln.component(1)) {
        let mut i = Obj::new();
        set(&mut i, "type", id_type("DL"));
        let system =
            txt(dln.component(2)).map(|s| local_system(ctx.cfg, &format!("driver-license-{s}")));
        set_opt(&mut i, "system", system.clone());
        set(&mut i, "value", v.clone());
        let at = seg.at(20);
        if let Some(end) = dates::date(ctx, dln.component(3), at) {
            let mut per = Obj::new();
            set(&mut per, "end", end);
            set(&mut i, "period", per);
        }
        idents.push(Ident {
            json: Json::Object(i),
            system,
            value: v,
        });
    }
    let key = key_of(&idents);
    if !idents.is_empty() {
        set(
            &mut p,
            "identifier",
            Json::Array(idents.into_iter().map(|i| i.json).collect()),
        );
    }
    let mut extensions = Vec::new();
    let mothers = seg.take_c(6, comps(&[1]));
    if let Some(m) = txt(mothers.component(1).subcomponent(1)) {
        extensions.push(ext(
            "patient-mothersMaidenName",
            "valueString",
            Json::from(m),
        ));
    }
    let at = seg.at(17);
    if let Some(r) = cwe::concept_of(ctx, seg.take_c(17, cwe::MASK), at) {
        extensions.push(ext("patient-religion", "valueCodeableConcept", r));
    }
    if let Some(b) = seg.text(23) {
        let mut a = Obj::new();
        set(&mut a, "text", b);
        extensions.push(ext("patient-birthPlace", "valueAddress", Json::Object(a)));
    }
    let at = seg.at(26);
    for c in cwe::concepts(ctx, seg.take_c(26, cwe::MASK), at) {
        extensions.push(coded_ext("patient-citizenship", c));
    }
    let at = seg.at(28);
    if let Some(c) = cwe::concept_of(ctx, seg.take_c(28, cwe::MASK), at) {
        extensions.push(coded_ext("patient-nationality", c));
    }
    if !extensions.is_empty() {
        set(&mut p, "extension", Json::Array(extensions));
    }

    let at = seg.at(5);
    let mut names = xpn::names(ctx, seg.take_c(5, xpn::MASK), at);
    let at = seg.at(9);
    names.extend(xpn::names(ctx, seg.take_c(9, xpn::MASK), at));
    extend(&mut p, "name", names);

    let at = seg.at(13);
    let mut telecom = xtn::contacts(ctx, seg.take_c(13, xtn::MASK), Some("home"), at);
    let at = seg.at(14);
    telecom.extend(xtn::contacts(
        ctx,
        seg.take_c(14, xtn::MASK),
        Some("work"),
        at,
    ));
    extend(&mut p, "telecom", telecom);

    if let Some(g) = txt(seg.take_c(8, comps(&[1])).component(1)) {
        let at = seg.at(8);
        if let Some(code) = cwe::mapped_code(ctx, "gender", &g, at) {
            set(&mut p, "gender", code);
        }
    }
    let at = seg.at(7);
    let birth = seg.take(7);
    if let Some(d) = dates::date(ctx, birth, at) {
        set(&mut p, "birthDate", d);
        let has_time = txt(birth.component(1))
            .and_then(|s| Dtm::parse(&s).map(|d| d.has_time()))
            .unwrap_or(false);
        if has_time {
            if let Some(dt) = dates::date_time(ctx, birth, at).filter(|t| t.contains('T')) {
                let mut under = Obj::new();
                push(
                    &mut under,
                    "extension",
                    ext("patient-birthTime", "valueDateTime", Json::from(dt)),
                );
                set(&mut p, "_birthDate", under);
            }
        }
    }
    let at = seg.at(29);
    let death = dates::date_time(ctx, seg.take(29), at);
    let death_flag = seg.take_c(30, comps(&[1]));
    match death {
        Some(d) => set(&mut p, "deceasedDateTime", d),
        None => {
            if let Some(f) = txt(death_flag.component(1)) {
                let at = seg.at(30);
                if let Some(b) = cwe::mapped_code(ctx, "yes-no", &f, at) {
                    set(&mut p, "deceasedBoolean", b == "true");
                }
            }
        }
    }
    let at = seg.at(11);
    let field = seg.take_c(11, xad::MASK);
    let county = seg.text(12);
    let addresses = xad::addresses_with_county(ctx, field, at, county);
    extend(&mut p, "address", addresses);
    let at = seg.at(16);
    if let Some(m) = cwe::mapped_concept(ctx, "marital-status", seg.take_c(16, cwe::MASK), at) {
        set(&mut p, "maritalStatus", m);
    }
    let order = seg.text(25).and_then(|o| o.parse::<i64>().ok());
    let multiple = seg.take_c(24, comps(&[1]));
    match order {
        Some(o) => set(&mut p, "multipleBirthInteger", o),
        None => {
            if let Some(f) = txt(multiple.component(1)) {
                let at = seg.at(24);
                if let Some(b) = cwe::mapped_code(ctx, "yes-no", &f, at) {
                    set(&mut p, "multipleBirthBoolean", b == "true");
                }
            }
        }
    }
    let at = seg.at(15);
    if let Some(l) = cwe::concept_of(ctx, seg.take_c(15, cwe::MASK), at) {
        let mut c = Obj::new();
        set(&mut c, "language", l);
        push(&mut p, "communication", c);
    }

    let idx = match &key {
        Some((s, v)) => ctx.add("Patient", Key::Ident(s, v), p),
        None => {
            let disc = format!("PID|{}", seg.index());
            ctx.add("Patient", Key::Pos(&disc), p)
        }
    };
    ctx.patient = Some(idx);
    ctx.focus.push(idx);

    mother(ctx, seg, idx);
    let at = seg.at(18);
    let account = seg.take_c(18, cx::MASK);
    if let Some(id) = cx::identifier(ctx, account.repetition(1), at) {
        let mut a = Obj::new();
        push(&mut a, "identifier", id.json);
        set(&mut a, "status", "active");
        push(&mut a, "subject", ctx.reference(idx));
        let acc = match &id.system {
            Some(s) => ctx.add("Account", Key::Ident(s, &id.value), a),
            None => ctx.add("Account", Key::Pos(&format!("PID-18|{}", id.value)), a),
        };
        ctx.account = Some(acc);
    }
    let _ = tables::v2_table("gender");
}
