//! XTN (telecom number) -> ContactPoint. IG XTN[ContactPoint]: 2 use
//! (table 0201), 3 system (table 0202), 4 email, 5-8 the number (the
//! value `+5 6 7 X8`, and each part in its contactpoint-country, -area,
//! -local and -extension extension), 12 unformatted number, 1 the
//! deprecated formatted number, 13/14 period, 18 rank.

use std::borrow::Cow;

use super::json::Json;

use crate::hl7v2::Value;

use super::ctx::{comps, txt, Ctx, Loc};
use super::dates;
use super::json::ObjWriter;
use super::tables;

const EXT: &str = "http://hl7.org/fhir/StructureDefinition/";

/// The IG XTN[ContactPoint] value from the number's parts: `+country
/// area local Xext`, each part only when valued (the IG's four rows for
/// XTN-7 spell the combinations; this is the same text for all of them).
fn formatted(country: Option<&str>, area: Option<&str>, local: &str, ext: Option<&str>) -> String {
    let mut s = String::with_capacity(local.len() + 16);
    if let Some(c) = country {
        s.push('+');
        s.push_str(c);
        s.push(' ');
    }
    if let Some(a) = area {
        s.push_str(a);
        s.push(' ');
    }
    s.push_str(local);
    if let Some(x) = ext {
        s.push_str(" X");
        s.push_str(x);
    }
    s
}

/// Components the XTN map uses.
pub const MASK: u64 = comps(&[1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 14, 18]);

/// One XTN repetition -> ContactPoint; `default_use` applies when XTN-2 is
/// empty (PID-13 home, PID-14 work).
pub fn contact<'a>(
    ctx: &mut Ctx<'_, 'a>,
    rep: Value<'a>,
    default_use: Option<&'static str>,
    loc: Loc<'a>,
) -> Option<Json<'a>> {
    let cs = rep.indexed();
    let equip = txt(cs.get(3));
    let system = match &equip {
        Some(e) => match tables::lookup("telecom-system", e) {
            Some(t) => Some(t.code.as_str()),
            None => {
                ctx.not_mapped(loc.comp(3), "code not in the v2 table 0202 map");
                None
            }
        },
        None => None,
    };
    let email = txt(cs.get(4));
    let (country, area, local, ext) = (
        txt(cs.get(5)),
        txt(cs.get(6)),
        txt(cs.get(7)),
        txt(cs.get(8)),
    );
    let number = if let Some(u) = txt(cs.get(12)) {
        Some(u)
    } else if let Some(l) = &local {
        Some(Cow::Owned(formatted(
            country.as_deref(),
            area.as_deref(),
            l,
            ext.as_deref(),
        )))
    } else {
        txt(cs.get(1))
    };
    let value = if system == Some("email") {
        email.or(number)
    } else {
        number.or(email)
    };
    let value = value?;
    let system = system
        .or_else(|| value.contains('@').then_some("email"))
        .unwrap_or("phone");
    let use_code = match txt(cs.get(2)) {
        Some(u) => match tables::lookup("telecom-use", &u) {
            Some(t) => Some(t.code.as_str()),
            None => {
                ctx.not_mapped(loc.comp(2), "code not in the v2 table 0201 map");
                None
            }
        },
        None if equip.as_deref() == Some("CP") => Some("mobile"),
        None => default_use,
    };
    let rank = txt(cs.get(18))
        .and_then(|r| r.parse::<u32>().ok())
        .filter(|r| *r > 0);
    let period = dates::period(ctx, cs.get(13), cs.get(14), loc);
    let mut c = ObjWriter::new();
    if system != "email" {
        let parts = [
            ("contactpoint-country", &country),
            ("contactpoint-area", &area),
            ("contactpoint-local", &local),
            ("contactpoint-extension", &ext),
        ];
        if parts.iter().any(|(_, v)| v.is_some()) {
            let mut list = Vec::with_capacity(4);
            for (name, v) in parts {
                if let Some(v) = v {
                    let mut e = ObjWriter::new();
                    e.str("url", &format!("{EXT}{name}"));
                    e.str("valueString", v);
                    list.push(e.finish());
                }
            }
            c.json("extension", &Json::Array(list));
        }
    }
    c.str("system", system);
    c.str("value", &value);
    c.opt_str("use", use_code);
    if let Some(r) = rank {
        c.json("rank", &Json::from(r));
    }
    if let Some(p) = &period {
        c.json("period", p);
    }
    Some(c.finish())
}

/// Every repetition of an XTN field.
pub fn contacts<'a>(
    ctx: &mut Ctx<'_, 'a>,
    field: Value<'a>,
    default_use: Option<&'static str>,
    loc: Loc<'a>,
) -> Vec<Json<'a>> {
    field
        .repetitions()
        .filter_map(|r| contact(ctx, r, default_use, loc))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::formatted;

    #[test]
    fn number_text_follows_the_ig_rows() {
        // IG XTN.7 rows: 6+" "+7, "+"+5+" "+6+" "+7, ... +" X"+8
        assert_eq!(formatted(None, Some("734"), "6777777", None), "734 6777777");
        assert_eq!(
            formatted(Some("1"), Some("734"), "6777777", None),
            "+1 734 6777777"
        );
        assert_eq!(
            formatted(Some("1"), Some("734"), "6777777", Some("12")),
            "+1 734 6777777 X12"
        );
        assert_eq!(
            formatted(None, Some("734"), "6777777", Some("12")),
            "734 6777777 X12"
        );
        assert_eq!(formatted(None, None, "6777777", None), "6777777");
    }
}
