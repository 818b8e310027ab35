//! Comparing two snapshots of one machine: which listeners opened, closed, or changed (another
//! program now owns the port, the bind widened from loopback to every interface, new hints). Pure:
//! the caller says how to find a socket's hints, so this module needs no registry.
//!
//! Only listeners are compared: connections come and go every second and would drown the drift a
//! baseline check is for. A restart of the same program (new pid, same name and executable) is not
//! a change.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;

use serde::Serialize;

use super::{Protocol, Snapshot, Socket};

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

/// How to find what runs a socket of one snapshot (`None`: not known for that snapshot).
pub type HeldOf<'a> = Option<&'a dyn Fn(&Socket) -> Held<'a>>;

/// The facts of `before` and `after` that differ where both are known.
fn held_changes(before: Held, after: Held) -> Vec<ChangeKind> {
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

/// The ids of the hints that fire for each socket of a snapshot, by the socket's index in
/// `Snapshot::sockets` (computed once per snapshot by the caller); an index past the end has none.
pub type HintIds<'a> = &'a [BTreeSet<String>];

/// Compare the listeners of `old` and `new`. Linear in the number of listeners (plus the sort):
/// both passes find their partner through an index instead of scanning, since a snapshot of a
/// busy host holds 100,000 of them.
pub fn diff(old: &Snapshot, new: &Snapshot, old_hints: HintIds, new_hints: HintIds) -> Changes {
    diff_held(old, new, old_hints, new_hints, None, None)
}

/// [`diff`], also comparing what runs each pair of listeners (package, unit, container) where
/// both snapshots know it.
pub fn diff_held(
    old: &Snapshot,
    new: &Snapshot,
    old_hints: HintIds,
    new_hints: HintIds,
    old_held: HeldOf,
    new_held: HeldOf,
) -> Changes {
    // Listener indices into `sockets`, sorted by protocol, port and address; the sort is stable,
    // so sockets with one key keep their snapshot order.
    let listeners = |s: &Snapshot| -> Vec<usize> {
        let mut v: Vec<usize> = (0..s.sockets.len())
            .filter(|&i| s.sockets[i].state.is_listener())
            .collect();
        v.sort_by_key(|&i| {
            let s = &s.sockets[i];
            (s.protocol, s.local_port, s.local_addr)
        });
        v
    };
    let (before, after) = (listeners(old), listeners(new));
    let (mut before_taken, mut after_taken) = (vec![false; before.len()], vec![false; after.len()]);
    let mut pairs: Vec<(usize, usize)> = Vec::new();

    // Same protocol, port and address: the same listener; compare what holds it. Each key's
    // queue holds the unpaired positions in `after` in order, so its front is the first unpaired
    // listener with that key.
    let mut exact: HashMap<(Protocol, u16, IpAddr), VecDeque<usize>> = HashMap::new();
    for (pos, &i) in after.iter().enumerate() {
        let a = &new.sockets[i];
        exact
            .entry((a.protocol, a.local_port, a.local_addr))
            .or_default()
            .push_back(pos);
    }
    for (bpos, &i) in before.iter().enumerate() {
        let b = &old.sockets[i];
        if let Some(apos) = exact
            .get_mut(&(b.protocol, b.local_port, b.local_addr))
            .and_then(VecDeque::pop_front)
        {
            after_taken[apos] = true;
            before_taken[bpos] = true;
            pairs.push((i, after[apos]));
        }
    }
    // Same protocol and port on another address: the listener moved (a widened bind, most often).
    let mut by_slot: HashMap<(Protocol, u16), VecDeque<usize>> = HashMap::new();
    for (pos, &i) in after
        .iter()
        .enumerate()
        .filter(|(pos, _)| !after_taken[*pos])
    {
        let a = &new.sockets[i];
        by_slot
            .entry((a.protocol, a.local_port))
            .or_default()
            .push_back(pos);
    }
    for (bpos, &i) in before.iter().enumerate() {
        if before_taken[bpos] {
            continue;
        }
        let b = &old.sockets[i];
        if let Some(apos) = by_slot
            .get_mut(&(b.protocol, b.local_port))
            .and_then(VecDeque::pop_front)
        {
            after_taken[apos] = true;
            before_taken[bpos] = true;
            pairs.push((i, after[apos]));
        }
    }

    let none = BTreeSet::new();
    let mut changes = Changes::default();
    for (bi, ai) in pairs {
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
        let old_ids = old_hints.get(bi).unwrap_or(&none);
        let new_ids: Vec<String> = new_hints
            .get(ai)
            .unwrap_or(&none)
            .difference(old_ids)
            .cloned()
            .collect();
        if !new_ids.is_empty() {
            what.push(ChangeKind::NewHints { ids: new_ids });
        }
        if let (Some(held_b), Some(held_a)) = (old_held, new_held) {
            what.extend(held_changes(held_b(b), held_a(a)));
        }
        if !what.is_empty() {
            changes.changed.push(Change {
                before: b.clone(),
                after: a.clone(),
                what,
            });
        }
    }
    let unpaired = |order: &[usize], taken: &[bool], snapshot: &Snapshot| -> Vec<Socket> {
        order
            .iter()
            .zip(taken)
            .filter(|(_, &t)| !t)
            .map(|(&i, _)| snapshot.sockets[i].clone())
            .collect()
    };
    changes.opened = unpaired(&after, &after_taken, new);
    changes.closed = unpaired(&before, &before_taken, old);
    changes
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

    const NO_HINTS: HintIds = &[];

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
        assert!(diff(&s, &s, NO_HINTS, NO_HINTS).is_empty());
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
        assert!(diff(&old, &new, NO_HINTS, NO_HINTS).is_empty());
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
        let changes = diff(&old, &new, NO_HINTS, NO_HINTS);
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
        let old_hints = [BTreeSet::from(["bound-to-all-interfaces".to_string()])];
        let new_hints = [BTreeSet::from([
            "bound-to-all-interfaces".to_string(),
            "exe-deleted".to_string(),
        ])];
        let changes = diff(&old, &new, &old_hints, &new_hints);
        assert_eq!(changes.changed.len(), 1);
        assert_eq!(
            changes.changed[0].what,
            [ChangeKind::NewHints {
                ids: vec!["exe-deleted".into()]
            }]
        );
    }

    #[test]
    fn connections_are_ignored() {
        let mut conn = listener(Protocol::Tcp, "10.0.0.1", 22, vec![]);
        conn.state = SocketState::Established;
        conn.remote_addr = Some("10.0.0.2".parse().unwrap());
        conn.remote_port = Some(50000);
        assert!(diff(&snapshot(vec![]), &snapshot(vec![conn]), NO_HINTS, NO_HINTS).is_empty());
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
        (any::<bool>(), 0u8..3, 20u16..24, 0u32..3).prop_map(|(udp, addr, port, who)| {
            let addr = ["127.0.0.1", "0.0.0.0", "10.0.0.1"][usize::from(addr)];
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
            let changes = diff(&old, &new, NO_HINTS, NO_HINTS);
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
