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
}

/// How to find the ids of the hints that fire for a socket of a snapshot.
pub type HintIds<'a> = &'a dyn Fn(&Snapshot, &Socket) -> BTreeSet<String>;

/// Compare the listeners of `old` and `new`.
pub fn diff(old: &Snapshot, new: &Snapshot, hint_ids: HintIds) -> Changes {
    let listeners = |s: &Snapshot| -> Vec<Socket> {
        let mut v: Vec<Socket> = s
            .sockets
            .iter()
            .filter(|s| s.state.is_listener())
            .cloned()
            .collect();
        v.sort_by_key(|s| (s.protocol, s.local_port, s.local_addr));
        v
    };
    let (mut before, mut after) = (listeners(old), listeners(new));
    let mut changes = Changes::default();

    // Same protocol, port and address: the same listener; compare what holds it.
    let mut pairs = Vec::new();
    before.retain(|b| {
        match after
            .iter()
            .position(|a| same_slot(a, b) && a.local_addr == b.local_addr)
        {
            Some(i) => {
                pairs.push((b.clone(), after.remove(i)));
                false
            }
            None => true,
        }
    });
    // Same protocol and port on another address: the listener moved (a widened bind, most often).
    before.retain(|b| match after.iter().position(|a| same_slot(a, b)) {
        Some(i) => {
            pairs.push((b.clone(), after.remove(i)));
            false
        }
        None => true,
    });

    for (b, a) in pairs {
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
        let (owners_b, owners_a) = (programs(&b), programs(&a));
        // An unknown owner on one side is a visibility difference, not a new program.
        if !owners_b.is_empty() && !owners_a.is_empty() && owners_b != owners_a {
            what.push(ChangeKind::OwnerChanged {
                from: owners_b,
                to: owners_a,
            });
        }
        let (users_b, users_a) = (users(&b), users(&a));
        if !users_b.is_empty() && !users_a.is_empty() && users_b != users_a {
            what.push(ChangeKind::UserChanged {
                from: users_b,
                to: users_a,
            });
        }
        let old_hints = hint_ids(old, &b);
        let new_hints: Vec<String> = hint_ids(new, &a).difference(&old_hints).cloned().collect();
        if !new_hints.is_empty() {
            what.push(ChangeKind::NewHints { ids: new_hints });
        }
        if !what.is_empty() {
            changes.changed.push(Change {
                before: b,
                after: a,
                what,
            });
        }
    }
    changes.opened = after;
    changes.closed = before;
    changes
}

fn same_slot(a: &Socket, b: &Socket) -> bool {
    a.protocol == b.protocol && a.local_port == b.local_port
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

    fn no_hints(_: &Snapshot, _: &Socket) -> BTreeSet<String> {
        BTreeSet::new()
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
        assert!(diff(&s, &s, &no_hints).is_empty());
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
        assert!(diff(&old, &new, &no_hints).is_empty());
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
        let changes = diff(&old, &new, &no_hints);
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
        let mut new = snapshot(vec![s]);
        new.host.taken_at = 1;
        let hints = |snap: &Snapshot, _: &Socket| -> BTreeSet<String> {
            let mut ids = BTreeSet::from(["bound-to-all-interfaces".to_string()]);
            if snap.host.taken_at == 1 {
                ids.insert("exe-deleted".into());
            }
            ids
        };
        let changes = diff(&old, &new, &hints);
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
        assert!(diff(&snapshot(vec![]), &snapshot(vec![conn]), &no_hints).is_empty());
    }
}
