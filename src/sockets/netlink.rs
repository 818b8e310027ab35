//! Listing sockets over netlink `sock_diag` (what `ss` does), asking the kernel for the wanted
//! states only, so a server with 100k connections costs nothing when we want its listeners.
//!
//! Written against the kernel ABI (linux/inet_diag.h) rather than through netstat2, which cannot
//! filter by state, reads no `IPV6_V6ONLY`, and takes a netlink error for the end of the dump.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::kernel::{KernelSocket, TCP_CLOSE, TCP_LISTEN};
use super::Protocol;

const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// The older request type for TCP (linux/inet_diag.h). Unlike `SOCK_DIAG_BY_FAMILY`, it asks for
/// IPv4 and IPv6 sockets at once, so the kernel walks its TCP hash table once, not twice; that
/// walk is most of the kernel's cost for a busy server, and once per network namespace again.
const TCPDIAG_GETSOCK: u16 = 18;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
const INET_DIAG_SKV6ONLY: u16 = 11;
/// The request attribute holding a filter program the kernel runs on each socket.
const INET_DIAG_REQ_BYTECODE: u16 = 1;
/// Filter operations (linux/inet_diag.h): an unconditional jump, and "local port equals".
const INET_DIAG_BC_JMP: u8 = 1;
const INET_DIAG_BC_S_EQ: u8 = 11;

const NLMSG_HDR_LEN: usize = 16;
/// `struct inet_diag_req_v2`: family, protocol, ext, pad, states, then a 48-byte sockid.
const REQ_LEN: usize = 56;
/// `struct inet_diag_req`: family, src_len, dst_len, ext, a 48-byte sockid, states, dbs.
const COMPAT_REQ_LEN: usize = 60;
/// `struct inet_diag_msg`: family, state, timer, retrans, sockid (48), expires, rqueue, wqueue,
/// uid, inode.
const MSG_LEN: usize = 72;

/// Dump every socket of one protocol and address family whose state is in `states` (a bitmask
/// of kernel TCP states). An error means the dump is not to be trusted (for instance `udp_diag`
/// is not loaded): the caller falls back to `/proc/net` and says so.
pub fn dump(protocol: Protocol, ipv6: bool, states: u32) -> io::Result<Vec<KernelSocket>> {
    let mut sockets = Vec::new();
    dump_into(protocol, ipv6, states, &mut sockets)?;
    Ok(sockets)
}

/// [`dump`], appending to `out` (one growing list for every protocol and family, instead of a
/// list per dump copied into another: at 40,000 sockets that copy is megabytes). On an error
/// `out` is as it was: a partial dump is not to be trusted.
pub fn dump_into(
    protocol: Protocol,
    ipv6: bool,
    states: u32,
    out: &mut Vec<KernelSocket>,
) -> io::Result<()> {
    let before = out.len();
    let result = dump_raw(protocol, ipv6, states, out);
    if result.is_err() {
        out.truncate(before);
    }
    result
}

/// Every TCP socket, IPv4 and IPv6, whose state is in `states`, in one dump (see
/// [`TCPDIAG_GETSOCK`]), appended to `out`; on an error `out` is as it was, and the caller asks
/// for each family on its own.
pub fn dump_tcp_into(states: u32, out: &mut Vec<KernelSocket>) -> io::Result<()> {
    let before = out.len();
    let mut req = [0u8; NLMSG_HDR_LEN + COMPAT_REQ_LEN];
    req[0..4].copy_from_slice(&((NLMSG_HDR_LEN + COMPAT_REQ_LEN) as u32).to_ne_bytes());
    req[4..6].copy_from_slice(&TCPDIAG_GETSOCK.to_ne_bytes());
    req[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req[8..12].copy_from_slice(&1u32.to_ne_bytes()); // sequence number
                                                     // The family byte is left 0: the kernel ignores it for this request and dumps both.
    req[NLMSG_HDR_LEN + 52..NLMSG_HDR_LEN + 56].copy_from_slice(&states.to_ne_bytes());
    let result = request(
        libc::SOCK_DGRAM,
        libc::NETLINK_SOCK_DIAG,
        &req,
        |datagram| parse_messages(datagram, Protocol::Tcp, out),
    );
    if result.is_err() {
        out.truncate(before);
    }
    result
}

/// [`dump`], of only the sockets whose local port is one of `ports` (at least one): the kernel
/// still walks its table, but fills and sends only those, which is most of a dump's cost. Used
/// to re-check a handful of sockets on a server with 10,000 listeners. Kernels before 4.16 know
/// no port filter and refuse it (an error: ask for [`dump`] instead), as does a filter longer
/// than a netlink attribute holds (about 5,000 ports).
pub fn dump_ports(
    protocol: Protocol,
    ipv6: bool,
    states: u32,
    ports: &[u16],
) -> io::Result<Vec<KernelSocket>> {
    let mut sockets = Vec::new();
    if ports.is_empty() {
        return Ok(sockets);
    }
    let filter = port_filter(ports).ok_or_else(|| io::Error::other("too many ports to filter"))?;
    dump_raw_filtered(protocol, ipv6, states, &filter, &mut sockets)?;
    Ok(sockets)
}

/// A filter program admitting sockets whose local port is in `ports`, as one "or" chain. Each
/// test is followed by a jump to the end: a test that holds steps onto its jump (admit), one that
/// fails skips it to the next test. The last test has no jump: holding, it steps onto the end
/// (admit); failing, it lands past the end (refuse). The kernel checks that every step lands on
/// an operation or the end.
/// `None` when the program would not fit in a netlink attribute.
fn port_filter(ports: &[u16]) -> Option<Vec<u8>> {
    const TEST: u16 = 8; // the comparison, then an operand whose third field is the port
    const JUMP: u16 = 4;
    let op = |code: u8, yes: u16, no: u16| {
        let mut b = [code, yes as u8, 0, 0];
        b[2..4].copy_from_slice(&no.to_ne_bytes());
        b
    };
    let total = u16::try_from(ports.len() * usize::from(TEST + JUMP))
        .ok()
        .filter(|&t| t < u16::MAX - 8)?
        .checked_sub(JUMP)?;
    let mut program = Vec::with_capacity(usize::from(total));
    for &port in ports {
        program.extend(op(INET_DIAG_BC_S_EQ, TEST, TEST + JUMP));
        program.extend(op(0, 0, port));
        let at = program.len() as u16;
        if at < total {
            // A jump never holds: it always goes its "no" way, here to the end.
            program.extend(op(INET_DIAG_BC_JMP, JUMP, total - at));
        }
    }
    Some(program)
}

fn dump_raw(
    protocol: Protocol,
    ipv6: bool,
    states: u32,
    sockets: &mut Vec<KernelSocket>,
) -> io::Result<()> {
    dump_raw_filtered(protocol, ipv6, states, &[], sockets)
}

fn dump_raw_filtered(
    protocol: Protocol,
    ipv6: bool,
    states: u32,
    filter: &[u8],
    sockets: &mut Vec<KernelSocket>,
) -> io::Result<()> {
    let ip_proto = match protocol {
        Protocol::Tcp => libc::IPPROTO_TCP,
        Protocol::Udp => libc::IPPROTO_UDP,
        other => {
            return Err(io::Error::other(format!(
                "{} is not collected",
                other.as_str()
            )))
        }
    };
    let family = if ipv6 { libc::AF_INET6 } else { libc::AF_INET };
    let attr_len = if filter.is_empty() {
        0
    } else {
        4 + filter.len()
    };
    let mut req = vec![0u8; NLMSG_HDR_LEN + REQ_LEN + align4(attr_len)];
    let total = u32::try_from(req.len()).map_err(|_| io::Error::other("filter too long"))?;
    req[0..4].copy_from_slice(&total.to_ne_bytes());
    req[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req[8..12].copy_from_slice(&1u32.to_ne_bytes()); // sequence number
    req[16] = family as u8;
    req[17] = ip_proto as u8;
    req[20..24].copy_from_slice(&states.to_ne_bytes());
    if !filter.is_empty() {
        let at = NLMSG_HDR_LEN + REQ_LEN;
        let len = u16::try_from(attr_len).map_err(|_| io::Error::other("filter too long"))?;
        req[at..at + 2].copy_from_slice(&len.to_ne_bytes());
        req[at + 2..at + 4].copy_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
        req[at + 4..at + attr_len].copy_from_slice(filter);
    }

    request(
        libc::SOCK_DGRAM,
        libc::NETLINK_SOCK_DIAG,
        &req,
        |datagram| parse_messages(datagram, protocol, sockets),
    )
}

/// Send one `req` to the kernel over a new netlink socket of `sock_type` and `protocol`, and hand
/// each datagram of the reply to `each` until it says the dump has ended (`Ok(true)`). Shared by
/// the socket dump (sock_diag) and the interface dump (rtnetlink).
pub(crate) fn request(
    sock_type: i32,
    protocol: i32,
    req: &[u8],
    each: impl FnMut(&[u8]) -> io::Result<bool>,
) -> io::Result<()> {
    let mut socket = Socket::open(sock_type, protocol)?;
    socket.send(req)?;
    socket.receive(each)
}

/// The largest datagram read. The kernel sizes a dump's datagrams to the reader's buffer, at most
/// 32 KiB; one larger than this buffer is an error, never a partial read.
const RECV_BUF: usize = 64 * 1024;

/// A netlink socket to the kernel, for several requests in turn (nf_tables asks once per set),
/// with one receive buffer reused by every reply.
pub(crate) struct Socket {
    fd: OwnedFd,
    buf: Vec<u8>,
}

impl Socket {
    pub(crate) fn open(sock_type: i32, protocol: i32) -> io::Result<Socket> {
        // SAFETY: a plain socket(2) call; the result is checked before it is wrapped.
        let raw =
            unsafe { libc::socket(libc::AF_NETLINK, sock_type | libc::SOCK_CLOEXEC, protocol) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Socket {
            // SAFETY: `raw` is a fresh descriptor we own.
            fd: unsafe { OwnedFd::from_raw_fd(raw) },
            buf: vec![0u8; RECV_BUF],
        })
    }

    /// Send one request (one or more netlink messages) to the kernel.
    pub(crate) fn send(&self, req: &[u8]) -> io::Result<()> {
        // SAFETY: sockaddr_nl is plain data; zeroed it addresses the kernel (pid 0).
        let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        loop {
            // SAFETY: the buffer and address outlive the call; lengths are theirs.
            let sent = unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    req.as_ptr().cast(),
                    req.len(),
                    0,
                    (&kernel as *const libc::sockaddr_nl).cast(),
                    std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
                )
            };
            if sent >= 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    /// Hand each datagram of the reply to `each` until it says the reply has ended (`Ok(true)`).
    pub(crate) fn receive(
        &mut self,
        mut each: impl FnMut(&[u8]) -> io::Result<bool>,
    ) -> io::Result<()> {
        loop {
            // SAFETY: recv writes at most buf.len() bytes into buf; MSG_TRUNC makes it return the
            // datagram's real length, so one larger than the buffer is seen, not cut short.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    libc::MSG_TRUNC,
                )
            };
            if n < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }
            let n = n as usize;
            if n == 0 {
                return Err(io::Error::other(
                    "netlink closed before the end of the dump",
                ));
            }
            if n > self.buf.len() {
                return Err(io::Error::other(format!(
                    "a netlink datagram of {n} bytes is larger than the {RECV_BUF}-byte buffer"
                )));
            }
            if each(&self.buf[..n])? {
                return Ok(());
            }
        }
    }
}

/// One netlink message of a datagram.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Message<'a> {
    pub kind: u16,
    pub payload: &'a [u8],
}

/// What a datagram's messages say, one by one: a message, the end of the dump, or the kernel's
/// error. A header whose length does not fit the datagram is an error.
#[derive(Debug)]
pub(crate) enum Part<'a> {
    Message(Message<'a>),
    Done,
}

/// The messages of one datagram in order. `NLMSG_DONE` ends the walk with [`Part::Done`]; an
/// `NLMSG_ERROR` carrying an error code is that error; an acknowledgement (code 0) is skipped.
pub(crate) fn messages(datagram: &[u8]) -> impl Iterator<Item = io::Result<Part<'_>>> {
    let mut data = datagram;
    let mut ended = false;
    std::iter::from_fn(move || loop {
        if ended || data.len() < NLMSG_HDR_LEN {
            return None;
        }
        let len = u32_at(data, 0) as usize;
        let kind = u16::from_ne_bytes([data[4], data[5]]);
        if len < NLMSG_HDR_LEN || len > data.len() {
            ended = true;
            return Some(Err(io::Error::other("malformed netlink message")));
        }
        let payload = &data[NLMSG_HDR_LEN..len];
        data = data.get(align4(len)..).unwrap_or(&[]);
        match kind {
            NLMSG_DONE => {
                ended = true;
                return Some(Ok(Part::Done));
            }
            NLMSG_ERROR => {
                let code = payload
                    .get(0..4)
                    .map_or(0, |b| i32::from_ne_bytes(b.try_into().unwrap_or([0; 4])));
                if code != 0 {
                    ended = true;
                    return Some(Err(io::Error::from_raw_os_error(-code)));
                }
            }
            _ => return Some(Ok(Part::Message(Message { kind, payload }))),
        }
    })
}

/// A malformed attribute: its length field runs past its buffer or is shorter than its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadAttr;

/// The attributes (type, value) of a buffer of netlink attributes, in order; the type has the
/// nested and byte-order flags masked off. A malformed one ends the walk with [`BadAttr`].
pub(crate) fn attrs(data: &[u8]) -> Attrs<'_> {
    Attrs { data }
}

pub(crate) struct Attrs<'a> {
    data: &'a [u8],
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<(u16, &'a [u8]), BadAttr>;

    fn next(&mut self) -> Option<Self::Item> {
        let data = self.data;
        if data.is_empty() {
            return None;
        }
        if data.len() < 4 {
            self.data = &[];
            return Some(Err(BadAttr));
        }
        let len = usize::from(u16::from_ne_bytes([data[0], data[1]]));
        let kind = u16::from_ne_bytes([data[2], data[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > data.len() {
            self.data = &[];
            return Some(Err(BadAttr));
        }
        self.data = data.get(align4(len)..).unwrap_or(&[]);
        Some(Ok((kind, &data[4..len])))
    }
}

/// `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER` are flags, not part of the type.
const NLA_TYPE_MASK: u16 = 0x3fff;

/// Parse one datagram of netlink messages into `out`. Returns true at the end of the dump.
pub fn parse_messages(
    data: &[u8],
    protocol: Protocol,
    out: &mut Vec<KernelSocket>,
) -> io::Result<bool> {
    for part in messages(data) {
        match part? {
            Part::Done => return Ok(true),
            Part::Message(m) if m.kind == SOCK_DIAG_BY_FAMILY || m.kind == TCPDIAG_GETSOCK => {
                if let Some(socket) = parse_diag_msg(m.payload, protocol) {
                    out.push(socket);
                }
            }
            Part::Message(_) => {}
        }
    }
    Ok(false)
}

fn parse_diag_msg(msg: &[u8], protocol: Protocol) -> Option<KernelSocket> {
    if msg.len() < MSG_LEN {
        return None;
    }
    let ipv6 = match i32::from(msg[0]) {
        libc::AF_INET => false,
        libc::AF_INET6 => true,
        _ => return None,
    };
    let addr = |at: usize| -> IpAddr {
        if ipv6 {
            let bytes: [u8; 16] = msg[at..at + 16].try_into().unwrap_or([0; 16]);
            IpAddr::V6(Ipv6Addr::from(bytes))
        } else {
            IpAddr::V4(Ipv4Addr::new(
                msg[at],
                msg[at + 1],
                msg[at + 2],
                msg[at + 3],
            ))
        }
    };
    // The kernel sends IPV6_V6ONLY only for an IPv6 socket that listens or is unbound (an
    // unconnected UDP socket is TCP_CLOSE): the attributes of 40,000 connections are not read.
    let mut v6only = None;
    if ipv6 && matches!(msg[1], TCP_LISTEN | TCP_CLOSE) {
        for (kind, value) in attrs(&msg[MSG_LEN..]).map_while(Result::ok) {
            if kind == INET_DIAG_SKV6ONLY && !value.is_empty() {
                v6only = Some(value[0] != 0);
            }
        }
    }
    Some(KernelSocket {
        protocol,
        ipv6,
        state: msg[1],
        local_port: u16::from_be_bytes([msg[4], msg[5]]),
        remote_port: u16::from_be_bytes([msg[6], msg[7]]),
        local_addr: addr(8),
        remote_addr: addr(24),
        uid: u32_at(msg, 64),
        inode: u64::from(u32_at(msg, 68)),
        v6only,
        netns: None,
    })
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_or_nothing_never_a_panic() {
        let mut out = Vec::new();
        assert!(parse_messages(&[0xff; 40], Protocol::Tcp, &mut out).is_err());
        assert!(!parse_messages(&[1, 2, 3], Protocol::Tcp, &mut out).unwrap());
        // A header that claims a diag message but carries a short payload is skipped.
        let mut short = vec![0u8; 24];
        short[0..4].copy_from_slice(&24u32.to_ne_bytes());
        short[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        assert!(!parse_messages(&short, Protocol::Tcp, &mut out).unwrap());
        assert!(out.is_empty());
    }

    #[test]
    fn a_netlink_error_is_reported_not_taken_for_the_end() {
        let mut msg = vec![0u8; 36];
        msg[0..4].copy_from_slice(&36u32.to_ne_bytes());
        msg[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        msg[16..20].copy_from_slice(&(-libc::ENOENT).to_ne_bytes());
        let err = parse_messages(&msg, Protocol::Udp, &mut Vec::new()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    }

    #[test]
    fn finds_a_listener_of_our_own() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sockets = dump(Protocol::Tcp, false, 1 << super::super::kernel::TCP_LISTEN).unwrap();
        let ours = sockets
            .iter()
            .find(|s| s.local_port == port && s.local_addr == IpAddr::V4(Ipv4Addr::LOCALHOST))
            .expect("our listener");
        assert_ne!(ours.inode, 0);
    }

    #[test]
    fn a_port_filtered_dump_lists_those_ports_only() {
        let listen = 1 << super::super::kernel::TCP_LISTEN;
        let ours: Vec<std::net::TcpListener> = (0..4)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let port = |i: usize| ours[i].local_addr().unwrap().port();
        for wanted in [vec![port(2)], vec![port(0), port(3), port(1)]] {
            let found = dump_ports(Protocol::Tcp, false, listen, &wanted).unwrap();
            // Only listeners on the wanted ports (another program's may share a port number
            // on another address), and each of ours among them.
            assert!(found.iter().all(|s| wanted.contains(&s.local_port)));
            for p in &wanted {
                assert!(
                    found
                        .iter()
                        .any(|s| s.local_port == *p
                            && s.local_addr == IpAddr::V4(Ipv4Addr::LOCALHOST))
                );
            }
        }
        assert!(dump_ports(Protocol::Tcp, false, listen, &[])
            .unwrap()
            .is_empty());
        // A program too long for a netlink attribute is refused, not cut.
        let many: Vec<u16> = (1..=6000).collect();
        assert!(dump_ports(Protocol::Tcp, false, listen, &many).is_err());
    }

    #[test]
    fn one_tcp_dump_lists_both_families_as_the_per_family_dumps_do() {
        let v4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let v6 = std::net::TcpListener::bind("[::1]:0").unwrap();
        let addrs = [v4.local_addr().unwrap(), v6.local_addr().unwrap()];
        let listen = 1 << super::super::kernel::TCP_LISTEN;
        let mut both = Vec::new();
        dump_tcp_into(listen, &mut both).unwrap();
        let mut apart = dump(Protocol::Tcp, false, listen).unwrap();
        apart.extend(dump(Protocol::Tcp, true, listen).unwrap());
        // Only our own two, by address and port: other programs may open and close listeners
        // meanwhile, on the same port numbers of other addresses or the other family.
        let ours = |list: &[KernelSocket]| {
            let mut found: Vec<String> = list
                .iter()
                .filter(|s| addrs.contains(&std::net::SocketAddr::new(s.local_addr, s.local_port)))
                .filter(|s| s.inode != 0)
                .map(|s| format!("{s:?}"))
                .collect();
            found.sort();
            found
        };
        let found = ours(&both);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found, ours(&apart));
        assert!(both
            .iter()
            .any(|s| s.local_addr == IpAddr::V6(Ipv6Addr::LOCALHOST)
                && s.local_port == addrs[1].port()));
    }
}
