//! Settings of the FHIR -> v2 translator: who sends to whom (MSH), which
//! version, charset and length rule. Loaded before the call; the
//! translator does no I/O.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::hl7v2::Charset;

use super::error::FhirV2Error;

/// The HL7 v2 versions the writer produces (MSH-12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Version {
    /// 2.3
    V23,
    /// 2.3.1
    V231,
    /// 2.4
    V24,
    /// 2.5
    V25,
    /// 2.5.1, the default: what most receivers in the field speak.
    #[default]
    V251,
    /// 2.6
    V26,
    /// 2.7
    V27,
    /// 2.7.1
    V271,
    /// 2.8
    V28,
}

// === impl Version ===

impl Version {
    /// Every version, oldest first.
    pub const ALL: [Version; 9] = [
        Version::V23,
        Version::V231,
        Version::V24,
        Version::V25,
        Version::V251,
        Version::V26,
        Version::V27,
        Version::V271,
        Version::V28,
    ];

    /// The MSH-12 text.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V23 => "2.3",
            Version::V231 => "2.3.1",
            Version::V24 => "2.4",
            Version::V25 => "2.5",
            Version::V251 => "2.5.1",
            Version::V26 => "2.6",
            Version::V27 => "2.7",
            Version::V271 => "2.7.1",
            Version::V28 => "2.8",
        }
    }

    /// True from `other` on.
    pub fn at_least(self, other: Version) -> bool {
        self >= other
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Version {
    type Err = FhirV2Error;

    fn from_str(s: &str) -> Result<Self, FhirV2Error> {
        Version::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                FhirV2Error::Config(format!(
                    "version {s:?} is not one of 2.3, 2.3.1, 2.4, 2.5, 2.5.1, 2.6, 2.7, 2.7.1, 2.8"
                ))
            })
    }
}

/// What to do with a value longer than the version's field length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LengthPolicy {
    /// Cut it to the length and say so in the warnings (the receiver gets
    /// a message it accepts, the report says what it lost).
    #[default]
    Truncate,
    /// Refuse the translation, naming the field and the FHIR element.
    Refuse,
}

/// An application or facility (HD): namespace, and optionally a universal
/// id and its type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoint {
    /// HD-1.
    pub namespace: String,
    /// HD-2.
    pub universal_id: Option<String>,
    /// HD-3 (`ISO`, `DNS`, `URI`...).
    pub universal_id_type: Option<String>,
}

impl Endpoint {
    /// An endpoint known by a namespace only.
    pub fn named(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            ..Self::default()
        }
    }
}

/// Settings of the FHIR -> v2 translator.
#[derive(Debug, Clone)]
pub struct Config {
    /// MSH-3.
    pub sending_application: Endpoint,
    /// MSH-4.
    pub sending_facility: Endpoint,
    /// MSH-5.
    pub receiving_application: Endpoint,
    /// MSH-6.
    pub receiving_facility: Endpoint,
    /// MSH-12.
    pub version: Version,
    /// MSH-11 (`P` production, `T` training, `D` debugging).
    pub processing_id: String,
    /// How text is encoded; MSH-18 names it (left empty for ASCII, the v2
    /// default).
    pub charset: Charset,
    /// Values over the version's field lengths.
    pub lengths: LengthPolicy,
    /// The prefix the v2 -> FHIR direction gives local identifier and
    /// code systems (`urn:ehrgate:v2:local:`): a system under it goes back
    /// to its namespace (HD-1, CWE-3).
    pub local_system_base: String,
    /// Local v2 names for FHIR system URIs (`"MRN": "http://hospital/mrn"`),
    /// the same table the v2 -> FHIR direction reads, looked up in reverse.
    pub systems: HashMap<String, String>,
    /// MSH-7 and EVN-2 as written, for reproducible output (tests, golden
    /// files); `None` takes the clock at each call.
    pub fixed_time: Option<String>,
    /// Prefix of generated MSH-10 ids; `None` derives one per translator
    /// from the clock and a random seed.
    pub control_id_prefix: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            sending_application: Endpoint::named("EHRGATE"),
            sending_facility: Endpoint::default(),
            receiving_application: Endpoint::default(),
            receiving_facility: Endpoint::default(),
            version: Version::default(),
            processing_id: "P".to_owned(),
            charset: Charset::Utf8,
            lengths: LengthPolicy::default(),
            local_system_base: crate::v2fhir::Config::default().local_system_base,
            systems: HashMap::new(),
            fixed_time: None,
            control_id_prefix: None,
        }
    }
}

impl Config {
    /// Checks the settings that would otherwise give a broken MSH.
    pub fn validate(&self) -> Result<(), FhirV2Error> {
        if !matches!(self.processing_id.as_str(), "P" | "T" | "D") {
            return Err(FhirV2Error::Config(format!(
                "processing id must be P, T or D, got {:?}",
                self.processing_id
            )));
        }
        if let Some(p) = &self.control_id_prefix {
            if p.len() > 8 || !p.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(FhirV2Error::Config(
                    "control id prefix must be 1 to 8 letters or digits (MSH-10 is 20 long)".into(),
                ));
            }
        }
        Ok(())
    }
}

/// The charset an MSH-18 name (HL7 table 0211: `UNICODE UTF-8`, `8859/1`,
/// `ASCII`...) stands for; `ASCII` also for an empty name.
pub fn charset_named(name: &str) -> Result<Charset, FhirV2Error> {
    if name.is_empty() || name.eq_ignore_ascii_case("ASCII") {
        return Ok(Charset::Ascii);
    }
    match Charset::from_msh18(name.as_bytes()) {
        crate::hl7v2::charset::Declared::Known(c) => Ok(c),
        _ => Err(FhirV2Error::Config(format!(
            "charset {name:?} is not an HL7 table 0211 name"
        ))),
    }
}
