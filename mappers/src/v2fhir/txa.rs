//! MDM: TXA -> DocumentReference (IG TXA[DocumentReference]); the OBX
//! segments that follow carry the document text (IG OBX[DocumentReference]
//! content), collected into `content.attachment.data`. Addenda (T05/T06)
//! and replacements (T09/T10) relate to the TXA-13 parent document through
//! `relatesTo` (appends / replaces); a cancel (T11) is `entered-in-error`.

use std::borrow::Cow;

use super::json::Json;

use super::ctx::{comps, txt, Ctx, Key, Seg, ALL};
use super::cwe;
use super::cx;
use super::dates;
use super::json::{base64, concept, push, set, set_opt, Obj};
use super::tables;
use super::xcn;

/// Maps TXA.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(patient) = ctx.patient else { return };
    seg.mark(1, ALL);
    let mut d = Obj::new();
    let master = cx::entity(ctx, seg.take_c(12, comps(&[1, 2, 3, 4])), None);
    let key = master
        .as_ref()
        .and_then(|i| i.system.clone().map(|s| (s, i.value.clone())));
    if let Some(m) = master {
        set(&mut d, "masterIdentifier", m.json);
    }
    if let Some(f) = seg.text(16) {
        let mut i = Obj::new();
        set(&mut i, "value", f);
        push(&mut d, "identifier", i);
    }
    let status = match txt(seg.peek(19).component(1)).as_deref() {
        None | Some("AV") => {
            seg.mark(19, ALL);
            "current"
        }
        Some(_) => "current",
    };
    let status = super::events::document_status(&ctx.trigger).unwrap_or(status);
    set(&mut d, "status", status);
    if let Some(code) = super::events::document_relation(&ctx.trigger) {
        // TXA-13 parent document: the document this addendum appends to or
        // this replacement replaces, referenced by its identifier (the
        // parent was sent by an earlier message)
        if let Some(parent) = cx::entity(ctx, seg.take_c(13, comps(&[1, 2, 3, 4])), None) {
            let mut target = Obj::new();
            set(&mut target, "type", "DocumentReference");
            set(&mut target, "identifier", parent.json);
            let mut r = Obj::new();
            set(&mut r, "code", code);
            set(&mut r, "target", target);
            push(&mut d, "relatesTo", r);
        }
    }
    if let Some(s) = txt(seg.take_c(17, comps(&[1])).component(1)) {
        match &*s {
            "AU" | "DO" | "LA" => set(&mut d, "docStatus", "final"),
            "IP" | "IN" | "PA" | "DI" => set(&mut d, "docStatus", "preliminary"),
            _ => ctx.not_mapped(seg.at(17), "document completion status has no docStatus"),
        }
    }
    let doc_type = seg.take_c(2, cwe::MASK);
    if let Some(code) = txt(doc_type.component(1)) {
        if txt(doc_type.component(3)).is_none() {
            let disp = txt(doc_type.component(2));
            set(
                &mut d,
                "type",
                concept(tables::v2_system("0270"), code, disp.as_deref()),
            );
        } else {
            let at = seg.at(2);
            set_opt(&mut d, "type", cwe::concept_of(ctx, doc_type, at));
        }
    }
    set(&mut d, "subject", ctx.reference(patient));
    let at = seg.at(6);
    let created = seg.take(6);
    set_opt(&mut d, "date", dates::instant(ctx, created, at));
    let at = seg.at(9);
    let f = seg.take_c(9, xcn::MASK);
    for p in xcn::practitioners(ctx, f, at) {
        let r = ctx.reference(p);
        push(&mut d, "author", r);
    }
    let at = seg.at(10);
    let f = seg.take_c(10, xcn::MASK);
    if let Some(p) = xcn::practitioner(ctx, f.repetition(1), at) {
        set(&mut d, "authenticator", ctx.reference(p));
    }
    set_opt(&mut d, "description", seg.text(25));
    if let Some(c) = txt(seg.take_c(18, comps(&[1])).component(1)) {
        push(
            &mut d,
            "securityLabel",
            concept(tables::v2_system("0272"), c, None),
        );
    }
    let mime = match txt(seg.take(3)).as_deref() {
        Some("TX") | Some("FT") | None => "text/plain",
        Some("AP") => "application/octet-stream",
        Some(_) => "text/plain",
    };
    let mut att = Obj::new();
    set(&mut att, "contentType", mime);
    let mut content = Obj::new();
    set(&mut content, "attachment", att);
    push(&mut d, "content", content);
    if let Some(e) = ctx.encounter_ref() {
        let mut c = Obj::new();
        push(&mut c, "encounter", e);
        set(&mut d, "context", c);
    }
    let idx = match &key {
        Some((s, v)) => ctx.add("DocumentReference", Key::Ident(s, v), d),
        None => ctx.add(
            "DocumentReference",
            Key::Pos(&format!("TXA|{}", seg.index())),
            d,
        ),
    };
    ctx.document = Some(idx);
    ctx.focus.push(idx);
}

/// Adds an OBX to the document: text types (TX, FT, ST) are appended to
/// the document text; ED with Base64 data becomes the attachment itself.
/// Other value types are left to the report.
pub fn append<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(doc) = ctx.document else { return };
    seg.mark(1, ALL);
    seg.mark(2, ALL);
    seg.mark(3, ALL); // identifies the part of the document
    seg.mark(4, ALL);
    seg.mark(11, ALL); // result status of a document part: no element
    let kind = txt(seg.peek(2)).unwrap_or_default();
    let mut att = Obj::new();
    match &*kind {
        "TX" | "FT" | "ST" => {
            let lines: Vec<Cow<'_, str>> = seg
                .take(5)
                .repetitions()
                .map(|r| txt(r).unwrap_or_default())
                .collect();
            ctx.doc_text.push_str(&lines.join("\n"));
            ctx.doc_text.push('\n');
            set(&mut att, "contentType", "text/plain");
            set(&mut att, "data", base64(ctx.doc_text.as_bytes()));
        }
        "ED" => {
            let v = seg.peek(5);
            let enc = txt(v.component(4)).unwrap_or_default();
            let data = txt(v.component(5));
            match data {
                Some(d) if enc.eq_ignore_ascii_case("Base64") => {
                    seg.mark(5, ALL);
                    let sub = txt(v.component(3)).unwrap_or_default().to_ascii_lowercase();
                    let main = txt(v.component(2))
                        .unwrap_or_else(|| "application".into())
                        .to_ascii_lowercase();
                    set(&mut att, "contentType", format!("{main}/{sub}"));
                    set(&mut att, "data", d.replace(['\r', '\n', ' '], ""));
                }
                _ => return,
            }
        }
        _ => return,
    }
    if let Some(Json::Array(content)) = ctx.res(doc).get_mut("content") {
        if let Some(Json::Object(c)) = content.first_mut() {
            c.insert("attachment", Json::Object(att));
        }
    }
}
