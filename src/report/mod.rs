//! The one presentation model between the judgement (`hints`) and the front ends. A listing is
//! [`listing::Row`]s chosen by a [`listing::Filter`] and ordered by a [`listing::SortKey`]; the
//! detail of a socket, port or registry entry is a [`detail::Detail`] of labelled sections; the
//! words for owner states, severities and families are in [`words`], and those for the owners'
//! facts (package, unit, container, ancestry) in [`facts`]. `list`, `explain`,
//! `lookup` and the explorer render these and build no words of their own.
//!
//! This module reads the snapshot, the registry and the hints; it knows no terminal and does no
//! I/O except [`plain`]'s writing to a given writer. Text stays raw here: printers escape.

pub mod detail;
pub mod facts;
pub mod listing;
pub mod plain;
pub mod words;

pub use detail::{Detail, Expectation, Item, Section, Tone};
pub use listing::{Column, CsvRow, ExpectedBy, Filter, Namespaces, Row, SortKey};
