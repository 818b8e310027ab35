//! The fallback source: `/proc/net/{tcp,tcp6,udp,udp6}`, for when netlink sock_diag is missing
//! or refused. Slower on big tables (the kernel formats every socket, whatever its state) and
//! blind to `IPV6_V6ONLY`, but present on every Linux.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::kernel::KernelSocket;
use super::Protocol;

/// The file that lists one protocol and family.
pub fn path(protocol: Protocol, ipv6: bool) -> String {
    format!(
        "/proc/net/{}{}",
        protocol.as_str(),
        if ipv6 { "6" } else { "" }
    )
}

/// Parse one `/proc/net` table. Lines that do not parse are counted, not guessed at.
pub fn parse(text: &str, protocol: Protocol, ipv6: bool) -> (Vec<KernelSocket>, usize) {
    let mut sockets = Vec::new();
    let mut malformed = 0;
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        match parse_line(line, protocol, ipv6) {
            Some(s) => sockets.push(s),
            None => malformed += 1,
        }
    }
    (sockets, malformed)
}

fn parse_line(line: &str, protocol: Protocol, ipv6: bool) -> Option<KernelSocket> {
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() < 10 {
        return None;
    }
    let (local_addr, local_port) = parse_endpoint(fields[1], ipv6)?;
    let (remote_addr, remote_port) = parse_endpoint(fields[2], ipv6)?;
    Some(KernelSocket {
        protocol,
        ipv6,
        state: u8::from_str_radix(fields[3], 16).ok()?,
        local_addr,
        local_port,
        remote_addr,
        remote_port,
        uid: fields[7].parse().ok()?,
        inode: fields[9].parse().ok()?,
        v6only: None,
        netns: None,
    })
}

/// `0100007F:1F90` → 127.0.0.1:8080. The address is the kernel's in-memory bytes printed as
/// native-endian 32-bit words; the port is a plain number.
fn parse_endpoint(field: &str, ipv6: bool) -> Option<(IpAddr, u16)> {
    let (addr, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |hex: &str| u32::from_str_radix(hex, 16).ok().map(u32::to_ne_bytes);
    let addr = if ipv6 {
        if addr.len() != 32 || !addr.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 16];
        for i in 0..4 {
            bytes[i * 4..i * 4 + 4].copy_from_slice(&word(&addr[i * 8..i * 8 + 8])?);
        }
        IpAddr::V6(Ipv6Addr::from(bytes))
    } else {
        if addr.len() != 8 {
            return None;
        }
        IpAddr::V4(Ipv4Addr::from(word(addr)?))
    };
    Some((addr, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

    #[test]
    fn reads_a_v4_listener() {
        let line = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0";
        let (sockets, bad) = parse(&format!("{HEADER}{line}\n"), Protocol::Tcp, false);
        assert_eq!(bad, 0);
        let s = &sockets[0];
        if cfg!(target_endian = "little") {
            assert_eq!(s.local_addr, IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        assert_eq!(
            (s.local_port, s.state, s.uid, s.inode),
            (8080, 10, 1000, 4242)
        );
        assert_eq!(s.remote(), None);
    }

    #[test]
    fn reads_a_v6_loopback_socket() {
        let line = "   0: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 99 2 0000000000000000 0";
        let (sockets, bad) = parse(&format!("{HEADER}{line}\n"), Protocol::Udp, true);
        assert_eq!(bad, 0);
        if cfg!(target_endian = "little") {
            assert_eq!(sockets[0].local_addr, IpAddr::V6(Ipv6Addr::LOCALHOST));
        }
        assert_eq!(sockets[0].local_port, 53);
    }

    #[test]
    fn garbage_lines_are_counted_not_panicked_on() {
        let text = format!(
            "{HEADER}junk\n 1: ZZZZ:1 0:0 0A a b c 0 0 1\n 2: 0100007F 00000000:0000 0A x y z 0 0 1\n 3: 0100007F:FFFFF 00000000:0000 0A x y z 0 0 1\n 4: é0000000000000000000000000000000:0001 00000000000000000000000000000000:0000 07 x y z 0 0 1\n"
        );
        let (sockets, bad) = parse(&text, Protocol::Tcp, false);
        assert!(sockets.is_empty());
        assert_eq!(bad, 5);
        let (sockets, _) = parse(&text, Protocol::Tcp, true);
        assert!(sockets.is_empty());
        assert_eq!(parse("", Protocol::Udp, true), (Vec::new(), 0));
    }
}
