//! `portscope view FILE|-`: a saved snapshot in the explorer, read-only (no refresh, no signals),
//! with this machine's registry and rules. `ssh host portscope snapshot | portscope view -` is how
//! a remote machine is inspected where nothing can be installed but one binary. Without a
//! terminal it prints the snapshot's rows as `list` would.

use std::process::ExitCode;

use super::{list, CmdResult, Context, Failure};
use crate::cli::{ListArgs, ViewArgs};
use crate::facts::FactsTable;
use crate::sockets::{Collector, FixtureCollector};
use crate::text::escape;

pub fn run(ctx: &Context, args: &ViewArgs) -> CmdResult {
    let collector = load(&args.file)?;
    let host = &collector.snapshot.host;
    if !crate::tui::terminal_available_for_keys_from_tty() || ctx.json {
        let registry = ctx.registry()?;
        let list_args = ListArgs {
            all: host.includes_connections,
            // A snapshot shows every namespace it holds, each with its tag.
            netns: Some("all".into()),
            ..ListArgs::default()
        };
        let facts = FactsTable::from_recorded(collector.facts.clone());
        let mut collector = collector;
        let snapshot = collector
            .collect()
            .map_err(|e| Failure::Usage(escape(&e.to_string()).into_owned()))?;
        return list::print(ctx, &list_args, &registry, snapshot, Some(facts))
            .map(|_| ExitCode::SUCCESS);
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

/// Read a snapshot from a file, or from standard input for `-`, at most
/// [`SNAPSHOT_LIMIT`](crate::files::SNAPSHOT_LIMIT) bytes. Every failure is a usage error naming
/// the file (the user gave the wrong thing); the message quotes the file's name and contents, so
/// it is escaped here, once.
pub fn load(path: &std::path::Path) -> Result<FixtureCollector, Failure> {
    use crate::files::{read_capped, read_stdin_capped, SNAPSHOT_LIMIT};
    const WHAT: &str = "a snapshot";
    let (bytes, origin) = if path.as_os_str() == "-" {
        (
            read_stdin_capped(SNAPSHOT_LIMIT, WHAT),
            "standard input".to_string(),
        )
    } else {
        (
            read_capped(path, SNAPSHOT_LIMIT, WHAT),
            path.display().to_string(),
        )
    };
    let usage = |msg: String| Failure::Usage(escape(&msg).into_owned());
    let bytes = bytes.map_err(|e| usage(format!("{origin}: {e}")))?;
    FixtureCollector::from_json(&bytes, &origin).map_err(|e| usage(e.to_string()))
}
