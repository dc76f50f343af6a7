//! SFT -> MessageHeader.source (IG SFT[MessageHeader]): SFT-3 product name
//! is `source.software`, SFT-2 certified version `source.version`.
//!
//! The IG maps SFT-1 (vendor organization), SFT-4 (binary id), SFT-5
//! (product information) and SFT-6 (install date) to `source` extensions
//! whose URLs it has not defined yet ("extension??-..."), so they are
//! reported unmapped rather than invented. MessageHeader.source holds one
//! software: a second SFT (a message relayed by several systems) is
//! reported unmapped too.

use super::ctx::{Ctx, Seg};
use super::json::{set, Json};

/// Maps SFT. Returns `false` when the segment maps nothing (no
/// MessageHeader, or `source.software` already set by an earlier SFT), so
/// the caller reports the whole segment.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) -> bool {
    let Some(h) = ctx.header else {
        return false;
    };
    let taken = matches!(
        ctx.res(h).get("source"),
        Some(Json::Object(s)) if s.contains_key("software")
    );
    if taken {
        return false;
    }
    let software = seg.text(3);
    let version = seg.text(2);
    if software.is_none() && version.is_none() {
        return false;
    }
    if let Some(Json::Object(src)) = ctx.res(h).get_mut("source") {
        if let Some(s) = software {
            set(src, "software", s);
        }
        if let Some(v) = version {
            set(src, "version", v);
        }
    }
    true
}
