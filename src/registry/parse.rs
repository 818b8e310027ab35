//! Parsing IANA's CSV into a flat table: one text arena and fixed-size rows of spans. Every
//! rejection names the line and says what is wrong, because a user importing a file needs to know
//! whether it was the wrong file, a truncated download or a hand edit.
//!
//! This file depends on nothing but `csv` and std: the build script includes it too, to parse the
//! embedded copy at compile time (so no command pays for parsing it), and imports use it at run
//! time. One parser, two callers.

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

/// u32 words per encoded row: 10 spans x 2, the port range, the protocol and a has-port flag.
const WORDS_PER_ROW: usize = TEXT_COLUMNS * 2 + 2;

/// Rows as little-endian u32 words, for the build script to embed.
#[cfg_attr(not(test), allow(dead_code))] // called by build.rs, which includes this file
pub fn encode_rows(rows: &[RawRow]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * WORDS_PER_ROW * 4);
    for row in rows {
        for span in row.text {
            out.extend(span.start.to_le_bytes());
            out.extend(span.len.to_le_bytes());
        }
        let (start, end) = row.ports.unwrap_or((0, 0));
        out.extend((u32::from(start) | u32::from(end) << 16).to_le_bytes());
        out.extend((u32::from(row.protocol) | u32::from(row.ports.is_some()) << 8).to_le_bytes());
    }
    out
}

/// The inverse of [`encode_rows`].
pub fn decode_rows(bytes: &[u8]) -> Vec<RawRow> {
    let word =
        |chunk: &[u8], i: usize| u32::from_le_bytes(chunk[i * 4..i * 4 + 4].try_into().unwrap());
    bytes
        .chunks_exact(WORDS_PER_ROW * 4)
        .map(|chunk| {
            let mut text = [Span::default(); TEXT_COLUMNS];
            for (i, span) in text.iter_mut().enumerate() {
                *span = Span {
                    start: word(chunk, 2 * i),
                    len: word(chunk, 2 * i + 1),
                };
            }
            let ports = word(chunk, TEXT_COLUMNS * 2);
            let flags = word(chunk, TEXT_COLUMNS * 2 + 1);
            RawRow {
                text,
                ports: (flags >> 8 & 1 == 1).then_some((ports as u16, (ports >> 16) as u16)),
                protocol: flags as u8,
            }
        })
        .collect()
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
    }

    #[test]
    fn rows_survive_encoding() {
        let table = parse_table(crate::registry::EMBEDDED_CSV.as_bytes()).unwrap();
        assert_eq!(decode_rows(&encode_rows(&table.rows)), table.rows);
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
