//! `portscope registry info | import FILE | reset`.

use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;

use super::{CmdResult, Context};
use crate::cli::{RegistryAction, RegistryArgs};
use crate::registry::{store, Source};
use crate::text::escape;

#[derive(Serialize)]
struct Info<'a> {
    source: &'a Source,
    rows: usize,
    newest_date: Option<&'a str>,
    named_rows: usize,
    range_rows: usize,
    name_only_rows: usize,
    import_path: Option<String>,
}

pub fn run(ctx: &Context, args: &RegistryArgs) -> CmdResult {
    let mut out = io::stdout().lock();
    match &args.action {
        RegistryAction::Info => {
            let registry = ctx.registry()?;
            let info = Info {
                source: registry.source(),
                rows: registry.len(),
                newest_date: registry.newest_date(),
                named_rows: registry.entries().filter(|e| !e.service.is_empty()).count(),
                range_rows: registry
                    .entries()
                    .filter(|e| e.ports.is_some_and(|p| !p.is_single()))
                    .count(),
                name_only_rows: registry.entries().filter(|e| e.ports.is_none()).count(),
                import_path: store::imported_path().map(|p| p.display().to_string()),
            };
            if ctx.json {
                crate::text::write_json(&mut out, &info)?;
            } else {
                writeln!(out, "Source:        {}", info.source)?;
                writeln!(
                    out,
                    "Rows:          {} ({} named, {} port ranges, {} without a port)",
                    info.rows, info.named_rows, info.range_rows, info.name_only_rows
                )?;
                writeln!(
                    out,
                    "Newest date:   {} (newest registration or modification date in the data)",
                    info.newest_date.unwrap_or("unknown")
                )?;
                if matches!(info.source, Source::Embedded) {
                    writeln!(out, "Note:          columns 5-12 are as of 2015-07 and empty for later registrations;")?;
                    writeln!(out, "               import IANA's current CSV with `portscope registry import FILE`.")?;
                }
                if let Some(p) = &info.import_path {
                    writeln!(out, "Import path:   {}", escape(p))?;
                }
            }
        }
        RegistryAction::Import { file } => {
            let (registry, dest) = store::import(file)?;
            if ctx.json {
                crate::text::write_json(
                    &mut out,
                    &serde_json::json!({"imported": dest.display().to_string(), "rows": registry.len(), "newest_date": registry.newest_date()}),
                )?;
            } else {
                writeln!(
                    out,
                    "Imported {} rows (newest date {}) into {}; portscope uses it from now on.",
                    registry.len(),
                    registry.newest_date().unwrap_or("unknown"),
                    escape(&dest.display().to_string())
                )?;
            }
        }
        RegistryAction::Reset => {
            let removed = store::reset()?;
            if ctx.json {
                let removed = removed.map(|p| p.display().to_string());
                crate::text::write_json(&mut out, &serde_json::json!({ "removed": removed }))?;
            } else if let Some(path) = removed {
                let path = escape(&path.display().to_string()).into_owned();
                writeln!(
                    out,
                    "Removed {path}; portscope uses its embedded registry again."
                )?;
            } else {
                writeln!(
                    out,
                    "No imported registry; portscope already uses its embedded copy."
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
