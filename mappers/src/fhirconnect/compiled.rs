//! Paths of a mapping set parsed once, so translating a resource never
//! re-parses a FHIRPath or an openEHR path (the translators run per request).

use std::collections::HashMap;

use super::fhirpath::{self, Path};
use super::loader::MappingSet;
use super::model::{Condition, Mapping};
use super::openehr_path::{MappingPath, OpenEhrPathError, SegNames};

/// Every FHIRPath and openEHR path of a set, parsed.
///
/// Looked up by text for every method a translation runs. When the set the
/// paths came from is owned next to this (see [`Compiled::pin_texts`]),
/// the lookup goes by the address of the set's own text first: hashing an
/// address instead of a path of 30 to 100 bytes, several hundred times per
/// translation.
#[derive(Debug, Default)]
pub struct Compiled {
    fhir: HashMap<String, Path, foldhash::fast::RandomState>,
    openehr: HashMap<String, MappingPath, foldhash::fast::RandomState>,
    fhir_at: HashMap<TextAt, Path, foldhash::fast::RandomState>,
    openehr_at: HashMap<TextAt, MappingPath, foldhash::fast::RandomState>,
    /// The names of every openEHR path's segments, shared.
    names: SegNames,
}

/// Where a text of the pinned set lives: address and length.
type TextAt = (usize, usize);

fn text_at(text: &str) -> TextAt {
    (text.as_ptr() as usize, text.len())
}

/// A path of the set did not parse (the loader checks FHIRPaths; openEHR
/// paths are checked here).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// A FHIRPath outside the subset.
    #[error("FHIRPath `{0}`: {1}")]
    Fhir(String, fhirpath::PathError),
    /// A malformed openEHR path.
    #[error("openEHR path `{0}`: {1}")]
    OpenEhr(String, OpenEhrPathError),
}

impl Compiled {
    /// Parses every path of `set`.
    pub fn new(set: &MappingSet) -> Result<Self, CompileError> {
        let mut c = Self::pinned(set)?;
        c.fhir_at.clear();
        c.openehr_at.clear();
        Ok(c)
    }

    /// [`Compiled::new`] with the by-address lookup of `set`'s texts: only
    /// for a caller that owns `set`, unchanged, for as long as this lives
    /// (the [`Engine`] does). Anyone else could free a text and have its
    /// address reused by another.
    ///
    /// [`Engine`]: super::engine::Engine
    pub(crate) fn pinned(set: &MappingSet) -> Result<Self, CompileError> {
        let mut c = Compiled::default();
        c.fhir("$fhirRoot")?;
        for m in &set.models {
            if let Some(pre) = &m.doc.preprocessor {
                for cond in pre.fhir_condition.iter().chain(&pre.fhir_conditions) {
                    c.condition(cond)?;
                }
                if let Some(cond) = &pre.openehr_condition {
                    c.openehr(&cond.target_root)?;
                }
                if let Some(h) = &pre.hierarchy {
                    if let Some(o) = &h.with.openehr {
                        c.openehr(o)?;
                    }
                }
            }
            for mapping in &m.doc.mappings {
                c.mapping(mapping)?;
            }
        }
        Ok(c)
    }

    fn mapping(&mut self, m: &Mapping) -> Result<(), CompileError> {
        if let Some(w) = &m.with {
            if let Some(f) = &w.fhir {
                self.fhir(f)?;
            }
            if let Some(o) = &w.openehr {
                self.openehr(o)?;
            }
        }
        for cond in m.fhir_condition.iter().chain(&m.fhir_conditions) {
            self.condition(cond)?;
        }
        if let Some(cond) = &m.openehr_condition {
            self.openehr(&cond.target_root)?;
        }
        for man in &m.manual {
            for e in &man.fhir {
                self.fhir(&e.path)?;
            }
            if let Some(cond) = &man.fhir_condition {
                self.condition(cond)?;
            }
        }
        let children = m
            .followed_by
            .iter()
            .flat_map(|f| &f.mappings)
            .chain(m.reference.iter().flat_map(|r| &r.mappings));
        for child in children {
            self.mapping(child)?;
        }
        Ok(())
    }

    fn condition(&mut self, c: &Condition) -> Result<(), CompileError> {
        self.fhir(&c.target_root)?;
        for a in c.target_attribute.iter().chain(&c.target_attributes) {
            self.fhir(a)?;
        }
        Ok(())
    }

    fn fhir(&mut self, text: &str) -> Result<(), CompileError> {
        if !self.fhir.contains_key(text) {
            let p = Path::parse(text).map_err(|e| CompileError::Fhir(text.to_owned(), e))?;
            self.fhir.insert(text.to_owned(), p);
        }
        if let Some(p) = self.fhir.get(text) {
            self.fhir_at.insert(text_at(text), p.clone());
        }
        Ok(())
    }

    fn openehr(&mut self, text: &str) -> Result<(), CompileError> {
        if !self.openehr.contains_key(text) {
            let mut p =
                MappingPath::parse(text).map_err(|e| CompileError::OpenEhr(text.to_owned(), e))?;
            self.names.intern_segs(&mut p.segs);
            self.openehr.insert(text.to_owned(), p);
        }
        if let Some(p) = self.openehr.get(text) {
            self.openehr_at.insert(text_at(text), p.clone());
        }
        Ok(())
    }

    /// Compiles FHIRPaths outside a set (unit tests of condition
    /// evaluation).
    #[cfg(test)]
    pub(crate) fn test_compile(&mut self, paths: &[&str]) {
        for p in paths {
            let _ = self.fhir(p);
        }
    }

    /// The parsed FHIRPath for `text` (compiled at construction).
    pub fn fhir_path(&self, text: &str) -> Option<&Path> {
        self.fhir_at
            .get(&text_at(text))
            .or_else(|| self.fhir.get(text))
    }

    /// The segment names of the set's openEHR paths, shared.
    pub fn names(&self) -> &SegNames {
        &self.names
    }

    /// Shares `name` with the set's paths (names the engine adds itself).
    pub(crate) fn intern(&mut self, name: &str) -> std::sync::Arc<str> {
        self.names.intern(&name.into())
    }

    /// The parsed openEHR path for `text` (compiled at construction).
    pub fn openehr_path(&self, text: &str) -> Option<&MappingPath> {
        self.openehr_at
            .get(&text_at(text))
            .or_else(|| self.openehr.get(text))
    }
}
