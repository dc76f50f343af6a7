//! Where templates come from and how they are cached.
//!
//! # Layout
//! - [`TemplateStore`]: the seam (`get(id) -> Arc<TemplateMeta>`, `list()`).
//! - [`DirSource`]: a directory of `.opt` files.
//!
//! Templates of an openEHR REST backend are fetched by the gateway over its
//! openEHR client (`ehrgate::facade::openehr::templates`), so they travel
//! with the same TLS, timeouts and credentials as every other call to that
//! backend; this crate keeps no HTTP client of its own.
//! - [`CachedStore`]: a moka cache in front of any store.
//! - [`TemplateError`]: what can go wrong, classified by fault.

mod cache;
mod dir;
mod error;

use std::fmt::Debug;
use std::sync::Arc;

pub use cache::{CacheConfig, CacheStats, CachedStore};
pub use dir::{DirSource, DuplicatePolicy};
pub use error::TemplateError;

use crate::id::TemplateId;
use crate::meta::TemplateMeta;

/// One row of a template listing (EHRbase's `GET /definition/template/adl1.4`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TemplateSummary {
    /// The template id.
    pub template_id: TemplateId,
    /// The template's concept, when the source knows it.
    #[serde(default)]
    pub concept: Option<String>,
}

/// A source of parsed operational templates.
///
/// Object safe (`Arc<dyn TemplateStore>`) so the gateway can stack a cache
/// over whichever source a tenant is configured with.
#[async_trait::async_trait]
pub trait TemplateStore: Send + Sync + Debug {
    /// The template `id`, parsed. [`TemplateError::NotFound`] when the source
    /// does not have it.
    async fn get(&self, id: &TemplateId) -> Result<Arc<TemplateMeta>, TemplateError>;

    /// The templates this source can serve.
    async fn list(&self) -> Result<Vec<TemplateSummary>, TemplateError>;
}

/// Accepts a template fetched for `requested` only if it declares that id:
/// a file renamed or a backend answering with another template must not
/// poison the cache under the wrong key. Public for sources outside this
/// crate (the gateway's openEHR client).
pub fn check_declared_id(
    meta: TemplateMeta,
    requested: &TemplateId,
) -> Result<Arc<TemplateMeta>, TemplateError> {
    if &meta.template_id != requested {
        return Err(TemplateError::IdMismatch {
            requested: requested.clone(),
            declared: meta.template_id,
        });
    }
    Ok(Arc::new(meta))
}
