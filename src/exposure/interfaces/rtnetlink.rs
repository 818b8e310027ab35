//! This host's interfaces and their addresses over rtnetlink: the RTM_GETLINK and RTM_GETADDR
//! dumps `ip addr` asks the kernel for. Linux only; classifying is the parent's.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{classify, IfAddr};
use crate::sockets::netlink::{self, Part};

const RTM_GETLINK: u16 = 18;
const RTM_NEWLINK: u16 = 16;
const RTM_GETADDR: u16 = 22;
const RTM_NEWADDR: u16 = 20;
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

/// The well-formed attributes of a message; a malformed one ends them (what came before stands).
fn attrs(data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    netlink::attrs(data).map_while(Result::ok)
}

fn dump(request: u16, mut each: impl FnMut(u16, &[u8])) -> io::Result<()> {
    // nlmsghdr + struct rtgenmsg (family AF_UNSPEC), padded to 4.
    let mut req = [0u8; HDR + 4];
    req[0..4].copy_from_slice(&((HDR + 4) as u32).to_ne_bytes());
    req[4..6].copy_from_slice(&request.to_ne_bytes());
    req[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req[8..12].copy_from_slice(&1u32.to_ne_bytes());
    netlink::request(libc::SOCK_RAW, libc::NETLINK_ROUTE, &req, |datagram| {
        for part in netlink::messages(datagram) {
            match part? {
                Part::Done => return Ok(true),
                Part::Message(m) => each(m.kind, m.payload),
            }
        }
        Ok(false)
    })
}
