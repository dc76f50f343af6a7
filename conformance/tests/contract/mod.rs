//! The openEHR REST contract ehrgate relies on, as cases that run against
//! any [`Target`]: the reference backend and a real EHRbase. Each case
//! states EHRbase 2.16.0's behaviour (observed, see
//! conformance/ehrbase/BEHAVIOURS.md); the reference backend must behave
//! the same, or the pair fails.

// Shared by ehrbase_contract.rs and ehrbase_facade.rs; each uses a part.
#![allow(dead_code)]

pub mod aql;
pub mod auth;
pub mod composition;
pub mod ehr;
pub mod facade_writes;
pub mod fixtures;
pub mod flat;
pub mod gaps;
pub mod target;
pub mod template;

// Shared by two test targets; each uses a part.
#[allow(unused_imports)]
pub use target::{Kind, Target};

use crate::refclient::Answer;

/// The body as text for failure messages (bounded: a stack trace from a
/// server must not drown the assertion).
pub fn text(a: &Answer) -> String {
    let s = String::from_utf8_lossy(&a.body);
    let mut out: String = s.chars().take(800).collect();
    if out.len() < s.len() {
        out.push_str(" ...");
    }
    out
}

/// An error answer in EHRbase's shape: JSON with `error` (the status's
/// reason phrase) and `message`.
pub fn assert_error_shape(a: &Answer, what: &str) {
    let v: serde_json::Value = serde_json::from_slice(&a.body)
        .unwrap_or_else(|e| panic!("{what}: error body is not JSON ({e}): {}", text(a)));
    assert!(
        v["error"].is_string() && v["message"].is_string(),
        "{what}: error body has `error` and `message`: {v}"
    );
}
