//! Parse the embedded IANA registry at compile time, with the same parser imports use at run time,
//! so that no command pays for parsing 1 MB of CSV (a `lookup` must finish in a few milliseconds).
//! A malformed asset fails the build with the parser's line-numbered message.

use std::path::PathBuf;

#[allow(dead_code)]
#[path = "src/registry/parse.rs"]
mod parse;

const ASSET: &str = "assets/service-names-port-numbers.csv";

fn main() {
    println!("cargo:rerun-if-changed={ASSET}");
    println!("cargo:rerun-if-changed=src/registry/parse.rs");
    let bytes = std::fs::read(ASSET).unwrap_or_else(|e| panic!("{ASSET}: {e}"));
    let table = parse::parse_table(&bytes).unwrap_or_else(|e| panic!("{ASSET}: {e}"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("registry-arena.txt"), &table.arena).expect("write arena");
    std::fs::write(
        out.join("registry-rows.bin"),
        parse::encode_rows(&table.rows),
    )
    .expect("write rows");
}
