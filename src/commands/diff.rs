//! `portscope diff OLD NEW`: what changed between two snapshots of a machine's listeners. Exit 0
//! when nothing did, 1 when something did, 2 when a snapshot cannot be read, so that cron can
//! compare today's snapshot with a baseline: `portscope diff base.json <(portscope snapshot)`.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::process::ExitCode;

use super::{CmdResult, Context};
use crate::cli::DiffArgs;
use crate::hints::Assessor;
use crate::sockets::diff::{describe, diff, ChangeKind, Changes};
use crate::sockets::{Snapshot, Socket};
use crate::text::escape;

pub fn run(ctx: &Context, args: &DiffArgs) -> CmdResult {
    let old = super::view::load(&args.old)?.snapshot;
    let new = super::view::load(&args.new)?.snapshot;
    let registry = ctx.registry()?;
    // Each snapshot is indexed once; the hint ids of a socket are then looked up per socket.
    let old_hints = Assessor::new(&registry, &old);
    let new_hints = Assessor::new(&registry, &new);
    let hint_ids = |snapshot: &Snapshot, socket: &Socket| -> BTreeSet<String> {
        let assessor = if std::ptr::eq(snapshot, &old) {
            &old_hints
        } else {
            &new_hints
        };
        hint_ids(assessor, socket)
    };
    let changes = diff(&old, &new, &hint_ids);
    let mut out = io::stdout().lock();
    if ctx.json {
        crate::text::write_json(&mut out, &changes)?;
    } else {
        write_report(&mut out, &changes)?;
    }
    Ok(if changes.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn hint_ids(assessor: &Assessor, socket: &Socket) -> BTreeSet<String> {
    // Rules about time ("started recently") say nothing about drift between two snapshots.
    const NOT_DRIFT: &[&str] = &["started-recently"];
    assessor
        .flags(socket)
        .into_iter()
        .map(|f| f.id)
        .filter(|id| !NOT_DRIFT.contains(id))
        .map(String::from)
        .collect()
}

/// One line per change, most telling first: widened binds and new owners are what a baseline
/// check is for.
fn write_report(out: &mut impl Write, changes: &Changes) -> io::Result<()> {
    if changes.is_empty() {
        return writeln!(
            out,
            "No change: the same listeners, held by the same programs."
        );
    }
    for s in &changes.opened {
        writeln!(out, "+ opened   {:<28} {}", describe(s), owners(s))?;
    }
    for s in &changes.closed {
        writeln!(out, "- closed   {:<28} {}", describe(s), owners(s))?;
    }
    for c in &changes.changed {
        for what in &c.what {
            let line = match what {
                ChangeKind::BindWidened { from, to } => format!("bind widened from {from} to {to}"),
                ChangeKind::Rebound { from, to } => format!("moved from {from} to {to}"),
                ChangeKind::OwnerChanged { from, to } => {
                    format!(
                        "owner {} -> {}",
                        escape(&from.join(", ")),
                        escape(&to.join(", "))
                    )
                }
                ChangeKind::UserChanged { from, to } => {
                    format!(
                        "user {} -> {}",
                        escape(&from.join(", ")),
                        escape(&to.join(", "))
                    )
                }
                ChangeKind::NewHints { ids } => format!("new hints: {}", ids.join(", ")),
            };
            writeln!(out, "~ changed  {:<28} {line}", describe(&c.after))?;
        }
    }
    let n = |v: usize, what: &str| format!("{v} {what}");
    writeln!(
        out,
        "{}, {}, {}.",
        n(changes.opened.len(), "opened"),
        n(changes.closed.len(), "closed"),
        n(changes.changed.len(), "changed")
    )
}

fn owners(s: &Socket) -> String {
    if s.owners.is_empty() {
        return s.owner_unknown.map_or("-", |u| u.explain()).to_string();
    }
    let names: Vec<String> = s
        .owners
        .iter()
        .map(|o| format!("{} ({})", escape(&o.name), o.pid))
        .collect();
    names.join(", ")
}
