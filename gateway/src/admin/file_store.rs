//! [`StateStore`] in one JSON file beside the config: the current state
//! and the last `history_limit` changes. Every append rewrites the file
//! atomically (write a temp file in the same folder, fsync it, rename it
//! over the old one, fsync the folder), so a crash leaves either the old or
//! the new file, never half of one.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::state::ReleaseState;
use super::store::{ChangeRecord, StateStore, StoreError, Stored};

/// The file's format version.
const FORMAT: u32 = 1;

/// State files larger than this are refused (history is bounded anyway).
pub const MAX_STATE_FILE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Document {
    format: u32,
    revision: u64,
    state: ReleaseState,
    history: VecDeque<ChangeRecord>,
}

/// The file store.
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    history_limit: usize,
    doc: Mutex<Document>,
}

// === impl FileStore ===

impl FileStore {
    /// Opens (or starts) the state file at `path`.
    pub fn open(path: &Path, history_limit: usize) -> Result<FileStore, StoreError> {
        // The folder may not exist yet (a fresh volume); the file is
        // created with the first change.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Io(format!("{}: {e}", dir.display())))?;
        }
        let doc = match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Document {
                format: FORMAT,
                ..Document::default()
            },
            Err(e) => return Err(StoreError::Io(format!("{}: {e}", path.display()))),
            Ok(meta) if meta.len() > MAX_STATE_FILE_BYTES => {
                return Err(StoreError::Corrupt(format!(
                    "{} is larger than {MAX_STATE_FILE_BYTES} bytes",
                    path.display()
                )))
            }
            Ok(_) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| StoreError::Io(format!("{}: {e}", path.display())))?;
                let doc: Document = serde_json::from_str(&text)
                    .map_err(|e| StoreError::Corrupt(format!("{}: {e}", path.display())))?;
                if doc.format != FORMAT {
                    return Err(StoreError::Corrupt(format!(
                        "{}: format {} is not {FORMAT}",
                        path.display(),
                        doc.format
                    )));
                }
                doc
            }
        };
        Ok(FileStore {
            path: path.to_path_buf(),
            history_limit: history_limit.max(1),
            doc: Mutex::new(doc),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait]
impl StateStore for FileStore {
    async fn load(&self) -> Result<Stored, StoreError> {
        let doc = self.doc.lock().await;
        Ok(Stored {
            revision: doc.revision,
            state: doc.state.clone(),
        })
    }

    async fn append(&self, record: ChangeRecord) -> Result<(), StoreError> {
        let mut doc = self.doc.lock().await;
        if record.revision != doc.revision + 1 {
            return Err(StoreError::Conflict {
                expected: record.revision.saturating_sub(1),
                current: doc.revision,
            });
        }
        let mut next = doc.clone();
        next.revision = record.revision;
        next.state = record.state.clone();
        next.history.push_back(record);
        while next.history.len() > self.history_limit {
            next.history.pop_front();
        }
        let text = serde_json::to_vec_pretty(&next)
            .map_err(|e| StoreError::Io(format!("serialize: {e}")))?;
        let path = Arc::new(self.path.clone());
        tokio::task::spawn_blocking(move || write_atomically(&path, &text))
            .await
            .map_err(|e| StoreError::Io(format!("writer task: {e}")))??;
        *doc = next;
        Ok(())
    }

    async fn history(&self, limit: usize) -> Result<Vec<ChangeRecord>, StoreError> {
        let doc = self.doc.lock().await;
        let skip = doc.history.len().saturating_sub(limit);
        Ok(doc.history.iter().skip(skip).cloned().collect())
    }

    async fn get(&self, revision: u64) -> Result<Option<ChangeRecord>, StoreError> {
        let doc = self.doc.lock().await;
        Ok(doc.history.iter().find(|r| r.revision == revision).cloned())
    }
}

/// temp file + fsync + rename + fsync of the folder.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let io =
        |what: &str, e: std::io::Error| StoreError::Io(format!("{what} {}: {e}", path.display()));
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| io("create temp for", e))?;
    f.write_all(bytes).map_err(|e| io("write temp for", e))?;
    f.sync_all().map_err(|e| io("fsync temp for", e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io("rename temp onto", e)
    })?;
    // The rename is durable only once the folder's entry is on disk.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(revision: u64, weight: f64) -> ChangeRecord {
        let mut state = ReleaseState::default();
        state.weights.insert("r".into(), weight);
        ChangeRecord {
            revision,
            at: "2026-01-01T00:00:00.000Z".into(),
            who: "ops".into(),
            action: "weight.set".into(),
            reason: None,
            changes: Vec::new(),
            state,
        }
    }

    #[tokio::test]
    async fn appends_persist_refuse_gaps_and_trim_history() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let store = FileStore::open(&path, 2).unwrap();
        assert_eq!(store.load().await.unwrap().revision, 0);
        store.append(record(1, 1.0)).await.unwrap();
        store.append(record(2, 2.0)).await.unwrap();
        let err = store.append(record(2, 3.0)).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict { current: 2, .. }),
            "{err}"
        );
        store.append(record(3, 3.0)).await.unwrap();

        let again = FileStore::open(&path, 2).unwrap();
        let loaded = again.load().await.unwrap();
        assert_eq!(loaded.revision, 3);
        assert_eq!(loaded.state.weights["r"], 3.0);
        let revs: Vec<u64> = again
            .history(10)
            .await
            .unwrap()
            .iter()
            .map(|r| r.revision)
            .collect();
        assert_eq!(revs, vec![2, 3]);
        assert!(again.get(1).await.unwrap().is_none());
        assert_eq!(again.get(2).await.unwrap().unwrap().state.weights["r"], 2.0);
        // no temp file left behind
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn corrupt_file_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = FileStore::open(&path, 10).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{not json");
    }
}
