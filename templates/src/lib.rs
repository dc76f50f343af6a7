//! openEHR operational templates for ehrgate.
//!
//! # Layout
//! - [`fault`]: who is at fault for an error; shared by the whole workspace.
//! - [`id`]: [`TemplateId`], kept exactly as declared.
//! - [`meta`]: [`TemplateMeta`], the parsed template (node tree, AQL paths,
//!   occurrences, `DV_*` constraints, term definitions).
//! - [`opt`]: OPT 1.4 XML -> [`TemplateMeta`].

#![forbid(unsafe_code)]

pub mod fault;
pub mod id;
pub mod meta;
pub mod opt;

pub use id::TemplateId;
pub use meta::TemplateMeta;
pub use opt::{parse_opt, parse_opt_with, OptError, OptLimits};
