//! Sockets in the other network namespaces of the host: containers, `ip netns` sandboxes,
//! anything a plain sock_diag dump (which sees only the caller's namespace) misses.
//!
//! This module owns finding the namespaces (distinct `/proc/*/ns/net` by inode, plus the named
//! ones under `/run/netns`) and dumping each from inside it. It must not touch owner details or
//! the collector's caches: the sockets it returns are joined to processes by the same `/proc`
//! fd scan as the host's (socket inodes are unique across namespaces, and the processes in them
//! share the host's pid namespace). Naming a namespace after the container or unit that runs in
//! it is `facts`' job (through [`NetNs::pid`]), not this one's.
//!
//! The sweep runs only when the collector is in init's namespace (the host's): a portscope run
//! inside a sandbox of its own shows that sandbox, as `ss` would.
//!
//! `setns` changes the namespace of the calling *thread* only, so every namespace is entered on
//! one short-lived helper thread that exits when done; the caller's thread (possibly the UI's)
//! never leaves its own namespace.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::kernel::{state_mask, KernelSocket, TCP_LISTEN, TCP_TIME_WAIT};
use super::{netlink, procnet, NetNs, Protocol};
use crate::text::from_os_bytes;

/// At most this many namespaces are entered in one collection: a host with more (a fork bomb of
/// `unshare -n`) is told so instead of stalling every refresh.
const MAX_NAMESPACES: usize = 4096;

/// One network namespace other than ours, and how to enter it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    pub tag: NetNs,
    /// Files that name it, tried in order: its `/run/netns` entry first, then
    /// `/proc/PID/ns/net` of each process seen in it (one may exit before we get there).
    pub paths: Vec<PathBuf>,
}

/// What finding the namespaces saw.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Our own namespace's inode, when it could be read.
    pub own: Option<u64>,
    /// Every other namespace, by inode.
    pub others: Vec<Namespace>,
    /// Processes whose namespace link could not be read (not ours, and we are not root).
    pub unreadable: usize,
    /// Set when [`MAX_NAMESPACES`] cut the list short.
    pub truncated: bool,
    /// Our own namespace has an `ip netns` name: we run inside a named sandbox.
    pub own_is_named: bool,
}

/// Find every network namespace of the host other than ours. `proc` is the proc mount and
/// `run_netns` the directory `ip netns` keeps its names in (parameters so a test can point them
/// elsewhere).
pub fn discover(proc: &Path, run_netns: &Path) -> Discovery {
    let mut found = Discovery {
        own: ns_inode_of_link(&proc.join("self/ns/net")).ok(),
        ..Discovery::default()
    };
    let mut by_inode: BTreeMap<u64, Namespace> = BTreeMap::new();
    // Named ones first, so a name is kept and its bind mount is the first path tried.
    if let Ok(entries) = std::fs::read_dir(run_netns) {
        for entry in entries.flatten() {
            let path = entry.path();
            // A bind mount of nsfs: stat gives the namespace's inode. A stale name (the mount
            // gone, a plain file left) has some other inode and is not entered: see below.
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if !is_nsfs(&path) {
                continue;
            }
            let inode = meta.ino();
            if Some(inode) == found.own {
                found.own_is_named = true;
                continue;
            }
            let ns = by_inode.entry(inode).or_insert_with(|| Namespace {
                tag: NetNs {
                    inode,
                    name: None,
                    pid: None,
                },
                paths: Vec::new(),
            });
            // Two names for one namespace: keep the first in directory order, stable enough.
            ns.tag
                .name
                .get_or_insert_with(|| from_os_bytes(entry.file_name().as_bytes()));
            ns.paths.push(path);
        }
    }
    let Ok(procs) = std::fs::read_dir(proc) else {
        return found;
    };
    let mut pids: Vec<u32> = procs
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    for pid in pids {
        let link = proc.join(pid.to_string()).join("ns/net");
        let inode = match ns_inode_of_link(&link) {
            Ok(inode) => inode,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                found.unreadable += 1;
                continue;
            }
            Err(_) => continue, // exited, or a kernel thread
        };
        if Some(inode) == found.own {
            continue;
        }
        if !by_inode.contains_key(&inode) && by_inode.len() >= MAX_NAMESPACES {
            found.truncated = true;
            continue;
        }
        let ns = by_inode.entry(inode).or_insert_with(|| Namespace {
            tag: NetNs {
                inode,
                name: None,
                pid: None,
            },
            paths: Vec::new(),
        });
        ns.tag.pid.get_or_insert(pid);
        // A few pids are plenty to survive one exiting; keeping all would cost memory on a
        // namespace with thousands of processes.
        if ns.paths.len() < 4 {
            ns.paths.push(link);
        }
    }
    found.others = by_inode.into_values().collect();
    found
}

/// `net:[4026531993]` → 4026531993.
fn ns_inode_of_link(link: &Path) -> io::Result<u64> {
    let target = std::fs::read_link(link)?;
    let bytes = target.as_os_str().as_bytes();
    bytes
        .strip_prefix(b"net:[")
        .and_then(|b| b.strip_suffix(b"]"))
        .and_then(|d| std::str::from_utf8(d).ok()?.parse().ok())
        .ok_or_else(|| io::Error::other("not a network namespace link"))
}

/// Whether `path` lives on nsfs (a namespace file), not a leftover plain file.
fn is_nsfs(path: &Path) -> bool {
    const NSFS_MAGIC: i64 = 0x6e73_6673;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: statfs writes into the zeroed struct we pass; the path is NUL-terminated.
    unsafe {
        let mut buf: libc::statfs = std::mem::zeroed();
        libc::statfs(c_path.as_ptr(), &mut buf) == 0 && buf.f_type as i64 == NSFS_MAGIC
    }
}

/// What dumping the other namespaces gave.
#[derive(Debug, Default)]
pub struct Dumped {
    /// Their sockets, each with its namespace tag.
    pub sockets: Vec<(KernelSocket, NetNs)>,
    /// Namespaces that could not be entered, with why (already worded for a user).
    pub refused: Vec<(NetNs, String)>,
    /// Namespaces that vanished between discovery and entering: their sockets are gone with
    /// them, so nothing is missing, but the count is kept for the record.
    pub vanished: Vec<NetNs>,
    /// Problems inside an entered namespace (a netlink family missing there).
    pub warnings: Vec<String>,
}

/// Below this many namespaces one helper thread does them all; above, two share them (most of
/// the cost is the kernel walking its socket tables once per namespace and family).
const SECOND_HELPER_FROM: usize = 4;

/// Enter each namespace on a helper thread and dump its sockets of the wanted states.
pub fn dump_all(namespaces: &[Namespace], include_connections: bool) -> Dumped {
    if namespaces.is_empty() {
        return Dumped::default();
    }
    let chunk = if namespaces.len() >= SECOND_HELPER_FROM {
        namespaces.len().div_ceil(2)
    } else {
        namespaces.len()
    };
    std::thread::scope(|s| {
        let helpers: Vec<_> = namespaces
            .chunks(chunk)
            .map(|part| {
                std::thread::Builder::new()
                    .name("portscope-netns".into())
                    .spawn_scoped(s, move || {
                        let mut out = Dumped::default();
                        for ns in part {
                            dump_one(ns, include_connections, &mut out);
                        }
                        out
                    })
            })
            .collect();
        let mut all = Dumped::default();
        for helper in helpers {
            let part = match helper {
                Ok(handle) => handle.join().unwrap_or_else(|_| Dumped {
                    warnings: vec![
                        "a helper thread that reads other network namespaces failed; some of their sockets are missing".into(),
                    ],
                    ..Dumped::default()
                }),
                Err(e) => Dumped {
                    warnings: vec![format!(
                        "cannot start a thread to read other network namespaces ({e}); some of their sockets are missing"
                    )],
                    ..Dumped::default()
                },
            };
            all.sockets.extend(part.sockets);
            all.refused.extend(part.refused);
            all.vanished.extend(part.vanished);
            all.warnings.extend(part.warnings);
        }
        all
    })
}

/// Runs on the helper thread only: it leaves the thread in `ns`.
fn dump_one(ns: &Namespace, include_connections: bool, out: &mut Dumped) {
    let mut last_error = None;
    let mut entered = false;
    for path in &ns.paths {
        match enter(path, ns.tag.inode) {
            Ok(()) => {
                entered = true;
                break;
            }
            Err(e) => last_error = Some(e),
        }
    }
    if !entered {
        match last_error {
            Some(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::EACCES)) => {
                out.refused
                    .push((ns.tag.clone(), format!("cannot enter it: {e}")));
            }
            Some(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ESRCH)) => {
                out.vanished.push(ns.tag.clone());
            }
            Some(e) if e.kind() == io::ErrorKind::Other => out.vanished.push(ns.tag.clone()),
            Some(e) => out
                .refused
                .push((ns.tag.clone(), format!("cannot enter it: {e}"))),
            None => out.vanished.push(ns.tag.clone()),
        }
        return;
    }
    for protocol in [Protocol::Tcp, Protocol::Udp] {
        let states = state_mask(protocol, include_connections);
        if protocol == Protocol::Tcp {
            if let Some(both) = dump_tcp(states) {
                out.sockets
                    .extend(both.into_iter().map(|s| (s, ns.tag.clone())));
                continue;
            }
        }
        for ipv6 in [false, true] {
            let sockets = match netlink::dump(protocol, ipv6, states) {
                Ok(sockets) => sockets,
                Err(netlink_error) => {
                    match fallback(protocol, ipv6, states) {
                        Ok(Some(sockets)) => sockets,
                        Ok(None) => continue, // no IPv6 in this namespace
                        Err(e) => {
                            out.warnings.push(format!(
                                "{}{} sockets in network namespace {} are missing: netlink failed ({netlink_error}) and /proc could not be read ({e})",
                                protocol.as_str(),
                                if ipv6 { "6" } else { "" },
                                ns.tag.label(),
                            ));
                            continue;
                        }
                    }
                }
            };
            out.sockets
                .extend(sockets.into_iter().map(|s| (s, ns.tag.clone())));
        }
    }
}

/// This namespace's TCP sockets in `states`, both families (`None` when netlink cannot be asked).
///
/// Listeners come from the kernel's table of listeners; any other state means a walk of its
/// table of connections, which every namespace shares: with 40,000 connections on the host, each
/// container's namespace costs as much to ask as the host itself, every refresh. So connections
/// are asked for only when this namespace's own counts say it has sockets besides its listeners.
fn dump_tcp(states: u32) -> Option<Vec<KernelSocket>> {
    let listen = 1u32 << TCP_LISTEN;
    let mut both = Vec::new();
    let counts = (states & !listen != 0).then(in_use_here).flatten();
    let Some(counts) = counts else {
        // Listeners only, or the counts cannot be read: all at once, as asked.
        return netlink::dump_tcp_into(states, &mut both)
            .ok()
            .map(|()| both);
    };
    netlink::dump_tcp_into(states & listen, &mut both).ok()?;
    // Half-open connections (SYN-RECV) are not in the counts; they have no owner anyway. A
    // connection opened after the counts were read is seen on the next refresh.
    if counts.beyond(both.len(), states) {
        netlink::dump_tcp_into(states & !listen, &mut both).ok()?;
    }
    Some(both)
}

/// TCP sockets this thread's namespace holds, from `/proc/thread-self/net/sockstat{,6}`:
/// those in its tables (listening or connected), and those in TIME-WAIT.
#[derive(Debug, PartialEq)]
struct InUse {
    hashed: usize,
    time_wait: usize,
}

impl InUse {
    /// Whether there are more sockets than `listeners` in `states` (TIME-WAIT counts only when
    /// asked for).
    fn beyond(&self, listeners: usize, states: u32) -> bool {
        self.hashed > listeners || states & (1 << TCP_TIME_WAIT) != 0 && self.time_wait > 0
    }
}

/// This thread's namespace's counts; `None` when they cannot be read.
fn in_use_here() -> Option<InUse> {
    let read = |name: &str| std::fs::read_to_string(this_thread_net(&format!("/proc/net/{name}")));
    let v4 = read("sockstat").ok()?;
    // No IPv6 in this namespace (or kernel): nothing counted there.
    let v6 = read("sockstat6").unwrap_or_default();
    parse_in_use(&v4, &v6)
}

/// `TCP: inuse N orphan N tw N …` and `TCP6: inuse N`.
fn parse_in_use(sockstat: &str, sockstat6: &str) -> Option<InUse> {
    let field = |text: &str, line: &str, name: &str| -> Option<usize> {
        let rest = text.lines().find_map(|l| l.strip_prefix(line))?;
        let mut words = rest.split_whitespace();
        while let Some(word) = words.next() {
            if word == name {
                return words.next()?.parse().ok();
            }
        }
        None
    };
    Some(InUse {
        hashed: field(sockstat, "TCP:", "inuse")? + field(sockstat6, "TCP6:", "inuse").unwrap_or(0),
        time_wait: field(sockstat, "TCP:", "tw")?,
    })
}

/// `/proc/net/FILE` as `/proc/thread-self/net/FILE`: this thread's namespace, not the
/// process's (`/proc/net` follows the main thread, which stays at home).
fn this_thread_net(proc_net_path: &str) -> String {
    proc_net_path.replacen("/proc/net/", "/proc/thread-self/net/", 1)
}

/// This thread's namespace's sockets in `states`, from its `/proc/net` tables.
fn fallback(protocol: Protocol, ipv6: bool, states: u32) -> io::Result<Option<Vec<KernelSocket>>> {
    match std::fs::read_to_string(this_thread_net(&procnet::path(protocol, ipv6))) {
        Ok(text) => {
            let (sockets, _) = procnet::parse(&text, protocol, ipv6);
            Ok(Some(
                sockets
                    .into_iter()
                    .filter(|s| states & (1u32 << s.state.min(31)) != 0)
                    .collect(),
            ))
        }
        Err(e) if ipv6 && e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Move this thread into the namespace at `path`, after checking it is still the one we found
/// (a pid may have been reused by a process elsewhere).
fn enter(path: &Path, inode: u64) -> io::Result<()> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.ino() != inode {
        return Err(io::Error::other("another namespace now"));
    }
    // SAFETY: setns on an open namespace descriptor; it affects only the calling thread.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sockets of every other namespace, with the warnings a user must see: namespaces this run
/// could not enter or even see, and how to include them.
pub fn collect_others(include_connections: bool, warnings: &mut Vec<String>) -> Vec<KernelSocket> {
    collect_others_from(
        Path::new("/proc"),
        Path::new("/run/netns"),
        include_connections,
        warnings,
    )
}

/// [`collect_others`] started on a helper thread, so that the caller dumps its own namespace
/// meanwhile: on a host with many namespaces the sweep is the longer part of a collection, and
/// the caller would otherwise wait for its own dump and the sweep one after the other.
pub struct Sweep {
    helper: Option<std::thread::JoinHandle<(Vec<KernelSocket>, Vec<String>)>>,
    include_connections: bool,
}

impl Sweep {
    pub fn start(include_connections: bool) -> Sweep {
        let helper = std::thread::Builder::new()
            .name("portscope-netns".into())
            .spawn(move || {
                let mut warnings = Vec::new();
                let sockets = collect_others(include_connections, &mut warnings);
                (sockets, warnings)
            })
            .ok();
        Sweep {
            helper,
            include_connections,
        }
    }

    /// Wait for the sweep; its warnings are appended to `warnings`.
    pub fn finish(self, warnings: &mut Vec<String>) -> Vec<KernelSocket> {
        match self.helper.map(std::thread::JoinHandle::join) {
            Some(Ok((sockets, mut theirs))) => {
                warnings.append(&mut theirs);
                sockets
            }
            Some(Err(_)) => {
                warnings.push(
                    "the thread that reads other network namespaces failed; their sockets are missing".into(),
                );
                Vec::new()
            }
            // No thread could be started: sweep on this one.
            None => collect_others(self.include_connections, warnings),
        }
    }
}

pub fn collect_others_from(
    proc: &Path,
    run_netns: &Path,
    include_connections: bool,
    warnings: &mut Vec<String>,
) -> Vec<KernelSocket> {
    let found = discover(proc, run_netns);
    // Run inside a sandbox of its own (`unshare -n`, a container's namespace), portscope shows
    // that namespace, as `ss` would: the sweep is for a run in the host's (init's) namespace.
    // When init's namespace cannot be read (not root), the sweep goes on so that its warnings
    // say what is missing.
    let init = ns_inode_of_link(&proc.join("1/ns/net")).ok();
    if init.is_some() && found.own.is_some() && init != found.own {
        return Vec::new();
    }
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    // Run with `ip netns exec` where init's namespace cannot be read (a sandbox refusing even
    // root), the named namespace is the one asked about: show it alone, as `ss` would, rather
    // than other namespaces' sockets as if they were here.
    if init.is_none() && root && found.own_is_named {
        return Vec::new();
    }
    let dumped = dump_all(&found.others, include_connections);
    if found.unreadable > 0 && !root {
        warnings.push(format!(
            "the network namespace of {} processes could not be read: sockets in other namespaces (containers, `ip netns`) may be missing — run as root (sudo portscope …) to include them",
            found.unreadable
        ));
    }
    if !dumped.refused.is_empty() {
        let names: Vec<String> = dumped
            .refused
            .iter()
            .take(5)
            .map(|(ns, why)| format!("{} ({why})", ns.label()))
            .collect();
        let more = dumped.refused.len().saturating_sub(5);
        warnings.push(format!(
            "{} network namespaces could not be entered, their sockets are missing: {}{} — {}",
            dumped.refused.len(),
            names.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            },
            if root {
                "a sandbox or security module refuses setns even to root here; `nsenter --net=/proc/PID/ns/net ss -tulpn` shows one"
            } else {
                "run as root (sudo portscope …) to include them"
            }
        ));
    }
    if found.truncated {
        warnings.push(format!(
            "more than {MAX_NAMESPACES} network namespaces: only the first {MAX_NAMESPACES} were read"
        ));
    }
    warnings.extend(dumped.warnings);
    dumped
        .sockets
        .into_iter()
        .map(|(mut socket, tag)| {
            socket.netns = Some(tag);
            socket
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_counts_parse_and_tell_connections_from_listeners() {
        let v4 = "sockets: used 40\nTCP: inuse 3 orphan 0 tw 2 alloc 9 mem 1\nUDP: inuse 1 mem 0\n";
        let v6 = "TCP6: inuse 2\nUDP6: inuse 0\n";
        let counts = parse_in_use(v4, v6).unwrap();
        assert_eq!(
            counts,
            InUse {
                hashed: 5,
                time_wait: 2
            }
        );
        let all = u32::MAX;
        let no_time_wait = all & !(1 << 6);
        assert!(
            !counts.beyond(5, no_time_wait),
            "five listeners are all there is"
        );
        assert!(
            counts.beyond(5, all),
            "and TIME-WAIT sockets when asked for"
        );
        assert!(counts.beyond(4, no_time_wait));
        // No IPv6 here: its count is zero. A file without its TCP line is no count at all.
        assert_eq!(parse_in_use(v4, "").unwrap().hashed, 3);
        assert_eq!(parse_in_use("UDP: inuse 1\n", v6), None);
        assert_eq!(parse_in_use("TCP: inuse x tw 0\n", v6), None);
    }

    #[test]
    fn namespace_links_parse_or_fail_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good");
        std::os::unix::fs::symlink("net:[4026531993]", &good).unwrap();
        assert_eq!(ns_inode_of_link(&good).unwrap(), 4026531993);
        for (i, junk) in ["mnt:[1]", "net:[x]", "net:[", "", "net:[1]\x1b"]
            .iter()
            .enumerate()
        {
            let p = dir.path().join(format!("j{i}"));
            std::os::unix::fs::symlink(if junk.is_empty() { "." } else { junk }, &p).unwrap();
            assert!(ns_inode_of_link(&p).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn a_stale_name_that_is_not_a_namespace_is_skipped() {
        let run = tempfile::tempdir().unwrap();
        std::fs::write(run.path().join("left-over"), b"").unwrap();
        let found = discover(Path::new("/proc"), run.path());
        assert!(found
            .others
            .iter()
            .all(|ns| ns.tag.name.as_deref() != Some("left-over")));
    }

    #[test]
    fn a_namespace_that_vanished_is_recorded_not_entered() {
        let gone = Namespace {
            tag: NetNs {
                inode: 1,
                name: Some("gone".into()),
                pid: None,
            },
            paths: vec![PathBuf::from("/run/netns/portscope-does-not-exist")],
        };
        let dumped = dump_all(&[gone], false);
        assert!(dumped.sockets.is_empty());
        assert_eq!(dumped.vanished.len(), 1);
        assert!(dumped.refused.is_empty());
    }
}
