//! Hand-made sockets, owners and snapshots for unit tests across the crate (rules, diff,
//! explain, the explorer's state): one place that knows how to build a plausible socket.

use std::net::IpAddr;

use crate::sockets::{
    Family, HostInfo, Owner, Protocol, Snapshot, Socket, SocketState, SCHEMA_VERSION,
};

/// "Now" in every fixture snapshot.
pub const NOW: u64 = 1_800_000_000;

pub fn owner(pid: u32, name: &str, uid: u32, exe: &str) -> Owner {
    Owner {
        pid,
        name: name.to_string(),
        uid: Some(uid),
        user: Some(if uid == 0 {
            "root".into()
        } else {
            format!("u{uid}")
        }),
        exe: Some(exe.to_string()),
        exe_deleted: false,
        cmdline: vec![exe.to_string()],
        start_time: Some(NOW - 86_400),
        start_ticks: None,
        parent_pid: Some(1),
    }
}

pub fn listener(proto: Protocol, addr: &str, port: u16, owners: Vec<Owner>) -> Socket {
    let local_addr: IpAddr = addr.parse().unwrap();
    Socket {
        protocol: proto,
        family: if local_addr.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        },
        local_addr,
        local_port: port,
        remote_addr: None,
        remote_port: None,
        state: match proto {
            Protocol::Udp => SocketState::Unconnected,
            _ => SocketState::Listen,
        },
        inode: u64::from(port) * 7 + 1,
        uid: owners.first().and_then(|o| o.uid),
        user: owners
            .first()
            .and_then(|o| o.user.as_deref())
            .map(Into::into),
        owners: owners.into(),
        owner_unknown: None,
        netns: None,
    }
}

pub fn tcp(addr: &str, port: u16, owner: Owner) -> Socket {
    listener(Protocol::Tcp, addr, port, vec![owner])
}

pub fn snapshot(sockets: Vec<Socket>) -> Snapshot {
    Snapshot {
        schema_version: SCHEMA_VERSION,
        host: HostInfo {
            hostname: "fixture".into(),
            taken_at: NOW,
            uid: 0,
            user: "root".into(),
            sees_all_owners: true,
            ..HostInfo::default()
        },
        sockets,
    }
}
