//! Template identifiers.
//!
//! A `template_id` is kept **exactly as declared** in the OPT
//! (`<template_id><value>`): no trimming, no case folding, no Unicode
//! normalisation (NFC is *not* applied). Backends such as EHRbase compare ids
//! byte for byte, so `IDCR - Laboratory Order.v0` (double space) and
//! `Körpergröße` must reach them unchanged; normalising here would make two
//! ids that the backend keeps apart collide in our cache, or make an id the
//! backend knows unreachable. Callers that receive ids from humans may trim
//! them before constructing a [`TemplateId`]; this type never does.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

/// An openEHR operational template id, cheap to clone (shared string).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TemplateId(Arc<str>);

// === impl TemplateId ===

impl TemplateId {
    /// Wraps an id as declared; see the module docs for why nothing is normalised.
    pub fn new(id: impl AsRef<str>) -> Self {
        TemplateId(Arc::from(id.as_ref()))
    }

    /// The id exactly as declared.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TemplateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for TemplateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for TemplateId {
    fn from(s: &str) -> Self {
        TemplateId::new(s)
    }
}

impl From<String> for TemplateId {
    fn from(s: String) -> Self {
        TemplateId(Arc::from(s))
    }
}

impl AsRef<str> for TemplateId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for TemplateId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for TemplateId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for TemplateId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(TemplateId::from(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_id_exactly() {
        let id = TemplateId::new(" IDCR - Laboratory Order.v0 ");
        assert_eq!(id.as_str(), " IDCR - Laboratory Order.v0 ");
        // Decomposed "ö" (o + U+0308) is a different id from the composed one.
        assert_ne!(
            TemplateId::new("K\u{f6}rper"),
            TemplateId::new("Ko\u{308}rper")
        );
        assert_ne!(TemplateId::new("abc"), TemplateId::new("ABC"));
    }
}
