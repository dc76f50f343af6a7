//! What a translation did not map, kept as recorded (a location and a
//! static reason) until a caller asks for it.
//!
//! A large message leaves over a hundred items; formatting each location
//! and copying each reason into `String`s was about a twentieth of the
//! translation, paid even by callers that only forward the Bundle (the
//! MLLP delivery). [`V2ToFhir::write_bundle`](super::V2ToFhir::write_bundle)
//! returns this [`Report`]; [`Report::unmapped`] builds the public
//! [`Unmapped`] list, which `translate_into` and `translate_to_vec` still
//! return as before.

use std::borrow::Cow;

use crate::translation::{Translation, Unmapped, Warning};

use super::ctx::Loc;

// === impl Item ===

/// One unmapped item: where (borrowing the segment name from the message)
/// and why.
#[derive(Debug, Clone)]
pub struct Item<'a> {
    loc: Loc<'a>,
    reason: Cow<'static, str>,
}

impl<'a> Item<'a> {
    /// An item at `loc`.
    pub fn new(loc: Loc<'a>, reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            loc,
            reason: reason.into(),
        }
    }

    /// The public form (location text, reason text).
    fn to_unmapped(&self) -> Unmapped {
        Unmapped {
            location: self.loc.render(),
            reason: self.reason.clone().into_owned(),
        }
    }
}

// === impl Report ===

/// The unmapped items and warnings of one translation.
#[derive(Debug, Clone, Default)]
pub struct Report<'a> {
    unmapped: Vec<Item<'a>>,
    warnings: Vec<Warning>,
}

impl<'a> Report<'a> {
    pub(super) fn new(unmapped: Vec<Item<'a>>, warnings: Vec<Warning>) -> Self {
        Self { unmapped, warnings }
    }

    /// How many items carried a value and were not mapped.
    pub fn unmapped_count(&self) -> usize {
        self.unmapped.len()
    }

    /// True when everything was mapped and nothing was doubtful.
    pub fn is_clean(&self) -> bool {
        self.unmapped.is_empty() && self.warnings.is_empty()
    }

    /// The unmapped items, formatted (`PID-13`, `no mapping for field`).
    pub fn unmapped(&self) -> Vec<Unmapped> {
        self.unmapped.iter().map(Item::to_unmapped).collect()
    }

    /// The warnings.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// A [`Translation`] of `output` carrying this report, formatted.
    pub fn into_translation<T>(self, output: T) -> Translation<T> {
        Translation {
            output,
            unmapped: self.unmapped(),
            warnings: self.warnings,
        }
    }
}
