//! Comparing two snapshots of one machine: which listeners opened, closed, or changed (another
//! program now owns the port, the bind widened from loopback to every interface, new hints). Pure:
//! the caller says how to find a socket's hints, so this module needs no registry.
//!
//! Only listeners are compared: connections come and go every second and would drown the drift a
//! baseline check is for. A restart of the same program (new pid, same name and executable) is not
//! a change.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::Serialize;

use super::{Snapshot, Socket};

/// What differs between an old and a new snapshot.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Changes {
    pub opened: Vec<Socket>,
    pub closed: Vec<Socket>,
    pub changed: Vec<Change>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.opened.is_empty() && self.closed.is_empty() && self.changed.is_empty()
    }
}

/// One listener present in both snapshots (same protocol and port), and how it differs.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Change {
    pub before: Socket,
    pub after: Socket,
    pub what: Vec<ChangeKind>,
}

#[derive(Debug, Serialize, PartialEq, Eq, Clone)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ChangeKind {
    /// Was reachable only from this machine (loopback) or one address, now from every interface.
    BindWidened { from: IpAddr, to: IpAddr },
    /// Moved to another address without widening.
    Rebound { from: IpAddr, to: IpAddr },
    /// Another program holds it now (names and executables, not pids).
    OwnerChanged { from: Vec<String>, to: Vec<String> },
    /// Held by another user now.
    UserChanged { from: Vec<String>, to: Vec<String> },
    /// Hints that fire now and did not before, by id.
    NewHints { ids: Vec<String> },
    /// What runs it changed: its package, systemd unit or container (`fact`); `None` is none
    /// (no package, no unit, no container). An unknown on either side is not a change.
    HolderChanged {
        fact: &'static str,
        from: Option<String>,
        to: Option<String>,
    },
}

/// What runs a listener, as the caller established it (facts are a layer above this one): each
/// `None` when unknown, `Some(None)` when known to be none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Held<'a> {
    pub package: Option<Option<&'a str>>,
    pub unit: Option<Option<&'a str>>,
    pub container: Option<Option<&'a str>>,
}

/// The facts of `before` and `after` that differ where both are known.
pub fn held_changes(before: Held, after: Held) -> Vec<ChangeKind> {
    [
        ("package", before.package, after.package),
        ("unit", before.unit, after.unit),
        ("container", before.container, after.container),
    ]
    .into_iter()
    .filter_map(|(fact, b, a)| match (b, a) {
        (Some(b), Some(a)) if a != b => Some(ChangeKind::HolderChanged {
            fact,
            from: b.map(str::to_owned),
            to: a.map(str::to_owned),
        }),
        _ => None,
    })
    .collect()
}

/// What `diff` reports as new hints on a listener present in both snapshots. `diff` asks only
/// about pairs where the answer can be other than "none": the hint rules read the listener
/// itself, the other listeners on its protocol and port (`shared-port`) and the host's facts, so
/// when the listener and its port's listeners are equal in both snapshots and the host's facts
/// are too, its hints are the same. A busy host's snapshot holds 100,000 listeners of which a
/// few change; assessing all of them made `diff` take seconds.
pub trait NewHints {
    /// Whether the host facts the rules read differ between the snapshots: then every pair is
    /// asked about, changed or not.
    fn host_differs(&self) -> bool;
    /// The ids of the hints that fire for `after` (a listener of the new snapshot) and did not
    /// for `before` (its partner in the old one), sorted.
    fn new_hints(&mut self, before: &Socket, after: &Socket) -> Vec<String>;
    /// How what runs the pair differs (package, unit, container: facts a layer above this one
    /// establishes); nothing when the caller knows no such facts.
    fn holder_changes(&self, _before: &Socket, _after: &Socket) -> Vec<ChangeKind> {
        Vec::new()
    }
    /// [`NewHints::new_hints`] of each pair, in order: `diff` asks about all of them at once,
    /// so that an implementation can split the work (over threads, say).
    fn new_hints_each(&mut self, pairs: &[(&Socket, &Socket)]) -> Vec<Vec<String>> {
        pairs.iter().map(|(b, a)| self.new_hints(b, a)).collect()
    }
}

/// Compare owners and binds only (what `watch` reports; each event carries its hints anyway).
pub struct NoHints;

impl NewHints for NoHints {
    fn host_differs(&self) -> bool {
        false
    }
    fn new_hints(&mut self, _: &Socket, _: &Socket) -> Vec<String> {
        Vec::new()
    }
}

/// A listener's protocol, port and address as integers ([`sort_key`]), and its index in its
/// snapshot.
type Key = (u32, u128, u32);

/// The listeners of a snapshot, sorted by protocol, port and address: each one's sort key (see
/// [`sort_key`]) and index into `sockets`. The index breaks ties, so sockets with one key keep
/// their snapshot order. The pairing walks the keys, not the sockets: reading the protocol, port
/// and address through 100,000 indices spent its time waiting on memory.
fn sorted_listeners(s: &Snapshot) -> Vec<Key> {
    // Plain integers: comparing `IpAddr`s branches on their kind.
    let mut keyed: Vec<Key> = s
        .sockets
        .iter()
        .enumerate()
        .filter(|(_, s)| s.state.is_listener())
        .map(|(i, s)| {
            let (slot, addr) = sort_key(s);
            (slot, addr, i as u32)
        })
        .collect();
    keyed.sort_unstable();
    keyed
}

/// `(protocol, port, address)` as integers that sort as the tuple does: the protocol, the port
/// and the address's kind (IPv4 before IPv6, as `IpAddr` orders them) in the first, the address
/// in the second.
fn sort_key(s: &Socket) -> (u32, u128) {
    let (v6, addr) = match s.local_addr {
        IpAddr::V4(a) => (0, u128::from(u32::from(a))),
        IpAddr::V6(a) => (1, u128::from(a)),
    };
    let slot = (s.protocol as u32) << 17 | u32::from(s.local_port) << 1 | v6;
    (slot, addr)
}

/// The sorted listeners of both snapshots; of big ones, on two threads.
fn sorted_both(old: &Snapshot, new: &Snapshot) -> (Vec<Key>, Vec<Key>) {
    // Below this many sockets a thread costs more than it saves.
    const ON_TWO_THREADS: usize = 2_000;
    if old.sockets.len() + new.sockets.len() < ON_TWO_THREADS {
        return (sorted_listeners(old), sorted_listeners(new));
    }
    std::thread::scope(|scope| {
        let before = scope.spawn(|| sorted_listeners(old));
        let after = sorted_listeners(new);
        let before = before
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (before, after)
    })
}

/// The protocol and port of a sort key, without the address's kind.
fn slot(key: &Key) -> u32 {
    key.0 >> 1
}

/// The length of the run at the start of `keys` with one protocol and port.
fn run_len(keys: &[Key]) -> usize {
    let Some(first) = keys.first() else {
        return 0;
    };
    keys.iter().take_while(|k| slot(k) == slot(first)).count()
}

/// Whether two runs of listeners on one protocol and port hold equal sockets, compared in
/// snapshot order (the order the hint rules see them in).
fn same_listeners(old: &[Socket], before: &[usize], new: &[Socket], after: &[usize]) -> bool {
    if before.len() != after.len() {
        return false;
    }
    if before.len() == 1 {
        return old[before[0]] == new[after[0]];
    }
    let in_snapshot_order = |run: &[usize]| {
        let mut v = run.to_vec();
        v.sort_unstable();
        v
    };
    let (b, a) = (in_snapshot_order(before), in_snapshot_order(after));
    b.iter().zip(&a).all(|(&b, &a)| old[b] == new[a])
}

/// Compare the listeners of `old` and `new`. Linear in the number of listeners (plus the sort):
/// both lists are sorted by protocol, port and address, so partners are found by walking them
/// side by side, one port at a time, and `hints` is asked only about the pairs that can have
/// new hints (see [`NewHints`]).
pub fn diff(old: &Snapshot, new: &Snapshot, hints: &mut dyn NewHints) -> Changes {
    compare(old, new, hints, false)
}

/// [`diff`] asking `hints` about every pair: what it reported when it assessed both whole
/// snapshots, which the tests hold it to.
#[cfg(test)]
pub(crate) fn diff_asking_every_pair(
    old: &Snapshot,
    new: &Snapshot,
    hints: &mut dyn NewHints,
) -> Changes {
    compare(old, new, hints, true)
}

fn compare(old: &Snapshot, new: &Snapshot, hints: &mut dyn NewHints, every_pair: bool) -> Changes {
    let (before_keys, after_keys) = sorted_both(old, new);
    let index = |keys: &[Key]| -> Vec<usize> { keys.iter().map(|&(_, _, i)| i as usize).collect() };
    let (before, after) = (index(&before_keys), index(&after_keys));
    let (mut before_taken, mut after_taken) = (vec![false; before.len()], vec![false; after.len()]);
    let ask_all = every_pair || hints.host_differs();
    // (old index, new index, whether to ask for new hints). Pairs on the same address come
    // first, then the moved ones, each in the order of the old listeners.
    let mut exact: Vec<(usize, usize, bool)> = Vec::new();
    let mut moved: Vec<(usize, usize, bool)> = Vec::new();

    let (mut bpos, mut apos) = (0, 0);
    while bpos < before.len() && apos < after.len() {
        let (bslot, aslot) = (slot(&before_keys[bpos]), slot(&after_keys[apos]));
        let blen = run_len(&before_keys[bpos..]);
        let alen = run_len(&after_keys[apos..]);
        if bslot < aslot {
            bpos += blen;
            continue;
        }
        if aslot < bslot {
            apos += alen;
            continue;
        }
        // One protocol and port in both: `bpos..bend` and `apos..aend`.
        let (bend, aend) = (bpos + blen, apos + alen);
        let ask = ask_all
            || !same_listeners(
                &old.sockets,
                &before[bpos..bend],
                &new.sockets,
                &after[apos..aend],
            );
        // Same address: the same listener; compare what holds it. Each old listener takes the
        // first unpaired new one with its address.
        let (mut b, mut a) = (bpos, apos);
        while b < bend && a < aend {
            let (bi, ai) = (before[b], after[a]);
            // The keys order addresses as `IpAddr` does, and are equal when they are.
            let (bk, ak) = (
                (before_keys[b].0, before_keys[b].1),
                (after_keys[a].0, after_keys[a].1),
            );
            if bk < ak {
                b += 1;
            } else if ak < bk {
                a += 1;
            } else {
                before_taken[b] = true;
                after_taken[a] = true;
                // A run of one the same in both (`ask` false) is this very pair, equal.
                let single = bend - bpos == 1 && aend - apos == 1;
                exact.push((bi, ai, ask || !single && old.sockets[bi] != new.sockets[ai]));
                b += 1;
                a += 1;
            }
        }
        // Another address on the same protocol and port: the listener moved (a widened bind,
        // most often). The leftovers pair up in order.
        let left_after = (apos..aend).filter(|&a| !after_taken[a]);
        let left_before = (bpos..bend).filter(|&b| !before_taken[b]);
        for (b, a) in left_before.zip(left_after).collect::<Vec<_>>() {
            before_taken[b] = true;
            after_taken[a] = true;
            moved.push((before[b], after[a], true));
        }
        bpos = bend;
        apos = aend;
    }

    // What differs in each pair but its hints, and which pairs to ask about.
    let mut found: Vec<(usize, usize, Vec<ChangeKind>)> = Vec::new();
    let mut asked: Vec<usize> = Vec::new();
    for (bi, ai, ask) in exact.into_iter().chain(moved) {
        let (b, a) = (&old.sockets[bi], &new.sockets[ai]);
        let mut what = Vec::new();
        if a.local_addr != b.local_addr {
            let widened =
                a.is_wildcard() && !b.is_wildcard() || b.is_loopback() && !a.is_loopback();
            what.push(if widened {
                ChangeKind::BindWidened {
                    from: b.local_addr,
                    to: a.local_addr,
                }
            } else {
                ChangeKind::Rebound {
                    from: b.local_addr,
                    to: a.local_addr,
                }
            });
        }
        // The same owners (the common case) cannot differ in program or user: skip building
        // the strings that compare them.
        if a.owners != b.owners {
            let (owners_b, owners_a) = (programs(b), programs(a));
            // An unknown owner on one side is a visibility difference, not a new program.
            if !owners_b.is_empty() && !owners_a.is_empty() && owners_b != owners_a {
                what.push(ChangeKind::OwnerChanged {
                    from: owners_b,
                    to: owners_a,
                });
            }
            let (users_b, users_a) = (users(b), users(a));
            if !users_b.is_empty() && !users_a.is_empty() && users_b != users_a {
                what.push(ChangeKind::UserChanged {
                    from: users_b,
                    to: users_a,
                });
            }
        }
        // A new holder (package, unit, container) can bring hints of its own: ask then too.
        let held = hints.holder_changes(b, a);
        let ask = ask || !held.is_empty();
        what.extend(held);
        if ask {
            asked.push(found.len());
        }
        if ask || !what.is_empty() {
            found.push((bi, ai, what));
        }
    }
    // The hints, of every pair asked about at once.
    let pairs: Vec<(&Socket, &Socket)> = asked
        .iter()
        .map(|&f| (&old.sockets[found[f].0], &new.sockets[found[f].1]))
        .collect();
    for (&f, ids) in asked.iter().zip(hints.new_hints_each(&pairs)) {
        if !ids.is_empty() {
            found[f].2.push(ChangeKind::NewHints { ids });
        }
    }
    let changed = found
        .into_iter()
        .filter(|(_, _, what)| !what.is_empty())
        .map(|(bi, ai, what)| Change {
            before: old.sockets[bi].clone(),
            after: new.sockets[ai].clone(),
            what,
        })
        .collect();
    let unpaired = |order: &[usize], taken: &[bool], snapshot: &Snapshot| -> Vec<Socket> {
        order
            .iter()
            .zip(taken)
            .filter(|(_, &t)| !t)
            .map(|(&i, _)| snapshot.sockets[i].clone())
            .collect()
    };
    Changes {
        opened: unpaired(&after, &after_taken, new),
        closed: unpaired(&before, &before_taken, old),
        changed,
    }
}

/// The programs holding a socket, as "name (exe)", sorted and unique.
fn programs(s: &Socket) -> Vec<String> {
    let set: BTreeSet<String> = s
        .owners
        .iter()
        .map(|o| match &o.exe {
            Some(exe) => format!("{} ({exe})", o.name),
            None => o.name.clone(),
        })
        .collect();
    set.into_iter().collect()
}

fn users(s: &Socket) -> Vec<String> {
    let set: BTreeSet<String> = s.owners.iter().filter_map(|o| o.user.clone()).collect();
    set.into_iter().collect()
}

/// `tcp 0.0.0.0:22` for reports.
pub fn describe(s: &Socket) -> String {
    format!("{} {}", s.protocol, s.local_endpoint())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockets::fixtures::{self, listener, snapshot};
    use crate::sockets::{Owner, Protocol, SocketState};

    /// A fixture owner running `exe` as `user`.
    fn owner(pid: u32, name: &str, exe: &str, user: &str) -> Owner {
        let mut o = fixtures::owner(pid, name, 0, exe);
        o.user = Some(user.into());
        o
    }

    #[test]
    fn a_snapshot_equals_itself() {
        let s = snapshot(vec![
            listener(
                Protocol::Tcp,
                "0.0.0.0",
                22,
                vec![owner(10, "sshd", "/usr/sbin/sshd", "root")],
            ),
            listener(
                Protocol::Udp,
                "127.0.0.1",
                53,
                vec![owner(11, "dnsmasq", "/usr/sbin/dnsmasq", "dnsmasq")],
            ),
        ]);
        assert!(diff(&s, &s, &mut NoHints).is_empty());
    }

    #[test]
    fn a_restart_with_a_new_pid_is_not_a_change() {
        let old = snapshot(vec![listener(
            Protocol::Tcp,
            "0.0.0.0",
            22,
            vec![owner(10, "sshd", "/usr/sbin/sshd", "root")],
        )]);
        let new = snapshot(vec![listener(
            Protocol::Tcp,
            "0.0.0.0",
            22,
            vec![owner(99, "sshd", "/usr/sbin/sshd", "root")],
        )]);
        assert!(diff(&old, &new, &mut NoHints).is_empty());
    }

    #[test]
    fn opened_closed_widened_and_new_owner_are_reported() {
        let old = snapshot(vec![
            listener(
                Protocol::Tcp,
                "127.0.0.1",
                6379,
                vec![owner(20, "redis-server", "/usr/bin/redis-server", "redis")],
            ),
            listener(
                Protocol::Tcp,
                "0.0.0.0",
                22,
                vec![owner(10, "sshd", "/usr/sbin/sshd", "root")],
            ),
            listener(
                Protocol::Tcp,
                "0.0.0.0",
                8080,
                vec![owner(30, "java", "/usr/bin/java", "app")],
            ),
        ]);
        let new = snapshot(vec![
            listener(
                Protocol::Tcp,
                "0.0.0.0",
                6379,
                vec![owner(20, "redis-server", "/usr/bin/redis-server", "redis")],
            ),
            listener(
                Protocol::Tcp,
                "0.0.0.0",
                22,
                vec![owner(40, "nc", "/usr/bin/nc", "www-data")],
            ),
            listener(
                Protocol::Udp,
                "0.0.0.0",
                4444,
                vec![owner(50, "python3", "/tmp/x", "www-data")],
            ),
        ]);
        let changes = diff(&old, &new, &mut NoHints);
        assert_eq!(changes.opened.len(), 1);
        assert_eq!(describe(&changes.opened[0]), "udp 0.0.0.0:4444");
        assert_eq!(changes.closed.len(), 1);
        assert_eq!(describe(&changes.closed[0]), "tcp 0.0.0.0:8080");
        let redis = changes
            .changed
            .iter()
            .find(|c| c.after.local_port == 6379)
            .unwrap();
        assert_eq!(
            redis.what,
            [ChangeKind::BindWidened {
                from: "127.0.0.1".parse().unwrap(),
                to: "0.0.0.0".parse().unwrap()
            }]
        );
        let ssh = changes
            .changed
            .iter()
            .find(|c| c.after.local_port == 22)
            .unwrap();
        assert!(matches!(&ssh.what[0], ChangeKind::OwnerChanged { from, to }
            if from == &["sshd (/usr/sbin/sshd)"] && to == &["nc (/usr/bin/nc)"]));
        assert!(matches!(&ssh.what[1], ChangeKind::UserChanged { .. }));
    }

    /// Hints as a table of ids per port and snapshot; records which pairs `diff` asked about.
    #[derive(Default)]
    struct Table {
        old: Vec<(u16, &'static str)>,
        new: Vec<(u16, &'static str)>,
        host_differs: bool,
        asked: Vec<u16>,
    }

    impl NewHints for Table {
        fn host_differs(&self) -> bool {
            self.host_differs
        }
        fn new_hints(&mut self, before: &Socket, after: &Socket) -> Vec<String> {
            self.asked.push(after.local_port);
            let ids = |table: &[(u16, &str)], port| -> BTreeSet<String> {
                table
                    .iter()
                    .filter(|(p, _)| *p == port)
                    .map(|(_, id)| id.to_string())
                    .collect()
            };
            let old = ids(&self.old, before.local_port);
            ids(&self.new, after.local_port)
                .difference(&old)
                .cloned()
                .collect()
        }
    }

    #[test]
    fn new_hints_are_a_change_and_old_ones_are_not() {
        let s = listener(
            Protocol::Tcp,
            "0.0.0.0",
            22,
            vec![owner(10, "sshd", "/usr/sbin/sshd", "root")],
        );
        let old = snapshot(vec![s.clone()]);
        let new = snapshot(vec![s]);
        let mut hints = Table {
            old: vec![(22, "bound-to-all-interfaces")],
            new: vec![(22, "bound-to-all-interfaces"), (22, "exe-deleted")],
            // The listener is the same in both: only a difference outside it can change hints.
            host_differs: true,
            ..Table::default()
        };
        let changes = diff(&old, &new, &mut hints);
        assert_eq!(changes.changed.len(), 1);
        assert_eq!(
            changes.changed[0].what,
            [ChangeKind::NewHints {
                ids: vec!["exe-deleted".into()]
            }]
        );
    }

    /// A listener's hints can change because another one on its port did (`shared-port`): it
    /// is asked about though it is itself the same, and a listener whose port saw no change is
    /// not asked about at all.
    #[test]
    fn hints_are_asked_for_changed_listeners_and_their_port_neighbours_only() {
        let web = listener(
            Protocol::Tcp,
            "0.0.0.0",
            80,
            vec![owner(10, "nginx", "/usr/sbin/nginx", "www-data")],
        );
        let ssh = listener(
            Protocol::Tcp,
            "0.0.0.0",
            22,
            vec![owner(11, "sshd", "/usr/sbin/sshd", "root")],
        );
        let dns = listener(
            Protocol::Udp,
            "127.0.0.1",
            53,
            vec![owner(12, "dnsmasq", "/usr/sbin/dnsmasq", "dnsmasq")],
        );
        let mut dns_restarted = dns.clone();
        dns_restarted.owners[0].pid = 99;
        let spy = listener(
            Protocol::Tcp,
            "127.0.0.1",
            80,
            vec![owner(13, "nc", "/usr/bin/nc", "nobody")],
        );
        let old = snapshot(vec![web.clone(), ssh.clone(), dns]);
        let new = snapshot(vec![ssh, web, dns_restarted, spy]);
        let mut hints = Table {
            new: vec![(80, "shared-port")],
            ..Table::default()
        };
        let changes = diff(&old, &new, &mut hints);
        // nginx's port gained a neighbour; dnsmasq restarted; sshd only moved in the list.
        assert_eq!(hints.asked, [80, 53]);
        assert_eq!(changes.opened.len(), 1);
        assert_eq!(changes.changed.len(), 1);
        assert_eq!(changes.changed[0].after.owners[0].name, "nginx");
        assert_eq!(
            changes.changed[0].what,
            [ChangeKind::NewHints {
                ids: vec!["shared-port".into()]
            }]
        );
        // A change in the host facts the rules read means every pair is asked about.
        let mut hints = Table {
            host_differs: true,
            ..Table::default()
        };
        diff(&old, &new, &mut hints);
        assert_eq!(hints.asked, [22, 80, 53]);
    }

    #[test]
    fn connections_are_ignored() {
        let mut conn = listener(Protocol::Tcp, "10.0.0.1", 22, vec![]);
        conn.state = SocketState::Established;
        conn.remote_addr = Some("10.0.0.2".parse().unwrap());
        conn.remote_port = Some(50000);
        assert!(diff(&snapshot(vec![]), &snapshot(vec![conn]), &mut NoHints).is_empty());
    }

    /// The pairing as it was before it was indexed (quadratic): each old listener takes the first
    /// remaining new one with the same protocol, port and address, then the leftovers the first
    /// with the same protocol and port. The indexed version must pair exactly the same way.
    fn reference_pairs(
        old: &Snapshot,
        new: &Snapshot,
    ) -> (Vec<(usize, usize)>, Vec<usize>, Vec<usize>) {
        let sorted = |s: &Snapshot| {
            let mut v: Vec<usize> = (0..s.sockets.len())
                .filter(|&i| s.sockets[i].state.is_listener())
                .collect();
            v.sort_by_key(|&i| {
                (
                    s.sockets[i].protocol,
                    s.sockets[i].local_port,
                    s.sockets[i].local_addr,
                )
            });
            v
        };
        let (mut before, mut after) = (sorted(old), sorted(new));
        let mut pairs = Vec::new();
        for exact in [true, false] {
            before.retain(|&b| {
                let sb = &old.sockets[b];
                let pos = after.iter().position(|&a| {
                    let sa = &new.sockets[a];
                    sa.protocol == sb.protocol
                        && sa.local_port == sb.local_port
                        && (!exact || sa.local_addr == sb.local_addr)
                });
                match pos {
                    Some(i) => {
                        pairs.push((b, after.remove(i)));
                        false
                    }
                    None => true,
                }
            });
        }
        (pairs, after, before)
    }

    fn arbitrary_listener() -> impl proptest::strategy::Strategy<Value = Socket> {
        use proptest::prelude::*;
        (any::<bool>(), 0u8..6, 20u16..24, 0u32..3).prop_map(|(udp, addr, port, who)| {
            // IPv6 too: the index orders addresses of both kinds as `IpAddr` does.
            let addr =
                ["127.0.0.1", "0.0.0.0", "10.0.0.1", "::", "::1", "fe80::1"][usize::from(addr)];
            let names = ["sshd", "nginx", "nc"];
            let proto = if udp { Protocol::Udp } else { Protocol::Tcp };
            listener(
                proto,
                addr,
                port,
                vec![owner(
                    who,
                    names[who as usize],
                    &format!("/usr/bin/{}", names[who as usize]),
                    "root",
                )],
            )
        })
    }

    proptest::proptest! {
        #[test]
        fn the_index_pairs_as_the_scan_did(
            old in proptest::collection::vec(arbitrary_listener(), 0..30),
            new in proptest::collection::vec(arbitrary_listener(), 0..30),
        ) {
            let (old, new) = (snapshot(old), snapshot(new));
            let (pairs, opened, closed) = reference_pairs(&old, &new);
            let changes = diff(&old, &new, &mut NoHints);
            let expect_opened: Vec<Socket> = opened.iter().map(|&i| new.sockets[i].clone()).collect();
            let expect_closed: Vec<Socket> = closed.iter().map(|&i| old.sockets[i].clone()).collect();
            proptest::prop_assert_eq!(&changes.opened, &expect_opened);
            proptest::prop_assert_eq!(&changes.closed, &expect_closed);
            // Every reported change is one of the reference's pairs, in the reference's order.
            let changed: Vec<(Socket, Socket)> = changes.changed.iter().map(|c| (c.before.clone(), c.after.clone())).collect();
            let expect: Vec<(Socket, Socket)> = pairs
                .iter()
                .map(|&(b, a)| (old.sockets[b].clone(), new.sockets[a].clone()))
                .filter(|(b, a)| b.local_addr != a.local_addr || programs(b) != programs(a))
                .collect();
            proptest::prop_assert_eq!(changed, expect);
        }
    }
}
