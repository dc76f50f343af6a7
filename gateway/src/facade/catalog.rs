//! Template metadata and compiled mappings per template id.
//!
//! Metadata comes from the backend itself (`GET /definition/template/
//! adl1.4/{id}` through a [`CachedStore`] over a [`RestSource`]): the CDR
//! validates compositions against *its* template, so the facade translates
//! against the same one. The bundled OPT of the shipped mapping is a
//! fallback only when the backend cannot answer (down, TLS the REST source
//! does not speak): a template the backend answers "not found" for is an
//! error, because a composition of it would be refused anyway.
//!
//! Compiled engines are kept per template id together with the metadata
//! they were compiled against, and recompiled when the store hands out new
//! metadata (after an upload invalidated the cache entry).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ehrgate_mappers::fhirconnect::engine::Engine;
use ehrgate_mappers::fhirconnect::shipped;
use ehrgate_templates::store::{CacheConfig, CachedStore, RestConfig, RestSource};
use ehrgate_templates::{TemplateError, TemplateId, TemplateMeta};

use super::error::FacadeError;

/// A compiled mapping with the metadata it was compiled against.
#[derive(Debug)]
pub struct Compiled {
    /// The template's metadata.
    pub meta: Arc<TemplateMeta>,
    /// The engine.
    pub engine: Engine,
}

/// Templates and engines of one backend.
#[derive(Debug)]
pub struct Catalog {
    store: CachedStore,
    engines: Mutex<HashMap<String, Arc<Compiled>>>,
}

// === impl Catalog ===

impl Catalog {
    /// A catalog over the backend at `base` (the REST API's base URL).
    pub fn new(base: &str, ttl: Duration, timeout: Duration) -> Self {
        let mut rest = RestConfig::new(base);
        rest.timeout = timeout;
        let config = CacheConfig {
            mutable_ttl: ttl,
            ..CacheConfig::default()
        };
        Catalog {
            store: CachedStore::new(Arc::new(RestSource::new(rest)), config),
            engines: Mutex::new(HashMap::new()),
        }
    }

    /// The cache (for its counters).
    pub fn store(&self) -> &CachedStore {
        &self.store
    }

    /// The compiled mapping for `template_id` that maps `resource_type`
    /// (two shipped sets map `Growth chart`: the facade serves single
    /// resources, so the set taking them is the one).
    pub async fn get(
        &self,
        template_id: &str,
        resource_type: &str,
    ) -> Result<Arc<Compiled>, FacadeError> {
        let set = shipped::find_for(template_id, resource_type)
            .map_err(|_| FacadeError::TemplateUnknown(template_id.to_owned()))?;
        let meta = match self.store.get(&TemplateId::new(template_id)).await {
            Ok(m) => m,
            Err(TemplateError::NotFound(_)) => {
                return Err(FacadeError::TemplateUnknown(template_id.to_owned()))
            }
            Err(e) => {
                tracing::warn!(target: "ehrgate::facade", template = template_id, code = ehrgate_templates::fault::Classified::code(&e), "template from backend failed; using the bundled one");
                self.bundled(template_id, set)?
            }
        };
        if let Some(c) = self.cached(template_id) {
            if Arc::ptr_eq(&c.meta, &meta) {
                return Ok(c);
            }
        }
        let set_files = set
            .mapping_set()
            .map_err(|e| FacadeError::Internal(format!("shipped mapping `{}`: {e}", set.name)))?;
        let engine = Engine::new(set_files, Some(&meta)).map_err(|e| {
            // The backend's template differs from what the mapping expects.
            FacadeError::Translation {
                code: "facade.mapping-does-not-fit-template",
                fault: ehrgate_templates::fault::Fault::Internal,
                reason: format!("mapping for `{template_id}` does not compile against the backend's template: {e}"),
            }
        })?;
        let compiled = Arc::new(Compiled { meta, engine });
        self.engines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(template_id.to_owned(), Arc::clone(&compiled));
        Ok(compiled)
    }

    /// Forgets `template_id` (a new version was uploaded through us).
    pub async fn invalidate(&self, template_id: &str) {
        self.store.invalidate(&TemplateId::new(template_id)).await;
        self.engines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(template_id);
    }

    /// Forgets every template (an upload whose id we could not read).
    pub fn invalidate_all(&self) {
        self.store.invalidate_all();
        self.engines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// The compiled mapping if [`get`](Self::get) compiled it already.
    pub fn peek(&self, template_id: &str) -> Option<Arc<Compiled>> {
        self.cached(template_id)
    }

    fn cached(&self, template_id: &str) -> Option<Arc<Compiled>> {
        self.engines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(template_id)
            .cloned()
    }

    /// The bundled template, parsed once per fallback engine.
    fn bundled(
        &self,
        template_id: &str,
        set: &shipped::Shipped,
    ) -> Result<Arc<TemplateMeta>, FacadeError> {
        if let Some(c) = self.cached(template_id) {
            return Ok(Arc::clone(&c.meta));
        }
        set.template()
            .map(Arc::new)
            .map_err(|e| FacadeError::Internal(format!("bundled template `{template_id}`: {e}")))
    }
}
