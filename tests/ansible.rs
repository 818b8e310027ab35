//! Fleets through Ansible, for real: `ansible-playbook` (PyPI's ansible-core, which `.ci/run`
//! installs) runs examples/ansible/collect-snapshots.yml against two sshd "hosts", each in a
//! network namespace of its own, then `portscope diff --fleet` names the listener only one of
//! them has, and the fleet view's model and `view DIR` show both hosts. And the fleet diff on 50
//! synthetic hosts × 1,000 listeners.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use portscope::registry::Protocol;
use portscope::remote::fleet::{self, OnBadFile};
use serde_json::{json, Value};

mod support;

use support::netns::{hold_in, NetnsSshd};

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("portscope")
}

#[test]
fn the_playbook_collects_both_hosts_and_the_fleet_diff_finds_the_odd_listener() {
    let playbook_bin = which("ansible-playbook").expect(
        "ansible-playbook is not installed: `pip install ansible-core` (.ci/run does this)",
    );
    let alpha = NetnsSshd::start("alpha");
    let beta = NetnsSshd::start("beta");
    let (mut odd, odd_port) = hold_in(&alpha.netns, "only-on-alpha");

    let work = tempfile::tempdir().unwrap();
    // JSON is YAML: an inventory without INI's quoting rules (the ProxyCommand holds quotes).
    let inventory = work.path().join("inventory.yml");
    // The ProxyCommand ignores the host name; a distinct one per host keeps ansible's shared
    // ssh connections (ControlPath is keyed by host, port and user) apart.
    let host = |name: &str, sshd: &NetnsSshd| {
        let opts = sshd.options();
        json!({
            "ansible_host": format!("{name}.invalid"),
            "ansible_user": "root",
            "ansible_ssh_private_key_file": opts[1],
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_ssh_common_args": format!(
                "-o \"{}\" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                opts[3]
            ),
        })
    };
    let hosts =
        json!({"fleet": {"hosts": {"alpha": host("alpha", &alpha), "beta": host("beta", &beta)}}});
    std::fs::write(&inventory, hosts.to_string()).unwrap();
    let snapshots = work.path().join("snapshots");
    let playbook =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ansible/collect-snapshots.yml");
    let out = Command::new(playbook_bin)
        .arg("-i")
        .arg(&inventory)
        .arg(&playbook)
        .arg("-e")
        .arg(format!("portscope_binary={}", binary().display()))
        .arg("-e")
        .arg(format!("snapshot_dir={}", snapshots.display()))
        .env("ANSIBLE_HOST_KEY_CHECKING", "False")
        .env("ANSIBLE_LOCAL_TEMP", work.path().join("ansible-local"))
        .env("ANSIBLE_REMOTE_TEMP", work.path().join("ansible-remote"))
        .env("ANSIBLE_NOCOLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    drop(odd.stdin.take());
    let _ = odd.wait();
    assert!(
        out.status.success(),
        "ansible-playbook failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let recap = String::from_utf8_lossy(&out.stdout);
    assert!(recap.contains("alpha") && recap.contains("beta"), "{recap}");

    // One snapshot per host, each seeing its own namespace.
    let read = |name: &str| -> Value {
        let bytes = std::fs::read(snapshots.join(format!("{name}.json")))
            .unwrap_or_else(|e| panic!("{name}.json was not fetched: {e}"));
        serde_json::from_slice(&bytes).unwrap()
    };
    let has_port = |snap: &Value, port: u16| {
        snap["sockets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["local_port"] == port && s["protocol"] == "tcp")
    };
    let (a, b) = (read("alpha"), read("beta"));
    assert!(has_port(&a, odd_port) && has_port(&a, 22), "{a}");
    assert!(!has_port(&b, odd_port) && has_port(&b, 22), "{b}");

    // Nothing left on the hosts: the playbook removed its directory (tempfile's ansible.*
    // name, with our suffix).
    let leftovers: Vec<PathBuf> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".portscope"))
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");

    let diff = Command::new(binary())
        .args(["diff", "--fleet"])
        .arg(&snapshots)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&diff.stdout);
    assert_eq!(diff.status.code(), Some(1), "{text}");
    let odd_line = text
        .lines()
        .find(|l| l.contains(&format!(" {odd_port} ")))
        .unwrap_or_else(|| panic!("the odd listener is not reported: {text}"));
    assert!(odd_line.contains("only on alpha"), "{odd_line}");
    assert!(
        !text.lines().any(|l| l.contains("    22 ")),
        "sshd on 22 is on both hosts, not an outlier: {text}"
    );

    // The fleet view's model over the fetched directory: both hosts, sshd on both, the odd
    // listener on alpha alone and marked an outlier.
    let files = fleet::snapshot_files(&snapshots).unwrap();
    let model = fleet::load(&files, OnBadFile::Fail).unwrap();
    let names: Vec<&str> = model.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["alpha", "beta"]);
    let on = |port: u16| -> Vec<&str> {
        let row = model
            .kinds
            .iter()
            .find(|k| k.kind.port == port && k.kind.protocol == Protocol::Tcp)
            .unwrap_or_else(|| panic!("no listener on {port} in the fleet"));
        row.hosts
            .iter()
            .map(|&h| model.hosts[h as usize].name.as_str())
            .collect()
    };
    assert_eq!(on(22), ["alpha", "beta"]);
    assert_eq!(on(odd_port), ["alpha"]);
    assert!(model
        .outliers()
        .any(|k| k.kind.port == odd_port && k.kind.program == "hold_sockets"));
    // And `view DIR` as the binary runs it without a terminal.
    let out = Command::new(binary())
        .args(["--json", "view"])
        .arg(&snapshots)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let view: Value = serde_json::from_slice(&out.stdout).unwrap();
    let hosts: Vec<&str> = view["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["alpha", "beta"]);
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

/// `examples/fleet_snapshots DIR --hosts N --listeners M`: synthetic hosts with three planted
/// differences (see that file).
fn synthetic_fleet(dir: &Path, hosts: usize, listeners: usize) {
    let status = Command::new(support::example_path("fleet_snapshots"))
        .arg(dir)
        .args([
            "--hosts",
            &hosts.to_string(),
            "--listeners",
            &listeners.to_string(),
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn fifty_hosts_of_a_thousand_listeners_each_give_exactly_their_outliers() {
    let dir = tempfile::tempdir().unwrap();
    // A port only host07 opens, a program only host21 runs on a common port, and a port hosts
    // 30..32 share (3 hosts: not an outlier at the default 5 = 10%).
    synthetic_fleet(dir.path(), 50, 1000);

    let mut fleet = Command::new(binary());
    fleet.args(["--json", "diff", "--fleet"]).arg(dir.path());
    let (code, stdout, elapsed, rss_kb) = run_measured(fleet);
    println!(
        "diff --fleet, 50 hosts x 1,000 listeners: {elapsed:?}, peak RSS {:.1} MB",
        rss_kb as f64 / 1024.0
    );
    assert_eq!(code, Some(1));
    assert!(rss_kb < 150 * 1024, "peak RSS {rss_kb} KB");
    let report: Value = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(report["hosts"], 50);
    assert_eq!(report["max_hosts"], 5);
    let outliers: Vec<(u64, String, Vec<String>)> = report["outliers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["port"].as_u64().unwrap(),
                o["program"].as_str().unwrap().to_string(),
                o["hosts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| h.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    // svc5 on port 10005 is on the other 49 hosts; nc there only on host21. node_exporter is
    // on 3 hosts, within the default 10%.
    assert_eq!(
        outliers,
        [
            (4444, "backdoor".to_string(), vec!["host07".to_string()]),
            (
                9100,
                "node_exporter".to_string(),
                vec!["host30".into(), "host31".into(), "host32".into()]
            ),
            (10_005, "nc".to_string(), vec!["host21".to_string()]),
        ]
    );

    // Narrower: only what a single host has.
    let out = Command::new(binary())
        .args(["diff", "--fleet"])
        .arg(dir.path())
        .args(["--max-hosts", "1"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !text.contains("node_exporter") && text.contains("backdoor"),
        "{text}"
    );

    // An unreadable snapshot is an error (exit 2) naming the file.
    std::fs::write(
        dir.path().join("broken.json"),
        b"{\"schema_version\": 1, \"host\"",
    )
    .unwrap();
    let out = Command::new(binary())
        .args(["diff", "--fleet"])
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("broken.json") && err.contains("truncated"),
        "{err}"
    );
}

#[test]
fn a_fleet_where_every_host_agrees_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    // Three hosts: none of the planted differences (hosts 07, 21, 30..32) exists.
    synthetic_fleet(dir.path(), 3, 2);
    let out = Command::new(binary())
        .args(["diff", "--fleet"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("No outliers"));
}

/// Run `cmd` to its end: exit code, standard output, wall time and its own peak RSS in KB (from
/// wait4, so no other child of this test process counts).
#[allow(clippy::zombie_processes)] // reaped by wait4, which std's Child does not know about
fn run_measured(mut cmd: Command) -> (Option<i32>, Vec<u8>, std::time::Duration, i64) {
    let started = std::time::Instant::now();
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut bytes).unwrap();
        bytes
    });
    let mut status = 0;
    // SAFETY: wait4 on our own child, with a zeroed rusage for it to fill; std's Child is not
    // waited on afterwards.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let pid = libc::wait4(child.id() as i32, &mut status, 0, &mut usage);
        assert!(pid > 0, "wait4 failed");
        usage
    };
    let elapsed = started.elapsed();
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, reader.join().unwrap(), elapsed, usage.ru_maxrss)
}
