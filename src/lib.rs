//! portscope: what is listening on this port, and should it be?
//!
//! The library holds every piece the binary, the tests and the benchmarks share. Data flows one
//! way: the registry and the live snapshot feed `hints`, and every front end (CLI tables, JSON,
//! CSV, the TUI) renders the same rows. Nothing outside `tui` knows about terminals.

pub mod cli;
pub mod commands;
pub mod exposure;
pub mod facts;
pub mod files;
pub mod hints;
pub mod known;
pub mod output;
pub mod policy;
pub mod registry;
pub mod remote;
pub mod report;
pub mod search;
mod signals;
pub mod sockets;
pub mod text;
pub mod tui;
