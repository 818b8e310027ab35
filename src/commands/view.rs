//! `portscope view FILE|-`: a saved snapshot in the explorer, read-only (no refresh, no signals),
//! with this machine's registry and rules. `ssh host portscope snapshot | portscope view -` is how
//! a remote machine is inspected where nothing can be installed but one binary. Without a
//! terminal it prints the snapshot's rows as `list` would.

use std::io::Read;
use std::process::ExitCode;

use super::{list, CmdResult, Context, Failure};
use crate::cli::{ListArgs, ViewArgs};
use crate::sockets::{Collector, FixtureCollector};

pub fn run(ctx: &Context, args: &ViewArgs) -> CmdResult {
    let collector = load(&args.file)?;
    let host = &collector.snapshot.host;
    if !crate::tui::terminal_available_for_keys_from_tty() || ctx.json {
        let registry = ctx.registry()?;
        let list_args = ListArgs {
            all: host.includes_connections,
            ..ListArgs::default()
        };
        let mut collector = collector;
        let snapshot = collector
            .collect()
            .map_err(|e| Failure::Usage(e.to_string()))?;
        return list::print(ctx, &list_args, &registry, snapshot).map(|_| ExitCode::SUCCESS);
    }
    // The header adds when it was taken; the view escapes the hostname.
    let title = format!("snapshot of {}", host.hostname);
    super::explored(crate::tui::run_with(
        ctx.registry()?,
        Box::new(collector),
        None,
        &title,
        true,
    ))
}

/// Read a snapshot from a file, or from standard input for `-`. Every failure is a usage error
/// naming the file: the user gave the wrong thing.
pub fn load(path: &std::path::Path) -> Result<FixtureCollector, Failure> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).map_err(|e| {
            Failure::Usage(format!("standard input: cannot read the snapshot: {e}"))
        })?;
        return FixtureCollector::from_json(&bytes, "standard input")
            .map_err(|e| Failure::Usage(e.to_string()));
    }
    FixtureCollector::from_file(path).map_err(|e| Failure::Usage(e.to_string()))
}
