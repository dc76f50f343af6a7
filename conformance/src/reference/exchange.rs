//! The request log both reference backends keep for tests: every exchange
//! (method, path, status, refusal code), bounded, and refusals counted by
//! code, so a test can assert what was refused and that nothing else was.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

/// How many exchanges the log keeps (the oldest are dropped first).
const LOG_LIMIT: usize = 10_000;

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The method.
    pub method: String,
    /// The path below the base, decoded.
    pub path: String,
    /// The status answered.
    pub status: u16,
    /// The refusal code, for refusals.
    pub code: Option<&'static str>,
}

/// Refusal counts and the bounded exchange log.
#[derive(Debug, Default)]
pub struct ExchangeLog {
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    log: Mutex<VecDeque<Exchange>>,
}

/// Locks a mutex, recovering from poisoning (a panicking test thread must
/// not take a backend down with it).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

// === impl ExchangeLog ===

impl ExchangeLog {
    /// Refusals by code.
    pub fn rejected(&self) -> BTreeMap<String, u64> {
        lock(&self.rejected)
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect()
    }

    /// All refusals.
    pub fn rejected_total(&self) -> u64 {
        lock(&self.rejected).values().sum()
    }

    /// The last exchanges, oldest first.
    pub fn exchanges(&self) -> Vec<Exchange> {
        lock(&self.log).iter().cloned().collect()
    }

    /// Logs one exchange, counting it when it is a refusal.
    pub(crate) fn record(&self, exchange: Exchange) {
        if let Some(code) = exchange.code {
            *lock(&self.rejected).entry(code).or_default() += 1;
        }
        let mut log = lock(&self.log);
        if log.len() >= LOG_LIMIT {
            log.pop_front();
        }
        log.push_back(exchange);
    }
}
