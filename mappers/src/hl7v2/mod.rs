//! The HL7 v2 engine: ER7 parsing, access, writing, acknowledgements,
//! batches and MLLP framing.
//!
//! # Design
//! [`Message::parse`] scans the input once with `memchr`, validates segment
//! names, checks the [`Limits`] and records segment offsets. Nothing is
//! copied: [`Segment`] and [`Value`] are `Copy` slices of the input, and
//! fields, repetitions and components are found when asked. Escapes and
//! the charset are decoded only by [`Value::text`]. Every step is linear in
//! the input; a limit breach is an error returned as soon as the offending
//! segment is read.
//!
//! # Decisions
//! - Delimiters come from MSH-1/MSH-2: any field separator, 1 to 5 encoding
//!   characters (the fifth is the v2.7 truncation character). Undeclared
//!   delimiters are unused ([`Delimiters`]).
//! - Segments end at CR, LF or CRLF; blank lines are skipped; a leading
//!   UTF-8 BOM is skipped and implies UTF-8.
//! - `""` (HL7 null) is distinct from empty: [`Value::is_null`].
//! - Charset: when MSH-18 contradicts the bytes, **the bytes win** (see
//!   [`charset`]); the mismatch is recorded in [`Message::warnings`].
//! - `\.br\` decodes to `"\n"`; other formatting escapes stay as text;
//!   malformed escapes stay literal ([`escape`]).
//! - Terser paths are 1-based everywhere, unlike HAPI ([`path`]).
//!
//! # Layout
//! - [`message`], [`segment`], [`value`]: parsing and access.
//! - [`delimiters`], [`charset`], [`escape`], [`path`], [`limits`], [`error`].
//! - [`write`](mod@write): the owned, editable message.
//! - [`batch`]: FHS/BHS envelopes and multi-message files.
//! - [`ack`]: ACK/NACK builder with ERR segments (table 0357), and
//!   [`ack::nack_for_unparsed`] for input that did not parse.
//! - [`mllp`]: the MLLP framing codec for tokio.

pub mod ack;
pub mod batch;
pub mod charset;
pub mod delimiters;
pub mod error;
pub mod escape;
pub mod limits;
pub mod message;
#[cfg(test)]
mod message_tests;
pub mod mllp;
pub mod path;
mod scan;
pub mod segment;
pub mod value;
pub mod write;

pub use ack::{AckBuilder, AckCode, AckError, ErrorCode, Severity};
pub use batch::BatchItem;
pub use charset::Charset;
pub use delimiters::Delimiters;
pub use error::{ParseError, ParseErrorKind, ParseWarning, PathError};
pub use escape::{EscapeWarning, EscapeWarningKind};
pub use limits::Limits;
pub use message::Message;
pub use mllp::{MllpCodec, MllpError, MllpFrame};
pub use path::TerserPath;
pub use segment::{Fields, Segment};
pub use value::{Components, Level, Value, Values};
pub use write::{OwnedMessage, SetError};
