//! Pure, synchronous translation for ehrgate.
//!
//! Nothing in this crate performs I/O: every function takes bytes or values
//! and returns values, so the gateway can call it on any thread and the
//! conformance suite can drive it with files.
//!
//! # Layout
//! - [`hl7v2`]: the HL7 v2 engine: ER7 parsing (zero-copy), escapes,
//!   character sets, terser paths, batches, writing, ACK/NACK, MLLP framing.
//! - [`fhir_validate`]: R4 input validation (types, cardinalities, required
//!   elements and bindings, unknown elements), problems by FHIR path.
//! - [`fhirconnect`]: FHIR R4 <-> openEHR, driven by FHIRconnect mapping
//!   files.
//! - [`error`]: the fault classification shared by every error of the crate.
//! - [`translation`]: the `Translator` seam and its `Translation` report.
//! - [`v2fhir`]: HL7 v2 -> FHIR R4 (v2-to-FHIR IG maps), one Bundle per message.
//! - [`fhir2v2`]: FHIR R4 -> HL7 v2 (the same maps in reverse), one message per input.

#![forbid(unsafe_code)]

pub mod error;
pub mod fhir2v2;
pub mod fhir_validate;
pub mod fhirconnect;
pub mod hl7v2;
pub mod translation;
pub mod v2fhir;
