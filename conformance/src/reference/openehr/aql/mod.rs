//! The AQL the backend understands, parsed into a tree and evaluated over
//! the stored canonical JSON (never matched as strings).
//!
//! Supported: `SELECT [DISTINCT] [TOP n]` identified paths (`c`,
//! `c/uid/value`, `o/data[at0001]/events[at0006]/time/value`), `COUNT(*)`,
//! `COUNT(path)`, aliases (`AS name`); `FROM [EHR e[ehr_id/value=$p]]
//! CONTAINS COMPOSITION c[archetype id] CONTAINS OBSERVATION o[archetype
//! id]` (any RM class, one chain, `ENTRY`/`CARE_ENTRY` match their
//! subclasses); `WHERE` with `=`, `!=`, `<`, `<=`, `>`, `>=`, `AND`, `OR`,
//! `NOT`, `EXISTS`, parentheses, string/number/boolean literals and
//! `$parameters`; `ORDER BY path [ASC|DESC]`; `LIMIT n [OFFSET m]`.
//! Node predicates: `[at0001]`, `[archetype-id]`, `[at0001, 'name']`,
//! `[name/value='x']`, `[ehr_id/value=$p]`.
//!
//! Anything else (`LIKE`, `MATCHES`, `VERSION`, containment with
//! `AND`/`OR`, functions other than `COUNT`) is refused with the reason,
//! and the backend answers 400. What EHRbase itself refuses before running
//! a query (an `ORDER BY` path not selected, a `LIMIT` over its maximum)
//! is refused the same way ([`features`]).
//!
//! Paths through repeated attributes take the first match per binding
//! (EHRbase would multiply rows); bindings themselves come from the
//! `CONTAINS` chain, one row per matching entry.
//!
//! # Layout
//! - [`ast`]: the query tree.
//! - [`lexer`]: text -> tokens.
//! - [`parser`]: tokens -> [`ast::Query`], with bounds.
//! - [`eval`]: a query over the stored data -> columns and rows.
//! - [`compare`]: value ordering (numbers, text, temporal values by instant).
//! - [`features`]: EHRbase's feature and limit checks on a parsed query.

pub mod ast;
pub mod compare;
pub mod eval;
pub mod features;
pub mod lexer;
pub mod parser;

pub use parser::{parse, AqlError};
