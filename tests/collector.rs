//! The live collector against real sockets on loopback: each must be found (or not) with the
//! right pid, name, family and state.

mod support;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};

use portscope::sockets::{
    CollectOptions, Collector, Family, Protocol, Snapshot, Socket, SocketState, SystemCollector,
};
use support::hold;

fn collect(include_connections: bool) -> Snapshot {
    SystemCollector::new(CollectOptions {
        include_connections,
        ..CollectOptions::default()
    })
    .collect()
    .expect("collect")
}

fn find(snapshot: &Snapshot, protocol: Protocol, addr: SocketAddr) -> Option<&Socket> {
    snapshot.sockets.iter().find(|s| {
        // The host namespace only: a sandbox of another test may bind the same port in its own.
        s.netns.is_none()
            && s.protocol == protocol
            && s.local_addr == addr.ip()
            && s.local_port == addr.port()
    })
}

fn our_name() -> String {
    std::fs::read_to_string("/proc/self/comm")
        .unwrap()
        .trim_end()
        .to_string()
}

#[test]
fn our_own_listeners_are_found_with_our_pid_name_and_family() {
    let tcp4 = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp6 = TcpListener::bind("[::1]:0").unwrap();
    let udp4 = UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp6 = UdpSocket::bind("[::1]:0").unwrap();
    let snapshot = collect(false);
    let cases = [
        (
            Protocol::Tcp,
            tcp4.local_addr().unwrap(),
            Family::V4,
            SocketState::Listen,
        ),
        (
            Protocol::Tcp,
            tcp6.local_addr().unwrap(),
            Family::V6,
            SocketState::Listen,
        ),
        (
            Protocol::Udp,
            udp4.local_addr().unwrap(),
            Family::V4,
            SocketState::Unconnected,
        ),
        (
            Protocol::Udp,
            udp6.local_addr().unwrap(),
            Family::V6,
            SocketState::Unconnected,
        ),
    ];
    for (protocol, addr, family, state) in cases {
        let socket = find(&snapshot, protocol, addr).unwrap_or_else(|| panic!("{addr} missing"));
        assert_eq!((socket.family, socket.state), (family, state), "{addr}");
        // Other tests spawn children meanwhile; between fork and exec a child briefly holds
        // copies of our fds, so it may show up as a second owner. Nobody else may.
        let me = std::process::id();
        let ours = socket.owners.iter().find(|o| o.pid == me).expect("our pid");
        assert_eq!(ours.name, our_name());
        assert!(
            socket
                .owners
                .iter()
                .all(|o| o.pid == me || o.parent_pid == Some(me)),
            "{addr}: {:?}",
            socket.owners
        );
        assert_eq!(socket.owner_unknown, None);
    }
}

#[test]
fn a_connected_udp_socket_is_a_connection_not_a_listener() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.connect(server.local_addr().unwrap()).unwrap();
    let client_addr = client.local_addr().unwrap();

    let listeners = collect(false);
    assert!(find(&listeners, Protocol::Udp, client_addr).is_none());
    assert!(find(&listeners, Protocol::Udp, server.local_addr().unwrap()).is_some());

    let everything = collect(true);
    let socket = find(&everything, Protocol::Udp, client_addr).expect("listed with --all");
    assert!(!socket.state.is_listener());
    assert_eq!(socket.remote_addr, Some(server.local_addr().unwrap().ip()));
    assert_eq!(
        socket.remote_port,
        Some(server.local_addr().unwrap().port())
    );
    assert_eq!(socket.owners[0].pid, std::process::id());
}

#[test]
fn a_wildcard_v6_socket_without_v6only_is_dual_stack() {
    let dual = hold(&["--tcp", "[::]:0", "--udp", "[::]:0", "--v6only", "off"]);
    let v6only = hold(&["--tcp", "[::]:0", "--v6only", "on"]);
    let snapshot = collect(false);
    for addr in [dual.tcp[0], dual.udp[0]] {
        let protocol = if addr == dual.tcp[0] {
            Protocol::Tcp
        } else {
            Protocol::Udp
        };
        let socket = find(&snapshot, protocol, addr).expect("dual-stack socket listed");
        assert_eq!(socket.family, Family::Dual, "{addr}");
        assert_eq!(socket.owners[0].pid, dual.pid());
    }
    let socket = find(&snapshot, Protocol::Tcp, v6only.tcp[0]).expect("v6-only listener");
    assert_eq!(socket.family, Family::V6);
}

#[test]
fn a_child_listener_carries_the_childs_details() {
    let child = hold(&["--name", "portscope-kid", "--tcp", "127.0.0.1:0"]);
    let snapshot = collect(false);
    let socket = find(&snapshot, Protocol::Tcp, child.tcp[0]).expect("child's listener");
    let owner = &socket.owners[0];
    assert_eq!(owner.pid, child.pid());
    assert_eq!(owner.name, "portscope-kid");
    assert_eq!(owner.parent_pid, Some(std::process::id()));
    assert!(owner.exe.as_deref().unwrap().ends_with("hold_sockets"));
    assert!(owner.cmdline.iter().any(|a| a == "portscope-kid"));
    let started = owner.start_time.expect("start time");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        started <= now + 1 && now - started < 600,
        "{started} vs {now}"
    );
    assert_eq!(owner.uid, snapshot.host.uid.into());
}

#[test]
fn a_listener_shared_with_a_child_lists_both_pids() {
    // As inetd and pre-forking servers do: the child inherits the listener (here as its stdin).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let shared: OwnedFd = listener.try_clone().unwrap().into();
    let mut sleeper = Command::new("sleep")
        .arg("60")
        .stdin(Stdio::from(shared))
        .spawn()
        .unwrap();
    let snapshot = collect(false);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let socket = find(&snapshot, Protocol::Tcp, addr).expect("shared listener");
    let mut expected = vec![std::process::id(), sleeper.id()];
    expected.sort_unstable();
    let pids: Vec<u32> = socket.owners.iter().map(|o| o.pid).collect();
    assert_eq!(pids, expected);
}

#[test]
fn twenty_five_thousand_sockets_in_two_children_all_have_the_right_pid() {
    // Off 127.0.0.1, whose ephemeral ports other programs may be using up.
    let a = hold(
        &"--tcp-count 10000 --tcp-base-addr 127.0.0.3 --udp-count 2500 --udp-base-addr 127.0.0.3"
            .split(' ')
            .collect::<Vec<_>>(),
    );
    let b = hold(&"--tcp-count 7500 --tcp-base-addr 127.0.0.4 --tcp-count 2500 --tcp-base-addr ::1 --udp-count 2500 --udp-base-addr ::1"
        .split(' ')
        .collect::<Vec<_>>());
    let snapshot = collect(false);
    let by_addr: HashMap<(Protocol, SocketAddr), &Socket> = snapshot
        .sockets
        .iter()
        .map(|s| ((s.protocol, SocketAddr::new(s.local_addr, s.local_port)), s))
        .collect();
    let mut found = 0;
    for holder in [&a, &b] {
        for (protocol, addrs) in [(Protocol::Tcp, &holder.tcp), (Protocol::Udp, &holder.udp)] {
            for &addr in addrs {
                let socket = by_addr
                    .get(&(protocol, addr))
                    .unwrap_or_else(|| panic!("{} {addr} missing", protocol.as_str()));
                let pids: Vec<u32> = socket.owners.iter().map(|o| o.pid).collect();
                assert_eq!(pids, [holder.pid()], "{addr}");
                found += 1;
            }
        }
    }
    assert_eq!(found, 25_000);
}

#[test]
fn refreshes_follow_new_and_closed_sockets_without_leaking_fds() {
    let mut collector = SystemCollector::new(CollectOptions::default());
    let first = TcpListener::bind("127.0.0.1:0").unwrap();
    let first_addr = first.local_addr().unwrap();
    assert!(find(&collector.collect().unwrap(), Protocol::Tcp, first_addr).is_some());

    // A socket opened after the first scan is a cache miss: found, with its owner.
    let second = UdpSocket::bind("127.0.0.1:0").unwrap();
    let snapshot = collector.collect().unwrap();
    let socket = find(&snapshot, Protocol::Udp, second.local_addr().unwrap()).expect("new socket");
    assert_eq!(socket.owners[0].pid, std::process::id());

    drop(first);
    // A child another test is spawning may hold a copy of it until its exec: allow a moment.
    let gone = (0..100).any(|_| {
        let closed = find(&collector.collect().unwrap(), Protocol::Tcp, first_addr).is_none();
        if !closed {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        closed
    });
    assert!(gone, "a closed listener is still listed");

    let open_fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    let before = open_fds();
    for _ in 0..1000 {
        collector.collect().unwrap();
    }
    let after = open_fds();
    assert!(
        after <= before + 50,
        "{before} fds before 1000 refreshes, {after} after"
    );
}

#[test]
fn a_process_that_exits_is_dropped_from_the_next_refresh() {
    let mut collector = SystemCollector::new(CollectOptions::default());
    let child = hold(&["--tcp", "127.0.0.1:0"]);
    let addr = child.tcp[0];
    let pid = child.pid();
    let snapshot = collector.collect().unwrap();
    assert_eq!(
        find(&snapshot, Protocol::Tcp, addr).unwrap().owners[0].pid,
        pid
    );
    drop(child);
    let snapshot = collector.collect().unwrap();
    assert!(find(&snapshot, Protocol::Tcp, addr).is_none());
    assert!(snapshot
        .sockets
        .iter()
        .all(|s| s.owners.iter().all(|o| o.pid != pid)));
}

#[test]
fn host_facts_describe_this_run() {
    let snapshot = collect(false);
    let host = &snapshot.host;
    assert_eq!(host.uid, effective_uid());
    assert!(!host.hostname.is_empty() && !host.kernel.is_empty());
    assert!(!host.includes_connections);
    if host.uid == 0 {
        // Root sees every owner unless something refuses even root (a sandbox, a security
        // module): then the snapshot must say so.
        assert_eq!(
            host.sees_all_owners,
            !support::some_process_refuses_its_fds()
        );
    }
    assert!(snapshot.sockets.iter().all(|s| s.state.is_listener()));
    assert!(snapshot
        .sockets
        .iter()
        .all(|s| s.owners.is_empty() == s.owner_unknown.is_some()));
}

fn effective_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap()
}
