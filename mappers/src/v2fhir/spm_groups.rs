//! Which OBRs have an SPM in their own group (see [`super::obr::map`]):
//! that SPM describes the specimen, so the OBR's specimen fields make no
//! second Specimen. In ORU the SPM follows its OBR (before the next OBR,
//! ORC, PID or MSH); in OUL^R22 the SPM heads the group (the last of SPM,
//! OBR, PID, MSH before the OBR is an SPM).
//!
//! One pass over the segment names per message, not a scan per OBR: the
//! translator is a hot path and a message may carry many OBRs.

use crate::hl7v2::Message;

/// Per segment position: whether the OBR there has an SPM in its group.
/// Empty (every lookup `false`) when the message has no SPM.
pub fn obrs_with_spm(msg: &Message<'_>, oul: bool) -> Vec<bool> {
    if msg.segments_named("SPM").next().is_none() {
        return Vec::new();
    }
    let names: Vec<&str> = msg.segments().map(|s| s.name()).collect();
    let mut out = vec![false; names.len()];
    if oul {
        let mut last = "";
        for (i, &n) in names.iter().enumerate() {
            if n == "OBR" {
                out[i] = last == "SPM";
            }
            if matches!(n, "SPM" | "OBR" | "PID" | "MSH") {
                last = n;
            }
        }
    } else {
        let mut spm_after = false;
        for (i, &n) in names.iter().enumerate().rev() {
            match n {
                "SPM" => spm_after = true,
                "OBR" => {
                    out[i] = spm_after;
                    spm_after = false;
                }
                "ORC" | "PID" | "MSH" => spm_after = false,
                _ => {}
            }
        }
    }
    out
}
