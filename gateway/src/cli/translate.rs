//! `ehrgate translate --from F --to T [FILE|DIR|-]`: offline translation.
//!
//! A dispatch on `(from, to)`: each direction lives in its own file under
//! `translate/` (`hl7v2_fhir.rs`, `fhir_hl7v2.rs`); a new direction is one
//! more file and one more match arm in [`TranslateArgs::run`].
//!
//! Exit codes: 0 everything translated, 1 any message failed (each failure
//! on stderr with message index, segment, field and reason), 2 usage error.

mod fhir_hl7v2;
mod hl7v2_fhir;
mod input;
mod openehr;

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::exit;

/// Representations `translate` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// HL7 v2 ER7 messages (single, several MSH, batch envelope).
    Hl7v2,
    /// FHIR R4 JSON.
    Fhir,
    /// openEHR compositions.
    Openehr,
}

/// FHIR Bundle types `translate` can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BundleTypeArg {
    /// Ready to POST: conditional updates, replay-safe.
    Transaction,
    /// MessageHeader first, no requests.
    Message,
    /// No requests.
    Collection,
}

/// openEHR serialisations `translate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OpenEhrFormatArg {
    /// Canonical JSON.
    Canonical,
    /// FLAT (simSDT) JSON.
    Flat,
}

/// Arguments of `ehrgate translate`.
#[derive(Debug, Args)]
pub struct TranslateArgs {
    /// Input representation.
    #[arg(long, value_enum)]
    pub from: Format,
    /// Output representation.
    #[arg(long, value_enum)]
    pub to: Format,
    /// A file, a directory (every file in it, sorted by name) or `-` for stdin.
    #[arg(default_value = "-")]
    pub input: String,
    /// Write what was not mapped (and warnings) as JSON to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// FHIR Bundle type.
    #[arg(long, value_enum, default_value = "transaction")]
    pub bundle_type: BundleTypeArg,
    /// Z-segment mapping file (JSON), applied at run time.
    #[arg(long)]
    pub zmap: Option<PathBuf>,
    /// openEHR template id (FHIR <-> openEHR; optional for openEHR -> FHIR
    /// when the composition names it).
    #[arg(long)]
    pub template: Option<String>,
    /// openEHR -> FHIR: the patient the resources are about, a FHIR
    /// reference (`Patient/123`); a composition does not carry it (its EHR
    /// does). A malformed reference exits 2.
    #[arg(long)]
    pub subject: Option<String>,
    /// openEHR output format.
    #[arg(long, value_enum, default_value = "canonical")]
    pub format: OpenEhrFormatArg,
    /// Zone for v2 times without one (`Z`, `+01:00`); without it such
    /// times keep only their date, with a warning.
    #[arg(long)]
    pub timezone: Option<String>,
    /// FHIR -> HL7 v2: the message to write (`ORU^R01`, `ADT^A08`,
    /// `VXU^V04`, `ORM^O01`, `OML^O21`, `PPR^PC1`...); inferred from the
    /// input when absent.
    #[arg(long)]
    pub message: Option<String>,
    /// FHIR -> HL7 v2: the version to write (2.3 to 2.8; 2.5.1 by default).
    #[arg(long = "version", id = "hl7_version", value_name = "VERSION")]
    pub hl7_version: Option<String>,
    /// FHIR -> HL7 v2: the charset (MSH-18 name: `UNICODE UTF-8`, the
    /// default, `8859/1`, `ASCII`...).
    #[arg(long)]
    pub charset: Option<String>,
    /// FHIR -> HL7 v2: refuse a value longer than the version's field
    /// length instead of cutting it with a warning.
    #[arg(long)]
    pub refuse_overlong: bool,
    /// FHIR -> HL7 v2: MSH-3 (default `EHRGATE`).
    #[arg(long)]
    pub sending_application: Option<String>,
    /// FHIR -> HL7 v2: MSH-4.
    #[arg(long)]
    pub sending_facility: Option<String>,
    /// FHIR -> HL7 v2: MSH-5.
    #[arg(long)]
    pub receiving_application: Option<String>,
    /// FHIR -> HL7 v2: MSH-6.
    #[arg(long)]
    pub receiving_facility: Option<String>,
}

impl TranslateArgs {
    /// Runs the translation and returns the exit code.
    pub fn run(self) -> anyhow::Result<u8> {
        match (self.from, self.to) {
            (Format::Hl7v2, Format::Fhir) => hl7v2_fhir::run(&self),
            (Format::Fhir, Format::Hl7v2) => fhir_hl7v2::run(&self),
            (Format::Fhir, Format::Openehr) => openehr::run(&self, openehr::Direction::ToOpenEhr),
            (Format::Openehr, Format::Fhir) => openehr::run(&self, openehr::Direction::ToFhir),
            (from, to) => {
                eprintln!(
                    "ehrgate translate: translation from {from:?} to {to:?} is not available"
                );
                Ok(exit::USAGE)
            }
        }
    }
}

/// Writes one output value followed by a newline: compact for NDJSON (several
/// inputs, one value per line), pretty for a single input read by a person.
fn write_json(
    out: &mut impl std::io::Write,
    value: &impl serde::Serialize,
    ndjson: bool,
) -> std::io::Result<()> {
    if ndjson {
        serde_json::to_writer(&mut *out, value)?;
    } else {
        serde_json::to_writer_pretty(&mut *out, value)?;
    }
    out.write_all(b"\n")
}
