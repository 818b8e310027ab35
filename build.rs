//! Parse the embedded tables at compile time so that no command pays for parsing CSV at start (a
//! `lookup` must finish in a few milliseconds):
//! - the IANA registry (1 MB), with the same parser and encoder imports use at run time, into
//!   the flat tables and port indexes a run reads in place; a malformed asset fails the build
//!   with the parser's line-numbered message;
//! - the known uses and the alias table, split into trimmed fields and emitted as static arrays
//!   of string slices. Their meaning (ports, protocol, grade) is still read by `known` and
//!   `search::aliases`, with the same functions that read a CSV; the unit tests parse the CSVs in
//!   full (every check) and assert that the static tables say the same.

use std::fmt::Write as _;
use std::path::PathBuf;

#[allow(dead_code)]
#[path = "src/registry/parse.rs"]
mod parse;

const ASSET: &str = "assets/service-names-port-numbers.csv";
const KNOWN: &str = "assets/known-ports.csv";
const ALIASES: &str = "assets/aliases.csv";

fn main() {
    for path in [ASSET, KNOWN, ALIASES, "src/registry/parse.rs"] {
        println!("cargo:rerun-if-changed={path}");
    }
    let bytes = std::fs::read(ASSET).unwrap_or_else(|e| panic!("{ASSET}: {e}"));
    let table = parse::parse_table(&bytes).unwrap_or_else(|e| panic!("{ASSET}: {e}"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("registry-arena.txt"), &table.arena).expect("write arena");
    let encoded = parse::encode(&table);
    for (name, bytes) in [
        ("registry-rows.bin", &encoded.rows),
        ("registry-singles.bin", &encoded.singles),
        ("registry-ranges.bin", &encoded.ranges),
        ("registry-occupied.bin", &encoded.occupied),
    ] {
        std::fs::write(out.join(name), bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let (fields, starts) = fields_source(KNOWN, 7, &[2, 5]);
    std::fs::write(out.join("known-fields.rs"), fields).expect("write known");
    std::fs::write(out.join("known-starts.rs"), starts).expect("write known");
    let (fields, starts) = fields_source(ALIASES, 5, &[0]);
    std::fs::write(out.join("alias-fields.rs"), fields).expect("write aliases");
    std::fs::write(out.join("alias-starts.rs"), starts).expect("write aliases");
}

/// `&[[&str; N]]` literal of a CSV's rows after the header, each field trimmed, and a literal of
/// each row's `word_starts` of the `searched` columns (a `u64`, or a tuple of them) for the
/// search. A row with another number of fields fails the build; everything else is judged by
/// the crate's parser.
fn fields_source(path: &str, columns: usize, searched: &[usize]) -> (String, String) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_path(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut src = String::from("&[\n");
    let mut starts = String::from("&[\n");
    for record in reader.records() {
        let record = record.unwrap_or_else(|e| panic!("{path}: {e}"));
        let line = record.position().map_or(0, |p| p.line());
        assert!(
            record.len() == columns,
            "{path} line {line}: {} fields, expected {columns}",
            record.len()
        );
        src.push('[');
        for field in record.iter() {
            write!(src, "{:?},", field.trim()).expect("write to a String");
        }
        src.push_str("],\n");
        let bits: Vec<String> = searched
            .iter()
            .map(|&i| parse::word_starts(record[i].trim()).to_string())
            .collect();
        match bits.as_slice() {
            [one] => writeln!(starts, "{one},"),
            many => writeln!(starts, "({}),", many.join(", ")),
        }
        .expect("write to a String");
    }
    src.push(']');
    starts.push(']');
    (src, starts)
}
