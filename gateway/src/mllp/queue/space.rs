//! Disk space for the queue (issue 26, item 10: compaction must write the
//! replay entries it carries forward before it frees a delivered segment,
//! so on a full disk nothing was ever freed and every message got `CR`
//! until an operator stepped in; a restart did not help).
//!
//! - A reserve file (`reserve.bin`, `mllp.queue.reserve_bytes`, written
//!   with real bytes and fsynced so the blocks are allocated, not a sparse
//!   file) is kept in the queue directory. When a write that compaction
//!   needs finds the disk full, the reserve is deleted, which gives the
//!   carry-forward its room; it is written again after a segment was freed.
//! - The disk being full is logged once when it starts and once when it
//!   ends (not per refused message), shown by the gauge
//!   `ehrgate_mllp_queue_disk_full` and counted by
//!   `ehrgate_mllp_queue_disk_full_total`.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The reserve file's name in the queue directory.
pub const RESERVE_FILE: &str = "reserve.bin";

/// The gauges the writer keeps up to date.
#[derive(Debug, Clone, Default)]
pub struct DiskGauges {
    /// 1 while full.
    pub full: Arc<AtomicU64>,
    /// Times it became full.
    pub full_total: Arc<AtomicU64>,
}

/// The reserve and the disk-full state of one queue directory.
#[derive(Debug)]
pub struct Space {
    path: PathBuf,
    bytes: u64,
    held: bool,
    full: bool,
    gauges: DiskGauges,
}

/// Whether an I/O error means "no space" (ENOSPC, EDQUOT).
pub fn is_no_space(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull || matches!(e.raw_os_error(), Some(28 | 122))
}

// === impl Space ===

impl Space {
    /// The reserve of `bytes` in `dir` (0 = none), written now when it is
    /// missing; a disk without room for it is logged, not fatal.
    pub fn open(dir: &Path, bytes: u64, gauges: DiskGauges) -> Space {
        let mut s = Space {
            path: dir.join(RESERVE_FILE),
            bytes,
            held: false,
            full: false,
            gauges,
        };
        s.held = fs::metadata(&s.path).is_ok_and(|m| m.len() >= bytes) && bytes > 0;
        s.refill();
        s
    }

    /// Whether the disk was found full and has not taken a write since.
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// A write found no space: logged and counted once per episode.
    pub fn note_full(&mut self) {
        if self.full {
            return;
        }
        self.full = true;
        self.gauges.full.store(1, Ordering::Relaxed);
        self.gauges.full_total.fetch_add(1, Ordering::Relaxed);
        tracing::error!(target: "ehrgate::mllp::queue", reserve_held = self.held, "queue disk full: new messages get CR until delivered segments are freed");
    }

    /// A write went through.
    pub fn note_room(&mut self) {
        if !self.full {
            return;
        }
        self.full = false;
        self.gauges.full.store(0, Ordering::Relaxed);
        tracing::info!(target: "ehrgate::mllp::queue", "queue disk has room again");
    }

    /// Deletes the reserve so compaction can write; `false` when there was
    /// none to give.
    pub fn release(&mut self) -> bool {
        if !self.held {
            return false;
        }
        self.held = false;
        match fs::remove_file(&self.path) {
            Ok(()) => {
                tracing::warn!(target: "ehrgate::mllp::queue", bytes = self.bytes, "queue reserve released to free delivered segments");
                if let Some(dir) = self.path.parent() {
                    let _ = File::open(dir).and_then(|d| d.sync_all());
                }
                true
            }
            Err(e) => {
                tracing::error!(target: "ehrgate::mllp::queue", file = %self.path.display(), error = %e, "cannot release the queue reserve");
                false
            }
        }
    }

    /// Writes the reserve again when it is not held (after a segment was
    /// freed); without room it is removed again and tried later.
    pub fn refill(&mut self) {
        if self.held || self.bytes == 0 {
            return;
        }
        match write_reserve(&self.path, self.bytes) {
            Ok(()) => self.held = true,
            Err(e) => {
                let _ = fs::remove_file(&self.path);
                if !is_no_space(&e) {
                    tracing::warn!(target: "ehrgate::mllp::queue", file = %self.path.display(), error = %e, "cannot write the queue reserve");
                }
            }
        }
    }
}

fn write_reserve(path: &Path, bytes: u64) -> std::io::Result<()> {
    let mut o = OpenOptions::new();
    o.create(true).write(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    let chunk = vec![0u8; 64 * 1024];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        f.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    f.sync_all()?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}
