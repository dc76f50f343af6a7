//! Bearer tokens of the admin API. Secrets are read once at start from the
//! file or environment variable each token names, and kept only as SHA-256
//! digests. A presented token is hashed and compared with every configured
//! digest in constant time (no early exit, equal lengths), so neither the
//! timing of a refusal nor of a match says which bytes were right.

use std::sync::Arc;

use ehrgate_templates::fault::{Classified, Fault};
use ring::digest::{digest, SHA256};

use super::error::AdminError;
use crate::config::admin::{AdminTokenConfig, TokenRole};

/// Secrets shorter than this are refused at start.
pub const MIN_SECRET_LEN: usize = 16;

/// Secret files larger than this are refused.
const MAX_SECRET_FILE: u64 = 4096;

/// Who called, after authentication.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's name.
    pub name: Arc<str>,
    /// What it may do.
    pub role: TokenRole,
}

impl Caller {
    /// Refuses a read-only caller.
    pub fn require_write(&self) -> Result<(), AdminError> {
        match self.role {
            TokenRole::Write => Ok(()),
            TokenRole::Read => Err(AdminError::Forbidden(self.name.to_string())),
        }
    }
}

/// Why a token's secret could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("admin token `{name}`: {reason}")]
pub struct TokenError {
    name: String,
    reason: String,
}

impl Classified for TokenError {
    fn fault(&self) -> Fault {
        Fault::Internal
    }
    fn code(&self) -> &'static str {
        "admin.token-secret"
    }
}

#[derive(Debug)]
struct Entry {
    caller: Caller,
    digest: [u8; 32],
}

/// The configured tokens.
#[derive(Debug)]
pub struct Tokens {
    entries: Vec<Entry>,
}

// === impl Tokens ===

impl Tokens {
    /// Loads every secret; `resolve` makes file paths relative to the config.
    pub fn load(
        configs: &[AdminTokenConfig],
        resolve: impl Fn(&std::path::Path) -> std::path::PathBuf,
    ) -> Result<Tokens, TokenError> {
        let mut entries = Vec::with_capacity(configs.len());
        for c in configs {
            let name = c.name.get_ref().clone();
            let err = |reason: String| TokenError {
                name: name.clone(),
                reason,
            };
            let secret = match (&c.secret_file, &c.secret_env) {
                (Some(file), _) => {
                    let path = resolve(file);
                    let meta = std::fs::metadata(&path)
                        .map_err(|e| err(format!("{}: {e}", path.display())))?;
                    if meta.len() > MAX_SECRET_FILE {
                        return Err(err(format!("{} is too large", path.display())));
                    }
                    std::fs::read_to_string(&path)
                        .map_err(|e| err(format!("{}: {e}", path.display())))?
                }
                (None, Some(var)) => std::env::var(var)
                    .map_err(|_| err(format!("environment variable {var} is not set")))?,
                (None, None) => return Err(err("no secret_file or secret_env".into())),
            };
            let secret = secret.trim_end();
            if secret.len() < MIN_SECRET_LEN {
                return Err(err(format!(
                    "the secret is shorter than {MIN_SECRET_LEN} characters"
                )));
            }
            entries.push(Entry {
                caller: Caller {
                    name: Arc::from(name.as_str()),
                    role: c.role,
                },
                digest: sha256(secret.as_bytes()),
            });
        }
        Ok(Tokens { entries })
    }

    /// Authenticates an `Authorization` header value.
    pub fn authenticate(&self, header: Option<&http::HeaderValue>) -> Result<Caller, AdminError> {
        let token = header
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AdminError::Unauthorized)?;
        let presented = sha256(token.as_bytes());
        let mut found: Option<&Entry> = None;
        for e in &self.entries {
            if constant_time_eq(&e.digest, &presented) && found.is_none() {
                found = Some(e);
            }
        }
        found
            .map(|e| e.caller.clone())
            .ok_or(AdminError::Unauthorized)
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

/// Compares two digests without data-dependent branches.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("w.secret");
        std::fs::write(&file, "write-secret-0123456789\n").unwrap();
        let text = format!(
            r#"
[[t]]
name = "ops"
role = "write"
secret_file = "{}"
[[t]]
name = "viewer"
role = "read"
secret_env = "EHRGATE_TEST_AUTH_VIEWER"
"#,
            file.display()
        );
        #[derive(serde::Deserialize)]
        struct W {
            t: Vec<AdminTokenConfig>,
        }
        let w: W = toml::from_str(&text).unwrap();
        std::env::set_var("EHRGATE_TEST_AUTH_VIEWER", "read-secret-0123456789");
        Tokens::load(&w.t, |p| p.to_path_buf()).unwrap()
    }

    fn h(v: &str) -> http::HeaderValue {
        http::HeaderValue::from_str(v).unwrap()
    }

    #[test]
    fn tokens_authenticate_by_secret_and_carry_their_role() {
        let t = tokens();
        let ops = t
            .authenticate(Some(&h("Bearer write-secret-0123456789")))
            .unwrap();
        assert_eq!((&*ops.name, ops.role), ("ops", TokenRole::Write));
        let viewer = t
            .authenticate(Some(&h("Bearer read-secret-0123456789")))
            .unwrap();
        assert_eq!(viewer.role, TokenRole::Read);
        assert!(viewer.require_write().is_err());
        for bad in [
            "Bearer nope",
            "Basic write-secret-0123456789",
            "Bearer ",
            "",
        ] {
            assert!(t.authenticate(Some(&h(bad))).is_err(), "{bad}");
        }
        assert!(t.authenticate(None).is_err());
    }
}
