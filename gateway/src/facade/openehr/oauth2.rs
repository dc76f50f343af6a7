//! OAuth2 client credentials (RFC 6749 section 4.4) for CDRs behind an IdP
//! (EHRbase with `security.authType: OAUTH`, a Keycloak realm in front).
//!
//! The token is fetched with `grant_type=client_credentials`, the client
//! authenticated with HTTP Basic (RFC 6749 2.3.1), and reused until a
//! margin before `expires_in` runs out (a tenth of the lifetime, at most
//! 30 s), so a token is never sent in its last seconds. Refreshes are
//! single-flight: concurrent calls wait for one token request. A token the
//! CDR refuses is forgotten at once ([`TokenSource::forget`]).

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Largest token response read.
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;
/// Lifetime assumed when the IdP sends no `expires_in`.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);
/// Longest safety margin before expiry.
const MAX_MARGIN: Duration = Duration::from_secs(30);

/// A cached token.
#[derive(Debug, Clone)]
struct Token {
    header: HeaderValue,
    refresh_at: Instant,
}

/// Fetches and caches client-credentials tokens from one token endpoint.
pub struct TokenSource {
    url: Uri,
    /// `Basic base64(client_id:client_secret)` (sensitive).
    client_auth: HeaderValue,
    form: String,
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
    cached: Mutex<Option<Token>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

// === impl TokenSource ===

impl TokenSource {
    /// A source for `url`; `ca` is the IdP's CA for an `https://` URL.
    pub fn new(
        url: &str,
        client_id: &str,
        client_secret: &str,
        scope: Option<&str>,
        ca: Option<&Path>,
        timeout: Duration,
    ) -> Result<TokenSource, String> {
        let url: Uri = url
            .parse()
            .map_err(|_| "token_url is not a URL".to_owned())?;
        let tls = match ca {
            Some(ca) => crate::tls::client_config(ca, None),
            None => crate::tls::plain_client_config(),
        }
        .map_err(|e| format!("token endpoint TLS: {e}"))?;
        let mut connector = HttpConnector::new();
        connector.enforce_http(false);
        connector.set_connect_timeout(Some(timeout));
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let enc = |s: &str| super::OpenEhrClient::q(s);
        let raw = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            enc(client_id),
            enc(client_secret)
        ));
        let mut client_auth = HeaderValue::from_str(&format!("Basic {raw}"))
            .map_err(|_| "client credentials are not a valid header value".to_owned())?;
        client_auth.set_sensitive(true);
        let mut form = String::from("grant_type=client_credentials");
        if let Some(s) = scope {
            form.push_str("&scope=");
            form.push_str(&enc(s));
        }
        Ok(TokenSource {
            url,
            client_auth,
            form,
            http: Client::builder(TokioExecutor::new()).build(https),
            timeout,
            cached: Mutex::new(None),
        })
    }

    /// `Bearer <token>`: the cached one while fresh, else a new one.
    pub async fn header(&self) -> Result<HeaderValue, String> {
        let mut cached = self.cached.lock().await;
        if let Some(t) = cached.as_ref() {
            if Instant::now() < t.refresh_at {
                return Ok(t.header.clone());
            }
        }
        let t = self.fetch().await?;
        let h = t.header.clone();
        *cached = Some(t);
        Ok(h)
    }

    /// Drops the cached token.
    pub async fn forget(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(&self) -> Result<Token, String> {
        let req = Request::builder()
            .method(Method::POST)
            .uri(self.url.clone())
            .header(header::AUTHORIZATION, self.client_auth.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(self.form.clone())))
            .map_err(|_| "cannot build the token request".to_owned())?;
        let exchange = async {
            let resp = self
                .http
                .request(req)
                .await
                .map_err(|_| "token endpoint unreachable".to_owned())?;
            let status = resp.status();
            let body = Limited::new(resp.into_body(), MAX_TOKEN_RESPONSE)
                .collect()
                .await
                .map_err(|_| "token response too large or cut off".to_owned())?
                .to_bytes();
            Ok::<_, String>((status, body))
        };
        let (status, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| "token endpoint timed out".to_owned())??;
        if !status.is_success() {
            // The IdP's error code (`invalid_client`) is no secret; the
            // description may echo input, so only the code is kept.
            let code = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            return Err(format!("token endpoint answered {status} {code}")
                .trim_end()
                .to_owned());
        }
        parse_token(&body, Instant::now())
    }
}

/// Reads `{access_token, token_type, expires_in}`.
fn parse_token(body: &[u8], now: Instant) -> Result<Token, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| "token response is not JSON".to_owned())?;
    let token = v
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| "token response has no access_token".to_owned())?;
    if let Some(t) = v.get("token_type").and_then(Value::as_str) {
        if !t.eq_ignore_ascii_case("bearer") {
            return Err(format!("token_type `{t}` is not bearer"));
        }
    }
    let lifetime = v
        .get("expires_in")
        .and_then(|e| e.as_u64().or_else(|| e.as_str()?.parse().ok()))
        .map_or(DEFAULT_LIFETIME, Duration::from_secs);
    let margin = (lifetime / 10).min(MAX_MARGIN);
    let mut header = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| "access_token is not a valid header value".to_owned())?;
    header.set_sensitive(true);
    Ok(Token {
        header,
        refresh_at: now + lifetime.saturating_sub(margin),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_refreshed_before_they_expire() {
        let now = Instant::now();
        let t = parse_token(
            br#"{"access_token":"abc","token_type":"Bearer","expires_in":300}"#,
            now,
        )
        .unwrap();
        assert_eq!(t.header.to_str().unwrap(), "Bearer abc");
        assert_eq!(t.refresh_at, now + Duration::from_secs(270));
        let short = parse_token(br#"{"access_token":"x","expires_in":"10"}"#, now).unwrap();
        assert_eq!(short.refresh_at, now + Duration::from_secs(9));
        assert!(parse_token(br#"{"token_type":"bearer"}"#, now).is_err());
        assert!(parse_token(br#"{"access_token":"x","token_type":"mac"}"#, now).is_err());
    }
}
