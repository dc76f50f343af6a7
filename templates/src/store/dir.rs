//! A directory of `.opt` files as a template source.
//!
//! The directory is indexed once at [`DirSource::open`] by each file's
//! *declared* `template_id` (file names are not ids: the corpus file
//! `IDCR - Adverse Reaction List.v1.opt` declares `Adverse Reaction List.v1`).
//! Files are re-read and parsed on every `get`; put a [`super::CachedStore`]
//! in front.
//!
//! Duplicate ids: two files that declare one id with **identical bytes** are
//! the same template and the first (by file name) is kept. With **different
//! content** (`cache.opt` / `cache_updated.opt`, the two `GECCO_Diagnose`
//! versions) serving either one silently would make translations depend on
//! directory order, so the default [`DuplicatePolicy::Reject`] refuses to
//! open and names both files. [`DuplicatePolicy::NewestWins`] keeps the file
//! modified last (ties: the later file name) and logs a warning naming both,
//! for deployments that drop updated OPTs next to old ones.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use super::{TemplateError, TemplateStore, TemplateSummary};
use crate::id::TemplateId;
use crate::meta::TemplateMeta;
use crate::opt::{parse_opt_with, read_template_id, OptLimits};

/// What to do when two files declare one template id with different content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DuplicatePolicy {
    /// Refuse to open the directory ([`TemplateError::DuplicateId`]).
    #[default]
    Reject,
    /// Keep the most recently modified file, warn naming both.
    NewestWins,
}

/// Templates read from `.opt` files in one directory (not recursive).
#[derive(Debug)]
pub struct DirSource {
    dir: PathBuf,
    index: HashMap<TemplateId, PathBuf>,
    limits: OptLimits,
}

// === impl DirSource ===

impl DirSource {
    /// Indexes `dir` with default limits.
    pub fn open(dir: impl AsRef<Path>, policy: DuplicatePolicy) -> Result<Self, TemplateError> {
        Self::open_with(dir, policy, OptLimits::default())
    }

    /// Indexes `dir`: reads each `*.opt` file's declared id. A file that is
    /// not a readable OPT makes opening fail, naming the file.
    pub fn open_with(
        dir: impl AsRef<Path>,
        policy: DuplicatePolicy,
        limits: OptLimits,
    ) -> Result<Self, TemplateError> {
        let dir = dir.as_ref().to_path_buf();
        let io = |path: &Path, e: std::io::Error| TemplateError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| io(&dir, e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("opt")))
            .collect();
        files.sort();

        let mut index: HashMap<TemplateId, PathBuf> = HashMap::new();
        for path in files {
            let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
            let id =
                read_template_id(&bytes, &limits).map_err(|error| TemplateError::InvalidFile {
                    path: path.clone(),
                    error,
                })?;
            let Some(existing) = index.get(&id) else {
                index.insert(id, path);
                continue;
            };
            let existing_bytes = std::fs::read(existing).map_err(|e| io(existing, e))?;
            if existing_bytes == bytes {
                tracing::debug!(template_id = %id, kept = %existing.display(), skipped = %path.display(), "identical duplicate template file");
                continue;
            }
            match policy {
                DuplicatePolicy::Reject => {
                    return Err(TemplateError::DuplicateId {
                        id,
                        first: existing.clone(),
                        second: path,
                    })
                }
                DuplicatePolicy::NewestWins => {
                    let modified = |p: &Path| {
                        std::fs::metadata(p)
                            .and_then(|m| m.modified())
                            .unwrap_or(SystemTime::UNIX_EPOCH)
                    };
                    let keep_new = modified(&path) >= modified(existing);
                    let (kept, dropped) = if keep_new {
                        (path.clone(), existing.clone())
                    } else {
                        (existing.clone(), path.clone())
                    };
                    tracing::warn!(template_id = %id, kept = %kept.display(), dropped = %dropped.display(), "two template files declare one id; keeping the newest");
                    index.insert(id, kept);
                }
            }
        }
        Ok(DirSource { dir, index, limits })
    }

    /// The file that serves `id`.
    pub fn path_of(&self, id: &TemplateId) -> Option<&Path> {
        self.index.get(id).map(PathBuf::as_path)
    }

    /// The indexed directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of distinct template ids.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the directory holds no templates.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

#[async_trait::async_trait]
impl TemplateStore for DirSource {
    async fn get(&self, id: &TemplateId) -> Result<Arc<TemplateMeta>, TemplateError> {
        let path = self
            .index
            .get(id)
            .ok_or_else(|| TemplateError::NotFound(id.clone()))?
            .clone();
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|e| TemplateError::Io {
                path: path.clone(),
                message: e.to_string(),
            })?;
        let limits = self.limits;
        // Parsing a large OPT takes milliseconds: keep it off the async workers.
        let parsed = tokio::task::spawn_blocking(move || parse_opt_with(&bytes, &limits))
            .await
            .map_err(|e| TemplateError::Io {
                path: path.clone(),
                message: format!("parser task failed: {e}"),
            })?;
        let meta = parsed.map_err(|error| TemplateError::InvalidFile {
            path: path.clone(),
            error,
        })?;
        super::check_declared_id(meta, id)
    }

    async fn list(&self) -> Result<Vec<TemplateSummary>, TemplateError> {
        let mut out: Vec<TemplateSummary> = self
            .index
            .keys()
            .map(|id| TemplateSummary {
                template_id: id.clone(),
                concept: None,
            })
            .collect();
        out.sort_by(|a, b| a.template_id.cmp(&b.template_id));
        Ok(out)
    }
}
