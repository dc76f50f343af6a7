//! OPT 1.4 (operational template XML) -> [`TemplateMeta`].
//!
//! # Layout
//! - `xml`: bounded quick-xml reader into a small element tree.
//! - `reader`: the definition tree (`C_OBJECT`s and attributes) and AQL paths.
//! - `constraints`: occurrences, primitives and `DV_*` constraint summaries.
//! - `terminology`: archetype term definitions.
//!
//! Accepted input: UTF-8 with or without a byte-order mark, with or without
//! an XML declaration (`corona_anamnese.opt` has none). Other encodings are
//! refused with [`OptError::Encoding`] rather than guessed.

mod constraints;
mod id_scan;
mod reader;
mod terminology;
mod xml;

pub use id_scan::read_template_id;

use crate::meta::TemplateMeta;
use ehrgate_fault::{Classified, Fault};

/// Bounds on OPT input; an OPT beyond them is refused, never half-read.
#[derive(Debug, Clone, Copy)]
pub struct OptLimits {
    /// Maximum document size in bytes (the largest corpus OPT is 1.9 MB).
    pub max_bytes: usize,
    /// Maximum element nesting depth.
    pub max_depth: usize,
    /// Maximum number of XML elements.
    pub max_elements: usize,
}

impl Default for OptLimits {
    fn default() -> Self {
        OptLimits {
            max_bytes: 32 * 1024 * 1024,
            max_depth: 512,
            max_elements: 4_000_000,
        }
    }
}

/// Why an OPT could not be read. Locations only, never content values.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OptError {
    /// The document exceeds [`OptLimits::max_bytes`].
    #[error("template document larger than {0} bytes")]
    TooLarge(usize),
    /// Nesting exceeds [`OptLimits::max_depth`].
    #[error("template nesting deeper than {0} elements")]
    TooDeep(usize),
    /// More than [`OptLimits::max_elements`] elements.
    #[error("template has more than {0} elements")]
    TooManyElements(usize),
    /// Not UTF-8.
    #[error("template is not valid UTF-8 (at byte {0})")]
    Encoding(usize),
    /// Malformed XML.
    #[error("malformed XML at byte {position}: {message}")]
    Xml {
        /// Byte offset.
        position: u64,
        /// Parser message.
        message: String,
    },
    /// The root element is not `template`.
    #[error("root element is <{0}>, expected <template>")]
    NotATemplate(String),
    /// A required element is missing.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A number could not be read.
    #[error("invalid number in <{element}> at {path}")]
    InvalidNumber {
        /// The element that held it.
        element: String,
        /// AQL path of the node being read.
        path: String,
    },
}

impl Classified for OptError {
    fn fault(&self) -> Fault {
        Fault::Client
    }

    fn code(&self) -> &'static str {
        match self {
            OptError::TooLarge(_) | OptError::TooDeep(_) | OptError::TooManyElements(_) => {
                "template.opt-too-large"
            }
            OptError::Encoding(_) => "template.opt-encoding",
            OptError::Xml { .. } => "template.opt-malformed-xml",
            OptError::NotATemplate(_) | OptError::Missing(_) | OptError::InvalidNumber { .. } => {
                "template.opt-invalid"
            }
        }
    }
}

/// Parses an OPT 1.4 document with default limits.
pub fn parse_opt(bytes: &[u8]) -> Result<TemplateMeta, OptError> {
    parse_opt_with(bytes, &OptLimits::default())
}

/// Parses an OPT 1.4 document within `limits`.
pub fn parse_opt_with(bytes: &[u8], limits: &OptLimits) -> Result<TemplateMeta, OptError> {
    let text = decode(bytes, limits)?;
    let root = xml::parse(text, limits)?;
    reader::read_template(&root)
}

/// Checks the size bound, strips a UTF-8 byte-order mark and validates UTF-8.
fn decode<'a>(bytes: &'a [u8], limits: &OptLimits) -> Result<&'a str, OptError> {
    if bytes.len() > limits.max_bytes {
        return Err(OptError::TooLarge(limits.max_bytes));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| OptError::Encoding(e.valid_up_to()))
}
