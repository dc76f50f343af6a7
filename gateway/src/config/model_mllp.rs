//! The HL7 v2 feed sections of the config (issue 9): `[mllp]` settings,
//! `[[mllp_listener]]`, the `[[mllp_facility]]` tenant table and
//! `[[mllp_route]]`. MLLP destinations are ordinary `[[backend]]`s with
//! `kind = "hl7v2-mllp"` and an `mllp://host:port` url; FHIR and openEHR
//! destinations are the same backends HTTP routes use.

use serde::Deserialize;
use toml::Spanned;

use super::model::TlsConfig;

/// Settings shared by every MLLP listener and sender.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MllpConfig {
    /// Largest accepted frame payload; a larger one is discarded and NACKed.
    pub max_frame_bytes: usize,
    /// Most segments in one message (parser limit).
    pub max_segments: usize,
    /// Largest single field (parser limit).
    pub max_field_bytes: usize,
    /// Close an inbound connection silent for this long (0 = never). One
    /// minute by default: an idle connection holds a file handle, and a
    /// sender reconnects on its next message (issue 26: 300 s let idle
    /// connections pile up to the file limit).
    pub idle_timeout_ms: u64,
    /// Close an inbound connection after this many consecutive frames that
    /// do not parse (or are too large), after a NACK naming why (0 = never).
    pub max_bad_frames: u32,
    /// Warning lines one connection may log per reason per
    /// `log_interval_ms`; the rest are counted
    /// (`ehrgate_mllp_log_suppressed_total`) and summed up in one line.
    pub max_log_lines_per_reason: u32,
    /// The interval of `max_log_lines_per_reason`.
    pub log_interval_ms: u64,
    /// A control id (MSH-10) seen again from the same sender within this
    /// window is acknowledged without a second delivery (0 = off).
    pub replay_window_ms: u64,
    /// Most remembered control ids; the oldest are forgotten first.
    pub replay_capacity: usize,
    /// Most open connections per MLLP destination and worker thread.
    pub sender_pool_size: usize,
    /// First delay before reconnecting to a destination that refused.
    pub reconnect_backoff_min_ms: u64,
    /// Longest delay between reconnect attempts.
    pub reconnect_backoff_max_ms: u64,
    /// The durable inbound queue for enhanced-mode messages; without it
    /// `CA` waits for the destination's acceptance.
    pub queue: Option<MllpQueueConfig>,
}

/// `[mllp.queue]`: enhanced-mode messages (MSH-15/16 valued) are written
/// to disk and fsynced before `CA`, then delivered from there in order per
/// sender; the replay window is persisted beside them.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MllpQueueConfig {
    /// Directory of the segment files (relative to the config file).
    pub dir: std::path::PathBuf,
    /// Most bytes of segment files on disk; a message that would pass it
    /// gets `CR` (the sender keeps it).
    pub max_bytes: u64,
    /// Most undelivered messages; the next one gets `CR`.
    pub max_records: usize,
    /// A segment file is closed and a new one started past this size.
    pub segment_bytes: u64,
    /// First delay before delivering a refused message again.
    pub retry_backoff_min_ms: u64,
    /// Longest delay between delivery attempts.
    pub retry_backoff_max_ms: u64,
    /// Attempts before a message is given up (application ack `AR`,
    /// logged); 0 = retry until delivered.
    pub max_delivery_attempts: u32,
    /// Bytes kept free in the queue directory by a reserve file
    /// (`reserve.bin`, written at open): when the disk is full it is
    /// deleted so compaction can carry replay entries forward and free
    /// delivered segments, then written again once there is room (0 = no
    /// reserve). Counted apart from `max_bytes`.
    pub reserve_bytes: u64,
}

impl Default for MllpQueueConfig {
    fn default() -> Self {
        MllpQueueConfig {
            dir: std::path::PathBuf::new(),
            max_bytes: 256 * 1024 * 1024,
            max_records: 100_000,
            segment_bytes: 8 * 1024 * 1024,
            retry_backoff_min_ms: 200,
            retry_backoff_max_ms: 30_000,
            max_delivery_attempts: 0,
            reserve_bytes: 4 * 1024 * 1024,
        }
    }
}

impl Default for MllpConfig {
    fn default() -> Self {
        MllpConfig {
            max_frame_bytes: 4 * 1024 * 1024,
            max_segments: 10_000,
            max_field_bytes: 1024 * 1024,
            idle_timeout_ms: 60_000,
            max_bad_frames: 16,
            max_log_lines_per_reason: 5,
            log_interval_ms: 10_000,
            replay_window_ms: 600_000,
            replay_capacity: 100_000,
            sender_pool_size: 16,
            reconnect_backoff_min_ms: 100,
            reconnect_backoff_max_ms: 5_000,
            queue: None,
        }
    }
}

/// One MLLP listening socket.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MllpListenerConfig {
    /// `host:port` to bind.
    pub bind: Spanned<String>,
    /// TLS termination (MLLP over TLS); plain TCP without it.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Most open connections on this listener (default
    /// [`DEFAULT_MLLP_MAX_CONNECTIONS`]); one more is closed at once
    /// (no ACK is possible before a message) and counted.
    #[serde(default)]
    pub max_connections: Option<Spanned<usize>>,
    /// Most open connections from one source address (default
    /// [`DEFAULT_MLLP_MAX_CONNECTIONS_PER_SOURCE`]), so one sender cannot
    /// take the listener's whole allowance.
    #[serde(default)]
    pub max_connections_per_source: Option<Spanned<usize>>,
}

/// [`MllpListenerConfig::max_connections`] when not set: well under the
/// usual file limit, and far above what a hospital's interface engines
/// open (one or a few connections per feed).
pub const DEFAULT_MLLP_MAX_CONNECTIONS: usize = 1024;

/// [`MllpListenerConfig::max_connections_per_source`] when not set.
pub const DEFAULT_MLLP_MAX_CONNECTIONS_PER_SOURCE: usize = 64;

// === impl MllpListenerConfig ===

impl MllpListenerConfig {
    /// The listener's connection cap.
    pub fn max_connections(&self) -> usize {
        self.max_connections
            .as_ref()
            .map_or(DEFAULT_MLLP_MAX_CONNECTIONS, |s| *s.get_ref())
    }

    /// The per-source connection cap.
    pub fn max_connections_per_source(&self) -> usize {
        self.max_connections_per_source
            .as_ref()
            .map_or(DEFAULT_MLLP_MAX_CONNECTIONS_PER_SOURCE, |s| *s.get_ref())
    }
}

/// One row of the facility -> tenant table.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MllpFacilityConfig {
    /// MSH-4 (sending facility), compared with its first component
    /// (namespace id), or the second (universal id) when the first is empty.
    pub sending: Spanned<String>,
    /// MSH-6 (receiving facility), compared the same way; absent = any.
    /// Rows with a receiving facility win over rows without.
    #[serde(default)]
    pub receiving: Option<String>,
    /// The tenant these messages belong to.
    pub tenant: Spanned<String>,
}

/// One feed route.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MllpRouteConfig {
    /// Unique id; part of the sticky hash key and of metrics.
    pub id: Spanned<String>,
    /// `ADT`, `ADT^A01` or `ADT^*` (MSH-9-1 and MSH-9-2); empty = any.
    #[serde(default)]
    pub message_types: Vec<Spanned<String>>,
    /// Tenants this route serves; absent = every tenant.
    #[serde(default)]
    pub tenants: Option<Vec<Spanned<String>>>,
    /// The stable (legacy) destination: a backend of any kind but `http`.
    pub stable: Spanned<String>,
    /// The canary destination.
    #[serde(default)]
    pub canary: Option<Spanned<String>>,
    /// Canary share in percent, sticky per patient (PID-3).
    #[serde(default)]
    pub weight: Option<Spanned<f64>>,
    /// What an openEHR destination does with a clinical resource no
    /// template takes: `refuse` (default) refuses the whole message
    /// (`AE`/`CE`); `warn` stores the rest and answers `AA` with one ERR
    /// segment of severity `W` per resource left out. Read through
    /// [`MllpRouteConfig::unstorable_policy`]; validation rejects other
    /// words with the line.
    #[serde(default)]
    pub openehr_unstorable: Option<Spanned<String>>,
}

/// [`MllpRouteConfig::openehr_unstorable`]: whether an openEHR delivery
/// may leave out resources no template takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnstorablePolicy {
    /// Refuse the whole message (nothing stored, `AE`/`CE`): the default,
    /// so nothing is ever dropped unless a route asks for it.
    #[default]
    Refuse,
    /// Store what a template takes and acknowledge with warnings (`AA`
    /// with ERR severity `W`, HL7 v2 ch. 2 "accepted with warnings").
    Warn,
}

impl UnstorablePolicy {
    /// The config word, or `None` for anything else.
    pub fn parse(word: &str) -> Option<UnstorablePolicy> {
        match word {
            "refuse" => Some(UnstorablePolicy::Refuse),
            "warn" => Some(UnstorablePolicy::Warn),
            _ => None,
        }
    }
}

// === impl MllpRouteConfig ===

impl MllpRouteConfig {
    /// The route's policy (validation rejected unknown words; one that got
    /// past it counts as the safe default).
    pub fn unstorable_policy(&self) -> UnstorablePolicy {
        self.openehr_unstorable
            .as_ref()
            .and_then(|w| UnstorablePolicy::parse(w.get_ref()))
            .unwrap_or_default()
    }
}
