//! Shared by the integration tests: a child process that holds sockets (examples/hold_sockets).

#![allow(dead_code)] // each test file uses its own subset

pub mod cgroup;
pub mod netns;
pub mod pty;
pub mod python;
pub mod vnet;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A running `hold_sockets`: its pid and the sockets it bound. It exits when this is dropped
/// (its stdin closes).
pub struct Holder {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    pub tcp: Vec<SocketAddr>,
    pub udp: Vec<SocketAddr>,
    pub udp_connected: Vec<SocketAddr>,
    /// The listener of `--pairs` connections.
    pub pairs: Vec<SocketAddr>,
}

impl Holder {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send one command line (`send PATH`) to the running holder.
    pub fn command(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write to hold_sockets");
        stdin.flush().expect("flush to hold_sockets");
    }

    /// The next line the holder prints after `ready` (`sent 1`, `received 1`).
    pub fn next_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("read hold_sockets output");
        line.trim_end().to_string()
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// `target/<profile>/examples/hold_sockets`, next to this test binary's `deps/` directory.
pub fn hold_sockets_path() -> PathBuf {
    example_path("hold_sockets")
}

/// `target/<profile>/examples/NAME` (built by `cargo test`), next to this test binary's `deps/`.
pub fn example_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run the whole `cargo test` (it builds examples) or `cargo build --example {name}` first",
        path.display()
    );
    path
}

/// Start `hold_sockets` with `args` and wait until it has bound everything.
pub fn hold<S: AsRef<OsStr>>(args: &[S]) -> Holder {
    let mut child = Command::new(hold_sockets_path())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start hold_sockets");
    let stdin = child.stdin.take();
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut holder = Holder {
        child,
        stdin,
        stdout,
        tcp: Vec::new(),
        udp: Vec::new(),
        udp_connected: Vec::new(),
        pairs: Vec::new(),
    };
    loop {
        let line = holder.next_line();
        if line == "ready" {
            return holder;
        }
        if line.is_empty() {
            break;
        }
        let (kind, addr) = line.split_once(' ').expect("KIND ADDR");
        let addr: SocketAddr = addr.parse().expect("an address");
        match kind {
            "tcp" => holder.tcp.push(addr),
            "udp" => holder.udp.push(addr),
            "udp-connected" => holder.udp_connected.push(addr),
            "pairs" => holder.pairs.push(addr),
            other => panic!("unexpected line {other}"),
        }
    }
    let args: Vec<_> = args.iter().map(|a| a.as_ref().to_owned()).collect();
    panic!("hold_sockets {args:?} exited before it was ready");
}

/// Whether some process's fd links cannot be read by this process, even as root (a sandbox or a
/// security module can refuse root): then owners can be hidden whatever the privileges.
pub fn some_process_refuses_its_fds() -> bool {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return true;
    };
    let denied = |e: &std::io::Error| e.kind() == std::io::ErrorKind::PermissionDenied;
    procs
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .any(|p| match std::fs::read_dir(p.path().join("fd")) {
            Err(e) => denied(&e),
            Ok(fds) => fds
                .filter_map(Result::ok)
                .any(|fd| std::fs::read_link(fd.path()).is_err_and(|e| denied(&e))),
        })
}

/// Whether the tests run as root (namespaces, cgroups and other users' processes need it; the
/// tests that need root say they are skipped otherwise).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
