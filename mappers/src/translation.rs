//! The translator seam: every translation in ehrgate is a pure function from
//! an input to a [`Translation`], which carries the output together with
//! everything the translator did *not* use. Nothing is dropped silently:
//! callers decide whether unmapped input is acceptable, report it, or fail.
//!
//! Template metadata and configuration are looked up before the call and
//! passed in, so a translator never performs I/O.

use serde::Serialize;

/// A pure, synchronous translation from one representation to another.
pub trait Translator {
    /// What the translator reads (a parsed HL7 v2 message, a FHIR resource...).
    type Input<'a>;
    /// What it produces (a FHIR Bundle, a composition...).
    type Output;
    /// The error for input that cannot be translated at all.
    type Error: std::error::Error + crate::error::Classified;

    /// Translates one input. Partial success is `Ok` with the leftovers in
    /// [`Translation::unmapped`] and [`Translation::warnings`].
    fn translate(&self, input: Self::Input<'_>) -> Result<Translation<Self::Output>, Self::Error>;
}

/// The result of a translation: the output, what was not mapped, and what
/// was mapped with doubts.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation<T> {
    /// The translated value.
    pub output: T,
    /// Input items that carried a value but were not mapped.
    pub unmapped: Vec<Unmapped>,
    /// Things that were mapped, but not cleanly (an unknown code passed
    /// through, a value truncated to the target's precision...).
    pub warnings: Vec<Warning>,
}

impl<T> Translation<T> {
    /// A translation that used everything.
    pub fn complete(output: T) -> Self {
        Self {
            output,
            unmapped: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Applies `f` to the output, keeping the report.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Translation<U> {
        Translation {
            output: f(self.output),
            unmapped: self.unmapped,
            warnings: self.warnings,
        }
    }
}

/// One input item that carried a value and was not mapped.
///
/// `location` names the place in the input (`PID-13`, `ZPI`, `OBX(2)-5`,
/// `Observation.extension[0]`, `/content[openEHR-EHR-OBSERVATION...]/...`).
/// It never contains the value itself: reports may be logged, values are
/// patient data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmapped {
    /// Where in the input the item is.
    pub location: String,
    /// Why it was not mapped (`z-segment`, `no mapping for field`, ...).
    pub reason: String,
}

/// A doubt about a mapped value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Where in the input the doubtful item is.
    pub location: String,
    /// What happened, without the value itself.
    pub message: String,
}
