//! The FHIR facade: FHIR R4 REST served from an openEHR backend (issue 8).
//!
//! A route whose backend has `kind = "openehr"` is answered here instead of
//! being passed through: each FHIR call is translated with the shipped
//! FHIRconnect mappings and the backend's own templates, and becomes
//! openEHR REST calls (EHR lookup, composition create/get/update/delete,
//! AQL). The write path ([`Facade::create`]) is also the entry point for
//! other producers (HL7 v2 feeds delivering to openEHR).
//!
//! # Layout
//! - [`types`]: the resource types served, their patient and date elements.
//! - [`settings`]: the backend's `[backend.openehr]` config, resolved.
//! - [`openehr`]: the backend's openEHR REST client (named calls,
//!   credentials, If-Match form) and the template source over it.
//! - [`ehr`]: patient -> EHR resolution with a cache.
//! - [`catalog`]: template metadata (cached store) and compiled mappings.
//! - [`translate`]: resource <-> composition around the mapping engine.
//! - [`ids`]: FHIR id <-> (EHR id, composition uid), stable across versions.
//! - [`write`]: create, update, delete.
//! - [`read`]: read by id.
//! - [`search`], [`aql`], [`date`]: searches as parameterised AQL.
//! - [`bundle`]: transaction Bundles.
//! - [`capability`]: the CapabilityStatement.
//! - [`http`]: request dispatch and responses.
//! - [`error`]: [`FacadeError`], status and OperationOutcome issues.
//!
//! # What it may import
//! `upstream` (its openEHR client's pool and call policy), `telemetry`,
//! `config`, `outcome`; never `proxy`, `mllp`, `admin` or `app` (`app`
//! attaches it to openEHR backends).

pub mod aql;
pub mod bundle;
pub mod capability;
pub mod catalog;
pub mod date;
pub mod ehr;
pub mod error;
pub mod http;
pub mod ids;
pub mod openehr;
pub mod partial;
pub mod read;
pub mod search;
pub mod settings;
pub mod translate;
pub mod types;
pub mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use error::FacadeError;
pub use write::Created;

use self::catalog::Catalog;
use self::ehr::EhrResolver;
use self::openehr::{ClientSettings, Credentials, OpenEhrClient};
use self::settings::Settings;
use crate::upstream::pool::Upstream;

/// The write API for other producers (HL7 v2 -> openEHR): the facade itself.
pub type OpenEhrWriter = Facade;

/// The facade of one openEHR backend. Built once per backend and kept
/// across reloads while the backend's config is unchanged, so its caches
/// stay warm.
#[derive(Debug)]
pub struct Facade {
    settings: Settings,
    client: OpenEhrClient,
    ehrs: EhrResolver,
    catalog: Catalog,
    /// The backend's system id, learned from the first version uid seen
    /// (needed to turn a FHIR `If-Match: W/"3"` into `uuid::system::3`).
    system_id: Mutex<Option<String>>,
    stats: Stats,
}

/// Where the facade's time goes (for the benchmark and metrics).
#[derive(Debug, Default)]
pub struct Stats {
    translate_nanos: AtomicU64,
    translations: AtomicU64,
}

/// A snapshot of [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsSnapshot {
    /// Time spent translating (both directions).
    pub translate: Duration,
    /// Translations run.
    pub translations: u64,
}

// === impl Facade ===

impl Facade {
    /// The facade of `upstream` (an `openehr` backend); `resolve` turns
    /// secret file paths from the config into real paths.
    pub fn new(
        upstream: &Arc<Upstream>,
        max_response_body: u64,
        resolve: &dyn Fn(&Path) -> PathBuf,
    ) -> Facade {
        let settings = Settings::from_backend(&upstream.config);
        let o = upstream.config.openehr.clone().unwrap_or_default();
        let credentials =
            Credentials::from_config(o.auth.as_ref(), resolve, upstream.request_timeout);
        if let Credentials::Unavailable { reason, .. } = &credentials {
            tracing::warn!(target: "ehrgate::facade", backend = %upstream.name, reason, "openEHR backend credentials unavailable; its calls will fail");
        }
        let client = OpenEhrClient::new(
            Arc::clone(upstream),
            ClientSettings {
                max_body: max_response_body,
                credentials,
                if_match: o.if_match,
            },
        );
        let ehrs = EhrResolver::new(
            client.clone(),
            settings.ehr_cache_size,
            settings.ehr_cache_ttl,
        );
        let catalog = Catalog::new(client.clone(), settings.template_ttl);
        Facade {
            settings,
            client,
            ehrs,
            catalog,
            system_id: Mutex::new(None),
            stats: Stats::default(),
        }
    }

    /// The resolved settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The template catalog (cache counters, invalidation).
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The backend's openEHR client (its counters, the named calls).
    pub fn client(&self) -> &OpenEhrClient {
        &self.client
    }

    /// Translation time so far.
    pub fn stats(&self) -> StatsSnapshot {
        StatsSnapshot {
            translate: Duration::from_nanos(self.stats.translate_nanos.load(Ordering::Relaxed)),
            translations: self.stats.translations.load(Ordering::Relaxed),
        }
    }

    /// Runs `f` (a translation) and counts its time.
    fn timed<T>(&self, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.stats
            .translate_nanos
            .fetch_add(nanos, Ordering::Relaxed);
        self.stats.translations.fetch_add(1, Ordering::Relaxed);
        out
    }

    fn learn_system(&self, system: &str) {
        let mut s = self
            .system_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if s.as_deref() != Some(system) {
            *s = Some(system.to_owned());
        }
    }

    fn system(&self) -> Option<String> {
        self.system_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}
