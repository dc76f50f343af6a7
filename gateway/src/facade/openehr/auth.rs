//! Credentials of one openEHR backend and the `Authorization` header they
//! give each call.
//!
//! EHRbase 2.x authenticates every REST call: `security.authType: BASIC`
//! (its default, `ehrbase-user` / a password) or `OAUTH` (a bearer JWT from
//! the IdP). Secrets are read once when the backend's client is built
//! (from a file or an environment variable, never from the config text);
//! a secret that cannot be read leaves the client without credentials and
//! every call fails with [`FacadeError::CredentialsUnavailable`] naming
//! the source, so nothing is sent to the CDR unauthenticated by mistake.
//! Header values are marked sensitive so no debug output prints them.
//!
//! [`FacadeError::CredentialsUnavailable`]: crate::facade::FacadeError::CredentialsUnavailable

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use http::HeaderValue;

use super::oauth2::TokenSource;
use crate::config::openehr::AuthConfig;
use crate::config::validate_openehr::read_secret;

/// What is sent in `Authorization`.
#[derive(Debug)]
pub enum Credentials {
    /// Nothing (a CDR with `authType: NONE`).
    None,
    /// A fixed header: Basic or a static bearer token.
    Fixed {
        /// `basic` or `bearer`.
        kind: &'static str,
        /// The header value (sensitive).
        value: HeaderValue,
    },
    /// OAuth2 client credentials, token cached until shortly before expiry
    /// (boxed: the source holds its own HTTP client).
    OAuth2(Box<TokenSource>),
    /// Configured, but the secret could not be read.
    Unavailable {
        /// The configured scheme.
        kind: &'static str,
        /// Why (names the source, never a value).
        reason: String,
    },
}

// === impl Credentials ===

impl Credentials {
    /// The credentials of `auth`, secrets read now (files resolved with
    /// `resolve`); `timeout` bounds each token request.
    pub fn from_config(
        auth: Option<&AuthConfig>,
        resolve: &dyn Fn(&Path) -> PathBuf,
        timeout: Duration,
    ) -> Credentials {
        let Some(auth) = auth else {
            return Credentials::None;
        };
        let kind = auth.kind();
        let unavailable = |reason: String| Credentials::Unavailable { kind, reason };
        match auth {
            AuthConfig::Basic { username, password } => match read_secret(password, resolve) {
                Ok(pw) => {
                    let raw = base64::engine::general_purpose::STANDARD
                        .encode(format!("{username}:{pw}"));
                    fixed(kind, &format!("Basic {raw}"))
                }
                Err(e) => unavailable(format!("password: {e}")),
            },
            AuthConfig::Bearer { token } => match read_secret(token, resolve) {
                Ok(t) => fixed(kind, &format!("Bearer {t}")),
                Err(e) => unavailable(format!("token: {e}")),
            },
            AuthConfig::Oauth2 {
                token_url,
                client_id,
                client_secret,
                scope,
                ca,
            } => match read_secret(client_secret, resolve) {
                Ok(secret) => {
                    let ca = ca.as_deref().map(resolve);
                    match TokenSource::new(
                        token_url,
                        client_id,
                        &secret,
                        scope.as_deref(),
                        ca.as_deref(),
                        timeout,
                    ) {
                        Ok(t) => Credentials::OAuth2(Box::new(t)),
                        Err(e) => unavailable(e),
                    }
                }
                Err(e) => unavailable(format!("client_secret: {e}")),
            },
        }
    }

    /// The `Authorization` value for the next call (`None`: send none).
    pub async fn header(&self) -> Result<Option<HeaderValue>, String> {
        match self {
            Credentials::None => Ok(None),
            Credentials::Fixed { value, .. } => Ok(Some(value.clone())),
            Credentials::OAuth2(t) => t.header().await.map(Some),
            Credentials::Unavailable { reason, .. } => Err(reason.clone()),
        }
    }

    /// Whether a refused call may be retried with new credentials.
    pub fn renewable(&self) -> bool {
        matches!(self, Credentials::OAuth2(_))
    }

    /// Drops a cached token (the backend refused it).
    pub async fn forget(&self) {
        if let Credentials::OAuth2(t) = self {
            t.forget().await;
        }
    }

    /// The scheme's name (`none`, `basic`, `bearer`, `oauth2`).
    pub fn kind(&self) -> &'static str {
        match self {
            Credentials::None => "none",
            Credentials::Fixed { kind, .. } | Credentials::Unavailable { kind, .. } => kind,
            Credentials::OAuth2(_) => "oauth2",
        }
    }
}

/// A fixed, sensitive header value; a secret that is not a valid header
/// value (a control character) makes the credentials unavailable.
fn fixed(kind: &'static str, value: &str) -> Credentials {
    match HeaderValue::from_str(value) {
        Ok(mut v) => {
            v.set_sensitive(true);
            Credentials::Fixed { kind, value: v }
        }
        Err(_) => Credentials::Unavailable {
            kind,
            reason: "the secret is not a valid header value".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::openehr::SecretSource;

    #[tokio::test]
    async fn basic_reads_the_password_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "SuperSecretPassword\n").unwrap();
        let auth = AuthConfig::Basic {
            username: "ehrbase-user".into(),
            password: SecretSource {
                file: Some("pw".into()),
                env: None,
            },
        };
        let root = dir.path().to_path_buf();
        let c = Credentials::from_config(Some(&auth), &|p| root.join(p), Duration::from_secs(1));
        let h = c.header().await.unwrap().unwrap();
        // base64("ehrbase-user:SuperSecretPassword")
        assert_eq!(
            h.to_str().unwrap(),
            "Basic ZWhyYmFzZS11c2VyOlN1cGVyU2VjcmV0UGFzc3dvcmQ="
        );
        assert!(h.is_sensitive());
        assert!(!format!("{c:?}").contains("SuperSecret"));
    }

    #[tokio::test]
    async fn a_missing_secret_makes_every_call_fail_naming_the_source() {
        let auth = AuthConfig::Bearer {
            token: SecretSource {
                file: None,
                env: Some("EHRGATE_TEST_SURELY_UNSET_TOKEN".into()),
            },
        };
        let c = Credentials::from_config(Some(&auth), &Path::to_path_buf, Duration::from_secs(1));
        let e = c.header().await.unwrap_err();
        assert!(e.contains("EHRGATE_TEST_SURELY_UNSET_TOKEN"), "{e}");
        assert_eq!(c.kind(), "bearer");
    }
}
