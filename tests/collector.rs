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

/// Every owner of `socket` is this test process or a child of it. Other tests spawn children
/// meanwhile, and between fork and exec a child briefly holds copies of our fds, so it may show
/// up as another owner; nobody else may.
fn assert_held_by_us_alone(socket: &Socket) {
    let me = std::process::id();
    assert!(
        socket
            .owners
            .iter()
            .all(|o| o.pid == me || o.parent_pid == Some(me)),
        "{:?}",
        socket.owners
    );
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
        let me = std::process::id();
        let ours = socket.owners.iter().find(|o| o.pid == me).expect("our pid");
        assert_eq!(ours.name, our_name());
        assert_held_by_us_alone(socket);
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
    assert!(socket.owners.iter().any(|o| o.pid == std::process::id()));
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

/// A `sleep` child holding a copy of `listener` (as its stdin), as inetd and pre-forking servers
/// hand a listener down.
fn share_with_child(listener: &TcpListener) -> std::process::Child {
    let shared: OwnedFd = listener.try_clone().unwrap().into();
    Command::new("sleep")
        .arg("60")
        .stdin(Stdio::from(shared))
        .spawn()
        .unwrap()
}

#[test]
fn a_listener_shared_with_a_child_lists_both_pids() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut sleeper = share_with_child(&listener);
    let snapshot = collect(false);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let socket = find(&snapshot, Protocol::Tcp, addr).expect("shared listener");
    let pids: Vec<u32> = socket.owners.iter().map(|o| o.pid).collect();
    assert!(
        pids.contains(&std::process::id()) && pids.contains(&sleeper.id()),
        "{pids:?}"
    );
    assert_held_by_us_alone(socket); // the sleeper is our child
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
    assert!(socket.owners.iter().any(|o| o.pid == std::process::id()));

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

/// A helper named `name` that takes the fds sent to the Unix socket at `path` (SCM_RIGHTS).
fn fd_receiver(name: &str, path: &std::path::Path) -> support::Holder {
    hold(&[
        "--name".as_ref(),
        name.as_ref(),
        "--receive-at".as_ref(),
        path.as_os_str(),
    ])
}

#[test]
fn after_an_fd_handoff_the_receiver_is_the_owner_on_the_next_refresh() {
    // A passes its listener to B over a Unix socket (SCM_RIGHTS), closes its copy and stays
    // alive: the collector must not keep naming A from memory.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("handoff.sock");
    let mut receiver = fd_receiver("ps-receiver", &path);
    let mut sender = hold(&["--name", "ps-sender", "--tcp", "127.0.0.1:0"]);
    let addr = sender.tcp[0];
    let mut collector = SystemCollector::new(CollectOptions::default());
    let pids = |snapshot: &Snapshot| -> Vec<u32> {
        find(snapshot, Protocol::Tcp, addr)
            .expect("the handed listener is listed")
            .owners
            .iter()
            .map(|o| o.pid)
            .collect()
    };
    assert_eq!(pids(&collector.collect().unwrap()), [sender.pid()]);

    sender.command(&format!("send {}", path.display()));
    assert_eq!(sender.next_line(), "sent 1");
    assert_eq!(receiver.next_line(), "received 1");
    let after = collector.collect().unwrap();
    assert_eq!(pids(&after), [receiver.pid()]);
    let owner = &find(&after, Protocol::Tcp, addr).unwrap().owners[0];
    assert_eq!(owner.name, "ps-receiver");
}

/// A connection handed to another process after it was accepted is not re-checked on every
/// refresh (a server's 40,000 would cost 40,000 link reads each time): the full rescan finds
/// the new holder, and `r` (`retry`) asks for that rescan at once.
#[test]
fn a_connection_handed_on_has_its_new_owner_after_a_retry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("handoff.sock");
    let mut receiver = fd_receiver("ps-conn-recv", &path);
    let mut sender = hold(&["--name", "ps-conn-send", "--pairs", "1"]);
    let listener = sender.pairs[0];
    let mut collector = SystemCollector::new(CollectOptions {
        include_connections: true,
        host_namespace_only: true,
    });
    // The accepted end: on the listener's address, with a peer.
    let owner_pids = |snapshot: &Snapshot| -> Vec<u32> {
        let accepted = snapshot
            .sockets
            .iter()
            .find(|s| {
                s.protocol == Protocol::Tcp
                    && s.local_addr == listener.ip()
                    && s.local_port == listener.port()
                    && s.remote_addr.is_some()
            })
            .expect("the accepted connection is listed");
        accepted.owners.iter().map(|o| o.pid).collect()
    };
    assert_eq!(owner_pids(&collector.collect().unwrap()), [sender.pid()]);

    sender.command(&format!("send-pairs {}", path.display()));
    assert_eq!(sender.next_line(), "sent 2");
    assert_eq!(receiver.next_line(), "received 2");
    collector.retry();
    assert_eq!(owner_pids(&collector.collect().unwrap()), [receiver.pid()]);
}

/// Between full scans, a scan takes an fd that held a socket last time to hold it still. Here
/// that fd is opened again on a new listener while a child keeps the first one alive: the scan
/// the new listener sets off finds it without an owner, and must read every link again.
#[test]
fn an_fd_opened_again_on_a_new_socket_is_read_again() {
    use std::os::fd::AsRawFd;
    let first = TcpListener::bind("127.0.0.1:0").unwrap();
    let first_addr = first.local_addr().unwrap();
    let mut sleeper = share_with_child(&first);
    let mut collector = SystemCollector::new(CollectOptions {
        include_connections: false,
        host_namespace_only: true,
    });
    let pids = |snapshot: &Snapshot, addr| -> Vec<u32> {
        let socket = find(snapshot, Protocol::Tcp, addr).expect("listed");
        socket.owners.iter().map(|o| o.pid).collect()
    };
    let me = std::process::id();
    let before = collector.collect().unwrap();
    assert!(pids(&before, first_addr).contains(&me));

    let second = TcpListener::bind("127.0.0.1:0").unwrap();
    let second_addr = second.local_addr().unwrap();
    // SAFETY: both are open descriptors of ours; `first`'s number now names the second socket.
    assert!(unsafe { libc::dup2(second.as_raw_fd(), first.as_raw_fd()) } >= 0);
    drop(second);
    let after = collector.collect().unwrap();
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert!(
        pids(&after, second_addr).contains(&me),
        "the new listener is ours"
    );
    let first_owners = pids(&after, first_addr);
    assert!(
        first_owners.contains(&sleeper.id()) && !first_owners.contains(&me),
        "the first listener is the child's alone: {first_owners:?}"
    );
}

#[test]
fn a_process_name_with_invalid_utf8_keeps_its_uid_and_user() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let child = hold(&[
        OsStr::new("--name"),
        OsStr::from_bytes(b"bad\xffname"),
        OsStr::new("--tcp"),
        OsStr::new("127.0.0.1:0"),
    ]);
    let snapshot = collect(false);
    let socket = find(&snapshot, Protocol::Tcp, child.tcp[0]).expect("its listener");
    let owner = &socket.owners[0];
    assert_eq!(owner.pid, child.pid());
    assert_eq!(
        portscope::text::escape(&owner.name),
        "bad\\xffname",
        "kept, with the bad byte shown"
    );
    assert_eq!(owner.uid, Some(effective_uid()));
    assert!(owner.user.is_some(), "{owner:?}");
}

#[test]
fn an_executable_path_longer_than_path_max_is_kept() {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::CommandExt;

    // 24 levels of 200-byte names: about 4,900 bytes, past PATH_MAX (4096), so neither
    // `mkdir -p` nor `readlink` can take the path in one go; walk it one name at a time.
    let dir = tempfile::tempdir().unwrap();
    let component = "d".repeat(200);
    let levels = 24;
    let open_dir = |at: libc::c_int, name: &CString| {
        // SAFETY: a NUL-terminated name relative to an open directory.
        let fd = unsafe { libc::openat(at, name.as_ptr(), libc::O_DIRECTORY | libc::O_CLOEXEC) };
        assert!(fd >= 0, "{}", std::io::Error::last_os_error());
        fd
    };
    let top = CString::new(dir.path().as_os_str().as_bytes()).unwrap();
    let name = CString::new(component.as_str()).unwrap();
    // SAFETY: an absolute path, opened as a directory.
    let mut at = unsafe { libc::open(top.as_ptr(), libc::O_DIRECTORY | libc::O_CLOEXEC) };
    for _ in 0..levels {
        // SAFETY: as above; the old directory fd is closed once the next one is open.
        unsafe {
            assert_eq!(libc::mkdirat(at, name.as_ptr(), 0o755), 0);
            let next = open_dir(at, &name);
            libc::close(at);
            at = next;
        }
    }
    // Copy hold_sockets into the deepest directory.
    let program = std::fs::read(support::hold_sockets_path()).unwrap();
    let file_name = CString::new("hold_sockets").unwrap();
    // SAFETY: creating a file relative to an open directory; the fd is wrapped at once.
    let file = unsafe {
        libc::openat(
            at,
            file_name.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC,
            0o755,
        )
    };
    assert!(file >= 0);
    // SAFETY: a fresh descriptor we own.
    let mut file = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(file) };
    std::io::Write::write_all(&mut file, &program).unwrap();
    drop(file);
    // SAFETY: closing our last directory fd.
    unsafe { libc::close(at) };

    let mut command = Command::new("./hold_sockets");
    command
        .args(["--tcp", "127.0.0.1:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let top_dir = dir.path().to_path_buf();
    // SAFETY: the child only calls chdir (async-signal-safe) before exec.
    unsafe {
        command.pre_exec(move || {
            std::env::set_current_dir(&top_dir)?;
            let name = std::ffi::CString::new("d".repeat(200)).unwrap();
            for _ in 0..levels {
                if libc::chdir(name.as_ptr()) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = retry_busy(|| command.spawn());
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    let addr: SocketAddr = line
        .trim_end()
        .strip_prefix("tcp ")
        .unwrap()
        .parse()
        .unwrap();

    let snapshot = collect(false);
    drop(child.stdin.take());
    let _ = child.wait();
    let socket = find(&snapshot, Protocol::Tcp, addr).expect("its listener");
    let exe = socket.owners[0]
        .exe
        .as_deref()
        .expect("the long path is kept");
    let expected = format!(
        "{}/{}/hold_sockets",
        dir.path().display(),
        vec![component.as_str(); levels].join("/")
    );
    assert!(expected.len() > 4096);
    assert_eq!(exe, expected);
}

/// Spawn, retrying while the fresh copy is "text file busy": another test thread's fork may
/// briefly hold its write descriptor open until that child execs.
fn retry_busy(
    mut spawn: impl FnMut() -> std::io::Result<std::process::Child>,
) -> std::process::Child {
    for _ in 0..50 {
        match spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            other => return other.unwrap(),
        }
    }
    panic!("the program copy stayed busy");
}

#[test]
fn in_a_child_pid_namespace_a_host_process_socket_is_owned_from_another_namespace() {
    // `unshare -pf --mount-proc` gives the binary a /proc that lists only its own namespace,
    // while it shares this network: our listener's holder (this test) is outside.
    if effective_uid() != 0 {
        eprintln!("skipped: creating a pid namespace needs root");
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = Command::new("unshare")
        .args(["-pf", "--mount-proc"])
        .arg(assert_cmd::cargo::cargo_bin("portscope"))
        .arg("snapshot")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snapshot: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours = snapshot["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["local_port"] == port && s["protocol"] == "tcp")
        .expect("our listener is listed");
    assert_eq!(ours["owners"], serde_json::json!([]));
    assert_eq!(ours["owner_unknown"], "other-pid-namespace", "{ours}");
    let warnings = snapshot["host"]["warnings"].to_string();
    assert!(warnings.contains("child pid namespace"), "{warnings}");
    drop(listener);
}
