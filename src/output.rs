//! Tables, JSON and CSV over the shared row types. Every untrusted string passes through
//! `text::escape` (tables, CSV) or `text::write_json` (JSON) on its way out.

use std::io::{self, IsTerminal, Write};
use std::path::Path;

/// The width a table may use: the terminal's when stdout is one (at least 40 columns); `None`
/// when the output is piped, where lines are never cut (a script wants whole fields).
pub fn table_width() -> Option<usize> {
    if !io::stdout().is_terminal() {
        return None;
    }
    crossterm::terminal::size()
        .ok()
        .map(|(w, _)| usize::from(w).max(40))
}

/// A column of a plain-text table.
pub struct Column {
    pub title: &'static str,
    /// Minimum width; the widest cell decides beyond it.
    pub min: usize,
    /// Whether this column gives up width first when the table is too wide.
    pub shrinks: bool,
}

/// Print rows (already escaped) as aligned columns, fitted to `width` when given by shrinking the
/// columns marked `shrinks`.
pub fn write_table(
    out: &mut impl Write,
    columns: &[Column],
    rows: &[Vec<String>],
    width: Option<usize>,
) -> io::Result<()> {
    let mut widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|r| crate::text::width(&r[i]))
                .max()
                .unwrap_or(0)
                .max(c.title.len())
                .max(c.min)
        })
        .collect();
    if let Some(limit) = width {
        let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * (w.len().saturating_sub(1));
        while total(&widths) > limit {
            // Take a cell from the widest shrinkable column until it fits (or nothing can give).
            let Some((i, _)) = widths
                .iter()
                .enumerate()
                .filter(|(i, w)| {
                    columns[*i].shrinks && **w > columns[*i].min.max(columns[*i].title.len())
                })
                .max_by_key(|(_, w)| **w)
            else {
                break;
            };
            widths[i] -= 1;
        }
    }
    let last = columns.len() - 1;
    let line = |cells: Vec<&str>| -> String {
        let mut s = String::new();
        for (i, cell) in cells.into_iter().enumerate() {
            if i == last {
                s.push_str(&crate::text::truncate(cell, widths[i]));
            } else {
                s.push_str(&crate::text::fit(cell, widths[i]));
                s.push_str("  ");
            }
        }
        s.trim_end().to_string()
    };
    writeln!(out, "{}", line(columns.iter().map(|c| c.title).collect()))?;
    for row in rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// Write a CSV of already-escaped cells.
pub fn write_csv(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(header).map_err(csv_to_io)?;
    for row in rows {
        w.write_record(row).map_err(csv_to_io)?;
    }
    w.flush()
}

/// Keep the kind of the writer's I/O error: wrapped in `csv::Error` its kind reads as `Other`, and a
/// closed pipe (`list --csv | head`) would be reported as a failure instead of a finished reader.
fn csv_to_io(err: csv::Error) -> io::Error {
    let kind = match err.kind() {
        csv::ErrorKind::Io(e) => e.kind(),
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, err)
}

/// Write `bytes` to `dest` through a temp file in the same directory and a rename, so readers see
/// the old file or the new one, never half of one, and a failure leaves the old file as it was.
pub fn write_atomically(dest: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = dest
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(dest).map_err(|e| e.error)?;
    Ok(())
}
