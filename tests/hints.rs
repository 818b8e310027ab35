//! Hints on real sockets: a child process holds listeners under a chosen name (or from a chosen
//! executable), and `portscope --json explain pid:PID` must flag what is unusual about them, and
//! only that.

mod support;

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

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
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

    // The usual daemon's name raises nothing of the kind.
    let usual = match port {
        22 => "sshd",
        25 => "master",
        80 | 443 => "nginx",
        3306 => "mysqld",
        5432 => "postgres",
        6379 => "redis-server",
        _ => "mongod",
    };
    let holder = support::hold(&["--name", usual, "--tcp", &format!("127.0.0.1:{port}")]);
    let hints = hints_on(&explain_pid(holder.pid()), port);
    assert!(!has(&hints, "service-mismatch"), "{hints:?}");
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
