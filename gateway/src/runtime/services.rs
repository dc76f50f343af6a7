//! What the composition root attaches to a backend beside its pool, through
//! a seam the runtime defines and does not fill itself: a request handler
//! for the HTTP proxy ([`HttpHandler`], the FHIR facade on an openEHR
//! backend) and typed services for other parts (the same facade as the
//! write API of MLLP delivery, looked up by type in [`Attached::extensions`]).
//!
//! Why a seam: the runtime and the proxy sit below the facade; they keep a
//! backend's attachments and carry them over a reload while its config is
//! unchanged (so caches stay warm) without naming the facade's types.

use std::sync::Arc;

use http::request::Parts;
use http::{Method, Response};
use hyper::body::Incoming;

use crate::config::LoadedConfig;
use crate::upstream::{ProxyBody, Upstream};

/// A handler that serves some requests on a backend's routes itself
/// instead of passing them through.
#[async_trait::async_trait]
pub trait HttpHandler: std::fmt::Debug + Send + Sync {
    /// Whether it serves a request with `method` and `path` (the path under
    /// the tenant prefix); `false` passes the request through unchanged.
    fn serves(&self, method: &Method, path: &str) -> bool;

    /// Serves a request it said it serves; never fails (errors become
    /// responses).
    async fn serve(&self, call: HandlerCall<'_>, body: Incoming) -> Response<ProxyBody>;
}

/// One request handed to an [`HttpHandler`].
#[derive(Debug, Clone, Copy)]
pub struct HandlerCall<'a> {
    /// The request head.
    pub parts: &'a Parts,
    /// The path under the tenant prefix (what [`HttpHandler::serves`] saw).
    pub path: &'a str,
    /// The path under the route's prefix (a FHIR base's relative path).
    pub route_path: &'a str,
    /// The client-visible URL of the route's base (`https://host/fhir`).
    pub base_url: &'a str,
    /// The resolved tenant.
    pub tenant: &'a str,
    /// The request body limit.
    pub max_request_body: u64,
}

/// What is attached to one backend.
#[derive(Debug, Clone, Default)]
pub struct Attached {
    /// Serves some of its HTTP requests instead of the pass-through.
    pub handler: Option<Arc<dyn HttpHandler>>,
    /// Services by type, for parts that know the type (MLLP delivery takes
    /// the facade from here).
    pub extensions: http::Extensions,
}

/// Builds the attachments of a backend whose upstream was just built.
pub trait BackendServices: std::fmt::Debug + Send + Sync {
    /// The attachments of `upstream` under `loaded`.
    fn attach(&self, upstream: &Arc<Upstream>, loaded: &LoadedConfig) -> Attached;
}

/// Attaches nothing: every request passes through (tools, benches).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoServices;

impl BackendServices for NoServices {
    fn attach(&self, _: &Arc<Upstream>, _: &LoadedConfig) -> Attached {
        Attached::default()
    }
}
