//! MSA (message acknowledgment) -> MessageHeader.response (IG
//! MSA[MessageHeader]): MSA-2 the acknowledged message's control id as
//! `response.identifier`, MSA-1 as `response.code`.
//!
//! The IG leaves the code translation open; FHIR R4 `response-code` has
//! three codes. Accept (AA, CA) is `ok`. An application or commit error
//! (AE, CE: the content could not be processed) is `fatal-error`, "no
//! point in re-sending without change". A reject (AR, CR: v2 says the
//! message was refused for reasons such as the type, version or the
//! receiver's state, not its content) is `transient-error`.

use super::ctx::{comps, txt, Ctx, Seg};
use super::json::{set, Obj};

/// FHIR `response-code` for a v2 table 0008 code.
pub fn response_code(ack: &str) -> Option<&'static str> {
    Some(match ack {
        "AA" | "CA" => "ok",
        "AE" | "CE" => "fatal-error",
        "AR" | "CR" => "transient-error",
        _ => return None,
    })
}

/// FHIR `id`: 1 to 64 of `A-Z a-z 0-9 - .`.
fn is_fhir_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Maps MSA.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(header) = ctx.header else { return };
    let code = txt(seg.peek(1).component(1));
    let id = txt(seg.peek(2));
    let (Some(code), Some(id)) = (code, id) else {
        // both are required in FHIR: the fields stay in the report
        return;
    };
    let Some(fhir) = response_code(&code) else {
        ctx.not_mapped(seg.at(1), "code not in the v2 table 0008 map");
        return;
    };
    if !is_fhir_id(&id) {
        ctx.not_mapped(seg.at(2), "control id is not a FHIR id");
        return;
    }
    seg.mark(1, comps(&[1]));
    seg.mark(2, super::ctx::ALL);
    let mut r = Obj::new();
    set(&mut r, "identifier", id);
    set(&mut r, "code", fhir);
    set(ctx.res(header), "response", r);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_codes() {
        assert_eq!(response_code("AA"), Some("ok"));
        assert_eq!(response_code("CA"), Some("ok"));
        assert_eq!(response_code("AE"), Some("fatal-error"));
        assert_eq!(response_code("AR"), Some("transient-error"));
        assert_eq!(response_code("XX"), None);
        assert!(is_fhir_id("msgCtrlId"));
        assert!(!is_fhir_id("a b"));
        assert!(!is_fhir_id(""));
    }
}
