//! The fault classification shared by every error of the workspace; see
//! [`ehrgate_fault`] for why it lives there.

pub use ehrgate_fault::{Classified, Fault};
