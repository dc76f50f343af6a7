//! The message types the writer makes, which one an input asks for, and
//! the segment order of each (the v2 abstract message syntax of the
//! chosen version).

use std::fmt;
use std::str::FromStr;

use super::clinical;
use super::config::Version;
use super::ctx::Ctx;
use super::er7::Seg;
use super::error::FhirV2Error;
use super::input::Resources;
use super::lengths::segment_exists;
use super::{msh, nk1, obx, order, pid, pv1, results, vxu};

/// A message type the writer makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// Observation results (DiagnosticReport, Observation, Specimen).
    OruR01,
    /// Register a patient (an Encounter planned or arrived).
    AdtA04,
    /// Update patient information.
    AdtA08,
    /// Discharge (an Encounter finished).
    AdtA03,
    /// Update person information (a Patient without a visit).
    AdtA31,
    /// Update adverse reaction information (AllergyIntolerance, v2.4+).
    AdtA60,
    /// Unsolicited vaccination record (Immunization).
    VxuV04,
    /// General order (ServiceRequest, v2.3 to v2.6).
    OrmO01,
    /// Laboratory order (ServiceRequest, v2.4+).
    OmlO21,
    /// Patient problem (Condition on the problem list).
    PprPc1,
}

// === impl MessageType ===

impl MessageType {
    /// Every type.
    pub const ALL: [MessageType; 10] = [
        MessageType::OruR01,
        MessageType::AdtA04,
        MessageType::AdtA08,
        MessageType::AdtA03,
        MessageType::AdtA31,
        MessageType::AdtA60,
        MessageType::VxuV04,
        MessageType::OrmO01,
        MessageType::OmlO21,
        MessageType::PprPc1,
    ];

    /// `ORU^R01`.
    pub fn name(self) -> &'static str {
        match self {
            MessageType::OruR01 => "ORU^R01",
            MessageType::AdtA04 => "ADT^A04",
            MessageType::AdtA08 => "ADT^A08",
            MessageType::AdtA03 => "ADT^A03",
            MessageType::AdtA31 => "ADT^A31",
            MessageType::AdtA60 => "ADT^A60",
            MessageType::VxuV04 => "VXU^V04",
            MessageType::OrmO01 => "ORM^O01",
            MessageType::OmlO21 => "OML^O21",
            MessageType::PprPc1 => "PPR^PC1",
        }
    }

    /// MSH-9-3, the abstract message structure.
    pub fn structure(self) -> &'static str {
        match self {
            MessageType::OruR01 => "ORU_R01",
            MessageType::AdtA04 | MessageType::AdtA08 => "ADT_A01",
            MessageType::AdtA03 => "ADT_A03",
            MessageType::AdtA31 => "ADT_A05",
            MessageType::AdtA60 => "ADT_A60",
            MessageType::VxuV04 => "VXU_V04",
            MessageType::OrmO01 => "ORM_O01",
            MessageType::OmlO21 => "OML_O21",
            MessageType::PprPc1 => "PPR_PC1",
        }
    }

    /// True when `version` defines the message (ORM^O01 was withdrawn in
    /// v2.7; OML^O21 and ADT^A60 came with v2.4).
    pub fn exists_in(self, version: Version) -> bool {
        match self {
            MessageType::OrmO01 => !version.at_least(Version::V27),
            MessageType::OmlO21 | MessageType::AdtA60 => version.at_least(Version::V24),
            _ => true,
        }
    }

    fn is_adt(self) -> bool {
        matches!(
            self,
            MessageType::AdtA04 | MessageType::AdtA08 | MessageType::AdtA03 | MessageType::AdtA31
        )
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for MessageType {
    type Err = FhirV2Error;

    fn from_str(s: &str) -> Result<Self, FhirV2Error> {
        let norm = s.replace('_', "^").to_ascii_uppercase();
        MessageType::ALL
            .into_iter()
            .find(|m| m.name() == norm)
            .ok_or_else(|| FhirV2Error::Unsupported(s.to_owned()))
    }
}

/// The message an input asks for when none is named: results before
/// vaccinations before orders before problems; a Patient with a visit by
/// the visit's state, without one an A31; allergies alone an A60.
pub fn infer(res: &Resources<'_>, version: Version) -> Result<MessageType, FhirV2Error> {
    if res.has("DiagnosticReport") || res.has("Observation") {
        return Ok(MessageType::OruR01);
    }
    if res.has("Immunization") {
        return Ok(MessageType::VxuV04);
    }
    if res.has("ServiceRequest") {
        return Ok(if MessageType::OrmO01.exists_in(version) {
            MessageType::OrmO01
        } else {
            MessageType::OmlO21
        });
    }
    let problems = res.of_kind("Condition").into_iter().any(|c| {
        super::ctx::list(res.list[c].value, "category")
            .iter()
            .any(|cat| super::dt::code_in(cat, None) == Some("problem-list-item"))
    });
    if problems {
        return Ok(MessageType::PprPc1);
    }
    if let Some(&e) = res.of_kind("Encounter").first() {
        let status = res.list[e].value.get("status").and_then(|s| s.as_str());
        return Ok(match status {
            Some("planned" | "arrived" | "triaged") => MessageType::AdtA04,
            Some("finished") => MessageType::AdtA03,
            _ => MessageType::AdtA08,
        });
    }
    if res.has("Condition") {
        // encounter diagnoses: DG1 in an update of the patient's record
        return Ok(MessageType::AdtA08);
    }
    if res.has("AllergyIntolerance") && MessageType::AdtA60.exists_in(version) {
        return Ok(MessageType::AdtA60);
    }
    if res.has("Patient") {
        return Ok(MessageType::AdtA31);
    }
    let kinds: Vec<&str> = res.list.iter().map(|r| r.kind).collect();
    Err(FhirV2Error::NoMessage(if kinds.is_empty() {
        "an empty input".to_owned()
    } else {
        kinds.join(", ")
    }))
}

/// The Patient the message is about: the one the main resources name,
/// else the first in the input.
fn patient(ctx: &Ctx<'_, '_>) -> Option<usize> {
    for (i, r) in ctx.res.list.iter().enumerate() {
        for key in ["subject", "patient"] {
            if let Some(t) = r.value.get(key).and_then(|x| ctx.resolve(i, x)) {
                if ctx.kind(t) == "Patient" {
                    return Some(t);
                }
            }
        }
    }
    ctx.res.of_kind("Patient").first().copied()
}

/// The Encounter: the one the main resources name, else the first.
fn encounter(ctx: &Ctx<'_, '_>) -> Option<usize> {
    for (i, r) in ctx.res.list.iter().enumerate() {
        if let Some(t) = r.value.get("encounter").and_then(|x| ctx.resolve(i, x)) {
            if ctx.kind(t) == "Encounter" {
                return Some(t);
            }
        }
    }
    ctx.res.of_kind("Encounter").first().copied()
}

fn missing(mt: MessageType, resource: &'static str) -> FhirV2Error {
    FhirV2Error::MissingResource {
        message: mt.name().to_owned(),
        resource,
    }
}

fn need<T>(v: Option<T>, mt: MessageType, resource: &'static str) -> Result<T, FhirV2Error> {
    v.ok_or_else(|| missing(mt, resource))
}

/// The segments of message `mt`, MSH first.
pub(crate) fn build(
    ctx: &mut Ctx<'_, '_>,
    mt: MessageType,
    time: &str,
    control_id: &str,
) -> Result<Vec<Seg>, FhirV2Error> {
    let v = ctx.version();
    let (code, trigger) = mt.name().split_once('^').unwrap_or((mt.name(), ""));
    let mut out = vec![msh::msh(
        ctx.cfg,
        code,
        trigger,
        mt.structure(),
        time,
        control_id,
    )];
    let p = patient(ctx);
    let e = encounter(ctx);
    let nk1 = match mt {
        MessageType::OmlO21 => v.at_least(Version::V25),
        MessageType::AdtA03 => v.at_least(Version::V25),
        MessageType::OruR01 | MessageType::OrmO01 | MessageType::PprPc1 | MessageType::AdtA60 => {
            false
        }
        _ => true,
    };
    let pd1 = !matches!(mt, MessageType::PprPc1 | MessageType::AdtA60);
    match mt {
        MessageType::OruR01 => {
            if patient_group(ctx, p, pd1, nk1, &mut out)? {
                visit(ctx, e, false, &mut out);
            }
            results::groups(ctx, &mut out)?;
            if !out.iter().any(|s| s.name == "OBR") {
                return Err(missing(mt, "DiagnosticReport or Observation"));
            }
        }
        MessageType::VxuV04 => {
            if !patient_group(ctx, p, pd1, nk1, &mut out)? {
                return Err(missing(mt, "Patient"));
            }
            visit(ctx, e, false, &mut out);
            let ims = ctx.res.of_kind("Immunization");
            if ims.is_empty() {
                return Err(missing(mt, "Immunization"));
            }
            for im in ims {
                vxu::group(ctx, im, &mut out)?;
            }
        }
        MessageType::OrmO01 | MessageType::OmlO21 => {
            if patient_group(ctx, p, pd1, nk1, &mut out)? {
                visit(ctx, e, false, &mut out);
                allergies_al1(ctx, &mut out)?;
            }
            let srs = ctx.res.of_kind("ServiceRequest");
            if srs.is_empty() {
                return Err(missing(mt, "ServiceRequest"));
            }
            for (n, sr) in srs.into_iter().enumerate() {
                order::group(ctx, sr, n + 1, mt == MessageType::OmlO21, &mut out)?;
            }
        }
        MessageType::PprPc1 => {
            if !patient_group(ctx, p, pd1, nk1, &mut out)? {
                return Err(missing(mt, "Patient"));
            }
            visit(ctx, e, false, &mut out);
            let conds = ctx.res.of_kind("Condition");
            if conds.is_empty() {
                return Err(missing(mt, "Condition"));
            }
            for c in conds {
                out.push(clinical::prb(ctx, c, time)?);
                obx::notes(ctx, c, &mut out);
            }
        }
        MessageType::AdtA60 => {
            out.push(msh::evn(ctx.cfg, trigger, time));
            if !patient_group(ctx, p, pd1, nk1, &mut out)? {
                return Err(missing(mt, "Patient"));
            }
            visit(ctx, e, false, &mut out);
            let allergies = ctx.res.of_kind("AllergyIntolerance");
            if allergies.is_empty() {
                return Err(missing(mt, "AllergyIntolerance"));
            }
            for (n, a) in allergies.into_iter().enumerate() {
                out.push(clinical::iam(ctx, a, n + 1)?);
            }
        }
        _ if mt.is_adt() => {
            if mt == MessageType::AdtA03 {
                need(e, mt, "Encounter")?;
            }
            out.push(msh::evn(ctx.cfg, trigger, time));
            if !patient_group(ctx, p, pd1, nk1, &mut out)? {
                return Err(missing(mt, "Patient"));
            }
            visit(ctx, e, true, &mut out);
            // ADT_A01/A05 carry observations (vital signs) before AL1;
            // ADT_A03 after DG1 (written below)
            if mt != MessageType::AdtA03 {
                loose_observations(ctx, &mut out)?;
            }
            // ADT_A03 has AL1 from v2.5 on (as NK1)
            if mt != MessageType::AdtA03 || v.at_least(Version::V25) {
                allergies_al1(ctx, &mut out)?;
            }
            for (n, c) in (1..).zip(ctx.res.of_kind("Condition")) {
                let diag = e.and_then(|e| clinical::diagnosis_use(ctx, e, c));
                out.push(clinical::dg1(ctx, c, n, diag.as_deref())?);
            }
            if mt == MessageType::AdtA03 {
                loose_observations(ctx, &mut out)?;
            }
        }
        _ => return Err(FhirV2Error::Unsupported(mt.name().to_owned())),
    }
    Ok(out)
}

/// PID (with PD1 and NK1 where the message has them) from the Patient,
/// else from the reference a resource makes to a Patient that is not in
/// the input. False when there is neither.
fn patient_group(
    ctx: &mut Ctx<'_, '_>,
    p: Option<usize>,
    pd1: bool,
    nk1: bool,
    out: &mut Vec<Seg>,
) -> Result<bool, FhirV2Error> {
    if let Some(p) = p {
        out.push(pid::pid(ctx, p)?);
        if pd1 {
            out.extend(pid::pd1(ctx, p));
        }
        if nk1 {
            out.extend(nk1::nk1s(ctx, p));
        }
        return Ok(true);
    }
    for i in 0..ctx.res.list.len() {
        for key in ["subject", "patient"] {
            let Some(r) = ctx.res.list[i].value.get(key) else {
                continue;
            };
            let to_patient = r.get("type").and_then(|t| t.as_str()) == Some("Patient")
                || r.get("reference")
                    .and_then(|x| x.as_str())
                    .is_some_and(|x| x.starts_with("Patient/") || x.contains("/Patient/"));
            if to_patient && ctx.resolve(i, r).is_none() {
                out.push(pid::from_reference(ctx, i, key)?);
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// PV1 (and PV2) from the Encounter; a PV1 `N` where the message
/// requires one and there is no visit.
fn visit(ctx: &mut Ctx<'_, '_>, e: Option<usize>, required: bool, out: &mut Vec<Seg>) {
    match e {
        Some(e) => {
            out.push(pv1::pv1(ctx, e));
            out.extend(pv1::pv2(ctx, e));
        }
        None if required => out.push(pv1::none()),
        None => {}
    }
}

/// OBX rows for the Observations no other segment took (ADT vital signs).
fn loose_observations(ctx: &mut Ctx<'_, '_>, out: &mut Vec<Seg>) -> Result<(), FhirV2Error> {
    let mut n = 1;
    for o in ctx.res.of_kind("Observation") {
        if !ctx.is_included(o) {
            obx::obx(ctx, o, &mut n, out)?;
        }
    }
    Ok(())
}

fn allergies_al1(ctx: &mut Ctx<'_, '_>, out: &mut Vec<Seg>) -> Result<(), FhirV2Error> {
    if !segment_exists(ctx.version(), "AL1") {
        return Ok(());
    }
    for (n, a) in ctx
        .res
        .of_kind("AllergyIntolerance")
        .into_iter()
        .enumerate()
    {
        out.push(clinical::al1(ctx, a, n + 1)?);
    }
    Ok(())
}
