//! macOS sockets with their pids through libproc, the interface `lsof` and `netstat -v` use: list
//! the pids, list each one's file descriptors, and ask for the socket details of each socket fd.
//!
//! Declared here rather than through netstat2, whose build script generates these bindings with
//! bindgen from the macOS SDK: that cannot run on a machine without the SDK, so no other machine
//! could even check this target. The few calls and structures below follow the layouts in
//! Apple's public `<sys/proc_info.h>` and `<libproc.h>`; only the fields read are named, the rest
//! is padding of the documented size. A pid whose descriptors cannot be listed (another user's,
//! without root) is skipped: its sockets are missing, and the collector warns about that.
//!
//! Owns the libproc calls only; the join with process details is the portable collector's.

use std::collections::hash_map::{Entry, HashMap};
use std::ffi::{c_int, c_void};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{peer, TableSocket};
use crate::sockets::{Family, Protocol, SocketState};

const PROC_ALL_PIDS: u32 = 1;
const PROC_PIDLISTFDS: c_int = 1;
const PROC_PIDFDSOCKETINFO: c_int = 3;
const PROX_FDTYPE_SOCKET: u32 = 2;

const AF_INET: c_int = 2;
const AF_INET6: c_int = 30;
const SOCK_STREAM: c_int = 1;
const SOCK_DGRAM: c_int = 2;
const IPPROTO_TCP: c_int = 6;
const IPPROTO_UDP: c_int = 17;

/// `soi_kind`: which member of the protocol union is filled in.
const SOCKINFO_IN: c_int = 1;
const SOCKINFO_TCP: c_int = 2;
/// `insi_vflag` bits: the address families an internet socket accepts.
const INI_IPV4: u8 = 0x1;
const INI_IPV6: u8 = 0x2;

extern "C" {
    fn proc_listpids(kind: u32, typeinfo: u32, buffer: *mut c_void, buffersize: c_int) -> c_int;
    fn proc_pidinfo(
        pid: c_int,
        flavor: c_int,
        arg: u64,
        buffer: *mut c_void,
        buffersize: c_int,
    ) -> c_int;
    fn proc_pidfdinfo(
        pid: c_int,
        fd: c_int,
        flavor: c_int,
        buffer: *mut c_void,
        buffersize: c_int,
    ) -> c_int;
}

/// `struct proc_fdinfo`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct ProcFdInfo {
    proc_fd: i32,
    proc_fdtype: u32,
}

/// `struct in_sockinfo` (80 bytes): ports in network order in an `int`, addresses as 16 bytes
/// (an IPv4 address sits in the last 4, after 12 bytes of padding).
#[repr(C)]
#[derive(Clone, Copy)]
#[allow(dead_code)] // the layout's other fields are never read
struct InSockInfo {
    insi_fport: c_int,
    insi_lport: c_int,
    insi_gencnt: u64,
    insi_flags: u32,
    insi_flow: u32,
    insi_vflag: u8,
    insi_ip_ttl: u8,
    rfu_1: u32,
    insi_faddr: [u8; 16],
    insi_laddr: [u8; 16],
    insi_v4: u8,
    insi_v6: [u32; 3],
}

/// `struct tcp_sockinfo` (120 bytes): the internet part, then the TCP state.
#[repr(C)]
#[derive(Clone, Copy)]
#[allow(dead_code)] // the layout's other fields are never read
struct TcpSockInfo {
    tcpsi_ini: InSockInfo,
    tcpsi_state: c_int,
    tcpsi_timer: [c_int; 4],
    tcpsi_mss: c_int,
    tcpsi_flags: u32,
    rfu_1: u32,
    tcpsi_tp: u64,
}

/// `struct socket_fdinfo` (792 bytes): `proc_fileinfo` (24), then `socket_info`, whose protocol
/// union (528 bytes, sized by its Unix-domain member) starts at byte 240 of it.
#[repr(C)]
#[derive(Clone, Copy)]
#[allow(dead_code)] // the layout's other fields are never read
struct SocketFdInfo {
    pfi: [u64; 3],
    /// `struct vinfo_stat` (136 bytes), `soi_so` and `soi_pcb`.
    soi_stat_so_pcb: [u64; 19],
    soi_type: c_int,
    soi_protocol: c_int,
    soi_family: c_int,
    /// Eight `short`s of options, linger, state and queue lengths, `soi_oobmark`, then the
    /// receive and send `sockbuf_info` (24 bytes each).
    soi_middle: [u32; 17],
    soi_kind: c_int,
    rfu_1: u32,
    soi_proto: SocketProto,
}

#[repr(C)]
#[derive(Clone, Copy)]
#[allow(dead_code)] // `size` only sizes the union
union SocketProto {
    pri_in: InSockInfo,
    pri_tcp: TcpSockInfo,
    size: [u64; 66],
}

const _: () = assert!(std::mem::size_of::<InSockInfo>() == 80);
const _: () = assert!(std::mem::size_of::<TcpSockInfo>() == 120);
const _: () = assert!(std::mem::size_of::<SocketFdInfo>() == 792);

/// Every TCP and UDP socket of every process this run may inspect.
pub(crate) fn list(warnings: &mut Vec<String>) -> io::Result<Vec<TableSocket>> {
    let pids = all_pids()?;
    let mut by_socket: Vec<TableSocket> = Vec::new();
    let mut index: HashMap<Endpoints, usize> = HashMap::new();
    let mut refused = 0usize;
    for pid in pids {
        let Some(fds) = socket_fds(pid) else {
            refused += 1;
            continue;
        };
        for fd in fds {
            let Some(socket) = socket_at(pid, fd) else {
                continue; // closed meanwhile, or not an internet socket
            };
            // A forked server shares its listener: one socket, several pids. The socket's
            // kernel address would identify it exactly; the endpoint pair does here.
            match index.entry(endpoints(&socket)) {
                Entry::Occupied(at) => {
                    let known = &mut by_socket[*at.get()];
                    if !known.pids.contains(&socket.pids[0]) {
                        known.pids.push(socket.pids[0]);
                    }
                }
                Entry::Vacant(slot) => {
                    slot.insert(by_socket.len());
                    by_socket.push(socket);
                }
            }
        }
    }
    if refused > 0 {
        warnings.push(format!(
            "{refused} processes could not be inspected (not root?): their sockets are missing"
        ));
    }
    for s in &mut by_socket {
        s.pids.sort_unstable();
    }
    Ok(by_socket)
}

type Endpoints = (Protocol, IpAddr, u16, Option<(IpAddr, u16)>, SocketState);

fn endpoints(s: &TableSocket) -> Endpoints {
    (s.protocol, s.local_addr, s.local_port, s.remote, s.state)
}

fn all_pids() -> io::Result<Vec<c_int>> {
    // SAFETY: a null buffer asks for the size needed.
    let bytes = unsafe { proc_listpids(PROC_ALL_PIDS, 0, std::ptr::null_mut(), 0) };
    if bytes <= 0 {
        return Err(io::Error::last_os_error());
    }
    // Room for processes started meanwhile.
    let mut pids = vec![0 as c_int; bytes as usize / std::mem::size_of::<c_int>() + 64];
    let size = c_int::try_from(pids.len() * std::mem::size_of::<c_int>()).unwrap_or(c_int::MAX);
    // SAFETY: `pids` is writable for `size` bytes.
    let bytes = unsafe { proc_listpids(PROC_ALL_PIDS, 0, pids.as_mut_ptr().cast(), size) };
    if bytes <= 0 {
        return Err(io::Error::last_os_error());
    }
    pids.truncate(bytes as usize / std::mem::size_of::<c_int>());
    pids.retain(|&p| p > 0);
    Ok(pids)
}

/// The socket descriptors of `pid`; `None` when it may not be inspected or has exited.
fn socket_fds(pid: c_int) -> Option<Vec<c_int>> {
    let entry = std::mem::size_of::<ProcFdInfo>();
    // SAFETY: a null buffer asks for the size needed.
    let bytes = unsafe { proc_pidinfo(pid, PROC_PIDLISTFDS, 0, std::ptr::null_mut(), 0) };
    if bytes <= 0 {
        return None;
    }
    let mut fds = vec![ProcFdInfo::default(); bytes as usize / entry + 16];
    let size = c_int::try_from(fds.len() * entry).ok()?;
    // SAFETY: `fds` is writable for `size` bytes.
    let bytes = unsafe { proc_pidinfo(pid, PROC_PIDLISTFDS, 0, fds.as_mut_ptr().cast(), size) };
    if bytes <= 0 {
        return None;
    }
    fds.truncate(bytes as usize / entry);
    Some(
        fds.into_iter()
            .filter(|f| f.proc_fdtype == PROX_FDTYPE_SOCKET)
            .map(|f| f.proc_fd)
            .collect(),
    )
}

/// The internet socket at `fd` of `pid`, if it is one.
fn socket_at(pid: c_int, fd: c_int) -> Option<TableSocket> {
    let mut info = std::mem::MaybeUninit::<SocketFdInfo>::zeroed();
    let size = std::mem::size_of::<SocketFdInfo>() as c_int;
    // SAFETY: `info` is writable for `size` bytes; all-zero is a valid SocketFdInfo.
    let bytes = unsafe {
        proc_pidfdinfo(
            pid,
            fd,
            PROC_PIDFDSOCKETINFO,
            info.as_mut_ptr().cast(),
            size,
        )
    };
    if bytes != size {
        return None;
    }
    // SAFETY: zeroed above and filled in by the kernel; every field is plain data.
    let info = unsafe { info.assume_init() };
    if info.soi_family != AF_INET && info.soi_family != AF_INET6 {
        return None;
    }
    let (protocol, ini, state) = match (info.soi_kind, info.soi_type, info.soi_protocol) {
        (SOCKINFO_TCP, SOCK_STREAM, IPPROTO_TCP) => {
            // SAFETY: soi_kind says the TCP member is the one filled in.
            let tcp = unsafe { info.soi_proto.pri_tcp };
            (Protocol::Tcp, tcp.tcpsi_ini, tcp_state(tcp.tcpsi_state))
        }
        (SOCKINFO_IN, SOCK_DGRAM, IPPROTO_UDP) => {
            // SAFETY: soi_kind says the internet member is the one filled in.
            let ini = unsafe { info.soi_proto.pri_in };
            (Protocol::Udp, ini, SocketState::Other) // decided below from the peer
        }
        _ => return None,
    };
    let v6 = info.soi_family == AF_INET6;
    let local_addr = address(&ini.insi_laddr, v6);
    let remote = peer(
        address(&ini.insi_faddr, v6),
        u16::from_be(ini.insi_fport as u16),
    );
    let state = match protocol {
        Protocol::Udp if remote.is_none() => SocketState::Unconnected,
        _ => state,
    };
    // As macOS netstat prints `tcp46`: an IPv6 socket that also takes IPv4.
    let both = INI_IPV4 | INI_IPV6;
    let family = if !v6 {
        Family::V4
    } else if ini.insi_vflag & both == both && local_addr.is_unspecified() {
        Family::Dual
    } else {
        Family::V6
    };
    Some(TableSocket {
        protocol,
        family,
        local_addr,
        local_port: u16::from_be(ini.insi_lport as u16),
        remote,
        state,
        pids: vec![u32::try_from(pid).ok()?],
    })
}

fn address(bytes: &[u8; 16], v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(*bytes))
    } else {
        IpAddr::V4(Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}

/// `tcpsi_state` follows the BSD numbering (`TSI_S_*`).
fn tcp_state(state: c_int) -> SocketState {
    match state {
        0 => SocketState::Close,
        1 => SocketState::Listen,
        2 => SocketState::SynSent,
        3 => SocketState::SynReceived,
        4 => SocketState::Established,
        5 => SocketState::CloseWait,
        6 => SocketState::FinWait1,
        7 => SocketState::Closing,
        8 => SocketState::LastAck,
        9 => SocketState::FinWait2,
        10 => SocketState::TimeWait,
        _ => SocketState::Other,
    }
}
