//! An in-memory openEHR REST backend that behaves as EHRbase does for the
//! subset the gateway uses, under `/ehrbase/rest/openehr/v1`:
//!
//! | endpoint | behaviour |
//! |---|---|
//! | `POST /ehr`, `PUT /ehr/{id}` | create (optional EHR_STATUS with subject); 409 for a known subject |
//! | `GET /ehr?subject_id=&subject_namespace=`, `GET /ehr/{id}` | lookup; 404 |
//! | `GET /ehr/{id}/ehr_status` | the EHR_STATUS (subject) |
//! | `POST /ehr/{id}/composition` | canonical JSON, or FLAT with `?format=FLAT&templateId=`; template-checked, 422 on violation |
//! | `GET/PUT/DELETE /ehr/{id}/composition/{uid}` | versioned uids `uuid::system::n`; `If-Match` (412), stale delete (409), deleted reads 204 |
//! | `POST/GET /definition/template/adl1.4[/{id}]` | OPT XML upload (201, 409 for a known id), get, list |
//! | `POST /query/aql` | `{"q", "query_parameters", "offset", "fetch"}` -> `{"columns", "rows"}`; see [`aql`] |
//!
//! Writes honour `Prefer: return=representation|minimal` and answer
//! `Location` and `ETag`. Refusals are EHRbase-shaped JSON
//! (`{"error", "message"}`, plus a stable `code`).
//!
//! # EHRbase 2.x behaviours copied (each at the code that copies it)
//! - authentication: `security.authType` BASIC / OAUTH bearer, 401 without
//!   or with wrong credentials ([`RefAuth`], `auth.rs`);
//! - AQL: ORDER BY only on a selected path (400), LIMIT over `max-limit`
//!   (422), `.../value` strings compared as text and `DV_DATE_TIME` by
//!   instant, form-encoded `query_parameters` on GET (`aql/features.rs`,
//!   `aql/compare.rs`, `query.rs`);
//! - compositions: `If-Match` parsed raw as a version uid (a quoted one is
//!   400 "UUID string too large"), 204 on a create or update without
//!   `Prefer: return=representation`, template violations and an unknown
//!   template 422, `format` matched case-sensitively (406 otherwise),
//!   DELETE of a deleted composition 404 (`composition.rs`);
//! - EHRs: the subject namespace must match `[a-zA-Z][a-zA-Z0-9-_:/&+?]*`
//!   (400) (`ehr.rs`);
//! - templates: upload consumes and produces only `application/xml` (415,
//!   406) (`template.rs`).

pub mod aql;
mod auth;
mod composition;
pub mod db;
mod ehr;
pub mod error;
mod query;
mod router;
pub mod stats;
mod template;
pub mod validate;

use std::net::SocketAddr;
use std::sync::Arc;

use ehrgate_templates::OptLimits;

pub use db::Received;
pub use error::OpenEhrError;
pub use stats::{Exchange, OpenEhrStats, StoredComposition};

use super::server::{serve, RefServer};

/// Base path of the API, as EHRbase serves it.
pub const BASE_PATH: &str = "/ehrbase/rest/openehr/v1";

/// Settings of the openEHR backend.
#[derive(Debug, Clone)]
pub struct OpenEhrConfig {
    /// Templates loaded before the first request: `(id, OPT XML)`. The id
    /// must be the one the OPT declares.
    pub templates: Vec<(String, Vec<u8>)>,
    /// The system id in version uids.
    pub system_id: String,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Largest AQL text.
    pub max_aql_bytes: usize,
    /// Most rows one query answers.
    pub max_rows: usize,
    /// Most EHRs, compositions (all versions) and templates kept; writes
    /// past them are refused with 507.
    pub max_ehrs: usize,
    /// See `max_ehrs`.
    pub max_versions: usize,
    /// See `max_ehrs`.
    pub max_templates: usize,
    /// OPT parser limits for uploads.
    pub opt_limits: OptLimits,
    /// Who may call: EHRbase's `security.authType` (`NONE`, `BASIC`, or
    /// bearer tokens as `OAUTH` checks them).
    pub auth: RefAuth,
    /// `ehrbase.rest.aql.max-limit`: a larger AQL `LIMIT` is 422.
    pub max_limit: Option<usize>,
}

/// EHRbase's authentication modes, as the reference checks them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RefAuth {
    /// `authType: NONE`: everyone may call (the default here, so tests that
    /// are not about authentication need no credentials).
    #[default]
    None,
    /// `authType: BASIC` (EHRbase's own default), one user.
    Basic {
        /// `security.authUser`.
        username: String,
        /// `security.authPassword`.
        password: String,
    },
    /// `authType: OAUTH`, a bearer token from this set accepted (the IdP's
    /// signature check is not modelled).
    Bearer {
        /// Tokens accepted.
        tokens: Vec<String>,
    },
}

/// EHRbase's default user (`security.authUser`).
pub const EHRBASE_USER: &str = "ehrbase-user";
/// EHRbase's default password (`security.authPassword`).
pub const EHRBASE_PASSWORD: &str = "SuperSecretPassword";

impl Default for OpenEhrConfig {
    fn default() -> Self {
        OpenEhrConfig {
            templates: Vec::new(),
            system_id: "ehrgate-ref".to_owned(),
            max_body_bytes: 8 * 1024 * 1024,
            max_aql_bytes: 64 * 1024,
            max_rows: 10_000,
            max_ehrs: 100_000,
            max_versions: 1_000_000,
            max_templates: 1_000,
            opt_limits: OptLimits::default(),
            auth: RefAuth::None,
            max_limit: None,
        }
    }
}

// === impl OpenEhrConfig ===

impl OpenEhrConfig {
    /// With Basic authentication on, as EHRbase ships (`authType: BASIC`,
    /// its default user and password).
    pub fn with_ehrbase_basic_auth(self) -> Self {
        OpenEhrConfig {
            auth: RefAuth::Basic {
                username: EHRBASE_USER.to_owned(),
                password: EHRBASE_PASSWORD.to_owned(),
            },
            ..self
        }
    }

    /// Defaults with the templates of every shipped mapping set preloaded
    /// (what the facade translates to).
    pub fn with_shipped_templates() -> Self {
        let templates = ehrgate_mappers::fhirconnect::shipped::SHIPPED
            .iter()
            .filter_map(|s| Some((s.template_id.to_owned(), s.opt()?.to_vec())))
            .collect();
        OpenEhrConfig {
            templates,
            ..OpenEhrConfig::default()
        }
    }
}

/// Starts the backend on `addr` (`127.0.0.1:0` picks a free port).
/// Fails with `InvalidInput` when a preloaded template does not parse or
/// declares another id.
pub async fn spawn(
    cfg: OpenEhrConfig,
    addr: SocketAddr,
) -> std::io::Result<RefServer<OpenEhrStats>> {
    let stats = Arc::new(OpenEhrStats::default());
    {
        let mut db = stats::lock(&stats.db);
        db.system_id = cfg.system_id.clone();
        for (id, opt) in &cfg.templates {
            let t = template::load(opt, &cfg.opt_limits).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("template `{id}`: {e}"),
                )
            })?;
            if t.meta.template_id.as_str() != id {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "template `{id}` declares id `{}`",
                        t.meta.template_id.as_str()
                    ),
                ));
            }
            db.templates.insert(id.clone(), t);
        }
    }
    let backend = Arc::new(router::Backend::new(cfg, stats.clone()));
    let server = serve(addr, BASE_PATH, backend, stats).await?;
    let _ = server.stats.base_url.set(server.base_url.clone());
    Ok(server)
}
