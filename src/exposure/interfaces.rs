//! This host's interfaces and their addresses, read over rtnetlink (RTM_GETLINK and RTM_GETADDR
//! dumps, what `ip addr` asks the kernel) and classified: loopback, a LAN (private, link-local,
//! unique-local), a public address, or a container bridge. Reads nothing else.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

/// How far an address reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// This host only.
    Loopback,
    /// A bridge that containers (Docker, Podman, CNI) or VMs sit behind.
    ContainerBridge,
    /// A private, link-local or unique-local network.
    Lan,
    /// A globally routed address.
    Public,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Loopback => "loopback",
            Scope::ContainerBridge => "container-bridge",
            Scope::Lan => "lan",
            Scope::Public => "public",
        }
    }
}

/// One address on one interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IfAddr {
    pub interface: String,
    pub index: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub scope: Scope,
}

impl IfAddr {
    /// Whether `ip` is on this address's network.
    pub fn network_contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let bits = u32::from(self.prefix_len.min(32));
                let mask = if bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - bits)
                };
                u32::from(a) & mask == u32::from(b) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let bits = u32::from(self.prefix_len.min(128));
                let mask = if bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - bits)
                };
                u128::from(a) & mask == u128::from(b) & mask
            }
            _ => false,
        }
    }
}

/// Whether an interface name is one container engines create for their networks.
pub fn is_container_bridge(name: &str) -> bool {
    name == "docker0"
        || name.starts_with("br-")
        || name.starts_with("cni")
        || name.starts_with("podman")
        || name.starts_with("virbr")
        || name.starts_with("lxcbr")
        || name.starts_with("lxdbr")
}

/// The scope of `addr` on interface `name`.
pub fn classify(name: &str, addr: IpAddr) -> Scope {
    if addr.is_loopback() || name == "lo" {
        return Scope::Loopback;
    }
    if is_container_bridge(name) {
        return Scope::ContainerBridge;
    }
    let private = match addr {
        IpAddr::V4(a) => {
            a.is_private()
                || a.is_link_local()
                // 100.64.0.0/10, carrier-grade NAT: shared, not public.
                || (a.octets()[0] == 100 && (a.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(a) => {
            let first = a.segments()[0];
            (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    };
    if private {
        Scope::Lan
    } else {
        Scope::Public
    }
}

const RTM_GETLINK: u16 = 18;
const RTM_NEWLINK: u16 = 16;
const RTM_GETADDR: u16 = 22;
const RTM_NEWADDR: u16 = 20;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
const IFLA_IFNAME: u16 = 3;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const HDR: usize = 16;

/// Every address of every interface in this network namespace.
pub fn read() -> io::Result<Vec<IfAddr>> {
    let mut names = std::collections::HashMap::new();
    dump(RTM_GETLINK, |kind, payload| {
        if kind == RTM_NEWLINK {
            if let Some((index, name)) = parse_link(payload) {
                names.insert(index, name);
            }
        }
    })?;
    let mut addrs = Vec::new();
    dump(RTM_GETADDR, |kind, payload| {
        if kind == RTM_NEWADDR {
            if let Some((index, addr, prefix_len)) = parse_addr(payload) {
                let interface = names
                    .get(&index)
                    .cloned()
                    .unwrap_or_else(|| format!("if{index}"));
                addrs.push(IfAddr {
                    scope: classify(&interface, addr),
                    interface,
                    index,
                    addr,
                    prefix_len,
                });
            }
        }
    })?;
    Ok(addrs)
}

/// `struct ifinfomsg` is 16 bytes: family, pad, type, index (i32), flags, change.
fn parse_link(msg: &[u8]) -> Option<(u32, String)> {
    let index = u32::from_ne_bytes(msg.get(4..8)?.try_into().ok()?);
    for (kind, value) in attrs(msg.get(16..)?) {
        if kind == IFLA_IFNAME {
            let end = value.iter().position(|b| *b == 0).unwrap_or(value.len());
            return Some((index, crate::text::from_os_bytes(&value[..end])));
        }
    }
    None
}

/// `struct ifaddrmsg` is 8 bytes: family, prefixlen, flags, scope, index (u32).
fn parse_addr(msg: &[u8]) -> Option<(u32, IpAddr, u8)> {
    let family = i32::from(*msg.first()?);
    let prefix = *msg.get(1)?;
    let index = u32::from_ne_bytes(msg.get(4..8)?.try_into().ok()?);
    let mut address = None;
    let mut local = None;
    for (kind, value) in attrs(msg.get(8..)?) {
        let ip = match (family, value.len()) {
            (libc::AF_INET, 4) => IpAddr::V4(Ipv4Addr::new(value[0], value[1], value[2], value[3])),
            (libc::AF_INET6, 16) => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(value).ok()?)),
            _ => continue,
        };
        match kind {
            // On a point-to-point link IFA_ADDRESS is the peer; IFA_LOCAL is ours.
            IFA_LOCAL => local = Some(ip),
            IFA_ADDRESS => address = Some(ip),
            _ => {}
        }
    }
    Some((index, local.or(address)?, prefix))
}

fn attrs(mut data: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while data.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([data[0], data[1]]));
        let kind = u16::from_ne_bytes([data[2], data[3]]);
        if len < 4 || len > data.len() {
            break;
        }
        out.push((kind, &data[4..len]));
        data = data.get((len + 3) & !3..).unwrap_or(&[]);
    }
    out
}

fn dump(request: u16, mut each: impl FnMut(u16, &[u8])) -> io::Result<()> {
    // nlmsghdr + struct rtgenmsg (family AF_UNSPEC), padded to 4.
    let mut req = [0u8; HDR + 4];
    req[0..4].copy_from_slice(&((HDR + 4) as u32).to_ne_bytes());
    req[4..6].copy_from_slice(&request.to_ne_bytes());
    req[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req[8..12].copy_from_slice(&1u32.to_ne_bytes());
    crate::sockets::netlink::request(libc::SOCK_RAW, libc::NETLINK_ROUTE, &req, |datagram| {
        let mut data = datagram;
        while data.len() >= HDR {
            let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
            let kind = u16::from_ne_bytes([data[4], data[5]]);
            if len < HDR || len > data.len() {
                return Err(io::Error::other("malformed netlink message"));
            }
            let payload = &data[HDR..len];
            match kind {
                NLMSG_DONE => return Ok(true),
                NLMSG_ERROR => {
                    let code = payload
                        .get(0..4)
                        .and_then(|b| b.try_into().ok())
                        .map_or(0, i32::from_ne_bytes);
                    if code != 0 {
                        return Err(io::Error::from_raw_os_error(-code));
                    }
                }
                other => each(other, payload),
            }
            data = data.get((len + 3) & !3..).unwrap_or(&[]);
        }
        Ok(false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_the_address_and_the_bridge_name() {
        let s = |n: &str, a: &str| classify(n, a.parse().unwrap());
        assert_eq!(s("lo", "127.0.0.1"), Scope::Loopback);
        assert_eq!(s("eth0", "10.1.2.3"), Scope::Lan);
        assert_eq!(s("eth0", "100.100.1.1"), Scope::Lan);
        assert_eq!(s("eth0", "fe80::1"), Scope::Lan);
        assert_eq!(s("eth0", "fd00::1"), Scope::Lan);
        assert_eq!(s("eth0", "8.8.8.8"), Scope::Public);
        assert_eq!(s("eth0", "2001:db8::1"), Scope::Public);
        assert_eq!(s("docker0", "172.17.0.1"), Scope::ContainerBridge);
        assert_eq!(s("br-1234abcd", "172.18.0.1"), Scope::ContainerBridge);
        assert_eq!(s("podman0", "10.88.0.1"), Scope::ContainerBridge);
    }

    #[test]
    fn this_namespace_has_a_loopback_address() {
        // Every network namespace has `lo`; it is up with 127.0.0.1 on any host that runs tests.
        let addrs = read().unwrap();
        assert!(addrs
            .iter()
            .any(|a| a.interface == "lo" && a.addr == IpAddr::V4(Ipv4Addr::LOCALHOST)));
    }

    #[test]
    fn prefixes_contain_their_network() {
        let a = IfAddr {
            interface: "eth0".into(),
            index: 2,
            addr: "10.231.1.1".parse().unwrap(),
            prefix_len: 30,
            scope: Scope::Lan,
        };
        assert!(a.network_contains("10.231.1.2".parse().unwrap()));
        assert!(!a.network_contains("10.231.1.5".parse().unwrap()));
    }
}
