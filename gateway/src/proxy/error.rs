//! Every way a proxied request can fail, each mapped once to a status code
//! and an OperationOutcome (the `fail_to_proxy` phase of pingora).

use ehrgate_templates::fault::{Classified, Fault};
use http::StatusCode;

use super::target::TargetError;
use crate::outcome::Issue;
use crate::routing::jwt::JwtError;
use crate::routing::tenant::TenantError;
use crate::upstream::body::BodyError;

/// Why the gateway answered instead of the backend.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// No or unknown tenant.
    #[error(transparent)]
    Tenant(#[from] TenantError),
    /// A bearer token that did not verify.
    #[error(transparent)]
    Jwt(#[from] JwtError),
    /// No route for this tenant and request.
    #[error("no route serves this request for this tenant")]
    NoRoute,
    /// The request body is larger than allowed.
    #[error("the request body is larger than {limit} bytes")]
    RequestTooLarge {
        /// The limit.
        limit: u64,
    },
    /// The request target cannot be forwarded.
    #[error("the request target is not valid")]
    BadTarget,
    /// The request path is refused before routing (dot segments in
    /// disguise, encoded slashes, control bytes, a fragment).
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The backend is marked down (health check or ejection).
    #[error("the backend is unavailable")]
    Unavailable,
    /// No connection to the backend.
    #[error("the backend could not be reached")]
    Connect,
    /// The backend did not answer in time.
    #[error("the backend did not answer in time")]
    Timeout,
    /// The backend's response was larger than allowed.
    #[error("the backend's response is larger than {limit} bytes")]
    ResponseTooLarge {
        /// The limit.
        limit: u64,
    },
    /// The exchange with the backend failed.
    #[error("the backend failed")]
    Upstream,
    /// The request is not valid HTTP/1.1 (head or chunked body).
    #[error("the request is not valid HTTP/1.1")]
    BadRequest,
    /// The `Host` header breaks RFC 9112 section 3.2: missing on HTTP/1.1,
    /// repeated, not a valid authority, or userinfo in an absolute-form
    /// target.
    #[error("the request's Host is missing, repeated or not valid")]
    BadHost,
    /// The `Transfer-Encoding` does not end in one `chunked` coding, or
    /// repeats it (RFC 9112 section 6.3; see [`super::transfer_coding`]).
    #[error("the request's Transfer-Encoding does not end in one chunked coding")]
    BadTransferCoding,
    /// A transfer coding the gateway does not implement (RFC 9112 section
    /// 6.1: 501).
    #[error("the request uses a transfer coding other than chunked, which the gateway does not implement")]
    TransferCodingNotImplemented,
    /// `CONNECT` or `TRACE` (see [`super::method_rules`]).
    #[error("the {method} method is not allowed through the gateway")]
    MethodNotAllowed {
        /// The refused method.
        method: http::Method,
    },
    /// The request head (request line and headers) is over the limit.
    #[error("the request head is larger than {limit} bytes")]
    HeadTooLarge {
        /// The limit.
        limit: usize,
    },
}

impl Classified for ProxyError {
    fn fault(&self) -> Fault {
        match self {
            ProxyError::Tenant(e) => e.fault(),
            ProxyError::Jwt(e) => e.fault(),
            ProxyError::Target(e) => e.fault(),
            ProxyError::NoRoute
            | ProxyError::RequestTooLarge { .. }
            | ProxyError::BadTarget
            | ProxyError::BadRequest
            | ProxyError::BadHost
            | ProxyError::BadTransferCoding
            | ProxyError::TransferCodingNotImplemented
            | ProxyError::MethodNotAllowed { .. }
            | ProxyError::HeadTooLarge { .. } => Fault::Client,
            ProxyError::Unavailable
            | ProxyError::Connect
            | ProxyError::Timeout
            | ProxyError::ResponseTooLarge { .. }
            | ProxyError::Upstream => Fault::Upstream,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ProxyError::Tenant(e) => e.code(),
            ProxyError::Jwt(e) => e.code(),
            ProxyError::Target(e) => e.code(),
            ProxyError::NoRoute => "route.none",
            ProxyError::RequestTooLarge { .. } => "request.too-large",
            ProxyError::BadTarget => "request.bad-target",
            ProxyError::Unavailable => "upstream.unavailable",
            ProxyError::Connect => "upstream.connect",
            ProxyError::Timeout => "upstream.timeout",
            ProxyError::ResponseTooLarge { .. } => "upstream.response-too-large",
            ProxyError::Upstream => "upstream.failed",
            ProxyError::BadRequest => "request.malformed",
            ProxyError::BadHost => "request.bad-host",
            ProxyError::HeadTooLarge { .. } => "request.head-too-large",
            ProxyError::BadTransferCoding => "request.bad-transfer-coding",
            ProxyError::TransferCodingNotImplemented => "request.transfer-coding-not-implemented",
            ProxyError::MethodNotAllowed { .. } => "request.method-not-allowed",
        }
    }
}

pub use crate::runtime::state::TenantStatuses;

// === impl ProxyError ===

impl ProxyError {
    /// The status and the issue to answer with.
    pub fn status_and_issue(&self, statuses: TenantStatuses) -> (StatusCode, Issue) {
        let issue = Issue::from_error(self);
        match self {
            ProxyError::Tenant(TenantError::Missing) => (
                statuses.missing,
                issue.with_code(forbidden_or(statuses.missing, "required")),
            ),
            ProxyError::Tenant(TenantError::Unknown) => (
                statuses.unknown,
                issue.with_code(forbidden_or(statuses.unknown, "invalid")),
            ),
            ProxyError::Jwt(JwtError::Jwks(_)) => (StatusCode::INTERNAL_SERVER_ERROR, issue),
            ProxyError::Jwt(_) => (StatusCode::UNAUTHORIZED, issue.with_code("login")),
            ProxyError::NoRoute => (StatusCode::NOT_FOUND, issue.with_code("not-found")),
            ProxyError::RequestTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, issue.with_code("too-costly"))
            }
            ProxyError::BadTarget
            | ProxyError::Target(_)
            | ProxyError::BadRequest
            | ProxyError::BadHost
            | ProxyError::BadTransferCoding => (StatusCode::BAD_REQUEST, issue),
            ProxyError::TransferCodingNotImplemented => (
                StatusCode::NOT_IMPLEMENTED,
                issue.with_code("not-supported"),
            ),
            ProxyError::MethodNotAllowed { .. } => (
                StatusCode::METHOD_NOT_ALLOWED,
                issue.with_code("not-supported"),
            ),
            ProxyError::HeadTooLarge { .. } => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                issue.with_code("too-costly"),
            ),
            ProxyError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, issue),
            ProxyError::Connect | ProxyError::Upstream | ProxyError::ResponseTooLarge { .. } => {
                (StatusCode::BAD_GATEWAY, issue)
            }
            ProxyError::Timeout => (StatusCode::GATEWAY_TIMEOUT, issue.with_code("timeout")),
        }
    }

    /// Maps a body error seen while sending the request. The body read is
    /// the client's: a stream error there (malformed chunked framing, a
    /// body cut short) is the client's fault, 400 as on the native engine,
    /// never a 502 that would blame (and count against) the backend.
    pub fn from_body(err: &BodyError) -> ProxyError {
        match err {
            BodyError::TooLarge { limit } => ProxyError::RequestTooLarge { limit: *limit },
            BodyError::Stream(_) => ProxyError::BadRequest,
            BodyError::Superseded => ProxyError::Upstream,
        }
    }

    /// Whether the connection must close after this answer: the request's
    /// framing cannot be trusted (a bad or unimplemented transfer coding)
    /// or what follows is not HTTP (`CONNECT`).
    pub fn closes_connection(&self) -> bool {
        match self {
            ProxyError::BadTransferCoding | ProxyError::TransferCodingNotImplemented => true,
            ProxyError::MethodNotAllowed { method } => {
                super::method_rules::closes_connection(method)
            }
            _ => false,
        }
    }
}

fn forbidden_or(status: StatusCode, otherwise: &'static str) -> &'static str {
    if status == StatusCode::FORBIDDEN {
        "forbidden"
    } else {
        otherwise
    }
}
