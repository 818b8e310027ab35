//! Well-established unofficial and common uses of ports: the project's own table,
//! `assets/known-ports.csv`, written in its own words. (The rows and their checks are filled in
//! by the hints work; the types are the seam the TUI and commands code against.)

use serde::Serialize;

use crate::registry::Protocol;

/// How well a use is established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// The vendor's or project's own documentation names the port.
    Documented,
    /// Widely observed in practice.
    Common,
    /// Secondary sources only.
    Reported,
}

/// One known use of a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnownUse {
    pub port: u16,
    /// `None` when the use applies to both TCP and UDP.
    pub protocol: Option<Protocol>,
    pub product: String,
    pub category: String,
    pub confidence: Confidence,
    pub note: String,
    pub reference: String,
}

/// The embedded table, parsed once.
pub fn table() -> &'static [KnownUse] {
    &[]
}

/// Known uses of `port` (for `protocol`, when given).
pub fn uses_of(port: u16, protocol: Option<Protocol>) -> Vec<&'static KnownUse> {
    table()
        .iter()
        .filter(|k| {
            k.port == port && (protocol.is_none() || k.protocol.is_none() || k.protocol == protocol)
        })
        .collect()
}
