//! Inspecting a machine over SSH, for real: the test starts its own sshd on 127.0.0.1 with
//! throwaway keys (needs root and openssh-server, which `.ci/run` installs), opens a listener, and
//! checks that `ssh … portscope snapshot` sees it with the right pid and that `portscope view -`
//! reads what came back.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod support;

/// An sshd of the test's own, stopped on drop.
struct Sshd {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Sshd {
    fn start() -> Sshd {
        let sshd = ["/usr/sbin/sshd", "/usr/bin/sshd"].into_iter().find(|p| Path::new(p).exists()).expect(
            "sshd is not installed: `apt-get install openssh-server` (.ci/run does this) to run the SSH tests",
        );
        // SAFETY: geteuid has no preconditions.
        assert_eq!(
            unsafe { libc::geteuid() },
            0,
            "the SSH tests start an sshd and must run as root (CI does)"
        );
        std::fs::create_dir_all("/run/sshd").unwrap(); // sshd's privilege-separation directory

        let dir = tempfile::tempdir().unwrap();
        let keygen = |name: &str| {
            let status = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.path().join(name))
                .status()
                .expect("ssh-keygen (openssh-client) must be installed");
            assert!(status.success());
        };
        keygen("host_key");
        keygen("id");
        std::fs::copy(
            dir.path().join("id.pub"),
            dir.path().join("authorized_keys"),
        )
        .unwrap();

        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.path().display();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
             PidFile {d}/sshd.pid\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nLogLevel ERROR\n"
        );
        std::fs::write(dir.path().join("sshd_config"), config).unwrap();
        let child = Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(dir.path().join("sshd_config"))
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not start listening on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Sshd { child, port, dir }
    }

    /// The ssh command line up to the host, for a pty wrapper: `ssh … -t root@127.0.0.1`.
    fn ssh_tty_prefix(&self) -> Vec<String> {
        let key = self.dir.path().join("id").display().to_string();
        [
            "ssh",
            "-t",
            "-i",
            &key,
            "-p",
            &self.port.to_string(),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "LogLevel=ERROR",
            "root@127.0.0.1",
        ]
        .map(String::from)
        .to_vec()
    }

    /// `ssh` to this server as root, running `remote`.
    fn ssh(&self, extra: &[&str], remote: &str) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.arg("-i")
            .arg(self.dir.path().join("id"))
            .args(["-p", &self.port.to_string()])
            .args([
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
            ])
            .args(["-o", "BatchMode=yes", "-o", "LogLevel=ERROR"])
            .args(extra)
            .arg("root@127.0.0.1")
            .arg(remote);
        cmd
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("portscope")
}

#[test]
fn a_snapshot_over_ssh_sees_the_remote_listener_and_views_locally() {
    let sshd = Sshd::start();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();

    let out = sshd
        .ssh(&[], &format!("{} snapshot", binary().display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ssh … portscope snapshot failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snapshot: Value = serde_json::from_slice(&out.stdout).expect("the snapshot is JSON");
    assert!(snapshot["schema_version"].as_u64().is_some());
    let ours = snapshot["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["local_port"] == port && s["protocol"] == "tcp")
        .unwrap_or_else(|| panic!("listener on port {port} missing from the remote snapshot"));
    let pids: Vec<u64> = ours["owners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids, [u64::from(std::process::id())]);

    // What came back over ssh opens locally (`ssh host portscope snapshot | portscope view -`);
    // with stdout piped, `view` prints the snapshot's rows as the `list` table.
    let mut view = Command::new(binary())
        .args(["view", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    view.stdin.take().unwrap().write_all(&out.stdout).unwrap();
    let shown = view.wait_with_output().unwrap();
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let table = String::from_utf8(shown.stdout).unwrap();
    assert!(
        table.lines().any(
            |l| l.contains(&format!(" {port} ")) && l.contains(&std::process::id().to_string())
        ),
        "{table}"
    );
    drop(listener);
}

#[test]
fn the_explorer_over_ssh_t_shows_the_remote_listener_and_quits_cleanly() {
    let sshd = Sshd::start();
    let holder = support::hold(&["--name", "ps-over-ssh", "--tcp", "127.0.0.1:0"]);
    let port = holder.tcp[0].port();

    let prefix = sshd.ssh_tty_prefix();
    let wrapper: Vec<&str> = prefix.iter().map(String::as_str).collect();
    let mut s = support::pty::start_wrapped(&wrapper, &["--interval", "0.5"], &[], 80, 24);
    let patient = Duration::from_secs(20);
    s.wait_for("portscope  host ", patient); // the first snapshot arrived on the remote side
    s.send(&format!("/:{port}\r")); // filter the listener pane to that port
    s.wait_for("ps-over-ssh", patient);
    s.wait_for(&holder.pid().to_string(), patient);
    s.send("q");
    let status = s
        .wait_exit(Duration::from_secs(5))
        .expect("q ends the remote explorer and ssh");
    assert!(status.success(), "{status:?}");
    s.assert_restored();
}
