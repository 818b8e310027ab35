//! `portscope diff OLD NEW`: what changed between two snapshots of a machine's listeners. Exit 0
//! when nothing did, 1 when something did, 2 when a snapshot cannot be read, so that cron can
//! compare today's snapshot with a baseline: `portscope diff base.json <(portscope snapshot)`.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;

use super::{CmdResult, Context, Failure};
use crate::cli::DiffArgs;
use crate::facts::{Fact, FactsTable, Provenance};
use crate::hints::Assessor;
use crate::policy::{Expected, Marker};
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
    // The file first: a broken one is exit 2 before any snapshot is read.
    let marker = match &args.expected {
        None => None,
        Some(path) => {
            let expected = Expected::find(path.as_deref())
                .map_err(|e| Failure::Usage(escape(&e.to_string()).into_owned()))?;
            Some(Marker::new(expected))
        }
    };
    let (old, old_facts) = loaded(super::view::load(old)?);
    let (new, new_facts) = loaded(super::view::load(new)?);
    let registry = ctx.registry()?;
    let mut changes = changes_with(&registry, &old, &new, &old_facts, &new_facts);
    let left_out = marker
        .as_ref()
        .map(|m| leave_out_expected(m, &new, (&old_facts, &new_facts), &mut changes));
    let mut out = io::stdout().lock();
    if ctx.json {
        match (&marker, &left_out) {
            (Some(m), Some(left_out)) => crate::text::write_json(
                &mut out,
                &WithExpected {
                    changes: &changes,
                    expected_file: m.origin(),
                    left_out_as_expected: left_out,
                },
            )?,
            _ => crate::text::write_json(&mut out, &changes)?,
        }
    } else {
        match (&marker, &left_out) {
            (Some(m), Some(left_out)) if left_out.total() > 0 => {
                if !changes.is_empty() {
                    write_report(&mut out, &changes)?;
                }
                writeln!(
                    out,
                    "{} expected by {} left out ({} opened, {} closed, {} changed){}",
                    plural(left_out.total(), "change"),
                    escape(m.origin()),
                    left_out.opened,
                    left_out.closed,
                    left_out.changed,
                    if changes.is_empty() {
                        ": no unexpected change."
                    } else {
                        "."
                    }
                )?;
            }
            _ => write_report(&mut out, &changes)?,
        }
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

/// How many changes `diff --expected` left out, by kind.
#[derive(Debug, Default, Serialize)]
struct LeftOut {
    opened: usize,
    closed: usize,
    changed: usize,
}

impl LeftOut {
    fn total(&self) -> usize {
        self.opened + self.closed + self.changed
    }
}

/// `diff --expected --json`: the changes that remain, the file, and what was left out.
#[derive(Serialize)]
struct WithExpected<'a> {
    #[serde(flatten)]
    changes: &'a Changes,
    expected_file: &'a str,
    left_out_as_expected: &'a LeftOut,
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Drop the changes the file expects: a listener opened, or changed, that a rule matches (as it
/// is now); a listener closed unless a required rule it matched is now matched by no listener
/// of `new` (then it is missing, which is what a required rule is for).
fn leave_out_expected(
    marker: &Marker,
    new: &Snapshot,
    facts: (&FactsTable, &FactsTable),
    changes: &mut Changes,
) -> LeftOut {
    let (old_facts, new_facts) = facts;
    let missing = marker.missing(&new.sockets, new_facts);
    let expected = |s: &Socket| marker.mark(s, new_facts).is_some_and(|m| m.is_expected());
    let before = (
        changes.opened.len(),
        changes.closed.len(),
        changes.changed.len(),
    );
    changes.opened.retain(|s| !expected(s));
    changes.changed.retain(|c| !expected(&c.after));
    changes
        .closed
        .retain(|s| marker.matches_any(s, &missing, old_facts));
    LeftOut {
        opened: before.0 - changes.opened.len(),
        closed: before.1 - changes.closed.len(),
        changed: before.2 - changes.changed.len(),
    }
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
