//! Where the reference backend does not (yet) behave as EHRbase 2.16.0.
//!
//! The reference half of a listed pair asserts the case still FAILS on the
//! reference backend, so the list cannot go stale: the day the reference
//! copies EHRbase on a point, its pair fails until the entry is removed.
//! Every entry names the difference (details in
//! conformance/ehrbase/BEHAVIOURS.md).

/// `(case, what differs)`.
pub const REFERENCE_GAPS: &[(&str, &str)] = &[];

/// The known difference for `case`, if any.
pub fn gap(case: &str) -> Option<&'static str> {
    REFERENCE_GAPS
        .iter()
        .find(|(c, _)| *c == case)
        .map(|(_, why)| *why)
}
