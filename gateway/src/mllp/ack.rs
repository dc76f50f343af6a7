//! Which acknowledgements a message gets, in which mode.
//!
//! Original mode (MSH-15 and MSH-16 empty): one answer, `AA` once the
//! destination accepted the message, `AE` with an ERR segment when the
//! message is wrong, `AR` when it could not be delivered (the sender keeps
//! it and resends).
//!
//! Enhanced mode (MSH-15 or MSH-16 valued): a commit acknowledgement
//! (`CA`/`CE`/`CR`) as MSH-15 asks (AL always, NE never, ER on error, SU on
//! success; empty = AL), then, after delivery, an application
//! acknowledgement (`AA`) as MSH-16 asks. With `[mllp.queue]` configured,
//! "durable acceptance" is the fsync of the message into the queue: `CA`
//! goes out then ([`commit_codes`]) and the application ack after delivery
//! from the queue ([`application_code`]). Without a queue it is the
//! destination's acceptance: `CA` is sent only once the destination
//! accepted the message, so a crash of the gateway can not lose a
//! committed message. When no commit ack is wanted and delivery failed,
//! the application ack carries `AE`/`AR`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use ehrgate_mappers::hl7v2::{ack, AckCode, AckError, ErrorCode, Message, Severity};
use ehrgate_templates::fault::{Classified, Fault};

use super::error::FeedError;
use super::unstorable::LeftOut;
use crate::telemetry::clock::now_hl7_dtm;

/// When an acknowledgement is wanted (HL7 table 0155).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// `AL`: always.
    Always,
    /// `NE`: never.
    Never,
    /// `ER`: on error only.
    OnError,
    /// `SU`: on success only.
    OnSuccess,
}

impl Condition {
    fn parse(v: &str) -> Condition {
        match v.trim() {
            "NE" => Condition::Never,
            "ER" => Condition::OnError,
            "SU" => Condition::OnSuccess,
            _ => Condition::Always,
        }
    }

    fn wants(self, success: bool) -> bool {
        match self {
            Condition::Always => true,
            Condition::Never => false,
            Condition::OnError => !success,
            Condition::OnSuccess => success,
        }
    }
}

/// The acknowledgement mode a message asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckMode {
    /// Original mode.
    Original,
    /// Enhanced mode with the accept (MSH-15) and application (MSH-16)
    /// conditions.
    Enhanced {
        /// MSH-15.
        accept: Condition,
        /// MSH-16.
        application: Condition,
    },
}

impl AckMode {
    /// Reads MSH-15/MSH-16.
    pub fn of(msg: &Message<'_>) -> AckMode {
        let Some(msh) = msg.segment_at(0) else {
            return AckMode::Original;
        };
        let accept = msh.field(15).text();
        let application = msh.field(16).text();
        if accept.trim().is_empty() && application.trim().is_empty() {
            return AckMode::Original;
        }
        AckMode::Enhanced {
            accept: Condition::parse(&accept),
            application: Condition::parse(&application),
        }
    }

    /// Whether MSH-15 or MSH-16 is valued.
    pub fn is_enhanced(self) -> bool {
        matches!(self, AckMode::Enhanced { .. })
    }

    /// For logs.
    pub fn as_str(self) -> &'static str {
        match self {
            AckMode::Original => "original",
            AckMode::Enhanced { .. } => "enhanced",
        }
    }
}

/// With the durable queue: the commit acknowledgement sent once the message
/// is on disk (`CA` if MSH-15 wants one on success); the application ack
/// follows after delivery ([`application_code`]).
pub fn commit_codes(mode: AckMode) -> Vec<AckCode> {
    match mode {
        AckMode::Enhanced { accept, .. } if accept.wants(true) => vec![AckCode::CA],
        _ => Vec::new(),
    }
}

/// With the durable queue: the application ack for a delivery outcome, if
/// MSH-16 wants one.
pub fn application_code(mode: AckMode, outcome: Result<(), &FeedError>) -> Option<AckCode> {
    let AckMode::Enhanced { application, .. } = mode else {
        return None;
    };
    let code = match outcome.err().map(Classified::fault) {
        None => AckCode::AA,
        Some(Fault::Client) => AckCode::AE,
        Some(_) => AckCode::AR,
    };
    application.wants(outcome.is_ok()).then_some(code)
}

/// The acknowledgement codes to send, in order, for an outcome.
pub fn codes(mode: AckMode, outcome: Result<(), &FeedError>) -> Vec<AckCode> {
    let fault = outcome.err().map(Classified::fault);
    let (app, commit) = match fault {
        None => (AckCode::AA, AckCode::CA),
        Some(Fault::Client) => (AckCode::AE, AckCode::CE),
        Some(_) => (AckCode::AR, AckCode::CR),
    };
    match mode {
        AckMode::Original => vec![app],
        AckMode::Enhanced {
            accept,
            application,
        } => {
            let ok = fault.is_none();
            let mut out = Vec::with_capacity(2);
            let committed = accept.wants(ok);
            if committed {
                out.push(commit);
            }
            // After a commit error the commit ack said it all; without one
            // the application ack must carry the failure.
            if (ok || !committed) && application.wants(ok) {
                out.push(app);
            }
            out
        }
    }
}

/// Control ids and timestamps for the acknowledgements we write.
#[derive(Debug)]
pub struct AckIds {
    prefix: String,
    next: AtomicU64,
}

// === impl AckIds ===

impl AckIds {
    /// Ids `EG<start-seconds>-<n>`: unique across restarts of one gateway.
    pub fn new() -> AckIds {
        let start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        AckIds {
            prefix: format!("EG{start:x}-"),
            next: AtomicU64::new(1),
        }
    }

    /// The next control id.
    pub fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{}{n}", self.prefix)
    }
}

impl Default for AckIds {
    fn default() -> Self {
        Self::new()
    }
}

/// The ERR segment for a failure: table 0357 code, location, and the
/// error's text (which never holds field values).
pub fn err_segment(e: &FeedError) -> AckError {
    let severity = Severity::Error;
    let err = AckError::new(e.hl7_code(), severity).with_message(e.public_message());
    match e.location() {
        Some((seg, seq, field)) => err.at(seg, seq, field),
        None => err,
    }
}

/// The ERR segment for a resource an openEHR delivery left out under the
/// `warn` policy: severity `W` (table 0516: the transaction succeeded,
/// with issues), ERR-2 its v2 source (`OBX^4`) when known, ERR-3 207
/// (application internal error: table 0357 has no closer code for content
/// the receiving application cannot hold; the 1xx codes are about the
/// message's syntax, which is fine), ERR-8 the resource type and why.
pub fn warning_segment(left: &LeftOut, backend: &str) -> AckError {
    let err = AckError::new(ErrorCode::ApplicationInternalError, Severity::Warning)
        .with_message(left.message(backend));
    match &left.source {
        Some((segment, sequence)) => err.at(segment, *sequence, 0),
        None => err,
    }
}

/// Writes one acknowledgement of `msg`.
pub fn write(msg: &Message<'_>, code: AckCode, error: Option<&AckError>, ids: &AckIds) -> Vec<u8> {
    let errors = error.map(std::slice::from_ref).unwrap_or_default();
    write_with(msg, code, errors, ids)
}

/// Writes one acknowledgement of `msg` with any number of ERR segments.
pub fn write_with(msg: &Message<'_>, code: AckCode, errors: &[AckError], ids: &AckIds) -> Vec<u8> {
    ack::build(msg, code, errors, &ids.next(), &now_hl7_dtm())
}

/// Which of the acknowledgements in `codes` carries the warnings of a
/// delivery that left resources out: the application ack (`AA`) when one
/// is sent, else the commit ack (`CA`, sent after delivery without the
/// durable queue), so the sender hears of them whichever it asked for.
pub fn warning_carrier(codes: &[AckCode]) -> Option<AckCode> {
    if codes.contains(&AckCode::AA) {
        Some(AckCode::AA)
    } else if codes.contains(&AckCode::CA) {
        Some(AckCode::CA)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(raw: &[u8]) -> AckMode {
        AckMode::of(&Message::parse(raw).unwrap())
    }

    #[test]
    fn mode_from_msh15_msh16() {
        assert_eq!(
            mode(b"MSH|^~\\&|A|F|R|RF|T||ADT^A01|1|P|2.5\r"),
            AckMode::Original
        );
        assert_eq!(
            mode(b"MSH|^~\\&|A|F|R|RF|T||ADT^A01|1|P|2.5|||AL|NE\r"),
            AckMode::Enhanced {
                accept: Condition::Always,
                application: Condition::Never
            }
        );
        assert_eq!(
            mode(b"MSH|^~\\&|A|F|R|RF|T||ADT^A01|1|P|2.5||||ER\r"),
            AckMode::Enhanced {
                accept: Condition::Always,
                application: Condition::OnError
            }
        );
    }

    #[test]
    fn codes_per_mode_and_outcome() {
        let bad = FeedError::MissingHeader("MSH-10");
        let down = FeedError::Unreachable {
            backend: "b".into(),
            reason: "connect refused",
        };
        let o = AckMode::Original;
        assert_eq!(codes(o, Ok(())), [AckCode::AA]);
        assert_eq!(codes(o, Err(&bad)), [AckCode::AE]);
        assert_eq!(codes(o, Err(&down)), [AckCode::AR]);
        let e = |a, b| AckMode::Enhanced {
            accept: a,
            application: b,
        };
        use Condition::*;
        assert_eq!(codes(e(Always, Always), Ok(())), [AckCode::CA, AckCode::AA]);
        assert_eq!(codes(e(Always, Never), Ok(())), [AckCode::CA]);
        assert_eq!(codes(e(Always, Always), Err(&down)), [AckCode::CR]);
        assert_eq!(codes(e(Always, Always), Err(&bad)), [AckCode::CE]);
        assert_eq!(codes(e(Never, Always), Err(&down)), [AckCode::AR]);
        assert_eq!(codes(e(OnError, OnSuccess), Ok(())), [AckCode::AA]);
        assert_eq!(codes(e(OnSuccess, OnError), Err(&bad)), [AckCode::AE]);
        assert!(codes(e(Never, Never), Ok(())).is_empty());
    }

    #[test]
    fn queued_commit_then_application_codes() {
        use Condition::*;
        let e = |a, b| AckMode::Enhanced {
            accept: a,
            application: b,
        };
        let bad = FeedError::MissingHeader("MSH-10");
        let down = FeedError::Unreachable {
            backend: "b".into(),
            reason: "connect refused",
        };
        assert_eq!(commit_codes(e(Always, Always)), [AckCode::CA]);
        assert!(commit_codes(e(Never, Always)).is_empty());
        assert!(commit_codes(e(OnError, Always)).is_empty());
        assert_eq!(
            application_code(e(Always, Always), Ok(())),
            Some(AckCode::AA)
        );
        assert_eq!(
            application_code(e(Always, Always), Err(&bad)),
            Some(AckCode::AE)
        );
        assert_eq!(
            application_code(e(Always, OnError), Err(&down)),
            Some(AckCode::AR)
        );
        assert_eq!(application_code(e(Always, OnError), Ok(())), None);
        assert_eq!(application_code(AckMode::Original, Ok(())), None);
    }

    #[test]
    fn warnings_go_on_the_application_ack_else_the_commit_ack() {
        assert_eq!(
            warning_carrier(&[AckCode::CA, AckCode::AA]),
            Some(AckCode::AA)
        );
        assert_eq!(warning_carrier(&[AckCode::CA]), Some(AckCode::CA));
        assert_eq!(warning_carrier(&[AckCode::AE]), None);
        assert_eq!(warning_carrier(&[]), None);
    }

    #[test]
    fn a_left_out_resource_is_an_err_of_severity_w_at_its_segment() {
        use super::super::unstorable::Reason;
        let raw = b"MSH|^~\\&|A|F|R|RF|T||VXU^V04|C1|P|2.5.1\r";
        let msg = Message::parse(raw).unwrap();
        let left = LeftOut {
            resource_type: "Observation".into(),
            reason: Reason::ImmunizationDetail,
            source: Some(("OBX".into(), 4)),
        };
        let unlocated = LeftOut {
            source: None,
            ..left.clone()
        };
        let errors = [
            warning_segment(&left, "cdr"),
            warning_segment(&unlocated, "cdr"),
        ];
        let ack = write_with(&msg, AckCode::AA, &errors, &AckIds::new());
        let text = String::from_utf8(ack).unwrap();
        let errs: Vec<&str> = text.split('\r').filter(|l| l.starts_with("ERR")).collect();
        assert_eq!(errs.len(), 2, "{text}");
        assert!(
            errs[0].starts_with("ERR||OBX^4|207^Application internal error^HL70357|W||||Observation not stored in openEHR backend `cdr`: immunization detail"),
            "{text}"
        );
        assert!(errs[1].starts_with("ERR|||207^"), "{text}");
        assert!(text.contains("MSA|AA|C1"), "{text}");
    }

    #[test]
    fn timestamps_are_hl7_dtm() {
        let t = now_hl7_dtm();
        assert_eq!(t.len(), 19, "{t}");
        assert!(t.ends_with("+0000"));
    }
}
