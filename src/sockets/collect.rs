//! Collecting a [`Snapshot`](super::Snapshot): the [`Collector`] seam, the real
//! [`SystemCollector`], and a [`FixtureCollector`] that replays a saved snapshot.

use std::path::Path;

use super::{Snapshot, SCHEMA_VERSION};
use crate::text::escape;

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// Live collection failed as a whole (no socket source worked, `/proc` unreadable).
    #[error("{0}")]
    Failed(String),
    /// A saved snapshot could not be read; `origin` names the file (already escaped).
    #[error("{origin}: {problem}")]
    Snapshot { origin: String, problem: String },
}

/// The seam between data and front ends: the TUI refreshes through it, tests and `view` replay a
/// saved snapshot through it.
pub trait Collector: Send {
    fn collect(&mut self) -> Result<Snapshot, CollectError>;

    /// The user asked for a refresh (`r`): a collector that can lose its source (a remote host
    /// over ssh) reconnects here, one that remembers owners reads them afresh. Nothing to do
    /// for the others.
    fn retry(&mut self) {}

    /// For a collector that replays a snapshot file: the owners' facts recorded in it, raw for
    /// the `facts` layer to read (`Null` when the file has none). `None`: this collector's
    /// processes are not this machine's, and it has no facts about them.
    fn recorded_facts(&self) -> Option<serde_json::Value> {
        None
    }
    /// The user switched between listeners only and every socket (`a`): a collector whose scope
    /// can change applies it from its next collection (a remote host's is told over the
    /// connection). Nothing to do for a saved snapshot.
    fn include_connections(&mut self, _on: bool) {}
}

/// What a collection should include.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectOptions {
    /// Every connection too, not only TCP listeners and unconnected UDP sockets.
    pub include_connections: bool,
    /// Only the collector's own network namespace; by default every namespace of the host is
    /// read (as root) and its sockets tagged with `Socket::netns`.
    pub host_namespace_only: bool,
}

/// Collects from this machine: on Linux with netlink + /proc (keep one for repeated refreshes:
/// it remembers which process holds which socket and scans `/proc/*/fd` again only when that
/// memory misses); elsewhere with the [portable collector](super::portable), which knows less.
pub struct SystemCollector {
    pub options: CollectOptions,
    #[cfg(target_os = "linux")]
    live: linux::Live,
    #[cfg(not(target_os = "linux"))]
    portable: super::portable::PortableCollector,
}

impl SystemCollector {
    pub fn new(options: CollectOptions) -> SystemCollector {
        SystemCollector {
            options,
            #[cfg(target_os = "linux")]
            live: linux::Live::default(),
            #[cfg(not(target_os = "linux"))]
            portable: super::portable::PortableCollector::new(options),
        }
    }
}

impl Collector for SystemCollector {
    #[cfg(target_os = "linux")]
    fn collect(&mut self) -> Result<Snapshot, CollectError> {
        self.live.collect(self.options)
    }

    #[cfg(not(target_os = "linux"))]
    fn collect(&mut self) -> Result<Snapshot, CollectError> {
        // `options` is public and may change between refreshes (the explorer's `a`).
        self.portable.options = self.options;
        self.portable.collect()
    }

    /// Scan every process's fds on the next collection rather than trust memory: after `r`,
    /// every owner shown was read just now.
    #[cfg(target_os = "linux")]
    fn retry(&mut self) {
        self.live.forget_holders();
    }

    fn include_connections(&mut self, on: bool) {
        self.options.include_connections = on;
    }
}

/// Replays a saved snapshot: for tests, and for opening a snapshot taken elsewhere.
pub struct FixtureCollector {
    pub snapshot: Snapshot,
    /// The snapshot file's `facts` member (schema 3), kept as it was: `facts` reads it, this
    /// layer only carries it. `None` for older snapshots.
    pub facts: Option<serde_json::Value>,
}

impl FixtureCollector {
    /// Read a snapshot file. Every failure names the file and says what is wrong with it.
    pub fn from_file(path: &Path) -> Result<FixtureCollector, CollectError> {
        let origin = escape(&path.display().to_string()).into_owned();
        let bytes = std::fs::read(path).map_err(|e| CollectError::Snapshot {
            origin: origin.clone(),
            problem: format!("cannot read it: {e}"),
        })?;
        FixtureCollector::from_json(&bytes, &origin)
    }

    /// Parse a snapshot from JSON bytes; `origin` names where they came from in errors.
    pub fn from_json(bytes: &[u8], origin: &str) -> Result<FixtureCollector, CollectError> {
        // A readable snapshot is parsed straight into its types: going through a
        // `serde_json::Value` first cost seconds and half a gigabyte for two snapshots of
        // 100,000 listeners. Only when that fails is it read again as a `Value`, to say why.
        // `Stored` spells out `Snapshot`'s fields (a flattened one would buffer the whole
        // document); the `Snapshot` built below names every field, so a new one does not compile
        // until it is read here too.
        #[derive(serde::Deserialize)]
        struct Stored {
            schema_version: u32,
            host: super::HostInfo,
            sockets: Vec<super::Socket>,
            #[serde(default)]
            facts: Option<serde_json::Value>,
        }
        // One pass over the bytes to check their UTF-8 as a whole, not string by string. A file
        // as portscope writes it is read by `written_form`; any other, by serde, sharing the
        // owners repeated from socket to socket (see `sharing`).
        let text = std::str::from_utf8(bytes).ok();
        if let Some(written) = text.and_then(super::written_form::read) {
            return Ok(FixtureCollector {
                snapshot: written.snapshot,
                facts: written.facts,
            });
        }
        let parsed = text.and_then(|text| {
            super::sharing::while_parsing(|| serde_json::from_str::<Stored>(text).ok())
        });
        if let Some(stored) = parsed {
            if stored.schema_version <= SCHEMA_VERSION {
                let snapshot = Snapshot {
                    schema_version: stored.schema_version,
                    host: stored.host,
                    sockets: stored.sockets,
                };
                let facts = stored.facts.filter(|f| !f.is_null());
                return Ok(FixtureCollector { snapshot, facts });
            }
        }
        let fail = |problem: String| CollectError::Snapshot {
            origin: origin.to_string(),
            problem,
        };
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            fail(if e.is_eof() {
                "the snapshot is truncated (the JSON ends early); take it again".to_string()
            } else {
                format!("not a snapshot: this is not valid JSON ({e})")
            })
        })?;
        let version = value
            .get("schema_version")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| {
                fail("not a portscope snapshot: it has no \"schema_version\"".to_string())
            })?;
        if version > u64::from(SCHEMA_VERSION) {
            return Err(fail(format!(
                "snapshot schema version {version} is newer than this portscope understands ({SCHEMA_VERSION}); upgrade portscope to open it"
            )));
        }
        let mut value = value;
        let facts = value
            .as_object_mut()
            .and_then(|o| o.remove("facts"))
            .filter(|f| !f.is_null());
        let snapshot: Snapshot = serde_json::from_value(value)
            .map_err(|e| fail(format!("not a valid snapshot: {e}")))?;
        Ok(FixtureCollector { snapshot, facts })
    }
}

impl Collector for FixtureCollector {
    fn collect(&mut self) -> Result<Snapshot, CollectError> {
        Ok(self.snapshot.clone())
    }

    fn recorded_facts(&self) -> Option<serde_json::Value> {
        Some(self.facts.clone().unwrap_or(serde_json::Value::Null))
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    use super::{CollectError, CollectOptions};
    use crate::sockets::kernel::{state_mask, KernelSocket};
    use crate::sockets::owners::{self, Holder, Holders, UserNames};
    use crate::sockets::procfs::{Clock, PidView, ProcFs};
    use crate::sockets::{
        netlink, netns, procnet, HostInfo, Owner, Owners, Protocol, Snapshot, Socket, UnknownOwner,
        SCHEMA_VERSION,
    };

    /// Even when every socket is found in memory (and each remembered listener's holder still
    /// holds it), scan again this often: a process may have forked (a second owner) or been
    /// handed a copy of the socket meanwhile without the first holder closing it, or have
    /// been handed a connection. A connection's holders are not re-checked on each refresh:
    /// a server's 40,000 connections would cost 40,000 link reads each time, and a
    /// connection handed on after it was accepted is rare. The explorer checks the holder
    /// once more before it signals one (`K`), and `r` rescans at once.
    ///
    /// This scan, and the one a new socket sets off, is [`Scan::Trusting`]: it reads the links
    /// of new processes and new fds only, so on a busy server it costs a listing of the fds
    /// rather than a read of each.
    const RESCAN_EVERY: Duration = Duration::from_secs(30);

    /// This often, a scan reads every link again ([`Scan::Full`]).
    const FULL_RESCAN_EVERY: Duration = Duration::from_secs(300);

    /// How much of the last scan a scan of `/proc/*/fd` takes on trust.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Scan {
        /// In a process with the same pid and start time as at the last scan, an fd that held a
        /// socket still wanted is taken to hold it still ([`owners::scan`]). An fd closed and
        /// opened again on another socket is missed while the first socket lives on in another
        /// process; a wanted socket this scan leaves without an owner, or a new one it finds
        /// only in processes it had not seen, sets off a full one.
        Trusting,
        /// Every link read again: the first scan, after `r`, when a listener's remembered fd
        /// has moved, and every [`FULL_RESCAN_EVERY`].
        Full,
    }

    /// What the collector remembers between refreshes.
    pub struct Live {
        proc: ProcFs,
        /// Socket inode → holding (pid, fd) pairs, from the last fd scan. An entry is trusted
        /// only while each pid still holds the socket at that fd (checked every refresh).
        holders: HashMap<u64, Holders>,
        /// Inodes the last scan looked for and found no process holding.
        ownerless: HashSet<u64>,
        /// Inodes the last snapshot listed without an owner: they were there across a whole
        /// collection already, so they are not re-checked again (see `attach_owners`).
        listed_ownerless: HashSet<u64>,
        /// Start time (ticks after boot) of every holder pid, to tell a reused pid.
        started: HashMap<u32, u64>,
        /// What the last scan found that the next [`Scan::Trusting`] need not read again.
        remembered: owners::Remembered,
        /// When the last scan was, and the last [`Scan::Full`].
        scanned_at: Option<Instant>,
        fully_scanned_at: Option<Instant>,
        /// Processes whose fds the last scan could not read.
        unreadable: usize,
        /// How many sockets the last dump listed: the next one's list starts that large,
        /// rather than doubling its way there (at 40,000 sockets, twice their size at the peak).
        dumped: usize,
        users: UserNames,
        /// The owner lists of the last snapshot, by holder pids. An unchanged list is handed
        /// out again rather than built anew, so the explorer, comparing each refresh with the
        /// last, finds 40,000 sockets' owners equal by pointer instead of field by field.
        owner_lists: HashMap<Vec<u32>, Owners>,
    }

    impl Default for Live {
        fn default() -> Self {
            Live::with_proc(ProcFs::default())
        }
    }

    impl Live {
        pub fn with_proc(proc: ProcFs) -> Live {
            Live {
                proc,
                holders: HashMap::default(),
                ownerless: HashSet::default(),
                listed_ownerless: HashSet::default(),
                started: HashMap::default(),
                remembered: owners::Remembered::default(),
                scanned_at: None,
                fully_scanned_at: None,
                unreadable: 0,
                dumped: 0,
                users: UserNames::default(),
                owner_lists: HashMap::default(),
            }
        }

        /// Make the next collection scan every process's fds.
        pub fn forget_holders(&mut self) {
            self.scanned_at = None;
            self.fully_scanned_at = None;
        }

        /// The scan the memory's age calls for, if any.
        fn scan_due(&self) -> Option<Scan> {
            let older_than = |at: Option<Instant>, age| at.is_none_or(|t| t.elapsed() > age);
            if older_than(self.fully_scanned_at, FULL_RESCAN_EVERY) {
                Some(Scan::Full)
            } else if older_than(self.scanned_at, RESCAN_EVERY) {
                Some(Scan::Trusting)
            } else {
                None
            }
        }

        pub fn collect(&mut self, options: CollectOptions) -> Result<Snapshot, CollectError> {
            let taken_at = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let mut warnings = Vec::new();
            // The other namespaces are swept on helper threads while this one dumps its own.
            let sweep = (!options.host_namespace_only)
                .then(|| netns::Sweep::start(options.include_connections));
            let mut kernel_sockets = list_sockets(options, self.dumped, &mut warnings)?;
            self.dumped = kernel_sockets.len();
            if let Some(sweep) = sweep {
                kernel_sockets.extend(sweep.finish(&mut warnings));
            }
            self.attach_owners(kernel_sockets, options, taken_at, warnings)
        }

        /// Join the kernel's sockets with their owners and the host facts. A socket no process
        /// was found holding is looked up in the kernel again: if it has closed since the dump,
        /// it is left out (it is gone, not the kernel's), so a snapshot lists only sockets that
        /// existed after the owner scan too.
        pub(super) fn attach_owners(
            &mut self,
            kernel_sockets: Vec<KernelSocket>,
            options: CollectOptions,
            taken_at: u64,
            mut warnings: Vec<String>,
        ) -> Result<Snapshot, CollectError> {
            // Every socket a process may hold (inode 0 is a TIME-WAIT or other orphan), and
            // whether it listens.
            let wanted: Vec<Wanted> = kernel_sockets
                .iter()
                .filter(|k| k.inode != 0)
                .map(|k| Wanted {
                    inode: k.inode,
                    listens: k.state().is_listener(),
                })
                .collect();
            let clock = self.proc.clock();
            let Holding { owners, holders } = self.owners_of(&wanted, &clock)?;

            // SAFETY: geteuid has no preconditions.
            let euid = unsafe { libc::geteuid() };
            let hides_pids = self.proc.proc_mount().is_some_and(|m| m.hides_pids());
            let sees_all_owners = self.unreadable == 0 && (euid == 0 || !hides_pids);
            let child_pid_namespace = matches!(self.proc.pid_view(), PidView::Child { .. });
            let why = Why {
                euid,
                sees_all_owners,
                child_pid_namespace,
            };
            // Each socket's owners, looked up once: one shared list per set of holders, so a
            // server's 20,000 connections point at one copy of its details.
            let last_lists = std::mem::take(&mut self.owner_lists);
            let mut shared: HashMap<Vec<u32>, Owners> = HashMap::default();
            let mut pids: Vec<u32> = Vec::new();
            let mut holders = holders.into_iter();
            let found: Vec<Owners> = kernel_sockets
                .iter()
                .map(|k| {
                    // `wanted` left the sockets of inode 0 out: nothing holds them.
                    let held = if k.inode == 0 {
                        Holders::new()
                    } else {
                        holders.next().unwrap_or_default()
                    };
                    pids.clear();
                    pids.extend(
                        held.iter()
                            .map(|h| h.pid)
                            .filter(|pid| owners.contains_key(pid)),
                    );
                    if let Some(found) = shared.get(pids.as_slice()) {
                        return found.clone();
                    }
                    let mut found: Owners = pids
                        .iter()
                        .filter_map(|pid| owners.get(pid).cloned())
                        .collect();
                    if let Some(last) = last_lists.get(pids.as_slice()) {
                        if *last == found {
                            found = last.clone();
                        }
                    }
                    shared.insert(pids.clone(), found.clone());
                    found
                })
                .collect();
            self.owner_lists = shared;
            let ownerless =
                |(k, found): &(&KernelSocket, &Owners)| k.inode != 0 && found.is_empty();
            // Sockets without a live owner may have closed after the dump: ask the kernel again.
            // Inode 0 is a TIME-WAIT or other orphan no process could hold; a socket the last
            // snapshot already listed without an owner (a kernel socket, a hidden one) is what
            // it was, so a refresh re-checks only sockets that are newly ownerless.
            let recheck: Vec<&KernelSocket> = kernel_sockets
                .iter()
                .zip(&found)
                .filter(ownerless)
                .map(|(k, _)| k)
                .filter(|k| !self.listed_ownerless.contains(&k.inode))
                // The re-check asks this namespace's kernel tables; another namespace's socket
                // is not in them and must not be taken for closed.
                .filter(|k| k.netns.is_none())
                .collect();
            let gone = closed_since_dump(&recheck);
            let is_gone =
                |k: &KernelSocket| !gone.is_empty() && gone.contains(&(k.protocol, k.inode));
            self.listed_ownerless = kernel_sockets
                .iter()
                .zip(&found)
                .filter(ownerless)
                .filter(|(k, _)| !is_gone(k))
                .map(|(k, _)| k.inode)
                .collect();

            let v6only_default = bindv6only();
            let mut sockets: Vec<Socket> = Vec::with_capacity(kernel_sockets.len());
            for (k, found) in kernel_sockets.into_iter().zip(found) {
                if is_gone(&k) {
                    continue;
                }
                let owner_unknown = found.is_empty().then(|| why.reason(&k, &self.holders));
                let remote = k.remote();
                sockets.push(Socket {
                    protocol: k.protocol,
                    family: k.family(v6only_default),
                    local_addr: k.local_addr,
                    local_port: k.local_port,
                    remote_addr: remote.map(|r| r.0),
                    remote_port: remote.map(|r| r.1),
                    state: k.state(),
                    inode: k.inode,
                    owners: found,
                    owner_unknown,
                    uid: Some(k.uid),
                    user: self.users.shared_name(k.uid),
                    netns: k.netns,
                });
            }
            crate::sockets::sort_for_listing(&mut sockets);
            if child_pid_namespace {
                warnings.push(
                    "this /proc shows only a child pid namespace: sockets held by processes outside it have no owner here (run portscope in the host's pid namespace)".to_string(),
                );
            }
            Ok(Snapshot {
                schema_version: SCHEMA_VERSION,
                host: HostInfo {
                    // sysinfo reads these the way each OS wants (uname, os-release).
                    hostname: sysinfo::System::host_name().unwrap_or_default(),
                    os: sysinfo::System::long_os_version().unwrap_or_else(|| "Linux".into()),
                    kernel: sysinfo::System::kernel_version().unwrap_or_default(),
                    taken_at,
                    uid: euid,
                    user: self.users.name(euid).unwrap_or_else(|| euid.to_string()),
                    sees_all_owners,
                    includes_connections: options.include_connections,
                    warnings,
                    ephemeral_ports: crate::sockets::EphemeralPorts::read(std::path::Path::new(
                        "/proc",
                    )),
                },
                sockets,
            })
        }

        /// Bring `holders` up to date for every wanted socket (from memory when it covers them
        /// all and every remembered listener's holder still holds it, else from a scan; see
        /// [`Scan`]) and read each holder's details, by pid.
        fn owners_of(&mut self, wanted: &[Wanted], clock: &Clock) -> Result<Holding, CollectError> {
            let mut scanned = self.scan_due();
            loop {
                if let Some(kind) = scanned {
                    self.rescan(wanted, kind)?;
                }
                // Who holds the wanted sockets, one look each. A socket neither held nor
                // known to be ownerless is new since the last scan.
                let mut holding: HashSet<u32> = HashSet::default();
                let mut each = Vec::with_capacity(wanted.len());
                let mut all_known = true;
                for w in wanted {
                    match self.holders.get(&w.inode) {
                        Some(holders) => {
                            holding.extend(holders.iter().map(|h| h.pid));
                            each.push(holders.clone());
                        }
                        None => {
                            all_known &= self.ownerless.contains(&w.inode);
                            each.push(Holders::new());
                        }
                    }
                }
                if scanned.is_none() {
                    // New sockets: their holders are among the fds not read before.
                    if !all_known {
                        scanned = Some(Scan::Trusting);
                        continue;
                    }
                    // A listener's remembered fd has moved: what the memory trusts is wrong.
                    if !self.remembered_holders_still_hold(wanted) {
                        scanned = Some(Scan::Full);
                        continue;
                    }
                }
                let mut details: HashMap<u32, Owner> = HashMap::default();
                let mut stale = false;
                for pid in holding {
                    let owner = owners::read_owner(&self.proc, pid, clock, &mut self.users)
                        .and_then(|owner| {
                            let ticks = owner.start_ticks?;
                            // A start time that changed: the pid names another process now.
                            // The memory keeps the first one: the next scan, seeing it changed,
                            // trusts nothing found in the pid before.
                            let first = *self.started.entry(pid).or_insert(ticks);
                            (first == ticks).then_some(owner)
                        });
                    match owner {
                        Some(owner) => {
                            details.insert(pid, owner);
                        }
                        None => stale = true,
                    }
                }
                if stale && scanned.is_none() {
                    // Memory is out of date: a holder exited or its pid was reused.
                    scanned = Some(Scan::Trusting);
                    continue;
                }
                return Ok(Holding {
                    owners: details,
                    holders: each,
                });
            }
        }

        /// Whether every remembered (pid, fd) for the wanted listeners still points at its
        /// socket: after an fd handoff (A passes its listener to B and closes its copy, staying
        /// alive) A's entry fails here, and the scan that follows finds B.
        fn remembered_holders_still_hold(&self, wanted: &[Wanted]) -> bool {
            let mut pairs: Vec<(u64, Holder)> = wanted
                .iter()
                .filter(|w| w.listens)
                .flat_map(|w| {
                    self.holders
                        .get(&w.inode)
                        .into_iter()
                        .flatten()
                        .map(move |&h| (w.inode, h))
                })
                .collect();
            pairs.sort_unstable_by_key(|&(_, h)| h);
            owners::still_held(&self.proc, &pairs)
        }

        fn rescan(&mut self, wanted: &[Wanted], kind: Scan) -> Result<(), CollectError> {
            let wanted: HashSet<u64> = wanted.iter().map(|w| w.inode).collect();
            // Only a process that is the same one (pid and start time) is trusted.
            let proc = &self.proc;
            self.started
                .retain(|&pid, ticks| proc.start_ticks(pid) == Some(*ticks));
            let mut trusted = std::mem::take(&mut self.remembered);
            match kind {
                Scan::Trusting => trusted.retain_pids(|pid| self.started.contains_key(&pid)),
                Scan::Full => trusted = owners::Remembered::default(),
            }
            let failed = |e: std::io::Error| {
                CollectError::Failed(format!(
                    "cannot list processes in {} ({e}); is /proc mounted?",
                    self.proc.root().display()
                ))
            };
            let mut scan = owners::scan(&self.proc, &wanted, &trusted).map_err(failed)?;
            // A trusted fd reopened on another socket hides that socket's holder. It shows as
            // a socket now without an owner that had one or was not seen, or as a new socket
            // held only by processes read in full (a child forked meanwhile holds copies of
            // its parent's fds): read every link.
            let new_to_memory = |i: &u64| !self.holders.contains_key(i);
            let unexplained = |scan: &owners::FdScan| {
                wanted.iter().any(|i| match scan.holders.get(i) {
                    None => !self.ownerless.contains(i),
                    Some(holders) => {
                        new_to_memory(i)
                            && !self.ownerless.contains(i)
                            && holders.iter().all(|h| !self.started.contains_key(&h.pid))
                    }
                })
            };
            let kind = if kind == Scan::Trusting && unexplained(&scan) {
                scan = owners::scan(&self.proc, &wanted, &owners::Remembered::default())
                    .map_err(failed)?;
                Scan::Full
            } else {
                kind
            };
            self.ownerless = wanted
                .iter()
                .filter(|i| !scan.holders.contains_key(i))
                .copied()
                .collect();
            let holding: HashSet<u32> = scan.holders.values().flatten().map(|h| h.pid).collect();
            self.started.retain(|pid, _| holding.contains(pid));
            self.holders = scan.holders;
            self.remembered = scan.remembered;
            self.unreadable = scan.unreadable;
            self.scanned_at = Some(Instant::now());
            if kind == Scan::Full {
                self.fully_scanned_at = self.scanned_at;
            }
            Ok(())
        }
    }

    /// Who holds the wanted sockets.
    struct Holding {
        /// Each holder's details, by pid; a holder that exited since the scan is not here.
        owners: HashMap<u32, Owner>,
        /// Each wanted socket's holders, in the order of the sockets asked about.
        holders: Vec<Holders>,
    }

    /// A socket some process may hold, by inode.
    struct Wanted {
        inode: u64,
        /// Listeners' holders are re-checked on every refresh (see [`RESCAN_EVERY`]).
        listens: bool,
    }

    /// What decides why a socket has no owner.
    struct Why {
        euid: u32,
        sees_all_owners: bool,
        child_pid_namespace: bool,
    }

    impl Why {
        fn reason(&self, socket: &KernelSocket, holders: &HashMap<u64, Holders>) -> UnknownOwner {
            if socket.inode == 0 {
                UnknownOwner::Kernel // TIME-WAIT and other orphans no file refers to
            } else if holders.contains_key(&socket.inode) {
                UnknownOwner::Vanished // a holder was found, but it exited before we read it
            } else if !self.sees_all_owners && (socket.uid != self.euid || self.euid == 0) {
                // Root refused somewhere (a sandbox, a security module) could be refused any
                // owner.
                UnknownOwner::Hidden
            } else if self.child_pid_namespace {
                // Processes outside this pid namespace are not listed in our /proc, yet share
                // the network: kernel or not cannot be told from here.
                UnknownOwner::OtherPidNamespace
            } else if socket.uid == 0 {
                UnknownOwner::Kernel
            } else {
                UnknownOwner::Unknown
            }
        }
    }

    /// Of `sockets` (from the dump), those the kernel no longer lists, as (protocol, inode): one
    /// more dump of each protocol and family concerned, asking only for the states those sockets
    /// can be in now (for listeners just LISTEN: a handful, even on a server with 40,000
    /// connections). Done only when some socket has no owner.
    fn closed_since_dump(sockets: &[&KernelSocket]) -> HashSet<(Protocol, u64)> {
        // A listener stays LISTEN until it closes; a connection may move on (ESTABLISHED to
        // CLOSE-WAIT) and still be open: for those ask for every state but TIME-WAIT, which no
        // process holds.
        let mut groups: HashMap<(Protocol, bool), (u32, Vec<u16>)> = HashMap::default();
        for k in sockets {
            let states = if k.state().is_listener() {
                1u32 << k.state.min(31)
            } else {
                !(1u32 << crate::sockets::kernel::TCP_TIME_WAIT)
            };
            let (all_states, ports) = groups.entry((k.protocol, k.ipv6)).or_default();
            *all_states |= states;
            ports.push(k.local_port);
        }
        let mut gone = HashSet::default();
        for ((protocol, ipv6), (states, mut ports)) in groups {
            ports.sort_unstable();
            ports.dedup();
            let Some(now) = live_inodes(protocol, ipv6, states, &ports) else {
                continue; // cannot tell: keep the sockets as they were
            };
            gone.extend(
                sockets
                    .iter()
                    .filter(|k| k.protocol == protocol && k.ipv6 == ipv6)
                    .filter(|k| !now.contains(&k.inode))
                    .map(|k| (protocol, k.inode)),
            );
        }
        gone
    }

    /// Above this many ports, the re-check asks for every socket rather than filter by port.
    const FILTERED_PORTS: usize = 64;

    /// The inodes of the sockets of one protocol and family in `states` the kernel lists now,
    /// at least of those on `ports`. A host with a socket no process holds (a kernel service, a
    /// sandbox's hidden one) re-checks it on each run: asking for its port alone spares a
    /// second dump of 10,000 listeners.
    fn live_inodes(
        protocol: Protocol,
        ipv6: bool,
        states: u32,
        ports: &[u16],
    ) -> Option<HashSet<u64>> {
        let filtered = if ports.len() <= FILTERED_PORTS {
            netlink::dump_ports(protocol, ipv6, states, ports)
        } else {
            Err(std::io::Error::other("too many ports to filter"))
        };
        let sockets = match filtered.or_else(|_| netlink::dump(protocol, ipv6, states)) {
            Ok(sockets) => sockets,
            Err(_) => {
                let text = std::fs::read_to_string(procnet::path(protocol, ipv6)).ok()?;
                procnet::parse(&text, protocol, ipv6).0
            }
        };
        Some(sockets.into_iter().map(|s| s.inode).collect())
    }

    /// Dump every protocol and family over netlink, falling back to `/proc/net` for any part
    /// netlink refuses. Fails only when no part could be read at all.
    pub(super) fn list_sockets(
        options: CollectOptions,
        expected: usize,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<KernelSocket>, CollectError> {
        // A little more than last time: a busy host's count moves, and one doubling of 40,000
        // sockets would cost more than this margin.
        let mut all = Vec::with_capacity(expected + expected / 16);
        let mut failures = Vec::new();
        for protocol in [Protocol::Tcp, Protocol::Udp] {
            let states = state_mask(protocol, options.include_connections);
            if protocol == Protocol::Tcp && netlink::dump_tcp_into(states, &mut all).is_ok() {
                continue;
            }
            for ipv6 in [false, true] {
                let what = format!("{}{}", protocol.as_str(), if ipv6 { "6" } else { "" });
                let netlink_error = match netlink::dump_into(protocol, ipv6, states, &mut all) {
                    Ok(()) => continue,
                    Err(e) => e,
                };
                let path = procnet::path(protocol, ipv6);
                match std::fs::read_to_string(&path) {
                    Ok(text) => {
                        let (sockets, malformed) = procnet::parse(&text, protocol, ipv6);
                        warnings.push(format!(
                            "netlink sock_diag failed for {what} ({netlink_error}); read {path} instead"
                        ));
                        if malformed > 0 {
                            warnings
                                .push(format!("{malformed} unreadable lines in {path} skipped"));
                        }
                        all.extend(
                            sockets
                                .into_iter()
                                .filter(|s| states & (1u32 << s.state.min(31)) != 0),
                        );
                    }
                    // No IPv6 in this kernel: nothing to list, nothing to warn about.
                    Err(e) if ipv6 && e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        warnings.push(format!(
                            "{what} sockets are missing: netlink failed ({netlink_error}) and {path} could not be read ({e})"
                        ));
                        failures.push(what);
                    }
                }
            }
        }
        if failures.len() == 4 {
            return Err(CollectError::Failed(format!(
                "cannot list sockets: {}",
                warnings.join("; ")
            )));
        }
        Ok(all)
    }

    /// `net.ipv6.bindv6only`: whether an IPv6 socket is v6-only unless it says otherwise.
    fn bindv6only() -> bool {
        read_trimmed("/proc/sys/net/ipv6/bindv6only").is_some_and(|v| v == "1")
    }

    fn read_trimmed(path: &str) -> Option<String> {
        let text = std::fs::read(path).ok()?;
        Some(crate::text::from_os_bytes(text.trim_ascii()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockets::Protocol;

    fn error_of(json: &str) -> String {
        match FixtureCollector::from_json(json.as_bytes(), "snap.json") {
            Ok(_) => panic!("accepted {json}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn bad_snapshots_say_what_is_wrong_and_where() {
        let truncated = error_of(r#"{"schema_version": 1, "host": {"#);
        assert!(
            truncated.starts_with("snap.json: ") && truncated.contains("truncated"),
            "{truncated}"
        );
        assert!(error_of("hello").contains("not valid JSON"));
        assert!(error_of(r#"{"sockets": []}"#).contains("no \"schema_version\""));
        assert!(error_of(r#"{"schema_version": 1, "sockets": 3}"#).contains("not a valid snapshot"));
        let future = error_of(r#"{"schema_version": 99}"#);
        assert!(
            future.contains("newer") && future.contains("upgrade"),
            "{future}"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_socket_closed_between_the_dump_and_the_owner_scan_is_left_out() {
        let options = CollectOptions::default();
        let kept = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (kept_port, closed_port) = (
            kept.local_addr().unwrap().port(),
            closed.local_addr().unwrap().port(),
        );
        let mut warnings = Vec::new();
        let dumped = linux::list_sockets(options, 0, &mut warnings).unwrap();
        // Sockets are told apart by inode: on a busy host another process may hold the same
        // port number over UDP, or bind the closed one's port again over TCP.
        let inode_on = |port| {
            dumped
                .iter()
                .find(|k| {
                    k.protocol == Protocol::Tcp
                        && k.local_port == port
                        && k.local_addr == std::net::IpAddr::from([127, 0, 0, 1])
                })
                .map(|k| k.inode)
                .expect("our listener in the dump")
        };
        let (kept_inode, closed_inode) = (inode_on(kept_port), inode_on(closed_port));
        drop(closed);
        let snapshot = linux::Live::default()
            .attach_owners(dumped, options, 0, warnings)
            .unwrap();
        let with = |inode| snapshot.sockets.iter().find(|s| s.inode == inode);
        let ours = with(kept_inode).expect("the open listener");
        assert!(ours.owners.iter().any(|o| o.pid == std::process::id()));
        assert_eq!(
            with(closed_inode),
            None,
            "a socket that closed before the owner scan is gone, not the kernel's"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_unchanged_owner_list_is_the_last_refresh_s_own() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let options = CollectOptions::default();
        let mut live = linux::Live::default();
        let ours = |snapshot: &Snapshot| {
            let socket = snapshot
                .sockets
                .iter()
                .find(|s| {
                    s.protocol == Protocol::Tcp
                        && s.local_port == port
                        && s.owners.iter().any(|o| o.pid == std::process::id())
                })
                .expect("our listener");
            socket.owners.clone()
        };
        // Another test spawning a child may add an owner for a moment (between its fork and
        // exec the child holds copies of our fds): compare two refreshes that agree.
        let mut last = ours(&live.collect(options).unwrap());
        for _ in 0..5 {
            let next = ours(&live.collect(options).unwrap());
            if next == last {
                // One allocation: the explorer compares the two refreshes by pointer.
                assert!(std::ptr::eq(next.as_ptr(), last.as_ptr()));
                return;
            }
            last = next;
        }
        panic!("our listener's owners changed on every refresh: {last:?}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_snapshot_round_trips_through_a_file() {
        let mut live = SystemCollector::new(CollectOptions::default());
        let snapshot = live.collect().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snap.json");
        let mut file = std::fs::File::create(&path).unwrap();
        crate::text::write_json(&mut file, &snapshot).unwrap();
        let mut fixture = FixtureCollector::from_file(&path).unwrap();
        assert_eq!(fixture.collect().unwrap(), snapshot);
        let missing = FixtureCollector::from_file(&dir.path().join("nope\x1b.json"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            missing.contains("nope\\x1b.json: cannot read it"),
            "{missing}"
        );
    }
}
