//! openEHR operational templates for ehrgate.
//!
//! # Layout
//! - [`fault`]: a re-export of the `ehrgate-fault` crate, kept while callers
//!   move to `ehrgate_fault` directly.
//! - [`id`]: [`TemplateId`], kept exactly as declared.
//! - [`meta`]: [`TemplateMeta`], the parsed template (node tree, AQL paths,
//!   occurrences, `DV_*` constraints, term definitions).
//! - [`opt`]: OPT 1.4 XML -> [`TemplateMeta`].
//! - [`store`]: [`TemplateStore`] sources (directory; the gateway adds
//!   openEHR REST over its client) and the
//!   moka cache in front of them.
//! - [`bundled`]: the OPTs ehrgate ships, compiled in.
//! - [`webtemplate`]: web templates (tree ids, FLAT paths, JSON).
//!
//! # Decisions on corpus edge cases
//! - **Ids are kept exactly** as declared (no trimming, case folding or
//!   Unicode normalisation; NFC is not applied): `IDCR  - Laboratory
//!   Order.v0` (double space), `Körpergröße`, UUID ids (`Generic Laboratory
//!   Test Report.v0.opt`) all round-trip byte for byte. See [`id`].
//! - **File names are not ids**: a directory is indexed by each file's
//!   declared `template_id` (`IDCR - Adverse Reaction List.v1.opt` serves
//!   `Adverse Reaction List.v1`, and the file name is `NotFound`).
//! - **One id, two contents** (`cache.opt` / `cache_updated.opt`, the two
//!   `GECCO_Diagnose` files, `single_event.opt` / `Koerpergroesse.opt`): the
//!   directory source refuses to open and names both files
//!   ([`store::DuplicatePolicy::Reject`], the default), or keeps the newest
//!   with a warning ([`store::DuplicatePolicy::NewestWins`]); byte-identical
//!   copies are one template. In the cache, ids that may change get a short
//!   TTL and can be invalidated; released ids can be pinned.
//! - **Encoding**: UTF-8 with or without BOM, with or without XML
//!   declaration (`corona_anamnese.opt`); anything else is an error.
//! - **AQL paths** carry a template-given node name as EHRbase writes it
//!   (`[openEHR-EHR-EVALUATION.problem_diagnosis.v1,'Vorliegende Diagnose']`).

#![forbid(unsafe_code)]

pub mod bundled;
/// Re-export of [`ehrgate_fault`]: the module lived here before it got its
/// own crate; new code names `ehrgate_fault`.
pub use ehrgate_fault as fault;
pub mod id;
pub mod meta;
pub mod opt;
pub mod store;
pub mod webtemplate;

pub use id::TemplateId;
pub use meta::TemplateMeta;
pub use opt::{parse_opt, parse_opt_with, read_template_id, OptError, OptLimits};
pub use store::{TemplateError, TemplateStore};
