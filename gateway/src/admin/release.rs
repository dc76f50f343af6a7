//! The release controller: the one writer of release state. A change is
//! checked (compare-and-set on the revision, then against the config in
//! force), applied to the routing table through
//! [`Shared::update_overrides`] (new requests see it as soon as the
//! snapshot is swapped), persisted through the [`StateStore`], and written
//! to the audit log. If persisting fails the table is put back, so what
//! serves is always what is stored.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::change::{apply, diff, Change};
use super::error::AdminError;
use super::state::ReleaseState;
use super::store::{ChangeRecord, StateStore, StoreError, Stored};
use crate::runtime::Shared;
use crate::telemetry::clock::now_rfc3339;

/// Longest reason kept, in bytes.
pub const MAX_REASON: usize = 1024;

/// A change with who asked for it and why.
#[derive(Debug, Clone)]
pub struct ChangeRequest {
    /// The change.
    pub change: Change,
    /// Why.
    pub reason: Option<String>,
    /// Refuse unless this is the current revision.
    pub expect_revision: Option<u64>,
    /// The token's name.
    pub who: String,
}

/// The release controller.
#[derive(Debug)]
pub struct Release {
    shared: Arc<Shared>,
    store: Arc<dyn StateStore>,
    current: Mutex<Stored>,
}

// === impl Release ===

impl Release {
    /// Loads the stored state and applies it to the routing table (a
    /// restart restores the last state before any request is served).
    pub async fn open(
        shared: Arc<Shared>,
        store: Arc<dyn StateStore>,
    ) -> Result<Release, StoreError> {
        let stored = store.load().await?;
        shared
            .update_overrides(|o| stored.state.write_overrides(o))
            .map_err(|e| StoreError::Corrupt(format!("stored state does not apply: {e}")))?;
        shared
            .telemetry
            .metrics
            .release_revision
            .store(stored.revision, Ordering::Relaxed);
        if stored.revision > 0 {
            tracing::info!(target: "ehrgate::admin", revision = stored.revision, "release state restored");
        }
        Ok(Release {
            shared,
            store,
            current: Mutex::new(stored),
        })
    }

    /// The current revision and state.
    pub async fn current(&self) -> Stored {
        self.current.lock().await.clone()
    }

    /// The store (history reads).
    pub fn store(&self) -> &Arc<dyn StateStore> {
        &self.store
    }

    /// Checks, applies, persists and audits one change.
    pub async fn change(&self, req: ChangeRequest) -> Result<ChangeRecord, AdminError> {
        if let Some(r) = &req.reason {
            if r.len() > MAX_REASON {
                return Err(AdminError::invalid(
                    "admin.reason-too-long",
                    format!("reason is longer than {MAX_REASON} bytes"),
                ));
            }
        }
        let mut current = self.current.lock().await;
        if let Some(expected) = req.expect_revision {
            if expected != current.revision {
                return Err(AdminError::Conflict {
                    expected,
                    current: current.revision,
                });
            }
        }
        let next_state = match &req.change {
            Change::Revert { revision } => self.state_at(*revision).await?,
            change => {
                let loaded = self.shared.load().loaded.clone();
                let mut next = current.state.clone();
                apply(change, &mut next, &loaded)?;
                next
            }
        };
        let record = ChangeRecord {
            revision: current.revision + 1,
            at: now_rfc3339(),
            who: req.who.clone(),
            action: req.change.action().to_string(),
            reason: req.reason.clone(),
            changes: diff(&current.state, &next_state),
            state: next_state,
        };
        self.shared
            .update_overrides(|o| record.state.write_overrides(o))
            .map_err(|e| AdminError::Internal {
                code: "admin.apply",
                message: format!("the routing table could not be rebuilt: {e}"),
            })?;
        if let Err(e) = self.store.append(record.clone()).await {
            // Put back what is stored, so serving and storage agree.
            let _ = self
                .shared
                .update_overrides(|o| current.state.write_overrides(o));
            return Err(match e {
                StoreError::Conflict { current: c, .. } => AdminError::Conflict {
                    expected: current.revision,
                    current: c,
                },
                e => AdminError::Internal {
                    code: "admin.persist",
                    message: format!("the change could not be stored and was undone: {e}"),
                },
            });
        }
        *current = Stored {
            revision: record.revision,
            state: record.state.clone(),
        };
        let telemetry = &self.shared.telemetry;
        telemetry
            .metrics
            .release_revision
            .store(record.revision, Ordering::Relaxed);
        telemetry.audit(&serde_json::json!({
            "time": record.at,
            "who": record.who,
            "action": record.action,
            "revision": record.revision,
            "reason": record.reason,
            "changes": record.changes,
        }));
        Ok(record)
    }

    /// Records a refused change in the audit log (who tried what, and why
    /// it was refused).
    pub fn audit_refusal(&self, who: &str, action: &str, err: &AdminError) {
        self.shared.telemetry.audit(&serde_json::json!({
            "time": now_rfc3339(),
            "who": who,
            "action": action,
            "refused": ehrgate_templates::fault::Classified::code(err),
            "status": err.status().as_u16(),
        }));
    }

    async fn state_at(&self, revision: u64) -> Result<ReleaseState, AdminError> {
        if revision == 0 {
            return Ok(ReleaseState::default());
        }
        match self.store.get(revision).await {
            Ok(Some(r)) => Ok(r.state),
            Ok(None) => Err(AdminError::not_found(
                "admin.unknown-revision",
                format!("revision {revision} is not in the history"),
            )),
            Err(e) => Err(AdminError::Internal {
                code: "admin.store",
                message: e.to_string(),
            }),
        }
    }
}
