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
use crate::hints::{self, Assessor};
use crate::policy::{Expected, Marker};
use crate::registry::Registry;
use crate::sockets::diff::{describe, diff, held_changes, ChangeKind, Changes, Held, NewHints};
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
    let (old, new) = load_both(old, new);
    let ((old, old_facts), (new, new_facts)) = (loaded(old?), loaded(new?));
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

/// Both snapshots, read and parsed side by side: for two of 100,000 listeners each, parsing is
/// most of what `diff` does. (Errors are reported old first, as when they were read in turn.)
fn load_both(
    old: &std::path::Path,
    new: &std::path::Path,
) -> (
    Result<crate::sockets::FixtureCollector, Failure>,
    Result<crate::sockets::FixtureCollector, Failure>,
) {
    if old.as_os_str() == "-" && new.as_os_str() == "-" {
        // Both from standard input: the first takes it all, as it always did.
        return (super::view::load(old), super::view::load(new));
    }
    std::thread::scope(|scope| {
        let old = scope.spawn(|| super::view::load(old));
        let new = super::view::load(new);
        let old = old
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (old, new)
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
    diff(old, new, &mut Drift::new(registry, old, new))
}

/// [`changes`], also comparing the package, unit and container of each pair of listeners where
/// both snapshots recorded them (and judging the hints that read those facts).
pub fn changes_with(
    registry: &Registry,
    old: &Snapshot,
    new: &Snapshot,
    old_facts: &FactsTable,
    new_facts: &FactsTable,
) -> Changes {
    diff(
        old,
        new,
        &mut Drift::new(registry, old, new).with_facts(old_facts, new_facts),
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

/// The hints of both snapshots, asked only about the pairs whose hints can differ: each of
/// those listeners assessed once (assessing every socket of both snapshots took seconds).
struct Drift<'r, 's> {
    before: Assessor<'r, 's>,
    after: Assessor<'r, 's>,
    host_differs: bool,
    /// What runs the listeners of each snapshot, when they were recorded.
    facts: Option<(&'s FactsTable, &'s FactsTable)>,
}

impl<'r, 's> Drift<'r, 's> {
    fn new(registry: &'r Registry, old: &'s Snapshot, new: &'s Snapshot) -> Self {
        // Each assessor indexes its snapshot: for big ones, side by side.
        let (before, after) = if old.sockets.len() + new.sockets.len() < 2_000 {
            (Assessor::new(registry, old), Assessor::new(registry, new))
        } else {
            std::thread::scope(|scope| {
                let before = scope.spawn(|| Assessor::new(registry, old));
                let after = Assessor::new(registry, new);
                let before = before
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (before, after)
            })
        };
        Drift {
            before,
            after,
            host_differs: !hints::same_host_inputs(&old.host, &new.host),
            facts: None,
        }
    }

    /// Judge with each snapshot's owners' facts too.
    fn with_facts(mut self, old: &'s FactsTable, new: &'s FactsTable) -> Self {
        self.before = self.before.with_facts(old);
        self.after = self.after.with_facts(new);
        self.facts = Some((old, new));
        self
    }
}

impl NewHints for Drift<'_, '_> {
    fn host_differs(&self) -> bool {
        self.host_differs
    }

    fn holder_changes(&self, before: &Socket, after: &Socket) -> Vec<ChangeKind> {
        match self.facts {
            Some((old, new)) => held_changes(held(old, before), held(new, after)),
            None => Vec::new(),
        }
    }

    fn new_hints(&mut self, before: &Socket, after: &Socket) -> Vec<String> {
        new_ids(self.before.flags(before), self.after.flags(after))
    }

    /// Each snapshot's listeners flagged in one go, which splits a big batch over two threads.
    fn new_hints_each(&mut self, pairs: &[(&Socket, &Socket)]) -> Vec<Vec<String>> {
        let (before, after): (Vec<&Socket>, Vec<&Socket>) = pairs.iter().copied().unzip();
        let before = self.before.flags_each(&before);
        let after = self.after.flags_each(&after);
        before
            .into_iter()
            .zip(after)
            .map(|(b, a)| new_ids(b, a))
            .collect()
    }
}

/// The ids of the hints among `after` that are not among `before`, sorted. Rules about time
/// ("started recently") say nothing about drift between two snapshots.
fn new_ids(before: hints::Flags, after: hints::Flags) -> Vec<String> {
    let ids = |flags: &[hints::Flag]| -> BTreeSet<&'static str> {
        flags
            .iter()
            .map(|f| f.id)
            .filter(|id| !hints::CLOCK_RULES.contains(id))
            .collect()
    };
    ids(&after)
        .difference(&ids(&before))
        .map(|id| id.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{PortRange, Protocol};
    use crate::sockets::diff::{diff_asking_every_pair, Change};
    use crate::sockets::fixtures::{listener, owner, snapshot, tcp};
    use crate::sockets::EphemeralPorts;

    fn registry() -> &'static Registry {
        static REG: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
        REG.get_or_init(Registry::embedded)
    }

    fn new_hints_of<'c>(changes: &'c Changes, port: u16, name: &str) -> Option<&'c [String]> {
        let change: &Change = changes
            .changed
            .iter()
            .find(|c| c.after.local_port == port && c.after.owners[0].name == name)?;
        change.what.iter().find_map(|w| match w {
            ChangeKind::NewHints { ids } => Some(ids.as_slice()),
            _ => None,
        })
    }

    #[test]
    fn a_new_neighbour_on_its_port_gives_an_unchanged_listener_new_hints() {
        let web = tcp("0.0.0.0", 8080, owner(10, "nginx", 33, "/usr/sbin/nginx"));
        let spy = tcp(
            "127.0.0.1",
            8080,
            owner(20, "nc", 1000, "/usr/bin/nc.openbsd"),
        );
        let old = snapshot(vec![web.clone()]);
        let new = snapshot(vec![web, spy]);
        let changes = changes(registry(), &old, &new);
        assert_eq!(changes.opened.len(), 1);
        let ids = new_hints_of(&changes, 8080, "nginx").expect("nginx's hints changed");
        assert!(ids.iter().any(|id| id == "shared-port"), "{ids:?}");
    }

    #[test]
    fn a_wider_ephemeral_range_gives_unchanged_listeners_new_hints() {
        let app = tcp("0.0.0.0", 40000, owner(10, "app", 1000, "/usr/bin/app"));
        let mut old = snapshot(vec![app.clone()]);
        let mut new = snapshot(vec![app]);
        let range = |start, end| EphemeralPorts {
            range: PortRange { start, end },
            reserved: vec![],
        };
        old.host.ephemeral_ports = Some(range(50000, 60999));
        new.host.ephemeral_ports = Some(range(32768, 60999));
        let changes = changes(registry(), &old, &new);
        assert_eq!(
            new_hints_of(&changes, 40000, "app"),
            Some(&["ephemeral-range-listener".to_string()][..])
        );
        // The clock alone changes nothing.
        new.host.ephemeral_ports = old.host.ephemeral_ports.clone();
        new.host.taken_at += 3600;
        assert!(super::changes(registry(), &old, &new).is_empty());
    }

    fn arbitrary_listener() -> impl proptest::strategy::Strategy<Value = Socket> {
        use proptest::prelude::*;
        (any::<bool>(), 0usize..3, 0usize..4, 0usize..4, 0u32..3).prop_map(
            |(udp, addr, port, who, pid)| {
                let addr = ["127.0.0.1", "0.0.0.0", "10.0.0.1"][addr];
                let port = [22, 80, 6379, 40000][port];
                let (name, uid, exe) = [
                    ("sshd", 0, "/usr/sbin/sshd"),
                    ("nginx", 33, "/usr/sbin/nginx"),
                    ("nc", 1000, "/usr/bin/nc.openbsd"),
                    ("python3", 1000, "/tmp/x/python3"),
                ][who];
                let proto = if udp { Protocol::Udp } else { Protocol::Tcp };
                listener(
                    proto,
                    addr,
                    port,
                    vec![owner(100 * who as u32 + pid, name, uid, exe)],
                )
            },
        )
    }

    proptest::proptest! {
        /// Assessing only the listeners whose hints can differ reports exactly what assessing
        /// every pair does, whatever opened, closed, moved or changed hands around them.
        #[test]
        fn assessing_only_what_changed_reports_what_assessing_everything_did(
            kept in proptest::collection::vec(arbitrary_listener(), 0..12),
            gone in proptest::collection::vec(arbitrary_listener(), 0..4),
            came in proptest::collection::vec(arbitrary_listener(), 0..4),
            altered in proptest::collection::vec((0usize..12, arbitrary_listener()), 0..4),
            wider_range in proptest::prelude::any::<bool>(),
        ) {
            let mut old_sockets = kept.clone();
            old_sockets.extend(gone);
            let mut new_sockets = kept;
            for (at, s) in altered {
                if let Some(slot) = new_sockets.get_mut(at) {
                    *slot = s;
                }
            }
            new_sockets.extend(came);
            new_sockets.reverse();
            let (old, mut new) = (snapshot(old_sockets), snapshot(new_sockets));
            if wider_range {
                new.host.ephemeral_ports = Some(EphemeralPorts {
                    range: PortRange { start: 1024, end: 65535 },
                    reserved: vec![],
                });
            }
            let fast = diff(&old, &new, &mut Drift::new(registry(), &old, &new));
            let full = diff_asking_every_pair(&old, &new, &mut Drift::new(registry(), &old, &new));
            proptest::prop_assert_eq!(fast, full);
        }
    }
}
