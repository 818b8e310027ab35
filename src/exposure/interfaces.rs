//! This host's interfaces and their addresses, read over rtnetlink on Linux (RTM_GETLINK and
//! RTM_GETADDR dumps, what `ip addr` asks the kernel: `rtnetlink`) and classified: loopback, a LAN (private, link-local,
//! unique-local), a public address, or a container bridge. Reads nothing else.

use std::net::IpAddr;

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

// The interface dump is rtnetlink's, Linux's; other OSes say it is not read (`reach` and
// `metrics` then stop with that message rather than judge without the addresses).
#[cfg(target_os = "linux")]
mod rtnetlink;
#[cfg(target_os = "linux")]
pub use rtnetlink::read;

/// Every address of every interface: not read on this OS.
#[cfg(not(target_os = "linux"))]
pub fn read() -> std::io::Result<Vec<IfAddr>> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "this OS's interfaces are not read by portscope (only Linux's, over rtnetlink)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

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
