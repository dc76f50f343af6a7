//! HD (hierarchic designator) -> a FHIR system URI.
//!
//! IG HD[uri]: a universal id of type ISO becomes `urn:oid:`, UUID
//! `urn:uuid:`, URI itself. A namespace alone is local: it is looked up in
//! `Config::systems`, else made into `local_system_base + namespace` so two
//! local authorities never collapse into one system.

use std::borrow::Cow;

use crate::hl7v2::Value;

use super::config::Config;
use super::ctx::txt;
use super::ids::query_escape;

/// The parts of an HD.
#[derive(Debug, Default, Clone)]
pub struct Hd<'a> {
    /// HD-1 namespace id.
    pub namespace: Option<Cow<'a, str>>,
    /// HD-2 universal id.
    pub universal: Option<Cow<'a, str>>,
    /// HD-3 universal id type.
    pub kind: Option<Cow<'a, str>>,
}

impl<'a> Hd<'a> {
    /// An HD spread over the components of `v` (a field of type HD).
    pub fn from_components(v: Value<'a>) -> Self {
        Hd {
            namespace: txt(v.component(1)),
            universal: txt(v.component(2)),
            kind: txt(v.component(3)),
        }
    }

    /// An HD spread over the sub-components of `v` (an HD inside a CX...).
    pub fn from_subcomponents(v: Value<'a>) -> Self {
        Hd {
            namespace: txt(v.subcomponent(1)),
            universal: txt(v.subcomponent(2)),
            kind: txt(v.subcomponent(3)),
        }
    }

    /// True when nothing is valued.
    pub fn is_empty(&self) -> bool {
        self.namespace.is_none() && self.universal.is_none()
    }

    /// The system URI, if anything is valued.
    pub fn system(&self, cfg: &Config) -> Option<String> {
        if let Some(u) = &self.universal {
            let kind = self.kind.as_deref().unwrap_or("");
            if kind.eq_ignore_ascii_case("UUID") {
                return Some(format!("urn:uuid:{}", u.to_ascii_lowercase()));
            }
            let uri_kind = kind.eq_ignore_ascii_case("URI") || kind.eq_ignore_ascii_case("URL");
            if uri_kind && !u.contains(char::is_whitespace) {
                return Some(u.to_string());
            }
            if is_oid(u) {
                return Some(format!("urn:oid:{u}"));
            }
        }
        let local = self.namespace.as_ref().or(self.universal.as_ref())?;
        Some(local_system(cfg, local))
    }
}

/// A system for a local name: configured, else the local base + the name.
pub fn local_system(cfg: &Config, name: &str) -> String {
    match cfg.systems.get(name) {
        Some(s) => s.clone(),
        None => format!("{}{}", cfg.local_system_base, query_escape(name)),
    }
}

/// `1.2.840.10008`-shaped (digits and dots, no empty arcs).
pub fn is_oid(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()))
        && s.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hd<'a>(ns: Option<&'a str>, u: Option<&'a str>, k: Option<&'a str>) -> Hd<'a> {
        Hd {
            namespace: ns.map(Into::into),
            universal: u.map(Into::into),
            kind: k.map(Into::into),
        }
    }

    #[test]
    fn systems() {
        let cfg = Config::default();
        assert_eq!(
            hd(None, Some("2.16.840.1"), Some("ISO"))
                .system(&cfg)
                .as_deref(),
            Some("urn:oid:2.16.840.1")
        );
        assert_eq!(
            hd(Some("X"), Some("http://a/b"), Some("URI"))
                .system(&cfg)
                .as_deref(),
            Some("http://a/b")
        );
        assert_eq!(
            hd(Some("GOOD HEALTH"), None, None).system(&cfg).as_deref(),
            Some("urn:ehrgate:v2:local:GOOD%20HEALTH")
        );
        assert_eq!(hd(None, None, None).system(&cfg), None);
        assert!(!is_oid("1..2") && !is_oid("12") && is_oid("1.2"));
    }
}
