//! The two servers every contract case runs against: the reference openEHR
//! backend (in process) and a real EHRbase (started by
//! `conformance/ehrbase/run.sh start`, found through the environment).

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use ehrgate_conformance::reference::openehr::{
    spawn, OpenEhrConfig, OpenEhrStats, EHRBASE_PASSWORD, EHRBASE_USER,
};
use ehrgate_conformance::reference::RefServer;
use http::Method;

use crate::refclient::{call, Answer};

/// Base URL of the real EHRbase (`.../ehrbase/rest/openehr/v1`).
pub const URL_VAR: &str = "EHRGATE_EHRBASE_URL";
/// Basic user for the real EHRbase.
pub const USER_VAR: &str = "EHRGATE_EHRBASE_USER";
/// Basic password for the real EHRbase.
pub const PASSWORD_VAR: &str = "EHRGATE_EHRBASE_PASSWORD";

/// Longest a single contract request may take (EHRbase's first AQL or
/// template parse can take seconds on two shared cores).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Which server a case runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Reference,
    Ehrbase,
}

/// A server under contract: its base URL and the credentials it wants.
pub struct Target {
    pub kind: Kind,
    pub base: String,
    authorization: Option<String>,
    /// Keeps the in-process reference backend alive for the case.
    _reference: Option<RefServer<OpenEhrStats>>,
}

// === impl Target ===

impl Target {
    /// A fresh reference backend with the shipped templates preloaded and
    /// Basic authentication on with EHRbase's default user, as EHRbase runs.
    pub async fn reference() -> Target {
        let server = spawn(
            OpenEhrConfig::with_shipped_templates().with_ehrbase_basic_auth(),
            "127.0.0.1:0".parse().expect("loopback address"),
        )
        .await
        .expect("reference openEHR backend starts");
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{EHRBASE_USER}:{EHRBASE_PASSWORD}"));
        Target {
            kind: Kind::Reference,
            base: server.base_url.clone(),
            authorization: Some(format!("Basic {token}")),
            _reference: Some(server),
        }
    }

    /// The real EHRbase named by the environment. The EHRbase half of a
    /// pair is `#[ignore]`d, so it only runs when asked for
    /// (`-- --ignored`); asked for without a server, it fails loudly
    /// instead of passing silently.
    pub async fn ehrbase() -> Target {
        let base = std::env::var(URL_VAR).unwrap_or_else(|_| {
            panic!(
                "the EHRbase contract was requested but {URL_VAR} is not set: \
                 start one with `conformance/ehrbase/run.sh start` and export the \
                 lines it prints (.ci/run does both)"
            )
        });
        let user = std::env::var(USER_VAR)
            .unwrap_or_else(|_| panic!("{URL_VAR} is set but {USER_VAR} is not"));
        let password = std::env::var(PASSWORD_VAR)
            .unwrap_or_else(|_| panic!("{URL_VAR} is set but {PASSWORD_VAR} is not"));
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let t = Target {
            kind: Kind::Ehrbase,
            base: base.trim_end_matches('/').to_owned(),
            authorization: Some(format!("Basic {token}")),
            _reference: None,
        };
        let probe = t
            .call(
                Method::GET,
                "/definition/template/adl1.4",
                &[("accept", "application/json")],
                "",
            )
            .await;
        assert_eq!(
            probe.status,
            200,
            "EHRbase at {} does not answer an authenticated template list: {}",
            t.base,
            super::text(&probe)
        );
        t
    }

    /// Sends one request below the base URL with the target's credentials.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Answer {
        let mut h: Vec<(&str, &str)> = headers.to_vec();
        if let Some(a) = &self.authorization {
            h.push(("authorization", a.as_str()));
        }
        self.send(method, path, &h, body.into()).await
    }

    /// The same request without credentials (the auth cases).
    pub async fn call_anonymous(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Answer {
        self.send(method, path, headers, Bytes::new()).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Answer {
        let url = format!("{}{path}", self.base);
        let what = format!("{method} {url}");
        tokio::time::timeout(CALL_TIMEOUT, call(method, &url, headers, body))
            .await
            .unwrap_or_else(|_| panic!("{what}: no answer within {CALL_TIMEOUT:?}"))
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.call(Method::GET, path, headers, "").await
    }

    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        self.call(Method::POST, path, &h, body.to_string()).await
    }

    pub async fn put_json(
        &self,
        path: &str,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        self.call(Method::PUT, path, &h, body.to_string()).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, &[], "").await
    }
}
