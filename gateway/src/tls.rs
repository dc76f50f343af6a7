//! TLS termination with rustls (ring provider, never aws-lc-rs), ALPN `h2`
//! and `http/1.1`, and certificates that can be replaced without a restart:
//! the server config resolves its certificate through an `ArcSwap`, so a
//! reload stores a new key pair and new handshakes use it at once while
//! established connections keep theirs.

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

/// Why TLS material could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The PEM had no certificate or no usable key.
    #[error("{0}")]
    Material(String),
}

impl ehrgate_templates::fault::Classified for TlsError {
    fn fault(&self) -> ehrgate_templates::fault::Fault {
        ehrgate_templates::fault::Fault::Internal
    }
    fn code(&self) -> &'static str {
        match self {
            TlsError::Read { .. } => "tls.read",
            TlsError::Material(_) => "tls.material",
        }
    }
}

/// Loads a certificate chain and private key from PEM files.
pub fn load_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let open = |p: &Path| {
        File::open(p)
            .map(BufReader::new)
            .map_err(|e| TlsError::Read {
                path: p.display().to_string(),
                reason: e.to_string(),
            })
    };
    let certs = rustls_pemfile::certs(&mut open(cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Material(format!("{}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(TlsError::Material(format!(
            "{}: no certificate",
            cert.display()
        )));
    }
    let key_der = rustls_pemfile::private_key(&mut open(key)?)
        .map_err(|e| TlsError::Material(format!("{}: {e}", key.display())))?
        .ok_or_else(|| TlsError::Material(format!("{}: no private key", key.display())))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key_der)
        .map_err(|e| TlsError::Material(format!("{}: {e}", key.display())))?;
    Ok(CertifiedKey::new(certs, signing))
}

/// A certificate that reloads swap.
pub struct ReloadableCert {
    current: ArcSwap<CertifiedKey>,
}

impl fmt::Debug for ReloadableCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadableCert").finish_non_exhaustive()
    }
}

// === impl ReloadableCert ===

impl ReloadableCert {
    /// Starts with a loaded key.
    pub fn new(key: CertifiedKey) -> Arc<ReloadableCert> {
        Arc::new(ReloadableCert {
            current: ArcSwap::from_pointee(key),
        })
    }

    /// Replaces the key for new handshakes.
    pub fn store(&self, key: CertifiedKey) {
        self.current.store(Arc::new(key));
    }
}

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// A rustls server config using `cert`, offering h2 and http/1.1.
pub fn server_config(cert: Arc<ReloadableCert>) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Material(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(cert);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A rustls client config for an upstream: trust only the CA certificates
/// in `ca` (no system roots: upstreams are ours), and present a client
/// certificate when `client` (cert, key) is given (mutual TLS).
pub fn client_config(
    ca: &Path,
    client: Option<(&Path, &Path)>,
) -> Result<rustls::ClientConfig, TlsError> {
    let read = |p: &Path| {
        File::open(p)
            .map(BufReader::new)
            .map_err(|e| TlsError::Read {
                path: p.display().to_string(),
                reason: e.to_string(),
            })
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut read(ca)?) {
        let cert = cert.map_err(|e| TlsError::Material(format!("{}: {e}", ca.display())))?;
        roots
            .add(cert)
            .map_err(|e| TlsError::Material(format!("{}: {e}", ca.display())))?;
    }
    if roots.is_empty() {
        return Err(TlsError::Material(format!(
            "{}: no CA certificate",
            ca.display()
        )));
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| TlsError::Material(e.to_string()))?
    .with_root_certificates(roots);
    let config = match client {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let certified = load_certified_key(cert, key)?;
            let key_der = rustls_pemfile::private_key(&mut read(key)?)
                .map_err(|e| TlsError::Material(format!("{}: {e}", key.display())))?
                .ok_or_else(|| TlsError::Material(format!("{}: no private key", key.display())))?;
            builder
                .with_client_auth_cert(certified.cert, key_der)
                .map_err(|e| TlsError::Material(format!("{}: {e}", cert.display())))?
        }
    };
    Ok(config)
}

/// The client config of plain-HTTP upstreams (never used for a handshake).
pub fn plain_client_config() -> Result<rustls::ClientConfig, TlsError> {
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| TlsError::Material(e.to_string()))?
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth())
}
