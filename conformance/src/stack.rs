//! The demo stack: the reference openEHR backend (legacy, served through
//! the gateway's FHIR facade), the reference FHIR backend (new), and the
//! gateway in front of both with a canary route on `/fhir/Observation`.
//! Used by the `ehrgate-demo` binary, the end-to-end tests and the facade
//! benchmark, so all three run the same setup.

use std::net::SocketAddr;
use std::path::PathBuf;

use ehrgate::config::load;
use ehrgate::Gateway;

use crate::reference::fhir::{self, FhirConfig, FhirStats};
use crate::reference::openehr::{self, OpenEhrConfig, OpenEhrStats};
use crate::reference::RefServer;

/// The tenant every demo request names (`x-tenant-id`).
pub const TENANT: &str = "demo";

/// How to start the stack.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Where the gateway listens (`127.0.0.1:0` picks a port).
    pub listen: SocketAddr,
    /// Canary share of `/fhir/Observation`, in percent.
    pub canary_weight: f64,
    /// `canonical` or `flat`.
    pub composition_format: &'static str,
    /// Extra lines for the `[backend.openehr]` table.
    pub openehr_extra: String,
    /// The openEHR backend's settings (templates preloaded...).
    pub openehr: OpenEhrConfig,
    /// How often the gateway polls its config file for changes (ms; 0 = never).
    pub reload_poll_ms: u64,
    /// The FHIR backend's settings.
    pub fhir: FhirConfig,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            canary_weight: 0.0,
            composition_format: "canonical",
            openehr_extra: String::new(),
            openehr: OpenEhrConfig::with_shipped_templates(),
            reload_poll_ms: 0,
            fhir: FhirConfig::default(),
        }
    }
}

/// A running stack; everything stops when it is dropped.
#[derive(Debug)]
pub struct Stack {
    /// The legacy openEHR backend.
    pub openehr: RefServer<OpenEhrStats>,
    /// The new FHIR backend.
    pub fhir: RefServer<FhirStats>,
    /// The gateway.
    pub gateway: Gateway,
    /// The gateway's address.
    pub addr: SocketAddr,
    /// The admin API's address (release control: weights, pins, rollback).
    pub admin_addr: Option<SocketAddr>,
    /// The admin API's bearer token (role `write`), new for every run.
    pub admin_token: String,
    /// The gateway's config file (edit it to flip the canary weight).
    pub config_path: PathBuf,
    _dir: DirGuard,
}

/// Removes the stack's config folder when the stack goes.
#[derive(Debug)]
struct DirGuard(PathBuf);

impl Drop for DirGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Why the stack did not start.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// A backend or the config file.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The gateway refused the config or could not bind.
    #[error("gateway: {0}")]
    Gateway(String),
}

// === impl Stack ===

impl Stack {
    /// Starts both backends and the gateway.
    pub async fn start(opts: StackOptions) -> Result<Stack, StackError> {
        let local = SocketAddr::from(([127, 0, 0, 1], 0));
        let openehr = openehr::spawn(opts.openehr.clone(), local).await?;
        let fhir = fhir::spawn(opts.fhir.clone(), local).await?;
        let dir = std::env::temp_dir().join(format!(
            "ehrgate-demo-{}-{}",
            std::process::id(),
            openehr.addr.port()
        ));
        std::fs::create_dir_all(&dir)?;
        // A fresh admin secret per run, in a file only this user can read
        // (the config names the file, never the secret).
        let admin_token = format!("demo-{}", uuid::Uuid::new_v4().simple());
        let token_path = dir.join("admin.token");
        std::fs::write(&token_path, &admin_token)?;
        restrict_to_owner(&token_path)?;
        let config_path = dir.join("gateway.toml");
        std::fs::write(
            &config_path,
            config(&opts, &openehr.base_url, &fhir.base_url) + &admin_section(&token_path),
        )?;
        let loaded = load(&config_path).map_err(|e| StackError::Gateway(e.to_string()))?;
        let gateway = Gateway::start(loaded)
            .await
            .map_err(|e| StackError::Gateway(e.to_string()))?;
        gateway.watch_for_reloads();
        let addr = gateway
            .local_addrs()
            .first()
            .copied()
            .ok_or_else(|| StackError::Gateway("no listener".into()))?;
        let admin_addr = gateway.admin_addr();
        Ok(Stack {
            openehr,
            fhir,
            gateway,
            addr,
            admin_addr,
            admin_token,
            config_path,
            _dir: DirGuard(dir),
        })
    }

    /// Stops the gateway gracefully (the backends stop when dropped).
    pub async fn shutdown(self) {
        self.gateway.shutdown().await;
    }

    /// Rewrites the config with another canary weight and reloads it.
    pub fn set_canary_weight(&self, opts: &StackOptions, weight: f64) -> Result<(), StackError> {
        let opts = StackOptions {
            canary_weight: weight,
            ..opts.clone()
        };
        let text = config(&opts, &self.openehr.base_url, &self.fhir.base_url);
        std::fs::write(&self.config_path, text)?;
        let loaded = load(&self.config_path).map_err(|e| StackError::Gateway(e.to_string()))?;
        self.gateway
            .reload(loaded)
            .map(|_| ())
            .map_err(|e| StackError::Gateway(e.to_string()))
    }
}

/// The `[admin]` section: release control on a port of its own, one write
/// token read from `token_path`, state and history beside the config.
fn admin_section(token_path: &std::path::Path) -> String {
    format!(
        r#"
[admin]
bind = "127.0.0.1:0"
state_file = "state.json"

[[admin.token]]
name = "demo-release-manager"
role = "write"
secret_file = "{}"
"#,
        token_path.display().to_string().replace('\\', "\\\\")
    )
}

#[cfg(unix)]
fn restrict_to_owner(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_to_owner(_path: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}

/// The gateway config of the stack.
pub fn config(opts: &StackOptions, openehr_url: &str, fhir_url: &str) -> String {
    format!(
        r#"# ehrgate demo: FHIR clients in front of a legacy openEHR CDR (served
# through the FHIR facade) and a new FHIR server (canary).
[server]
reload_poll_ms = {poll}
decision_headers = true

[[listener]]
bind = "{listen}"

[[backend]]
name = "legacy-openehr"
url = "{openehr_url}"
kind = "openehr"
[backend.openehr]
composition_format = "{format}"
subject_namespace = "demo-mrn"
create_ehr = true
{extra}

[[backend]]
name = "new-fhir"
url = "{fhir_url}"
kind = "fhir"

[tenancy]
resolve = ["header"]
header = "x-tenant-id"

[[tenant]]
id = "{TENANT}"

# Observations: stable = openEHR via the facade, canary = the FHIR server.
[[route]]
id = "observations"
path_prefix = "/fhir"
resource_types = ["Observation"]
stable = "legacy-openehr"
canary = "new-fhir"
weight = {weight}
sticky = "request-id"
strip_prefix = true

# Everything else FHIR (and template uploads) goes to openEHR.
[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "legacy-openehr"

[[route]]
id = "openehr"
path_prefix = "/definition"
stable = "legacy-openehr"
"#,
        poll = opts.reload_poll_ms,
        listen = opts.listen,
        format = opts.composition_format,
        extra = opts.openehr_extra,
        weight = opts.canary_weight,
    )
}
