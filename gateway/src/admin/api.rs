//! The admin API's endpoints (JSON in, JSON out):
//!
//! | method | path | role | what |
//! |---|---|---|---|
//! | GET  | `/v1/routing` | read | effective routing table, revisions, health |
//! | PUT  | `/v1/routes/{route}/weight` | write | `{percent, tenant?, reason, expect_revision?}` |
//! | POST | `/v1/routes/{route}/rollback` | write | `{reason?, expect_revision?}` |
//! | PUT  | `/v1/pins/{tenant}` | write | `{arm: stable/canary/none, route?, reason?, expect_revision?}` |
//! | PUT  | `/v1/flags/{flag}` | write | `{on, reason?, expect_revision?}` |
//! | GET  | `/v1/history?limit=N` | read | the last N changes, oldest first |
//! | GET  | `/v1/history/{revision}` | read | one change |
//! | POST | `/v1/revert` | write | `{revision, reason?, expect_revision?}` |
//! | GET  | `/metrics` | read | Prometheus text |
//!
//! Every call needs `Authorization: Bearer TOKEN`. Errors are
//! `{"error": {"code", "message"}}` with 400/401/403/404/405/409/413/422.

use std::sync::Arc;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{Caller, Tokens};
use super::change::Change;
use super::error::AdminError;
use super::release::{ChangeRequest, Release};
use super::state::PinChoice;
use super::view::routing_view;
use crate::runtime::Shared;
use crate::telemetry::exposition;

/// Most history entries one call returns.
pub const MAX_HISTORY_PAGE: usize = 1000;

/// What every admin request needs.
#[derive(Debug)]
pub struct AdminContext {
    /// The gateway's state.
    pub shared: Arc<Shared>,
    /// The release controller.
    pub release: Release,
    /// The tokens.
    pub tokens: Tokens,
    /// Body limit.
    pub max_body: u64,
}

/// Serves one admin request; never fails (errors become JSON answers).
pub async fn handle<B>(
    ctx: Arc<AdminContext>,
    req: Request<B>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible>
where
    B: http_body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let resp = match route(&ctx, req).await {
        Ok(resp) => resp,
        Err(e) => {
            let mut resp = json_response(e.status(), &e.body());
            if matches!(e, AdminError::Unauthorized) {
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    http::HeaderValue::from_static("Bearer realm=\"ehrgate-admin\""),
                );
            }
            resp
        }
    };
    Ok(resp)
}

async fn route<B>(ctx: &AdminContext, req: Request<B>) -> Result<Response<Full<Bytes>>, AdminError>
where
    B: http_body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let caller = ctx
        .tokens
        .authenticate(req.headers().get(header::AUTHORIZATION))?;
    let method = req.method().clone();
    let segs: Vec<String> = req
        .uri()
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let query = req.uri().query().map(str::to_string);
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    match (segs.as_slice(), &method) {
        (["metrics"], &Method::GET) => {
            let text = exposition::render(&ctx.shared.telemetry.metrics, &ctx.shared.load());
            let mut resp = Response::new(Full::new(Bytes::from(text)));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                http::HeaderValue::from_static(exposition::CONTENT_TYPE),
            );
            Ok(resp)
        }
        (["v1", "routing"], &Method::GET) => {
            let stored = ctx.release.current().await;
            Ok(ok(&routing_view(&ctx.shared.load(), &stored)))
        }
        (["v1", "history"], &Method::GET) => {
            let limit = query
                .as_deref()
                .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("limit=")))
                .map(|v| {
                    v.parse::<usize>()
                        .map_err(|_| AdminError::BadRequest("limit must be a number".into()))
                })
                .transpose()?
                .unwrap_or(100)
                .min(MAX_HISTORY_PAGE);
            let list = ctx.release.store().history(limit).await.map_err(internal)?;
            let current = ctx.release.current().await.revision;
            Ok(ok(&json!({"revision": current, "history": list})))
        }
        (["v1", "history", rev], &Method::GET) => {
            let rev: u64 = rev
                .parse()
                .map_err(|_| AdminError::BadRequest("revision must be a number".into()))?;
            match ctx.release.store().get(rev).await.map_err(internal)? {
                Some(r) => Ok(ok(&json!(r))),
                None => Err(AdminError::not_found(
                    "admin.unknown-revision",
                    format!("revision {rev} is not in the history"),
                )),
            }
        }
        (["v1", "routes", route, "weight"], &Method::PUT) => {
            let route = route.to_string();
            write(ctx, &caller, "weight.set", req, |b: WeightBody| {
                if b.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                    return Err(AdminError::invalid(
                        "admin.reason-required",
                        "a weight change needs a reason",
                    ));
                }
                Ok((
                    Change::Weight {
                        route,
                        tenant: b.tenant,
                        percent: b.percent,
                    },
                    b.reason,
                    b.expect_revision,
                ))
            })
            .await
        }
        (["v1", "routes", route, "rollback"], &Method::POST) => {
            let route = route.to_string();
            write(ctx, &caller, "route.rollback", req, |b: CommonBody| {
                Ok((Change::Rollback { route }, b.reason, b.expect_revision))
            })
            .await
        }
        (["v1", "pins", tenant], &Method::PUT) => {
            let tenant = tenant.to_string();
            write(ctx, &caller, "pin.set", req, |b: PinBody| {
                Ok((
                    Change::Pin {
                        tenant,
                        route: b.route,
                        arm: b.arm,
                    },
                    b.reason,
                    b.expect_revision,
                ))
            })
            .await
        }
        (["v1", "flags", name], &Method::PUT) => {
            let name = name.to_string();
            write(ctx, &caller, "flag.set", req, |b: FlagBody| {
                Ok((Change::Flag { name, on: b.on }, b.reason, b.expect_revision))
            })
            .await
        }
        (["v1", "revert"], &Method::POST) => {
            write(ctx, &caller, "revert", req, |b: RevertBody| {
                Ok((
                    Change::Revert {
                        revision: b.revision,
                    },
                    b.reason,
                    b.expect_revision,
                ))
            })
            .await
        }
        (
            ["metrics"]
            | ["v1", "routing"]
            | ["v1", "history", ..]
            | ["v1", "routes", _, "weight" | "rollback"]
            | ["v1", "pins", _]
            | ["v1", "flags", _]
            | ["v1", "revert"],
            _,
        ) => Err(AdminError::MethodNotAllowed),
        _ => Err(AdminError::not_found(
            "admin.no-such-path",
            "no such admin endpoint",
        )),
    }
}

/// A write: role check, body parse, change, audit of refusals.
async fn write<B, T>(
    ctx: &AdminContext,
    caller: &Caller,
    action: &str,
    req: Request<B>,
    build: impl FnOnce(T) -> Result<(Change, Option<String>, Option<u64>), AdminError>,
) -> Result<Response<Full<Bytes>>, AdminError>
where
    B: http_body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    T: for<'de> Deserialize<'de>,
{
    let result = async {
        caller.require_write()?;
        let body: T = read_json(req, ctx.max_body).await?;
        let (change, reason, expect_revision) = build(body)?;
        ctx.release
            .change(ChangeRequest {
                change,
                reason,
                expect_revision,
                who: caller.name.to_string(),
            })
            .await
    }
    .await;
    match result {
        Ok(record) => Ok(ok(&json!({"revision": record.revision, "change": record}))),
        Err(e) => {
            ctx.release.audit_refusal(&caller.name, action, &e);
            Err(e)
        }
    }
}

async fn read_json<B, T>(req: Request<B>, limit: u64) -> Result<T, AdminError>
where
    B: http_body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    T: for<'de> Deserialize<'de>,
{
    let limited = Limited::new(
        req.into_body(),
        usize::try_from(limit).unwrap_or(usize::MAX),
    );
    let bytes = match limited.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return Err(AdminError::TooLarge(limit))
        }
        Err(e) => return Err(AdminError::BadRequest(format!("body: {e}"))),
    };
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
        Bytes::from_static(b"{}")
    } else {
        bytes
    };
    serde_json::from_slice(&bytes)
        .map_err(|e| AdminError::BadRequest(format!("body is not the expected JSON: {e}")))
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(internal)`
fn internal(e: super::store::StoreError) -> AdminError {
    AdminError::Internal {
        code: "admin.store",
        message: e.to_string(),
    }
}

fn ok(v: &Value) -> Response<Full<Bytes>> {
    json_response(StatusCode::OK, v)
}

fn json_response(status: StatusCode, v: &Value) -> Response<Full<Bytes>> {
    let mut body = serde_json::to_vec_pretty(v).unwrap_or_default();
    body.push(b'\n');
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightBody {
    percent: f64,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    expect_revision: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommonBody {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    expect_revision: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PinBody {
    arm: PinChoice,
    #[serde(default)]
    route: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    expect_revision: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlagBody {
    on: bool,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    expect_revision: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevertBody {
    revision: u64,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    expect_revision: Option<u64>,
}
