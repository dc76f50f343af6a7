//! The store seam: where release state and its change history live. The
//! gateway ships a file store ([`super::file_store::FileStore`]); a fleet of
//! gateways can share one state through another implementation (etcd, a
//! database) without touching the admin API.
//!
//! Revisions count admin changes, start at 0 (nothing changed, the config
//! file as written) and only grow, across restarts. `append` is a
//! compare-and-set: it must refuse a record whose revision is not exactly
//! the stored one plus one, which is what keeps two gateways (or two
//! managers) from overwriting each other.

use std::fmt::Debug;

use async_trait::async_trait;
use ehrgate_templates::fault::{Classified, Fault};
use serde::{Deserialize, Serialize};

use super::state::ReleaseState;

/// One value before and after a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    /// What changed (`weight fhir`, `weight fhir tenant acme`, `pin ...`, `flag ...`).
    pub what: String,
    /// The value before (`null` = not set, the config decides).
    pub old: serde_json::Value,
    /// The value after.
    pub new: serde_json::Value,
}

/// One entry of the change history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRecord {
    /// The revision this change created.
    pub revision: u64,
    /// When (RFC 3339 UTC).
    pub at: String,
    /// The token's name.
    pub who: String,
    /// `weight.set`, `pin.set`, `flag.set`, `route.rollback`, `revert`.
    pub action: String,
    /// Why, as the release manager said.
    #[serde(default)]
    pub reason: Option<String>,
    /// What changed, old -> new.
    pub changes: Vec<Diff>,
    /// The whole state after the change (what a revert restores).
    pub state: ReleaseState,
}

/// The current state and its revision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stored {
    /// The revision of the last change (0 = none yet).
    pub revision: u64,
    /// The state it left.
    pub state: ReleaseState,
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing failed.
    #[error("state store i/o: {0}")]
    Io(String),
    /// The stored data does not parse.
    #[error("state store is corrupt: {0}")]
    Corrupt(String),
    /// Someone else appended first.
    #[error("state store revision is {current}, the change expected {expected}")]
    Conflict {
        /// The revision the change was built on.
        expected: u64,
        /// The stored revision.
        current: u64,
    },
}

impl Classified for StoreError {
    fn fault(&self) -> Fault {
        match self {
            StoreError::Conflict { .. } => Fault::Client,
            _ => Fault::Internal,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            StoreError::Io(_) => "store.io",
            StoreError::Corrupt(_) => "store.corrupt",
            StoreError::Conflict { .. } => "store.conflict",
        }
    }
}

/// Persistence of release state and history.
#[async_trait]
pub trait StateStore: Send + Sync + Debug {
    /// The current state (revision 0 and an empty state when nothing is stored).
    async fn load(&self) -> Result<Stored, StoreError>;
    /// Appends a change; refuses it unless `record.revision` is the stored
    /// revision plus one. Durable when it returns.
    async fn append(&self, record: ChangeRecord) -> Result<(), StoreError>;
    /// The last `limit` changes, oldest first.
    async fn history(&self, limit: usize) -> Result<Vec<ChangeRecord>, StoreError>;
    /// One change by revision, if still kept.
    async fn get(&self, revision: u64) -> Result<Option<ChangeRecord>, StoreError>;
}
