//! The live sockets of a machine, as one owned, serialisable [`Snapshot`].
//!
//! This module owns the data model and the [`Collector`] seam. It knows nothing about terminals,
//! the registry or hints. Text fields hold what the OS said, unescaped (invalid UTF-8 bytes are
//! already shown as `\xNN`); every output escapes them through [`crate::text`].

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use crate::registry::Protocol;

pub mod collect;
pub mod diff;
#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(target_os = "linux")]
mod kernel;
pub mod matching;
#[cfg(target_os = "linux")]
pub(crate) mod netlink;
#[cfg(target_os = "linux")]
pub mod netns;
#[cfg(target_os = "linux")]
mod owners;
#[cfg(target_os = "linux")]
mod passwd;
pub mod portable;
#[cfg(target_os = "linux")]
pub mod procfs;
#[cfg(target_os = "linux")]
mod procnet;
mod sharing;
mod written_form;

pub use collect::{CollectError, CollectOptions, Collector, FixtureCollector, SystemCollector};
#[cfg(target_os = "linux")]
pub use owners::holds_socket;
#[cfg(target_os = "linux")]
pub(crate) use owners::UserNames;
pub use portable::PortableCollector;
#[cfg(not(target_os = "linux"))]
pub(crate) use portable::UserNames;

/// The version of the snapshot JSON layout. Bump it when a field changes meaning or is removed;
/// readers refuse a newer version with a clear message instead of guessing.
///
/// 2: sockets of other network namespaces are included, tagged with `netns` (absent or null: the
/// collector's own namespace). Version 1 snapshots still load: every socket in them is the host's.
///
/// 3: the file carries the owners' facts (package, unit, container, pod; integrity with
/// `--verify`) in a `facts` member, which the `facts` module reads ([`collect::FixtureCollector`]
/// keeps it aside). Older snapshots load with those facts unknown.
pub const SCHEMA_VERSION: u32 = 3;

/// Everything one collection saw: the host facts and its sockets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub schema_version: u32,
    pub host: HostInfo,
    pub sockets: Vec<Socket>,
}

/// Facts about the machine and the run that took the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct HostInfo {
    pub hostname: String,
    /// e.g. "Linux (Debian GNU/Linux 12)", as sysinfo words it.
    pub os: String,
    pub kernel: String,
    /// When the snapshot was taken, seconds since the Unix epoch.
    pub taken_at: u64,
    /// The effective uid and user name portscope ran as.
    pub uid: u32,
    pub user: String,
    /// True when this run could read every process's file descriptors, so no owner is hidden
    /// for lack of permission.
    pub sees_all_owners: bool,
    /// Whether connections were collected too (`--all`), or only listeners.
    pub includes_connections: bool,
    /// Problems met while collecting that did not stop it (a netlink family missing, a fallback
    /// taken); shown to the user, never swallowed.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The ports this host hands out by itself (`net.ipv4.ip_local_port_range`, less
    /// `ip_local_reserved_ports`); `None` when not known: another OS, an unreadable `/proc`, or
    /// a snapshot taken by an older portscope.
    #[serde(default)]
    pub ephemeral_ports: Option<EphemeralPorts>,
}

/// The range the kernel picks local ports from for outgoing connections and `bind(0)`, and the
/// ports reserved from that use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EphemeralPorts {
    pub range: crate::registry::PortRange,
    #[serde(default)]
    pub reserved: Vec<crate::registry::PortRange>,
}

impl EphemeralPorts {
    /// Read `sys/net/ipv4/ip_local_port_range` and `ip_local_reserved_ports` under `proc_root`
    /// (`/proc` on a live host, a fixture tree in tests); `None` if either is missing or odd.
    pub fn read(proc_root: &std::path::Path) -> Option<EphemeralPorts> {
        use std::io::Read;
        let read = |name: &str| -> Option<String> {
            let mut text = String::new();
            std::fs::File::open(proc_root.join("sys/net/ipv4").join(name))
                .ok()?
                .take(64 * 1024) // a sysctl is short; never read without a bound
                .read_to_string(&mut text)
                .ok()?;
            Some(text)
        };
        EphemeralPorts::parse(
            &read("ip_local_port_range")?,
            &read("ip_local_reserved_ports")?,
        )
    }

    /// `"32768\t60999"` and `"8080,9000-9010"` (empty when nothing is reserved).
    pub fn parse(range: &str, reserved: &str) -> Option<EphemeralPorts> {
        use crate::registry::PortRange;
        let mut ends = range.split_ascii_whitespace().map(|n| n.parse::<u16>());
        let (Some(Ok(start)), Some(Ok(end)), None) = (ends.next(), ends.next(), ends.next()) else {
            return None;
        };
        let reserved = reserved
            .trim()
            .split(',')
            .filter(|r| !r.is_empty())
            .map(|r| {
                let (a, b) = r.split_once('-').unwrap_or((r, r));
                let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                (a <= b).then_some(PortRange { start: a, end: b })
            })
            .collect::<Option<Vec<_>>>()?;
        (start <= end).then_some(EphemeralPorts {
            range: PortRange { start, end },
            reserved,
        })
    }

    /// Whether the kernel may hand out `port` by itself.
    pub fn hands_out(&self, port: u16) -> bool {
        self.range.contains(port) && !self.reserved.iter().any(|r| r.contains(port))
    }
}

/// The address family a socket was opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    V4,
    V6,
    /// An IPv6 socket bound to `::` with `IPV6_V6ONLY` off: it accepts IPv4 as well.
    Dual,
}

/// TCP states as the kernel names them; `Unconnected` is a bound UDP socket with no peer, the
/// UDP equivalent of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SocketState {
    Listen,
    Unconnected,
    Established,
    SynSent,
    SynReceived,
    FinWait1,
    FinWait2,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Closing,
    /// A connected UDP socket (it has a peer) or a TCP state the collector did not recognise.
    Other,
}

impl SocketState {
    /// A listener in the sense of this tool: TCP LISTEN or an unconnected bound UDP socket.
    pub fn is_listener(self) -> bool {
        matches!(self, SocketState::Listen | SocketState::Unconnected)
    }

    pub fn label(self) -> &'static str {
        match self {
            SocketState::Listen => "LISTEN",
            SocketState::Unconnected => "UNCONN",
            SocketState::Established => "ESTAB",
            SocketState::SynSent => "SYN-SENT",
            SocketState::SynReceived => "SYN-RECV",
            SocketState::FinWait1 => "FIN-WAIT-1",
            SocketState::FinWait2 => "FIN-WAIT-2",
            SocketState::TimeWait => "TIME-WAIT",
            SocketState::Close => "CLOSE",
            SocketState::CloseWait => "CLOSE-WAIT",
            SocketState::LastAck => "LAST-ACK",
            SocketState::Closing => "CLOSING",
            SocketState::Other => "OTHER",
        }
    }
}

/// One socket and the processes that hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Socket {
    pub protocol: Protocol,
    pub family: Family,
    pub local_addr: IpAddr,
    pub local_port: u16,
    /// The peer, for connections; `None` for listeners.
    pub remote_addr: Option<IpAddr>,
    pub remote_port: Option<u16>,
    pub state: SocketState,
    /// The kernel's inode number for the socket; 0 when unknown. Joins sockets to owners.
    pub inode: u64,
    /// Every process holding the socket (a forked server shares its listener), in ascending
    /// pid order. Shared between sockets, not copied (see [`Owners`]).
    pub owners: Owners,
    /// Why `owners` is empty, when it is.
    pub owner_unknown: Option<UnknownOwner>,
    /// The uid that opened the socket, as the kernel records it: known even when the owning
    /// process is hidden from us.
    #[serde(default)]
    pub uid: Option<u32>,
    /// The user owning `uid`: one copy per user, shared by that user's sockets.
    #[serde(default, deserialize_with = "sharing::user")]
    pub user: Option<Arc<str>>,
    /// The network namespace it lives in, when that is not the collector's own (the host view).
    #[serde(default)]
    pub netns: Option<NetNs>,
}

/// A network namespace other than the collector's own: a container's, an `ip netns` sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NetNs {
    /// The namespace's inode (`net:[INODE]` in `/proc/PID/ns/net`): unique while it exists.
    pub inode: u64,
    /// Its name under `/run/netns` (`ip netns add NAME`), when it has one: untrusted text.
    #[serde(default)]
    pub name: Option<String>,
    /// A process running in it, so that `facts` can name it after its container or unit; `None`
    /// for a named namespace no process lives in.
    #[serde(default)]
    pub pid: Option<u32>,
}

impl NetNs {
    /// Its `/run/netns` name, else `net:[INODE]` as the kernel writes it. Raw: escape to print.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => format!("net:[{}]", self.inode),
        }
    }
}

/// Sort sockets the way every collector lists them: by local port, then [`SocketKey`]
/// (protocol, addresses, peer, namespace), then inode, so the order is total.
///
/// Sorting 40,000 connections by that key took 12 ms, a tenth of what a refresh of them cost.
/// So each socket gets one 128-bit number that keeps its order and, for an IPv4 socket of this
/// namespace, holds the whole key ([`ordinal`]): those sort as two integers. The rest (IPv6,
/// another namespace) share a number with the sockets its first bits do not tell apart, and
/// each such run is then sorted by the whole key.
pub fn sort_for_listing(sockets: &mut [Socket]) {
    let mut order: Vec<(u128, u64, u32)> = sockets
        .iter()
        .enumerate()
        .map(|(at, s)| {
            let (ordinal, whole) = ordinal(s);
            // A socket whose number is not its whole key waits for its run's second sort.
            (ordinal, if whole { s.inode } else { 0 }, at as u32)
        })
        .collect();
    order.sort_unstable();
    let mut run = 0;
    while run < order.len() {
        let first = order[run].0;
        let end = run + 1 + order[run + 1..].iter().take_while(|o| o.0 == first).count();
        if end - run > 1
            && order[run..end]
                .iter()
                .any(|o| !ordinal(&sockets[o.2 as usize]).1)
        {
            order[run..end].sort_by_cached_key(|o| listing_order(&sockets[o.2 as usize]));
        }
        run = end;
    }
    // Put each socket in its place, following the permutation's cycles, as the standard
    // library's cached-key sort does; that sort itself was slower here (its entries carry a
    // tuple key and a separate index: 48 bytes, against 32).
    for i in 0..order.len() {
        let mut from = order[i].2 as usize;
        while from < i {
            from = order[from].2 as usize;
        }
        order[i].2 = from as u32;
        sockets.swap(i, from);
    }
}

/// A number in the listing order: local port (16 bits), protocol (2), then the local address,
/// peer and peer port. `true` when it is the whole key but the inode: an IPv4 socket with an
/// IPv4 peer or none, in the collector's own namespace. Otherwise the number stops at the first
/// part that does not fit, so it still never orders two sockets the wrong way round.
fn ordinal(s: &Socket) -> (u128, bool) {
    let head = u128::from(s.local_port) << 112 | (s.protocol as u128) << 110;
    let local = match s.local_addr {
        IpAddr::V4(local) => local,
        // Tag 2, then as much of the IPv6 address as fits.
        IpAddr::V6(local) => return (head | 2 << 108 | u128::from(local) >> 20, false),
    };
    let head = head | 1 << 108 | u128::from(u32::from(local)) << 76;
    let (remote_tag, remote, whole) = match s.remote_addr {
        None => (0, 0, true),
        Some(IpAddr::V4(r)) => (1, u32::from(r), true),
        Some(IpAddr::V6(r)) => (2, (u128::from(r) >> 96) as u32, false),
    };
    let head = head | remote_tag << 74 | u128::from(remote) << 42;
    if !whole {
        return (head, false);
    }
    // `None` first, then each port: 0, then one more than the port.
    let remote_port = s.remote_port.map_or(0, |p| u128::from(p) + 1);
    (head | remote_port << 25, s.netns.is_none())
}

/// `(local_port, key(), inode)` as integers that compare the same way. An address is a tag
/// (none, IPv4, IPv6: the order `Option<IpAddr>` has) and its bits, since IPv4 sorts first.
fn listing_order(s: &Socket) -> (u32, u128, u32, u128, u128, u64) {
    fn address(a: Option<IpAddr>) -> (u32, u128) {
        match a {
            None => (0, 0),
            Some(IpAddr::V4(a)) => (1, u128::from(u32::from(a))),
            Some(IpAddr::V6(a)) => (2, u128::from(a)),
        }
    }
    let (local_tag, local) = address(Some(s.local_addr));
    let (remote_tag, remote) = address(s.remote_addr);
    // `None` first, then each value: 0, then one more than the value.
    let remote_port = s.remote_port.map_or(0, |p| u128::from(p) + 1);
    let netns = s
        .netns
        .as_ref()
        .map_or(0, |n| (1u128 << 64) | u128::from(n.inode));
    (
        u32::from(s.local_port) << 16 | (s.protocol as u32) << 8 | local_tag,
        local,
        remote_tag,
        remote,
        remote_port << 65 | netns,
        s.inode,
    )
}

impl Socket {
    /// A stable identity across refreshes and snapshots: what, where, and (for connections) whom.
    pub fn key(&self) -> SocketKey {
        SocketKey {
            protocol: self.protocol,
            local_addr: self.local_addr,
            local_port: self.local_port,
            remote_addr: self.remote_addr,
            remote_port: self.remote_port,
            netns: self.netns.as_ref().map(|n| n.inode),
        }
    }

    /// `127.0.0.1:22`, `[::1]:631`: the local end as every output writes it.
    pub fn local_endpoint(&self) -> SocketAddr {
        SocketAddr::new(self.local_addr, self.local_port)
    }

    /// The peer, for connections.
    pub fn remote_endpoint(&self) -> Option<SocketAddr> {
        Some(SocketAddr::new(self.remote_addr?, self.remote_port?))
    }

    /// `tcp`, `udp6`, `tcp46` (dual-stack: an IPv6 socket that accepts IPv4 too), as BSD
    /// netstat writes it.
    pub fn proto_label(&self) -> String {
        let suffix = match self.family {
            Family::V4 => "",
            Family::V6 => "6",
            Family::Dual => "46",
        };
        format!("{}{suffix}", self.protocol)
    }

    /// Bound to every interface (0.0.0.0 or ::), reachable from the network.
    pub fn is_wildcard(&self) -> bool {
        self.local_addr.is_unspecified()
    }

    /// Bound to a loopback address only.
    pub fn is_loopback(&self) -> bool {
        self.local_addr.is_loopback()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SocketKey {
    pub protocol: Protocol,
    pub local_addr: IpAddr,
    pub local_port: u16,
    pub remote_addr: Option<IpAddr>,
    pub remote_port: Option<u16>,
    /// The namespace's inode for a socket outside the host's: the same address may be bound
    /// once per namespace.
    #[serde(default)]
    pub netns: Option<u64>,
}

/// A process holding a socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub pid: u32,
    /// The kernel's short name (comm), as the process set it: untrusted.
    pub name: String,
    pub uid: Option<u32>,
    pub user: Option<String>,
    /// The executable path, with the kernel's " (deleted)" suffix removed (see `exe_deleted`).
    pub exe: Option<String>,
    /// The executable was deleted or replaced after the process started.
    #[serde(default)]
    pub exe_deleted: bool,
    pub cmdline: Vec<String>,
    /// Start time, seconds since the Unix epoch.
    pub start_time: Option<u64>,
    /// Start time in clock ticks after boot (field 22 of `/proc/PID/stat`): with the pid, the
    /// process's identity. A pid reused even one tick later names another process. Absent in
    /// snapshots from before it was recorded.
    #[serde(default)]
    pub start_ticks: Option<u64>,
    pub parent_pid: Option<u32>,
}

/// The processes holding a socket: a slice (`iter`, `first`, `len`, `[0]`, `for o in &owners`)
/// shared between every socket with the same holders, so the 20,000 connections of one server
/// point at one copy of its details instead of 20,000. Serialised as a plain list. Build one
/// with `vec![owner].into()`; changing it through `&mut` copies it first when shared.
#[derive(Debug, Clone, Default, Eq, Serialize)]
#[serde(transparent)]
pub struct Owners(Arc<[Owner]>);

/// One shared list is equal to itself without a look at its owners. `Arc`'s own `==` takes that
/// shortcut only for sized contents, not for a slice: comparing two refreshes of 40,000
/// connections compared their owners field by field.
impl PartialEq for Owners {
    fn eq(&self, other: &Owners) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0[..] == other.0[..]
    }
}

/// A plain list; parsing a snapshot file shares equal lists (see [`sharing`]).
impl<'de> Deserialize<'de> for Owners {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Owners, D::Error> {
        sharing::owners(d)
    }
}

impl std::ops::Deref for Owners {
    type Target = [Owner];
    fn deref(&self) -> &[Owner] {
        &self.0
    }
}

impl std::ops::DerefMut for Owners {
    fn deref_mut(&mut self) -> &mut [Owner] {
        if Arc::get_mut(&mut self.0).is_none() {
            self.0 = self.0.iter().cloned().collect();
        }
        // Unique now: the shared list was copied just above.
        Arc::get_mut(&mut self.0).unwrap_or(&mut [])
    }
}

impl From<Vec<Owner>> for Owners {
    fn from(owners: Vec<Owner>) -> Owners {
        Owners(owners.into())
    }
}

impl FromIterator<Owner> for Owners {
    fn from_iter<I: IntoIterator<Item = Owner>>(owners: I) -> Owners {
        Owners(owners.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Owners {
    type Item = &'a Owner;
    type IntoIter = std::slice::Iter<'a, Owner>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Why a socket has no known owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownOwner {
    /// Other users' /proc/PID/fd could not be read (not root, or /proc mounted with hidepid, or
    /// a sandbox refusing even root).
    Hidden,
    /// No process holds it: the kernel does (NFS, RPC, WireGuard, a TIME-WAIT remnant).
    Kernel,
    /// The process exited between the socket dump and the owner scan.
    Vanished,
    /// This run's `/proc` shows only a child pid namespace (`unshare -p --mount-proc`, a
    /// container sharing the host's network): the holder is most likely a process outside it,
    /// which cannot be seen from here, though the kernel cannot be ruled out.
    OtherPidNamespace,
    /// It could not be told which of the above applies.
    Unknown,
}

impl UnknownOwner {
    /// The words for this state when it is not known whether the run was root. Prefer
    /// [`UnknownOwner::explain_for`], which gives the right advice for the run.
    pub fn explain(self) -> &'static str {
        match self {
            UnknownOwner::Hidden => {
                "owner hidden: this run may not read the owning process (run as root; hidepid or a sandbox can hide it even then)"
            }
            other => other.explain_for_uid(u32::MAX),
        }
    }

    /// The words for this state, right for the run that took `host`: telling root to "run as
    /// root" is wrong when a sandbox or security module hides the owner from root itself.
    pub fn explain_for(self, host: &HostInfo) -> &'static str {
        self.explain_for_uid(host.uid)
    }

    fn explain_for_uid(self, uid: u32) -> &'static str {
        match self {
            UnknownOwner::Hidden if uid == 0 => {
                "owner hidden even from root: a sandbox, security module or container boundary refuses access to the owning process (run portscope on the host, outside the sandbox)"
            }
            UnknownOwner::Hidden => {
                "owner hidden: this run may not read other users' processes (run as root)"
            }
            UnknownOwner::Kernel => "held by the kernel, not by a process",
            UnknownOwner::Vanished => "the owning process exited while collecting",
            UnknownOwner::OtherPidNamespace => {
                "owner in another pid namespace: this /proc shows only a child pid namespace that shares the network with processes outside it (run portscope in the host's pid namespace)"
            }
            UnknownOwner::Unknown => "owner could not be determined",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The integer order is the order of port, key and inode, which `diff`, the explorer
        /// and every listing take for granted.
        #[test]
        fn sockets_are_listed_by_port_then_key_then_inode(
            sockets in proptest::collection::vec(fixtures::arbitrary_socket(), 0..40),
            ports in proptest::collection::vec(0u16..3, 40),
        ) {
            // Few distinct ports, so that the rest of the key decides often.
            let mut sockets = sockets;
            for (socket, port) in sockets.iter_mut().zip(ports) {
                socket.local_port = port;
                if port == 0 {
                    socket.inode %= 2;
                }
            }
            let mut by_key = sockets.clone();
            by_key.sort_by_key(|s| (s.local_port, s.key(), s.inode));
            sort_for_listing(&mut sockets);
            prop_assert_eq!(sockets, by_key);
        }
    }

    /// Addresses that differ only past what the 128-bit number holds are ordered by the whole
    /// key: IPv6 addresses apart in their last bits, as local ends and as peers.
    #[test]
    fn sockets_apart_only_in_their_last_address_bits_are_listed_in_order() {
        let socket = |local: &str, remote: &str, remote_port: u16, inode: u64| {
            let mut s = fixtures::tcp(local, 443, fixtures::owner(1, "srv", 0, "/srv"));
            s.remote_addr = Some(remote.parse().unwrap());
            s.remote_port = Some(remote_port);
            s.inode = inode;
            s
        };
        let mut sockets = vec![
            socket("fe80::2", "fe80::9", 1, 1),
            socket("fe80::1", "fe80::9", 2, 2),
            socket("10.0.0.1", "::2", 1, 3),
            socket("10.0.0.1", "::1", 2, 4),
            socket("10.0.0.1", "10.0.0.9", 5, 6),
            socket("10.0.0.1", "10.0.0.9", 5, 5),
        ];
        let mut by_key = sockets.clone();
        by_key.sort_by_key(|s| (s.local_port, s.key(), s.inode));
        sort_for_listing(&mut sockets);
        let inodes = |v: &[Socket]| v.iter().map(|s| s.inode).collect::<Vec<_>>();
        assert_eq!(inodes(&sockets), inodes(&by_key));
        assert_eq!(inodes(&sockets), [5, 6, 4, 3, 2, 1]);
    }

    #[test]
    fn hidden_owners_are_explained_for_the_run_that_saw_them() {
        let host = |uid| HostInfo {
            uid,
            ..HostInfo::default()
        };
        let for_root = UnknownOwner::Hidden.explain_for(&host(0));
        assert!(!for_root.contains("run as root"), "{for_root}");
        assert!(for_root.contains("even from root") && for_root.contains("sandbox"));
        let for_user = UnknownOwner::Hidden.explain_for(&host(1000));
        assert!(for_user.contains("run as root"), "{for_user}");
        assert!(UnknownOwner::OtherPidNamespace
            .explain_for(&host(0))
            .contains("another pid namespace"));
    }

    #[test]
    fn a_snapshot_without_start_ticks_still_loads() {
        let json = r#"{"pid": 7, "name": "x", "uid": null, "user": null, "exe": null,
            "cmdline": [], "start_time": 1700000000, "parent_pid": null}"#;
        let owner: Owner = serde_json::from_str(json).unwrap();
        assert_eq!(
            (owner.start_time, owner.start_ticks),
            (Some(1_700_000_000), None)
        );
    }
}
