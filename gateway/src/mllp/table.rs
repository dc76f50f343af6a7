//! One revision of the feed configuration: parser limits, the facility
//! table, the routes (with the admin API's overrides for matching route
//! ids) and the destinations. Built whole and swapped atomically when the
//! gateway's snapshot changes (config reload, override change); a message
//! loads the table once, so a message in flight during a swap finishes on
//! the table it started with.
//!
//! MLLP senders whose backend settings did not change are carried over
//! with their pools and backoff state; the replay window and the durable
//! queue belong to the feed, not to a revision, and keep their start-time
//! settings.

use std::sync::Arc;
use std::time::Duration;

use ehrgate_mappers::hl7v2::Limits;

use super::deliver::Destinations;
use super::routes::FeedRoutes;
use super::stats::FeedStats;
use super::tenant::FacilityTable;
use crate::config::LoadedConfig;
use crate::routing::Overrides;
use crate::runtime::Shared;
use crate::tls::TlsError;

/// The feed configuration of one gateway revision.
#[derive(Debug)]
pub struct FeedTable {
    /// The gateway revision this was built from.
    pub revision: u64,
    /// Parser limits.
    pub limits: Limits,
    /// Largest frame.
    pub max_frame: usize,
    /// Idle timeout of inbound connections.
    pub idle_timeout: Option<Duration>,
    /// Close a connection after this many bad frames in a row (0 = never).
    pub max_bad_frames: u32,
    /// Warning lines per reason per connection and interval.
    pub log_lines: u32,
    /// Their interval.
    pub log_interval: Duration,
    /// MSH-4/MSH-6 -> tenant.
    pub facilities: FacilityTable,
    /// The routes.
    pub routes: FeedRoutes,
    /// The destinations.
    pub destinations: Destinations,
}

// === impl FeedTable ===

impl FeedTable {
    /// Builds the table of `revision` from its config and overrides,
    /// reusing unchanged senders of `previous`.
    /// Fails when an MLLP destination's TLS material cannot be loaded.
    pub fn build(
        loaded: &LoadedConfig,
        overrides: &Overrides,
        revision: u64,
        shared: &Arc<Shared>,
        stats: &Arc<FeedStats>,
        previous: Option<&FeedTable>,
    ) -> Result<FeedTable, TlsError> {
        let config = &loaded.config;
        let m = &config.mllp;
        Ok(FeedTable {
            revision,
            limits: Limits {
                max_message_bytes: m.max_frame_bytes,
                max_segments: m.max_segments,
                max_field_bytes: m.max_field_bytes,
                ..Limits::default()
            },
            max_frame: m.max_frame_bytes,
            idle_timeout: (m.idle_timeout_ms > 0).then(|| Duration::from_millis(m.idle_timeout_ms)),
            max_bad_frames: m.max_bad_frames,
            log_lines: m.max_log_lines_per_reason,
            log_interval: Duration::from_millis(m.log_interval_ms),
            facilities: FacilityTable::new(&config.mllp_facilities),
            routes: FeedRoutes::new(&config.mllp_routes, overrides),
            destinations: Destinations::new(
                loaded,
                shared,
                stats,
                previous.map(|p| &p.destinations),
            )?,
        })
    }
}
