//! Wall-clock timestamps in UTC, the gateway's one calendar: RFC 3339 with
//! milliseconds for log lines and the change history
//! (`2026-11-24T01:45:00.123Z`), RFC 3339 to the second for FHIR
//! (`meta.lastUpdated`, CapabilityStatement dates) and HL7 v2 DTM for ACKs
//! (`20261124014500+0000`). A few lines of civil-calendar arithmetic
//! instead of a date crate: we only ever format "now", never parse or do
//! time-zone work.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, as RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format_rfc3339(since.as_secs(), since.subsec_millis())
}

/// Now, as RFC 3339 UTC to the second (`2026-11-24T01:45:00Z`).
pub fn now_rfc3339_seconds() -> String {
    let (y, m, d, hh, mm, ss) = civil_utc(now_secs());
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// Now, as an HL7 v2 DTM in UTC (`YYYYMMDDHHMMSS+0000`).
pub fn now_hl7_dtm() -> String {
    let (y, m, d, hh, mm, ss) = civil_utc(now_secs());
    format!("{y:04}{m:02}{d:02}{hh:02}{mm:02}{ss:02}+0000")
}

/// Formats seconds since the Unix epoch (plus milliseconds).
pub fn format_rfc3339(secs: u64, millis: u32) -> String {
    let (y, m, d, hh, mm, ss) = civil_utc(secs);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{millis:03}Z")
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Seconds since the Unix epoch as (year, month, day, hour, minute, second).
fn civil_utc(secs: u64) -> (i64, u32, u32, u64, u64, u64) {
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    (y, m, d, rem / 3600, (rem / 60) % 60, rem % 60)
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
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
    fn days_become_civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 (leap day) 12:34:56
        assert_eq!(format_rfc3339(951_827_696, 7), "2000-02-29T12:34:56.007Z");
        // 2026-11-24 01:45:00
        assert_eq!(
            format_rfc3339(1_795_484_700, 999),
            "2026-11-24T01:45:00.999Z"
        );
    }
}
