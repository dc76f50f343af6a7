//! DTM / TS / DT -> FHIR `date`, `dateTime` and `instant`, keeping precision
//! and time zone.
//!
//! HL7 v2: `YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`. FHIR requires a
//! zone whenever a time is given, and seconds whenever minutes are given.
//! Decision (documented in the module and the bench README): a v2 value with
//! a time but no zone is written with the configured default zone
//! (`Config::default_timezone`); without one it is truncated to its date
//! part and a warning names the location. Precision finer than the input is
//! never invented except `:00` seconds, which FHIR's syntax requires.

/// A parsed v2 date/time, as written (no calendar arithmetic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dtm<'s> {
    date: &'s str,
    time: &'s str,
    fraction: &'s str,
    zone: &'s str,
}

/// Why a value could not be written at the requested precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmIssue {
    /// Not a v2 date/time at all.
    Invalid,
    /// Has a time but no zone; the time was dropped.
    TimeWithoutZone,
    /// Too imprecise for an `instant` (needs seconds and zone).
    TooImprecise,
}

impl<'s> Dtm<'s> {
    /// Parses a DTM/TS/DT value (TS component 1 only).
    pub fn parse(s: &'s str) -> Option<Self> {
        let s = s.trim();
        let (body, zone) = match s.find(['+', '-']) {
            Some(i) => (&s[..i], &s[i..]),
            None => (s, ""),
        };
        if !zone.is_empty() && (zone.len() != 5 || !zone[1..].bytes().all(|b| b.is_ascii_digit())) {
            return None;
        }
        let (digits, fraction) = match body.find('.') {
            Some(i) => (&body[..i], &body[i + 1..]),
            None => (body, ""),
        };
        if !digits.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        if !matches!(digits.len(), 4 | 6 | 8 | 10 | 12 | 14)
            || (!fraction.is_empty() && digits.len() != 14)
        {
            return None;
        }
        let (date, time) = digits.split_at(digits.len().min(8));
        let d = Dtm {
            date,
            time,
            fraction,
            zone,
        };
        d.plausible().then_some(d)
    }

    fn plausible(&self) -> bool {
        let num = |s: &str| s.parse::<u32>().unwrap_or(99);
        let month_ok = self.date.len() < 6 || (1..=12).contains(&num(&self.date[4..6]));
        let day_ok = self.date.len() < 8 || (1..=31).contains(&num(&self.date[6..8]));
        let hour_ok = self.time.len() < 2 || num(&self.time[..2]) <= 23;
        let min_ok = self.time.len() < 4 || num(&self.time[2..4]) <= 59;
        let sec_ok = self.time.len() < 6 || num(&self.time[4..6]) <= 60;
        let zone_ok =
            self.zone.is_empty() || (num(&self.zone[1..3]) <= 14 && num(&self.zone[3..5]) <= 59);
        month_ok && day_ok && hour_ok && min_ok && sec_ok && zone_ok
    }

    /// The date part at its own precision: `2023`, `2023-01`, `2023-01-02`.
    pub fn date(&self) -> String {
        let mut out = String::with_capacity(10);
        self.push_date(&mut out);
        out
    }

    /// Appends the date part (pushes instead of `format!`: a message has
    /// tens of dates and the formatting machinery was a visible cost).
    fn push_date(&self, out: &mut String) {
        let d = self.date;
        match d.len() {
            4 => out.push_str(d),
            6 => {
                out.push_str(&d[..4]);
                out.push('-');
                out.push_str(&d[4..6]);
            }
            _ => {
                out.push_str(&d[..4]);
                out.push('-');
                out.push_str(&d[4..6]);
                out.push('-');
                out.push_str(&d[6..8]);
            }
        }
    }

    /// True when the value carries a time of day.
    pub fn has_time(&self) -> bool {
        !self.time.is_empty()
    }

    fn time_with_zone(&self, zone: &str) -> String {
        let t = self.time;
        let (hh, mm, ss) = (
            &t[..2],
            t.get(2..4).unwrap_or("00"),
            t.get(4..6).unwrap_or("00"),
        );
        let mut out = String::with_capacity(32 + self.fraction.len());
        self.push_date(&mut out);
        for (sep, part) in [('T', hh), (':', mm), (':', ss)] {
            out.push(sep);
            out.push_str(part);
        }
        if !self.fraction.is_empty() {
            out.push('.');
            out.push_str(self.fraction);
        }
        out.push_str(zone);
        out
    }

    /// A FHIR `dateTime`. `default_zone` is `+hh:mm` or `Z`.
    pub fn date_time(&self, default_zone: Option<&str>) -> Result<String, (String, DtmIssue)> {
        if !self.has_time() {
            return Ok(self.date());
        }
        if !self.zone.is_empty() {
            return Ok(self.time_with_zone(&fhir_zone(self.zone)));
        }
        match default_zone {
            Some(z) => Ok(self.time_with_zone(z)),
            None => Err((self.date(), DtmIssue::TimeWithoutZone)),
        }
    }

    /// A FHIR `instant` (needs a full date, a time to the minute and a
    /// zone; missing seconds are written `:00` as for `dateTime`).
    pub fn instant(&self, default_zone: Option<&str>) -> Result<String, DtmIssue> {
        if self.date.len() < 8 || self.time.len() < 4 {
            return Err(DtmIssue::TooImprecise);
        }
        match (self.zone.is_empty(), default_zone) {
            (false, _) => Ok(self.time_with_zone(&fhir_zone(self.zone))),
            (true, Some(z)) => Ok(self.time_with_zone(z)),
            (true, None) => Err(DtmIssue::TimeWithoutZone),
        }
    }
}

/// `+0215` -> `+02:15`, `+0000` -> `Z`? No: FHIR accepts `+00:00`, which keeps
/// the sender's notation.
fn fhir_zone(z: &str) -> String {
    let mut out = String::with_capacity(6);
    out.push_str(&z[..3]);
    out.push(':');
    out.push_str(&z[3..5]);
    out
}

/// Checks a configured default zone (`Z`, `+hh:mm`, `-hh:mm`).
pub fn valid_zone(z: &str) -> bool {
    if z == "Z" {
        return true;
    }
    let b = z.as_bytes();
    b.len() == 6
        && matches!(b[0], b'+' | b'-')
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && b[3] == b':'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str, z: Option<&str>) -> Result<String, (String, DtmIssue)> {
        Dtm::parse(s)
            .map(|d| d.date_time(z))
            .unwrap_or(Err((String::new(), DtmIssue::Invalid)))
    }

    #[test]
    fn keeps_precision_and_zone() {
        assert_eq!(dt("2023", None).ok().as_deref(), Some("2023"));
        assert_eq!(dt("202301", None).ok().as_deref(), Some("2023-01"));
        assert_eq!(dt("20230101", None).ok().as_deref(), Some("2023-01-01"));
        assert_eq!(
            dt("202301011230+0100", None).ok().as_deref(),
            Some("2023-01-01T12:30:00+01:00")
        );
        assert_eq!(
            dt("20230101123045.12-0500", None).ok().as_deref(),
            Some("2023-01-01T12:30:45.12-05:00")
        );
        assert_eq!(
            dt("2023010112-0500", None).ok().as_deref(),
            Some("2023-01-01T12:00:00-05:00")
        );
    }

    #[test]
    fn time_without_zone_truncates_or_uses_default() {
        assert_eq!(
            dt("202301011230", None),
            Err(("2023-01-01".into(), DtmIssue::TimeWithoutZone))
        );
        assert_eq!(
            dt("202301011230", Some("Z")).ok().as_deref(),
            Some("2023-01-01T12:30:00Z")
        );
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "20",
            "2023013",
            "20231301",
            "2023-01-01",
            "20230101+01",
            "abcd",
            "20230101.5",
        ] {
            assert!(Dtm::parse(s).is_none(), "{s}");
        }
    }

    #[test]
    fn instant_needs_seconds_and_zone() {
        let d = Dtm::parse("20230101123045+0000").map(|d| d.instant(None));
        assert_eq!(d, Some(Ok("2023-01-01T12:30:45+00:00".into())));
        let d = Dtm::parse("202301011230+0000").map(|d| d.instant(None));
        assert_eq!(d, Some(Ok("2023-01-01T12:30:00+00:00".into())));
        let d = Dtm::parse("2023010112+0000").map(|d| d.instant(None));
        assert_eq!(d, Some(Err(DtmIssue::TooImprecise)));
    }

    #[test]
    fn zones() {
        assert!(valid_zone("Z") && valid_zone("+01:00") && !valid_zone("+0100"));
    }
}
