//! openEHR operational templates for ehrgate.
//!
//! # Layout
//! - [`fault`]: who is at fault for an error; shared by the whole workspace.

#![forbid(unsafe_code)]

pub mod fault;
