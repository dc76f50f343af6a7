//! Delivery lanes: the undelivered messages of each sender, delivered one
//! at a time in acceptance order by one task per sender that has any. A
//! lane's task starts with its first message and ends when the lane is
//! empty (or the gateway stops: the messages stay on disk for the next
//! start). A refused delivery is retried with backoff; a client fault (the
//! destination says the message is wrong) is final.
//!
//! The lanes know delivery only through [`LaneDelivery`] (the feed
//! implements it), so the queue does not call back into the feed's insides.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use ehrgate_templates::fault::{Classified, Fault};
use tokio::sync::mpsc;

use super::record::MessageRecord;
use super::DurableQueue;
use crate::mllp::destination::Prepared;
use crate::mllp::error::FeedError;
use crate::mllp::unstorable::Stored;

/// Where late acknowledgements for one inbound connection go; the
/// connection writes them between frames. Closed when the connection is.
pub type AckSink = mpsc::Sender<Vec<u8>>;

/// One queued message and the connection it came on (none after a restart).
#[derive(Debug)]
pub struct Job {
    /// The record as stored.
    pub record: MessageRecord,
    /// The inbound connection, for the application ack.
    pub reply: Option<AckSink>,
    /// The message as its destination takes it, translated when it was
    /// accepted (the check before `CA`); `None` after a restart, when it is
    /// translated at its first delivery attempt.
    pub prepared: Option<Prepared>,
}

/// How a lane delivers its jobs and reports the outcome.
#[async_trait::async_trait]
pub trait LaneDelivery: Send + Sync + 'static {
    /// One delivery attempt.
    async fn deliver(&self, job: &Job) -> Result<Stored, FeedError>;
    /// The job is done (delivered, refused for good, or out of attempts).
    async fn finish(&self, job: &Job, result: Result<Stored, FeedError>, attempts: u32);
    /// An attempt failed and will be retried (a counter).
    fn retried(&self);
    /// Turns true when the gateway stops.
    fn stop_signal(&self) -> tokio::sync::watch::Receiver<bool>;
}

/// The lanes, by sender.
#[derive(Debug, Default)]
pub struct Lanes {
    inner: Mutex<HashMap<String, VecDeque<Arc<Job>>>>,
}

// === impl Lanes ===

impl Lanes {
    /// Adds a job at the end of its sender's lane; true when the lane was
    /// empty, so the caller starts its task.
    pub fn push(&self, job: Job) -> bool {
        let Ok(mut m) = self.inner.lock() else {
            return false;
        };
        let q = m.entry(job.record.sender.clone()).or_default();
        q.push_back(Arc::new(job));
        q.len() == 1
    }

    fn front(&self, sender: &str) -> Option<Arc<Job>> {
        self.inner.lock().ok()?.get(sender)?.front().cloned()
    }

    /// Drops the lane's first job; false when the lane is now empty (and
    /// removed, so the next push starts a new task).
    fn pop(&self, sender: &str) -> bool {
        let Ok(mut m) = self.inner.lock() else {
            return false;
        };
        let Some(q) = m.get_mut(sender) else {
            return false;
        };
        q.pop_front();
        if q.is_empty() {
            m.remove(sender);
            return false;
        }
        true
    }

    /// Undelivered messages in memory.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .map_or(0, |m| m.values().map(VecDeque::len).sum())
    }

    /// Whether every lane is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Starts the task of `sender`'s lane of `queue`.
pub fn spawn(delivery: Arc<dyn LaneDelivery>, queue: Arc<DurableQueue>, sender: String) {
    tokio::spawn(run(delivery, queue, sender));
}

async fn run(feed: Arc<dyn LaneDelivery>, queue: Arc<DurableQueue>, sender: String) {
    let mut stop = feed.stop_signal();
    while let Some(job) = queue.lanes.front(&sender) {
        let mut attempt = 0u32;
        let result = loop {
            if *stop.borrow() {
                return;
            }
            attempt += 1;
            let r = feed.deliver(&job).await;
            match r {
                Ok(stored) => break Ok(stored),
                Err(e) if e.fault() == Fault::Client => break Err(e),
                Err(e) => {
                    if queue.max_attempts > 0 && attempt >= queue.max_attempts {
                        break Err(e);
                    }
                    let delay = queue.retry_delay(attempt);
                    feed.retried();
                    tracing::warn!(
                        target: "ehrgate::mllp::queue",
                        backend = job.record.backend.as_str(),
                        control_id = &*crate::mllp::log_bound::control_id(&job.record.control_id),
                        error = e.code(),
                        attempt,
                        retry_in_ms = delay.as_millis() as u64,
                        "queued message not delivered; retrying"
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stop.changed() => return,
                    }
                }
            }
        };
        feed.finish(&job, result, attempt).await;
        if !queue.lanes.pop(&sender) {
            return;
        }
    }
}
