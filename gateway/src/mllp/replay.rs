//! The replay window: a sender that resends a control id (MSH-10) it sent
//! before, within the configured window, gets its acknowledgement again
//! without a second delivery (it lost our ACK, not the destination its
//! message).
//!
//! Only delivered messages are remembered: after an `AR` the sender is
//! meant to resend, and that resend must be delivered. The key is the
//! sender (MSH-3 application, MSH-4 facility) and MSH-10; none of them is
//! patient data. Memory is bounded by `replay_capacity`: the oldest entries
//! are forgotten first.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ehrgate_mappers::hl7v2::Message;

/// Remembered deliveries.
#[derive(Debug)]
pub struct ReplayWindow {
    window: Duration,
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    seen: HashMap<String, Instant>,
    order: VecDeque<(String, Instant)>,
    /// Keys being delivered right now (on any connection).
    in_flight: HashSet<String>,
}

/// A delivery in progress; dropping it (not delivered) frees the key,
/// [`InFlight::delivered`] frees it and remembers it in one step.
#[derive(Debug)]
pub struct InFlight<'w> {
    window: &'w ReplayWindow,
    key: String,
    /// Set by `delivered`, which already freed the key.
    finished: bool,
}

/// What [`ReplayWindow::admit`] decided for a key.
#[derive(Debug)]
pub enum Admission<'w> {
    /// Delivered within the window: acknowledge, do not deliver again.
    Replay,
    /// Being delivered right now on another connection.
    Busy,
    /// Deliver it; the guard holds the key meanwhile.
    Deliver(InFlight<'w>),
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if let Ok(mut inner) = self.window.inner.lock() {
            inner.in_flight.remove(&self.key);
        }
    }
}

// === impl InFlight ===

impl InFlight<'_> {
    /// The key of this delivery.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The destination accepted the message: frees the key and remembers
    /// it, under one lock (the feed's hot path takes this lock twice per
    /// message: [`ReplayWindow::admit`] and this).
    pub fn delivered(mut self, now: Instant) {
        self.finished = true;
        let key = std::mem::take(&mut self.key);
        let Ok(mut inner) = self.window.inner.lock() else {
            return;
        };
        let key = inner.in_flight.take(&key).unwrap_or(key);
        self.window.remember_locked(&mut inner, key, now);
    }
}

// === impl ReplayWindow ===

impl ReplayWindow {
    /// A window of `window` (zero = off) holding at most `capacity` ids.
    pub fn new(window: Duration, capacity: usize) -> ReplayWindow {
        ReplayWindow {
            window,
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The key of a message: sender and control id; `None` when off.
    pub fn key(&self, msg: &Message<'_>, control_id: &str) -> Option<String> {
        if self.window.is_zero() {
            return None;
        }
        let msh = msg.segment_at(0)?;
        let app = String::from_utf8_lossy(msh.field(3).raw());
        let fac = String::from_utf8_lossy(msh.field(4).raw());
        Some(format!("{app}\u{1f}{fac}\u{1f}{control_id}"))
    }

    /// The sender of a message (MSH-3 application, MSH-4 facility): the unit
    /// the durable queue keeps in order.
    pub fn sender(msg: &Message<'_>) -> String {
        let Some(msh) = msg.segment_at(0) else {
            return String::new();
        };
        let app = String::from_utf8_lossy(msh.field(3).raw());
        let fac = String::from_utf8_lossy(msh.field(4).raw());
        format!("{app}\u{1f}{fac}")
    }

    /// Takes back entries persisted before a restart (`age` ago).
    pub fn restore(&self, key: String, age: Duration) {
        if age >= self.window {
            return;
        }
        if let Some(at) = Instant::now().checked_sub(age) {
            self.remember(key, at);
        }
    }

    /// Whether `key` was delivered within the window.
    pub fn seen(&self, key: &str, now: Instant) -> bool {
        let Ok(inner) = self.inner.lock() else {
            return false;
        };
        inner
            .seen
            .get(key)
            .is_some_and(|at| now.duration_since(*at) < self.window)
    }

    /// Marks `key` as being delivered; `None` when another connection is
    /// delivering the same message right now (the caller answers `AR`, and
    /// the sender's resend then finds it delivered or free).
    pub fn begin(&self, key: &str) -> Option<InFlight<'_>> {
        let mut inner = self.inner.lock().ok()?;
        if !inner.in_flight.insert(key.to_string()) {
            return None;
        }
        Some(InFlight {
            window: self,
            key: key.to_string(),
            finished: false,
        })
    }

    /// Whether `key` is a replay, busy on another connection, or to be
    /// delivered (then marked in flight): [`ReplayWindow::seen`] and
    /// [`ReplayWindow::begin`] under one lock.
    pub fn admit(&self, key: String, now: Instant) -> Admission<'_> {
        let Ok(mut inner) = self.inner.lock() else {
            return Admission::Busy;
        };
        let replay = inner
            .seen
            .get(&key)
            .is_some_and(|at| now.duration_since(*at) < self.window);
        if replay {
            return Admission::Replay;
        }
        if !inner.in_flight.insert(key.clone()) {
            return Admission::Busy;
        }
        Admission::Deliver(InFlight {
            window: self,
            key,
            finished: false,
        })
    }

    /// Remembers a delivery.
    pub fn remember(&self, key: String, now: Instant) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        self.remember_locked(&mut inner, key, now);
    }

    fn remember_locked(&self, inner: &mut Inner, key: String, now: Instant) {
        while let Some((k, at)) = inner.order.front() {
            let expired = now.duration_since(*at) >= self.window;
            if !expired && inner.order.len() < self.capacity {
                break;
            }
            // Forget the entry only if it was not refreshed since.
            if inner.seen.get(k) == Some(at) {
                let k = k.clone();
                inner.seen.remove(&k);
            }
            inner.order.pop_front();
        }
        inner.seen.insert(key.clone(), now);
        inner.order.push_back((key, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_within_window_per_sender() {
        let w = ReplayWindow::new(Duration::from_secs(60), 10);
        let a = Message::parse(b"MSH|^~\\&|APP|FAC|R|RF|T||ADT^A01|C1|P|2.5\r").unwrap();
        let b = Message::parse(b"MSH|^~\\&|APP|OTHER|R|RF|T||ADT^A01|C1|P|2.5\r").unwrap();
        let t0 = Instant::now();
        let ka = w.key(&a, "C1").unwrap();
        let kb = w.key(&b, "C1").unwrap();
        assert!(!w.seen(&ka, t0));
        w.remember(ka.clone(), t0);
        assert!(w.seen(&ka, t0 + Duration::from_secs(59)));
        assert!(!w.seen(&ka, t0 + Duration::from_secs(60)));
        assert!(!w.seen(&kb, t0), "another sender's C1 is another message");
    }

    #[test]
    fn capacity_forgets_oldest() {
        let w = ReplayWindow::new(Duration::from_secs(60), 3);
        let t0 = Instant::now();
        for i in 0..5 {
            w.remember(format!("k{i}"), t0);
        }
        assert!(!w.seen("k0", t0) && !w.seen("k1", t0));
        assert!(w.seen("k2", t0) && w.seen("k4", t0));
    }

    #[test]
    fn one_delivery_of_a_key_at_a_time() {
        let w = ReplayWindow::new(Duration::from_secs(60), 10);
        let first = w.begin("k").unwrap();
        assert!(w.begin("k").is_none(), "same message on another connection");
        assert!(w.begin("other").is_some());
        drop(first);
        assert!(w.begin("k").is_some(), "free again once the first is done");
    }

    #[test]
    fn admit_decides_replay_busy_or_deliver_and_delivered_remembers() {
        let w = ReplayWindow::new(Duration::from_secs(60), 10);
        let t0 = Instant::now();
        let Admission::Deliver(first) = w.admit("k".into(), t0) else {
            panic!("a new key is delivered");
        };
        assert!(matches!(w.admit("k".into(), t0), Admission::Busy));
        first.delivered(t0);
        assert!(w.seen("k", t0));
        assert!(matches!(w.admit("k".into(), t0), Admission::Replay));
        // Not delivered: freed, not remembered.
        let Admission::Deliver(other) = w.admit("o".into(), t0) else {
            panic!("a new key is delivered");
        };
        drop(other);
        assert!(!w.seen("o", t0));
        assert!(matches!(w.admit("o".into(), t0), Admission::Deliver(_)));
        // Past the window it is delivered again.
        let later = t0 + Duration::from_secs(61);
        assert!(matches!(w.admit("k".into(), later), Admission::Deliver(_)));
    }

    #[test]
    fn off_when_window_is_zero() {
        let w = ReplayWindow::new(Duration::ZERO, 3);
        let a = Message::parse(b"MSH|^~\\&|APP|FAC|R|RF|T||ADT^A01|C1|P|2.5\r").unwrap();
        assert_eq!(w.key(&a, "C1"), None);
    }
}
