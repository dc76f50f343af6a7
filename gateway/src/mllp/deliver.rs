//! Delivery to a destination: the message unchanged to an MLLP receiver,
//! or translated to a FHIR transaction Bundle and POSTed to a FHIR server's
//! base URL, or as compositions to an openEHR backend through the FHIR
//! facade ([`super::openehr`]). "Accepted" means the receiver's `AA`/`CA`,
//! a FHIR 2xx or the facade's stored transaction;
//! anything else is an error whose fault decides the inbound ACK.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use ehrgate_mappers::hl7v2::Message;
use ehrgate_mappers::translation::Translator;
use ehrgate_mappers::v2fhir::V2ToFhir;
use http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;

use super::error::FeedError;
use super::sender::MllpSender;
use super::stats::FeedStats;
use super::stream::DestinationTls;
use super::unstorable::Stored;
use crate::config::model::{BackendConfig, BackendKind};
use crate::config::model_mllp::{MllpConfig, UnstorablePolicy};
use crate::config::LoadedConfig;
use crate::upstream::body::ProxyBody;
use crate::upstream::exchange::{exchange, Health, Refused};
use crate::upstream::pool::Upstream;
use crate::runtime::Shared;
use crate::tls::TlsError;

/// Largest FHIR response body read (and thrown away) so the connection can
/// be reused; a larger one closes the connection instead.
const MAX_FHIR_RESPONSE: usize = 1024 * 1024;

/// The destinations feed routes can name.
#[derive(Debug)]
pub struct Destinations {
    mllp: HashMap<Arc<str>, Arc<MllpSender>>,
    /// What each sender was built from, to carry it over a reload: the
    /// settings and a digest of the TLS files' contents, so a CA, client
    /// certificate or key replaced under the same path builds a new sender
    /// (as the HTTP upstream pools do).
    sender_configs: HashMap<Arc<str>, (BackendConfig, MllpConfig, u64)>,
    kinds: HashMap<Arc<str>, BackendKind>,
    shared: Arc<Shared>,
    translator: V2ToFhir,
}

// === impl Destinations ===

impl Destinations {
    /// Senders for every `hl7v2-mllp` backend; HTTP backends are found in
    /// the gateway's current snapshot at delivery time (pools, health and
    /// reloads shared with the HTTP routes). A sender of `previous` whose
    /// backend and `[mllp]` settings are unchanged is kept (pool, backoff).
    pub fn new(
        loaded: &LoadedConfig,
        shared: Arc<Shared>,
        stats: &Arc<FeedStats>,
        previous: Option<&Destinations>,
    ) -> Result<Destinations, TlsError> {
        let config = &loaded.config;
        let mut mllp = HashMap::new();
        let mut sender_configs = HashMap::new();
        let mut kinds = HashMap::new();
        for b in &config.backends {
            let name: Arc<str> = Arc::from(b.name.get_ref().as_str());
            kinds.insert(name.clone(), b.kind);
            if b.kind == BackendKind::Hl7v2Mllp {
                let digest = crate::upstream::pool::tls_files_digest(b, &|p| loaded.resolve(p));
                let settings = (b.clone(), config.mllp.clone(), digest);
                let kept = previous.and_then(|p| {
                    let same = p.sender_configs.get(&name) == Some(&settings);
                    same.then(|| p.mllp.get(&name).cloned()).flatten()
                });
                let sender = match kept {
                    Some(s) => s,
                    None => {
                        let s = Arc::new(MllpSender::new(
                            b,
                            &config.mllp,
                            stats.clone(),
                            DestinationTls::of(b, loaded)?,
                        ));
                        if let Some(check) = &b.health {
                            super::health::spawn(&s, check.clone());
                        }
                        s
                    }
                };
                mllp.insert(name.clone(), sender);
                sender_configs.insert(name, settings);
            }
        }
        Ok(Destinations {
            mllp,
            sender_configs,
            kinds,
            shared,
            translator: V2ToFhir::default(),
        })
    }

    /// Delivers `msg` (raw `payload`) to `backend` for `tenant`; `policy`
    /// (the route's `openehr_unstorable`) decides, for an openEHR backend,
    /// whether resources no template takes refuse the message or are left
    /// out ([`Stored::left_out`]).
    pub async fn deliver(
        &self,
        backend: &str,
        tenant: &str,
        msg: &Message<'_>,
        payload: &[u8],
        control_id: &str,
        policy: UnstorablePolicy,
    ) -> Result<Stored, FeedError> {
        match self.kinds.get(backend) {
            Some(BackendKind::Hl7v2Mllp) => match self.mllp.get(backend) {
                Some(sender) => sender
                    .send(payload, control_id)
                    .await
                    .map(|()| Stored::default()),
                None => Err(FeedError::NoBackend(backend.to_string())),
            },
            Some(BackendKind::Openehr) => {
                let bundle = self.translator.translate(msg)?.output;
                let facade = self.facade(backend)?;
                super::openehr::deliver(&facade, backend, tenant, msg, &bundle, policy).await
            }
            Some(BackendKind::Fhir) => {
                // The fast path: the Bundle's bytes straight from the
                // mapper's own tree (byte-identical to serialising the
                // `Value`, checked over the corpus), no `Value` in between;
                // the unmapped report is kept unformatted (feeds do not
                // return it), which saves building its strings.
                let mut body = Vec::new();
                let report = self.translator.write_bundle(msg, &mut body)?;
                if !report.is_clean() {
                    // Counts only: the unmapped fields' locations are
                    // message structure, their values never leave here.
                    tracing::debug!(
                        backend,
                        tenant,
                        unmapped = report.unmapped_count(),
                        warnings = report.warnings().len(),
                        "mllp: v2 content not carried into the FHIR Bundle"
                    );
                }
                self.post_fhir(backend, tenant, Bytes::from(body))
                    .await
                    .map(|()| Stored::default())
            }
            _ => Err(FeedError::NoBackend(backend.to_string())),
        }
    }

    /// What can be known before delivery: the backend exists and, for a
    /// translating destination, the message translates (and, for openEHR,
    /// every clinical entry has a template). Run before a `CA` so a message
    /// that can never be delivered gets `CE`/`CR` now rather than a failed
    /// application ack (or endless retries) after the gateway took
    /// responsibility for it.
    pub fn check(
        &self,
        backend: &str,
        msg: &Message<'_>,
        policy: UnstorablePolicy,
    ) -> Result<(), FeedError> {
        match self.kinds.get(backend) {
            Some(BackendKind::Hl7v2Mllp) if self.mllp.contains_key(backend) => Ok(()),
            Some(BackendKind::Fhir) => {
                // The byte writer: the same translation as delivery, without
                // building a `Value` only to drop it.
                self.translator.write_bundle(msg, &mut Vec::new())?;
                Ok(())
            }
            Some(BackendKind::Openehr) => {
                let bundle = self.translator.translate(msg)?.output;
                let facade = self.facade(backend)?;
                super::openehr::check(&bundle, &facade, backend, policy)
            }
            _ => Err(FeedError::NoBackend(backend.to_string())),
        }
    }

    /// The facade of an openEHR backend in the live snapshot.
    fn facade(&self, backend: &str) -> Result<Arc<crate::facade::Facade>, FeedError> {
        self.shared
            .load()
            .service::<Arc<crate::facade::Facade>>(backend)
            .cloned()
            .ok_or_else(|| FeedError::NoBackend(backend.to_string()))
    }

    fn upstream(&self, backend: &str) -> Result<Arc<Upstream>, FeedError> {
        let snap = self.shared.load();
        snap.table
            .backends()
            .iter()
            .position(|b| &*b.name == backend)
            .and_then(|i| snap.upstream(i).cloned())
            .ok_or_else(|| FeedError::NoBackend(backend.to_string()))
    }

    async fn post_fhir(&self, backend: &str, tenant: &str, body: Bytes) -> Result<(), FeedError> {
        let up = self.upstream(backend)?;
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
        // says nothing about the server (as before the one call policy).
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
