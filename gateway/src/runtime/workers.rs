//! Thread-per-core serving: accepted connections are handed round-robin to
//! worker threads, each running its own single-threaded tokio runtime with
//! its own upstream connection pools (see [`crate::upstream::pool::Upstream::client`]).
//!
//! Why: with one work-stealing runtime and one shared pool, a request's
//! server task, pool checkout (a mutex) and client connection task hop
//! between threads; per-core runtimes keep a request on one core from
//! accept to response, like nginx's worker processes, with no lock or
//! cross-thread wake-up on the hot path. Control tasks (accept loops,
//! health checks, reload watchers) stay on the caller's runtime.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::mpsc;

/// A unit of work for a worker: serve one accepted connection.
pub type Job =
    Box<dyn FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send>;

thread_local! {
    static WORKER: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// The index of the worker running on this thread, `None` off the workers.
pub fn current_worker() -> Option<usize> {
    let i = WORKER.with(Cell::get);
    (i != usize::MAX).then_some(i)
}

/// How many worker threads serve connections (one per available core).
pub fn worker_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 64)
    })
}

/// The running worker threads.
#[derive(Debug)]
pub struct Workers {
    senders: Vec<mpsc::UnboundedSender<Job>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    next: AtomicUsize,
}

// === impl Workers ===

impl Workers {
    /// Starts [`worker_count`] threads.
    pub fn start() -> std::io::Result<Arc<Workers>> {
        let mut senders = Vec::new();
        let mut threads = Vec::new();
        for i in 0..worker_count() {
            let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let thread = std::thread::Builder::new()
                .name(format!("ehrgate-worker-{i}"))
                .spawn(move || {
                    WORKER.with(|w| w.set(i));
                    runtime.block_on(async move {
                        while let Some(job) = rx.recv().await {
                            tokio::spawn(job());
                        }
                    });
                })?;
            senders.push(tx);
            threads.push(thread);
        }
        Ok(Arc::new(Workers {
            senders,
            threads,
            next: AtomicUsize::new(0),
        }))
    }

    /// Hands a job to the next worker.
    pub fn dispatch(&self, job: Job) {
        let n = self.next.fetch_add(1, Ordering::Relaxed) % self.senders.len().max(1);
        if let Some(tx) = self.senders.get(n) {
            let _ = tx.send(job);
        }
    }

    /// Stops the workers once their queues are empty; running connections
    /// are cancelled, so call this after graceful shutdown drained them.
    pub fn stop(self) {
        drop(self.senders);
        for t in self.threads {
            let _ = t.join();
        }
    }
}
