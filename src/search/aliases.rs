//! The alias table, `assets/aliases.csv`: the names people type that IANA does not use (acronyms,
//! product and daemon names, old and vendor names), each pointing at a port and the name it goes
//! by there, with a one-line basis in the project's own words. Owns parsing and validating the
//! table; the search engine decides what a match is worth.

use std::sync::OnceLock;

use serde::Serialize;

use crate::known::Text;
use crate::registry::{PortRange, Protocol};

/// The table as shipped.
pub static EMBEDDED_CSV: &str = include_str!("../../assets/aliases.csv");

/// The header the table must start with.
pub const HEADER: [&str; 5] = ["alias", "port", "protocol", "target", "basis"];

/// One alias: `rdp` means `ms-wbt-server` on 3389/tcp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alias {
    /// What people type, lowercase.
    pub alias: Text,
    pub ports: PortRange,
    /// `None` when both TCP and UDP are meant.
    pub protocol: Option<Protocol>,
    /// The name the port goes by: IANA's service name when IANA registered it, else the product.
    pub target: Text,
    /// Why the alias means that port, in a line.
    pub basis: Text,
}

impl Alias {
    pub fn protocols(&self) -> Vec<Protocol> {
        match self.protocol {
            Some(p) => vec![p],
            None => vec![Protocol::Tcp, Protocol::Udp],
        }
    }
}

/// What is wrong with a row, with its line number (1 = the header).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("aliases.csv line {line}: {message}")]
pub struct AliasParseError {
    pub line: u64,
    pub message: String,
}

/// Parse and validate: header, lowercase alias, port or run in range, protocol `tcp`/`udp`/empty,
/// a target and a basis, no duplicate (alias, port, protocol).
pub fn parse(text: &str) -> Result<Vec<Alias>, AliasParseError> {
    let err = |line: u64, message: String| AliasParseError { line, message };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| err(1, e.to_string()))?.clone();
    if header.iter().ne(HEADER) {
        return Err(err(1, format!("header must be {}", HEADER.join(","))));
    }
    let mut out: Vec<Alias> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| err(0, e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let row = row_of(|i| record.get(i).unwrap_or("").trim(), Text::owned)
            .map_err(|m| err(line, m))?;
        if out
            .iter()
            .any(|a| (&a.alias, a.ports, a.protocol) == (&row.alias, row.ports, row.protocol))
        {
            return Err(err(
                line,
                format!("duplicate of {} on {}", row.alias, row.ports),
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
) -> Result<Alias, String> {
    let alias = field(0);
    if alias.is_empty() || alias != alias.to_lowercase() {
        return Err(format!(
            "the alias must be lowercase and not empty, got {alias:?}"
        ));
    }
    let ports = match crate::registry::parse_port_field(field(1)) {
        Ok(Some((start, end))) => PortRange { start, end },
        Ok(None) => return Err("the port is empty".into()),
        Err(m) => return Err(m),
    };
    let protocol = match field(2) {
        "" => None,
        "tcp" => Some(Protocol::Tcp),
        "udp" => Some(Protocol::Udp),
        other => return Err(format!("protocol must be tcp, udp or empty, got {other:?}")),
    };
    for (i, name) in [(3, "target"), (4, "basis")] {
        if field(i).is_empty() {
            return Err(format!("the {name} is empty"));
        }
    }
    Ok(Alias {
        alias: text(alias),
        ports,
        protocol,
        target: text(field(3)),
        basis: text(field(4)),
    })
}

/// The embedded table split into trimmed fields at compile time (build.rs), so a start pays
/// for no CSV parsing and no duplicate check; `parse` checks the same text in the test suite.
static FIELDS: &[[&str; 5]] = include!(concat!(env!("OUT_DIR"), "/alias-fields.rs"));

/// `registry::word_starts` of each embedded alias, noted by build.rs for the search (a test holds
/// them to the table).
static WORD_STARTS: &[u64] = include!(concat!(env!("OUT_DIR"), "/alias-starts.rs"));

/// `registry::word_starts` of each alias of [`table`], in table order.
pub(crate) fn word_starts_table() -> &'static [u64] {
    WORD_STARTS
}

/// The embedded table, read once.
pub fn table() -> &'static [Alias] {
    static TABLE: OnceLock<Vec<Alias>> = OnceLock::new();
    TABLE.get_or_init(|| {
        FIELDS
            .iter()
            .map(|f| {
                row_of(|i| f[i], Text::borrowed)
                    .expect("the embedded alias table is checked by the test suite")
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "alias,port,protocol,target,basis\n";

    #[test]
    fn embedded_table_parses() {
        let rows = parse(EMBEDDED_CSV).unwrap();
        assert!(rows.len() >= 100);
        // What a start reads (split by build.rs) is what the full parser accepts.
        assert_eq!(rows, table());
    }

    #[test]
    fn the_noted_word_starts_are_the_tables() {
        let noted: Vec<u64> = table()
            .iter()
            .map(|a| crate::registry::word_starts(&a.alias))
            .collect();
        assert_eq!(noted, word_starts_table());
    }

    #[test]
    fn bad_rows_say_which_line_and_why() {
        let one = |row: &str| parse(&format!("{HEAD}{row}\n")).unwrap_err();
        assert!(one("RDP,3389,tcp,ms-wbt-server,b")
            .message
            .contains("lowercase"));
        assert!(one("rdp,70000,tcp,ms-wbt-server,b")
            .message
            .contains("65535"));
        assert!(one("rdp,3389,icmp,ms-wbt-server,b")
            .message
            .contains("protocol"));
        assert!(one("rdp,3389,tcp,,b").message.contains("target"));
        assert_eq!(one("rdp,3389,tcp,x,").line, 2);
        let dup = parse(&format!("{HEAD}rdp,3389,tcp,a,b\nrdp,3389,tcp,c,d\n")).unwrap_err();
        assert_eq!(dup.line, 3);
        assert!(parse("alias,port\nx,1\n").unwrap_err().line == 1);
    }
}
