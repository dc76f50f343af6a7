//! Why the durable queue did not take (or mark) a message. A full queue is
//! the destination side's backpressure (`CR`, the sender keeps the message
//! and resends later); a disk failure is ours (`CR` too, and logged).

use std::path::PathBuf;

use ehrgate_templates::fault::{Classified, Fault};

/// A queue failure.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// `max_records` or `max_bytes` would be passed.
    #[error("the durable queue is full ({limit})")]
    Full {
        /// `max_records` or `max_bytes`.
        limit: &'static str,
    },
    /// Reading, writing or syncing a queue file failed.
    #[error("queue file {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The disk holding the queue has no room (ENOSPC, EDQUOT). Told to
    /// the sender as "queue storage full", like any queue failure without
    /// the file's path (issue 26: the path reached outside senders).
    #[error("queue storage full")]
    DiskFull,
    /// The writer thread stopped after an earlier failure, or at shutdown.
    #[error("the durable queue is closed")]
    Closed,
}

impl QueueError {
    /// What an acknowledgement may say: the condition, never a path.
    pub fn public_message(&self) -> String {
        match self {
            QueueError::Io { source, .. } => format!("queue storage failed ({})", source.kind()),
            other => other.to_string(),
        }
    }

    pub(super) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> QueueError {
        let path = path.into();
        move |source| QueueError::Io { path, source }
    }
}

impl Classified for QueueError {
    fn fault(&self) -> Fault {
        match self {
            QueueError::Full { .. } => Fault::Upstream,
            QueueError::Io { .. } | QueueError::DiskFull | QueueError::Closed => Fault::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            QueueError::Full { .. } => "mllp.queue-full",
            QueueError::Io { .. } => "mllp.queue-io",
            QueueError::DiskFull => "mllp.queue-disk-full",
            QueueError::Closed => "mllp.queue-closed",
        }
    }
}
