//! The queue's one writer: a thread that owns the segment files. Callers
//! send operations over a channel; the thread takes every operation
//! waiting (up to [`MAX_BATCH`]), writes them with one `write` and one
//! `fdatasync` (group commit across connections), then answers each. So a
//! `CA` costs one fsync shared by everyone who arrived meanwhile.
//!
//! Delivered markers are written (first in their batch) and answered
//! without waiting for an fsync: they reach the disk with the next commit
//! that carries a message or a replay entry (or the OS's writeback). What a marker lost to a power
//! cut costs is a second delivery after the restart, which a crash between
//! delivery and marker costs anyway; what it saves is a delivery lane
//! waiting on the disk for each message (measured: with 16 senders on one
//! lane, about one delivery per fsync), and fsyncs of markers alone that
//! accepted messages (and their `CA`) would queue behind.
//!
//! It also keeps the books: undelivered records per segment, bytes on
//! disk, the active segment (rolled past `segment_bytes`), and removes the
//! oldest segments once every message in them is done. Segments go oldest
//! first only: a delivered marker is written after its message, so it is
//! never removed while the message it marks is still on disk. Replay entries of a removed segment that are still within the
//! window are written forward first.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use tokio::sync::{mpsc, oneshot};

use super::batches::BatchCounters;
use super::error::QueueError;
use super::record::{MessageRecord, Record};
use super::segment;
use super::space::{is_no_space, DiskGauges, Space};

/// Most operations committed by one fsync.
const MAX_BATCH: usize = 1024;

/// One request to the writer.
#[derive(Debug)]
pub enum Op {
    /// Append an accepted message; the answer carries its sequence number.
    Append {
        /// The record (its `seq` is assigned here).
        record: MessageRecord,
        /// Answered after the fsync.
        reply: oneshot::Sender<Result<MessageRecord, QueueError>>,
    },
    /// Mark a message done.
    Done {
        /// The message.
        seq: u64,
        /// See [`Record::Delivered`].
        outcome: u8,
        /// Answered after the fsync.
        reply: oneshot::Sender<Result<(), QueueError>>,
    },
    /// Persist a replay entry.
    Replay {
        /// The key.
        key: String,
        /// Unix milliseconds.
        at_ms: u64,
        /// Answered after the fsync.
        reply: oneshot::Sender<Result<(), QueueError>>,
    },
}

/// Bounds and the replay window, from the config.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most bytes of segment files.
    pub max_bytes: u64,
    /// Most undelivered messages.
    pub max_records: usize,
    /// Roll the active segment past this size.
    pub segment_bytes: u64,
    /// Replay window (0 = off).
    pub window_ms: u64,
    /// The reserve file's size (0 = none).
    pub reserve_bytes: u64,
}

/// What a restart found on disk.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Undelivered messages, in sequence order.
    pub pending: Vec<MessageRecord>,
    /// Replay keys still within the window and when they were remembered.
    pub replay: Vec<(String, u64)>,
    /// Segments whose bad tail was cut.
    pub truncated: usize,
}

#[derive(Debug)]
struct Seg {
    path: PathBuf,
    bytes: u64,
    undelivered: usize,
}

/// The writer's state.
#[derive(Debug)]
pub struct Writer {
    dir: PathBuf,
    limits: Limits,
    active: File,
    active_number: u64,
    segments: BTreeMap<u64, Seg>,
    /// Segment of each undelivered message.
    seg_of: HashMap<u64, u64>,
    next_seq: u64,
    total_bytes: u64,
    broken: bool,
    /// The reserve file and whether the disk is full.
    space: Space,
    /// Whether the active segment holds a message (it is worth rolling
    /// when everything in it is done and the queue is short of room).
    active_has_messages: bool,
    /// An append was refused for `max_bytes` since the last roll.
    pressure: bool,
    /// Group-commit counters (shared with the queue handle).
    counters: std::sync::Arc<BatchCounters>,
}

enum Reply {
    Append(
        oneshot::Sender<Result<MessageRecord, QueueError>>,
        MessageRecord,
    ),
    Done(oneshot::Sender<Result<(), QueueError>>, u64),
    Replay(oneshot::Sender<Result<(), QueueError>>),
}

/// Now in Unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

// === impl Writer ===

impl Writer {
    /// Reads the directory (cutting bad tails), then starts a new active
    /// segment.
    pub fn open(
        dir: PathBuf,
        limits: Limits,
        gauges: DiskGauges,
    ) -> Result<(Writer, Recovered), QueueError> {
        segment::create_dir(&dir)?;
        let space = Space::open(&dir, limits.reserve_bytes, gauges);
        let mut segments = BTreeMap::new();
        let mut messages: BTreeMap<u64, (MessageRecord, u64)> = BTreeMap::new();
        let mut done = std::collections::HashSet::new();
        let mut replay: HashMap<String, u64> = HashMap::new();
        let mut recovered = Recovered::default();
        let mut next_seq = 1;
        let mut last_number = 0;
        for (number, path) in segment::list(&dir)? {
            let scanned = segment::scan(number, &path)?;
            if scanned.truncated_at.is_some() {
                recovered.truncated += 1;
            }
            for r in scanned.records {
                match r {
                    Record::Message(m) => {
                        next_seq = next_seq.max(m.seq + 1);
                        if !m.replay_key.is_empty() {
                            let at = replay.entry(m.replay_key.clone()).or_default();
                            *at = (*at).max(m.accepted_ms);
                        }
                        messages.insert(m.seq, (m, number));
                    }
                    Record::Delivered { seq, .. } => {
                        done.insert(seq);
                    }
                    Record::Replay { key, at_ms } => {
                        let at = replay.entry(key).or_default();
                        *at = (*at).max(at_ms);
                    }
                }
            }
            segments.insert(
                number,
                Seg {
                    path,
                    bytes: scanned.len,
                    undelivered: 0,
                },
            );
            last_number = number;
        }
        let mut seg_of = HashMap::new();
        for (seq, (m, number)) in messages {
            if done.contains(&seq) {
                continue;
            }
            if let Some(s) = segments.get_mut(&number) {
                s.undelivered += 1;
            }
            seg_of.insert(seq, number);
            recovered.pending.push(m);
        }
        let now = now_ms();
        let mut live: Vec<(String, u64)> = replay
            .into_iter()
            .filter(|(_, at)| now.saturating_sub(*at) < limits.window_ms)
            .collect();
        live.sort_by_key(|(_, at)| *at);
        recovered.replay = live;
        let active_number = last_number + 1;
        let (path, active) = segment::create(&dir, active_number)?;
        segments.insert(
            active_number,
            Seg {
                path,
                bytes: 0,
                undelivered: 0,
            },
        );
        let total_bytes = segments.values().map(|s| s.bytes).sum();
        let mut w = Writer {
            dir,
            limits,
            active,
            active_number,
            segments,
            seg_of,
            next_seq,
            total_bytes,
            broken: false,
            space,
            active_has_messages: false,
            pressure: false,
            counters: Default::default(),
        };
        w.compact();
        Ok((w, recovered))
    }

    /// The group-commit counters this writer keeps.
    pub fn counters(&self) -> std::sync::Arc<BatchCounters> {
        self.counters.clone()
    }

    /// Serves operations until every sender is gone.
    pub fn run(mut self, mut rx: mpsc::Receiver<Op>) {
        while let Some(first) = rx.blocking_recv() {
            let mut ops = vec![first];
            while ops.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(op) => ops.push(op),
                    Err(_) => break,
                }
            }
            self.batch(ops);
        }
    }

    fn batch(&mut self, ops: Vec<Op>) {
        let mut buf = Vec::new();
        let mut replies = Vec::with_capacity(ops.len());
        let mut new_records = 0usize;
        // Delivered markers go first, written and answered without waiting
        // for this batch's fsync (see the module doc): a delivery lane
        // never waits on the disk for the messages accepted meanwhile.
        let mut marks = Vec::new();
        let mut marked = Vec::new();
        for op in ops {
            match op {
                Op::Append { mut record, reply } => {
                    if self.broken {
                        let _ = reply.send(Err(QueueError::Closed));
                        continue;
                    }
                    record.seq = self.next_seq;
                    let before = buf.len();
                    record.encode(&mut buf);
                    let full = if self.seg_of.len() + new_records >= self.limits.max_records {
                        Some("max_records")
                    } else if self.total_bytes + buf.len() as u64 > self.limits.max_bytes {
                        Some("max_bytes")
                    } else {
                        None
                    };
                    if let Some(limit) = full {
                        self.pressure |= limit == "max_bytes";
                        buf.truncate(before);
                        let _ = reply.send(Err(QueueError::Full { limit }));
                        continue;
                    }
                    self.next_seq += 1;
                    new_records += 1;
                    replies.push(Reply::Append(reply, record));
                }
                Op::Done {
                    seq,
                    outcome,
                    reply,
                } => {
                    Record::Delivered { seq, outcome }.encode(&mut marks);
                    marked.push(Reply::Done(reply, seq));
                }
                Op::Replay { key, at_ms, reply } => {
                    Record::Replay { key, at_ms }.encode(&mut buf);
                    replies.push(Reply::Replay(reply));
                }
            }
        }
        if !marks.is_empty() {
            let written = self.write(&marks, false);
            if buf.is_empty() {
                self.counters.unsynced();
            }
            self.answer(written, marked);
        }
        if !buf.is_empty() {
            let written = self.write(&buf, true);
            if written.is_ok() {
                self.counters.record(replies.len(), new_records);
                if new_records > 0 {
                    self.space.note_room();
                    self.active_has_messages = true;
                }
            }
            self.answer(written, replies);
        }
        self.roll();
        self.compact();
    }

    /// Answers the operations of one write: errors when it failed, else
    /// updates the books and confirms each.
    ///
    /// A delivered marker that could not be written still counts in the
    /// books: the message was delivered, and once its segment is freed the
    /// message is gone with it. Until then a restart delivers it again,
    /// which is what a crash between delivery and marker costs anyway (see
    /// the module doc); without this a full disk would keep every segment
    /// "undelivered" forever. A marker lost to a full disk is answered Ok
    /// for that reason (one log line for the episode, not one per message).
    fn answer(&mut self, written: std::io::Result<()>, replies: Vec<Reply>) {
        if let Err(e) = written {
            let no_space = is_no_space(&e);
            for r in replies {
                let err = || {
                    if no_space {
                        QueueError::DiskFull
                    } else {
                        QueueError::Io {
                            path: self.active_path(),
                            source: std::io::Error::new(e.kind(), e.to_string()),
                        }
                    }
                };
                match r {
                    Reply::Append(tx, _) => drop(tx.send(Err(err()))),
                    Reply::Done(tx, seq) => {
                        let e = err();
                        self.forget(seq);
                        drop(tx.send(if no_space { Ok(()) } else { Err(e) }));
                    }
                    Reply::Replay(tx) => drop(tx.send(Err(err()))),
                }
            }
            return;
        }
        for r in replies {
            match r {
                Reply::Append(tx, record) => {
                    self.seg_of.insert(record.seq, self.active_number);
                    if let Some(s) = self.segments.get_mut(&self.active_number) {
                        s.undelivered += 1;
                    }
                    let _ = tx.send(Ok(record));
                }
                Reply::Done(tx, seq) => {
                    self.forget(seq);
                    let _ = tx.send(Ok(()));
                }
                Reply::Replay(tx) => drop(tx.send(Ok(()))),
            }
        }
    }

    /// Takes a done message out of the books.
    fn forget(&mut self, seq: u64) {
        if let Some(n) = self.seg_of.remove(&seq) {
            if let Some(s) = self.segments.get_mut(&n) {
                s.undelivered = s.undelivered.saturating_sub(1);
            }
        }
    }

    fn active_path(&self) -> PathBuf {
        self.dir.join(segment::file_name(self.active_number))
    }

    /// Writes and fsyncs `buf` at the end of the active segment; on failure
    /// cuts the file back so no half record stays in front of later ones.
    fn write_synced(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.write(buf, true)
    }

    /// [`Writer::write_synced`], the fsync only when `sync` (it also
    /// covers every unsynced write before it in the file).
    fn write(&mut self, buf: &[u8], sync: bool) -> std::io::Result<()> {
        let before = self
            .segments
            .get(&self.active_number)
            .map_or(0, |s| s.bytes);
        let result = self.active.write_all(buf).and_then(|()| {
            if sync {
                self.active.sync_data()
            } else {
                Ok(())
            }
        });
        match result {
            Ok(()) => {
                if let Some(s) = self.segments.get_mut(&self.active_number) {
                    s.bytes += buf.len() as u64;
                }
                self.total_bytes += buf.len() as u64;
                Ok(())
            }
            Err(e) => {
                if is_no_space(&e) {
                    // Logged once per episode, not per refused message.
                    self.space.note_full();
                } else {
                    tracing::error!(target: "ehrgate::mllp::queue", file = %self.active_path().display(), error = %e, "queue write failed");
                }
                if self.active.set_len(before).is_err() {
                    tracing::error!(target: "ehrgate::mllp::queue", "cannot cut a failed write back; queue closed for new messages");
                    self.broken = true;
                }
                Err(e)
            }
        }
    }

    /// Starts a new active segment once the current one is big enough.
    fn roll(&mut self) {
        let big = self
            .segments
            .get(&self.active_number)
            .is_some_and(|s| s.bytes >= self.limits.segment_bytes);
        if big {
            self.start_segment();
        }
    }

    /// Starts a new active segment when the queue is short of room (disk
    /// full, or `max_bytes` refused a message) and every message in the
    /// active one is done: otherwise a queue whose messages all sit in the
    /// active segment could never free them (it is never compacted).
    fn roll_if_stuck(&mut self) {
        let done = self
            .segments
            .get(&self.active_number)
            .is_some_and(|s| s.undelivered == 0);
        if done && self.active_has_messages && (self.space.is_full() || self.pressure) {
            self.start_segment();
        }
    }

    fn start_segment(&mut self) {
        let number = self.active_number + 1;
        match segment::create(&self.dir, number) {
            Ok((path, file)) => {
                self.active = file;
                self.active_number = number;
                self.active_has_messages = false;
                self.pressure = false;
                self.segments.insert(
                    number,
                    Seg {
                        path,
                        bytes: 0,
                        undelivered: 0,
                    },
                );
            }
            Err(e) => {
                tracing::error!(target: "ehrgate::mllp::queue", error = %e, "cannot start a new segment; appending to the current one");
            }
        }
    }

    /// Removes the oldest segments whose messages are all done, carrying
    /// their live replay entries forward first.
    ///
    /// On a full disk the carry-forward has no room: the reserve file is
    /// deleted and the write tried again (the entries are on disk before
    /// their segment goes, as always). Only when there is no reserve left
    /// or it was too small is the segment freed first and its entries
    /// written after, into the room it left; a crash between the two loses
    /// those entries (the in-memory replay window still has them, so only
    /// a sender replaying a control id after that crash and within the
    /// window would get a second delivery), which is logged. That order is
    /// the last resort; a queue that jams until an operator frees space
    /// loses every new message's acceptance instead.
    fn compact(&mut self) {
        self.roll_if_stuck();
        let mut freed = false;
        while let Some((&number, seg)) = self.segments.first_key_value() {
            if number == self.active_number || seg.undelivered > 0 {
                break;
            }
            let path = seg.path.clone();
            let bytes = seg.bytes;
            let carried_after = match self.carry_replay_forward(number, &path) {
                Ok(()) => None,
                Err(QueueError::DiskFull) => {
                    let retried =
                        self.space.release() && self.carry_replay_forward(number, &path).is_ok();
                    if retried {
                        None
                    } else {
                        match self.live_replay_entries(number, &path) {
                            Ok(buf) => Some(buf),
                            Err(e) => {
                                tracing::error!(target: "ehrgate::mllp::queue", error = %e, "cannot read replay entries of a delivered segment; segment kept");
                                break;
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(target: "ehrgate::mllp::queue", error = %e, "cannot carry replay entries forward; segment kept");
                    break;
                }
            };
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::error!(target: "ehrgate::mllp::queue", file = %path.display(), error = %e, "cannot remove a delivered segment");
                break;
            }
            let _ = segment::sync_dir(&self.dir);
            self.segments.remove(&number);
            self.total_bytes = self.total_bytes.saturating_sub(bytes);
            freed = true;
            tracing::debug!(target: "ehrgate::mllp::queue", segment = number, "delivered segment removed");
            if let Some(buf) = carried_after.filter(|b| !b.is_empty()) {
                match self.write_synced(&buf) {
                    Ok(()) => {
                        tracing::warn!(target: "ehrgate::mllp::queue", segment = number, "disk full: replay entries carried forward after their segment was freed");
                    }
                    Err(e) => {
                        tracing::error!(target: "ehrgate::mllp::queue", segment = number, error = %e, "replay entries of a freed segment not persisted; after a restart a replay within the window may be delivered again");
                    }
                }
            }
        }
        if freed {
            self.space.refill();
        }
    }

    /// The replay entries of segment `number` still within the window,
    /// encoded.
    fn live_replay_entries(
        &self,
        number: u64,
        path: &std::path::Path,
    ) -> Result<Vec<u8>, QueueError> {
        let mut buf = Vec::new();
        if self.limits.window_ms == 0 {
            return Ok(buf);
        }
        let now = now_ms();
        let scanned = segment::scan(number, path)?;
        for r in scanned.records {
            let (key, at_ms) = match r {
                Record::Message(m) if !m.replay_key.is_empty() => (m.replay_key, m.accepted_ms),
                Record::Replay { key, at_ms } => (key, at_ms),
                _ => continue,
            };
            if now.saturating_sub(at_ms) < self.limits.window_ms {
                Record::Replay { key, at_ms }.encode(&mut buf);
            }
        }
        Ok(buf)
    }

    fn carry_replay_forward(
        &mut self,
        number: u64,
        path: &std::path::Path,
    ) -> Result<(), QueueError> {
        let buf = self.live_replay_entries(number, path)?;
        if buf.is_empty() {
            return Ok(());
        }
        self.write_synced(&buf).map_err(|e| {
            if is_no_space(&e) {
                QueueError::DiskFull
            } else {
                QueueError::Io {
                    path: self.active_path(),
                    source: e,
                }
            }
        })
    }

    /// Undelivered messages (for tests and stats).
    pub fn undelivered(&self) -> usize {
        self.seg_of.len()
    }
}
