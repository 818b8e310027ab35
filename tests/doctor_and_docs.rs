//! `doctor`, shell completions and the man page, through the built binary.

mod support;

use support::is_root;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

fn portscope() -> Command {
    Command::cargo_bin("portscope").unwrap()
}

/// A copy of the binary an unprivileged user can execute (the checkout may sit in a 0700 home).
fn world_executable_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("portscope");
    std::fs::copy(assert_cmd::cargo::cargo_bin("portscope"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    (dir, bin)
}

/// Run `cmd`, retrying while the fresh copy is "text file busy": another test thread's fork may
/// briefly hold the copy's write descriptor open until it execs.
fn output(cmd: &mut std::process::Command) -> std::process::Output {
    for _ in 0..50 {
        match cmd.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            // setpriv reports the same race as its own failure.
            Ok(out) if String::from_utf8_lossy(&out.stderr).contains("Text file busy") => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            other => return other.unwrap(),
        }
    }
    panic!("the binary copy stayed busy");
}

fn doctor_json(cmd: &mut std::process::Command) -> Vec<Value> {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

fn check<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no {name} check"))
}

#[test]
fn doctor_reports_every_check_with_a_status() {
    let checks = doctor_json(
        std::process::Command::new(assert_cmd::cargo::cargo_bin("portscope"))
            .args(["doctor", "--json"]),
    );
    let names: Vec<&str> = checks
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "proc",
            "privileges",
            "hidepid",
            "net-ns",
            "other-netns",
            "pid-ns",
            "netlink"
        ]
    );
    for c in &checks {
        assert!(
            ["ok", "warn", "fail"].contains(&c["status"].as_str().unwrap()),
            "{c}"
        );
        assert!(!c["detail"].as_str().unwrap().is_empty());
    }
    assert_eq!(
        check(&checks, "proc")["status"],
        "ok",
        "/proc is there on a Linux test machine"
    );
}

#[test]
fn doctor_as_an_unprivileged_user_says_owners_are_hidden_and_how_to_fix_it() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    let (_dir, bin) = world_executable_copy();
    if euid == 0 {
        let root = doctor_json(std::process::Command::new(&bin).args(["doctor", "--json"]));
        let expected = if support::some_process_refuses_its_fds() {
            "warn"
        } else {
            "ok"
        };
        assert_eq!(
            check(&root, "privileges")["status"],
            expected,
            "{}",
            check(&root, "privileges")
        );
    }
    let mut cmd = std::process::Command::new("setpriv");
    if euid == 0 {
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
    }
    let checks = doctor_json(cmd.arg(&bin).args(["doctor", "--json"]));
    let privileges = check(&checks, "privileges");
    assert_eq!(privileges["status"], "warn");
    assert!(
        privileges["detail"]
            .as_str()
            .unwrap()
            .contains("owner hidden"),
        "{privileges}"
    );
    let fix = privileges["fix"].as_str().unwrap();
    assert!(
        fix.contains("sudo portscope") && fix.contains("setcap cap_sys_ptrace"),
        "{fix}"
    );
}

#[test]
fn doctor_table_puts_the_fix_under_the_problem() {
    let (_dir, bin) = world_executable_copy();
    let out = output(
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .arg("doctor"),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("warn  privileges"))
        .expect(&text);
    assert!(lines[at + 1].trim_start().starts_with("fix: "), "{text}");
}

#[test]
fn completions_cover_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let out = portscope()
            .args(["completions", shell])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let script = String::from_utf8(out).unwrap();
        for sub in [
            "lookup", "search", "list", "explain", "registry", "snapshot", "view", "diff", "doctor",
        ] {
            assert!(script.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    portscope().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn man_page_is_roff_naming_the_commands() {
    let out = portscope()
        .arg("man")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let page = String::from_utf8(out).unwrap();
    assert!(
        page.starts_with(".ie") || page.contains(".TH portscope"),
        "{}",
        &page[..200.min(page.len())]
    );
    assert!(page.contains("lookup") && page.contains("snapshot"));
}

/// `unshare ARGS sh -c SCRIPT sh BIN doctor --json`: the script runs in fresh namespaces and
/// ends with `exec "$@"`.
fn doctor_in_namespaces(
    unshare: &[&str],
    script: &str,
    bin: &std::path::Path,
) -> std::process::Output {
    output(
        std::process::Command::new("unshare")
            .args(unshare)
            .args(["sh", "-c", script, "sh"])
            .arg(bin)
            .args(["doctor", "--json"]),
    )
}

#[test]
fn doctor_exits_1_and_names_the_check_that_failed() {
    if !is_root() {
        eprintln!("skipped: hiding /proc in a mount namespace needs root");
        return;
    }
    let (_dir, bin) = world_executable_copy();
    // A private mount namespace whose /proc is an empty tmpfs: no process can be seen.
    let out = doctor_in_namespaces(
        &["--mount", "--propagation", "private"],
        r#"mount -t tmpfs none /proc && exec "$@""#,
        &bin,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let checks: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(check(&checks, "proc")["status"], "fail");
    assert!(
        stderr.contains("failed") && stderr.contains("proc"),
        "{stderr}"
    );
}

#[test]
fn doctor_reads_hidepid_from_the_proc_mount_in_effect() {
    if !is_root() {
        eprintln!("skipped: mounting /proc needs root");
        return;
    }
    let (_dir, bin) = world_executable_copy();
    // A second /proc with hidepid=invisible over the first, then doctor as an unprivileged user:
    // the first /proc line in the mount table says nothing of hidepid, the one in effect does.
    let out = doctor_in_namespaces(
        &["--mount", "--propagation", "private"],
        r#"mount -t proc -o hidepid=invisible proc /proc && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@""#,
        &bin,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checks: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let hidepid = check(&checks, "hidepid");
    assert_eq!(hidepid["status"], "warn", "{hidepid}");
    assert!(
        hidepid["detail"]
            .as_str()
            .unwrap()
            .contains("hidepid=invisible"),
        "{hidepid}"
    );
}

#[test]
fn doctor_warns_in_a_child_pid_namespace() {
    if !is_root() {
        eprintln!("skipped: creating a pid namespace needs root");
        return;
    }
    let (_dir, bin) = world_executable_copy();
    let out = doctor_in_namespaces(&["-pf", "--mount-proc"], r#"exec "$@""#, &bin);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checks: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let pid_ns = check(&checks, "pid-ns");
    assert_eq!(pid_ns["status"], "warn", "{pid_ns}");
    assert!(
        pid_ns["detail"]
            .as_str()
            .unwrap()
            .contains("child pid namespace"),
        "{pid_ns}"
    );
}
