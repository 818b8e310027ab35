//! Hand-made sockets, owners and snapshots for unit tests across the crate (rules, diff,
//! explain, the explorer's state): one place that knows how to build a plausible socket.

use std::net::IpAddr;
use std::sync::Arc;

use proptest::prelude::*;

use crate::sockets::{
    Family, HostInfo, NetNs, Owner, Protocol, Snapshot, Socket, SocketState, UnknownOwner,
    SCHEMA_VERSION,
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

/// Any socket, as a property test would have one: TCP or UDP, IPv4 or IPv6, with or without a
/// peer, owners, user and namespace, and names that need escaping.
pub fn arbitrary_socket() -> impl Strategy<Value = Socket> {
    let text = prop::sample::select(vec![
        "nginx",
        "we\"b",
        "é",
        "tab\there",
        "\u{1b}[31m",
        "a\\b",
    ]);
    let address = prop::sample::select(vec![
        "127.0.0.1",
        "0.0.0.0",
        "::",
        "fe80::1",
        "::ffff:10.0.0.1",
    ]);
    let state = prop::sample::select(vec![
        SocketState::Listen,
        SocketState::Unconnected,
        SocketState::Established,
        SocketState::FinWait1,
    ]);
    (
        (any::<bool>(), 0usize..3, address.clone(), any::<u16>()),
        proptest::option::of((address, any::<u16>())),
        (state, any::<u64>(), 0usize..4, 0u32..3, text.clone()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(text.clone()),
        proptest::option::of((
            any::<u64>(),
            proptest::option::of(text),
            proptest::option::of(any::<u32>()),
        )),
    )
        .prop_map(
            |(
                (udp, family, addr, port),
                remote,
                (state, inode, holders, pid, name),
                uid,
                user,
                netns,
            )| {
                let owners: Vec<Owner> = (0..holders as u32)
                    .map(|i| owner(pid + i, name, 1000, "/usr/sbin/nginx"))
                    .collect();
                Socket {
                    protocol: if udp { Protocol::Udp } else { Protocol::Tcp },
                    family: [Family::V4, Family::V6, Family::Dual][family],
                    local_addr: addr.parse().unwrap(),
                    local_port: port,
                    remote_addr: remote.map(|r| r.0.parse().unwrap()),
                    remote_port: remote.map(|r| r.1),
                    state,
                    inode,
                    owner_unknown: owners.is_empty().then_some(UnknownOwner::Kernel),
                    owners: owners.into(),
                    uid,
                    user: user.map(Arc::from),
                    netns: netns.map(|(inode, name, pid)| NetNs {
                        inode,
                        name: name.map(String::from),
                        pid,
                    }),
                }
            },
        )
}
