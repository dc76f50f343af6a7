//! What the FHIR backend saw and kept: counts, refusals by code, the
//! stored resources, and a schema re-check of everything stored.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

use super::db::Db;
use super::SchemaRef;
use crate::reference::exchange::{lock, Exchange, ExchangeLog};

/// One stored resource version.
#[derive(Debug, Clone)]
pub struct StoredResource {
    /// The resource type.
    pub resource_type: String,
    /// The id.
    pub id: String,
    /// The version.
    pub version: usize,
    /// The resource as stored (with `id` and `meta`).
    pub resource: Value,
}

/// Counters and the data, shared by the server and the test.
#[derive(Debug, Default)]
pub struct FhirStats {
    pub(crate) db: Mutex<Db>,
    pub(crate) base_url: OnceLock<String>,
    pub(crate) schema: OnceLock<Arc<SchemaRef>>,
    requests: AtomicU64,
    created: AtomicU64,
    updated: AtomicU64,
    deleted: AtomicU64,
    transactions: AtomicU64,
    searches: AtomicU64,
    log: ExchangeLog,
}

// === impl FhirStats ===

impl FhirStats {
    /// Requests that reached the server.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Resources created (also inside transactions).
    pub fn created(&self) -> u64 {
        self.created.load(Ordering::Relaxed)
    }

    /// Resources updated.
    pub fn updated(&self) -> u64 {
        self.updated.load(Ordering::Relaxed)
    }

    /// Resources deleted.
    pub fn deleted(&self) -> u64 {
        self.deleted.load(Ordering::Relaxed)
    }

    /// Versions stored (creates and updates).
    pub fn resources_stored(&self) -> u64 {
        self.created() + self.updated()
    }

    /// Transactions committed.
    pub fn transactions(&self) -> u64 {
        self.transactions.load(Ordering::Relaxed)
    }

    /// Searches answered.
    pub fn searches(&self) -> u64 {
        self.searches.load(Ordering::Relaxed)
    }

    /// Refusals by code.
    pub fn rejected(&self) -> BTreeMap<String, u64> {
        self.log.rejected()
    }

    /// All refusals.
    pub fn rejected_total(&self) -> u64 {
        self.log.rejected_total()
    }

    /// The last exchanges, oldest first.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log.exchanges()
    }

    /// The current version of every resource not deleted.
    pub fn stored_resources(&self) -> Vec<StoredResource> {
        self.versions(true)
    }

    /// Every stored version (deletions excluded).
    pub fn all_versions(&self) -> Vec<StoredResource> {
        self.versions(false)
    }

    fn versions(&self, current_only: bool) -> Vec<StoredResource> {
        let db = lock(&self.db);
        let mut out = Vec::new();
        for key in &db.order {
            let Some(h) = db.resources.get(key) else {
                continue;
            };
            for (i, v) in h.versions.iter().enumerate() {
                if current_only && i + 1 != h.latest() {
                    continue;
                }
                let Some(r) = v else { continue };
                out.push(StoredResource {
                    resource_type: key.0.clone(),
                    id: key.1.clone(),
                    version: i + 1,
                    resource: r.clone(),
                });
            }
        }
        out
    }

    /// Validates every stored version against the schema again; returns
    /// `(Type/id/_history/n, errors)` for each that fails.
    pub fn recheck(&self) -> Vec<(String, Vec<String>)> {
        let Some(schema) = self.schema.get() else {
            return Vec::new();
        };
        self.all_versions()
            .into_iter()
            .filter_map(|s| {
                let errors = schema.get().errors(&s.resource, 10);
                (!errors.is_empty()).then(|| {
                    (
                        format!("{}/{}/_history/{}", s.resource_type, s.id, s.version),
                        errors,
                    )
                })
            })
            .collect()
    }

    // --- recording ---

    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_created(&self, n: u64) {
        self.created.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_updated(&self, n: u64) {
        self.updated.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_deleted(&self, n: u64) {
        self.deleted.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn transaction_done(&self) {
        self.transactions.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn search_done(&self) {
        self.searches.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record(&self, exchange: Exchange) {
        self.log.record(exchange);
    }

    pub(crate) fn base(&self) -> &str {
        self.base_url.get().map_or("", String::as_str)
    }
}
