//! Yesterday's and today's snapshots of one busy host: 100,000 listeners each, with 1% of them
//! closed, opened, widened from loopback to every interface, and taken over by another program.
//! Shared by `benches/diff.rs` (which times the comparison) and `examples/diff_snapshots.rs`
//! (which writes the two files, to time `portscope diff OLD NEW` end to end).

use std::net::{IpAddr, Ipv4Addr};

use portscope::registry::Protocol;
use portscope::sockets::{Family, HostInfo, Owner, Snapshot, Socket, SocketState, SCHEMA_VERSION};

pub const LISTENERS: u32 = 100_000;

fn owner(n: u32) -> Owner {
    Owner {
        pid: 1000 + n,
        name: format!("server-{n}"),
        uid: Some(1000),
        user: Some("bench".into()),
        exe: Some(format!("/usr/bin/server-{n}")),
        exe_deleted: false,
        cmdline: vec![format!("server-{n}"), "--serve".into()],
        start_time: Some(1_700_000_000),
        start_ticks: Some(170_000),
        parent_pid: Some(1),
    }
}

/// Listener `i`: spread over 100 loopback addresses and 60,000 ports, a quarter of them UDP.
fn listener(i: u32) -> Socket {
    let udp = i % 4 == 0;
    Socket {
        protocol: if udp { Protocol::Udp } else { Protocol::Tcp },
        family: Family::V4,
        local_addr: IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            (i / 60_000) as u8,
            (i % 100) as u8 + 1,
        )),
        local_port: 1024 + (i % 60_000) as u16,
        remote_addr: None,
        remote_port: None,
        state: if udp {
            SocketState::Unconnected
        } else {
            SocketState::Listen
        },
        inode: u64::from(i) + 1,
        owners: vec![owner(i % 50)].into(),
        owner_unknown: None,
        uid: Some(1000),
        user: Some("bench".into()),
        netns: None,
    }
}

fn snapshot(sockets: Vec<Socket>) -> Snapshot {
    Snapshot {
        schema_version: SCHEMA_VERSION,
        host: HostInfo {
            hostname: "bench".into(),
            ..HostInfo::default()
        },
        sockets,
    }
}

/// The old and the new snapshot; 1% of the listeners closed, 1% opened, 1% widened and 1%
/// held by another program.
pub fn drifted_pair() -> (Snapshot, Snapshot) {
    let old: Vec<Socket> = (0..LISTENERS).map(listener).collect();
    let mut new = Vec::with_capacity(old.len());
    for (i, s) in old.iter().enumerate() {
        let mut s = s.clone();
        match i % 100 {
            0 => continue,                                         // closed
            1 => s.local_addr = IpAddr::V4(Ipv4Addr::UNSPECIFIED), // widened
            2 => s.owners = vec![owner(999)].into(),               // another program
            _ => {}
        }
        new.push(s);
    }
    // Opened: as many as closed, on ports nothing used (above the 1024..61024 the others hold).
    new.extend((0..LISTENERS / 100).map(|i| {
        let mut s = listener(i);
        s.local_addr = IpAddr::V4(Ipv4Addr::new(10, 9, 0, 1));
        s.local_port = 61_100 + i as u16;
        s
    }));
    (snapshot(old), snapshot(new))
}
