//! Parsing IANA's CSV into the registry's arena. Every rejection names the line and says what is
//! wrong, because a user importing a file needs to know whether it was the wrong file, a truncated
//! download or a hand edit.

use super::{PortRange, Protocol, Registry, Row, Source, Span, HEADER, TEXT_COLUMNS};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("the file is empty: expected IANA's service-names-port-numbers.csv")]
    Empty,
    #[error("line 1 is not IANA's header (expected \"{}\", ...): is this service-names-port-numbers.csv?", HEADER[0])]
    Header,
    #[error("line {line}: {problem}")]
    Row { line: u64, problem: String },
}

fn row_error(line: u64, problem: impl Into<String>) -> ParseError {
    ParseError::Row {
        line,
        problem: problem.into(),
    }
}

/// Parse a port field: empty, `80`, or `6000-6063`.
pub fn parse_port_field(field: &str) -> Result<Option<PortRange>, String> {
    let field = field.trim();
    if field.is_empty() {
        return Ok(None);
    }
    let number = |s: &str| -> Result<u16, String> {
        s.trim().parse::<u16>().map_err(|_| {
            format!(
                "port \"{}\" is not a number from 0 to 65535",
                crate::text::escape(s)
            )
        })
    };
    match field.split_once('-') {
        None => Ok(Some(PortRange::single(number(field)?))),
        Some((a, b)) => {
            let (start, end) = (number(a)?, number(b)?);
            if start > end {
                return Err(format!("port range {field} runs backwards"));
            }
            Ok(Some(PortRange { start, end }))
        }
    }
}

pub(super) fn parse(bytes: &[u8], source: Source) -> Result<Registry, ParseError> {
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

    let mut arena = String::with_capacity(bytes.len());
    let mut rows = Vec::with_capacity(bytes.len() / 75);
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
            None
        } else {
            Some(Protocol::parse(proto_field).ok_or_else(|| {
                row_error(
                    line,
                    format!(
                        "unknown transport protocol \"{}\" (expected tcp, udp, sctp or dccp)",
                        crate::text::escape(proto_field)
                    ),
                )
            })?)
        };
        let mut text = [Span::default(); TEXT_COLUMNS];
        for (slot, column) in text.iter_mut().zip([0, 3, 4, 5, 6, 7, 8, 9, 10, 11]) {
            *slot = push(&mut arena, field(column)?);
        }
        rows.push(Row {
            text,
            ports,
            protocol,
        });
    }
    if arena.len() > u32::MAX as usize {
        return Err(row_error(0, "the file is too large for a port registry"));
    }
    Ok(Registry::from_rows(source, arena, rows))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Registry, ParseError> {
        parse(s.as_bytes(), Source::Embedded)
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
