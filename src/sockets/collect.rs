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
}

/// What a collection should include.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectOptions {
    /// Every connection too, not only TCP listeners and unconnected UDP sockets.
    pub include_connections: bool,
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
}

/// Replays a saved snapshot: for tests, and for opening a snapshot taken elsewhere.
pub struct FixtureCollector {
    pub snapshot: Snapshot,
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
        let snapshot: Snapshot = serde_json::from_value(value)
            .map_err(|e| fail(format!("not a valid snapshot: {e}")))?;
        Ok(FixtureCollector { snapshot })
    }
}

impl Collector for FixtureCollector {
    fn collect(&mut self) -> Result<Snapshot, CollectError> {
        Ok(self.snapshot.clone())
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::{HashMap, HashSet};
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    use super::{CollectError, CollectOptions};
    use crate::sockets::kernel::{state_mask, KernelSocket};
    use crate::sockets::owners::{self, Clock, UserNames};
    use crate::sockets::{
        netlink, procnet, HostInfo, Owner, Protocol, Snapshot, Socket, UnknownOwner, SCHEMA_VERSION,
    };

    /// Even when every socket is found in memory, scan again this often: a process may have
    /// forked (a second owner) or been handed the socket over a Unix socket meanwhile.
    const FULL_RESCAN_EVERY: Duration = Duration::from_secs(30);

    /// What the collector remembers between refreshes.
    #[derive(Default)]
    pub struct Live {
        /// Socket inode → holding pids, from the last fd scan.
        holders: HashMap<u64, Vec<u32>>,
        /// Inodes the last scan looked for and found no process holding.
        ownerless: HashSet<u64>,
        /// Start time (ticks after boot) of every holder pid, to tell a reused pid.
        started: HashMap<u32, u64>,
        /// Processes whose fds the last scan could not read.
        unreadable: usize,
        scanned_at: Option<Instant>,
        users: UserNames,
    }

    impl Live {
        pub fn collect(&mut self, options: CollectOptions) -> Result<Snapshot, CollectError> {
            let taken_at = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let mut warnings = Vec::new();
            let kernel_sockets = list_sockets(options, &mut warnings)?;
            let wanted: HashSet<u64> = kernel_sockets
                .iter()
                .map(|s| s.inode)
                .filter(|&i| i != 0)
                .collect();
            let clock = Clock::read();
            let owners = self.owners_of(&wanted, &clock)?;

            // SAFETY: geteuid has no preconditions.
            let euid = unsafe { libc::geteuid() };
            let sees_all_owners = self.unreadable == 0 && (euid == 0 || !owners::proc_hides_pids());
            let v6only_default = bindv6only();
            let mut sockets: Vec<Socket> = kernel_sockets
                .into_iter()
                .map(|k| {
                    let found: Vec<Owner> = self
                        .holders
                        .get(&k.inode)
                        .into_iter()
                        .flatten()
                        .filter_map(|pid| owners.get(pid).cloned())
                        .collect();
                    let owner_unknown = found
                        .is_empty()
                        .then(|| why_unknown(&k, euid, sees_all_owners, &self.holders));
                    let remote = k.remote();
                    Socket {
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
                        user: self.users.name(k.uid),
                    }
                })
                .collect();
            sockets.sort_by_key(|s| (s.local_port, s.key()));
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
        /// all, else from a fresh fd scan) and read each holder's details, by pid.
        fn owners_of(
            &mut self,
            wanted: &HashSet<u64>,
            clock: &Clock,
        ) -> Result<HashMap<u32, Owner>, CollectError> {
            let known = |i: &u64| self.holders.contains_key(i) || self.ownerless.contains(i);
            let mut fresh = self
                .scanned_at
                .is_none_or(|t| t.elapsed() > FULL_RESCAN_EVERY)
                || !wanted.iter().all(known);
            loop {
                if fresh {
                    self.rescan(wanted)?;
                }
                let mut details: HashMap<u32, Option<Owner>> = HashMap::new();
                let mut stale = false;
                for inode in wanted {
                    for &pid in self.holders.get(inode).into_iter().flatten() {
                        details.entry(pid).or_insert_with(|| {
                            let (owner, ticks) = owners::read_owner(pid, clock, &mut self.users)?;
                            match self.started.insert(pid, ticks) {
                                Some(before) if before != ticks => {
                                    stale = true; // the pid now names another process
                                    None
                                }
                                _ => Some(owner),
                            }
                        });
                        stale |= details[&pid].is_none();
                    }
                }
                if stale && !fresh {
                    // Memory is out of date: a holder exited or its pid was reused.
                    fresh = true;
                    continue;
                }
                let details = details
                    .into_iter()
                    .filter_map(|(pid, owner)| Some((pid, owner?)))
                    .collect();
                return Ok(details);
            }
        }

        fn rescan(&mut self, wanted: &HashSet<u64>) -> Result<(), CollectError> {
            let scan = owners::scan(wanted).map_err(|e| {
                CollectError::Failed(format!(
                    "cannot list processes in /proc ({e}); is /proc mounted?"
                ))
            })?;
            self.ownerless = wanted
                .iter()
                .filter(|i| !scan.holders.contains_key(i))
                .copied()
                .collect();
            let holding: HashSet<u32> = scan.holders.values().flatten().copied().collect();
            self.started.retain(|pid, _| holding.contains(pid));
            self.holders = scan.holders;
            self.unreadable = scan.unreadable;
            self.scanned_at = Some(Instant::now());
            Ok(())
        }
    }

    /// Why no process was found holding `socket`.
    fn why_unknown(
        socket: &KernelSocket,
        euid: u32,
        sees_all_owners: bool,
        holders: &HashMap<u64, Vec<u32>>,
    ) -> UnknownOwner {
        if socket.inode == 0 {
            UnknownOwner::Kernel // TIME-WAIT and other orphans no file refers to
        } else if holders.contains_key(&socket.inode) {
            UnknownOwner::Vanished // a holder was found, but it exited before we read it
        } else if !sees_all_owners && (socket.uid != euid || euid == 0) {
            // Root refused somewhere (a sandbox, a security module) could be refused any owner.
            UnknownOwner::Hidden
        } else if socket.uid == 0 {
            UnknownOwner::Kernel
        } else {
            UnknownOwner::Unknown
        }
    }

    /// Dump every protocol and family over netlink, falling back to `/proc/net` for any part
    /// netlink refuses. Fails only when no part could be read at all.
    fn list_sockets(
        options: CollectOptions,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<KernelSocket>, CollectError> {
        let mut all = Vec::new();
        let mut failures = Vec::new();
        for protocol in [Protocol::Tcp, Protocol::Udp] {
            let states = state_mask(protocol, options.include_connections);
            for ipv6 in [false, true] {
                let what = format!("{}{}", protocol.as_str(), if ipv6 { "6" } else { "" });
                let netlink_error = match netlink::dump(protocol, ipv6, states) {
                    Ok(sockets) => {
                        all.extend(sockets);
                        continue;
                    }
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
