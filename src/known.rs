//! Well-established unofficial and common uses of ports: the project's own table,
//! `assets/known-ports.csv`, written in its own words (provenance in `assets/KNOWN-PORTS.md`).
//!
//! A row says what a port is *commonly used by*, never what a socket *is*: only the owning
//! process can say that. The table is embedded, split into fields at compile time (build.rs) and
//! read once, its text borrowed from the binary ([`Text`]: no allocation per field, since every
//! `lookup` reads it); the test suite parses and checks the CSV in full and compares, so a broken
//! row fails `cargo test` rather than a user's run.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

use serde::Serialize;

use crate::registry::{Entry, Protocol};

/// The table as shipped.
pub static EMBEDDED_CSV: &str = include_str!("../assets/known-ports.csv");

/// The header the table must start with.
pub const HEADER: [&str; 7] = [
    "port",
    "protocol",
    "use",
    "category",
    "confidence",
    "note",
    "reference",
];

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

impl Confidence {
    pub fn parse(s: &str) -> Option<Confidence> {
        match s {
            "documented" => Some(Confidence::Documented),
            "common" => Some(Confidence::Common),
            "reported" => Some(Confidence::Reported),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Documented => "documented",
            Confidence::Common => "common",
            Confidence::Reported => "reported",
        }
    }

    /// How a sentence introduces a use of this confidence: the wording never claims identity.
    pub fn phrase(self) -> &'static str {
        match self {
            Confidence::Documented => "the documented default of",
            Confidence::Common => "commonly used by",
            Confidence::Reported => "reported (secondary sources only) as used by",
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The categories a row may name; `malware` marks trojan, backdoor and attack-tool defaults,
/// `industrial` covers IoT, building automation and industrial control protocols. `dev-server`
/// is for tools meant for local use (the exposure hint warns when one listens on all interfaces);
/// `ci` is for CI/CD, code hosting and artifact servers, which are meant to be reached.
pub const CATEGORIES: &[&str] = &[
    "backup",
    "ci",
    "cluster",
    "database",
    "dev-server",
    "game",
    "industrial",
    "infrastructure",
    "malware",
    "media",
    "messaging",
    "mining",
    "monitoring",
    "os-service",
    "p2p",
    "printing",
    "proxy",
    "remote-access",
    "security",
    "voip",
    "vpn",
    "web",
];

/// A text field of an embedded table: borrowed from the binary (a start allocates nothing for the
/// thousands of fields), or owned when parsed from other text (the test suite's tables). Reads as
/// a `str`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(Cow<'static, str>);

impl Text {
    pub(crate) const fn borrowed(s: &'static str) -> Text {
        Text(Cow::Borrowed(s))
    }

    pub(crate) fn owned(s: &str) -> Text {
        Text(Cow::Owned(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl From<Text> for String {
    fn from(text: Text) -> String {
        text.0.into_owned()
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One known use of a port, or of a run of ports (`6881-6889`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnownUse {
    pub port: u16,
    /// The last port of the run; equal to `port` for a single port.
    pub last_port: u16,
    /// `None` when the use applies to both TCP and UDP.
    pub protocol: Option<Protocol>,
    pub product: Text,
    /// One of [`CATEGORIES`]; a `String` still (short, and callers own it).
    pub category: String,
    pub confidence: Confidence,
    pub note: Text,
    pub reference: Text,
}

impl KnownUse {
    pub fn covers(&self, port: u16) -> bool {
        self.port <= port && port <= self.last_port
    }

    pub fn is_malware(&self) -> bool {
        self.category == "malware"
    }

    /// Whether this use is the service IANA registered on the port, judged by the product naming
    /// one of the port's IANA service names ("MySQL / MariaDB" on `mysql`, "OpenSSH sshd" on
    /// `ssh`). Anything else is an unofficial use of the port.
    pub fn matches_registration(&self, entries: &[Entry]) -> bool {
        let product = self.product.to_ascii_lowercase();
        entries
            .iter()
            .filter(|e| e.service.len() >= 2)
            .any(|e| product.contains(&e.service.to_ascii_lowercase()))
    }

    /// "the documented default of X", "commonly used by X", or for a run of ports "in
    /// 30000-32767, the documented range of X": what a port *is* to this use, never what a
    /// socket is.
    pub fn describe(&self) -> String {
        if self.port == self.last_port {
            return format!("{} {}", self.confidence.phrase(), self.product);
        }
        let run = format!("{}-{}", self.port, self.last_port);
        match self.confidence {
            Confidence::Documented => format!("in {run}, the documented range of {}", self.product),
            Confidence::Common => format!("in {run}, a range commonly used by {}", self.product),
            Confidence::Reported => format!(
                "in {run}, a range reported (secondary sources only) as used by {}",
                self.product
            ),
        }
    }

    /// `3489/tcp`, `6881-6889/tcp+udp`.
    pub fn ports_label(&self) -> String {
        let ports = if self.port == self.last_port {
            self.port.to_string()
        } else {
            format!("{}-{}", self.port, self.last_port)
        };
        match self.protocol {
            Some(p) => format!("{ports}/{p}"),
            None => format!("{ports}/tcp+udp"),
        }
    }
}

/// What is wrong with a row of the table, with its line number (1 = the header).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("known-ports.csv line {line}: {message}")]
pub struct KnownParseError {
    pub line: u64,
    pub message: String,
}

/// Parse and validate the table: header, port or port run in range, protocol `tcp`/`udp`/empty,
/// a known category and confidence, a non-empty use, note and reference, no duplicate
/// (port, protocol, use).
pub fn parse(text: &str) -> Result<Vec<KnownUse>, KnownParseError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let err = |line: u64, message: String| KnownParseError { line, message };
    let header = reader.headers().map_err(|e| err(1, e.to_string()))?.clone();
    if header.iter().ne(HEADER) {
        return Err(err(1, format!("header must be {}", HEADER.join(","))));
    }
    let mut out: Vec<KnownUse> = Vec::new();
    // The table has well over a thousand rows: a set keeps the duplicate check linear instead of
    // comparing each row with all before it.
    let mut seen: HashSet<(u16, u16, Option<Protocol>, String)> = HashSet::new();
    for record in reader.records() {
        let record = record.map_err(|e| err(0, e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let row = row_of(|i| record.get(i).unwrap_or("").trim(), Text::owned)
            .map_err(|m| err(line, m))?;
        if !seen.insert((
            row.port,
            row.last_port,
            row.protocol,
            row.product.to_ascii_lowercase(),
        )) {
            return Err(err(
                line,
                format!("duplicate of {} {}", row.ports_label(), row.product),
            ));
        }
        out.push(row);
    }
    Ok(out)
}

/// One row from its trimmed fields (in [`HEADER`] order), keeping text with `text` (borrowed for
/// the embedded table): every check but the duplicates.
fn row_of<'f>(
    field: impl Fn(usize) -> &'f str,
    text: impl Fn(&'f str) -> Text,
) -> Result<KnownUse, String> {
    let (port, last_port) = parse_ports(field(0))?;
    let protocol = match field(1) {
        "" => None,
        "tcp" => Some(Protocol::Tcp),
        "udp" => Some(Protocol::Udp),
        other => return Err(format!("protocol must be tcp, udp or empty, got {other:?}")),
    };
    let category = field(3);
    if !CATEGORIES.contains(&category) {
        return Err(format!("unknown category {category:?}"));
    }
    let confidence = Confidence::parse(field(4)).ok_or_else(|| {
        format!(
            "confidence must be documented, common or reported, got {:?}",
            field(4)
        )
    })?;
    for (i, name) in [(2, "use"), (5, "note"), (6, "reference")] {
        if field(i).is_empty() {
            return Err(format!("the {name} is empty"));
        }
    }
    Ok(KnownUse {
        port,
        last_port,
        protocol,
        product: text(field(2)),
        category: category.to_owned(),
        confidence,
        note: text(field(5)),
        reference: text(field(6)),
    })
}

fn parse_ports(raw: &str) -> Result<(u16, u16), String> {
    let number = |s: &str| {
        s.parse::<u16>()
            .map_err(|_| format!("port must be a number from 0 to 65535, got {s:?}"))
    };
    match raw.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (number(a)?, number(b)?);
            if a >= b {
                return Err(format!("port run {raw} must go upwards"));
            }
            Ok((a, b))
        }
        None => {
            let p = number(raw)?;
            Ok((p, p))
        }
    }
}

/// The embedded table split into trimmed fields at compile time (build.rs), so a start pays
/// for no CSV parsing and no duplicate check; `parse` checks the same text in the test suite.
static FIELDS: &[[&str; 7]] = include!(concat!(env!("OUT_DIR"), "/known-fields.rs"));

/// `registry::word_starts` of each embedded row's product and note, noted by build.rs for the
/// search (a test holds them to the table).
static WORD_STARTS: &[(u64, u64)] = include!(concat!(env!("OUT_DIR"), "/known-starts.rs"));

/// `registry::word_starts` of each row of [`table`]'s product and note, in table order.
pub(crate) fn word_starts_table() -> &'static [(u64, u64)] {
    WORD_STARTS
}

/// The embedded table, read once.
pub fn table() -> &'static [KnownUse] {
    static TABLE: OnceLock<Vec<KnownUse>> = OnceLock::new();
    TABLE.get_or_init(read_embedded)
}

/// Read the embedded table from its fields (what [`table`] does once; public for the benches).
#[doc(hidden)]
pub fn read_embedded() -> Vec<KnownUse> {
    FIELDS
        .iter()
        .map(|f| {
            row_of(|i| f[i], Text::borrowed)
                .expect("the embedded table is checked by the test suite")
        })
        .collect()
}

/// The table's rows by port: single ports sorted for a binary search, runs of ports kept apart
/// (few). Every socket of a listing asks for its port's uses; scanning all the rows each time
/// was most of a busy host's hint cost.
struct ByPort {
    singles: Vec<(u16, u32)>,
    runs: Vec<u32>,
}

fn by_port() -> &'static ByPort {
    static INDEX: OnceLock<ByPort> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = ByPort {
            singles: Vec::new(),
            runs: Vec::new(),
        };
        for (i, k) in table().iter().enumerate() {
            if k.port == k.last_port {
                index.singles.push((k.port, i as u32));
            } else {
                index.runs.push(i as u32);
            }
        }
        index.singles.sort_unstable();
        index
    })
}

/// Known uses of `port` (for `protocol`, when given), in table order.
pub fn uses_of(port: u16, protocol: Option<Protocol>) -> Vec<&'static KnownUse> {
    let (table, index) = (table(), by_port());
    let from = index.singles.partition_point(|&(p, _)| p < port);
    let mut rows: Vec<u32> = index.singles[from..]
        .iter()
        .take_while(|&&(p, _)| p == port)
        .map(|&(_, row)| row)
        .chain(
            index
                .runs
                .iter()
                .copied()
                .filter(|&r| table[r as usize].covers(port)),
        )
        .filter(|&r| {
            let k = &table[r as usize];
            protocol.is_none() || k.protocol.is_none() || k.protocol == protocol
        })
        .collect();
    rows.sort_unstable();
    rows.into_iter().map(|r| &table[r as usize]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "port,protocol,use,category,confidence,note,reference\n";

    fn one(row: &str) -> Result<Vec<KnownUse>, KnownParseError> {
        parse(&format!("{HEAD}{row}\n"))
    }

    #[test]
    fn the_port_index_answers_as_a_scan_of_the_table() {
        for port in (0..=u16::MAX).step_by(7).chain([22, 80, 3489, 6881, 8080]) {
            for protocol in [None, Some(Protocol::Tcp), Some(Protocol::Udp)] {
                let scanned: Vec<&KnownUse> = table()
                    .iter()
                    .filter(|k| {
                        k.covers(port)
                            && (protocol.is_none()
                                || k.protocol.is_none()
                                || k.protocol == protocol)
                    })
                    .collect();
                assert_eq!(uses_of(port, protocol), scanned, "{port} {protocol:?}");
            }
        }
    }

    #[test]
    fn the_noted_word_starts_are_the_tables() {
        let noted: Vec<(u64, u64)> = table()
            .iter()
            .map(|k| {
                (
                    crate::registry::word_starts(&k.product),
                    crate::registry::word_starts(&k.note),
                )
            })
            .collect();
        assert_eq!(noted, word_starts_table());
    }

    #[test]
    fn embedded_table_parses() {
        let rows = parse(EMBEDDED_CSV).unwrap();
        assert!(rows.len() >= 120, "{} rows", rows.len());
        // What a start reads (split by build.rs) is what the full parser accepts.
        assert_eq!(rows, table());
    }

    #[test]
    fn rows_parse_with_runs_and_both_protocols() {
        let rows = one("6881-6889,,BitTorrent,p2p,common,\"peers, mostly\",BEP 3").unwrap();
        assert_eq!((rows[0].port, rows[0].last_port), (6881, 6889));
        assert_eq!(rows[0].protocol, None);
        assert_eq!(rows[0].note, "peers, mostly");
        assert!(rows[0].covers(6885) && !rows[0].covers(6890));
        assert_eq!(rows[0].ports_label(), "6881-6889/tcp+udp");
        assert_eq!(
            rows[0].describe(),
            "in 6881-6889, a range commonly used by BitTorrent"
        );
    }

    #[test]
    fn bad_rows_say_which_line_and_why() {
        let e = one("70000,tcp,X,web,common,n,r").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("0 to 65535"), "{e}");
        assert!(one("80,sctp,X,web,common,n,r")
            .unwrap_err()
            .message
            .contains("protocol"));
        assert!(one("80,tcp,X,web,sure,n,r")
            .unwrap_err()
            .message
            .contains("confidence"));
        assert!(one("80,tcp,X,web,common,n,")
            .unwrap_err()
            .message
            .contains("reference is empty"));
        assert!(one("80,tcp,X,nonsense,common,n,r")
            .unwrap_err()
            .message
            .contains("category"));
        assert!(one("90-80,tcp,X,web,common,n,r")
            .unwrap_err()
            .message
            .contains("upwards"));
        let dup = parse(&format!(
            "{HEAD}80,tcp,X,web,common,n,r\n80,tcp,x,web,common,n2,r2\n"
        ))
        .unwrap_err();
        assert_eq!(dup.line, 3);
        assert!(parse("port,proto\n1,tcp\n").unwrap_err().line == 1);
    }

    #[test]
    fn uses_of_filters_by_port_and_protocol() {
        let tcp = uses_of(3489, Some(Protocol::Tcp));
        assert!(tcp
            .iter()
            .any(|k| k.product.contains("Symantec") && k.confidence == Confidence::Reported));
        assert!(uses_of(3489, Some(Protocol::Udp)).is_empty());
        // A both-protocols row answers either.
        assert!(!uses_of(5938, Some(Protocol::Udp)).is_empty());
        // A run answers every port inside it.
        assert!(!uses_of(6885, Some(Protocol::Tcp)).is_empty());
        assert!(uses_of(289, None).is_empty());
    }
}
