//! Verified JWTs as a tenant source: RS256 and ES256 against a JWKS file.
//!
//! Signatures are checked with `ring` directly (the `jsonwebtoken` crate's
//! current releases pull in aws-lc-rs or a second crypto stack; ring is
//! already here for rustls). Only `RS256` and `ES256` are accepted; the
//! header's `alg` must match the key's type, so `none` and HMAC-with-the-
//! public-key confusions are impossible. A token that fails any check yields
//! no tenant at all, never a guess.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ehrgate_templates::fault::{Classified, Fault};
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;
use serde_json::Value;

/// Tokens longer than this are refused before decoding.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Allowed clock skew for `exp` / `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 30;

/// Why a token was refused (never includes the token or its claims).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// The JWKS file could not be used.
    #[error("JWKS: {0}")]
    Jwks(String),
    /// Not three base64url parts of JSON, or too long.
    #[error("the bearer token is malformed")]
    Malformed,
    /// `alg` is not RS256/ES256 or no key matches.
    #[error("the bearer token's key or algorithm is not accepted")]
    NoKey,
    /// The signature does not verify.
    #[error("the bearer token's signature is invalid")]
    BadSignature,
    /// `exp`, `nbf`, `iss` or `aud` do not fit.
    #[error("the bearer token is expired or not meant for us")]
    Claims,
}

impl Classified for JwtError {
    fn fault(&self) -> Fault {
        match self {
            JwtError::Jwks(_) => Fault::Internal,
            _ => Fault::Client,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            JwtError::Jwks(_) => "jwt.jwks",
            JwtError::Malformed => "jwt.malformed",
            JwtError::NoKey => "jwt.no-key",
            JwtError::BadSignature => "jwt.bad-signature",
            JwtError::Claims => "jwt.claims",
        }
    }
}

#[derive(Debug, Clone)]
enum Key {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    P256 { point: Vec<u8> },
}

#[derive(Debug, Clone)]
struct Jwk {
    kid: Option<String>,
    key: Key,
}

/// The keys of a JWKS file.
#[derive(Debug, Clone)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct JwksShape {
    keys: Vec<Value>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// What routing uses from a verified token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifiedClaims {
    /// The tenant claim, if present and a string.
    pub tenant: Option<String>,
    /// `sub`.
    pub subject: Option<String>,
    /// `roles` (array of strings), if present.
    pub roles: Vec<String>,
}

fn b64(s: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed)
}

// === impl Jwks ===

impl Jwks {
    /// Reads a JWKS file; RSA keys and EC P-256 keys are kept, others skipped.
    pub fn load(path: &Path) -> Result<Jwks, JwtError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| JwtError::Jwks(format!("{}: {e}", path.display())))?;
        Jwks::parse(&text)
    }

    /// Parses JWKS JSON.
    pub fn parse(text: &str) -> Result<Jwks, JwtError> {
        let shape: JwksShape =
            serde_json::from_str(text).map_err(|e| JwtError::Jwks(e.to_string()))?;
        let mut keys = Vec::new();
        for k in shape.keys {
            let field = |name: &str| k.get(name).and_then(Value::as_str);
            let kid = field("kid").map(str::to_string);
            let bad = |what: &str| {
                JwtError::Jwks(format!("key {}: {what}", kid.as_deref().unwrap_or("?")))
            };
            let key = match (field("kty"), field("crv")) {
                (Some("RSA"), _) => Key::Rsa {
                    n: b64(field("n").ok_or_else(|| bad("no n"))?).map_err(|_| bad("bad n"))?,
                    e: b64(field("e").ok_or_else(|| bad("no e"))?).map_err(|_| bad("bad e"))?,
                },
                (Some("EC"), Some("P-256")) => {
                    let x =
                        b64(field("x").ok_or_else(|| bad("no x"))?).map_err(|_| bad("bad x"))?;
                    let y =
                        b64(field("y").ok_or_else(|| bad("no y"))?).map_err(|_| bad("bad y"))?;
                    if x.len() != 32 || y.len() != 32 {
                        return Err(bad("P-256 coordinates must be 32 bytes"));
                    }
                    let mut point = Vec::with_capacity(65);
                    point.push(4);
                    point.extend_from_slice(&x);
                    point.extend_from_slice(&y);
                    Key::P256 { point }
                }
                _ => continue,
            };
            keys.push(Jwk { kid, key });
        }
        if keys.is_empty() {
            return Err(JwtError::Jwks("no RSA or P-256 key in the set".into()));
        }
        Ok(Jwks { keys })
    }

    /// Verifies a compact JWS and checks `exp`, `nbf`, `iss` and `aud`.
    pub fn verify(
        &self,
        token: &str,
        tenant_claim: &str,
        issuer: Option<&str>,
        audience: Option<&str>,
    ) -> Result<VerifiedClaims, JwtError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(JwtError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let header: Header = serde_json::from_slice(&b64(h)?).map_err(|_| JwtError::Malformed)?;
        let sig = b64(s)?;
        let signed = &token.as_bytes()[..h.len() + 1 + p.len()];
        let want_rsa = match header.alg.as_str() {
            "RS256" => true,
            "ES256" => false,
            _ => return Err(JwtError::NoKey),
        };
        let mut candidates = self
            .keys
            .iter()
            .filter(|k| {
                matches!(
                    (&k.key, want_rsa),
                    (Key::Rsa { .. }, true) | (Key::P256 { .. }, false)
                )
            })
            .filter(|k| header.kid.is_none() || k.kid == header.kid)
            .peekable();
        if candidates.peek().is_none() {
            return Err(JwtError::NoKey);
        }
        let verified = candidates.any(|k| match &k.key {
            Key::Rsa { n, e } => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, signed, &sig)
                .is_ok(),
            Key::P256 { point } => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(signed, &sig)
                    .is_ok()
            }
        });
        if !verified {
            return Err(JwtError::BadSignature);
        }
        let claims: Value = serde_json::from_slice(&b64(p)?).map_err(|_| JwtError::Malformed)?;
        check_claims(&claims, issuer, audience)?;
        Ok(VerifiedClaims {
            tenant: claims
                .get(tenant_claim)
                .and_then(Value::as_str)
                .map(str::to_string),
            subject: claims
                .get("sub")
                .and_then(Value::as_str)
                .map(str::to_string),
            roles: claims
                .get("roles")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

fn check_claims(
    claims: &Value,
    issuer: Option<&str>,
    audience: Option<&str>,
) -> Result<(), JwtError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if let Some(exp) = claims.get("exp") {
        match exp.as_u64() {
            Some(exp) if now <= exp + LEEWAY_SECS => {}
            _ => return Err(JwtError::Claims),
        }
    }
    if let Some(nbf) = claims.get("nbf") {
        match nbf.as_u64() {
            Some(nbf) if nbf <= now + LEEWAY_SECS => {}
            _ => return Err(JwtError::Claims),
        }
    }
    if let Some(iss) = issuer {
        if claims.get("iss").and_then(Value::as_str) != Some(iss) {
            return Err(JwtError::Claims);
        }
    }
    if let Some(aud) = audience {
        let ok = match claims.get("aud") {
            Some(Value::String(a)) => a == aud,
            Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(aud)),
            _ => false,
        };
        if !ok {
            return Err(JwtError::Claims);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

    struct Signer {
        pair: EcdsaKeyPair,
        rng: SystemRandom,
    }

    impl Signer {
        fn new() -> Signer {
            let rng = SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                    .unwrap();
            Signer { pair, rng }
        }

        fn jwks(&self, kid: &str) -> String {
            let p = self.pair.public_key().as_ref();
            serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(&p[1..33]), "y": URL_SAFE_NO_PAD.encode(&p[33..65])}]})
            .to_string()
        }

        fn token(&self, header: &Value, claims: &Value) -> String {
            let signing_input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let sig = self.pair.sign(&self.rng, signing_input.as_bytes()).unwrap();
            format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
        }
    }

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn es256_token_yields_claims() {
        let s = Signer::new();
        let jwks = Jwks::parse(&s.jwks("k1")).unwrap();
        let t = s.token(
            &serde_json::json!({"alg": "ES256", "kid": "k1"}),
            &serde_json::json!({"tenant": "acme", "sub": "u1", "roles": ["clinician"], "exp": now() + 60, "iss": "idp", "aud": ["ehrgate"]}),
        );
        let c = jwks
            .verify(&t, "tenant", Some("idp"), Some("ehrgate"))
            .unwrap();
        assert_eq!(c.tenant.as_deref(), Some("acme"));
        assert_eq!(c.subject.as_deref(), Some("u1"));
        assert_eq!(c.roles, vec!["clinician".to_string()]);
        assert_eq!(
            jwks.verify(&t, "tenant", Some("other"), None),
            Err(JwtError::Claims)
        );
    }

    #[test]
    fn bad_signature_wrong_key_and_alg_none_are_refused() {
        let s = Signer::new();
        let other = Signer::new();
        let jwks = Jwks::parse(&s.jwks("k1")).unwrap();
        let claims = serde_json::json!({"tenant": "acme"});
        let forged = other.token(&serde_json::json!({"alg": "ES256", "kid": "k1"}), &claims);
        assert_eq!(
            jwks.verify(&forged, "tenant", None, None),
            Err(JwtError::BadSignature)
        );
        let good = s.token(&serde_json::json!({"alg": "ES256"}), &claims);
        let (head, _) = good.rsplit_once('.').unwrap();
        let tampered_claims = format!(
            "{}.{}.{}",
            head.split('.').next().unwrap(),
            URL_SAFE_NO_PAD.encode(r#"{"tenant":"globex"}"#),
            good.rsplit('.').next().unwrap()
        );
        assert_eq!(
            jwks.verify(&tampered_claims, "tenant", None, None),
            Err(JwtError::BadSignature)
        );
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        assert_eq!(
            jwks.verify(&none, "tenant", None, None),
            Err(JwtError::NoKey)
        );
        let rs = s.token(&serde_json::json!({"alg": "RS256"}), &claims);
        assert_eq!(jwks.verify(&rs, "tenant", None, None), Err(JwtError::NoKey));
        assert_eq!(
            jwks.verify("a.b", "tenant", None, None),
            Err(JwtError::Malformed)
        );
    }

    #[test]
    fn expired_token_is_refused() {
        let s = Signer::new();
        let jwks = Jwks::parse(&s.jwks("k1")).unwrap();
        let t = s.token(
            &serde_json::json!({"alg": "ES256"}),
            &serde_json::json!({"tenant": "a", "exp": now() - 3600}),
        );
        assert_eq!(jwks.verify(&t, "tenant", None, None), Err(JwtError::Claims));
    }
}

#[cfg(test)]
mod rs256_tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::rsa::PublicKeyComponents;
    use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};

    /// A 2048-bit RSA key made with `openssl genpkey` for this test only.
    const TEST_KEY_PKCS8_B64: &str = include_str!("jwt_test_rsa_key.b64");

    fn key() -> RsaKeyPair {
        let b64: String = TEST_KEY_PKCS8_B64.split_whitespace().collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        RsaKeyPair::from_pkcs8(&der).unwrap()
    }

    fn sign(key: &RsaKeyPair, header: &str, claims: &str) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let mut sig = vec![0; key.public().modulus_len()];
        key.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        )
        .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    #[test]
    fn rs256_verifies_and_rejects_tampering() {
        let key = key();
        let parts: PublicKeyComponents<Vec<u8>> = key.public().into();
        let jwks = Jwks::parse(
            &serde_json::json!({"keys": [{"kty": "RSA", "kid": "r1",
                "n": URL_SAFE_NO_PAD.encode(&parts.n), "e": URL_SAFE_NO_PAD.encode(&parts.e)}]})
            .to_string(),
        )
        .unwrap();
        let t = sign(
            &key,
            r#"{"alg":"RS256","kid":"r1"}"#,
            r#"{"tenant":"acme"}"#,
        );
        assert_eq!(
            jwks.verify(&t, "tenant", None, None)
                .unwrap()
                .tenant
                .as_deref(),
            Some("acme")
        );
        let mut bad = t.into_bytes();
        let i = bad.len() - 10;
        bad[i] = if bad[i] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bad).unwrap();
        assert_eq!(
            jwks.verify(&bad, "tenant", None, None),
            Err(JwtError::BadSignature)
        );
        // an ES256 header against an RSA-only set finds no key
        let es = sign(&key, r#"{"alg":"ES256"}"#, r#"{"tenant":"acme"}"#);
        assert_eq!(jwks.verify(&es, "tenant", None, None), Err(JwtError::NoKey));
        // an unknown kid finds no key
        let other = sign(
            &key,
            r#"{"alg":"RS256","kid":"zz"}"#,
            r#"{"tenant":"acme"}"#,
        );
        assert_eq!(
            jwks.verify(&other, "tenant", None, None),
            Err(JwtError::NoKey)
        );
    }
}
