//! Web-template node ids ("tree ids") from node names.
//!
//! The rule, as EHRbase and Better web templates apply it (learnt from the
//! corpus web templates): lower-case the name; keep letters (including
//! non-ASCII letters such as `ö`, which are **not** transliterated), digits,
//! ASCII digits, `.` and `-` (so `SpO₂` -> `spo`: a subscript digit is not
//! a digit); every other run of characters becomes one `_`; leading and
//! trailing `_` are dropped. `Timing - daily` -> `timing_-_daily`,
//! `*Agent (en)` -> `agent_en`, `Körpertemperatur` -> `körpertemperatur`.

/// The tree id for a node named `name`.
pub fn tree_id(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending_sep = false;
    for c in name.chars() {
        if c.is_alphabetic() || c.is_ascii_digit() || c == '.' || c == '-' {
            if pending_sep && !out.is_empty() {
                out.push('_');
            }
            pending_sep = false;
            out.extend(c.to_lowercase());
        } else {
            pending_sep = true;
        }
    }
    out
}

/// Makes sibling ids unique the way web templates do: the second node with
/// an id gets `2` appended, the third `3`, and so on.
pub fn make_unique(ids: &mut [String]) {
    let originals: Vec<String> = ids.to_vec();
    for (i, id) in ids.iter_mut().enumerate() {
        let seen_before = originals[..i]
            .iter()
            .filter(|o| **o == originals[i])
            .count();
        if seen_before > 0 {
            id.push_str(&(seen_before + 1).to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_corpus_examples() {
        for (name, id) in [
            ("Start_time", "start_time"),
            ("Geschichte/Historie", "geschichte_historie"),
            (
                "Bezeichnung des Symptoms oder Anzeichens.",
                "bezeichnung_des_symptoms_oder_anzeichens.",
            ),
            ("Vorhanden?", "vorhanden"),
            (
                "Fieber oder erhöhte Körpertemperatur",
                "fieber_oder_erhöhte_körpertemperatur",
            ),
            ("*Agent (en)", "agent_en"),
            ("Timing - daily", "timing_-_daily"),
            ("'As required' criterion", "as_required_criterion"),
            ("Allergies & Intolerances", "allergies_intolerances"),
            ("SpO₂", "spo"),
            (
                "Datum/ Zeitpunkt des Auftretens/ der Erstdiagnose",
                "datum_zeitpunkt_des_auftretens_der_erstdiagnose",
            ),
        ] {
            assert_eq!(tree_id(name), id, "{name}");
        }
    }

    #[test]
    fn duplicates_are_numbered_from_two() {
        let mut ids = vec!["time".to_string(), "x".into(), "time".into(), "time".into()];
        make_unique(&mut ids);
        assert_eq!(ids, ["time", "x", "time2", "time3"]);
    }
}
