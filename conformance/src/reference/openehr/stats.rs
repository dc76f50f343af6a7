//! What the openEHR backend saw and kept, for tests to assert on: request
//! counts, refusals by reason code, every stored version, and a re-run of
//! the template check over everything stored ("the backend received
//! nothing half-written", "every stored composition passed the check").

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use super::db::{Db, Received};
use super::validate;
pub(crate) use crate::reference::exchange::lock;
pub use crate::reference::exchange::Exchange;
use crate::reference::exchange::ExchangeLog;

/// One stored version of a composition.
#[derive(Debug, Clone)]
pub struct StoredComposition {
    /// The EHR.
    pub ehr_id: String,
    /// The version uid (`uuid::system::version`).
    pub uid: String,
    /// The version number.
    pub version: usize,
    /// The template it was checked against.
    pub template_id: String,
    /// How it arrived.
    pub received: Received,
    /// The canonical JSON as stored.
    pub composition: Value,
}

/// Counters and the data, shared by the server and the test.
#[derive(Debug, Default)]
pub struct OpenEhrStats {
    pub(crate) db: Mutex<Db>,
    pub(crate) base_url: OnceLock<String>,
    requests: AtomicU64,
    ehrs_created: AtomicU64,
    compositions_stored: AtomicU64,
    compositions_deleted: AtomicU64,
    templates_stored: AtomicU64,
    queries: AtomicU64,
    log: ExchangeLog,
}

// === impl OpenEhrStats ===

impl OpenEhrStats {
    /// Requests that reached the server.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// EHRs created.
    pub fn ehrs_created(&self) -> u64 {
        self.ehrs_created.load(Ordering::Relaxed)
    }

    /// Composition versions stored (creates and updates).
    pub fn compositions_stored(&self) -> u64 {
        self.compositions_stored.load(Ordering::Relaxed)
    }

    /// Compositions deleted.
    pub fn compositions_deleted(&self) -> u64 {
        self.compositions_deleted.load(Ordering::Relaxed)
    }

    /// Templates uploaded through the API (preloaded ones not counted).
    pub fn templates_stored(&self) -> u64 {
        self.templates_stored.load(Ordering::Relaxed)
    }

    /// AQL queries answered with a result set.
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// Refusals by reason code.
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

    /// The latest version of every composition not deleted.
    pub fn stored_compositions(&self) -> Vec<StoredComposition> {
        self.versions(true)
    }

    /// Every stored version (deletions excluded), oldest composition first.
    pub fn all_versions(&self) -> Vec<StoredComposition> {
        self.versions(false)
    }

    fn versions(&self, latest_only: bool) -> Vec<StoredComposition> {
        let db = lock(&self.db);
        let system = db.system_id.clone();
        let mut out = Vec::new();
        for id in &db.composition_order {
            let Some(vc) = db.compositions.get(id) else {
                continue;
            };
            if latest_only && vc.is_deleted() {
                continue;
            }
            for (i, v) in vc.versions.iter().enumerate() {
                if latest_only && i + 1 != vc.latest() {
                    continue;
                }
                let Some(comp) = &v.composition else { continue };
                out.push(StoredComposition {
                    ehr_id: vc.ehr_id.clone(),
                    uid: format!("{id}::{system}::{}", i + 1),
                    version: i + 1,
                    template_id: vc.template_id.clone(),
                    received: v.received,
                    composition: comp.clone(),
                });
            }
        }
        out
    }

    /// Runs the template check again over every stored version and
    /// returns `(uid, problems)` for each that fails (or whose template is
    /// gone). Empty when everything stored is valid.
    pub fn recheck(&self) -> Vec<(String, Vec<String>)> {
        let stored = self.all_versions();
        let db = lock(&self.db);
        stored
            .into_iter()
            .filter_map(|s| {
                let problems = match db.templates.get(&s.template_id) {
                    Some(t) => validate::problems(&s.composition, t),
                    None => vec!["template no longer present".to_owned()],
                };
                (!problems.is_empty()).then_some((s.uid, problems))
            })
            .collect()
    }

    // --- recording, used by the handlers ---

    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn ehr_created(&self) {
        self.ehrs_created.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn composition_stored(&self) {
        self.compositions_stored.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn composition_deleted(&self) {
        self.compositions_deleted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn template_stored(&self) {
        self.templates_stored.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn query_run(&self) {
        self.queries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record(&self, exchange: Exchange) {
        self.log.record(exchange);
    }

    /// The base URL clients use (set once the server is bound).
    pub(crate) fn base(&self) -> &str {
        self.base_url.get().map_or("", String::as_str)
    }
}
