//! HL7 v2 -> FHIR R4, following the HL7 v2-to-FHIR Implementation Guide 1.0
//! segment, data type and vocabulary maps.
//!
//! One message gives one Bundle (`transaction` by default). The message is
//! walked segment by segment; each segment map (one file per segment or
//! segment family) builds or enriches resources and marks the fields it
//! used. Roles (the Patient, the Encounter, the current order, report or
//! immunization) connect the resources, as the IG message maps do. After
//! the walk, every field or component that carried a value and was not
//! used, and every segment without a map, is in `Translation::unmapped`.
//!
//! # Layout
//! - [`config`]: settings, bundle type, Z-segment map; [`error`].
//! - `ctx`: translation state and used-field bookkeeping; `bundle`: assembly;
//!   `ids`: deterministic ids; `json`: the JSON tree and its writer;
//!   `report`: the unmapped items, formatted only on request;
//!   `fxhash`: the code-table hasher.
//! - Data types: `cwe`, `cx`, `xpn`, `xad`, `xtn`, `xcn`, `xon`, `hd`, `pl`,
//!   `dtm`/`dates`; code tables: [`tables`] (data in `mappers/data/v2-tables`).
//! - Segments: `msh`, `sft`, `evn`, `pid`, `pd1`, `nk1`, `mrg`, `pv1` (+PV2),
//!   `rol` (+PRT in `prt`), `clinical` (AL1, DG1, PR1), `in1`, `orc`, `obr`, `obx`, `nte`, `spm`,
//!   `rxa` (+RXR), `sch` (+RGS/AIL/AIP/AIG/AIS/TQ1), `txa`, `zseg`;
//!   `msa`, `ft1` (ChargeItem), `gt1` (guarantor), `rx` (RXO/RXE/RXG/RXD/RXR
//!   pharmacy), `rxc` (compound ingredients), `medadmin` (RXA outside VXU),
//!   `tq1` (order timing), `problem` (PRB/GOL/PTH), `iam`, `in2`, `pv2`,
//!   `arv` (access restrictions); `nohome` names the segments FHIR R4 has
//!   no element for (ACC, UB1, UB2, DRG, IN3, UAC).
//! - Events: `events` says what a trigger event sets, reverts, links or
//!   merges; `README.md` beside this file has the table per message type.

mod arv;
mod bundle;
mod clinical;
pub mod config;
mod csv;
mod ctx;
mod cwe;
mod cx;
mod dates;
pub mod dtm;
pub mod error;
mod events;
mod evn;
mod ft1;
mod fxhash;
mod gt1;
mod hd;
mod iam;
pub mod ids;
mod in1;
mod in2;
mod json;
mod medadmin;
mod mrg;
mod msa;
mod msh;
mod nk1;
mod nohome;
mod nte;
mod obr;
mod obrspm;
mod obx;
mod orc;
mod pd1;
mod pid;
mod pl;
mod problem;
mod provenance;
mod prt;
mod pv1;
mod pv2;
mod report;
mod rol;
mod rx;
mod rxa;
mod rxc;
mod sch;
mod sft;
mod spm;
mod spm_groups;
pub mod tables;
mod tq1;
mod txa;
mod xad;
mod xcn;
mod xon;
mod xpn;
mod xtn;
mod zseg;

pub use config::{BundleType, Config, ZMap};
pub use error::V2FhirError;
pub use report::Report;

use json::Json;

use crate::hl7v2::Message;
use crate::translation::{Translation, Translator};

use ctx::{Ctx, Seg};

/// The message types (MSH-9-1^MSH-9-2) in scope, from the issue and the IG
/// message maps; `ACK` is in scope with any trigger (v2.1 to 2.3 send
/// `ACK` alone). What each event does is in `README.md` beside this file.
pub const SUPPORTED: &[&str] = &[
    "ADT^A01", "ADT^A02", "ADT^A03", "ADT^A04", "ADT^A05", "ADT^A06", "ADT^A07", "ADT^A08",
    "ADT^A09", "ADT^A10", "ADT^A11", "ADT^A12", "ADT^A13", "ADT^A14", "ADT^A15", "ADT^A16",
    "ADT^A17", "ADT^A18", "ADT^A21", "ADT^A22", "ADT^A23", "ADT^A24", "ADT^A25", "ADT^A26",
    "ADT^A27", "ADT^A28", "ADT^A29", "ADT^A31", "ADT^A32", "ADT^A33", "ADT^A34", "ADT^A35",
    "ADT^A36", "ADT^A37", "ADT^A38", "ADT^A39", "ADT^A40", "ADT^A41", "ADT^A42", "ADT^A44",
    "ADT^A45", "ADT^A46", "ADT^A47", "ADT^A52", "ADT^A53", "ADT^A54", "ADT^A55", "ADT^A60",
    "BAR^P01", "BAR^P02", "BAR^P05", "BAR^P06", "BAR^P10", "BAR^P12", "DFT^P03", "DFT^P11",
    "MDM^T01", "MDM^T02", "MDM^T03", "MDM^T04", "MDM^T05", "MDM^T06", "MDM^T07", "MDM^T08",
    "MDM^T09", "MDM^T10", "MDM^T11", "RAS^O17", "RGV^O15", "ORU^R01", "ORU^R30", "ORU^R31",
    "ORU^R32", "OUL^R22", "OUL^R23", "OUL^R24", "ORM^O01", "ORR^O02", "OML^O21", "OMG^O19",
    "OMD^O03", "ORL^O22", "ORL^O34", "RDE^O11", "RDE^O25", "RDS^O13", "REF^I12", "REF^I13",
    "REF^I14", "VXU^V04", "SIU^S12", "SIU^S13", "SIU^S14", "SIU^S15", "SIU^S16", "SIU^S17",
    "SIU^S18", "SIU^S19", "SIU^S20", "SIU^S21", "SIU^S22", "SIU^S23", "SIU^S24", "SIU^S26",
    "PPR^PC1", "PPR^PC2", "PPR^PC3",
];

/// True when `code^trigger` is in [`SUPPORTED`] (or `code` is `ACK`).
pub fn is_supported(code: &str, trigger: &str) -> bool {
    code == "ACK"
        || SUPPORTED
            .iter()
            .any(|s| s.split_once('^') == Some((code, trigger)))
}

/// True for message types whose structure has no required PID: scheduling
/// (SIU), acknowledgments and order responses (ACK, ORR, ORL) and
/// specimen-oriented lab results (OUL), where the patient group is
/// optional.
fn patient_optional(code: &str) -> bool {
    matches!(code, "SIU" | "ACK" | "ORR" | "ORL" | "OUL")
}

/// The v2 -> FHIR translator.
#[derive(Debug, Clone, Default)]
pub struct V2ToFhir {
    cfg: Config,
    lenient: bool,
}

impl V2ToFhir {
    /// A translator with `cfg` (validated).
    pub fn new(cfg: Config) -> Result<Self, V2FhirError> {
        cfg.validate()?;
        Ok(Self {
            cfg,
            lenient: false,
        })
    }

    /// Also translates message types outside [`SUPPORTED`], with a warning,
    /// using the same segment maps (for exploring feeds; off by default).
    pub fn lenient(mut self, lenient: bool) -> Self {
        self.lenient = lenient;
        self
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Maps `msg` and builds the Bundle tree (the `Value` and floor paths).
    fn run<'a>(&self, msg: &Message<'a>) -> Result<(Json<'a>, Report<'a>), V2FhirError> {
        let mut ctx = self.map(msg)?;
        let bundle = bundle::assemble(&mut ctx);
        Ok((bundle, report_of(&mut ctx)))
    }

    /// Walks `msg` through the segment maps: the resources, roles and
    /// report, before any Bundle is assembled or written.
    fn map<'m, 'a>(&'m self, msg: &'m Message<'a>) -> Result<Ctx<'m, 'a>, V2FhirError> {
        let code = msg.message_code().unwrap_or_default();
        let trigger = msg.trigger_event().unwrap_or_default();
        if code.is_empty() {
            return Err(V2FhirError::MissingField {
                location: "MSH-9".into(),
                reason: "message type",
            });
        }
        let name = format!("{code}^{trigger}");
        let supported = is_supported(&code, &trigger);
        if !supported && !self.lenient {
            return Err(V2FhirError::Unsupported(name));
        }
        if !patient_optional(&code) && msg.segment("PID").is_none() {
            return Err(V2FhirError::MissingSegment {
                message: name,
                segment: "PID",
            });
        }
        let mut ctx = Ctx::new(msg, &self.cfg, code.clone(), trigger);
        if !supported {
            ctx.warn(
                "MSH-9",
                "message type outside the supported list: translated with the generic segment maps",
            );
        }
        if events::is_delete(&code, &ctx.trigger) {
            ctx.warn(
                "MSH-9",
                "the event asks the receiver to delete the records it names; the IG maps no \
                 delete, so they are sent as named and the delete is left to the receiver",
            );
        }
        let patient_event = events::patient_event(&code, &ctx.trigger);
        let results = matches!(code.as_str(), "ORU" | "OUL");
        let mut seen: Vec<(&str, usize)> = Vec::with_capacity(16);
        let mut buffers = (Vec::with_capacity(64), Vec::with_capacity(32));
        // the last segment that is not a ROL or PRT (nor an ARV access
        // restriction, which v2.8+ puts between a segment and its roles):
        // where a ROL or PRT stands
        let mut before_role = "";
        let spm_groups = spm_groups::obrs_with_spm(msg, code == "OUL");
        for (at, segment) in msg.segments().enumerate() {
            let name = segment.name();
            let prev = before_role;
            let role_scope = rol::Scope::after(before_role);
            if !matches!(name, "ROL" | "PRT" | "ARV") {
                before_role = name;
            }
            let occ = match seen.iter_mut().find(|(n, _)| *n == name) {
                Some((_, c)) => {
                    *c += 1;
                    *c
                }
                None => {
                    seen.push((name, 1));
                    1
                }
            };
            let mut seg = Seg::reusing(segment, occ, buffers.0, buffers.1);
            if name != "NTE" {
                ctx.note_target = None;
            }
            let mapped = match name {
                "MSH" => {
                    msh::map(&mut ctx, &mut seg);
                    true
                }
                "SFT" => sft::map(&mut ctx, &mut seg),
                "ROL" => rol::map(&mut ctx, &mut seg, role_scope),
                "PRT" => prt::map(&mut ctx, &mut seg, role_scope),
                "ARV" => arv::map(&mut ctx, &mut seg, prev),
                "EVN" => {
                    evn::map(&mut ctx, &mut seg);
                    true
                }
                "PID" => {
                    let before = ctx.patient;
                    pid::map(&mut ctx, &mut seg);
                    if patient_event == events::PatientEvent::Link {
                        mrg::link_pair(&mut ctx, before);
                    }
                    if let (Some(a), Some(p)) = (ctx.appointment, ctx.patient) {
                        let part = sch::participant(ctx.reference(p), None);
                        json::push(ctx.res(a), "participant", part);
                    }
                    true
                }
                "PD1" => {
                    pd1::map(&mut ctx, &mut seg);
                    true
                }
                "NK1" => {
                    nk1::map(&mut ctx, &mut seg);
                    true
                }
                "MRG" => {
                    mrg::map(&mut ctx, &mut seg, patient_event);
                    true
                }
                "PV1" => {
                    pv1::map(&mut ctx, &mut seg);
                    true
                }
                "PV2" => {
                    pv2::map(&mut ctx, &mut seg);
                    true
                }
                "AL1" => {
                    clinical::map_al1(&mut ctx, &mut seg);
                    true
                }
                "DG1" => {
                    clinical::map_dg1(&mut ctx, &mut seg);
                    true
                }
                "PR1" => {
                    clinical::map_pr1(&mut ctx, &mut seg);
                    true
                }
                "IN1" => {
                    in1::map(&mut ctx, &mut seg);
                    true
                }
                "IN2" => in2::map(&mut ctx, &mut seg),
                "ORC" => {
                    orc::map(&mut ctx, &mut seg);
                    true
                }
                "OBR" => {
                    let spm_in_group = spm_groups.get(at).copied().unwrap_or(false);
                    obr::map(&mut ctx, &mut seg, results, spm_in_group);
                    true
                }
                "OBX" => {
                    obx::map(&mut ctx, &mut seg);
                    true
                }
                "NTE" => {
                    nte::map(&mut ctx, &mut seg);
                    true
                }
                "SPM" => {
                    spm::map(&mut ctx, &mut seg);
                    true
                }
                // VXU reports immunizations (IG RXA[Immunization]); an
                // RXA anywhere else is a medication administration
                "RXA" if code == "VXU" => {
                    rxa::map(&mut ctx, &mut seg);
                    true
                }
                "RXA" => {
                    medadmin::map(&mut ctx, &mut seg);
                    true
                }
                "RXR" => {
                    if ctx.administration.is_some() {
                        medadmin::map_rxr(&mut ctx, &mut seg);
                    } else if ctx.medication.is_some() {
                        rx::map_rxr(&mut ctx, &mut seg);
                    } else {
                        rxa::map_rxr(&mut ctx, &mut seg);
                    }
                    true
                }
                "RXO" => {
                    rx::map_rxo(&mut ctx, &mut seg);
                    true
                }
                "RXE" => {
                    rx::map_rxe(&mut ctx, &mut seg);
                    true
                }
                "RXD" => {
                    rx::map_rxd(&mut ctx, &mut seg);
                    true
                }
                "RXG" => {
                    rx::map_rxg(&mut ctx, &mut seg);
                    true
                }
                "RXC" => rxc::map(&mut ctx, &mut seg),
                "MSA" => {
                    msa::map(&mut ctx, &mut seg);
                    true
                }
                "FT1" => {
                    ft1::map(&mut ctx, &mut seg);
                    true
                }
                "GT1" => {
                    gt1::map(&mut ctx, &mut seg);
                    true
                }
                "PRB" => {
                    problem::map_prb(&mut ctx, &mut seg);
                    true
                }
                "GOL" => {
                    problem::map_gol(&mut ctx, &mut seg);
                    true
                }
                "PTH" => {
                    problem::map_pth(&mut ctx, &mut seg);
                    true
                }
                "IAM" => {
                    iam::map(&mut ctx, &mut seg);
                    true
                }
                "SCH" => {
                    sch::map(&mut ctx, &mut seg);
                    true
                }
                "TQ1" if ctx.appointment.is_some() => {
                    sch::map_tq1(&mut ctx, &mut seg);
                    true
                }
                "TQ1" => tq1::map(&mut ctx, &mut seg),
                "RGS" => sch::map_rgs(&mut ctx, &mut seg),
                "AIL" | "AIP" | "AIS" | "AIG" => {
                    sch::map_resource(&mut ctx, &mut seg);
                    true
                }
                "TXA" => {
                    txa::map(&mut ctx, &mut seg);
                    true
                }
                z if z.starts_with('Z') => {
                    if !zseg::map(&mut ctx, &mut seg) {
                        ctx.not_mapped(seg.at(0), "z-segment");
                        buffers = seg.into_buffers();
                        continue;
                    }
                    true
                }
                _ => false,
            };
            if mapped {
                ctx.done(&seg);
            } else if let Some(reason) = nohome::reason(name) {
                ctx.not_mapped(seg.at(0), reason);
            } else if segment_has_value(&seg) {
                ctx.not_mapped(seg.at(0), "no mapping for segment");
            }
            buffers = seg.into_buffers();
        }
        orc::flush(&mut ctx);
        sch::flush(&mut ctx);
        provenance::build(&mut ctx);
        if let Some(h) = ctx.header {
            let focus: Vec<Json<'_>> = ctx.focus.iter().map(|&i| ctx.reference(i)).collect();
            if !focus.is_empty() {
                json::set(ctx.res(h), "focus", Json::Array(focus));
            }
        }
        Ok(ctx)
    }
}

/// The report `ctx` collected.
fn report_of<'a>(ctx: &mut Ctx<'_, 'a>) -> Report<'a> {
    Report::new(
        std::mem::take(&mut ctx.unmapped),
        std::mem::take(&mut ctx.warnings),
    )
}

fn segment_has_value(seg: &Seg<'_>) -> bool {
    (1..=seg_field_count(seg)).any(|i| seg.peek(i).has_value())
}

fn seg_field_count(seg: &Seg<'_>) -> usize {
    seg.field_count()
}

// === impl V2ToFhir (outputs) ===

impl V2ToFhir {
    /// Translates `msg` and appends the Bundle as compact JSON to `out`;
    /// the returned translation carries the report (its output is the
    /// number of bytes written). The fast path: no `serde_json::Value` is
    /// built, and the bytes are those `serde_json::to_writer` writes for
    /// [`Translator::translate`]'s output.
    pub fn translate_into(
        &self,
        msg: &Message<'_>,
        out: &mut Vec<u8>,
    ) -> Result<Translation<usize>, V2FhirError> {
        let start = out.len();
        let report = self.write_bundle(msg, out)?;
        Ok(report.into_translation(out.len() - start))
    }

    /// Like [`V2ToFhir::translate_into`], with the report left unformatted:
    /// for callers that forward the Bundle and look at the report only
    /// sometimes (or only count it). [`Report::unmapped`] gives the same
    /// items `translate_into` returns.
    pub fn write_bundle<'a>(
        &self,
        msg: &Message<'a>,
        out: &mut Vec<u8>,
    ) -> Result<Report<'a>, V2FhirError> {
        let mut ctx = self.map(msg)?;
        out.reserve(output_estimate(msg));
        bundle::write(&mut ctx, out);
        Ok(report_of(&mut ctx))
    }

    /// Translates `msg` to the Bundle's compact JSON bytes.
    pub fn translate_to_vec(&self, msg: &Message<'_>) -> Result<Translation<Vec<u8>>, V2FhirError> {
        let mut out = Vec::with_capacity(output_estimate(msg));
        let t = self.translate_into(msg, &mut out)?;
        Ok(t.map(|_| out))
    }
}

/// A translated Bundle kept as the internal tree, not yet written: only
/// for the benchmarks' floor rows (what writing the JSON costs alone,
/// against the whole translation). Not part of the supported API.
#[doc(hidden)]
#[derive(Debug)]
pub struct BuiltBundle<'a>(Json<'a>);

impl BuiltBundle<'_> {
    /// Appends the Bundle's compact JSON to `out` (the same bytes as
    /// [`V2ToFhir::write_bundle`]).
    pub fn write(&self, out: &mut Vec<u8>) {
        self.0.write(out);
    }
}

impl V2ToFhir {
    /// Maps `msg` without writing it (see [`BuiltBundle`]).
    #[doc(hidden)]
    pub fn build_bundle<'a>(&self, msg: &Message<'a>) -> Result<BuiltBundle<'a>, V2FhirError> {
        self.run(msg).map(|(bundle, _)| BuiltBundle(bundle))
    }
}

/// Room for the Bundle of `msg`, so the writer does not regrow the buffer:
/// corpus Bundles are 4 to 4.5 times their input, plus a fixed part
/// (header, ids, requests) that dominates small messages.
fn output_estimate(msg: &Message<'_>) -> usize {
    msg.input().len().saturating_mul(9) / 2 + 8192
}

/// The original shape: the Bundle as a `serde_json::Value` (built from the
/// internal tree; [`V2ToFhir::translate_into`] skips that step).
impl Translator for V2ToFhir {
    type Input<'a> = &'a Message<'a>;
    type Output = serde_json::Value;
    type Error = V2FhirError;

    fn translate(
        &self,
        input: Self::Input<'_>,
    ) -> Result<Translation<serde_json::Value>, V2FhirError> {
        let (bundle, report) = self.run(input)?;
        Ok(report.into_translation(bundle.to_value()))
    }
}
