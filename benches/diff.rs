//! `portscope diff` on a busy host's snapshots: 100,000 listeners each, with 1% of them closed,
//! opened, widened from loopback to every interface, and taken over by another program. What is
//! timed is the command's work between reading and printing: every socket's hints in both
//! snapshots, and the pairing of old and new listeners. Goal: ≤ 0.2 s (it was quadratic: 73 s).
//!
//! Run: `cargo bench --bench diff`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, Criterion};
use portscope::registry::{Protocol, Registry};
use portscope::sockets::{Family, HostInfo, Owner, Snapshot, Socket, SocketState, SCHEMA_VERSION};

const LISTENERS: u32 = 100_000;

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

/// Yesterday's and today's snapshots of one busy host.
fn drifted_pair() -> (Snapshot, Snapshot) {
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

fn bench(c: &mut Criterion) {
    let registry = Registry::embedded();
    let (old, new) = drifted_pair();
    let changes = portscope::commands::diff_changes(&registry, &old, &new);
    assert_eq!(changes.closed.len(), (LISTENERS / 100) as usize);
    assert_eq!(changes.opened.len(), (LISTENERS / 100) as usize);
    let mut group = c.benchmark_group("diff");
    group.sample_size(10);
    group.bench_function("100k_listeners", |b| {
        b.iter(|| portscope::commands::diff_changes(black_box(&registry), &old, &new))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
