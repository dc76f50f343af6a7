//! The destinations one feed table can name, by backend: an MLLP receiver,
//! a FHIR server or an openEHR backend, each a [`Destination`]
//! ([`super::destination`]). "Accepted" means the receiver's `AA`/`CA`, a
//! FHIR 2xx or the facade's stored transaction; anything else is an error
//! whose fault decides the inbound ACK.

use std::collections::HashMap;
use std::sync::Arc;

use ehrgate_mappers::hl7v2::Message;
use ehrgate_mappers::v2fhir::V2ToFhir;

use super::destination::{
    Delivery, Destination, FhirDestination, MllpDestination, OpenEhrDestination, Prepared,
};
use super::error::FeedError;
use super::sender::MllpSender;
use super::stats::FeedStats;
use super::stream::DestinationTls;
use super::unstorable::Stored;
use crate::config::model::{BackendConfig, BackendKind};
use crate::config::model_mllp::{MllpConfig, UnstorablePolicy};
use crate::config::LoadedConfig;
use crate::runtime::Shared;
use crate::tls::TlsError;

/// What an MLLP sender was built from: the backend, the `[mllp]` settings
/// and a digest of its TLS files' contents.
type SenderSettings = (BackendConfig, MllpConfig, u64);

/// The destinations feed routes can name.
#[derive(Debug)]
pub struct Destinations {
    by_name: HashMap<Arc<str>, Arc<dyn Destination>>,
    /// MLLP senders, kept over a reload with what each was built from: the
    /// settings and a digest of the TLS files' contents, so a CA, client
    /// certificate or key replaced under the same path builds a new sender
    /// (as the HTTP upstream pools do).
    senders: HashMap<Arc<str>, (Arc<MllpSender>, SenderSettings)>,
}

// === impl Destinations ===

impl Destinations {
    /// A destination for every MLLP, FHIR and openEHR backend. HTTP
    /// backends are found in the gateway's current snapshot at delivery
    /// time (pools, health and reloads shared with the HTTP routes). A
    /// sender of `previous` whose backend and `[mllp]` settings are
    /// unchanged is kept (pool, backoff).
    pub fn new(
        loaded: &LoadedConfig,
        shared: &Arc<Shared>,
        stats: &Arc<FeedStats>,
        previous: Option<&Destinations>,
    ) -> Result<Destinations, TlsError> {
        let config = &loaded.config;
        let mut by_name: HashMap<Arc<str>, Arc<dyn Destination>> = HashMap::new();
        let mut senders = HashMap::new();
        for b in &config.backends {
            let name: Arc<str> = Arc::from(b.name.get_ref().as_str());
            let destination: Arc<dyn Destination> = match b.kind {
                BackendKind::Hl7v2Mllp => {
                    let digest = crate::upstream::pool::tls_files_digest(b, &|p| loaded.resolve(p));
                    let settings = (b.clone(), config.mllp.clone(), digest);
                    let kept = previous
                        .and_then(|p| p.senders.get(&name))
                        .filter(|(_, s)| *s == settings)
                        .map(|(sender, _)| sender.clone());
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
                    senders.insert(name.clone(), (sender.clone(), settings));
                    Arc::new(MllpDestination(sender))
                }
                BackendKind::Fhir => Arc::new(FhirDestination {
                    backend: name.clone(),
                    shared: shared.clone(),
                    stats: stats.clone(),
                    translator: V2ToFhir::default(),
                }),
                BackendKind::Openehr => Arc::new(OpenEhrDestination {
                    backend: name.clone(),
                    shared: shared.clone(),
                    stats: stats.clone(),
                    translator: V2ToFhir::default(),
                }),
                BackendKind::Http => continue,
            };
            by_name.insert(name, destination);
        }
        Ok(Destinations { by_name, senders })
    }

    fn get(&self, backend: &str) -> Result<&Arc<dyn Destination>, FeedError> {
        self.by_name
            .get(backend)
            .ok_or_else(|| FeedError::NoBackend(backend.to_string()))
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
        let destination = self.get(backend)?;
        let prepared = destination.translate(msg)?;
        let d = Delivery {
            tenant,
            msg,
            payload,
            control_id,
            policy,
        };
        destination.deliver(&prepared, d).await
    }

    /// Delivers a message translated before (a queued one, translated when
    /// it was accepted); translated again only without that form (after a
    /// restart) or when the backend changed kind since.
    pub async fn deliver_prepared(
        &self,
        backend: &str,
        prepared: Option<&Prepared>,
        d: Delivery<'_>,
    ) -> Result<Stored, FeedError> {
        let destination = self.get(backend)?;
        match prepared {
            Some(p) => destination.deliver(p, d).await,
            None => {
                let p = destination.translate(d.msg)?;
                destination.deliver(&p, d).await
            }
        }
    }

    /// What can be known before delivery: the backend exists and, for a
    /// translating destination, the message translates (and, for openEHR,
    /// every clinical entry has a template). Run before a `CA` so a message
    /// that can never be delivered gets `CE`/`CR` now rather than a failed
    /// application ack (or endless retries) after the gateway took
    /// responsibility for it. Returns the translated form, so delivery
    /// does not translate again.
    pub fn check(
        &self,
        backend: &str,
        msg: &Message<'_>,
        policy: UnstorablePolicy,
    ) -> Result<Prepared, FeedError> {
        let destination = self.get(backend)?;
        let prepared = destination.translate(msg)?;
        destination.check(&prepared, policy)?;
        Ok(prepared)
    }
}
