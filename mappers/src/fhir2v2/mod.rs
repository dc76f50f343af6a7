//! FHIR R4 -> HL7 v2, for legacy receivers: the v2-to-FHIR IG maps read in
//! reverse.
//!
//! One input (a resource or a Bundle) gives one ER7 message. The message
//! type is named by the caller or inferred from the input ([`infer`]);
//! each segment map (one file per segment family) reads the FHIR elements
//! it needs through the context, which marks them used. After the message
//! is built, every element of a resource in the message that no v2 field
//! took, and every resource no segment took, is in
//! [`Translation::unmapped`], with FHIR paths as locations: the same
//! report shape as the v2 -> FHIR direction.
//!
//! The writer escapes every delimiter in data, writes repeating elements
//! as repetitions, applies the chosen version's field lengths (truncate
//! with a warning, or refuse: [`LengthPolicy`]) and data types (CE or
//! CWE), and encodes text in the configured charset, named in MSH-18.
//! MSH comes from [`Config`]; MSH-10 is generated, unique per translator
//! (a random prefix and a counter).
//!
//! # Layout
//! - [`config`] (settings, [`Version`]), [`error`], [`messages`] (types,
//!   inference, segment order).
//! - `input` (resources and references), `ctx` (used elements, report),
//!   `er7` (the writer), `lengths` (field lengths and types per version,
//!   data in `mappers/data/v2-fields`), `codes` (the v2 tables read in
//!   reverse), `dt` (data types), `clock` (MSH-7, MSH-10).
//! - Segments: `msh` (+EVN), `pid` (+PD1), `nk1`, `pv1` (+PV2, PL), `obx`
//!   (+NTE), `results` (OBR, SPM: the ORU groups), `vxu` (ORC, RXA, RXR,
//!   OBX), `clinical` (DG1, PRB, AL1, IAM), `order` (ORC, TQ1, OBR).

mod clinical;
mod clock;
mod codes;
pub mod config;
mod ctx;
mod dt;
mod er7;
pub mod error;
mod input;
pub mod lengths;
pub mod messages;
mod msh;
mod nk1;
mod obx;
mod order;
mod pid;
mod pv1;
mod results;
#[cfg(test)]
mod tests;
mod vxu;

pub use config::{charset_named, Config, Endpoint, LengthPolicy, Version};
pub use error::FhirV2Error;
pub use messages::{infer, MessageType};

use serde_json::Value;

use crate::translation::{Translation, Translator};

use ctx::Ctx;
use input::Resources;

/// What to translate: the FHIR input and, optionally, the message type
/// (inferred from the input when `None`).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// A resource or a Bundle.
    pub fhir: &'a Value,
    /// The message to write.
    pub message: Option<MessageType>,
}

/// The FHIR -> v2 translator.
#[derive(Debug)]
pub struct FhirToV2 {
    cfg: Config,
    ids: clock::ControlIds,
}

// === impl FhirToV2 ===

impl FhirToV2 {
    /// A translator with `cfg` (validated).
    pub fn new(cfg: Config) -> Result<Self, FhirV2Error> {
        cfg.validate()?;
        let ids = clock::ControlIds::new(cfg.control_id_prefix.clone());
        Ok(Self { cfg, ids })
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Translates `req`, appending the ER7 bytes (segments ended by CR) to
    /// `out`; the translation's output is the message type written.
    pub fn translate_into(
        &self,
        req: Request<'_>,
        out: &mut Vec<u8>,
    ) -> Result<Translation<MessageType>, FhirV2Error> {
        let res = Resources::read(req.fhir)?;
        let version = self.cfg.version;
        let mt = match req.message {
            Some(m) => m,
            None => infer(&res, version)?,
        };
        if !mt.exists_in(version) {
            return Err(FhirV2Error::Unsupported(format!(
                "{} in v{version}",
                mt.name()
            )));
        }
        let time = match &self.cfg.fixed_time {
            Some(t) => t.clone(),
            None => clock::now_dtm(),
        };
        let id = self.ids.next();
        let mut ctx = Ctx::new(&res, &self.cfg, mt.name());
        let mut segments = messages::build(&mut ctx, mt, &time, &id)?;
        self.apply_lengths(&mut ctx, &mut segments)?;
        let start = out.len();
        if let Err(e) = er7::write(&segments, self.cfg.charset, out) {
            out.truncate(start);
            return Err(FhirV2Error::Unrepresentable {
                field: e.field,
                charset: self.cfg.charset.hl7_name(),
            });
        }
        ctx.finish();
        Ok(Translation {
            output: mt,
            unmapped: std::mem::take(&mut ctx.unmapped),
            warnings: std::mem::take(&mut ctx.warnings),
        })
    }

    /// Cuts or refuses values over the version's field lengths.
    fn apply_lengths(
        &self,
        ctx: &mut Ctx<'_, '_>,
        segments: &mut [er7::Seg],
    ) -> Result<(), FhirV2Error> {
        let version = self.cfg.version;
        for seg in segments.iter_mut() {
            for d in lengths::conform(version, seg) {
                ctx.not_mapped(d.source.unwrap_or(d.field), d.reason);
            }
            let found = match self.cfg.lengths {
                LengthPolicy::Refuse => lengths::overlong(version, seg),
                LengthPolicy::Truncate => lengths::truncate(version, seg),
            };
            for o in found {
                if self.cfg.lengths == LengthPolicy::Refuse {
                    return Err(FhirV2Error::TooLong {
                        field: o.field,
                        from: o.source,
                        length: o.length,
                        limit: o.limit,
                        version: version.as_str(),
                    });
                }
                let at = o.source.clone().unwrap_or_else(|| o.field.clone());
                ctx.warn(
                    at,
                    format!(
                        "{}: {} characters cut to {} (v{version} field length)",
                        o.field, o.length, o.limit
                    ),
                );
            }
        }
        Ok(())
    }
}

/// The ER7 message as bytes, with the report.
impl Translator for FhirToV2 {
    type Input<'a> = Request<'a>;
    type Output = Vec<u8>;
    type Error = FhirV2Error;

    fn translate(&self, input: Request<'_>) -> Result<Translation<Vec<u8>>, FhirV2Error> {
        let mut out = Vec::with_capacity(2048);
        let t = self.translate_into(input, &mut out)?;
        Ok(t.map(|_| out))
    }
}
