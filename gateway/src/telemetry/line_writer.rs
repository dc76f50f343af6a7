//! A background writer of log lines (access log, audit log).
//!
//! Request threads never block on disk: they hand a finished line to a
//! bounded queue, and one thread writes it through a buffer that is flushed
//! whenever the queue runs empty. When the queue is full the line is
//! dropped and counted (`ehrgate_log_lines_dropped_total`), never silently.

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use ehrgate_templates::fault::{Classified, Fault};

/// Why a log destination could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum LogOpenError {
    /// The file could not be opened for appending.
    #[error("cannot open log file {path}: {source}")]
    Open {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The writer thread could not be started.
    #[error("cannot start the log writer thread: {0}")]
    Thread(std::io::Error),
}

impl Classified for LogOpenError {
    fn fault(&self) -> Fault {
        Fault::Internal
    }
    fn code(&self) -> &'static str {
        match self {
            LogOpenError::Open { .. } => "telemetry.log-open",
            LogOpenError::Thread(_) => "telemetry.log-thread",
        }
    }
}

enum Msg {
    Line(String),
    Flush(SyncSender<()>),
}

/// The sending side; cheap to share.
#[derive(Debug)]
pub struct LineWriter {
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msg")
    }
}

// === impl LineWriter ===

impl LineWriter {
    /// Appends to `path` (created if missing).
    pub fn file(
        path: &Path,
        capacity: usize,
        dropped: Arc<AtomicU64>,
    ) -> Result<LineWriter, LogOpenError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| LogOpenError::Open {
                path: path.display().to_string(),
                source,
            })?;
        Self::spawn(Box::new(file), capacity, dropped)
    }

    /// Writes to standard output.
    pub fn stdout(capacity: usize, dropped: Arc<AtomicU64>) -> Result<LineWriter, LogOpenError> {
        Self::spawn(Box::new(std::io::stdout()), capacity, dropped)
    }

    fn spawn(
        out: Box<dyn Write + Send>,
        capacity: usize,
        dropped: Arc<AtomicU64>,
    ) -> Result<LineWriter, LogOpenError> {
        let (tx, rx) = sync_channel(capacity.max(1));
        std::thread::Builder::new()
            .name("ehrgate-log".into())
            .spawn(move || run(rx, out))
            .map_err(LogOpenError::Thread)?;
        Ok(LineWriter { tx, dropped })
    }

    /// Queues one line (a newline is added); drops and counts it when the
    /// queue is full.
    pub fn write(&self, line: String) {
        match self.tx.try_send(Msg::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Waits (up to `timeout`) until every line queued so far is written
    /// and flushed. For shutdown and tests.
    pub fn flush(&self, timeout: Duration) -> bool {
        let (ack, done) = sync_channel(1);
        if self.tx.send(Msg::Flush(ack)).is_err() {
            return false;
        }
        done.recv_timeout(timeout).is_ok()
    }
}

#[allow(clippy::needless_pass_by_value)] // the thread owns its receiver
fn run(rx: Receiver<Msg>, out: Box<dyn Write + Send>) {
    let mut out = BufWriter::with_capacity(64 * 1024, out);
    loop {
        // Block for the next message; flush first whenever we are idle.
        let msg = match rx.try_recv() {
            Ok(m) => m,
            Err(_) => {
                let _ = out.flush();
                match rx.recv_timeout(Duration::from_secs(3600)) {
                    Ok(m) => m,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
        };
        match msg {
            Msg::Line(line) => {
                let _ = out.write_all(line.as_bytes());
                let _ = out.write_all(b"\n");
            }
            Msg::Flush(ack) => {
                let _ = out.flush();
                let _ = ack.send(());
            }
        }
    }
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_reach_the_file_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let w = LineWriter::file(&path, 16, Arc::default()).unwrap();
        for i in 0..10 {
            w.write(format!("line {i}"));
        }
        assert!(w.flush(Duration::from_secs(5)));
        let text = std::fs::read_to_string(&path).unwrap();
        let want: Vec<String> = (0..10).map(|i| format!("line {i}")).collect();
        assert_eq!(text.lines().collect::<Vec<_>>(), want);
    }
}
