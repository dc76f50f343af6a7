//! The FHIR backend's in-memory data: resource histories by type and id.

use std::collections::HashMap;

use serde_json::Value;

/// The versions of one resource; `None` records a deletion.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Version n is `versions[n - 1]`.
    pub versions: Vec<Option<Value>>,
}

// === impl History ===

impl History {
    /// The latest version number.
    pub fn latest(&self) -> usize {
        self.versions.len()
    }

    /// The current resource, unless deleted.
    pub fn current(&self) -> Option<&Value> {
        self.versions.last().and_then(Option::as_ref)
    }
}

/// Everything stored.
#[derive(Debug, Default, Clone)]
pub struct Db {
    /// Histories by `(type, id)`.
    pub resources: HashMap<(String, String), History>,
    /// Keys in creation order (search results are stable).
    pub order: Vec<(String, String)>,
    /// Versions stored in all.
    pub versions_total: usize,
}

// === impl Db ===

impl Db {
    /// Current resources of `rtype`, in creation order.
    pub fn current_of<'a>(&'a self, rtype: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.order
            .iter()
            .filter(move |(t, _)| t == rtype)
            .filter_map(|k| self.resources.get(k))
            .filter_map(History::current)
    }
}
