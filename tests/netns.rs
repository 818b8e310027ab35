//! Sockets in other network namespaces, for real: an `ip netns` sandbox of this test's own
//! (named after the test's pid, removed afterwards) with a listener inside it must be collected
//! with its owner's pid and the namespace's name, by the library and by the binary; a namespace
//! that disappears between discovery and entering is recorded, not a failure.
//!
//! Needs root and `ip` (iproute2); without root the tests say so and check nothing else.

mod support;

use support::is_root;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use portscope::sockets::netns::{discover, dump_all};
use portscope::sockets::{CollectOptions, Collector, Protocol, SystemCollector};
use serde_json::Value;

/// An `ip netns` namespace, deleted when dropped.
struct Sandbox {
    name: String,
}

impl Sandbox {
    fn new(suffix: &str) -> Sandbox {
        let name = format!("portscope-test-{}-{suffix}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("run ip")
            .success();
        assert!(ok, "ip netns add {name} failed");
        let up = Command::new("ip")
            .args(["netns", "exec", &name, "ip", "link", "set", "lo", "up"])
            .status()
            .expect("run ip")
            .success();
        assert!(up, "cannot bring lo up in {name}");
        Sandbox { name }
    }

    /// Inode of the namespace (what `Socket::netns` carries).
    fn inode(&self) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(Path::new("/run/netns").join(&self.name))
            .unwrap()
            .ino()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// `hold_sockets` started inside the sandbox (`ip netns exec` execs it: same pid).
struct Inside {
    child: Child,
    stdin: Option<ChildStdin>,
    tcp: Vec<SocketAddr>,
}

impl Drop for Inside {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

fn hold_inside(sandbox: &Sandbox, args: &[&str]) -> Inside {
    let hold = support::hold_sockets_path();
    let mut child = Command::new("ip")
        .args(["netns", "exec", &sandbox.name])
        .arg(hold)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("ip netns exec hold_sockets");
    let stdin = child.stdin.take();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut inside = Inside {
        child,
        stdin,
        tcp: Vec::new(),
    };
    for line in stdout.lines() {
        let line = line.unwrap();
        if line == "ready" {
            return inside;
        }
        if let Some(addr) = line.strip_prefix("tcp ") {
            inside.tcp.push(addr.parse().unwrap());
        }
    }
    panic!("hold_sockets exited in the sandbox before it was ready");
}

#[test]
fn a_listener_in_an_ip_netns_sandbox_is_collected_with_its_pid_and_namespace_name() {
    if !is_root() {
        eprintln!("skipped: entering other network namespaces needs root");
        return;
    }
    let sandbox = Sandbox::new("list");
    let inside = hold_inside(&sandbox, &["--name", "sandboxed", "--tcp", "127.0.0.1:0"]);
    let pid = inside.child.id();
    let addr = inside.tcp[0];

    let snapshot = SystemCollector::new(CollectOptions::default())
        .collect()
        .unwrap();
    let ours: Vec<_> = snapshot
        .sockets
        .iter()
        .filter(|s| s.owners.iter().any(|o| o.pid == pid))
        .collect();
    assert_eq!(ours.len(), 1, "{ours:#?}");
    let socket = ours[0];
    assert_eq!(
        (socket.protocol, socket.local_addr, socket.local_port),
        (Protocol::Tcp, addr.ip(), addr.port())
    );
    let netns = socket.netns.as_ref().expect("tagged with its namespace");
    assert_eq!(netns.name.as_deref(), Some(sandbox.name.as_str()));
    assert_eq!(netns.inode, sandbox.inode());
    assert_eq!(socket.owners[0].name, "sandboxed");

    // The host view alone does not have it.
    let host_only = SystemCollector::new(CollectOptions {
        host_namespace_only: true,
        ..CollectOptions::default()
    })
    .collect()
    .unwrap();
    assert!(!host_only
        .sockets
        .iter()
        .any(|s| s.owners.iter().any(|o| o.pid == pid)));

    // The binary: a snapshot carries the tag; list finds it by pid.
    let out = Command::new(env!("CARGO_BIN_EXE_portscope"))
        .arg("snapshot")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], 3);
    let tagged: Vec<&Value> = v["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["owners"]
                .as_array()
                .is_some_and(|o| o.iter().any(|o| o["pid"] == pid))
        })
        .collect();
    assert_eq!(tagged.len(), 1);
    assert_eq!(tagged[0]["netns"]["name"], sandbox.name.as_str());
    assert_eq!(tagged[0]["local_port"], addr.port());

    let out = Command::new(env!("CARGO_BIN_EXE_portscope"))
        .args([
            "list",
            "--json",
            "--netns",
            "all",
            "--pid",
            &pid.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = listed["sockets"].as_array().expect("a sockets array");
    let row = rows
        .iter()
        .find(|r| r["local_port"] == addr.port())
        .unwrap_or_else(|| panic!("list --pid {pid} has the sandboxed listener: {listed}"));
    assert_eq!(row["pids"], serde_json::json!([pid]));
    assert_eq!(row["netns"], sandbox.name.as_str());
}

#[test]
fn every_socket_of_other_namespaces_is_dumped_whether_they_hold_connections_or_not() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    // One namespace with connections (both ends held inside), one with a listener only, whose
    // connection table is then not asked for.
    let busy = Sandbox::new("conns");
    let quiet = Sandbox::new("quiet");
    let _pairs = hold_inside(&busy, &["--pairs", "3"]);
    let listener = hold_inside(&quiet, &["--tcp", "127.0.0.1:0"]);
    let (busy_ns, quiet_ns) = (busy.inode(), quiet.inode());
    let found = discover(Path::new("/proc"), Path::new("/run/netns"));
    let ours: Vec<_> = found
        .others
        .iter()
        .filter(|ns| [busy_ns, quiet_ns].contains(&ns.tag.inode))
        .cloned()
        .collect();
    assert_eq!(ours.len(), 2);
    let dumped = dump_all(&ours, true);
    let states_in = |inode: u64| -> Vec<(Protocol, u8)> {
        let mut states: Vec<(Protocol, u8)> = dumped
            .sockets
            .iter()
            .filter(|(_, tag)| tag.inode == inode)
            .map(|(s, _)| (s.protocol, s.state))
            .collect();
        states.sort_by_key(|&(p, s)| (p.as_str(), s));
        states
    };
    const ESTABLISHED: u8 = 1;
    const LISTEN: u8 = 10;
    let mut expected = vec![(Protocol::Tcp, ESTABLISHED); 6];
    expected.push((Protocol::Tcp, LISTEN));
    assert_eq!(states_in(busy_ns), expected, "{dumped:?}");
    assert_eq!(states_in(quiet_ns), [(Protocol::Tcp, LISTEN)], "{dumped:?}");
    let (quiet_socket, _) = dumped
        .sockets
        .iter()
        .find(|(_, tag)| tag.inode == quiet_ns)
        .unwrap();
    assert_eq!(quiet_socket.local_port, listener.tcp[0].port());
}

#[test]
fn a_namespace_that_disappears_mid_scan_is_recorded_not_fatal() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let sandbox = Sandbox::new("gone");
    let inode = sandbox.inode();
    let found = discover(Path::new("/proc"), Path::new("/run/netns"));
    let ours: Vec<_> = found
        .others
        .iter()
        .filter(|ns| ns.tag.inode == inode)
        .cloned()
        .collect();
    assert_eq!(ours.len(), 1, "the sandbox is discovered by its name");
    assert_eq!(ours[0].tag.name.as_deref(), Some(sandbox.name.as_str()));
    drop(sandbox); // gone between discovery and entering
    let dumped = dump_all(&ours, false);
    assert!(dumped.sockets.is_empty());
    assert_eq!(dumped.vanished.len(), 1, "{dumped:?}");
    assert!(dumped.refused.is_empty(), "{dumped:?}");
}

#[test]
fn an_unnamed_namespace_is_found_through_its_process() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    // unshare -n: a namespace no /run/netns entry names, only the process in it.
    let hold = support::hold_sockets_path();
    let mut child = Command::new("unshare")
        .args(["-n", "sh", "-c", "ip link set lo up && exec \"$0\" \"$@\""])
        .arg(hold)
        .args(["--tcp", "127.0.0.1:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("unshare");
    let stdin = child.stdin.take();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr: SocketAddr = lines
        .next()
        .unwrap()
        .unwrap()
        .strip_prefix("tcp ")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let pid = child.id();

    let snapshot = SystemCollector::new(CollectOptions::default())
        .collect()
        .unwrap();
    let socket = snapshot
        .sockets
        .iter()
        .find(|s| s.owners.iter().any(|o| o.pid == pid))
        .expect("collected");
    assert_eq!(socket.local_port, addr.port());
    let netns = socket.netns.as_ref().unwrap();
    assert_eq!(netns.name, None);
    assert_eq!(netns.pid, Some(pid));
    assert_eq!(netns.label(), format!("net:[{}]", netns.inode));
    drop(stdin);
    let _ = child.wait();
}

/// A copy of the binary an unprivileged user can execute (the checkout may sit in a 0700 home).
fn world_executable_copy() -> (tempfile::TempDir, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("portscope");
    std::fs::copy(env!("CARGO_BIN_EXE_portscope"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    (dir, bin)
}

#[test]
fn without_root_the_namespaces_not_entered_are_named_with_how_to_see_them() {
    if !is_root() {
        eprintln!("skipped: needs root to set up the sandbox");
        return;
    }
    let sandbox = Sandbox::new("noroot");
    let inside = hold_inside(&sandbox, &["--tcp", "127.0.0.1:0"]);
    let (_dir, bin) = world_executable_copy();
    let out = loop {
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .arg("snapshot")
            // nobody has no home; root's data directory is not its to read.
            .env("HOME", "/nonexistent")
            .output()
            .unwrap();
        // Another test thread's fork may hold the fresh copy open for writing for a moment.
        if !String::from_utf8_lossy(&out.stderr).contains("Text file busy") {
            break out;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings: Vec<&str> = v["host"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let refused = warnings
        .iter()
        .find(|w| w.contains("could not be entered"))
        .unwrap_or_else(|| panic!("no warning about namespaces not entered: {warnings:?}"));
    assert!(refused.contains("sudo portscope"), "{refused}");
    // It names the first few; on a busy host ours may be among "N more".
    assert!(
        refused.contains(&sandbox.name) || refused.contains(" more"),
        "{refused}"
    );
    let pid = inside.child.id();
    assert!(!v["sockets"].as_array().unwrap().iter().any(|s| {
        s["owners"]
            .as_array()
            .is_some_and(|o| o.iter().any(|o| o["pid"] == pid))
    }));
}
