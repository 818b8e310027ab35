//! The portable collector: sockets and the pids holding them from the OS's own socket tables
//! (netstat2 on Windows and Linux, libproc on macOS: see [`macos`]), the owners' details from
//! sysinfo. It is the live collector on macOS and Windows. On Linux the native sock_diag
//! collector stays the default; this one builds and runs there too so that its logic is tested
//! against it (tests/portable_collector.rs).
//!
//! It knows less than the Linux collector, and leaves a field empty or coarse rather than guess:
//! - no per-socket `IPV6_V6ONLY` from netstat2: an IPv6 wildcard is `V6`, never `Dual`, on
//!   Windows (and Linux); macOS reports it per socket (`insi_vflag`, as its `netstat` prints
//!   `tcp46`);
//! - no kernel state filter: the OS lists every socket and listeners are picked out here;
//! - UDP without a peer or state from netstat2: a connected UDP socket is listed as an
//!   unconnected one (a "listener");
//! - no socket inode (0) and no uid of the socket itself, only of the owning process;
//! - start times in whole seconds from sysinfo, no start ticks: a pid reused within the same
//!   second is not told apart;
//! - macOS without root lists only the sockets of the caller's own processes: the others are
//!   not hidden owners, they are missing (`HostInfo::warnings` says so).
//!
//! Owns only this source; must not touch `/proc` or netlink (the Linux collector's).

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind, Users};

use super::collect::{CollectError, CollectOptions, Collector};
use super::SCHEMA_VERSION;
use super::{Family, HostInfo, Owner, Protocol, Snapshot, Socket, SocketState, UnknownOwner};

/// One socket as the OS table gives it, before owners are joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableSocket {
    pub protocol: Protocol,
    pub family: Family,
    pub local_addr: IpAddr,
    pub local_port: u16,
    pub remote: Option<(IpAddr, u16)>,
    pub state: SocketState,
    pub pids: Vec<u32>,
}

/// Collects with the OS's socket table and sysinfo. Keep one for repeated refreshes: its process
/// table keeps the executables and command lines it already read.
pub struct PortableCollector {
    pub options: CollectOptions,
    system: System,
    users: Users,
}

impl PortableCollector {
    pub fn new(options: CollectOptions) -> PortableCollector {
        PortableCollector {
            options,
            system: System::new(),
            users: Users::new(),
        }
    }

    /// The owners' details, by pid, for exactly the pids that hold a listed socket.
    fn owners(&mut self, pids: &BTreeSet<u32>) -> Vec<Owner> {
        // A long session must not keep every process it ever saw: start over when the table
        // holds far more than is wanted now.
        if self.system.processes().len() > 4 * pids.len() + 256 {
            self.system = System::new();
        }
        let wanted: Vec<Pid> = pids.iter().map(|&p| Pid::from_u32(p)).collect();
        // Only what is shown: name, parent and start time come with every refresh; the user,
        // executable and command line are asked for; no CPU, memory, disk, environment or
        // threads.
        let kind = ProcessRefreshKind::nothing()
            .with_user(UpdateKind::OnlyIfNotSet)
            .with_exe(UpdateKind::OnlyIfNotSet)
            .with_cmd(UpdateKind::OnlyIfNotSet)
            .without_tasks();
        self.system
            .refresh_processes_specifics(ProcessesToUpdate::Some(&wanted), true, kind);
        let mut owners = Vec::with_capacity(wanted.len());
        for pid in wanted {
            let Some(process) = self.system.process(pid) else {
                continue; // exited between the socket table and now
            };
            let user_id = process.effective_user_id().or(process.user_id());
            if user_id.is_some_and(|id| self.users.get_user_by_id(id).is_none()) {
                // A user created since the last refresh (or the first lookup).
                self.users.refresh();
            }
            owners.push(Owner {
                pid: pid.as_u32(),
                name: os_text(process.name()),
                uid: user_id.and_then(numeric_uid),
                user: user_id
                    .and_then(|id| self.users.get_user_by_id(id))
                    .map(|u| u.name().to_string()),
                exe: process.exe().map(|p| os_text(p.as_os_str())),
                // sysinfo does not say whether the file was replaced since the start.
                exe_deleted: false,
                cmdline: process.cmd().iter().map(|a| os_text(a)).collect(),
                start_time: Some(process.start_time()).filter(|&t| t > 0),
                // sysinfo gives whole seconds, not the kernel's ticks.
                start_ticks: None,
                parent_pid: process.parent().map(Pid::as_u32).filter(|&p| p != 0),
            });
        }
        owners
    }
}

impl Collector for PortableCollector {
    fn collect(&mut self) -> Result<Snapshot, CollectError> {
        let taken_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut warnings = Vec::new();
        let privilege = privilege();
        warnings.extend(privilege.warning.clone());
        let include_connections = self.options.include_connections;
        let table: Vec<TableSocket> = source::list(&mut warnings)
            .map_err(|e| CollectError::Failed(format!("cannot list sockets: {e}")))?
            .into_iter()
            .filter(|s| include_connections || s.state.is_listener())
            .collect();
        let pids: BTreeSet<u32> = table.iter().flat_map(|s| s.pids.iter().copied()).collect();
        let owners = self.owners(&pids);
        let mut sockets: Vec<Socket> = table
            .into_iter()
            .map(|t| join(t, &owners, privilege.sees_all_owners))
            .collect();
        sockets.sort_by_key(|s| (s.local_port, s.key()));
        Ok(Snapshot {
            schema_version: SCHEMA_VERSION,
            host: HostInfo {
                hostname: System::host_name().unwrap_or_default(),
                os: System::long_os_version().unwrap_or_else(|| std::env::consts::OS.into()),
                kernel: System::kernel_version().unwrap_or_default(),
                taken_at,
                uid: privilege.uid,
                user: privilege.user,
                sees_all_owners: privilege.sees_all_owners,
                includes_connections: include_connections,
                warnings,
                // Not read on this source: each OS keeps its range elsewhere (sysctl on macOS,
                // `netsh int ipv4 show dynamicport` on Windows).
                ephemeral_ports: None,
            },
            sockets,
        })
    }
}

/// A table socket with its owners' details; an empty pid list or vanished owners say why.
fn join(t: TableSocket, owners: &[Owner], sees_all_owners: bool) -> Socket {
    let found: Vec<Owner> = owners
        .iter()
        .filter(|o| t.pids.contains(&o.pid))
        .cloned()
        .collect();
    let owner_unknown = found.is_empty().then_some(if !t.pids.is_empty() {
        UnknownOwner::Vanished // a pid was listed, but it exited before we read it
    } else if !sees_all_owners {
        UnknownOwner::Hidden
    } else {
        UnknownOwner::Unknown
    });
    let uid = found.first().and_then(|o| o.uid);
    let user = found.first().and_then(|o| o.user.clone());
    let (remote_addr, remote_port) = t.remote.map_or((None, None), |(a, p)| (Some(a), Some(p)));
    Socket {
        protocol: t.protocol,
        family: t.family,
        local_addr: t.local_addr,
        local_port: t.local_port,
        remote_addr,
        remote_port,
        state: t.state,
        // The OS tables give no inode; 0 is the model's "unknown".
        inode: 0,
        owners: found.into(),
        owner_unknown,
        // The socket's own uid is not in these tables: the owner's, when there is one.
        uid,
        user: user.map(Into::into),
        // The OS tables are this network namespace's only.
        netns: None,
    }
}

/// uid → user name where the Linux reader (NSS, then `/etc/passwd`) is not used: sysinfo's user
/// list. Windows users have SIDs, not numeric uids, so no uid names anyone there.
#[cfg(not(target_os = "linux"))]
#[derive(Default)]
pub(crate) struct UserNames {
    users: Option<Users>,
}

#[cfg(not(target_os = "linux"))]
impl UserNames {
    pub fn name(&mut self, uid: u32) -> Option<String> {
        let users = self
            .users
            .get_or_insert_with(Users::new_with_refreshed_list);
        users
            .iter()
            .find(|u| numeric_uid(u.id()) == Some(uid))
            .map(|u| u.name().to_string())
    }
}

/// Process text as the OS gave it; bytes that are not UTF-8 are kept as `\xNN` by the model.
fn os_text(s: &OsStr) -> String {
    crate::text::from_os_bytes(s.as_encoded_bytes())
}

#[cfg(unix)]
fn numeric_uid(id: &sysinfo::Uid) -> Option<u32> {
    Some(**id)
}

/// Windows identifies users by SID, not by a number: the model's numeric uid stays unknown and
/// the user's name carries the identity.
#[cfg(not(unix))]
fn numeric_uid(_: &sysinfo::Uid) -> Option<u32> {
    None
}

/// A remote end of all zeros is no peer (a listener's).
fn peer(addr: IpAddr, port: u16) -> Option<(IpAddr, u16)> {
    (port != 0 || !addr.is_unspecified()).then_some((addr, port))
}

/// The family the address says: netstat2 cannot tell dual-stack.
#[cfg(not(target_os = "macos"))]
fn family_of(addr: IpAddr) -> Family {
    match addr {
        IpAddr::V4(_) => Family::V4,
        IpAddr::V6(_) => Family::V6,
    }
}

/// What this run may see of other users' processes (also for `doctor`).
pub(crate) use privilege::current as privilege;

mod privilege {
    pub(crate) struct Privilege {
        /// 0 for root or, on Windows (no numeric uids), an elevated Administrator.
        pub uid: u32,
        pub user: String,
        pub sees_all_owners: bool,
        /// Said to the user with every snapshot when something is out of sight.
        pub warning: Option<String>,
    }

    #[cfg(unix)]
    pub(crate) fn current() -> Privilege {
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        let user = sysinfo::Users::new_with_refreshed_list()
            .iter()
            .find(|u| **u.id() == uid)
            .map_or_else(|| uid.to_string(), |u| u.name().to_string());
        let root = uid == 0;
        let warning = (!root && cfg!(target_os = "macos")).then(|| {
            "not root: macOS lists only the sockets of your own processes; run with sudo to see every listener".to_string()
        });
        Privilege {
            uid,
            user,
            sees_all_owners: root,
            warning,
        }
    }

    #[cfg(windows)]
    pub(crate) fn current() -> Privilege {
        let elevated = super::windows::elevated();
        let user = std::env::var("USERNAME").unwrap_or_default();
        Privilege {
            uid: if elevated { 0 } else { u32::MAX },
            user,
            sees_all_owners: elevated,
            warning: (!elevated).then(|| {
                "not elevated: every socket and its pid is listed, but the executable and command line of other users' and system processes need an Administrator prompt".to_string()
            }),
        }
    }
}

#[cfg(windows)]
mod windows {
    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
    use windows_sys::Win32::Security::{
        GetTokenInformation, TokenElevation, TOKEN_ELEVATION, TOKEN_QUERY,
    };
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

    /// Whether this process runs with an elevated (Administrator) token.
    pub(super) fn elevated() -> bool {
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: the pseudo handle of the current process needs no closing; `token` is written
        // on success and closed below.
        if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
            return false;
        }
        let mut elevation = TOKEN_ELEVATION { TokenIsElevated: 0 };
        let mut len = 0u32;
        // SAFETY: `elevation` is a TOKEN_ELEVATION of the size passed.
        let ok = unsafe {
            GetTokenInformation(
                token,
                TokenElevation,
                (&mut elevation as *mut TOKEN_ELEVATION).cast(),
                std::mem::size_of::<TOKEN_ELEVATION>() as u32,
                &mut len,
            )
        };
        // SAFETY: `token` was opened above.
        unsafe { CloseHandle(token) };
        ok != 0 && elevation.TokenIsElevated != 0
    }
}

/// netstat2's tables (Windows: the IP Helper owner-pid tables; Linux: sock_diag and a `/proc`
/// fd scan).
#[cfg(not(target_os = "macos"))]
mod source {
    use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, TcpState};

    use super::{family_of, peer, TableSocket};
    use crate::sockets::{Protocol, SocketState};

    pub(super) fn list(
        warnings: &mut Vec<String>,
    ) -> Result<Vec<TableSocket>, netstat2::error::Error> {
        let mut sockets = Vec::new();
        let mut unreadable = 0usize;
        let mut first_error = None;
        let all = netstat2::iterate_sockets_info(
            AddressFamilyFlags::IPV4 | AddressFamilyFlags::IPV6,
            ProtocolFlags::TCP | ProtocolFlags::UDP,
        )?;
        for info in all {
            let info = match info {
                Ok(info) => info,
                Err(e) => {
                    unreadable += 1;
                    first_error.get_or_insert_with(|| e.to_string());
                    continue;
                }
            };
            let mut pids = info.associated_pids;
            pids.sort_unstable();
            pids.dedup();
            sockets.push(match info.protocol_socket_info {
                ProtocolSocketInfo::Tcp(t) => TableSocket {
                    protocol: Protocol::Tcp,
                    family: family_of(t.local_addr),
                    local_addr: t.local_addr,
                    local_port: t.local_port,
                    remote: peer(t.remote_addr, t.remote_port),
                    state: tcp_state(t.state),
                    pids,
                },
                // No peer and no state in netstat2's UDP entries: every one reads as unconnected.
                ProtocolSocketInfo::Udp(u) => TableSocket {
                    protocol: Protocol::Udp,
                    family: family_of(u.local_addr),
                    local_addr: u.local_addr,
                    local_port: u.local_port,
                    remote: None,
                    state: SocketState::Unconnected,
                    pids,
                },
            });
        }
        if let Some(e) = first_error {
            warnings.push(format!(
                "{unreadable} sockets could not be read ({e}) and are missing"
            ));
        }
        Ok(sockets)
    }

    fn tcp_state(state: TcpState) -> SocketState {
        match state {
            TcpState::Listen => SocketState::Listen,
            TcpState::SynSent => SocketState::SynSent,
            TcpState::SynReceived => SocketState::SynReceived,
            TcpState::Established => SocketState::Established,
            TcpState::FinWait1 => SocketState::FinWait1,
            TcpState::FinWait2 => SocketState::FinWait2,
            TcpState::CloseWait => SocketState::CloseWait,
            TcpState::Closing => SocketState::Closing,
            TcpState::LastAck => SocketState::LastAck,
            TcpState::TimeWait => SocketState::TimeWait,
            TcpState::Closed => SocketState::Close,
            TcpState::DeleteTcb | TcpState::Unknown => SocketState::Other,
        }
    }
}

#[cfg(target_os = "macos")]
mod source {
    pub(super) use super::macos::list;
}

#[cfg(target_os = "macos")]
mod macos;

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn owner(pid: u32) -> Owner {
        Owner {
            pid,
            name: "srv".into(),
            uid: Some(1000),
            user: Some("alice".into()),
            exe: None,
            exe_deleted: false,
            cmdline: Vec::new(),
            start_time: None,
            start_ticks: None,
            parent_pid: None,
        }
    }

    fn table(pids: Vec<u32>) -> TableSocket {
        TableSocket {
            protocol: Protocol::Tcp,
            family: Family::V4,
            local_addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            local_port: 8080,
            remote: None,
            state: SocketState::Listen,
            pids,
        }
    }

    #[test]
    fn owners_are_joined_by_pid_and_absences_say_why() {
        let owners = [owner(7), owner(9)];
        let both = join(table(vec![7, 9]), &owners, true);
        assert_eq!(
            both.owners.iter().map(|o| o.pid).collect::<Vec<_>>(),
            [7, 9]
        );
        assert_eq!(
            (both.uid, both.user.as_deref()),
            (Some(1000), Some("alice"))
        );
        assert_eq!(both.owner_unknown, None);
        // A pid the table named that is gone now: it vanished, it is not hidden.
        assert_eq!(
            join(table(vec![8]), &owners, false).owner_unknown,
            Some(UnknownOwner::Vanished)
        );
        // No pid at all: hidden when this run cannot see everyone, else not known.
        assert_eq!(
            join(table(Vec::new()), &owners, false).owner_unknown,
            Some(UnknownOwner::Hidden)
        );
        assert_eq!(
            join(table(Vec::new()), &owners, true).owner_unknown,
            Some(UnknownOwner::Unknown)
        );
    }

    #[test]
    fn a_zero_remote_end_is_no_peer() {
        assert_eq!(peer(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0), None);
        let there = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(peer(there, 443), Some((there, 443)));
    }
}
