//! The per-request pipeline, in named phases (after pingora's proxy trait):
//! `identify` (request id, verified JWT, tenant) -> `select` (route, arm and
//! handler) -> `upstream_request` (rewrite) -> `send` (timeouts, retries,
//! health) -> `response_filter` (headers) -> logging (when the body ends).
//! Any phase may fail with a [`ProxyError`], answered as an OperationOutcome.

use std::collections::hash_map::RandomState;
use std::convert::Infallible;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::request::Parts;
use http::{Request, Response, StatusCode, Version};
use http_body::Body as _;
use hyper::body::Incoming;

use super::error::ProxyError;
use super::failover::{self, Arms, Attempt, Failure, Retry, FAILOVER_HEADER};
use super::headers::{remove_hop_by_hop, set_forwarded, ClientInfo, ARM_HEADER, ROUTE_HEADER};
use super::logged_body::LoggedBody;
use super::placement::{self, Recorder};
use crate::outcome::{operation_outcome, FHIR_JSON};
use crate::routing::decision::{decide, Decision, StickySource};
use crate::routing::flags::FlagContext;
use crate::routing::jwt::VerifiedClaims;
use crate::routing::route_match::MatchInput;
use crate::routing::tenant::TenantInput;
use crate::runtime::services::{HandlerCall, HttpHandler};
use crate::runtime::state::{Shared, Snapshot};
use crate::telemetry::access_log::AccessLog;
use crate::upstream::body::ProxyBody;
use crate::upstream::exchange::{by_status, exchange, Health, Refused};
use crate::upstream::pool::Upstream;
use crate::upstream::retry::retryable;

/// Serves one request; never fails (errors become OperationOutcomes).
pub async fn handle(
    shared: Arc<Shared>,
    client: Arc<ClientInfo>,
    req: Request<Incoming>,
) -> Result<Response<LoggedBody>, Infallible> {
    let start = Instant::now();
    let snap = shared.load();
    let (mut parts, body) = req.into_parts();
    let version = parts.version;
    let request_id = request_id(&parts, &snap);
    let mut log = AccessLog::new(
        request_id.clone(),
        parts.method.clone(),
        start,
        shared.telemetry.clone(),
    );
    // One span per request; route, arm, backend and tenant are recorded
    // once the decision is made.
    let span = log.span();
    let result = tracing::Instrument::instrument(
        proxy(
            &shared,
            &snap,
            &client,
            &mut parts,
            body,
            &request_id,
            &mut log,
        ),
        span.clone(),
    )
    .await;
    let mut resp = match result {
        Ok(resp) => resp,
        Err(err) => error_response(&err, &snap, version),
    };
    resp.headers_mut()
        .insert(snap.settings.request_id_header.clone(), request_id);
    log.status = resp.status().as_u16();
    log.record_on(&span);
    let (parts, body) = resp.into_parts();
    Ok(Response::from_parts(parts, LoggedBody::new(body, log)))
}

async fn proxy(
    shared: &Shared,
    snap: &Snapshot,
    client: &ClientInfo,
    parts: &mut Parts,
    body: Incoming,
    request_id: &HeaderValue,
    log: &mut AccessLog,
) -> Result<Response<ProxyBody>, ProxyError> {
    // Refused methods, the transfer coding, Host and the head limit first:
    // both engines and h2 apply them before anything is decided on the
    // request.
    super::method_rules::check(&parts.method)?;
    transfer_coding_of(parts)?;
    super::host::normalise(parts)?;
    super::head_limit::check(parts, snap.loaded.config.server.max_request_head)?;
    admit(snap, client, parts)?;
    let selected = select(snap, parts, request_id, log)?;
    let mut arms = selected.arms;
    let result = match selected.action {
        Action::Handler {
            handler,
            path,
            route,
        } => {
            let tenant = log.tenant.clone().unwrap_or_else(|| Arc::from(""));
            let at = HandlerAt {
                path: &path,
                route,
                tenant: &tenant,
                tls: client.tls,
            };
            Ok(serve_handler(&**handler, snap, parts, body, at).await)
        }
        Action::Pass {
            path_and_query,
            tenant,
        } => {
            upstream_request(snap, client, parts, tenant, request_id);
            frame_from_body(&mut parts.headers, body.size_hint());
            send(shared, snap, &mut arms, parts, path_and_query, body, log).await
        }
    };
    let mut resp = result?;
    if let Some(recorder) = &selected.recorder {
        let h = resp.headers();
        if let Some(loc) = h
            .get(header::LOCATION)
            .or_else(|| h.get(header::CONTENT_LOCATION))
        {
            recorder.created(
                &*snap.placements,
                arms.arm,
                resp.status().as_u16(),
                loc.as_bytes(),
            );
        }
    }
    if let Some((route_v, _)) = selected.decision_headers {
        let h = resp.headers_mut();
        if let Some(v) = route_v {
            h.insert(ROUTE_HEADER, v);
        }
        h.insert(ARM_HEADER, HeaderValue::from_static(arms.arm.as_str()));
        if let Some(moved) = arms.moved {
            h.insert(FAILOVER_HEADER, HeaderValue::from_static(moved));
        }
    }
    Ok(resp)
}

/// What every request goes through after the Host rules and before
/// `identify`, on both HTTP/1.1 engines and h2 (the one place): the path's
/// dot segments resolved and its disguised ones refused ([`super::target`]),
/// so the tenant, the route and the backend all read the resolved path;
/// then, from a peer outside `[server] trusted_proxies`, the forwarding
/// chain and `X-User-Id` removed ([`super::trusted`]), so neither routing
/// nor the backend sees what the client forged.
pub(crate) fn admit(
    snap: &Snapshot,
    client: &ClientInfo,
    parts: &mut Parts,
) -> Result<(), ProxyError> {
    super::target::normalise(parts, snap.settings.reject_encoded_slash)?;
    if !snap.settings.trusted_proxies.trusts(client.peer.ip()) {
        super::trusted::scrub(&mut parts.headers);
    }
    Ok(())
}

/// What the `identify` and `select` phases decided for one request: the
/// upstream, the response's decision headers and how to serve it. Shared by
/// hyper's path and the native HTTP/1.1 engine ([`super::h1`]).
#[derive(Debug)]
pub struct Selected<'s> {
    /// The chosen backend.
    pub upstream: &'s Arc<Upstream>,
    /// Route and arm header values, when decision headers are on.
    pub decision_headers: Option<(Option<HeaderValue>, HeaderValue)>,
    /// Pass-through or the backend's own handler.
    pub action: Action<'s>,
    /// The arm serving and the one a failure may move the request to.
    pub arms: Arms,
    /// Records what a write created (write placement), when it may.
    pub recorder: Option<Recorder>,
}

/// How a selected request is served.
#[derive(Debug)]
pub enum Action<'s> {
    /// Forward to the upstream at this path and query.
    Pass {
        /// The upstream's base path + the forwarded path + `?query`.
        path_and_query: String,
        /// The resolved tenant's header value for the upstream.
        tenant: Option<HeaderValue>,
    },
    /// Serve with the handler the composition root attached to the
    /// backend (the FHIR facade of an openEHR backend).
    Handler {
        /// The handler, which said it serves this request.
        handler: &'s Arc<dyn HttpHandler>,
        /// The path under the tenant prefix.
        path: String,
        /// The route.
        route: &'s crate::routing::route_match::CompiledRoute,
    },
}

/// Runs `identify` (verified JWT, tenant) and `select` (route, arm,
/// handler), filling the access-log fields it learns.
pub fn select<'s>(
    snap: &'s Snapshot,
    parts: &Parts,
    request_id: &HeaderValue,
    log: &mut AccessLog,
) -> Result<Selected<'s>, ProxyError> {
    // identify
    let claims = verify_bearer(snap, &parts.headers)?;
    let host = host_of(parts);
    let path = parts.uri.path();
    let table = &snap.table;
    let resolved = table.tenants().resolve(&TenantInput {
        headers: &parts.headers,
        host,
        path,
        jwt_tenant: claims.as_ref().and_then(|c| c.tenant.as_deref()),
    })?;
    let tenant = resolved.tenant;
    log.tenant = Some(tenant.id.clone());
    let path = path
        .get(resolved.prefix_len..)
        .filter(|p| !p.is_empty())
        .unwrap_or("/");

    // select: the verified `sub`, else `X-User-Id` (which only a trusted
    // proxy's request still has, see `admit`)
    let user = claims
        .as_ref()
        .and_then(|c| c.subject.as_deref())
        .or_else(|| {
            parts
                .headers
                .get(super::trusted::USER_HEADER)
                .and_then(|v| v.to_str().ok())
        });
    let roles: &[String] = claims.as_ref().map_or(&[], |c| c.roles.as_slice());
    let input = MatchInput {
        method: &parts.method,
        path,
        headers: &parts.headers,
        tenant: tenant.idx,
        flags: FlagContext {
            tenant: &tenant.id,
            user,
            roles,
            headers: &parts.headers,
        },
    };
    let sticky = StickySource {
        request_id: request_id.to_str().unwrap_or(""),
        user,
        query: parts.uri.query(),
    };
    let decision: Decision = decide(table, &input, &sticky).map_err(|_| ProxyError::NoRoute)?;
    let route = table.route(decision.route).ok_or(ProxyError::NoRoute)?;
    // A resource created on an arm is served from it; `writes = "stable"`
    // keeps writes off the canary.
    let (decision, recorder) = placement::place(
        &*snap.placements,
        route,
        decision,
        &placement::Request {
            method: &parts.method,
            path,
            query: parts.uri.query(),
            tenant: &tenant.id,
        },
    );
    // An arm whose backend is down hands the request to the other arm
    // before anything is sent (the route's failover policy).
    let mut arms = Arms::new(snap, route, &decision);
    arms.avoid_unavailable(snap);
    let backend = arms.backend;
    let attached = snap.backend(backend).ok_or(ProxyError::Unavailable)?;
    let upstream = &attached.upstream;
    log.route = Some(route.id.clone());
    log.arm = arms.arm.as_str();
    log.rule = decision.rule.as_str();
    log.backend = Some(upstream.name.clone());
    log.failover = arms.moved;
    let decision_headers = snap.settings.decision_headers.then(|| {
        (
            snap.route_headers.get(usize::from(decision.route)).cloned(),
            HeaderValue::from_static(arms.arm.as_str()),
        )
    });

    // A backend with a handler (the facade of an openEHR backend) serves
    // what it says it serves; the rest (native openEHR REST) passes through.
    let handler = attached
        .handler
        .as_ref()
        .filter(|h| h.serves(&parts.method, path));
    let action = match handler {
        Some(handler) => Action::Handler {
            handler,
            path: path.to_owned(),
            route,
        },
        None => {
            let fwd_path = if route.strip_prefix {
                path.get(route.prefix.len()..)
                    .filter(|p| !p.is_empty())
                    .unwrap_or("/")
            } else {
                path
            };
            Action::Pass {
                path_and_query: upstream.path_and_query(fwd_path, parts.uri.query()),
                tenant: tenant.header_value.clone(),
            }
        }
    };
    Ok(Selected {
        upstream,
        decision_headers,
        action,
        arms,
        recorder,
    })
}

/// Where a handler's request goes and how the client reached us.
struct HandlerAt<'a> {
    /// The path under the tenant prefix.
    path: &'a str,
    /// The route that matched.
    route: &'a crate::routing::route_match::CompiledRoute,
    /// The resolved tenant.
    tenant: &'a str,
    /// Whether the client connection is TLS (for the public base URL).
    tls: bool,
}

/// Serves a request with the backend's handler, handing it the path under
/// the route's prefix whatever `strip_prefix` says (FHIR paths are relative
/// to the FHIR base the route stands for) and the client-visible base URL.
async fn serve_handler(
    handler: &dyn HttpHandler,
    snap: &Snapshot,
    parts: &Parts,
    body: Incoming,
    at: HandlerAt<'_>,
) -> Response<ProxyBody> {
    let HandlerAt {
        path,
        route,
        tenant,
        tls,
    } = at;
    let prefix = route.prefix.trim_end_matches('/');
    let route_path = path.strip_prefix(prefix).unwrap_or(path);
    let full = parts.uri.path();
    let public_base = full
        .get(..full.len().saturating_sub(route_path.len()))
        .unwrap_or("");
    let base_url = match authority_of(parts) {
        // The scheme the client used: behind TLS the links the handler
        // writes (fullUrl, Location, paging) must be `https`.
        Some(authority) => {
            let scheme = if tls { "https" } else { "http" };
            format!("{scheme}://{authority}{public_base}")
        }
        None => public_base.to_owned(),
    };
    let call = HandlerCall {
        parts,
        path,
        route_path,
        base_url: &base_url,
        tenant,
        max_request_body: snap.settings.max_request_body,
    };
    handler.serve(call, body).await
}

/// Verifies `Authorization: Bearer` when the JWT tenant source is on; a
/// token that fails is refused (401), never ignored.
fn verify_bearer(
    snap: &Snapshot,
    headers: &http::HeaderMap,
) -> Result<Option<VerifiedClaims>, ProxyError> {
    let Some(jwt) = &snap.settings.jwt else {
        return Ok(None);
    };
    if !snap.table.tenants().uses_jwt() {
        return Ok(None);
    }
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let Some(token) = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))
    else {
        return Ok(None);
    };
    jwt.jwks
        .verify(
            token.trim(),
            &jwt.tenant_claim,
            jwt.issuer.as_deref(),
            jwt.audience.as_deref(),
        )
        .map(Some)
        .map_err(ProxyError::Jwt)
}

/// `host[:port]` as the client addressed us (h2 `:authority` or `Host`),
/// without any userinfo.
fn authority_of(parts: &Parts) -> Option<&str> {
    let raw = parts.uri.authority().map(|a| a.as_str()).or_else(|| {
        parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
    })?;
    Some(raw.rsplit_once('@').map_or(raw, |(_, h)| h))
}

/// The host name alone (no port).
fn host_of(parts: &Parts) -> Option<&str> {
    let raw = authority_of(parts)?;
    Some(match raw.rfind(':') {
        Some(i) if !raw.ends_with(']') => &raw[..i],
        _ => raw,
    })
}

/// Rewrites headers for the upstream hop.
pub(crate) fn upstream_request(
    snap: &Snapshot,
    client: &ClientInfo,
    parts: &mut Parts,
    tenant: Option<HeaderValue>,
    request_id: &HeaderValue,
) {
    // The client's Host (or h2 :authority) becomes X-Forwarded-Host; the
    // upstream gets its own host from the URI.
    let host = parts.headers.remove(header::HOST).or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    let headers = &mut parts.headers;
    let settings = &snap.settings;
    remove_hop_by_hop(
        headers,
        &[&settings.tenant_header, &settings.request_id_header],
    );
    set_forwarded(headers, client, host);
    // `Expect: 100-continue` is met here (hyper's server answers 100 when
    // the body is first read), so the backend is not asked again: the
    // native engine drops it too, and both engines must send the backend
    // the same head. Other expectations are the backend's to meet or refuse.
    if headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
    {
        headers.remove(header::EXPECT);
    }
    // The upstream sees the tenant we resolved, never an unverified header.
    match tenant {
        Some(v) => {
            headers.insert(snap.settings.tenant_header.clone(), v);
        }
        None => {
            headers.remove(&snap.settings.tenant_header);
        }
    }
    headers.insert(snap.settings.request_id_header.clone(), request_id.clone());
    parts.version = Version::HTTP_11;
}

/// Sets the upstream request's `Content-Length` from the body's framing as
/// hyper's server parsed it (an exact size: `Content-Length`; none:
/// chunked), never from what headers were left: hyper's client respects a
/// `Content-Length` header it is given and frames by the body otherwise
/// (chunked for an unknown size). A client's `Content-Length: 0` stays.
fn frame_from_body(headers: &mut http::HeaderMap, size: http_body::SizeHint) {
    match size.exact() {
        Some(n) if n > 0 || headers.contains_key(header::CONTENT_LENGTH) => {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
        }
        Some(_) => {}
        None => {
            headers.remove(header::CONTENT_LENGTH);
        }
    }
}

/// Sends to the upstream through the call policy
/// ([`crate::upstream::exchange`]: availability, timeout, health), with
/// retries within the budget (on the other arm when [`failover`] says so);
/// wraps the response body with the size limit.
async fn send(
    shared: &Shared,
    snap: &Snapshot,
    arms: &mut Arms,
    parts: &mut Parts,
    path_and_query: String,
    body: Incoming,
    log: &mut AccessLog,
) -> Result<Response<ProxyBody>, ProxyError> {
    let limits = &snap.settings;
    if let Some(len) = content_length(&parts.headers) {
        if len > limits.max_request_body {
            return Err(ProxyError::RequestTooLarge {
                limit: limits.max_request_body,
            });
        }
    }
    shared.retry.deposit();
    let has_body = !body.is_end_stream();
    let may_retry =
        limits.max_attempts > 1 && (retryable(&parts.method, has_body) || arms.has_alternate());
    // A body can go to the other arm only if the refused attempt never
    // read it: keep a handle to take it back.
    let (first, reclaim) = if has_body && may_retry && arms.has_alternate() {
        let (b, r) = ProxyBody::reclaimable(body, limits.max_request_body);
        (b, Some(r))
    } else {
        (ProxyBody::stream(body, limits.max_request_body), None)
    };
    let mut body = Some(first);
    let mut pq = path_and_query;
    let mut current = arms.upstream(snap).ok_or(ProxyError::Unavailable)?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        log.attempts = attempt;
        if !arms.avoid_unavailable(snap) {
            return Err(ProxyError::Unavailable);
        }
        let up = arms.upstream(snap).ok_or(ProxyError::Unavailable)?;
        if !Arc::ptr_eq(up, current) {
            pq = failover::rebase(&pq, current, up);
            current = up;
            log.arm = arms.arm.as_str();
            log.backend = Some(up.name.clone());
            log.failover = arms.moved;
        }
        let target = if may_retry {
            pq.clone()
        } else {
            std::mem::take(&mut pq)
        };
        let uri = up.uri_from(target).map_err(|_| ProxyError::BadTarget)?;
        let mut req = Request::new(body.take().unwrap_or_else(ProxyBody::empty));
        *req.method_mut() = parts.method.clone();
        *req.uri_mut() = uri;
        *req.version_mut() = Version::HTTP_11;
        // Headers are copied only when a retry may need them again.
        *req.headers_mut() = if may_retry {
            parts.headers.clone()
        } else {
            std::mem::take(&mut parts.headers)
        };
        let sent = Instant::now();
        // The client's own body failing says nothing about the backend.
        let answer = exchange(up, up.client().request(req), |r| match r {
            Ok(resp) => by_status(resp.status()),
            Err(e) if find_body_error(e).is_some() => Health::Neutral,
            Err(_) => Health::Bad,
        })
        .await;
        log.upstream_us = Some(sent.elapsed().as_micros() as u64);
        let (failure, err) = match answer {
            Ok(resp) => return response_filter(resp, limits.max_response_body),
            Err(Refused::Unavailable) => return Err(ProxyError::Unavailable),
            Err(Refused::Timeout) => (Failure::Timeout, ProxyError::Timeout),
            Err(Refused::Failed(e)) => {
                if let Some(be) = find_body_error(&e) {
                    return Err(ProxyError::from_body(be));
                }
                // The upstream gave no response: either the connection was
                // never made, or it closed/reset before any response head.
                if e.is_connect() {
                    (Failure::Refused, ProxyError::Connect)
                } else {
                    (Failure::NoResponse, ProxyError::Upstream)
                }
            }
        };
        // Nothing was sent only when the connection was refused and the
        // body (if any) was never read.
        let body_sent = failure != Failure::Refused
            || (has_body && reclaim.as_ref().is_none_or(|r| r.touched()));
        let at = Attempt {
            snap,
            method: &parts.method,
            attempt,
            max_attempts: limits.max_attempts,
            body_sent,
            has_body,
            budget: &shared.retry,
        };
        match arms.after_failure(failure, at) {
            Retry::No => return Err(err),
            Retry::SameArm | Retry::OtherArm => {
                if has_body {
                    match reclaim.as_ref().and_then(|r| r.again()) {
                        Some(b) => body = Some(b),
                        None => return Err(err),
                    }
                }
            }
        }
    }
}

fn find_body_error<'e>(
    e: &'e (dyn std::error::Error + 'static),
) -> Option<&'e crate::upstream::body::BodyError> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(be) = err.downcast_ref::<crate::upstream::body::BodyError>() {
            return Some(be);
        }
        cur = err.source();
    }
    None
}

pub(crate) fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn response_filter(
    resp: Response<Incoming>,
    limit: u64,
) -> Result<Response<ProxyBody>, ProxyError> {
    if content_length(resp.headers()).is_some_and(|len| len > limit) {
        return Err(ProxyError::ResponseTooLarge { limit });
    }
    let (mut parts, body) = resp.into_parts();
    remove_hop_by_hop(&mut parts.headers, &[]);
    // The body's framing as hyper's client parsed it decides: a chunked or
    // close-delimited body loses any stray `Content-Length` (hyper's server
    // re-chunks it); an exact one keeps its own (HEAD and 304 included).
    if body.size_hint().exact().is_none() {
        parts.headers.remove(header::CONTENT_LENGTH);
    }
    Ok(Response::from_parts(parts, ProxyBody::stream(body, limit)))
}

fn error_response(err: &ProxyError, snap: &Snapshot, version: Version) -> Response<ProxyBody> {
    let (status, body) = error_outcome(err, snap);
    let mut resp = outcome_response(status, body);
    let h = resp.headers_mut();
    if matches!(err, ProxyError::MethodNotAllowed { .. }) {
        h.insert(
            header::ALLOW,
            HeaderValue::from_static(super::method_rules::ALLOW),
        );
    }
    // hyper's server closes after a response that says so (HTTP/1.x: h2
    // has no such header, and a CONNECT there ends only its stream).
    if err.closes_connection() && version < Version::HTTP_2 {
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

/// The `Transfer-Encoding` rules ([`super::transfer_coding`]) on hyper's
/// path: HTTP/1.1 only (h2 has no transfer codings, and hyper refuses the
/// header on HTTP/1.0 and h2 itself).
fn transfer_coding_of(parts: &Parts) -> Result<(), ProxyError> {
    if parts.version != Version::HTTP_11 {
        return Ok(());
    }
    super::transfer_coding::check_headers(&parts.headers)?;
    Ok(())
}

/// The status and OperationOutcome body answering `err` (the one mapping,
/// shared with the native HTTP/1.1 engine).
pub(crate) fn error_outcome(err: &ProxyError, snap: &Snapshot) -> (StatusCode, Bytes) {
    let (status, issue) = err.status_and_issue(snap.settings.tenant_statuses);
    if status.is_server_error() {
        tracing::warn!(target: "ehrgate::proxy", code = ehrgate_templates::fault::Classified::code(err), %status, "answered with an error");
    }
    (status, operation_outcome(&[issue]))
}

/// A response with an OperationOutcome body.
pub fn outcome_response(status: StatusCode, body: Bytes) -> Response<ProxyBody> {
    let mut resp = Response::new(ProxyBody::full(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    resp
}

/// The request id: propagated when the client's value has the shape of a
/// request or trace id, otherwise generated (random per process + counter:
/// unique, cheap, no formatting machinery on the hot path).
///
/// Why the shape check: the id goes into the access log, where only ids we
/// generate or opaque correlation ids may appear. A free-form value could
/// carry a medical record number or a name; a UUID or a hex trace id cannot
/// be mistaken for one, so only those are propagated and anything else is
/// replaced by a generated id (upstream and in the response alike).
pub(crate) fn request_id(parts: &Parts, snap: &Snapshot) -> HeaderValue {
    request_id_of(&parts.headers, snap)
}

/// [`request_id`] from the headers alone.
pub(crate) fn request_id_of(headers: &http::HeaderMap, snap: &Snapshot) -> HeaderValue {
    if let Some(v) = headers.get(&snap.settings.request_id_header) {
        if is_opaque_id(v.as_bytes()) {
            return v.clone();
        }
    }
    static NONCE: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nonce = *NONCE.get_or_init(|| RandomState::new().build_hasher().finish());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut buf = [0u8; 20];
    hex_into(&mut buf[..8], nonce);
    hex_into(&mut buf[8..], n);
    HeaderValue::from_bytes(&buf).unwrap_or(HeaderValue::from_static("-"))
}

/// A UUID in its text form (8-4-4-4-12 hex digits) or 16 to 64 hex digits
/// (W3C trace ids, our own generated ids).
fn is_opaque_id(b: &[u8]) -> bool {
    if b.len() == 36 {
        return b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    }
    (16..=64).contains(&b.len()) && b.iter().all(u8::is_ascii_hexdigit)
}

/// Writes the low `out.len() * 4` bits of `v` as lower-case hex.
fn hex_into(out: &mut [u8], mut v: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for slot in out.iter_mut().rev() {
        *slot = HEX[(v & 0xf) as usize];
        v >>= 4;
    }
}

#[cfg(test)]
mod request_id_tests {
    use super::is_opaque_id;

    #[test]
    fn only_uuid_and_hex_shapes_are_propagated() {
        assert!(is_opaque_id(b"3f2b8c1e-9a4d-4c2e-8f1a-0b6c2d7e9f10"));
        assert!(is_opaque_id(b"4bf92f3577b34da6a3ce929d0e0e4736"));
        assert!(is_opaque_id(b"0123456789abcdef0123"));
        assert!(!is_opaque_id(b"req-abc"));
        assert!(!is_opaque_id(b"MRN-000123456"));
        assert!(!is_opaque_id(b"Smith^John"));
        assert!(!is_opaque_id(b"3f2b8c1e-9a4d-4c2e-8f1a+0b6c2d7e9f10"));
        assert!(!is_opaque_id(b"0123456789abcde"));
        assert!(!is_opaque_id(&[b'a'; 65]));
        assert!(!is_opaque_id(b""));
    }
}
