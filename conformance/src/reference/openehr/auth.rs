//! Authentication as EHRbase 2.x does it (`security.authType`): with
//! `BASIC` every REST call needs `Authorization: Basic` with the configured
//! user, with `OAUTH` a bearer token; without (or with wrong) credentials
//! Spring Security answers 401 with a `WWW-Authenticate` challenge before
//! any controller runs, so nothing is read or written.

use base64::Engine as _;
use http::{header, StatusCode};

use super::error::OpenEhrError;
use super::RefAuth;
use crate::reference::http::{self as h, Req, Resp};

/// `None` when `req` may be served, else the 401 to answer.
pub(crate) fn refusal(auth: &RefAuth, req: &Req) -> Option<Resp> {
    let given = req.header("authorization").unwrap_or("");
    let (ok, challenge) = match auth {
        RefAuth::None => return None,
        RefAuth::Basic { username, password } => {
            let ok = given
                .strip_prefix("Basic ")
                .and_then(|b| {
                    base64::engine::general_purpose::STANDARD
                        .decode(b.trim())
                        .ok()
                })
                .and_then(|raw| String::from_utf8(raw).ok())
                .is_some_and(|up| up == format!("{username}:{password}"));
            (ok, "Basic realm=\"Realm\"")
        }
        RefAuth::Bearer { tokens } => {
            let ok = given
                .strip_prefix("Bearer ")
                .is_some_and(|t| tokens.iter().any(|k| k == t.trim()));
            (ok, "Bearer")
        }
    };
    if ok {
        return None;
    }
    let resp = OpenEhrError::new(
        StatusCode::UNAUTHORIZED,
        "auth.unauthorized",
        "Full authentication is required to access this resource",
    )
    .response();
    Some(h::with_header(resp, header::WWW_AUTHENTICATE, challenge))
}
