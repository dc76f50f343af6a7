//! MSH from configuration (and EVN for ADT): who sends to whom, when,
//! which message, which id, version and charset.

use crate::hl7v2::Charset;

use super::config::{Config, Endpoint, Version};
use super::er7::{Rep, Seg};

fn hd(e: &Endpoint) -> Rep {
    let mut r = Rep::default();
    r.set(1, e.namespace.clone());
    r.opt(2, e.universal_id.clone());
    r.opt(3, e.universal_id_type.clone());
    r
}

/// The MSH of a message of `code^trigger` (structure `structure`), made
/// at `time` with control id `id`.
pub fn msh(cfg: &Config, code: &str, trigger: &str, structure: &str, time: &str, id: &str) -> Seg {
    let mut s = Seg::new("MSH");
    s.rep(3, hd(&cfg.sending_application));
    s.rep(4, hd(&cfg.sending_facility));
    s.rep(5, hd(&cfg.receiving_application));
    s.rep(6, hd(&cfg.receiving_facility));
    s.set(7, time);
    let mut t = Rep::default();
    t.set(1, code);
    t.set(2, trigger);
    // MSH-9-3, the message structure: v2.3.1 names it but gives MSH-9 a
    // length of 7 (type^event), so it is written from v2.4 on
    if cfg.version.at_least(Version::V24) {
        t.set(3, structure);
    }
    s.rep(9, t);
    s.set(10, id);
    s.set(11, cfg.processing_id.clone());
    s.set(12, cfg.version.as_str());
    if cfg.charset != Charset::Ascii {
        s.set(18, cfg.charset.hl7_name());
    }
    s
}

/// The EVN of an ADT event: EVN-1 the event (v2.3 to v2.6; withdrawn
/// after), EVN-2 the time recorded.
pub fn evn(cfg: &Config, trigger: &str, time: &str) -> Seg {
    let mut s = Seg::new("EVN");
    if !cfg.version.at_least(Version::V27) {
        s.set(1, trigger);
    }
    s.set(2, time);
    s
}
