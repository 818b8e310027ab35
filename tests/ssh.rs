//! Inspecting a machine over SSH, for real (needs root and openssh-server, which `.ci/run`
//! installs, and sudo for the --sudo case).
//!
//! - `ssh … portscope snapshot` and `ssh -t … portscope` against an sshd of the test's own on
//!   127.0.0.1 with throwaway keys.
//! - `portscope ssh` against an sshd in a network namespace of its own (tests/support/netns.rs):
//!   it shows that namespace's listeners and not ours; the binary it sends is gone after `q`,
//!   after SIGHUP and after the sshd dies (and `r` reconnects); `--sudo` without rights, noexec
//!   temporary directories, an unreachable host and a refused key each get one line saying what
//!   to do; the collector stream's bytes stay within budget for 1,000 listeners; and `a` asks the
//!   remote collector for every socket (connections too) and back.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod support;

use support::netns::{hold_in, NetnsSshd};

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

// ----- `portscope ssh`: an sshd in a network namespace of its own -----

/// The remote directory `portscope ssh` reported it sent the binary to.
fn uploaded_dir(stderr: &str) -> PathBuf {
    let line = stderr
        .lines()
        .find_map(|l| l.split("sent this binary to ").nth(1))
        .unwrap_or_else(|| panic!("no upload reported: {stderr}"));
    let place = line.split(" (").next().unwrap();
    let path = &place[place.find(":/").expect("HOST:/path") + 1..];
    PathBuf::from(path)
}

fn wait_gone(path: &Path, within: Duration) {
    let deadline = Instant::now() + within;
    while path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} is still there on the remote side",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn portscope_ssh_shows_the_remote_listeners_not_ours_and_leaves_nothing_behind() {
    let sshd = NetnsSshd::start("once");
    let (mut remote_holder, remote_port) = hold_in(&sshd.netns, "remote-srv");
    let local = TcpListener::bind("127.0.0.1:0").unwrap();
    let local_port = local.local_addr().unwrap().port();

    let out = Command::new(binary())
        .args(sshd.portscope_args("root", &["--once", "--json", "--upload"]))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "portscope ssh failed: {stderr}");
    let list: Value = serde_json::from_slice(&out.stdout).expect("--json prints the list as JSON");
    let sockets = list["sockets"].as_array().unwrap();
    let theirs = sockets
        .iter()
        .find(|s| s["local_port"] == remote_port)
        .unwrap_or_else(|| panic!("the remote listener on {remote_port} is missing: {list}"));
    assert_eq!(theirs["pids"], serde_json::json!([remote_holder.id()]));
    assert_eq!(theirs["process"], "remote-srv");
    assert!(
        sockets
            .iter()
            .any(|s| s["local_port"] == 22 && s["process"] == "sshd"),
        "the remote sshd on port 22 is missing: {list}"
    );
    assert!(
        !sockets.iter().any(|s| s["local_port"] == local_port),
        "a listener of this machine's own namespace showed up: {list}"
    );
    wait_gone(&uploaded_dir(&stderr), Duration::from_secs(5));
    drop(remote_holder.stdin.take());
    let _ = remote_holder.wait();
}

/// The explorer over `portscope ssh`, in a pty: the header names the host; `end` stops it.
fn explorer_until_listed(sshd: &NetnsSshd, port: u16) -> (support::pty::Session, PathBuf) {
    let args = sshd.portscope_args("root", &["--upload", "--interval", "0.5"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = support::pty::start(&args, &[], 120, 30);
    let patient = Duration::from_secs(20);
    s.wait_for("over ssh from root@127.0.0.1", patient);
    s.wait_for(&format!(":{port}"), patient);
    let raw = String::from_utf8_lossy(&s.raw_output()).into_owned();
    (s, uploaded_dir(&raw))
}

#[test]
fn the_uploaded_binary_is_gone_after_quit_hangup_and_a_dead_sshd_and_r_reconnects() {
    let mut sshd = NetnsSshd::start("life");
    let (mut holder, port) = hold_in(&sshd.netns, "remote-srv");
    let patient = Duration::from_secs(10);

    // q
    let (mut s, dir) = explorer_until_listed(&sshd, port);
    s.send("q");
    let status = s.wait_exit(patient).expect("q quits");
    assert!(status.success(), "{status:?}");
    s.assert_restored();
    wait_gone(&dir, patient);

    // SIGHUP to the local portscope
    let (mut s, dir) = explorer_until_listed(&sshd, port);
    // SAFETY: kill(2) on the child this test started.
    unsafe { libc::kill(s.pid(), libc::SIGHUP) };
    s.wait_exit(patient).expect("SIGHUP ends portscope");
    wait_gone(&dir, patient);

    // the sshd dies under a live session: the screen says so, and the remote side cleans up
    let (mut s, dir) = explorer_until_listed(&sshd, port);
    sshd.kill_all_sshd();
    s.wait_for("lost", Duration::from_secs(20));
    s.wait_for("r to retry", patient);
    wait_gone(&dir, Duration::from_secs(20));

    // r reconnects once the server is back
    sshd.restart();
    s.send("r");
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.screen().contains("lost") {
        assert!(
            Instant::now() < deadline,
            "r did not reconnect:\n{}",
            s.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    s.wait_for(&format!(":{port}"), patient);
    s.send("q");
    s.wait_exit(patient).expect("q quits after reconnecting");
    s.assert_restored();
    drop(holder.stdin.take());
    let _ = holder.wait();
}

#[test]
fn a_asks_the_remote_collector_for_every_socket_and_back() {
    let sshd = NetnsSshd::start("every");
    // One established connection (both ends) to a listener of its own, inside the "remote" host.
    let mut pairs = sshd
        .netns
        .exec(support::hold_sockets_path())
        .args(["--name", "pair-holder", "--pairs", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    for line in std::io::BufRead::lines(std::io::BufReader::new(pairs.stdout.take().unwrap())) {
        if line.unwrap() == "ready" {
            break;
        }
    }
    let args = sshd.portscope_args("root", &["--upload", "--interval", "0.5"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut s = support::pty::start(&args, &[], 120, 30);
    let patient = Duration::from_secs(20);
    s.wait_for("over ssh from root@127.0.0.1", patient);
    // The holder's sockets only (the ssh session's own come and go).
    s.send("/pair-holder\r");
    s.wait_for("Listeners (1)", patient);
    s.send("a");
    s.wait_for("Sockets (3)", patient);
    assert!(s.screen().contains("ESTAB"), "{}", s.screen());
    s.send("a");
    s.wait_for("Listeners (1)", patient);
    s.send("q");
    let status = s.wait_exit(patient).expect("q quits");
    assert!(status.success(), "{status:?}");
    s.assert_restored();
    drop(pairs.stdin.take());
    let _ = pairs.wait();
}

#[test]
fn sudo_without_rights_says_what_to_do() {
    let sshd = NetnsSshd::start("sudo");
    // A user of this test's own, allowed to log in with the test key and without sudo rights.
    let user = format!("pst{}", std::process::id());
    let home = sshd.dir.path().join("home");
    let status = Command::new("useradd")
        // "*": no password, yet not locked ("!"), so sshd lets the key in.
        .args(["-M", "-p", "*", "-s", "/bin/sh", "-d"])
        .arg(&home)
        .arg(&user)
        .status()
        .expect("useradd (passwd)");
    assert!(status.success());
    struct DelUser(String);
    impl Drop for DelUser {
        fn drop(&mut self) {
            // -f: a session of the test may still be ending.
            let _ = Command::new("userdel").arg("-f").arg(&self.0).status();
        }
    }
    let _deluser = DelUser(user.clone());
    assert!(
        Path::new("/usr/bin/sudo").exists(),
        "sudo is not installed: `apt-get install sudo` (.ci/run does this)"
    );
    let out = Command::new(binary())
        .args(sshd.portscope_args(&user, &["--once", "--sudo"]))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("sudo on")
            && stderr.contains("wants a password")
            && stderr.contains("NOPASSWD"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

/// Bytes read from ssh's standard output over `window`, after the first snapshot arrived.
fn stream_bytes(sshd: &NetnsSshd, window: Duration) -> usize {
    let mut ssh = Command::new("ssh");
    ssh.args(sshd.options())
        .args(["-T", "root@127.0.0.1"])
        .arg(format!("{} collector --interval 1", binary().display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = ssh.spawn().unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    // hello, then the full snapshot
    for _ in 0..2 {
        line.clear();
        std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    }
    assert!(line.starts_with("{\"full\""), "{line}");
    let counted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = std::sync::Arc::clone(&counted);
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok(n) = std::io::Read::read(&mut out, &mut buf) {
            if n == 0 {
                break;
            }
            c.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
        }
    });
    std::thread::sleep(window);
    let bytes = counted.load(std::sync::atomic::Ordering::SeqCst);
    drop(child.stdin.take());
    let _ = child.wait();
    bytes
}

#[test]
fn the_stream_stays_within_its_byte_budget() {
    let sshd = NetnsSshd::start("bytes");
    let window = Duration::from_secs(20);
    // 1,000 idle listeners: ≤ 2 KB/s.
    let mut idle = sshd
        .netns
        .exec(support::hold_sockets_path())
        .args(["--name", "idle-srv", "--tcp-count", "1000"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    for line in std::io::BufRead::lines(std::io::BufReader::new(idle.stdout.take().unwrap())) {
        if line.unwrap() == "ready" {
            break;
        }
    }
    let quiet = stream_bytes(&sshd, window);
    let quiet_rate = quiet as f64 / window.as_secs_f64();
    println!("1,000 idle listeners: {quiet} bytes in {window:?} = {quiet_rate:.0} B/s");
    assert!(
        quiet_rate <= 2048.0,
        "{quiet_rate:.0} B/s with nothing changing"
    );

    // Plus 10 listeners a second opening and closing: ≤ 20 KB/s.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let stop = std::sync::Arc::clone(&stop);
        let exec = format!("ip netns exec {} ", sshd.netns.name);
        let hold = support::hold_sockets_path();
        std::thread::spawn(move || {
            // One holder opens every 100 ms and the oldest beyond ten closes: ten listeners open
            // and ten close every second, each living about a second.
            let mut live: std::collections::VecDeque<Child> = std::collections::VecDeque::new();
            let started = Instant::now();
            let mut opened: u32 = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let mut words = exec.split_whitespace();
                let mut cmd = Command::new(words.next().unwrap());
                cmd.args(words)
                    .arg(&hold)
                    .args(["--name", "churn", "--tcp", "127.0.0.1:0"]);
                cmd.stdin(Stdio::piped()).stdout(Stdio::null());
                live.push_back(cmd.spawn().unwrap());
                opened += 1;
                while live.len() > 10 {
                    let mut old = live.pop_front().unwrap();
                    drop(old.stdin.take());
                    let _ = old.wait();
                }
                let next = started + Duration::from_millis(100) * opened;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
            for mut c in live {
                drop(c.stdin.take());
                let _ = c.wait();
            }
            f64::from(opened) / started.elapsed().as_secs_f64()
        })
    };
    let busy = stream_bytes(&sshd, window);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let churn_rate = churn.join().unwrap();
    let busy_rate = busy as f64 / window.as_secs_f64();
    println!(
        "1,000 idle + churning listeners ({churn_rate:.1} opened and closed a second): {busy} bytes in {window:?} = {busy_rate:.0} B/s"
    );
    assert!(
        busy > quiet,
        "churn must show in the stream ({busy} vs {quiet} bytes)"
    );
    assert!(
        busy_rate <= 20_480.0,
        "{busy_rate:.0} B/s while listeners churn"
    );
    drop(idle.stdin.take());
    let _ = idle.wait();
}

#[test]
fn noexec_temporary_directories_are_skipped_then_named() {
    let sshd = NetnsSshd::start_noexec("noexec");
    let out = Command::new(binary())
        .args(sshd.portscope_args("root", &["--once", "--upload"]))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("/tmp is mounted noexec")
            && stderr.contains("/var/tmp is mounted noexec")
            && stderr.contains("/root is mounted noexec")
            && stderr.contains("install portscope on its PATH"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

#[test]
fn an_unreachable_host_and_a_refused_key_say_what_to_do() {
    let run = |args: Vec<String>| {
        let out = Command::new(binary()).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        stderr
    };
    // Nothing listens anywhere in a fresh network namespace of our own (a port freed here could
    // be taken by another program on a busy machine before ssh tries it).
    let empty = support::netns::Netns::new("unreachable");
    let out = empty
        .exec(binary())
        .args([
            "ssh",
            "root@127.0.0.1",
            "--once",
            "--",
            "-p",
            "22",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ])
        .output()
        .unwrap();
    let unreachable = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{unreachable}");
    assert_eq!(unreachable.lines().count(), 1, "one line: {unreachable}");
    assert!(
        unreachable.contains("unreachable") && unreachable.contains("ssh -v"),
        "{unreachable}"
    );

    // The server is up, but our ssh offers no key it accepts.
    let sshd = NetnsSshd::start("auth");
    let mut options = sshd.options();
    options.drain(..2); // -i KEY
    let mut args = vec![
        "ssh".to_string(),
        "root@127.0.0.1".into(),
        "--once".into(),
        "--".into(),
    ];
    args.extend(options);
    args.extend(
        [
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "IdentityAgent=none",
            "-o",
            "IdentityFile=/nonexistent",
        ]
        .map(String::from),
    );
    let refused = run(args);
    assert!(
        refused.contains("authentication to root@127.0.0.1 failed"),
        "{refused}"
    );
}
