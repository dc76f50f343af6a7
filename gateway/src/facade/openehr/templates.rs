//! Operational templates fetched over the backend's openEHR client: the
//! same connection pool, TLS/mTLS, timeouts and credentials as every other
//! call to that CDR (an `https://` EHRbase behind Basic auth serves the
//! facade its templates like any other request).
//!
//! Uses the ADL 1.4 template API as EHRbase serves it: `GET .../adl1.4/{id}`
//! with `Accept: application/xml` returns the OPT, `GET .../adl1.4` a JSON
//! list of `{template_id, concept, ...}`. A 404 is
//! [`TemplateError::NotFound`]; an authentication refusal is
//! [`TemplateError::Unauthorized`]; a transport failure or another status
//! is [`TemplateError::Upstream`] naming the backend (never the body).

use std::sync::Arc;

use ehrgate_templates::store::{check_declared_id, TemplateSummary};
use ehrgate_templates::TemplateStore;
use ehrgate_templates::{parse_opt_with, OptLimits, TemplateError, TemplateId, TemplateMeta};

use super::OpenEhrClient;
use crate::facade::error::FacadeError;

/// A [`TemplateStore`] over an [`OpenEhrClient`].
#[derive(Debug, Clone)]
pub struct ClientTemplateSource {
    client: OpenEhrClient,
    limits: OptLimits,
}

// === impl ClientTemplateSource ===

impl ClientTemplateSource {
    /// Templates of `client`'s backend, parsed within `limits`.
    pub fn new(client: OpenEhrClient, limits: OptLimits) -> Self {
        ClientTemplateSource { client, limits }
    }

    fn upstream_error(&self, e: &dyn std::fmt::Display) -> TemplateError {
        TemplateError::Upstream(format!("backend `{}`: {e}", self.client.backend()))
    }

    /// An authentication refusal stays one (the facade answers it as
    /// such); anything else is an upstream failure.
    fn fetch_error(&self, e: &FacadeError) -> TemplateError {
        match e {
            FacadeError::BackendAuth {
                backend,
                status,
                scheme,
            } => TemplateError::Unauthorized {
                source_name: backend.clone(),
                status: *status,
                scheme,
            },
            other => self.upstream_error(other),
        }
    }
}

#[async_trait::async_trait]
impl TemplateStore for ClientTemplateSource {
    async fn get(&self, id: &TemplateId) -> Result<Arc<TemplateMeta>, TemplateError> {
        let body = match self.client.get_template(id.as_str()).await {
            Ok(Some(b)) => b,
            Ok(None) => return Err(TemplateError::NotFound(id.clone())),
            Err(e) => return Err(self.fetch_error(&e)),
        };
        let limits = self.limits;
        // Parsing a large OPT takes milliseconds: keep it off the async workers.
        let parsed = tokio::task::spawn_blocking(move || parse_opt_with(&body, &limits))
            .await
            .map_err(|e| self.upstream_error(&format!("parser task failed: {e}")))?;
        let meta = parsed.map_err(|error| TemplateError::InvalidUpstream {
            id: id.clone(),
            error,
        })?;
        check_declared_id(meta, id)
    }

    async fn list(&self) -> Result<Vec<TemplateSummary>, TemplateError> {
        let v = self
            .client
            .list_templates()
            .await
            .map_err(|e| self.fetch_error(&e))?;
        serde_json::from_value(v)
            .map_err(|e| self.upstream_error(&format!("template listing is not a list: {e}")))
    }
}
