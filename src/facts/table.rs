//! The facts of every owner of one snapshot, as the report, hints and policy read them: one
//! [`FactsTable`] per refresh, built live by [`FactsCache::table`] or read back from a snapshot
//! file ([`FactsTable::from_recorded`]), where `portscope snapshot` wrote it
//! ([`FactsTable::recorded`]).
//!
//! This module owns that table and its file layout; it must not touch how a fact is established
//! (the readers in the sibling modules) nor say anything to a user (the report layer's words).
//! A process's facts are found by pid: a snapshot is one moment, in which a pid names one
//! process. When no facts are at hand for a pid, the table says why ([`FactsTable::missing`]):
//! a snapshot that recorded none, another host's processes, an owner not established.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::{Depth, Fact, FactsCache, OwnerFacts, SocketUnit};
use crate::sockets::{NetNs, Owner, Snapshot, Socket};

/// Why facts are missing from a snapshot written before they were recorded (schema 2 and older).
pub const NOT_RECORDED: &str = "not recorded in this snapshot";

/// Why the facts of processes on another host are missing.
pub const OTHER_HOST: &str = "the processes run on another host: their facts are not collected";

/// The facts of a snapshot's owners and the labels of its network namespaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactsTable {
    owners: HashMap<u32, OwnerFacts>,
    /// Labels of namespaces other than the host's, by inode ([`FactsCache::namespace_label`]).
    namespaces: HashMap<u64, String>,
    /// Why an owner has no entry: set for a table of no facts at all.
    missing: Option<String>,
    /// Read from a snapshot file rather than established on this machine now.
    recorded: bool,
    /// The `.socket` unit declaring a listener, by socket inode, for the sockets shown in detail.
    socket_units: HashMap<u64, Fact<Option<SocketUnit>>>,
}

/// The layout of the `facts` member of a snapshot file (schema 3).
#[derive(Debug, Serialize, Deserialize)]
pub struct Recorded {
    /// One entry per owning process, at the depth the snapshot was taken with (`--verify`
    /// records the integrity too).
    pub owners: Vec<OwnerFacts>,
    /// Labels of the other network namespaces, by inode.
    #[serde(default)]
    pub namespaces: BTreeMap<u64, String>,
}

impl FactsTable {
    /// A table with no facts, each owner's "unknown (`why`)".
    pub fn unknown(why: impl Into<String>) -> FactsTable {
        FactsTable {
            missing: Some(why.into()),
            ..FactsTable::default()
        }
    }

    /// The facts of the process `pid`, when established.
    pub fn owner(&self, pid: u32) -> Option<&OwnerFacts> {
        self.owners.get(&pid)
    }

    /// The facts of `owner`, or why there are none (raw text).
    pub fn of(&self, owner: &Owner) -> Result<&OwnerFacts, &str> {
        self.owners.get(&owner.pid).ok_or_else(|| self.missing())
    }

    /// Why an owner has no facts here.
    pub fn missing(&self) -> &str {
        self.missing
            .as_deref()
            .unwrap_or("not established for this process")
    }

    /// Whether these facts were read from a snapshot file instead of this machine now.
    pub fn is_recorded(&self) -> bool {
        self.recorded
    }

    /// Why a fact deeper than the table holds (ancestry, integrity) is absent: not recorded in a
    /// snapshot, or not asked for at this depth.
    pub fn not_asked(&self) -> &str {
        match (&self.missing, self.recorded) {
            (Some(why), _) => why,
            (None, true) => NOT_RECORDED,
            (None, false) => "not checked here",
        }
    }

    /// Add or replace the facts of one process (a deeper establishment of it, for a detail).
    pub fn insert(&mut self, facts: OwnerFacts) {
        self.missing = None;
        self.owners.insert(facts.pid, facts);
    }

    /// The `.socket` unit that declares `socket`, when its detail was established.
    pub fn socket_unit(&self, socket: &Socket) -> Option<&Fact<Option<SocketUnit>>> {
        self.socket_units.get(&socket.inode)
    }

    /// How many processes have facts here.
    pub fn len(&self) -> usize {
        self.owners.len()
    }

    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }

    /// The label of a namespace other than the host's: its container, unit or `ip netns` name as
    /// established, else what the socket itself records ([`NetNs::label`]). Raw text.
    pub fn namespace_label(&self, ns: &NetNs) -> String {
        self.namespaces
            .get(&ns.inode)
            .cloned()
            .unwrap_or_else(|| ns.label())
    }

    /// Name the namespace of inode `inode` (what [`FactsCache::table`] does from its process).
    pub fn set_label(&mut self, inode: u64, label: impl Into<String>) {
        self.namespaces.insert(inode, label.into());
    }

    /// The label established for the namespace of inode `inode`, when there is one.
    pub fn stored_label(&self, inode: u64) -> Option<&str> {
        self.namespaces.get(&inode).map(String::as_str)
    }

    /// The layout written into a snapshot file, owners in pid order.
    pub fn recorded(&self) -> Recorded {
        let mut owners: Vec<OwnerFacts> = self.owners.values().cloned().collect();
        owners.sort_by_key(|o| o.pid);
        Recorded {
            owners,
            namespaces: self
                .namespaces
                .iter()
                .map(|(k, v)| (*k, v.clone()))
                .collect(),
        }
    }

    /// The facts a snapshot file carries: its `facts` member (`None`: the file has none, as
    /// every snapshot before schema 3). A member that does not parse gives facts unknown with
    /// the reason, never a failure to open the snapshot.
    pub fn from_recorded(value: Option<serde_json::Value>) -> FactsTable {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return FactsTable {
                recorded: true,
                ..FactsTable::unknown(NOT_RECORDED)
            };
        };
        match serde_json::from_value::<Recorded>(value) {
            Ok(r) => FactsTable {
                owners: r.owners.into_iter().map(|o| (o.pid, o)).collect(),
                namespaces: r.namespaces.into_iter().collect(),
                recorded: true,
                ..FactsTable::default()
            },
            Err(e) => FactsTable {
                recorded: true,
                ..FactsTable::unknown(format!("the snapshot's facts are not readable: {e}"))
            },
        }
    }
}

impl FactsCache {
    /// The facts of every owner of `sockets`, each process established once, down to `depth`,
    /// and the labels of their namespaces. [`Depth::Cheap`] is what a listing of every socket
    /// can afford on each refresh (one cgroup read and one `stat` per process, the package from
    /// the cache).
    pub fn table<'a>(
        &mut self,
        sockets: impl IntoIterator<Item = &'a Socket>,
        depth: Depth,
    ) -> FactsTable {
        let mut owners: Vec<&Owner> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut namespaces: HashMap<u64, String> = HashMap::new();
        for s in sockets {
            for o in s.owners.iter() {
                if seen.insert(o.pid) {
                    owners.push(o);
                }
            }
            if let Some(ns) = &s.netns {
                if let std::collections::hash_map::Entry::Vacant(e) = namespaces.entry(ns.inode) {
                    e.insert(self.namespace_label(ns));
                }
            }
        }
        self.prefetch(owners.iter().copied());
        let owners = owners
            .into_iter()
            .map(|o| (o.pid, self.establish(o, depth)))
            .collect();
        FactsTable {
            owners,
            namespaces,
            ..FactsTable::default()
        }
    }

    /// [`FactsCache::table`] over a whole snapshot.
    pub fn table_of(&mut self, snapshot: &Snapshot, depth: Depth) -> FactsTable {
        self.table(&snapshot.sockets, depth)
    }

    /// Establish the owners of `socket` again at `depth` into `table` (the detail of one socket:
    /// its owners down to ancestry and integrity, the rest of the table as it was), with the
    /// `.socket` unit declaring it from [`Depth::Detail`] on.
    pub fn deepen(&mut self, table: &mut FactsTable, socket: &Socket, depth: Depth) {
        let facts = self.for_socket(socket, depth);
        if let Some(unit) = facts.socket_unit {
            table.socket_units.insert(socket.inode, unit);
        }
        if let (Some(ns), Some(label)) = (&socket.netns, facts.netns) {
            table.namespaces.insert(ns.inode, label);
        }
        for f in facts.owners {
            table.insert(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Provenance;

    fn facts(pid: u32) -> OwnerFacts {
        OwnerFacts {
            pid,
            package: Fact::Unknown("test".into()),
            integrity: None,
            cgroup: Fact::Known("/system.slice/x.service".into()),
            unit: Fact::Unknown("test".into()),
            container: Fact::Known(None),
            pod: Fact::Known(None),
            session: None,
            ancestry: Vec::new(),
            ancestry_broken: None,
        }
    }

    #[test]
    fn recorded_facts_read_back_as_written() {
        let mut table = FactsTable::default();
        let mut f = facts(7);
        f.package = Fact::Known(Provenance::NotPackaged {
            place: crate::facts::Place::TempDir,
        });
        table.insert(f.clone());
        table.namespaces.insert(4026532000, "container web".into());
        let value = serde_json::to_value(table.recorded()).unwrap();
        let back = FactsTable::from_recorded(Some(value));
        assert!(back.is_recorded());
        assert_eq!(back.owner(7), Some(&f));
        let ns = NetNs {
            inode: 4026532000,
            name: None,
            pid: None,
        };
        assert_eq!(back.namespace_label(&ns), "container web");
    }

    #[test]
    fn an_old_or_broken_snapshot_gives_unknown_with_the_reason() {
        let old = FactsTable::from_recorded(None);
        assert_eq!(old.owner(1), None);
        assert_eq!(old.missing(), NOT_RECORDED);
        let broken = FactsTable::from_recorded(Some(serde_json::json!({"owners": 3})));
        assert!(
            broken.missing().contains("not readable"),
            "{}",
            broken.missing()
        );
    }
}
