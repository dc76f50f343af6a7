//! The `[backend.openehr]` table: how the FHIR facade talks to an openEHR
//! backend (issue 8). Only backends of kind `openehr` may carry it; one
//! without it is served with the defaults below.
//!
//! ```toml
//! [[backend]]
//! name = "cdr"
//! url = "http://ehrbase:8080/ehrbase/rest/openehr/v1"
//! kind = "openehr"
//! [backend.openehr]
//! composition_format = "canonical"      # or "flat"
//! subject_namespace = "ehrgate"         # default namespace of patient ids
//! subject_namespaces = { acme = "acme-mrn" }  # per tenant
//! create_ehr = true                     # create the EHR on a patient's first write
//! templates = { Observation = ["EHRN Vital signs.v2"] }  # per resource type, tried in order
//! unmapped_elements = "warn"            # or "refuse": elements the template cannot hold
//! if_match = "raw"                      # or "quoted": the form of If-Match on updates
//! aql_max_limit = 5000                  # the CDR's `ehrbase.rest.aql.max-limit`, when set
//! [backend.openehr.auth]                # credentials sent on every openEHR call
//! kind = "basic"                        # or "bearer", "oauth2"
//! username = "ehrbase-user"
//! password = { env = "EHRBASE_PASSWORD" }   # or { file = "secrets/ehrbase-password" }
//! ```
//!
//! Secrets are never written inline: a [`SecretSource`] names a file
//! (relative to the config file) or an environment variable, and only that
//! name ever appears in messages.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

/// How `If-Match` carries the preceding version uid on a composition
/// update. EHRbase 2.x parses the header value itself as an
/// OBJECT_VERSION_ID, so a quoted value is refused with 400 ("UUID string
/// too large", its issue 1639); the REST spec's ETag form is quoted.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum IfMatchForm {
    /// `If-Match: 8c3f...::cdr::2` (what EHRbase 2.x parses).
    #[default]
    Raw,
    /// `If-Match: "8c3f...::cdr::2"` (the REST spec's entity-tag form).
    Quoted,
}

/// Where a secret is read from; exactly one of the two.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SecretSource {
    /// A file holding the secret (trailing newline ignored), relative to
    /// the config file.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// An environment variable holding the secret.
    #[serde(default)]
    pub env: Option<String>,
}

// === impl SecretSource ===

impl SecretSource {
    /// What the secret is called in messages (never its value).
    pub fn describe(&self) -> String {
        match (&self.file, &self.env) {
            (Some(f), _) => format!("file `{}`", f.display()),
            (None, Some(e)) => format!("environment variable `{e}`"),
            (None, None) => "no source".to_owned(),
        }
    }
}

/// Credentials of one openEHR backend, applied to every call the gateway
/// makes to it (compositions, EHRs, AQL, template fetch and upload).
/// EHRbase's default is Basic (`security.authType: BASIC`), OAuth2 bearer
/// tokens the alternative (`authType: OAUTH`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum AuthConfig {
    /// HTTP Basic.
    Basic {
        /// The user name (not a secret).
        username: String,
        /// The password.
        password: SecretSource,
    },
    /// A static bearer token.
    Bearer {
        /// The token.
        token: SecretSource,
    },
    /// OAuth2 client credentials: a token fetched from `token_url` and
    /// reused until shortly before it expires.
    Oauth2 {
        /// The token endpoint (`.../protocol/openid-connect/token`). Plain
        /// `String`: an internally tagged enum buffers its fields, which
        /// loses toml's spans.
        token_url: String,
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: SecretSource,
        /// Requested scope, when the IdP needs one.
        #[serde(default)]
        scope: Option<String>,
        /// CA certificates (PEM) for an `https://` token endpoint.
        #[serde(default)]
        ca: Option<PathBuf>,
    },
}

// === impl AuthConfig ===

impl AuthConfig {
    /// Every secret this config names, with the field it is for.
    pub fn secrets(&self) -> Vec<(&'static str, &SecretSource)> {
        match self {
            AuthConfig::Basic { password, .. } => vec![("password", password)],
            AuthConfig::Bearer { token } => vec![("token", token)],
            AuthConfig::Oauth2 { client_secret, .. } => vec![("client_secret", client_secret)],
        }
    }

    /// The auth scheme's name in messages and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthConfig::Basic { .. } => "basic",
            AuthConfig::Bearer { .. } => "bearer",
            AuthConfig::Oauth2 { .. } => "oauth2",
        }
    }
}

/// Whether `ns` is a subject namespace EHRbase accepts: its
/// `ValidationServiceImp` matches EHR_STATUS `subject/external_ref/namespace`
/// against `[a-zA-Z][a-zA-Z0-9-_:/&+?]*` (so no dots: `urn:oid:1.2.3` and
/// `hospital.org` are refused with 400, as is a leading digit).
pub fn is_ehrbase_namespace(ns: &str) -> bool {
    let mut chars = ns.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "-_:/&+?".contains(c))
}

/// The openEHR serialisation compositions are sent in.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum CompositionFormat {
    /// Canonical JSON (`POST /ehr/{id}/composition`).
    #[default]
    Canonical,
    /// FLAT (EHRbase: `?format=FLAT&templateId=`).
    Flat,
}

/// What a write does with elements of the resource the template's mapping
/// cannot hold (an Immunization's lot number in a template without one).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum UnmappedPolicy {
    /// Store what maps; the write answers with the elements left out as
    /// warnings (`Prefer: return=OperationOutcome`, and per entry in a
    /// transaction response) and they are counted in the log line.
    #[default]
    Warn,
    /// Refuse the write (422, one OperationOutcome issue per element left
    /// out): for deployments where a partial record is worse than none.
    Refuse,
}

/// Facade settings of one openEHR backend.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OpenEhrBackendConfig {
    /// Serialisation of written compositions.
    #[serde(default)]
    pub composition_format: CompositionFormat,
    /// `subject_namespace` of EHRs for tenants without their own.
    #[serde(default = "default_namespace")]
    pub subject_namespace: Spanned<String>,
    /// Per tenant id: the `subject_namespace` its patient ids live in, so
    /// two clinics' patient 123 are two EHRs.
    #[serde(default)]
    pub subject_namespaces: BTreeMap<String, Spanned<String>>,
    /// Create the EHR when a patient's first resource is written; without
    /// it such a write is refused (422) and nothing is stored.
    #[serde(default = "default_true")]
    pub create_ehr: bool,
    /// Template ids per FHIR resource type, tried in order (the first whose
    /// mapping takes the resource wins). Empty: the shipped defaults.
    #[serde(default)]
    pub templates: BTreeMap<String, Vec<Spanned<String>>>,
    /// How long a patient -> EHR resolution is remembered.
    #[serde(default = "default_ehr_ttl")]
    pub ehr_cache_ttl_ms: u64,
    /// How many resolutions are remembered at most.
    #[serde(default = "default_ehr_cache_size")]
    pub ehr_cache_size: u64,
    /// Lifetime of cached template metadata (uploads through the gateway
    /// invalidate earlier).
    #[serde(default = "default_template_ttl")]
    pub template_ttl_ms: u64,
    /// Largest FHIR request body the facade reads, in bytes.
    #[serde(default = "default_max_resource")]
    pub max_resource_bytes: u64,
    /// Largest number of entries in a transaction Bundle.
    #[serde(default = "default_max_entries")]
    pub max_bundle_entries: u32,
    /// Page size when the client sends no `_count`.
    #[serde(default = "default_count")]
    pub default_count: u32,
    /// Largest `_count` honoured (larger ones are lowered, as FHIR allows).
    #[serde(default = "default_max_count")]
    pub max_count: u32,
    /// Most compositions one search may read from the backend; a search
    /// matching more is refused as too costly rather than answered wrongly.
    #[serde(default = "default_max_scan")]
    pub max_search_scan: u32,
    /// Elements of a written resource that no mapping holds.
    #[serde(default)]
    pub unmapped_elements: UnmappedPolicy,
    /// The form of `If-Match` on composition updates.
    #[serde(default)]
    pub if_match: IfMatchForm,
    /// The CDR's largest accepted AQL `LIMIT` (EHRbase's
    /// `ehrbase.rest.aql.max-limit`; a larger one is refused with 422).
    /// Searches ask for `max_search_scan + 1` rows, so that must fit.
    #[serde(default)]
    pub aql_max_limit: Option<u32>,
    /// Credentials for every call to this backend; none when absent.
    #[serde(default)]
    pub auth: Option<AuthConfig>,
}

impl Default for OpenEhrBackendConfig {
    fn default() -> Self {
        OpenEhrBackendConfig {
            composition_format: CompositionFormat::Canonical,
            subject_namespace: default_namespace(),
            subject_namespaces: BTreeMap::new(),
            create_ehr: true,
            templates: BTreeMap::new(),
            ehr_cache_ttl_ms: default_ehr_ttl(),
            ehr_cache_size: default_ehr_cache_size(),
            template_ttl_ms: default_template_ttl(),
            max_resource_bytes: default_max_resource(),
            max_bundle_entries: default_max_entries(),
            default_count: default_count(),
            max_count: default_max_count(),
            max_search_scan: default_max_scan(),
            unmapped_elements: UnmappedPolicy::Warn,
            if_match: IfMatchForm::Raw,
            aql_max_limit: None,
            auth: None,
        }
    }
}

fn default_namespace() -> Spanned<String> {
    Spanned::new(0..0, "ehrgate".to_owned())
}
fn default_true() -> bool {
    true
}
fn default_ehr_ttl() -> u64 {
    300_000
}
fn default_ehr_cache_size() -> u64 {
    100_000
}
fn default_template_ttl() -> u64 {
    300_000
}
fn default_max_resource() -> u64 {
    1024 * 1024
}
fn default_max_entries() -> u32 {
    100
}
fn default_count() -> u32 {
    20
}
fn default_max_count() -> u32 {
    200
}
fn default_max_scan() -> u32 {
    1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_follow_ehrbase_pattern() {
        for ok in ["ehrgate", "acme-mrn", "urn:oid:x", "a_b/c&d+e?f", "Z9"] {
            assert!(is_ehrbase_namespace(ok), "{ok}");
        }
        for bad in [
            "",
            "urn:oid:1.2.3",
            "hospital.org",
            "1abc",
            "-x",
            "a b",
            "ä",
        ] {
            assert!(!is_ehrbase_namespace(bad), "{bad}");
        }
    }

    #[test]
    fn auth_tables_parse_by_kind() {
        let c: OpenEhrBackendConfig = toml::from_str(
            "[auth]\nkind = \"basic\"\nusername = \"u\"\npassword = { env = \"PW\" }\n",
        )
        .unwrap();
        assert_eq!(c.auth.as_ref().map(AuthConfig::kind), Some("basic"));
        assert_eq!(c.if_match, IfMatchForm::Raw);
        let bad = toml::from_str::<OpenEhrBackendConfig>(
            "[auth]\nkind = \"bearer\"\ntoken = { env = \"T\" }\npassword = \"inline\"\n",
        );
        assert!(
            bad.is_err(),
            "unknown fields (an inline secret) are refused"
        );
        let q: OpenEhrBackendConfig = toml::from_str("if_match = \"quoted\"").unwrap();
        assert_eq!(q.if_match, IfMatchForm::Quoted);
    }
}
