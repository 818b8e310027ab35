//! A python listener on loopback (Debian's own /usr/bin/python3.11 where the tests judge its
//! package, or a copy of it where they judge one that is not packaged).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

pub const PYTHON: &str = "/usr/bin/python3.11";

pub const LISTEN: &str = "import socket, sys\n\
s = socket.socket()\n\
s.bind(('127.0.0.1', 0))\n\
s.listen()\n\
print(s.getsockname()[1], flush=True)\n\
sys.stdin.read()\n";

/// A python listener on loopback; exits when dropped.
pub struct Listener {
    child: Child,
    stdin: Option<ChildStdin>,
    pub port: u16,
}

impl Listener {
    pub fn start(python: &Path, script: &str) -> Listener {
        let mut child = loop {
            match Command::new(python)
                .args(["-c", script])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
            {
                // Another test thread's fork may hold a fresh copy open for writing a moment.
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                other => break other.expect("start python"),
            }
        };
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("python printed its port");
        Listener { child, stdin, port }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

pub fn debian_python() -> bool {
    let ok = Path::new(PYTHON).exists()
        && Path::new("/var/lib/dpkg/info/python3.11-minimal.list").exists();
    if !ok {
        eprintln!("skipped: Debian's {PYTHON} (python3.11-minimal) is not installed");
    }
    ok
}

/// This host's own network namespace as the collector sees it now (other namespaces left out,
/// so a test's listener is found without sweeping a busy host's containers).
pub fn host_snapshot() -> portscope::sockets::Snapshot {
    use portscope::sockets::{CollectOptions, Collector, SystemCollector};
    SystemCollector::new(CollectOptions {
        host_namespace_only: true,
        ..CollectOptions::default()
    })
    .collect()
    .expect("collect this host's sockets")
}
