//! The static build runs where nothing else is: a chroot holding only the binary, `/proc` and an
//! `/etc/passwd`. `list` there shows this test's listener with its pid and the user name that
//! chroot's passwd gives (a uid the host does not know, so NSS could not have named it).
//!
//! The binary is `$PORTSCOPE_STATIC_BIN` when set (`.ci/run` builds it once with
//! `scripts/build-static.sh` and exports it); otherwise this test runs the script itself, which
//! costs a full release build the first time.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

mod support;

/// A uid no real system names, and the name the chroot's passwd gives it.
const UID: u32 = 42_4242;
const NAME: &str = "chrooted-tester";

fn static_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PORTSCOPE_STATIC_BIN") {
        return PathBuf::from(path);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("scripts/build-static.sh"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/build-static.sh");
    assert!(
        out.status.success(),
        "scripts/build-static.sh failed (glibc's static libraries come with libc6-dev)"
    );
    let path = String::from_utf8(out.stdout).unwrap();
    let path = PathBuf::from(path.lines().last().expect("the script prints the path"));
    if path.is_absolute() {
        path
    } else {
        root.join(path)
    }
}

#[test]
fn the_static_binary_lists_our_listener_and_its_user_in_an_empty_chroot() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test chroots and mounts /proc, so it must run as root (CI does)"
    );
    let binary = static_binary();
    let ldd = Command::new("ldd").arg(&binary).output();
    if let Ok(ldd) = ldd {
        assert!(
            !String::from_utf8_lossy(&ldd.stdout).contains("=>"),
            "{} is dynamically linked: {}",
            binary.display(),
            String::from_utf8_lossy(&ldd.stdout)
        );
    }

    let root = tempfile::tempdir().unwrap();
    std::fs::copy(&binary, root.path().join("portscope")).unwrap();
    std::fs::create_dir(root.path().join("proc")).unwrap();
    std::fs::create_dir(root.path().join("etc")).unwrap();
    std::fs::write(
        root.path().join("etc/passwd"),
        format!("root:x:0:0:root:/root:/bin/sh\n{NAME}:x:{UID}:{UID}::/:/bin/false\n"),
    )
    .unwrap();

    // A listener held by that uid.
    let mut holder = Command::new("setpriv")
        .args([
            &format!("--reuid={UID}"),
            &format!("--regid={UID}"),
            "--clear-groups",
        ])
        .arg(support::hold_sockets_path())
        .args(["--name", "chrooted-srv", "--tcp", "127.0.0.1:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("setpriv (util-linux) runs hold_sockets");
    let mut port = None;
    for line in BufReader::new(holder.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line == "ready" {
            break;
        }
        port = line.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
    }
    let port = port.expect("hold_sockets bound a port");
    let pid = holder.id();

    // A private mount namespace: its /proc disappears with it, whatever happens to the test.
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(
            r#"mount -t proc proc "$1/proc" && exec chroot "$1" /portscope list --json --pid "$2""#,
        )
        .arg("sh")
        .arg(root.path())
        .arg(pid.to_string())
        .output()
        .expect("unshare and chroot (util-linux, coreutils)");
    drop(holder.stdin.take());
    let _ = holder.wait();
    assert!(
        out.status.success(),
        "portscope in the chroot failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).expect("list --json prints JSON");
    let sockets = list["sockets"].as_array().unwrap();
    let ours = sockets
        .iter()
        .find(|s| s["local_port"] == port)
        .unwrap_or_else(|| panic!("the listener on {port} is missing: {list}"));
    assert_eq!(ours["pids"], serde_json::json!([pid]), "{ours}");
    assert_eq!(ours["process"], "chrooted-srv", "{ours}");
    assert_eq!(ours["user"], NAME, "{ours}");
}
