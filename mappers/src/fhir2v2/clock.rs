//! MSH-7 (the time of the message) and MSH-10 (the control id).
//!
//! Reading the clock is the one thing the translator takes from outside;
//! [`Config::fixed_time`](super::Config::fixed_time) replaces it for
//! reproducible output. Control ids are a per-translator prefix (random
//! unless configured) and a counter: unique within a translator without a
//! lock, and across restarts and instances by the prefix. They are ids we
//! generate, never patient data, so they may be logged.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Generates MSH-10 values: at most 20 characters (the v2.3 to v2.6
/// length), letters and digits only.
#[derive(Debug)]
pub struct ControlIds {
    prefix: String,
    next: AtomicU64,
}

impl ControlIds {
    /// Ids starting with `prefix`, or with 8 random base-36 characters.
    pub fn new(prefix: Option<String>) -> Self {
        let prefix = prefix.unwrap_or_else(random_prefix);
        Self {
            prefix,
            next: AtomicU64::new(1),
        }
    }

    /// The next id: the prefix and a zero-padded counter.
    pub fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let width = 20 - self.prefix.len();
        let digits = n.to_string();
        // past 10^width ids the counter keeps its low digits; at one
        // message per microsecond that is over three years away
        let tail = &digits[digits.len().saturating_sub(width)..];
        format!("{}{tail:0>width$}", self.prefix)
    }
}

fn random_prefix() -> String {
    const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut h = RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(nanos);
    let mut x = h.finish();
    let mut out = String::with_capacity(8);
    for _ in 0..8 {
        out.push(char::from(DIGITS[(x % 36) as usize]));
        x /= 36;
    }
    out
}

/// Now as a v2 DTM in UTC (`20261207235900+0000`).
pub fn now_dtm() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    dtm_of_unix(secs)
}

/// Seconds since 1970 as a v2 DTM in UTC.
pub fn dtm_of_unix(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}+0000",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 -> (year, month, day), proleptic Gregorian
/// (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(dtm_of_unix(0), "19700101000000+0000");
        assert_eq!(dtm_of_unix(951_782_400), "20000229000000+0000");
        assert_eq!(dtm_of_unix(1_796_688_000 + 3_723), "20261208010203+0000");
    }

    #[test]
    fn ids_are_unique_and_fit_msh10() {
        let ids = ControlIds::new(None);
        let a = ids.next();
        let b = ids.next();
        assert_ne!(a, b);
        assert_eq!(a.len(), 20);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        let fixed = ControlIds::new(Some("T".into()));
        assert_eq!(fixed.next(), "T0000000000000000001");
        assert_ne!(ControlIds::new(None).prefix, ControlIds::new(None).prefix);
    }
}
