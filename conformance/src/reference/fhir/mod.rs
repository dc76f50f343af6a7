//! An in-memory FHIR R4 REST backend under `/fhir`:
//!
//! | endpoint | behaviour |
//! |---|---|
//! | `POST /{type}` | create; id and `meta.versionId` assigned; 201, `Location`, `ETag: W/"1"` |
//! | `GET /{type}/{id}`, `GET /{type}/{id}/_history/{v}` | read, vread; 404, 410 after delete |
//! | `PUT /{type}/{id}` | update (or create with that id); `If-Match: W/"n"` (412) |
//! | `DELETE /{type}/{id}` | delete (`If-Match` honoured); 204 |
//! | `GET /{type}?...` | search: `_id`, `identifier`, `patient`, `subject`, `code` (`system\|code`), `date` (eq, ne, gt, lt, ge, le), `_count`, `_offset`; searchset Bundle with `total` and paging links |
//! | `POST /` | transaction Bundle: POST, PUT, conditional PUT (`Type?identifier=`), DELETE; `urn:uuid` references resolved; all or nothing |
//! | `GET /metadata` | a CapabilityStatement of the above |
//!
//! Everything received is validated against the official R4 JSON schema
//! ([`crate::fhir_schema`]); invalid resources are refused with 422 (400
//! for what is not a resource at all) and an OperationOutcome.

mod crud;
pub mod date;
pub mod db;
pub mod error;
mod router;
mod search;
pub mod stats;
mod transaction;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::fhir_schema::FhirSchema;

pub use super::openehr::Exchange;
pub use error::FhirError;
pub use stats::{FhirStats, StoredResource};

use super::server::{serve, RefServer};

/// Base path of the API.
pub const BASE_PATH: &str = "/fhir";

/// Settings of the FHIR backend.
#[derive(Debug, Clone)]
pub struct FhirConfig {
    /// The R4 JSON schema file; `None` uses the corpus copy.
    pub schema_path: Option<PathBuf>,
    /// Validate against the schema (on by default; off only to measure).
    pub validate: bool,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Most resource versions kept; writes past it get 507.
    pub max_versions: usize,
    /// Most entries in a transaction Bundle.
    pub max_bundle_entries: usize,
    /// Page size when `_count` is absent.
    pub default_count: usize,
    /// Largest `_count` honoured.
    pub max_count: usize,
}

impl Default for FhirConfig {
    fn default() -> Self {
        FhirConfig {
            schema_path: None,
            validate: true,
            max_body_bytes: 8 * 1024 * 1024,
            max_versions: 1_000_000,
            max_bundle_entries: 1_000,
            default_count: 20,
            max_count: 1_000,
        }
    }
}

/// Starts the backend on `addr` (`127.0.0.1:0` picks a free port). The
/// schema is compiled first (once per process for the corpus copy);
/// failing that is `InvalidData`.
pub async fn spawn(cfg: FhirConfig, addr: SocketAddr) -> std::io::Result<RefServer<FhirStats>> {
    let path = cfg.schema_path.clone();
    let schema: Arc<SchemaRef> = tokio::task::spawn_blocking(move || match path {
        None => FhirSchema::shared().map(SchemaRef::Shared),
        Some(p) => FhirSchema::load(&p).map(|s| SchemaRef::Own(Box::new(s))),
    })
    .await
    .map_err(std::io::Error::other)?
    .map(Arc::new)
    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let stats = Arc::new(FhirStats::default());
    let _ = stats.schema.set(schema.clone());
    let backend = Arc::new(router::Backend {
        cfg,
        schema,
        stats: stats.clone(),
    });
    let server = serve(addr, BASE_PATH, backend, stats).await?;
    let _ = server.stats.base_url.set(server.base_url.clone());
    Ok(server)
}

/// The compiled schema: the process-wide one or the backend's own.
#[derive(Debug)]
pub(crate) enum SchemaRef {
    Shared(&'static FhirSchema),
    Own(Box<FhirSchema>),
}

impl SchemaRef {
    pub(crate) fn get(&self) -> &FhirSchema {
        match self {
            SchemaRef::Shared(s) => s,
            SchemaRef::Own(s) => s,
        }
    }
}
