//! Parsing IANA's CSV into a flat table: one text arena and fixed-size rows of spans. Every
//! rejection names the line and says what is wrong, because a user importing a file needs to know
//! whether it was the wrong file, a truncated download or a hand edit.
//!
//! It also encodes a parsed table into the flat bytes a run reads in place (`Encoded`: rows, port
//! indexes, and what the search notes per row), and reads them back (`row`).
//!
//! This file depends on nothing but `csv` and std: the build script includes it too, to parse and
//! encode the embedded copy at compile time (so no command pays for either), and imports use it
//! at run time. One parser and one encoder, two callers.

use std::fmt;

/// IANA's header; an import must match it exactly.
pub const HEADER: [&str; 12] = [
    "Service Name",
    "Port Number",
    "Transport Protocol",
    "Description",
    "Assignee",
    "Contact",
    "Registration Date",
    "Modification Date",
    "Reference",
    "Service Code",
    "Unauthorized Use Reported",
    "Assignment Notes",
];

/// The text columns kept per row, in IANA order: every column but port and protocol.
pub const TEXT_COLUMNS: usize = 10;
const TEXT_COLUMN_INDEXES: [usize; TEXT_COLUMNS] = [0, 3, 4, 5, 6, 7, 8, 9, 10, 11];

/// Protocol codes in a row: 0 = none, then IANA's four.
pub const PROTOCOLS: [&str; 4] = ["tcp", "udp", "sctp", "dccp"];

/// A byte span into the arena.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub len: u32,
}

/// One row: its text columns as spans, its port range and protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    pub text: [Span; TEXT_COLUMNS],
    /// Inclusive (start, end); `None` for a name-only row.
    pub ports: Option<(u16, u16)>,
    /// 0 for none, else 1 + index into [`PROTOCOLS`].
    pub protocol: u8,
}

/// A parsed CSV.
#[derive(Debug, Default)]
pub struct Table {
    pub arena: String,
    pub rows: Vec<RawRow>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    Empty,
    Header,
    Row { line: u64, problem: String },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => f.write_str("the file is empty: expected IANA's service-names-port-numbers.csv"),
            ParseError::Header => write!(
                f,
                "line 1 is not IANA's header (expected \"{}\", ...): is this service-names-port-numbers.csv?",
                HEADER[0]
            ),
            ParseError::Row { line, problem } => write!(f, "line {line}: {problem}"),
        }
    }
}

impl std::error::Error for ParseError {}

fn row_error(line: u64, problem: impl Into<String>) -> ParseError {
    ParseError::Row {
        line,
        problem: problem.into(),
    }
}

/// Untrusted text in an error message, with control and invisible characters made visible.
fn shown(s: &str) -> String {
    s.escape_debug().to_string()
}

/// Parse a port field: empty, `80`, or `6000-6063`.
pub fn parse_port_field(field: &str) -> Result<Option<(u16, u16)>, String> {
    let field = field.trim();
    if field.is_empty() {
        return Ok(None);
    }
    let number = |s: &str| -> Result<u16, String> {
        s.trim()
            .parse::<u16>()
            .map_err(|_| format!("port \"{}\" is not a number from 0 to 65535", shown(s)))
    };
    match field.split_once('-') {
        None => {
            let port = number(field)?;
            Ok(Some((port, port)))
        }
        Some((a, b)) => {
            let (start, end) = (number(a)?, number(b)?);
            if start > end {
                return Err(format!("port range {field} runs backwards"));
            }
            Ok(Some((start, end)))
        }
    }
}

/// Parse IANA's CSV, validating the header and every row.
pub fn parse_table(bytes: &[u8]) -> Result<Table, ParseError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ParseError::Empty);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();

    let header_ok = reader
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(&e))?
        && record.len() == HEADER.len()
        && record
            .iter()
            .zip(HEADER)
            .all(|(got, want)| got.trim_ascii() == want.as_bytes());
    if !header_ok {
        return Err(ParseError::Header);
    }

    let mut table = Table {
        arena: String::with_capacity(bytes.len()),
        rows: Vec::with_capacity(bytes.len() / 75),
    };
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(&e)),
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.len() == 1 && record[0].trim_ascii().is_empty() {
            continue; // a blank line
        }
        if record.len() != HEADER.len() {
            return Err(row_error(
                line,
                format!("{} fields, expected {}", record.len(), HEADER.len()),
            ));
        }
        let field = |i: usize| -> Result<&str, ParseError> {
            std::str::from_utf8(&record[i]).map_err(|_| {
                row_error(line, format!("column \"{}\" is not valid UTF-8", HEADER[i]))
            })
        };
        let ports = parse_port_field(field(1)?).map_err(|p| row_error(line, p))?;
        let proto_field = field(2)?.trim();
        let protocol = if proto_field.is_empty() {
            0
        } else {
            let at = PROTOCOLS
                .iter()
                .position(|p| p.eq_ignore_ascii_case(proto_field))
                .ok_or_else(|| {
                    row_error(
                        line,
                        format!(
                            "unknown transport protocol \"{}\" (expected tcp, udp, sctp or dccp)",
                            shown(proto_field)
                        ),
                    )
                })?;
            at as u8 + 1
        };
        let mut text = [Span::default(); TEXT_COLUMNS];
        for (slot, column) in text.iter_mut().zip(TEXT_COLUMN_INDEXES) {
            *slot = push(&mut table.arena, field(column)?);
            if slot.len > u32::from(u16::MAX) {
                return Err(row_error(
                    line,
                    format!(
                        "column \"{}\" is over 65535 bytes long: is this IANA's registry?",
                        HEADER[column]
                    ),
                ));
            }
        }
        table.rows.push(RawRow {
            text,
            ports,
            protocol,
        });
    }
    if table.arena.len() > u32::MAX as usize {
        return Err(row_error(0, "the file is too large for a port registry"));
    }
    Ok(table)
}

/// Append a field to the arena, trimmed and with CRLF line breaks made LF.
fn push(arena: &mut String, field: &str) -> Span {
    let field = field.trim();
    let start = arena.len() as u32;
    if field.contains('\r') {
        arena.push_str(&field.replace("\r\n", "\n").replace('\r', "\n"));
    } else {
        arena.push_str(field);
    }
    Span {
        start,
        len: arena.len() as u32 - start,
    }
}

fn csv_error(err: &csv::Error) -> ParseError {
    let line = err.position().map_or(0, |p| p.line());
    match err.kind() {
        csv::ErrorKind::Utf8 { .. } => row_error(line, "not valid UTF-8"),
        csv::ErrorKind::Io(e) => row_error(line, format!("read failed: {e}")),
        _ => row_error(line, "malformed CSV (an unbalanced quote?)"),
    }
}

/// u32 words per encoded row: where its text starts in the arena, its 10 field lengths as u16
/// (a row's fields lie one after another there), the port range, the protocol and flags, then
/// the word starts of the service name and of the description and the letters of the service
/// name (two words per u64). Compact because the binary embeds one per registry row.
const WORDS_PER_ROW: usize = 1 + TEXT_COLUMNS / 2 + 8;
const PORTS_WORD: usize = 1 + TEXT_COLUMNS / 2;
const FLAGS_WORD: usize = PORTS_WORD + 1;
const STARTS_WORD: usize = FLAGS_WORD + 1;
const HAS_PORT: u32 = 1 << 8;
const PORTED_TWIN: u32 = 1 << 9;
/// The row is one more protocol of the service named by an earlier row on the same ports.
const FOLDED: u32 = 1 << 10;
/// Where the protocols of the service a row starts are (bit i for `PROTOCOLS[i]`).
const DOCUMENT_PROTOCOLS_SHIFT: u32 = 16;
/// Bytes of the occupied-port bitmap: one bit per port.
pub const OCCUPIED_BYTES: usize = 65536 / 8;

/// The registry's tables in the form a run reads them in place, without decoding or copying:
/// little-endian u32 words (and a bitmap). The build script encodes the embedded registry once
/// and the binary embeds the bytes; an import encodes its file the same way at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// [`WORDS_PER_ROW`] words per row, in IANA order.
    pub rows: Vec<u8>,
    /// (port, row) word pairs for single-port rows, sorted by port then row.
    pub singles: Vec<u8>,
    /// Rows covering a range of ports (a few hundred): one word each.
    pub ranges: Vec<u8>,
    /// Bit `p % 8` of byte `p / 8` set when some row names or reserves port `p`.
    pub occupied: Vec<u8>,
}

/// Encode a parsed table with the indexes every run needs, so a run builds none of them.
pub fn encode(table: &Table) -> Encoded {
    let text = |s: Span| &table.arena[s.start as usize..(s.start + s.len) as usize];
    // A name-only row is shown folded into a row of the same name with a port, when there is one.
    let ported: std::collections::HashSet<String> = table
        .rows
        .iter()
        .filter(|r| r.ports.is_some() && r.text[0].len > 0)
        .map(|r| text(r.text[0]).to_ascii_lowercase())
        .collect();
    let mut flags: Vec<u32> = table.rows.iter().map(|r| u32::from(r.protocol)).collect();
    // IANA lists the rows of one service and port next to each other (tcp, udp, ...): the search
    // shows them as one result. Rows that name nothing in between do not part them.
    let mut document: Option<usize> = None;
    for (i, row) in table.rows.iter().enumerate() {
        let service = text(row.text[0]);
        if service.is_empty() {
            continue;
        }
        let bit = (1u32 << row.protocol >> 1) << DOCUMENT_PROTOCOLS_SHIFT;
        match document {
            Some(d)
                if table.rows[d].ports == row.ports
                    && text(table.rows[d].text[0]).eq_ignore_ascii_case(service) =>
            {
                flags[i] |= FOLDED;
                flags[d] |= bit;
            }
            _ => {
                flags[i] |= bit;
                document = Some(i);
            }
        }
    }
    let mut rows = Vec::with_capacity(table.rows.len() * WORDS_PER_ROW * 4);
    let mut singles: Vec<(u32, u32)> = Vec::with_capacity(table.rows.len());
    let mut ranges = Vec::new();
    let mut occupied = vec![0u8; OCCUPIED_BYTES];
    for (i, row) in table.rows.iter().enumerate() {
        let service = text(row.text[0]);
        let description = text(row.text[1]);
        rows.extend(row.text[0].start.to_le_bytes());
        for (i, span) in row.text.iter().enumerate() {
            // `push` lays a row's fields one after another; `parse_table` bounds their lengths.
            assert!(i == 0 || span.start == row.text[i - 1].start + row.text[i - 1].len);
            rows.extend((span.len as u16).to_le_bytes());
        }
        let (start, end) = row.ports.unwrap_or((0, 0));
        rows.extend((u32::from(start) | u32::from(end) << 16).to_le_bytes());
        let mut flags = flags[i];
        if row.ports.is_some() {
            flags |= HAS_PORT;
        } else if !service.is_empty() && ported.contains(&service.to_ascii_lowercase()) {
            flags |= PORTED_TWIN;
        }
        rows.extend(flags.to_le_bytes());
        rows.extend(word_starts(service).to_le_bytes());
        rows.extend(word_starts(description).to_le_bytes());
        rows.extend(letters(service).to_le_bytes());
        let Some((start, end)) = row.ports else {
            continue;
        };
        if start == end {
            singles.push((u32::from(start), i as u32));
        } else {
            ranges.extend((i as u32).to_le_bytes());
        }
        let unassigned =
            service.is_empty() && description.trim().eq_ignore_ascii_case("unassigned");
        if !unassigned {
            for port in start..=end {
                occupied[usize::from(port) / 8] |= 1 << (port % 8);
            }
        }
    }
    singles.sort_unstable();
    Encoded {
        rows,
        singles: singles
            .into_iter()
            .flat_map(|(port, row)| [port, row])
            .flat_map(u32::to_le_bytes)
            .collect(),
        ranges,
        occupied,
    }
}

/// Word `i` of an encoded table.
#[inline]
pub fn word(bytes: &[u8], i: usize) -> u32 {
    let at = i * 4;
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Rows in an encoded table.
pub fn row_count(rows: &[u8]) -> usize {
    rows.len() / (WORDS_PER_ROW * 4)
}

const ROW_BYTES: usize = WORDS_PER_ROW * 4;

/// One encoded row, read in place. Every search reads every row: the fixed size lets the
/// compiler drop the bounds checks of each field.
#[derive(Debug, Clone, Copy)]
pub struct RowView<'a>(&'a [u8; ROW_BYTES]);

/// Row `i` of an encoded table.
#[inline]
pub fn row(rows: &[u8], i: usize) -> RowView<'_> {
    let bytes = &rows[i * ROW_BYTES..(i + 1) * ROW_BYTES];
    RowView(bytes.try_into().expect("a slice of one row's length"))
}

impl RowView<'_> {
    /// The span of text column `i` (see [`TEXT_COLUMNS`]).
    #[inline]
    pub fn span(self, i: usize) -> Span {
        let len = |i: usize| u32::from(u16::from_le_bytes([self.0[4 + 2 * i], self.0[5 + 2 * i]]));
        Span {
            start: word(self.0, 0) + (0..i).map(len).sum::<u32>(),
            len: len(i),
        }
    }

    #[inline]
    pub fn ports(self) -> Option<(u16, u16)> {
        let ports = word(self.0, PORTS_WORD);
        (self.flags() & HAS_PORT != 0).then_some((ports as u16, (ports >> 16) as u16))
    }

    /// 0 for none, else 1 + index into [`PROTOCOLS`].
    #[inline]
    pub fn protocol(self) -> u8 {
        self.flags() as u8
    }

    /// A name-only row whose service name some row with a port also has (ignoring ASCII case).
    #[inline]
    pub fn has_ported_twin(self) -> bool {
        self.flags() & PORTED_TWIN != 0
    }

    /// [`word_starts`] of the service name and of the description.
    #[inline]
    pub fn starts(self) -> (u64, u64) {
        (self.wide(STARTS_WORD), self.wide(STARTS_WORD + 2))
    }

    /// [`letters`] of the service name.
    #[inline]
    pub fn name_letters(self) -> u64 {
        self.wide(STARTS_WORD + 4)
    }

    /// One more protocol of the service an earlier row on the same ports names.
    #[inline]
    pub fn is_folded(self) -> bool {
        self.flags() & FOLDED != 0
    }

    /// For a row that names a service and is not folded: the protocols of its rows on these
    /// ports, bit i for `PROTOCOLS[i]`.
    #[inline]
    pub fn document_protocols(self) -> u8 {
        (self.flags() >> DOCUMENT_PROTOCOLS_SHIFT) as u8
    }

    #[inline]
    fn wide(self, i: usize) -> u64 {
        u64::from(word(self.0, i)) | u64::from(word(self.0, i + 1)) << 32
    }

    #[inline]
    fn flags(self) -> u32 {
        word(self.0, FLAGS_WORD)
    }
}

/// One bit per first byte of a word, compared ignoring ASCII case: a-z, 0-9, and one bit shared
/// by every byte of a non-ASCII character. The search reads a text only when a query word's bit
/// is among the text's [`word_starts`]: exact, prefix and typo matches all begin alike.
pub fn start_bit(b: u8) -> u64 {
    match b.to_ascii_lowercase() {
        l @ b'a'..=b'z' => 1 << (l - b'a'),
        d @ b'0'..=b'9' => 1 << (26 + d - b'0'),
        0x80.. => 1 << 63,
        _ => 1 << 62,
    }
}

/// Tokens of a text as the search sees them: maximal runs of ASCII letters and digits (bytes
/// >= 0x80 count as letters).
pub fn tokens(text: &str) -> impl Iterator<Item = &[u8]> {
    text.as_bytes()
        .split(|b| !(b.is_ascii_alphanumeric() || *b >= 0x80))
        .filter(|t| !t.is_empty())
}

/// The [`start_bit`] of every byte of `text`: a text holds a word only if it holds all its
/// letters, so a search looks for a fragment inside a name only where the letters are there.
pub fn letters(text: &str) -> u64 {
    text.bytes().fold(0, |bits, b| bits | start_bit(b))
}

/// The [`start_bit`]s of every token of `text`.
pub fn word_starts(text: &str) -> u64 {
    tokens(text).fold(0, |bits, t| bits | start_bit(t[0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::registry::{PortRange, Registry, Source};

    fn parse_str(s: &str) -> Result<Registry, ParseError> {
        Registry::from_csv(s.as_bytes(), Source::Embedded)
    }

    const HEAD: &str = "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes\n";

    #[test]
    fn quoted_multiline_fields_ranges_and_name_only_rows() {
        let reg = parse_str(&format!(
            "{HEAD}x11,6000-6063,tcp,X Window System,[Stephen_Gildea],,,,,,,\"two\r\nlines, \"\"quoted\"\"\"\nfoo,,tcp,Name only,,,,,,,,\n,288-299,,Unassigned,,,,,,,,\n"
        ))
        .unwrap();
        assert_eq!(reg.len(), 3);
        let x11 = reg.entry(0);
        assert_eq!(
            x11.ports,
            Some(PortRange {
                start: 6000,
                end: 6063
            })
        );
        assert_eq!(x11.assignment_notes, "two\nlines, \"quoted\"");
        assert_eq!(reg.entry(1).ports, None);
        assert!(reg.entry(2).is_unassigned());
        assert_eq!(reg.by_port(6010, None)[0].service, "x11");
    }

    #[test]
    fn rejects_with_line_numbers() {
        assert_eq!(parse_str("").unwrap_err(), ParseError::Empty);
        assert_eq!(
            parse_str("name,port\nssh,22\n").unwrap_err(),
            ParseError::Header
        );
        let err = parse_str(&format!(
            "{HEAD}ssh,22,tcp,SSH,,,,,,,,\nbad,70000,tcp,x,,,,,,,,\n"
        ))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: port \"70000\" is not a number from 0 to 65535"
        );
        let err = parse_str(&format!("{HEAD}ssh,22,xyz,SSH,,,,,,,,\n")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("line 2: unknown transport protocol \"xyz\""),
            "{err}"
        );
        let err = parse_str(&format!("{HEAD}ssh,22,tcp\n")).unwrap_err();
        assert_eq!(err.to_string(), "line 2: 3 fields, expected 12");
        let err = parse_str(&format!("{HEAD}a,9-3,tcp,x,,,,,,,,\n")).unwrap_err();
        assert_eq!(err.to_string(), "line 2: port range 9-3 runs backwards");
        let long = "d".repeat(70_000);
        let err = parse_str(&format!("{HEAD}a,9,tcp,{long},,,,,,,,\n")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2: column \"Description\" is over 65535 bytes long: is this IANA's registry?"
        );
    }

    #[test]
    fn rows_survive_encoding() {
        let table = parse_table(crate::registry::EMBEDDED_CSV.as_bytes()).unwrap();
        let encoded = encode(&table);
        assert_eq!(row_count(&encoded.rows), table.rows.len());
        for (i, raw) in table.rows.iter().enumerate() {
            let view = row(&encoded.rows, i);
            let spans: Vec<Span> = (0..TEXT_COLUMNS).map(|c| view.span(c)).collect();
            assert_eq!(spans, raw.text, "row {i}");
            assert_eq!((view.ports(), view.protocol()), (raw.ports, raw.protocol));
        }
    }

    #[test]
    fn word_starts_note_the_first_byte_of_each_word() {
        let bits = word_starts("Remote Desktop (RDP), port 3389; Überweisung");
        for b in [b'r', b'd', b'p', b'3', 0xC3] {
            assert_ne!(bits & start_bit(b), 0, "{}", b as char);
        }
        assert_eq!(bits & start_bit(b'e'), 0);
        assert_eq!(word_starts(""), 0);
    }

    #[test]
    fn accepts_bom_and_crlf() {
        let reg = parse_str(&format!(
            "\u{feff}{}ssh,22,tcp,SSH,,,,,,,,\r\n",
            HEAD.replace('\n', "\r\n")
        ))
        .unwrap();
        assert_eq!(reg.entry(0).service, "ssh");
        assert_eq!(reg.entry(0).assignment_notes, "");
    }
}
