//! Template metadata and compiled mappings per template id.
//!
//! Metadata comes from the backend itself (`GET /definition/template/
//! adl1.4/{id}` through a [`CachedStore`] over a [`ClientTemplateSource`],
//! the backend's own openEHR client with its TLS and credentials): the CDR
//! validates compositions against *its* template, so the facade translates
//! against the same one, never silently against the bundled OPT. A
//! template the backend answers "not found" for is
//! [`FacadeError::TemplateUnknown`]; any other failure to fetch it is
//! [`FacadeError::TemplateUnavailable`] (502), unless a copy fetched
//! earlier is still held: then that stale copy serves, with a warning and
//! a count ([`Catalog::stale_served`]), because it is what the CDR
//! validated with a moment ago.
//!
//! Compiled engines are kept per template id together with the metadata
//! they were compiled against, and recompiled when the store hands out new
//! metadata (after an upload invalidated the cache entry).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ehrgate_mappers::fhirconnect::engine::Engine;
use ehrgate_mappers::fhirconnect::shipped;
use ehrgate_templates::store::{CacheConfig, CachedStore};
use ehrgate_templates::{OptLimits, TemplateError, TemplateId, TemplateMeta};

use super::error::FacadeError;
use super::openehr::templates::ClientTemplateSource;
use super::openehr::OpenEhrClient;

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
    /// Lookups answered with a stale copy because the backend failed.
    stale: AtomicU64,
}

// === impl Catalog ===

impl Catalog {
    /// A catalog of `client`'s backend, entries fresh for `ttl`.
    pub fn new(client: OpenEhrClient, ttl: Duration) -> Self {
        let config = CacheConfig {
            mutable_ttl: ttl,
            ..CacheConfig::default()
        };
        let source = ClientTemplateSource::new(client, OptLimits::default());
        Catalog {
            store: CachedStore::new(Arc::new(source), config),
            engines: Mutex::new(HashMap::new()),
            stale: AtomicU64::new(0),
        }
    }

    /// How many lookups a stale copy answered (backend failing).
    pub fn stale_served(&self) -> u64 {
        self.stale.load(Ordering::Relaxed)
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
            // Credentials the CDR refuses are a configuration error to fix,
            // not a passing failure a stale copy should hide.
            Err(TemplateError::Unauthorized {
                source_name,
                status,
                scheme,
            }) => {
                return Err(FacadeError::BackendAuth {
                    backend: source_name,
                    status,
                    scheme,
                })
            }
            Err(e) => {
                let code = ehrgate_fault::Classified::code(&e);
                let Some(stale) = self.cached(template_id) else {
                    tracing::warn!(target: "ehrgate::facade", template = template_id, code, "template fetch failed and no copy is held");
                    return Err(FacadeError::TemplateUnavailable {
                        template: template_id.to_owned(),
                        reason: e.to_string(),
                    });
                };
                self.stale.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(target: "ehrgate::facade", template = template_id, code, "template fetch failed; serving the copy fetched earlier");
                return Ok(stale);
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
                fault: ehrgate_fault::Fault::Internal,
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
}
