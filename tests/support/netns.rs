//! An sshd in a network namespace of its own, for `portscope ssh` and the Ansible tests: the
//! "remote host" has its own listeners, and is reached through a ProxyCommand that enters the
//! namespace, as a jump host would be.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A network namespace of the test's own (loopback up), deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = format!("portscope-test-{}-{tag}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        let ok = |args: &[&str]| {
            let status = Command::new("ip")
                .args(args)
                .status()
                .expect("ip (iproute2)");
            assert!(status.success(), "ip {args:?} failed");
        };
        ok(&["netns", "add", &name]);
        ok(&["-n", &name, "link", "set", "lo", "up"]);
        Netns { name }
    }

    /// `command` run inside the namespace.
    pub fn exec(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// An sshd listening on 127.0.0.1:22 inside its own namespace, reached from here through a
/// ProxyCommand that enters the namespace (as a jump host would be reached). Stopped on drop.
pub struct NetnsSshd {
    child: Child,
    /// The temporary directories a login could use are mounted noexec for this sshd.
    noexec: bool,
    pub dir: tempfile::TempDir,
    pub netns: Netns,
}

impl NetnsSshd {
    pub fn start(tag: &str) -> NetnsSshd {
        NetnsSshd::start_with(tag, false)
    }

    /// An sshd whose sessions see /tmp, /var/tmp and /root (root's home) mounted noexec, in a
    /// mount namespace of its own: nowhere to run an uploaded binary.
    pub fn start_noexec(tag: &str) -> NetnsSshd {
        NetnsSshd::start_with(tag, true)
    }

    fn start_with(tag: &str, noexec: bool) -> NetnsSshd {
        assert!(
            ["/usr/sbin/sshd", "/usr/bin/sshd"].iter().any(|p| Path::new(p).exists()),
            "sshd is not installed: `apt-get install openssh-server` (.ci/run does this) to run the SSH tests"
        );
        // SAFETY: geteuid has no preconditions.
        assert_eq!(
            unsafe { libc::geteuid() },
            0,
            "the SSH tests must run as root (CI does)"
        );
        std::fs::create_dir_all("/run/sshd").unwrap();
        let netns = Netns::new(tag);
        let dir = tempfile::tempdir().unwrap();
        for name in ["host_key", "id"] {
            let status = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.path().join(name))
                .status()
                .expect("ssh-keygen (openssh-client) must be installed");
            assert!(status.success());
        }
        std::fs::copy(
            dir.path().join("id.pub"),
            dir.path().join("authorized_keys"),
        )
        .unwrap();
        // sshd reads authorized_keys as the user logging in (the sudo test's user is not root).
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(
            dir.path().join("authorized_keys"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let d = dir.path().display();
        let config = format!(
            "Port 22\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
             PidFile {d}/sshd.pid\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nLogLevel ERROR\n"
        );
        std::fs::write(dir.path().join("sshd_config"), config).unwrap();
        let child = spawn_sshd(&netns, dir.path(), noexec);
        NetnsSshd {
            child,
            noexec,
            dir,
            netns,
        }
    }

    /// Start the sshd again (after [`NetnsSshd::kill_all_sshd`]), same keys, same namespace.
    pub fn restart(&mut self) {
        self.kill_all_sshd();
        self.child = spawn_sshd(&self.netns, self.dir.path(), self.noexec);
    }

    /// ssh's options for this server, as `portscope ssh HOST -- OPTIONS` passes them.
    pub fn options(&self) -> Vec<String> {
        let proxy = format!(
            "ProxyCommand=ip netns exec {} bash -c 'exec 3<>/dev/tcp/127.0.0.1/22; cat <&3 & exec cat >&3'",
            self.netns.name
        );
        let key = self.dir.path().join("id").display().to_string();
        [
            "-i",
            &key,
            "-o",
            &proxy,
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "LogLevel=ERROR",
        ]
        .map(String::from)
        .to_vec()
    }

    /// `portscope ssh USER@server ARGS -- OPTIONS`, as arguments.
    pub fn portscope_args(&self, user: &str, args: &[&str]) -> Vec<String> {
        let mut all = vec!["ssh".to_string(), format!("{user}@127.0.0.1")];
        all.extend(args.iter().map(|a| a.to_string()));
        all.push("--".into());
        all.extend(self.options());
        all
    }

    /// Kill the sshd and every sshd process it started (the sessions): the connection drops
    /// without a goodbye, as when a server goes away.
    pub fn kill_all_sshd(&mut self) {
        let root = self.child.id();
        let mut family = vec![root];
        loop {
            let before = family.len();
            for (pid, ppid, comm) in processes() {
                if family.contains(&ppid) && !family.contains(&pid) && comm == "sshd" {
                    family.push(pid);
                }
            }
            if family.len() == before {
                break;
            }
        }
        for pid in family {
            // SAFETY: kill(2) on pids this test started (its sshd and that sshd's children).
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        let _ = self.child.wait();
    }
}

impl Drop for NetnsSshd {
    fn drop(&mut self) {
        self.kill_all_sshd();
    }
}

/// sshd in `netns` with the config in `dir`, once it accepts connections.
fn spawn_sshd(netns: &Netns, dir: &Path, noexec: bool) -> Child {
    let sshd = ["/usr/sbin/sshd", "/usr/bin/sshd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("sshd is installed");
    // A bind mount of each directory onto itself, remounted noexec: same files, no exec.
    let noexec_mounts = if noexec {
        "for d in /tmp /var/tmp /root; do mount --bind $d $d && mount -o remount,bind,noexec $d || exit 1; done; "
    } else {
        ""
    };
    let child = netns
        .exec("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(format!("{noexec_mounts}exec \"$0\" -D -e -f \"$1\""))
        .arg(sshd)
        .arg(dir.join("sshd_config"))
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !netns
        .exec("bash")
        .args(["-c", ": </dev/tcp/127.0.0.1/22"])
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
    {
        assert!(
            Instant::now() < deadline,
            "sshd did not start in {}",
            netns.name
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// Every process: (pid, parent pid, comm).
pub fn processes() -> Vec<(u32, u32, String)> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_string();
        let ppid = stat[close + 2..]
            .split(' ')
            .nth(1)
            .and_then(|p| p.parse().ok());
        if let Some(ppid) = ppid {
            all.push((pid, ppid, comm));
        }
    }
    all
}

/// A listener held inside `netns`.
pub fn hold_in(netns: &Netns, name: &str) -> (Child, u16) {
    let mut child = netns
        .exec(super::hold_sockets_path())
        .args(["--name", name, "--tcp", "127.0.0.1:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = None;
    let out = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    for line in out {
        let line = line.unwrap();
        if line == "ready" {
            break;
        }
        port = line.rsplit(':').next().and_then(|p| p.parse().ok());
    }
    (child, port.expect("hold_sockets bound a port"))
}
