//! Config reload: on SIGHUP or when the config file's modification time
//! changes, load the file, build a complete new snapshot (table, pools,
//! certificates) and swap it in atomically. A file that does not load is
//! refused with its reason logged; the old snapshot keeps serving.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use crate::config::{load, LoadedConfig};
use crate::runtime::state::{Shared, SwapError};
use crate::tls::{load_certified_key, ReloadableCert};

/// Everything a reload touches.
#[derive(Debug, Clone)]
pub struct Reloader {
    pub(super) shared: Arc<Shared>,
    pub(super) certs: Vec<Option<Arc<ReloadableCert>>>,
    pub(super) path: PathBuf,
    /// The MLLP listeners, which a reload binds and re-certifies before the
    /// swap so their failures are the reload's.
    pub(super) mllp: Option<Arc<crate::mllp::start::ListenerSet>>,
}

// === impl Reloader ===

impl Reloader {
    /// Loads the config file again and applies it; logs the outcome.
    pub fn reload_file(&self) -> Result<u64, SwapError> {
        let result = load(&self.path)
            .map_err(SwapError::from)
            .and_then(|l| self.apply(l));
        match &result {
            Ok(rev) => tracing::info!(target: "ehrgate::reload", revision = rev, "config reloaded"),
            Err(e) => {
                tracing::error!(target: "ehrgate::reload", "config refused, the previous one keeps serving: {e}");
            }
        }
        result
    }

    /// Applies a loaded config; on any error nothing changes.
    pub fn apply(&self, loaded: LoadedConfig) -> Result<u64, SwapError> {
        let old = self.shared.load();
        if old.loaded.config.listeners != loaded.config.listeners {
            tracing::warn!(target: "ehrgate::reload", "listener changes need a restart; keeping the old listeners");
        }
        if old.loaded.config.admin != loaded.config.admin
            || old.loaded.config.telemetry != loaded.config.telemetry
        {
            tracing::warn!(target: "ehrgate::reload", "[admin] and [telemetry] changes need a restart; keeping the old ones");
        }
        // Load every certificate first, so a bad one changes nothing.
        let mut keys = Vec::new();
        for (l, cert) in loaded.config.listeners.iter().zip(&self.certs) {
            if let (Some(tls), Some(cert)) = (&l.tls, cert) {
                let key = load_certified_key(&loaded.resolve(&tls.cert), &loaded.resolve(&tls.key))
                    .map_err(|e| SwapError::Tls(e.to_string()))?;
                keys.push((cert.clone(), key));
            }
        }
        let swap = |loaded| {
            let rev = self.shared.reload(loaded)?;
            for (cert, key) in keys {
                cert.store(key);
            }
            Ok(rev)
        };
        match &self.mllp {
            Some(mllp) => mllp.apply(loaded, swap),
            None => swap(loaded),
        }
    }
}

fn mtime(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Spawns the SIGHUP listener and the mtime poller (0 = no polling).
pub fn spawn_watchers(reloader: Reloader, poll_ms: u64, mut stop: watch::Receiver<bool>) {
    #[cfg(unix)]
    {
        let reloader = reloader.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let Ok(mut hup) = signal(SignalKind::hangup()) else {
                tracing::warn!(target: "ehrgate::reload", "cannot listen for SIGHUP");
                return;
            };
            loop {
                tokio::select! {
                    _ = stop.changed() => return,
                    got = hup.recv() => {
                        if got.is_none() { return; }
                        let _ = reloader.reload_file();
                    }
                }
            }
        });
    }
    if poll_ms == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut last = mtime(&reloader.path);
        let mut tick = tokio::time::interval(Duration::from_millis(poll_ms));
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = tick.tick() => {
                    let now = mtime(&reloader.path);
                    if now != last {
                        last = now;
                        let _ = reloader.reload_file();
                    }
                }
            }
        }
    });
}
