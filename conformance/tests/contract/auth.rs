//! Credentials: EHRbase's default `security.authType: BASIC`.

use http::Method;

use super::target::Kind;
use super::{text, Target};

/// Without credentials every openEHR call is 401 with a Basic challenge.
pub async fn anonymous_is_401(t: &Target) {
    for (m, path) in [
        (Method::GET, "/definition/template/adl1.4".to_owned()),
        (Method::POST, "/ehr".to_owned()),
        (Method::GET, format!("/ehr/{}", uuid::Uuid::new_v4())),
        (Method::POST, "/query/aql".to_owned()),
    ] {
        let a = t.call_anonymous(m.clone(), &path, &[]).await;
        assert_eq!(a.status, 401, "{m} {path}: {}", text(&a));
        let challenge = a.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.to_ascii_lowercase().starts_with("basic"),
            "{m} {path}: Basic challenge, got `{challenge}`"
        );
    }
}

/// Wrong credentials are 401 too.
pub async fn wrong_password_is_401(t: &Target) {
    let wrong = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "ehrgate-contract:wrong"
        )
    );
    let a = t
        .call_anonymous(
            Method::GET,
            "/definition/template/adl1.4",
            &[("authorization", wrong.as_str())],
        )
        .await;
    assert_eq!(a.status, 401, "{:?}: {}", t.kind == Kind::Ehrbase, text(&a));
}
