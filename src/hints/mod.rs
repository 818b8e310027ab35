//! Investigation hints: what is unusual about a port or a live socket, and what to run next.
//! Nothing here knows about terminals. (Rules are filled in by the hints work; the types are the
//! seam the TUI and commands code against.)

use serde::Serialize;

use crate::known::KnownUse;
use crate::registry::{Entry, Protocol, Registry};
use crate::sockets::{Snapshot, Socket};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Notice,
    Warning,
    Alert,
}

/// One finding about a port or socket, with the commands to run next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hint {
    /// Stable identifier, e.g. `unassigned-system-port`; documented in the README.
    pub id: &'static str,
    pub severity: Severity,
    pub title: String,
    /// Plain-language reason.
    pub why: String,
    /// Concrete commands for this OS.
    pub next_steps: Vec<String>,
}

/// Everything known about one port or socket: its registry entries, known unofficial uses, hints.
#[derive(Debug, Clone, Serialize)]
pub struct Assessment<'r> {
    pub entries: Vec<Entry<'r>>,
    pub known_uses: Vec<&'static KnownUse>,
    pub hints: Vec<Hint>,
}

impl Assessment<'_> {
    /// The highest severity among the hints, for a one-glyph badge.
    pub fn badge(&self) -> Option<Severity> {
        self.hints.iter().map(|h| h.severity).max()
    }
}

/// Assess a port on its own (what `lookup` shows).
pub fn assess_port(registry: &Registry, port: u16, protocol: Option<Protocol>) -> Assessment<'_> {
    Assessment {
        entries: registry.by_port(port, protocol),
        known_uses: crate::known::uses_of(port, protocol),
        hints: Vec::new(),
    }
}

/// Assess one live socket of `snapshot` (port rules plus socket rules).
pub fn assess_socket<'r>(
    registry: &'r Registry,
    _snapshot: &Snapshot,
    socket: &Socket,
) -> Assessment<'r> {
    assess_port(registry, socket.local_port, Some(socket.protocol))
}
