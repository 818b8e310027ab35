//! Private network namespaces (with veth links) for tests that must not see (or be seen by) the host's other
//! listeners: created with `ip netns add portscope-test-<pid>-<tag>`, removed on drop. Threads
//! enter one with setns to open sockets or connect from inside it.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::{Command, Output};

pub struct Netns {
    pub name: String,
}

/// Run `ip args…`, panicking with its stderr when it fails.
pub fn ip(args: &[&str]) {
    sh("ip", args);
}

/// Run a command, panicking with its stderr when it fails.
pub fn sh(cmd: &str, args: &[&str]) -> Output {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e} (the tests need root, iproute2 and nftables: .ci/run installs them)"));
    assert!(
        out.status.success(),
        "{cmd} {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Netns {
    /// A fresh namespace with `lo` up.
    pub fn new(tag: &str) -> Netns {
        let name = format!("portscope-test-{}-{tag}", std::process::id());
        // A leftover from a killed run of the same pid would make `add` fail.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NAME args…`
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all);
    }

    /// A command line run inside the namespace: `ip netns exec NAME cmd args…`.
    pub fn command(&self, cmd: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, cmd]);
        c
    }

    /// Run `cmd args…` inside, panicking when it fails.
    pub fn exec(&self, cmd: &str, args: &[&str]) -> Output {
        let mut all = vec!["netns", "exec", self.name.as_str(), cmd];
        all.extend_from_slice(args);
        sh("ip", &all)
    }

    /// Run `f` on a thread that has entered this namespace (sockets it opens live there).
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            // SAFETY: setns on this thread only, with a namespace fd we hold open.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .expect("thread in the namespace panicked")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// Two namespaces joined by a veth pair: `server` (10.231.<net>.1/30 on `if_name`) and `peer`
/// (10.231.<net>.2/30 on `p0`). Addresses exist only inside these namespaces.
pub fn link(server: &Netns, if_name: &str, peer: &Netns, net: u8) {
    server.ip(&[
        "link", "add", if_name, "type", "veth", "peer", "name", "p0", "netns", &peer.name,
    ]);
    let s_addr = format!("10.231.{net}.1/30");
    let p_addr = format!("10.231.{net}.2/30");
    server.ip(&["addr", "add", &s_addr, "dev", if_name]);
    peer.ip(&["addr", "add", &p_addr, "dev", "p0"]);
    server.ip(&["link", "set", if_name, "up"]);
    peer.ip(&["link", "set", "p0", "up"]);
}
