//! Hints on real sockets: a child process holds listeners under a chosen name (or from a chosen
//! executable), and `portscope --json explain pid:PID` must flag what is unusual about them, and
//! only that.

mod support;

use support::is_root;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use assert_cmd::prelude::*;
use portscope::registry::Registry;
use serde_json::Value;

/// `portscope --json explain pid:PID`, parsed; panics with stderr when it fails.
fn explain_pid(pid: u32) -> Value {
    let out = Command::cargo_bin("portscope")
        .unwrap()
        .args(["--json", "explain", &format!("pid:{pid}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "explain pid:{pid} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("explain --json prints JSON")
}

/// The hint ids of the first explained socket on `port`, with their severities.
fn hints_on(report: &Value, port: u16) -> Vec<(String, String)> {
    let socket = report["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["socket"]["local_port"] == port)
        .unwrap_or_else(|| panic!("no socket on port {port} in {report:#}"));
    socket["hints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["id"].as_str().unwrap().to_string(),
                h["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn has(hints: &[(String, String)], id: &str) -> bool {
    hints.iter().any(|(i, _)| i == id)
}

fn severity_of<'a>(hints: &'a [(String, String)], id: &str) -> &'a str {
    &hints
        .iter()
        .find(|(i, _)| i == id)
        .unwrap_or_else(|| panic!("{id} did not fire: {hints:?}"))
        .1
}

/// A port IANA left unassigned in `range` that no known use covers and nothing here holds.
/// Tests run in parallel: each passes its own range, so two never race for one port.
fn free_unassigned_port(range: std::ops::Range<u16>) -> u16 {
    let reg = Registry::embedded();
    range
        .filter(|&p| {
            reg.unassigned_run(p).is_some() && portscope::known::uses_of(p, None).is_empty()
        })
        .find(|&p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
        .expect("a free unassigned port")
}

#[test]
fn interpreter_on_an_unassigned_port_is_flagged_and_loopback_is_not_exposed() {
    // As root the test takes an unassigned system port (the port-289 case); unprivileged, an
    // unassigned registered port.
    let (port, port_rule, port_severity) = if is_root() {
        (
            free_unassigned_port(1..500),
            "unassigned-system-port",
            "warning",
        )
    } else {
        (
            free_unassigned_port(20000..24000),
            "unassigned-registered-port",
            "info",
        )
    };
    let holder = support::hold(&["--name", "python3", "--tcp", &format!("127.0.0.1:{port}")]);
    let report = explain_pid(holder.pid());
    let hints = hints_on(&report, port);
    assert_eq!(severity_of(&hints, "interpreter-listener"), "notice");
    assert_eq!(severity_of(&hints, port_rule), port_severity);
    // Fresh from the test, so it started recently, judged against the snapshot's own time.
    assert!(has(&hints, "started-recently"), "{hints:?}");
    assert!(!has(&hints, "exposed-all-interfaces"), "{hints:?}");
    // Named python3, but its executable is hold_sockets.
    assert_eq!(severity_of(&hints, "name-differs-from-exe"), "notice");
    let owner = &report["sockets"][0]["socket"]["owners"][0];
    assert_eq!(owner["pid"], holder.pid());
    assert_eq!(owner["name"], "python3");
}

#[test]
fn a_shell_named_listener_is_a_warning_and_a_wildcard_one_is_exposed() {
    let holder = support::hold(&[
        "--name",
        "bash",
        "--tcp",
        "0.0.0.0:0",
        "--tcp",
        "127.0.0.1:0",
    ]);
    let report = explain_pid(holder.pid());
    let wildcard = hints_on(&report, holder.tcp[0].port());
    assert_eq!(severity_of(&wildcard, "interpreter-listener"), "warning");
    assert!(has(&wildcard, "exposed-all-interfaces"), "{wildcard:?}");
    let loopback = hints_on(&report, holder.tcp[1].port());
    assert!(!has(&loopback, "exposed-all-interfaces"), "{loopback:?}");
    assert!(has(&loopback, "interpreter-listener"));
}

#[test]
fn an_ordinary_name_on_loopback_raises_no_process_hint() {
    let holder = support::hold(&["--name", "quietd", "--tcp", "127.0.0.1:0"]);
    let hints = hints_on(&explain_pid(holder.pid()), holder.tcp[0].port());
    for id in [
        "interpreter-listener",
        "exposed-all-interfaces",
        "name-needed-escaping",
        "exe-deleted",
        "service-mismatch",
    ] {
        assert!(!has(&hints, id), "{id} fired: {hints:?}");
    }
    // Where the test program itself lives decides this one: a checkout under /tmp is flagged.
    let exe = support::hold_sockets_path().canonicalize().unwrap();
    let in_temp = ["/tmp/", "/var/tmp/", "/dev/shm/"]
        .iter()
        .any(|d| exe.starts_with(d));
    assert_eq!(
        has(&hints, "exe-in-temp-dir"),
        in_temp,
        "{} {hints:?}",
        exe.display()
    );
}

#[test]
fn a_name_with_an_invisible_character_is_flagged_and_stays_escaped() {
    let holder = support::hold(&["--name", "ssh\u{200b}d", "--tcp", "127.0.0.1:0"]);
    let out = Command::cargo_bin("portscope")
        .unwrap()
        .args(["--json", "explain", &format!("pid:{}", holder.pid())])
        .output()
        .unwrap();
    assert!(out.status.success());
    let raw = String::from_utf8(out.stdout).unwrap();
    assert!(
        !raw.contains('\u{200b}'),
        "raw zero-width space in JSON output"
    );
    let report: Value = serde_json::from_str(&raw).unwrap();
    let hints = hints_on(&report, holder.tcp[0].port());
    assert_eq!(severity_of(&hints, "name-needed-escaping"), "warning");
    // JSON decodes to the real name.
    assert_eq!(
        report["sockets"][0]["socket"]["owners"][0]["name"],
        "ssh\u{200b}d"
    );
    // The human form shows the escape, never the character.
    let text = Command::cargo_bin("portscope")
        .unwrap()
        .args(["explain", &format!("pid:{}", holder.pid())])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("ssh\\u{200b}d"), "{text}");
    assert!(!text.contains('\u{200b}'));
}

/// A hold_sockets started by `command` (which may wrap it, e.g. in setpriv): the child and the
/// ports it bound, once it is ready. It exits when its stdin closes.
fn start(mut command: Command) -> (Child, Vec<u16>) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start hold_sockets");
    let mut ports = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line == "ready" {
            return (child, ports);
        }
        ports.push(line.rsplit(':').next().unwrap().parse().unwrap());
    }
    let status = child.wait();
    panic!("hold_sockets exited before it was ready: {status:?}");
}

fn stop(mut child: Child) {
    drop(child.stdin.take());
    child.wait().unwrap();
}

/// A copy of hold_sockets started from `dir`, bound to a loopback port.
fn start_copy(dir: &Path) -> (Child, u16) {
    let exe = dir.join("holdd");
    std::fs::copy(support::hold_sockets_path(), &exe).unwrap();
    let mut command = Command::new(&exe);
    command.args(["--tcp", "127.0.0.1:0"]);
    let (child, ports) = start(command);
    (child, ports[0])
}

#[test]
fn an_executable_under_tmp_is_an_alert_and_a_deleted_one_a_warning() {
    let dir = tempfile::Builder::new()
        .prefix("portscope-hints")
        .tempdir_in("/tmp")
        .unwrap();
    let (child, port) = start_copy(dir.path());
    let hints = hints_on(&explain_pid(child.id()), port);
    assert_eq!(severity_of(&hints, "exe-in-temp-dir"), "alert");
    assert!(!has(&hints, "exe-deleted"));

    std::fs::remove_file(dir.path().join("holdd")).unwrap();
    let hints = hints_on(&explain_pid(child.id()), port);
    assert_eq!(severity_of(&hints, "exe-deleted"), "warning");
    // The badge `list` shows is the most severe hint: the alert.
    assert_eq!(hints[0].1, "alert");
    stop(child);
}

#[test]
fn a_service_port_held_by_the_wrong_program_is_a_mismatch() {
    // The first of these well-known ports that is free here (system ports need root).
    let candidates: &[u16] = if is_root() {
        &[22, 25, 80, 443, 3306, 5432, 6379, 27017]
    } else {
        &[3306, 5432, 6379, 27017]
    };
    let port = *candidates
        .iter()
        .find(|&&p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
        .expect("a free well-known service port");
    let holder = support::hold(&["--name", "python3", "--tcp", &format!("127.0.0.1:{port}")]);
    let hints = hints_on(&explain_pid(holder.pid()), port);
    assert_eq!(severity_of(&hints, "service-mismatch"), "warning");
    drop(holder);

    // Taking the usual daemon's name changes nothing: the executable is still not the daemon,
    // and the borrowed name is itself a finding.
    let usual = match port {
        22 => "sshd",
        25 => "exim4",
        80 | 443 => "nginx",
        3306 => "mysqld",
        5432 => "postgres",
        6379 => "redis-server",
        _ => "mongod",
    };
    let holder = support::hold(&["--name", usual, "--tcp", &format!("127.0.0.1:{port}")]);
    let hints = hints_on(&explain_pid(holder.pid()), port);
    assert_eq!(severity_of(&hints, "service-mismatch"), "warning");
    assert_eq!(severity_of(&hints, "name-claims-daemon"), "warning");
}

#[test]
fn one_port_held_by_two_unrelated_programs_is_shared() {
    let first = support::hold(&["--name", "alpha", "--tcp", "127.0.0.1:0"]);
    let port = first.tcp[0].port();
    let second = support::hold(&["--name", "beta", "--tcp", &format!("127.0.0.2:{port}")]);
    let report = explain_pid(second.pid());
    let hints = hints_on(&report, port);
    assert_eq!(severity_of(&hints, "shared-port"), "notice");
    let shared = report["sockets"][0]["hints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == "shared-port")
        .unwrap();
    let why = shared["why"].as_str().unwrap();
    assert!(
        why.contains(&format!("\"alpha\" (pid {})", first.pid())),
        "{why}"
    );
    drop(second);
    // Alone again: nothing shared.
    let hints = hints_on(&explain_pid(first.pid()), port);
    assert!(!has(&hints, "shared-port"), "{hints:?}");
}

#[test]
fn a_system_port_held_without_root_is_noted() {
    let port = free_unassigned_port(500..1024);
    if is_root() {
        // Drop to nobody, keeping only the capability to bind low ports.
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args([
                "--inh-caps=+net_bind_service",
                "--ambient-caps=+net_bind_service",
            ])
            .arg(support::hold_sockets_path())
            .args(["--name", "webd", "--tcp", &format!("127.0.0.1:{port}")]);
        let (child, ports) = start(command);
        let report = explain_pid(child.id());
        let hints = hints_on(&report, ports[0]);
        assert_eq!(severity_of(&hints, "system-port-non-root"), "info");
        assert_eq!(report["sockets"][0]["socket"]["owners"][0]["uid"], 65534);
        stop(child);
    }
    // Held by root (or, unprivileged, on a registered port): nothing to note.
    let (bind_port, expect_root) = if is_root() {
        (port, true)
    } else {
        (free_unassigned_port(24000..28000), false)
    };
    let holder = support::hold(&["--name", "webd", "--tcp", &format!("127.0.0.1:{bind_port}")]);
    let report = explain_pid(holder.pid());
    assert_eq!(
        report["sockets"][0]["socket"]["owners"][0]["uid"] == 0,
        expect_root
    );
    assert!(!has(&hints_on(&report, bind_port), "system-port-non-root"));
}

#[test]
fn explain_by_port_finds_the_live_listener() {
    let holder = support::hold(&["--name", "portholder", "--tcp", "127.0.0.1:0"]);
    let port = holder.tcp[0].port();
    let out = Command::cargo_bin("portscope")
        .unwrap()
        .args(["explain", &format!("{port}/tcp")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!("{port}/tcp\nVerdict\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("socket            tcp 127.0.0.1:{port}")),
        "{text}"
    );
    assert!(text.contains("name              portholder"), "{text}");
    assert!(
        text.contains(&format!("pid               {}", holder.pid())),
        "{text}"
    );
    assert!(text.contains("\nIANA\n"), "{text}");
}

#[test]
fn explain_of_a_silent_port_fails_with_one_line() {
    let port = free_unassigned_port(28000..32000);
    let out = Command::cargo_bin("portscope")
        .unwrap()
        .args(["explain", &format!("port:{port}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("nothing listens on port {port}")),
        "{err}"
    );

    let bad = Command::cargo_bin("portscope")
        .unwrap()
        .args(["explain", "ssh"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

// ---- Names are claims; the executable is evidence ----------------------------------------

/// The hints of `pid`'s socket on `port`, after the child is up.
fn hints_of_child(pid: u32, port: u16) -> Vec<(String, String)> {
    hints_on(&explain_pid(pid), port)
}

#[test]
fn a_process_renamed_sshd_with_prctl_is_flagged_by_its_executable() {
    // Any loopback port: the claim is judged wherever it listens. (Port 22 itself, where
    // service-mismatch fires too, is a_service_port_held_by_the_wrong_program_is_a_mismatch's:
    // two tests racing for one port would fail each other.)
    let holder = support::hold(&["--name", "sshd", "--tcp", "127.0.0.1:0"]);
    let port = holder.tcp[0].port();
    let report = explain_pid(holder.pid());
    let hints = hints_on(&report, port);
    assert_eq!(severity_of(&hints, "name-claims-daemon"), "warning");
    // One finding, not two: the generic renamed-process notice leaves this one to the rule above.
    assert!(!has(&hints, "name-differs-from-exe"), "{hints:?}");
    let hint = report["sockets"][0]["hints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == "name-claims-daemon")
        .unwrap();
    let title = hint["title"].as_str().unwrap();
    assert!(
        title.contains(&format!("pid {} calls itself \"sshd\"", holder.pid())),
        "{title}"
    );
}

#[test]
fn a_process_started_with_exec_a_sshd_is_flagged_by_its_argv0() {
    // `exec -a` sets argv[0] only: comm stays the executable's name, ps shows "sshd -D".
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(r#"exec -a sshd "$0" --tcp 127.0.0.1:0"#)
        .arg(support::hold_sockets_path());
    let (child, ports) = start(command);
    let report = explain_pid(child.id());
    let owner = &report["sockets"][0]["socket"]["owners"][0];
    assert_eq!(owner["cmdline"][0], "sshd");
    assert_ne!(owner["name"], "sshd");
    let hints = hints_on(&report, ports[0]);
    assert_eq!(severity_of(&hints, "name-claims-daemon"), "warning");
    stop(child);
}

#[test]
fn a_listener_named_like_a_kernel_thread_is_an_alert() {
    let holder = support::hold(&["--name", "kworker/0:1", "--tcp", "127.0.0.1:0"]);
    let hints = hints_of_child(holder.pid(), holder.tcp[0].port());
    assert_eq!(severity_of(&hints, "name-claims-kernel-thread"), "alert");
    assert!(!has(&hints, "name-differs-from-exe"), "{hints:?}");
    // exec -a "[kworker/u8:0]": how ps would show a kernel thread.
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(r#"exec -a '[kworker/u8:0]' "$0" --tcp 127.0.0.1:0"#)
        .arg(support::hold_sockets_path());
    let (child, ports) = start(command);
    let hints = hints_of_child(child.id(), ports[0]);
    assert_eq!(severity_of(&hints, "name-claims-kernel-thread"), "alert");
    stop(child);
}

// ---- The ephemeral range ----------------------------------------------------------------

#[test]
fn the_ephemeral_range_is_read_from_proc_or_left_unknown() {
    use portscope::sockets::EphemeralPorts;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("sys/net/ipv4");
    // Missing files: unknown, not the default.
    assert_eq!(EphemeralPorts::read(root.path()), None);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ip_local_port_range"), "40000\t45000\n").unwrap();
    assert_eq!(
        EphemeralPorts::read(root.path()),
        None,
        "reserved ports missing"
    );
    std::fs::write(dir.join("ip_local_reserved_ports"), "41000-41010,44444\n").unwrap();
    let eph = EphemeralPorts::read(root.path()).unwrap();
    assert_eq!((eph.range.start, eph.range.end), (40000, 45000));
    assert!(eph.hands_out(40000) && eph.hands_out(45000) && !eph.hands_out(39999));
    assert!(!eph.hands_out(41005) && !eph.hands_out(44444) && eph.hands_out(44445));
    // Garbage is unknown too, and a huge file is not read to the end.
    std::fs::write(dir.join("ip_local_port_range"), "lots of\nnonsense").unwrap();
    assert_eq!(EphemeralPorts::read(root.path()), None);
    std::fs::write(dir.join("ip_local_port_range"), vec![b'1'; 1 << 20]).unwrap();
    assert_eq!(EphemeralPorts::read(root.path()), None);
    // This machine's, as the collector records it.
    let live = EphemeralPorts::read(Path::new("/proc")).expect("this host's range");
    assert!(live.range.start <= live.range.end);
}

#[test]
fn a_listener_inside_this_hosts_ephemeral_range_is_a_notice() {
    let eph = portscope::sockets::EphemeralPorts::read(Path::new("/proc")).unwrap();
    // A free port the kernel may hand out, chosen from this test's own slice of the range.
    let port = (eph.range.start..=eph.range.end)
        .rev()
        .step_by(7)
        .filter(|&p| eph.hands_out(p))
        .find(|&p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
        .expect("a free port in the ephemeral range");
    let holder = support::hold(&["--name", "fixedd", "--tcp", &format!("127.0.0.1:{port}")]);
    let report = explain_pid(holder.pid());
    assert_eq!(
        report["host"]["ephemeral_ports"]["range"]["start"],
        eph.range.start
    );
    let hints = hints_on(&report, port);
    assert_eq!(severity_of(&hints, "ephemeral-range-listener"), "notice");
    drop(holder);
    // Below the range: nothing of the kind.
    if eph.range.start > 1024 {
        let below = (1024..eph.range.start)
            .rev()
            .step_by(13)
            .find(|&p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
            .unwrap();
        let holder = support::hold(&["--name", "fixedd", "--tcp", &format!("127.0.0.1:{below}")]);
        let hints = hints_of_child(holder.pid(), below);
        assert!(!has(&hints, "ephemeral-range-listener"), "{hints:?}");
    }
}

// ---- Pasting a next step runs exactly that command --------------------------------------

/// A sandbox to paste commands into: stub programs that record their argv, on a PATH that
/// still finds the real `touch` (what an injected command would run).
struct PasteBox {
    root: tempfile::TempDir,
}

impl PasteBox {
    fn new(programs: &[String]) -> PasteBox {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        for dir in ["stubs", "calls", "cwd"] {
            std::fs::create_dir(root.path().join(dir)).unwrap();
        }
        for program in programs {
            assert!(
                !program.contains('/') && program != "touch",
                "unexpected program {program}"
            );
            let stub = root.path().join("stubs").join(program);
            std::fs::write(
                &stub,
                "#!/bin/bash\nf=$(mktemp \"$STUB_CALLS/call.XXXXXX\")\nprintf '%s\\0' \"${0##*/}\" \"$@\" > \"$f\"\n",
            )
            .unwrap();
            std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        PasteBox { root }
    }

    /// Run `line` as a user pasting it would (bash -c) and return each stub call's argv.
    fn paste(&self, line: &str) -> Vec<Vec<Vec<u8>>> {
        let calls = self.root.path().join("calls");
        for old in std::fs::read_dir(&calls).unwrap() {
            std::fs::remove_file(old.unwrap().path()).unwrap();
        }
        let out = Command::new("/bin/bash")
            .arg("-c")
            .arg(line)
            .current_dir(self.root.path().join("cwd"))
            .env_clear()
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", self.root.path().join("stubs").display()),
            )
            .env("STUB_CALLS", &calls)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pasting {line:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !self.root.path().join("cwd/PWNED").exists(),
            "pasting {line:?} ran the attacker's command"
        );
        let mut argvs: Vec<Vec<Vec<u8>>> = std::fs::read_dir(&calls)
            .unwrap()
            .map(|e| {
                let bytes = std::fs::read(e.unwrap().path()).unwrap();
                let mut words: Vec<Vec<u8>> =
                    bytes.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
                words.pop(); // after the last NUL
                words
            })
            .collect();
        argvs.sort();
        argvs
    }
}

/// The directory names an attacker might give the place their program runs from.
fn hostile_dir_names() -> Vec<Vec<u8>> {
    vec![
        b"a';touch PWNED;'".to_vec(),
        b"$(touch PWNED)".to_vec(),
        b"`touch PWNED`".to_vec(),
        b"x\ntouch PWNED\n".to_vec(),
        b"\x1b]0;pwned\x07\x1b[2J".to_vec(),
        "evil\u{202e}gpj.exe".as_bytes().to_vec(),
        b"\xff';touch PWNED;'\\x41".to_vec(),
    ]
}

/// Every next step of every hint in an `explain --json` report, as (rendered line, argvs).
fn steps_of(report: &Value) -> Vec<(String, Vec<Vec<Vec<u8>>>)> {
    let mut steps = Vec::new();
    for socket in report["sockets"].as_array().unwrap() {
        for hint in socket["hints"].as_array().unwrap() {
            for step in hint["next_steps"].as_array().unwrap() {
                let line = step["command"].as_str().unwrap().to_string();
                let mut argvs: Vec<Vec<Vec<u8>>> = step["pipeline"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|argv| {
                        argv.as_array()
                            .unwrap()
                            .iter()
                            .map(|w| portscope::text::to_os_bytes(w.as_str().unwrap()).into_owned())
                            .collect()
                    })
                    .collect();
                argvs.sort();
                steps.push((line, argvs));
            }
        }
    }
    steps
}

#[test]
fn pasting_any_next_step_runs_exactly_its_words_for_hostile_paths() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let root = tempfile::Builder::new()
        .prefix("portscope-paste")
        .tempdir_in("/tmp")
        .unwrap();
    for name in hostile_dir_names() {
        let dir = root.path().join(OsStr::from_bytes(&name));
        std::fs::create_dir(&dir).unwrap();
        let (child, port) = start_copy(&dir);
        let exe = dir.join("holdd");
        let report = explain_pid(child.id());
        let steps = steps_of(&report);
        let mut programs: Vec<String> = steps
            .iter()
            .flat_map(|(_, argvs)| {
                argvs
                    .iter()
                    .map(|a| String::from_utf8(a[0].clone()).unwrap())
            })
            .collect();
        programs.sort();
        programs.dedup();
        let sandbox = PasteBox::new(&programs);

        // The package lookup receives the path byte for byte.
        let dpkg = steps
            .iter()
            .find(|(line, _)| line.starts_with("dpkg -S "))
            .unwrap_or_else(|| panic!("no dpkg step for {name:?}: {steps:?}"));
        let calls = sandbox.paste(&dpkg.0);
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(calls[0][2], exe.as_os_str().as_bytes(), "line {:?}", dpkg.0);

        // Every step runs exactly its words, and the line is printable.
        for (line, argvs) in &steps {
            assert!(
                !line
                    .chars()
                    .any(|c| c.is_control() || portscope::text::is_hidden(c)),
                "{line:?}"
            );
            assert_eq!(&sandbox.paste(line), argvs, "line {line:?}");
        }

        // `explain` prints those very lines, unescaped.
        let text = Command::cargo_bin("portscope")
            .unwrap()
            .args(["explain", &format!("pid:{}", child.id())])
            .output()
            .unwrap();
        let text = String::from_utf8(text.stdout).unwrap();
        let printed: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("$ "))
            .collect();
        assert!(printed.iter().any(|l| l.starts_with("dpkg -S ")), "{text}");
        for line in printed {
            assert!(
                steps.iter().any(|(l, _)| l == line),
                "explain printed {line:?}, which is no step's rendering"
            );
        }

        // So does the explorer's detail pane.
        for line in explorer_steps(child.id(), port) {
            let step = steps
                .iter()
                .find(|(l, _)| *l == line)
                .unwrap_or_else(|| panic!("the explorer shows {line:?}, which is no step"));
            assert_eq!(sandbox.paste(&line), step.1);
        }
        stop(child);
    }
}

/// The explorer's screen, as lines of text, with `pid`'s socket on `port` selected.
fn explorer_screen(pid: u32, port: u16) -> Vec<String> {
    use portscope::sockets::{CollectOptions, Collector, SystemCollector};
    use portscope::tui::{draw, Action, App, Refresh, Scroll, Theme};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    let registry: &'static Registry = Box::leak(Box::new(Registry::embedded()));
    let mut snapshot = SystemCollector::new(CollectOptions::default())
        .collect()
        .unwrap();
    // Only this test's process: what else listens here is none of its business.
    snapshot
        .sockets
        .retain(|s| s.local_port == port && s.owners.iter().any(|o| o.pid == pid));
    assert_eq!(snapshot.sockets.len(), 1);
    let mut app = App::new(registry, "live", true, 0.0);
    app.update(Action::Refreshed(Box::new(Refresh::assess(
        registry, snapshot,
    ))));
    // Wide and tall enough that no step wraps and every hint is on screen.
    let mut term = Terminal::new(TestBackend::new(400, 300)).unwrap();
    let mut scroll = Scroll::default();
    term.draw(|f| {
        draw(f, &app, Theme { color: false }, &mut scroll);
    })
    .unwrap();
    let buf = term.backend().buffer().clone();
    (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
        .collect()
}

/// The next-step lines the explorer's detail pane shows for `pid`'s socket on `port`.
fn explorer_steps(pid: u32, port: u16) -> Vec<String> {
    let mut lines = Vec::new();
    for row in explorer_screen(pid, port) {
        if let Some(at) = row.find("$ ") {
            // Up to the pane's right border.
            let step = row[at + 2..].trim_end().trim_end_matches('│').trim_end();
            lines.push(step.to_string());
        }
    }
    assert!(
        lines.iter().any(|l| l.starts_with("dpkg -S ")),
        "no dpkg step drawn: {lines:?}"
    );
    lines
}

#[test]
fn hint_text_is_escaped_once_in_every_front_end() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let name = OsStr::from_bytes(b"\x1b[2Jevil\xff");
    let mut command = Command::new(support::hold_sockets_path());
    command
        .arg("--name")
        .arg(name)
        .args(["--tcp", "127.0.0.1:0"]);
    let (child, ports) = start(command);
    let shown = r#""\x1b[2Jevil\xff""#;
    // explain: the reason quotes the name escaped once.
    let text = Command::cargo_bin("portscope")
        .unwrap()
        .args(["explain", &format!("pid:{}", child.id())])
        .output()
        .unwrap()
        .stdout;
    let text = String::from_utf8(text).unwrap();
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains(shown), "{text}");
    assert!(
        !flat.contains(r"\\x1b") && !flat.contains(r"\\xff"),
        "{text}"
    );
    // The explorer: the same.
    let screen = explorer_screen(child.id(), ports[0]).join("\n");
    assert!(screen.contains(shown), "{screen}");
    assert!(
        !screen.contains(r"\\x1b") && !screen.contains('\x1b'),
        "{screen}"
    );
    // JSON: the raw name, which the JSON escaping keeps off the terminal.
    let report = explain_pid(child.id());
    let why = report["sockets"][0]["hints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == "name-needed-escaping")
        .unwrap()["why"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(why.contains("\u{1b}[2Jevil"), "{why}");
    stop(child);
}
