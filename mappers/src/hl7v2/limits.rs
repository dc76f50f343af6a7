//! Bounds on what the parser accepts.
//!
//! Every bound is checked while scanning, so input that breaks one is
//! rejected after reading at most the offending segment: never a panic, a
//! hang or quadratic work.

/// Configurable input bounds for [`Message::parse_with`](super::Message::parse_with).
///
/// `Default` gives production values that every real feed we know of stays
/// far below; tighten them at the edge (MLLP listener, HTTP body) where the
/// cost of a hostile message is paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted message, BOM included. Capped at `u32::MAX` because
    /// the segment index stores 32-bit offsets.
    pub max_message_bytes: usize,
    /// Most segments in one message.
    pub max_segments: usize,
    /// Largest single field (all its repetitions together).
    pub max_field_bytes: usize,
    /// Most repetitions in one field.
    pub max_repetitions: usize,
    /// Most components plus sub-components in one field.
    pub max_components: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 16 * 1024 * 1024,
            max_segments: 100_000,
            max_field_bytes: 4 * 1024 * 1024,
            max_repetitions: 10_000,
            max_components: 100_000,
        }
    }
}

impl Limits {
    /// No bound except what 32-bit offsets allow; for tests and trusted
    /// local files only.
    pub fn unbounded() -> Self {
        Self {
            max_message_bytes: u32::MAX as usize,
            max_segments: usize::MAX,
            max_field_bytes: usize::MAX,
            max_repetitions: usize::MAX,
            max_components: usize::MAX,
        }
    }
}
