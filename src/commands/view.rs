//! `portscope view FILE|-`: a saved snapshot in the explorer, read-only (no refresh, no signals),
//! with this machine's registry and rules. `ssh host portscope snapshot | portscope view -` is how
//! a remote machine is inspected where nothing can be installed but one binary. Without a
//! terminal it prints the snapshot's rows as `list` would.
//!
//! `portscope view DIR` (or several files): the fleet view over one snapshot per host. A file in
//! a directory that is not a readable snapshot is skipped, named on stderr and in the view's
//! header (one failed fetch should not hide the other hosts); a file named on the command line
//! must read, or the command stops with exit 2 naming it. Both before the terminal is touched.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{list, CmdResult, Context, Failure};
use crate::cli::{ListArgs, ViewArgs};
use crate::facts::FactsTable;
use crate::remote::fleet::{self, OnBadFile};
use crate::sockets::{Collector, FixtureCollector};
use crate::text::escape;

pub fn run(ctx: &Context, args: &ViewArgs) -> CmdResult {
    match &args.files[..] {
        [one] if !one.is_dir() => view_one(ctx, one),
        inputs => view_fleet(ctx, inputs),
    }
}

fn view_fleet(ctx: &Context, inputs: &[PathBuf]) -> CmdResult {
    if inputs.iter().any(|p| p.as_os_str() == "-") {
        return super::usage(
            "- (standard input) opens one snapshot on its own; a fleet is a directory or several files",
        );
    }
    let mut files = Vec::new();
    for input in inputs {
        if !input.is_dir() {
            files.push(input.clone());
            continue;
        }
        let found = fleet::snapshot_files(input).map_err(super::fleet::failure)?;
        if found.is_empty() {
            return super::usage(format!(
                "{} holds no snapshots (*.json): write one per host with `portscope snapshot -o DIR/HOST.json`, or collect them with the Ansible example (examples/ansible)",
                escape(&input.display().to_string())
            ));
        }
        files.extend(found);
    }
    let bad = if inputs.iter().all(|p| p.is_dir()) {
        OnBadFile::Skip
    } else {
        OnBadFile::Fail
    };
    let fleet = fleet::load(&files, bad).map_err(super::fleet::failure)?;
    for s in &fleet.skipped {
        eprintln!(
            "portscope: skipped {}: {}",
            escape(&s.path.display().to_string()),
            escape(&s.why)
        );
    }
    for note in &fleet.notes {
        eprintln!("portscope: {}", escape(note));
    }
    if !crate::tui::terminal_available() || ctx.json {
        return super::fleet::print_fleet(ctx, &fleet);
    }
    let source = match inputs {
        [dir] => dir.display().to_string(),
        _ => format!("{} files", inputs.len()),
    };
    super::explored(crate::tui::fleet::run_fleet(
        ctx.registry()?,
        fleet,
        &source,
    ))
}

fn view_one(ctx: &Context, file: &Path) -> CmdResult {
    let collector = load(file)?;
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
        return list::print(ctx, &list_args, &registry, snapshot, facts).map(|_| ExitCode::SUCCESS);
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
