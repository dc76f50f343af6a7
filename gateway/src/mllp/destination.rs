//! The [`Destination`] seam: where a feed route delivers, one
//! implementation per kind of backend instead of a `match` on the kind.
//!
//! - [`MllpDestination`]: the message unchanged to an MLLP receiver;
//!   accepted on its `AA`/`CA`.
//! - [`FhirDestination`]: a FHIR transaction Bundle POSTed to a FHIR
//!   server's base URL through the backend's upstream pool and the one call
//!   policy (`crate::upstream::exchange`); accepted on a 2xx.
//! - [`OpenEhrDestination`]: compositions through the FHIR facade's write
//!   path ([`super::openehr`]); accepted when the facade stored the
//!   transaction.
//!
//! A message is translated in one place, [`Destination::translate`], into
//! a [`Prepared`] form; the check before a `CA` and the delivery both take
//! that form, so a queued message is translated once at acceptance and
//! delivered (and retried) from what was translated then.

use std::sync::Arc;

use bytes::Bytes;
use ehrgate_mappers::hl7v2::Message;
use ehrgate_mappers::translation::Translator;
use ehrgate_mappers::v2fhir::V2ToFhir;
use http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;

use super::error::FeedError;
use super::sender::MllpSender;
use super::stats::FeedStats;
use super::unstorable::Stored;
use crate::config::model_mllp::UnstorablePolicy;
use crate::runtime::Shared;
use crate::upstream::exchange::{exchange, Health, Refused};
use crate::upstream::{ProxyBody, Upstream};

/// Largest FHIR response body read (and thrown away) so the connection can
/// be reused; a larger one closes the connection instead.
const MAX_FHIR_RESPONSE: usize = 1024 * 1024;

/// A message in the form its destination takes.
#[derive(Debug, Clone)]
pub enum Prepared {
    /// Sent as received (MLLP receivers).
    Raw,
    /// A FHIR transaction Bundle's bytes, written straight from the
    /// mapper's own tree, with the counts of what it did not carry.
    FhirBundle {
        /// The Bundle.
        body: Bytes,
        /// v2 fields not mapped.
        unmapped: usize,
        /// Mapper warnings.
        warnings: usize,
    },
    /// The translated Bundle, for the facade's write path.
    Bundle(Arc<Value>),
}

/// What a delivery needs besides the prepared message.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The tenant the message belongs to.
    pub tenant: &'a str,
    /// The parsed message.
    pub msg: &'a Message<'a>,
    /// The message as received.
    pub payload: &'a [u8],
    /// MSH-10.
    pub control_id: &'a str,
    /// The route's `openehr_unstorable`.
    pub policy: UnstorablePolicy,
}

/// Where a feed route's messages go.
#[async_trait::async_trait]
pub trait Destination: std::fmt::Debug + Send + Sync {
    /// The message in the form this destination takes (counted in
    /// [`FeedStats::translations`] when it is a translation).
    fn translate(&self, msg: &Message<'_>) -> Result<Prepared, FeedError>;

    /// What can be known before delivery, run before a `CA` so a message
    /// that can never be delivered gets `CE`/`CR` now rather than a failed
    /// application ack (or endless retries) later.
    fn check(&self, prepared: &Prepared, policy: UnstorablePolicy) -> Result<(), FeedError>;

    /// Delivers; `Ok` once the destination accepted. A `prepared` of
    /// another form (the backend changed kind in a reload since) is
    /// translated again.
    async fn deliver(&self, prepared: &Prepared, d: Delivery<'_>) -> Result<Stored, FeedError>;
}

// === impl MllpDestination ===

/// An MLLP receiver, through its sender (pool, ACK matching, backoff).
#[derive(Debug)]
pub struct MllpDestination(pub Arc<MllpSender>);

#[async_trait::async_trait]
impl Destination for MllpDestination {
    fn translate(&self, _: &Message<'_>) -> Result<Prepared, FeedError> {
        Ok(Prepared::Raw)
    }

    fn check(&self, _: &Prepared, _: UnstorablePolicy) -> Result<(), FeedError> {
        Ok(())
    }

    async fn deliver(&self, _: &Prepared, d: Delivery<'_>) -> Result<Stored, FeedError> {
        self.0
            .send(d.payload, d.control_id)
            .await
            .map(|()| Stored::default())
    }
}

// === impl FhirDestination ===

/// A FHIR server, found in the gateway's live snapshot at delivery time
/// (pools, health and reloads shared with the HTTP routes).
#[derive(Debug)]
pub struct FhirDestination {
    /// The backend name.
    pub backend: Arc<str>,
    /// The gateway's state.
    pub shared: Arc<Shared>,
    /// Counters (translations).
    pub stats: Arc<FeedStats>,
    /// v2 -> FHIR.
    pub translator: V2ToFhir,
}

impl FhirDestination {
    fn upstream(&self) -> Result<Arc<Upstream>, FeedError> {
        self.shared
            .load()
            .backend_named(&self.backend)
            .map(|b| b.upstream.clone())
            .ok_or_else(|| FeedError::NoBackend(self.backend.to_string()))
    }

    async fn post(&self, tenant: &str, body: Bytes) -> Result<(), FeedError> {
        let backend = &*self.backend;
        let up = self.upstream()?;
        let unreachable = |reason| FeedError::Unreachable {
            backend: backend.to_string(),
            reason,
        };
        let path = if up.base_path.is_empty() {
            "/".to_string()
        } else {
            up.base_path.clone()
        };
        let uri = http::Uri::builder()
            .scheme(up.scheme.clone())
            .authority(up.authority.clone())
            .path_and_query(path)
            .build()
            .map_err(|_| FeedError::NoBackend(backend.to_string()))?;
        let tenant_header = self.shared.load().settings.tenant_header.clone();
        let req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/fhir+json")
            .header(header::ACCEPT, "application/fhir+json")
            .header(tenant_header, tenant)
            .body(ProxyBody::full(body))
            .map_err(|_| FeedError::NoBackend(backend.to_string()))?;
        let attempt = async {
            let resp = up
                .client()
                .request(req)
                .await
                .map_err(|_| unreachable("request failed"))?;
            let status = resp.status();
            // Read the (bounded) answer so the connection goes back to the pool.
            let limited = http_body_util::Limited::new(resp.into_body(), MAX_FHIR_RESPONSE);
            let _ = limited.collect().await;
            Ok::<StatusCode, FeedError>(status)
        };
        // A 2xx is good, a 5xx bad; a 4xx is this message's refusal and
        // says nothing about the server.
        let judge = |r: &Result<StatusCode, FeedError>| match r {
            Ok(s) if s.is_success() => Health::Good,
            Ok(s) if s.is_server_error() => Health::Bad,
            Ok(_) => Health::Neutral,
            Err(_) => Health::Bad,
        };
        match exchange(&up, attempt, judge).await {
            Err(Refused::Unavailable) => {
                Err(unreachable("marked down by health checks or ejected"))
            }
            Err(Refused::Timeout) => Err(unreachable("no answer before the timeout")),
            Err(Refused::Failed(e)) => Err(e),
            Ok(status) if status.is_success() => Ok(()),
            Ok(status) => Err(FeedError::Refused {
                backend: backend.to_string(),
                answer: format!("HTTP {}", status.as_u16()),
            }),
        }
    }
}

#[async_trait::async_trait]
impl Destination for FhirDestination {
    fn translate(&self, msg: &Message<'_>) -> Result<Prepared, FeedError> {
        // The fast path: the Bundle's bytes straight from the mapper's own
        // tree (byte-identical to serialising the `Value`, checked over the
        // corpus), no `Value` in between; the unmapped report is kept
        // unformatted (feeds do not return it), which saves its strings.
        let mut body = Vec::new();
        let report = self.translator.write_bundle(msg, &mut body)?;
        FeedStats::inc(&self.stats.translations);
        Ok(Prepared::FhirBundle {
            body: Bytes::from(body),
            unmapped: report.unmapped_count(),
            warnings: report.warnings().len(),
        })
    }

    fn check(&self, _: &Prepared, _: UnstorablePolicy) -> Result<(), FeedError> {
        // It translated: a FHIR server takes any Bundle we write.
        Ok(())
    }

    async fn deliver(&self, prepared: &Prepared, d: Delivery<'_>) -> Result<Stored, FeedError> {
        let fresh;
        let prepared = match prepared {
            Prepared::FhirBundle { .. } => prepared,
            _ => {
                fresh = self.translate(d.msg)?;
                &fresh
            }
        };
        let Prepared::FhirBundle {
            body,
            unmapped,
            warnings,
        } = prepared
        else {
            return Err(FeedError::NoBackend(self.backend.to_string()));
        };
        if *unmapped > 0 || *warnings > 0 {
            // Counts only: the unmapped fields' locations are message
            // structure, their values never leave here.
            tracing::debug!(
                backend = &*self.backend,
                tenant = d.tenant,
                unmapped,
                warnings,
                "mllp: v2 content not carried into the FHIR Bundle"
            );
        }
        self.post(d.tenant, body.clone())
            .await
            .map(|()| Stored::default())
    }
}

// === impl OpenEhrDestination ===

/// An openEHR backend, through the facade attached to it in the gateway's
/// live snapshot (its caches and client shared with the HTTP routes).
#[derive(Debug)]
pub struct OpenEhrDestination {
    /// The backend name.
    pub backend: Arc<str>,
    /// The gateway's state.
    pub shared: Arc<Shared>,
    /// Counters (translations).
    pub stats: Arc<FeedStats>,
    /// v2 -> FHIR.
    pub translator: V2ToFhir,
}

impl OpenEhrDestination {
    fn facade(&self) -> Result<Arc<crate::facade::Facade>, FeedError> {
        self.shared
            .load()
            .service::<Arc<crate::facade::Facade>>(&self.backend)
            .cloned()
            .ok_or_else(|| FeedError::NoBackend(self.backend.to_string()))
    }
}

#[async_trait::async_trait]
impl Destination for OpenEhrDestination {
    fn translate(&self, msg: &Message<'_>) -> Result<Prepared, FeedError> {
        let bundle = self.translator.translate(msg)?.output;
        FeedStats::inc(&self.stats.translations);
        Ok(Prepared::Bundle(Arc::new(bundle)))
    }

    fn check(&self, prepared: &Prepared, policy: UnstorablePolicy) -> Result<(), FeedError> {
        let Prepared::Bundle(bundle) = prepared else {
            return Err(FeedError::NoBackend(self.backend.to_string()));
        };
        let facade = self.facade()?;
        super::openehr::check(bundle, &facade, &self.backend, policy)
    }

    async fn deliver(&self, prepared: &Prepared, d: Delivery<'_>) -> Result<Stored, FeedError> {
        let bundle = match prepared {
            Prepared::Bundle(b) => b.clone(),
            _ => match self.translate(d.msg)? {
                Prepared::Bundle(b) => b,
                _ => return Err(FeedError::NoBackend(self.backend.to_string())),
            },
        };
        let facade = self.facade()?;
        super::openehr::deliver(&facade, &self.backend, d.tenant, d.msg, &bundle, d.policy).await
    }
}
