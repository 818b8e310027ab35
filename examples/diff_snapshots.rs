//! Write the two snapshots `cargo bench --bench diff` compares, to time the whole command:
//!
//! ```text
//! cargo run --release --example diff_snapshots -- OLD.json NEW.json
//! /usr/bin/time -f '%e s %U user %M KB' portscope diff OLD.json NEW.json >/dev/null
//! ```
//!
//! 100,000 listeners each; 1% closed, opened, widened and taken over (see the bench).

use std::io::Write;

#[path = "../benches/support/drifted.rs"]
mod drifted;

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let [old_path, new_path] = paths.as_slice() else {
        eprintln!("usage: diff_snapshots OLD.json NEW.json");
        std::process::exit(2);
    };
    let (old, new) = drifted::drifted_pair();
    for (path, snapshot) in [(old_path, &old), (new_path, &new)] {
        let written = std::fs::File::create(path).and_then(|file| {
            let mut out = std::io::BufWriter::new(file);
            serde_json::to_writer(&mut out, snapshot)?;
            out.flush()
        });
        if let Err(e) = written {
            eprintln!("diff_snapshots: {path}: {e}");
            std::process::exit(1);
        }
    }
}
