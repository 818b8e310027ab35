//! `portscope diff OLD NEW`: what changed between two snapshots of a machine's listeners. Exit 0
//! when nothing did, 1 when something did, 2 when a snapshot cannot be read, so that cron can
//! compare today's snapshot with a baseline: `portscope diff base.json <(portscope snapshot)`.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::process::ExitCode;

use super::{CmdResult, Context};
use crate::cli::DiffArgs;
use crate::hints::{self, Assessor};
use crate::registry::Registry;
use crate::sockets::diff::{describe, diff, ChangeKind, Changes, NewHints};
use crate::sockets::{Snapshot, Socket};
use crate::text::escape;

pub fn run(ctx: &Context, args: &DiffArgs) -> CmdResult {
    let (Some(old), Some(new)) = (&args.old, &args.new) else {
        return match &args.fleet {
            Some(dir) => super::fleet::run(ctx, dir, args.max_hosts),
            None => super::usage("diff needs two snapshots (OLD NEW) or --fleet DIR"),
        };
    };
    let old = super::view::load(old)?.snapshot;
    let new = super::view::load(new)?.snapshot;
    let registry = ctx.registry()?;
    let changes = changes(&registry, &old, &new);
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

/// What changed between `old` and `new`, hints judged with `registry`: the whole of `diff` but
/// reading and printing (the benchmark's subject).
pub fn changes(registry: &Registry, old: &Snapshot, new: &Snapshot) -> Changes {
    diff(old, new, &mut Drift::new(registry, old, new))
}

/// The hints of both snapshots, asked only about the pairs whose hints can differ: each of
/// those listeners assessed once (assessing every socket of both snapshots took seconds).
struct Drift<'r, 's> {
    before: Assessor<'r, 's>,
    after: Assessor<'r, 's>,
    host_differs: bool,
}

impl<'r, 's> Drift<'r, 's> {
    fn new(registry: &'r Registry, old: &'s Snapshot, new: &'s Snapshot) -> Self {
        Drift {
            before: Assessor::new(registry, old),
            after: Assessor::new(registry, new),
            host_differs: !hints::same_host_inputs(&old.host, &new.host),
        }
    }
}

impl NewHints for Drift<'_, '_> {
    fn host_differs(&self) -> bool {
        self.host_differs
    }

    fn new_hints(&mut self, before: &Socket, after: &Socket) -> Vec<String> {
        hint_ids(&self.after, after)
            .difference(&hint_ids(&self.before, before))
            .map(|id| id.to_string())
            .collect()
    }
}

/// The ids of the hints that fire for `socket`. Rules about time ("started recently") say
/// nothing about drift between two snapshots.
fn hint_ids(assessor: &Assessor, socket: &Socket) -> BTreeSet<&'static str> {
    assessor
        .flags(socket)
        .into_iter()
        .map(|f| f.id)
        .filter(|id| !hints::CLOCK_RULES.contains(id))
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
