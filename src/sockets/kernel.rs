//! Sockets as the kernel reports them, before owners are joined: from netlink sock_diag
//! ([`netlink`](super::netlink)) or, when that fails, from `/proc/net` ([`procnet`](super::procnet)).

use std::net::IpAddr;

use super::{Family, Protocol, SocketState};

/// The kernel's TCP state numbers (include/net/tcp_states.h). UDP reuses them: an unconnected
/// bound UDP socket is `CLOSE`, a connected one `ESTABLISHED`.
pub const TCP_ESTABLISHED: u8 = 1;
pub const TCP_TIME_WAIT: u8 = 6;
pub const TCP_CLOSE: u8 = 7;
pub const TCP_LISTEN: u8 = 10;

/// One socket from the kernel: addresses, state, the uid that opened it and its inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelSocket {
    pub protocol: Protocol,
    pub ipv6: bool,
    pub state: u8,
    pub local_addr: IpAddr,
    pub local_port: u16,
    pub remote_addr: IpAddr,
    pub remote_port: u16,
    pub uid: u32,
    pub inode: u64,
    /// `IPV6_V6ONLY` as sock_diag reports it; `None` when the source cannot tell (`/proc/net`).
    pub v6only: Option<bool>,
    /// Set for a socket dumped inside another network namespace ([`netns`](super::netns)).
    pub netns: Option<super::NetNs>,
}

impl KernelSocket {
    /// The model's state: UDP's CLOSE is "bound, no peer" (a listener), its ESTABLISHED a
    /// connected client socket.
    pub fn state(&self) -> SocketState {
        match (self.protocol, self.state) {
            (Protocol::Udp, TCP_CLOSE) => SocketState::Unconnected,
            (Protocol::Udp, _) => SocketState::Other,
            (_, TCP_ESTABLISHED) => SocketState::Established,
            (_, 2) => SocketState::SynSent,
            (_, 3) => SocketState::SynReceived,
            (_, 4) => SocketState::FinWait1,
            (_, 5) => SocketState::FinWait2,
            (_, 6) => SocketState::TimeWait,
            (_, TCP_CLOSE) => SocketState::Close,
            (_, 8) => SocketState::CloseWait,
            (_, 9) => SocketState::LastAck,
            (_, TCP_LISTEN) => SocketState::Listen,
            (_, 11) => SocketState::Closing,
            _ => SocketState::Other,
        }
    }

    /// IPv6 bound to `::` without `IPV6_V6ONLY` also takes IPv4: dual-stack. When the socket's own
    /// flag is unknown, the system default (`net.ipv6.bindv6only`) decides.
    pub fn family(&self, bindv6only_default: bool) -> Family {
        if !self.ipv6 {
            return Family::V4;
        }
        let v6only = self.v6only.unwrap_or(bindv6only_default);
        if self.local_addr.is_unspecified() && !v6only {
            Family::Dual
        } else {
            Family::V6
        }
    }

    /// The peer, when there is one (a listener's remote end is all zeros).
    pub fn remote(&self) -> Option<(IpAddr, u16)> {
        (self.remote_port != 0 || !self.remote_addr.is_unspecified())
            .then_some((self.remote_addr, self.remote_port))
    }
}

/// The state bitmask to ask for: listeners only (TCP LISTEN, UDP CLOSE), or every state.
pub fn state_mask(protocol: Protocol, include_connections: bool) -> u32 {
    match (include_connections, protocol) {
        (true, _) => u32::MAX,
        (false, Protocol::Udp) => 1 << TCP_CLOSE,
        (false, _) => 1 << TCP_LISTEN,
    }
}
