//! The facility -> tenant table: which clinic a feed message belongs to,
//! from MSH-4 (sending facility) and MSH-6 (receiving facility).

use std::collections::HashMap;
use std::sync::Arc;

use ehrgate_mappers::hl7v2::{Message, Value};

use crate::config::model_mllp::MllpFacilityConfig;

/// The table, built once from the config.
#[derive(Debug, Default)]
pub struct FacilityTable {
    /// (sending, receiving) -> tenant.
    exact: HashMap<(String, String), Arc<str>>,
    /// sending -> tenant, any receiving facility.
    any: HashMap<String, Arc<str>>,
}

// === impl FacilityTable ===

impl FacilityTable {
    /// Builds the table (validation already refused duplicates).
    pub fn new(rows: &[MllpFacilityConfig]) -> FacilityTable {
        let mut t = FacilityTable::default();
        for r in rows {
            let tenant: Arc<str> = Arc::from(r.tenant.get_ref().as_str());
            let sending = r.sending.get_ref().clone();
            match &r.receiving {
                Some(recv) => {
                    t.exact.insert((sending, recv.clone()), tenant);
                }
                None => {
                    t.any.insert(sending, tenant);
                }
            }
        }
        t
    }

    /// The tenant of a message; rows naming the receiving facility win.
    pub fn resolve(&self, msg: &Message<'_>) -> Option<Arc<str>> {
        let msh = msg.segment_at(0)?;
        let sending = facility(msh.field(4));
        let receiving = facility(msh.field(6));
        if !self.exact.is_empty() {
            if let Some(t) = self.exact.get(&(sending.clone(), receiving)) {
                return Some(t.clone());
            }
        }
        self.any.get(&sending).cloned()
    }
}

/// An HD field's namespace id, or its universal id when that is empty.
fn facility(hd: Value<'_>) -> String {
    let ns = hd.component(1).text();
    if ns.is_empty() {
        hd.component(2).text().into_owned()
    } else {
        ns.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml::Spanned;

    fn row(s: &str, r: Option<&str>, t: &str) -> MllpFacilityConfig {
        MllpFacilityConfig {
            sending: Spanned::new(0..0, s.into()),
            receiving: r.map(Into::into),
            tenant: Spanned::new(0..0, t.into()),
        }
    }

    #[test]
    fn exact_rows_win_then_sending_only() {
        let t = FacilityTable::new(&[row("LAB", None, "acme"), row("LAB", Some("NORTH"), "north")]);
        fn m(h: &[u8]) -> Message<'_> {
            Message::parse(h).unwrap()
        }
        let north = m(b"MSH|^~\\&|APP|LAB^1.2.3^ISO|R|NORTH|T||ADT^A01|1|P|2.5\r");
        assert_eq!(t.resolve(&north).as_deref(), Some("north"));
        let other = m(b"MSH|^~\\&|APP|LAB|R|SOUTH|T||ADT^A01|1|P|2.5\r");
        assert_eq!(t.resolve(&other).as_deref(), Some("acme"));
        let unknown = m(b"MSH|^~\\&|APP|X|R|NORTH|T||ADT^A01|1|P|2.5\r");
        assert_eq!(t.resolve(&unknown), None);
        let by_oid = m(b"MSH|^~\\&|APP|^LAB^ISO|R|R|T||ADT^A01|1|P|2.5\r");
        assert_eq!(t.resolve(&by_oid).as_deref(), Some("acme"));
    }
}
