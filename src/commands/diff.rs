//! `portscope diff OLD NEW`: what changed between two snapshots of a machine's listeners. Exit 0
//! when nothing did, 1 when something did, 2 when a snapshot cannot be read, so that cron can
//! compare today's snapshot with a baseline: `portscope diff base.json <(portscope snapshot)`.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::process::ExitCode;

use super::{CmdResult, Context};
use crate::cli::DiffArgs;
use crate::facts::{Fact, FactsTable, Provenance};
use crate::hints::Assessor;
use crate::registry::Registry;
use crate::sockets::diff::{describe, diff, diff_held, ChangeKind, Changes, Held};
use crate::sockets::{Snapshot, Socket};
use crate::text::escape;

pub fn run(ctx: &Context, args: &DiffArgs) -> CmdResult {
    let (Some(old), Some(new)) = (&args.old, &args.new) else {
        return match &args.fleet {
            Some(dir) => super::fleet::run(ctx, dir, args.max_hosts),
            None => super::usage("diff needs two snapshots (OLD NEW) or --fleet DIR"),
        };
    };
    let (old, old_facts) = loaded(super::view::load(old)?);
    let (new, new_facts) = loaded(super::view::load(new)?);
    let registry = ctx.registry()?;
    let changes = changes_with(&registry, &old, &new, &old_facts, &new_facts);
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

/// A loaded snapshot and the owners' facts it recorded (unknown for a file older than schema 3).
fn loaded(collector: crate::sockets::FixtureCollector) -> (Snapshot, FactsTable) {
    let facts = FactsTable::from_recorded(collector.facts);
    (collector.snapshot, facts)
}

/// What changed between `old` and `new`, hints judged with `registry`: the whole of `diff` but
/// reading and printing (the benchmark's subject).
pub fn changes(registry: &Registry, old: &Snapshot, new: &Snapshot) -> Changes {
    diff(old, new, &hint_ids(registry, old), &hint_ids(registry, new))
}

/// [`changes`], also comparing the package, unit and container of each pair of listeners where
/// both snapshots recorded them.
pub fn changes_with(
    registry: &Registry,
    old: &Snapshot,
    new: &Snapshot,
    old_facts: &FactsTable,
    new_facts: &FactsTable,
) -> Changes {
    let old_held = |s: &Socket| held(old_facts, s);
    let new_held = |s: &Socket| held(new_facts, s);
    diff_held(
        old,
        new,
        &hint_ids(registry, old),
        &hint_ids(registry, new),
        Some(&old_held),
        Some(&new_held),
    )
}

/// What runs `s` (its first owner) as `facts` has it.
fn held<'a>(facts: &'a FactsTable, s: &Socket) -> Held<'a> {
    let Some(f) = s.owners.first().and_then(|o| facts.owner(o.pid)) else {
        return Held::default();
    };
    Held {
        package: match &f.package {
            Fact::Known(Provenance::Package(p)) => Some(Some(p.name.as_str())),
            Fact::Known(Provenance::NotPackaged { .. }) => Some(None),
            Fact::Unknown(_) => None,
        },
        unit: f.unit.known().map(|u| Some(u.name.as_str())),
        container: f.container.known().map(|c| {
            c.as_ref()
                .map(|c| c.name.known().map_or_else(|| c.short_id(), String::as_str))
        }),
    }
}

/// The ids of the hints that fire for each socket of `snapshot`, by index: every socket assessed
/// once (not once per pair, which made `diff` quadratic in the listeners).
fn hint_ids(registry: &Registry, snapshot: &Snapshot) -> Vec<BTreeSet<String>> {
    // Rules about time ("started recently") say nothing about drift between two snapshots.
    const NOT_DRIFT: &[&str] = &["started-recently"];
    Assessor::new(registry, snapshot)
        .flags_all()
        .into_iter()
        .map(|flags| {
            flags
                .into_iter()
                .map(|f| f.id)
                .filter(|id| !NOT_DRIFT.contains(id))
                .map(String::from)
                .collect()
        })
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
                ChangeKind::HolderChanged { fact, from, to } => format!(
                    "{fact} {} -> {}",
                    escape(from.as_deref().unwrap_or("none")),
                    escape(to.as_deref().unwrap_or("none"))
                ),
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
