//! XPN (person name) -> HumanName. IG XPN[HumanName]: XPN-1 family,
//! 2/3 given, 4 suffix, 5 prefix, 6 degree (suffix), 7 use (table 0200),
//! 10 or 12/13 period, 14 professional suffix.

use std::borrow::Cow;

use super::json::Json;

use crate::hl7v2::Value;

use super::ctx::{comps, txt, Ctx, Loc};
use super::cwe::mapped_code;
use super::dates;
use super::json::ObjWriter;

/// Components the XPN map uses.
pub const MASK: u64 = comps(&[1, 2, 3, 4, 5, 6, 7, 10, 12, 13, 14, 15]);

/// The parts of a HumanName read from an XPN (or the name inside an
/// XCN), before the suffix and period the caller may add: a name is
/// written to bytes once, when complete.
#[derive(Debug)]
pub struct NameParts<'a> {
    use_code: Option<&'static str>,
    family: Option<Cow<'a, str>>,
    given: [Option<Cow<'a, str>>; 2],
    prefix: Option<Cow<'a, str>>,
    suffix: [Option<Cow<'a, str>>; 2],
}

impl<'a> NameParts<'a> {
    /// The HumanName, with `extra_suffix` after the XPN suffixes (XPN-14
    /// or XCN-21) and `period` last.
    pub fn finish(self, extra_suffix: Option<&str>, period: Option<&Json<'a>>) -> Json<'a> {
        self.finish_with(ObjWriter::new(), extra_suffix, period)
    }

    /// [`NameParts::finish`] into `n` (an [`ObjWriter::in_array`] for a
    /// name that is the only one).
    pub fn finish_with(
        self,
        mut n: ObjWriter,
        extra_suffix: Option<&str>,
        period: Option<&Json<'a>>,
    ) -> Json<'a> {
        n.opt_str("use", self.use_code);
        n.opt_str("family", self.family.as_deref());
        let given: Vec<&str> = self.given.iter().flatten().map(|g| g.as_ref()).collect();
        if !given.is_empty() {
            n.str_array("given", &given);
        }
        if let Some(p) = &self.prefix {
            n.str_array("prefix", &[p]);
        }
        let suffix: Vec<&str> = self
            .suffix
            .iter()
            .flatten()
            .map(|s| s.as_ref())
            .chain(extra_suffix)
            .collect();
        if !suffix.is_empty() {
            n.str_array("suffix", &suffix);
        }
        if let Some(p) = period {
            n.json("period", p);
        }
        n.finish()
    }
}

/// One XPN repetition -> the parts of a HumanName. `first` is the
/// component holding the family name (1 for XPN; XCN shifts the layout by
/// one). `None` without a family or given name.
pub fn name_at<'a>(
    ctx: &mut Ctx<'_, 'a>,
    rep: Value<'a>,
    first: usize,
    use_comp: usize,
    loc: Loc<'a>,
) -> Option<NameParts<'a>> {
    let cs = rep.indexed();
    let mut use_code = None;
    if let Some(code) = txt(cs.get(use_comp)) {
        use_code = mapped_code(ctx, "name-use", &code, loc.comp(use_comp));
    }
    let parts = NameParts {
        use_code,
        family: txt(cs.get(first).subcomponent(1)),
        given: [txt(cs.get(first + 1)), txt(cs.get(first + 2))],
        prefix: txt(cs.get(first + 4)),
        suffix: [txt(cs.get(first + 3)), txt(cs.get(first + 5))],
    };
    if parts.family.is_none() && parts.given.iter().all(Option::is_none) {
        return None;
    }
    Some(parts)
}

/// One XPN repetition -> HumanName.
pub fn name<'a>(ctx: &mut Ctx<'_, 'a>, rep: Value<'a>, loc: Loc<'a>) -> Option<Json<'a>> {
    let cs = rep.indexed();
    let parts = name_at(ctx, rep, 1, 7, loc)?;
    let suffix = txt(cs.get(14));
    let range = cs.get(10);
    let p = if range.has_value() {
        dates::period(ctx, range.subcomponent(1), range.subcomponent(2), loc)
    } else {
        dates::period(ctx, cs.get(12), cs.get(13), loc)
    };
    Some(parts.finish(suffix.as_deref(), p.as_ref()))
}

/// Every repetition of an XPN field. XPN-15 "called by" becomes a second
/// HumanName with `use: nickname` (IG XPN[HumanName] row 15: `[2].given`
/// and `[2].use` assigned "nickname").
pub fn names<'a>(ctx: &mut Ctx<'_, 'a>, field: Value<'a>, loc: Loc<'a>) -> Vec<Json<'a>> {
    let mut out = Vec::new();
    for r in field.repetitions() {
        if let Some(n) = name(ctx, r, loc) {
            out.push(n);
        }
        if let Some(called) = txt(r.component(15)) {
            let mut n = ObjWriter::new();
            n.str("use", "nickname");
            n.str_array("given", &[called]);
            out.push(n.finish());
        }
    }
    out
}
