//! The fault classification shared by every error of the workspace; see
//! [`ehrgate_templates::fault`] for why it lives there.

pub use ehrgate_templates::fault::{Classified, Fault};
