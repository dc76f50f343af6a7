//! What the composition root attaches to backends
//! ([`crate::runtime::services`]): an openEHR backend gets its FHIR facade,
//! as the proxy's request handler and, by type, as the write API MLLP
//! delivery uses. One facade per backend, kept across reloads with the
//! backend's upstream, so its caches stay warm.

use std::sync::Arc;

use http::{Method, Response};
use hyper::body::Incoming;

use crate::config::model::BackendKind;
use crate::config::LoadedConfig;
use crate::facade::http::{classify, Kind, Target};
use crate::facade::Facade;
use crate::runtime::services::{Attached, BackendServices, HandlerCall, HttpHandler};
use crate::telemetry::exposition::OpenEhrGauges;
use crate::upstream::{ProxyBody, Upstream};

/// The gateway's attachments: the facade on every `openehr` backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct GatewayServices;

impl BackendServices for GatewayServices {
    fn attach(&self, upstream: &Arc<Upstream>, loaded: &LoadedConfig) -> Attached {
        if upstream.kind != BackendKind::Openehr {
            return Attached::default();
        }
        let facade = Arc::new(Facade::new(
            upstream,
            loaded.config.server.max_response_body,
            &|p| loaded.resolve(p),
        ));
        let mut extensions = http::Extensions::new();
        extensions.insert(facade.clone());
        let gauges: Arc<dyn OpenEhrGauges> = Arc::new(FacadeGauges(facade.clone()));
        extensions.insert(gauges);
        Attached {
            handler: Some(Arc::new(FacadeHandler(facade))),
            extensions,
        }
    }
}

/// The facade as the proxy's handler of an openEHR backend's routes: FHIR
/// and template uploads are its own, native openEHR REST passes through.
#[derive(Debug)]
pub struct FacadeHandler(pub Arc<Facade>);

#[async_trait::async_trait]
impl HttpHandler for FacadeHandler {
    fn serves(&self, method: &Method, path: &str) -> bool {
        classify(method, path) != Kind::Native
    }

    async fn serve(&self, call: HandlerCall<'_>, body: Incoming) -> Response<ProxyBody> {
        let max = call.max_request_body;
        // Told again here (a string match): the proxy only asked whether.
        if classify(&call.parts.method, call.path) == Kind::TemplateUpload {
            return self.0.upload_template(call.parts, body, max).await;
        }
        let target = Target {
            tenant: call.tenant,
            path: call.route_path,
            base_url: call.base_url,
        };
        self.0.serve(target, call.parts, body, max).await
    }
}

/// The facade's counters as the exposition reads them.
#[derive(Debug)]
struct FacadeGauges(Arc<Facade>);

impl OpenEhrGauges for FacadeGauges {
    fn auth_failures(&self) -> u64 {
        self.0
            .client()
            .stats()
            .auth_failures
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn template_stale(&self) -> u64 {
        self.0.catalog().stale_served()
    }
}
