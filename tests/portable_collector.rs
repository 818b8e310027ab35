//! The portable collector (the one macOS and Windows use) against the native Linux one, over this
//! test's own sockets: both must list them with the same ports, protocols, families, states and
//! pids, and the portable one must carry the owners' details from sysinfo.
//!
//! Compared only for the sockets of this test's children (the machine may hold thousands of
//! other listeners). Not compared, because the portable source does not know them (README,
//! "Platforms"): the socket inode (always 0), the socket's own uid when no owner is readable,
//! dual-stack (netstat2 has no `IPV6_V6ONLY`: a dual-stack wildcard is `V6` there), whether a UDP
//! socket is connected (netstat2 gives UDP no peer or state: a connected one is listed as
//! unconnected), and start times below a second.
#![cfg(target_os = "linux")]

mod support;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use portscope::sockets::{
    CollectOptions, Collector, Family, PortableCollector, Protocol, Snapshot, SocketState,
    SystemCollector,
};
use support::hold;

/// What both collectors must agree on, per (protocol, local endpoint).
type Seen = BTreeMap<(Protocol, SocketAddr), (Family, SocketState, Vec<u32>)>;

fn seen(snapshot: &Snapshot, pids: &[u32]) -> Seen {
    snapshot
        .sockets
        .iter()
        .filter(|s| s.owners.iter().any(|o| pids.contains(&o.pid)))
        .map(|s| {
            // Another test's child may hold a copy of a socket between fork and exec; only
            // this test's children count.
            let mut owners: Vec<u32> = s
                .owners
                .iter()
                .map(|o| o.pid)
                .filter(|p| pids.contains(p))
                .collect();
            owners.sort_unstable();
            (
                (s.protocol, s.local_endpoint()),
                (s.family, s.state, owners),
            )
        })
        .collect()
}

/// The portable collector never says `Dual`: compare the native one's label as what the address
/// family alone says.
fn without_dual_stack(mut seen: Seen) -> Seen {
    for (family, _, _) in seen.values_mut() {
        if *family == Family::Dual {
            *family = Family::V6;
        }
    }
    seen
}

#[test]
fn portable_and_native_collectors_agree_on_our_sockets() {
    let v4 = hold(&[
        "--name",
        "ps-portable-a",
        "--tcp",
        "127.0.0.1:0",
        "--udp",
        "127.0.0.1:0",
        "--tcp",
        "[::1]:0",
        "--udp",
        "[::1]:0",
    ]);
    let dual = hold(&[
        "--name",
        "ps-portable-b",
        "--tcp",
        "[::]:0",
        "--udp",
        "[::]:0",
        "--v6only",
        "off",
    ]);
    let v6only = hold(&["--tcp", "[::]:0", "--v6only", "on"]);
    let pids = [v4.pid(), dual.pid(), v6only.pid()];

    let native = SystemCollector::new(CollectOptions::default())
        .collect()
        .expect("native collector");
    let portable = PortableCollector::new(CollectOptions::default())
        .collect()
        .expect("portable collector");

    let native_seen = seen(&native, &pids);
    let portable_seen = seen(&portable, &pids);
    // Every socket the children hold, with the right pid: 4 + 2 + 1.
    assert_eq!(native_seen.len(), 7, "{native_seen:#?}");
    // The native collector tells dual-stack apart; the portable one cannot.
    let dual_tcp = (Protocol::Tcp, dual.tcp[0]);
    assert_eq!(native_seen[&dual_tcp].0, Family::Dual);
    assert_eq!(portable_seen[&dual_tcp].0, Family::V6);
    assert_eq!(portable_seen, without_dual_stack(native_seen));

    // Both list listeners only unless asked.
    assert!(portable.sockets.iter().all(|s| s.state.is_listener()));
    assert!(!portable.host.includes_connections);
}

#[test]
fn a_listener_shared_by_a_forked_child_has_both_pids_in_both() {
    // As inetd and pre-forking servers do: the child inherits the listener (here as its stdin).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let shared: std::os::fd::OwnedFd = listener.try_clone().unwrap().into();
    let mut sleeper = std::process::Command::new("sleep")
        .arg("60")
        .stdin(std::process::Stdio::from(shared))
        .spawn()
        .unwrap();
    let pids = [std::process::id(), sleeper.id()];
    let native = SystemCollector::new(CollectOptions::default()).collect();
    let portable = PortableCollector::new(CollectOptions::default()).collect();
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let key = (Protocol::Tcp, addr);
    let mut both = pids.to_vec();
    both.sort_unstable();
    for (which, snapshot) in [("native", native), ("portable", portable)] {
        let snapshot = snapshot.unwrap_or_else(|e| panic!("{which}: {e}"));
        let seen = seen(&snapshot, &pids);
        assert_eq!(seen[&key].2, both, "{which}");
    }
}

#[test]
fn owners_carry_sysinfos_details() {
    let child = hold(&["--name", "ps-portable-kid", "--tcp", "127.0.0.1:0"]);
    let snapshot = PortableCollector::new(CollectOptions::default())
        .collect()
        .expect("portable collector");
    let socket = snapshot
        .sockets
        .iter()
        .find(|s| s.protocol == Protocol::Tcp && s.local_endpoint() == child.tcp[0])
        .expect("the child's listener");
    let owner = socket
        .owners
        .iter()
        .find(|o| o.pid == child.pid())
        .expect("the child owns it");
    assert_eq!(owner.name, "ps-portable-kid");
    assert_eq!(owner.parent_pid, Some(std::process::id()));
    assert!(owner.exe.as_deref().unwrap().ends_with("hold_sockets"));
    assert!(owner.cmdline.iter().any(|a| a == "ps-portable-kid"));
    let started = owner.start_time.expect("start time");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        started <= now + 1 && now - started < 600,
        "{started} vs {now}"
    );
    assert_eq!(owner.uid, Some(snapshot.host.uid));
    // The socket's uid is its owner's here (the tables carry none of their own); no inode.
    assert_eq!(socket.uid, owner.uid);
    assert_eq!(socket.inode, 0);
    assert_eq!(socket.local_addr, IpAddr::from([127, 0, 0, 1]));
}

#[test]
fn connections_are_listed_only_when_asked() {
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(server.local_addr().unwrap()).unwrap();
    let (_accepted, _) = server.accept().unwrap();
    let local = client.local_addr().unwrap();
    let find = |snapshot: &Snapshot| {
        snapshot
            .sockets
            .iter()
            .find(|s| s.protocol == Protocol::Tcp && s.local_endpoint() == local)
            .cloned()
    };
    let listeners = PortableCollector::new(CollectOptions::default())
        .collect()
        .unwrap();
    assert!(find(&listeners).is_none());
    let all = PortableCollector::new(CollectOptions {
        include_connections: true,
        ..CollectOptions::default()
    })
    .collect()
    .unwrap();
    let socket = find(&all).expect("the connection, with --all");
    assert_eq!(socket.state, SocketState::Established);
    assert_eq!(socket.remote_endpoint(), Some(server.local_addr().unwrap()));
    assert!(socket.owners.iter().any(|o| o.pid == std::process::id()));
}

/// Where the portable collector knows less, shown field by field on our own sockets (the README's
/// platform table says the same): no socket inode, no start ticks (whole seconds only), and a
/// connected UDP socket listed as an unconnected one, which makes it a "listener" there.
#[test]
fn where_the_portable_collector_knows_less() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp = listener.local_addr().unwrap();
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let connected = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    connected.connect(peer.local_addr().unwrap()).unwrap();
    let udp = connected.local_addr().unwrap();
    let native = SystemCollector::new(CollectOptions::default())
        .collect()
        .expect("native collector");
    let portable = PortableCollector::new(CollectOptions::default())
        .collect()
        .expect("portable collector");
    let find = |snapshot: &Snapshot, protocol, addr| {
        snapshot
            .sockets
            .iter()
            .find(|s| s.protocol == protocol && s.local_endpoint() == addr)
            .cloned()
    };
    let me = std::process::id();

    // The listener: the same socket and owner, but no inode and no start ticks in the portable.
    let n = find(&native, Protocol::Tcp, tcp).expect("native lists our listener");
    let p = find(&portable, Protocol::Tcp, tcp).expect("portable lists our listener");
    assert_ne!(n.inode, 0);
    assert_eq!(p.inode, 0);
    let owner = |s: &portscope::sockets::Socket| {
        s.owners
            .iter()
            .find(|o| o.pid == me)
            .cloned()
            .expect("we own it")
    };
    let (n_owner, p_owner) = (owner(&n), owner(&p));
    assert!(n_owner.start_ticks.is_some());
    assert_eq!(p_owner.start_ticks, None);
    // Both give the start time in seconds; the native one derives it from the ticks (rounded
    // down), sysinfo from its own reading: they may differ by the rounding, never by more.
    let (a, b) = (
        n_owner.start_time.expect("native start time"),
        p_owner.start_time.expect("portable start time"),
    );
    assert!(a.abs_diff(b) <= 1, "{a} vs {b}");

    // The connected UDP socket: no listener to the kernel, an unconnected one to netstat2.
    assert!(find(&native, Protocol::Udp, udp).is_none());
    let p = find(&portable, Protocol::Udp, udp).expect("portable lists the connected socket");
    assert_eq!(p.state, SocketState::Unconnected);
    assert_eq!(p.remote_endpoint(), None);
}
