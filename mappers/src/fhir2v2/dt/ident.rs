//! Identifier -> CX and EI, system URI -> HD (IG CX[Identifier],
//! HD[uri] in reverse).

use serde_json::Value;

use super::super::codes;
use super::super::config::{Config, Version};
use super::super::ctx::{s, Ctx};
use super::super::er7::Rep;
use super::{code_in, dtm_at};

/// A system URI as an HD (namespace, universal id, universal id type):
/// `urn:oid:` -> ISO, `urn:uuid:` -> UUID, the local base or a configured
/// name -> the namespace, another URI -> URI.
pub fn hd(cfg: &Config, system: &str) -> Rep {
    let mut r = Rep::default();
    if let Some(oid) = system.strip_prefix("urn:oid:") {
        r.set(2, oid);
        r.set(3, "ISO");
    } else if let Some(uuid) = system.strip_prefix("urn:uuid:") {
        r.set(2, uuid);
        r.set(3, "UUID");
    } else if let Some(name) = codes::local_name(cfg, system) {
        r.set(1, name.into_owned());
    } else {
        r.set(2, system);
        r.set(3, "URI");
    }
    r
}

/// Puts an HD into component `n` of `r` as sub-components (HD inside CX,
/// XCN, EI).
pub(super) fn hd_into(r: &mut Rep, n: usize, h: &Rep) {
    for (i, c) in h.0.iter().enumerate() {
        if let Some(v) = c.first() {
            r.set_sub(n, i + 1, v.clone());
        }
    }
}

/// An Identifier as a CX: 1 value, 4 assigning authority (from the
/// system), 5 type (v2 table 0203), 7/8 period.
pub fn cx(ctx: &mut Ctx<'_, '_>, id: &Value, path: &str) -> Option<Rep> {
    let value = s(id, "value")?;
    let mut r = Rep::default();
    r.set(1, value);
    if let Some(sys) = s(id, "system") {
        let h = hd(ctx.cfg, sys);
        hd_into(&mut r, 4, &h);
    }
    if let Some(t) = id.get("type") {
        match code_in(t, Some("http://terminology.hl7.org/CodeSystem/v2-0203"))
            .or_else(|| code_in(t, None))
        {
            Some(c) => r.set(5, c),
            None => ctx.not_mapped(format!("{path}.type"), "identifier type without a code"),
        }
    }
    if r.component(5).is_none_or(|c| c.is_empty()) && ctx.version().at_least(Version::V27) {
        // CX-5 is required from v2.7; table 0203 has U for "unspecified"
        r.set(5, "U");
    }
    if let Some(p) = id.get("period") {
        if ctx.version().at_least(Version::V25) {
            r.opt(7, dtm_at(ctx, p, "start", path));
            r.opt(8, dtm_at(ctx, p, "end", path));
        }
    }
    Some(r)
}

/// An Identifier as an EI: 1 value, 2 namespace, 3 universal id, 4 type.
pub fn ei(cfg: &Config, id: &Value) -> Option<Rep> {
    let value = s(id, "value")?;
    let mut r = Rep::default();
    r.set(1, value);
    if let Some(sys) = s(id, "system") {
        let h = hd(cfg, sys);
        for (i, c) in h.0.iter().enumerate() {
            if let Some(v) = c.first() {
                r.set(i + 2, v.clone());
            }
        }
    }
    Some(r)
}

/// The identifier of `ids` whose type is `type_code` (v2 table 0203).
pub fn typed<'v>(ids: &'v [Value], type_code: &str) -> Option<&'v Value> {
    ids.iter().find(|i| {
        i.get("type")
            .and_then(|t| code_in(t, None))
            .is_some_and(|c| c == type_code)
    })
}
