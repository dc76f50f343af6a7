//! Connection limits shared by the HTTP and MLLP data listeners (issue 26,
//! item 8: 20,000 idle MLLP connections took the process to its file
//! limit, and the HTTP data and admin listeners stopped answering).
//!
//! Three caps, checked at accept, before any byte is read:
//! - per listener, `max_connections` (HTTP default 4096, MLLP 1024);
//! - per source address, `max_connections_per_source` (MLLP, default 64);
//! - per process, the [`FileBudget`]: the soft `RLIMIT_NOFILE` (raised to
//!   the hard limit at start, as nginx's `worker_rlimit_nofile` does) less
//!   `server.reserved_file_handles`, halved because a data connection may
//!   hold an upstream connection as well (an HTTP pool entry, an MLLP
//!   sender). What stays outside it is for the admin listener (its own
//!   small cap, not counted here), the queue, log and config files, and
//!   the listening sockets, so the release manager can always roll back.
//!
//! A connection over a cap is closed at once and counted
//! (`ehrgate_connections_refused_total{listener,reason}`), with one log
//! line per listener per [`LOG_EVERY`] at most. HTTP does not answer 503
//! there: a response would need the request read first (closing with
//! unread bytes makes the kernel send RST, and the client may never see
//! the 503), and on TLS listeners a handshake, which is what an overload
//! can least afford; a connection closed before any response is one every
//! HTTP client may retry (RFC 9110 §9.2.2). MLLP has no ACK before a
//! message either.
//!
//! [`AcceptBackoff`] handles accept errors: out of file handles or memory
//! (EMFILE, ENFILE, ENOBUFS, ENOMEM) it sleeps, 10 ms doubling to 1 s, so
//! the loop never spins, and logs once per [`LOG_EVERY`] with the count.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::telemetry::limits::{LimitMetrics, RefusedReason};

/// At most one log line per listener and kind per this interval.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// The first sleep after an accept error from resource exhaustion.
const BACKOFF_MIN: Duration = Duration::from_millis(10);
/// The longest.
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// The sleep after any other accept error (a peer that reset before the
/// accept): short, but never a spin.
const OTHER_ERROR_SLEEP: Duration = Duration::from_millis(1);

/// The process's budget of data connections (see the module doc).
#[derive(Debug)]
pub struct FileBudget {
    max: usize,
    open: AtomicUsize,
}

/// One listener's caps and books.
#[derive(Debug)]
pub struct ConnLimit {
    /// The listener's `bind` string (the metric label).
    listener: Arc<str>,
    /// The caps; a reload that keeps the listener may change them.
    max: AtomicUsize,
    /// 0 = no per-source cap.
    per_source: AtomicUsize,
    open: AtomicUsize,
    by_source: Mutex<HashMap<IpAddr, usize>>,
    budget: Arc<FileBudget>,
    metrics: Arc<LimitMetrics>,
    log: Every,
}

/// An accepted connection's place; given back on drop.
#[derive(Debug)]
pub struct Permit {
    limit: Arc<ConnLimit>,
    source: Option<IpAddr>,
    /// Whether it holds a place in the [`FileBudget`].
    budget: bool,
}

/// A log line allowed once per interval, with the count of what was
/// not logged in between.
#[derive(Debug)]
pub struct Every {
    interval: Duration,
    last: Mutex<Option<Instant>>,
    since: AtomicU64,
}

/// The accept loop's reaction to errors.
#[derive(Debug)]
pub struct AcceptBackoff {
    target: &'static str,
    delay: Duration,
    log: Every,
}

// === impl FileBudget ===

impl FileBudget {
    /// Raises the soft file limit to the hard one (logged), then sizes the
    /// budget from it.
    pub fn from_rlimit(reserved: u64) -> Arc<FileBudget> {
        let soft = raise_nofile();
        let max = soft.map_or(usize::MAX, |soft| {
            (soft.saturating_sub(reserved) / 2).max(1) as usize
        });
        tracing::info!(target: "ehrgate::server", file_limit = soft.unwrap_or(0), reserved, data_connections = max, "file-handle budget of the data listeners");
        Arc::new(FileBudget {
            max,
            open: AtomicUsize::new(0),
        })
    }

    /// A budget of `max` connections (tests).
    pub fn fixed(max: usize) -> Arc<FileBudget> {
        Arc::new(FileBudget {
            max,
            open: AtomicUsize::new(0),
        })
    }

    /// Data connections the budget allows.
    pub fn max(&self) -> usize {
        self.max
    }

    fn take(&self) -> bool {
        take(&self.open, self.max)
    }

    fn give(&self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the soft
/// limit in force afterwards (`None` when unlimited or unknown).
fn raise_nofile() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let now = getrlimit(Resource::Nofile);
    if now.current != now.maximum {
        let wanted = rustix::process::Rlimit {
            current: now.maximum,
            maximum: now.maximum,
        };
        match setrlimit(Resource::Nofile, wanted) {
            Ok(()) => {
                tracing::info!(target: "ehrgate::server", from = now.current.unwrap_or(0), to = now.maximum.unwrap_or(0), "soft file limit raised to the hard limit");
            }
            Err(e) => {
                tracing::warn!(target: "ehrgate::server", error = %e, "cannot raise the soft file limit");
            }
        }
    }
    getrlimit(Resource::Nofile).current
}

fn take(open: &AtomicUsize, max: usize) -> bool {
    open.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
        (n < max).then_some(n + 1)
    })
    .is_ok()
}

/// Each listener's cap within a budget of `budget` connections: max-min
/// fair (water-filling), so a listener whose configured cap passes its share
/// cannot take the places another listener was configured for. With the
/// defaults (4096 + 1024 against thousands of handles) nothing changes; a
/// listener configured far above the budget (an MLLP storm test with the
/// caps lifted) no longer starves the HTTP listener through the shared
/// budget, which the first storm run showed.
pub fn fair_shares(budget: usize, wanted: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..wanted.len()).collect();
    order.sort_by_key(|&i| wanted[i]);
    let mut out = vec![0; wanted.len()];
    let mut left = budget;
    for (k, &i) in order.iter().enumerate() {
        let share = left / (wanted.len() - k);
        let give = wanted[i].min(share).max(1);
        out[i] = give;
        left = left.saturating_sub(give);
    }
    out
}

// === impl ConnLimit ===

impl ConnLimit {
    /// The caps of one listener.
    pub fn new(
        listener: &str,
        max: usize,
        per_source: Option<usize>,
        budget: Arc<FileBudget>,
        metrics: Arc<LimitMetrics>,
    ) -> Arc<ConnLimit> {
        Arc::new(ConnLimit {
            listener: Arc::from(listener),
            max: AtomicUsize::new(max),
            per_source: AtomicUsize::new(per_source.unwrap_or(0)),
            open: AtomicUsize::new(0),
            by_source: Mutex::new(HashMap::new()),
            budget,
            metrics,
            log: Every::new(LOG_EVERY),
        })
    }

    /// A place for a connection from `peer`, or why there is none (counted
    /// and logged, rate-limited, here).
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Permit, RefusedReason> {
        let refused = match self.try_admit(peer) {
            Ok(p) => return Ok(p),
            Err(r) => r,
        };
        self.metrics.refused(&self.listener, refused);
        if let Some(suppressed) = self.log.hit() {
            tracing::warn!(target: "ehrgate::server", listener = &*self.listener, reason = refused.as_str(), open = self.open(), refused_since_last_line = suppressed, "connection refused: limit reached");
        }
        Err(refused)
    }

    fn try_admit(self: &Arc<Self>, peer: IpAddr) -> Result<Permit, RefusedReason> {
        if !take(&self.open, self.max.load(Ordering::Relaxed)) {
            return Err(RefusedReason::ListenerLimit);
        }
        let source = match self.per_source.load(Ordering::Relaxed) {
            0 => None,
            cap => {
                let mut map = match self.by_source.lock() {
                    Ok(m) => m,
                    Err(p) => p.into_inner(),
                };
                let n = map.entry(peer).or_default();
                if *n >= cap {
                    drop(map);
                    self.open.fetch_sub(1, Ordering::AcqRel);
                    return Err(RefusedReason::SourceLimit);
                }
                *n += 1;
                Some(peer)
            }
        };
        let mut permit = Permit {
            limit: self.clone(),
            source,
            budget: false,
        };
        if !self.budget.take() {
            // Dropping the permit gives the listener and source places back.
            drop(permit);
            return Err(RefusedReason::FileLimit);
        }
        permit.budget = true;
        Ok(permit)
    }

    /// New caps (a reload); connections already open stay, new ones are
    /// checked against these.
    pub fn set_caps(&self, max: usize, per_source: Option<usize>) {
        self.max.store(max, Ordering::Relaxed);
        self.per_source
            .store(per_source.unwrap_or(0), Ordering::Relaxed);
    }

    /// Connections open on this listener.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    fn release(&self, source: Option<IpAddr>, budget: bool) {
        if budget {
            self.budget.give();
        }
        if let Some(peer) = source {
            let mut map = match self.by_source.lock() {
                Ok(m) => m,
                Err(p) => p.into_inner(),
            };
            if let Some(n) = map.get_mut(&peer) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    map.remove(&peer);
                }
            }
        }
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

// === impl Permit ===

impl Drop for Permit {
    fn drop(&mut self) {
        self.limit.release(self.source, self.budget);
    }
}

// === impl Every ===

impl Every {
    /// Allows a line once per `interval`.
    pub fn new(interval: Duration) -> Every {
        Every {
            interval,
            last: Mutex::new(None),
            since: AtomicU64::new(0),
        }
    }

    /// `Some(lines not logged since the last one)` when a line may be
    /// logged now; `None` (and counted) otherwise.
    pub fn hit(&self) -> Option<u64> {
        let now = Instant::now();
        let mut last = match self.last.lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        match *last {
            Some(t) if now.duration_since(t) < self.interval => {
                self.since.fetch_add(1, Ordering::Relaxed);
                None
            }
            _ => {
                *last = Some(now);
                Some(self.since.swap(0, Ordering::Relaxed))
            }
        }
    }
}

// === impl AcceptBackoff ===

impl AcceptBackoff {
    /// The backoff of one accept loop; `target` is its log target.
    pub fn new(target: &'static str) -> AcceptBackoff {
        AcceptBackoff {
            target,
            delay: BACKOFF_MIN,
            log: Every::new(LOG_EVERY),
        }
    }

    /// After a successful accept.
    pub fn reset(&mut self) {
        self.delay = BACKOFF_MIN;
    }

    /// After a failed accept: logs (rate-limited) and sleeps.
    pub async fn failed(&mut self, e: &std::io::Error) {
        let exhausted = is_exhaustion(e);
        if let Some(suppressed) = self.log.hit() {
            // The target is a fixed string per loop; tracing wants a
            // literal, so the loop is named as a field.
            tracing::warn!(target: "ehrgate::server", listener_kind = self.target, error = %e, exhausted, errors_since_last_line = suppressed, "accept failed; backing off");
        }
        if exhausted {
            tokio::time::sleep(self.delay).await;
            self.delay = (self.delay * 2).min(BACKOFF_MAX);
        } else {
            tokio::time::sleep(OTHER_ERROR_SLEEP).await;
        }
    }
}

/// EMFILE, ENFILE, ENOBUFS, ENOMEM: the process or the system is out of
/// something an accept needs, and retrying at once cannot help.
fn is_exhaustion(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(23 | 24 | 105 | 12))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn limit(max: usize, per_source: Option<usize>, budget: usize) -> Arc<ConnLimit> {
        ConnLimit::new(
            "127.0.0.1:1",
            max,
            per_source,
            FileBudget::fixed(budget),
            Arc::default(),
        )
    }

    #[test]
    fn listener_source_and_budget_caps_hold_and_places_come_back() {
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        let l = limit(3, Some(2), 100);
        let p1 = l.admit(a).unwrap();
        let _p2 = l.admit(a).unwrap();
        assert_eq!(l.admit(a).unwrap_err(), RefusedReason::SourceLimit);
        let _p3 = l.admit(b).unwrap();
        assert_eq!(l.admit(b).unwrap_err(), RefusedReason::ListenerLimit);
        drop(p1);
        assert_eq!(l.open(), 2);
        let _p4 = l.admit(a).unwrap();
        let snap = l.metrics.refused_snapshot();
        assert_eq!(snap.len(), 2, "{snap:?}");

        let tight = limit(10, None, 1);
        let q = tight.admit(a).unwrap();
        assert_eq!(tight.admit(b).unwrap_err(), RefusedReason::FileLimit);
        assert_eq!(
            tight.open(),
            1,
            "a refused budget gives the listener place back"
        );
        drop(q);
        assert_eq!(tight.open(), 0);
        assert_eq!(tight.budget.open.load(Ordering::Acquire), 0);
        assert!(tight.by_source.lock().unwrap().is_empty());
    }

    #[test]
    fn shares_are_max_min_fair() {
        assert_eq!(fair_shares(9872, &[4096, 1024]), [4096, 1024]);
        assert_eq!(fair_shares(9872, &[4096, 1_000_000]), [4096, 5776]);
        assert_eq!(fair_shares(100, &[1_000, 1_000]), [50, 50]);
        assert_eq!(fair_shares(10, &[1, 100, 100]), [1, 4, 5]);
    }

    #[test]
    fn every_allows_one_line_per_interval_and_counts_the_rest() {
        let e = Every::new(Duration::from_secs(3600));
        assert_eq!(e.hit(), Some(0));
        assert_eq!(e.hit(), None);
        assert_eq!(e.hit(), None);
        let z = Every::new(Duration::ZERO);
        assert_eq!(z.hit(), Some(0));
        assert_eq!(z.hit(), Some(0));
    }
}
