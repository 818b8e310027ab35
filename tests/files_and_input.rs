//! Files given to portscope and files it writes, run as root the way a careful sysadmin tool must
//! handle them: `-o` never replaces a device, a FIFO or a link; an existing file keeps its owner
//! and mode; no directory is created; another user's link is never followed (root with a user's
//! `$HOME`); temp files go away on errors, on SIGINT, and after a run was killed; every input is
//! capped; hostile text in an error message reaches the terminal escaped.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;

mod support;

const NOBODY: u32 = 65534;

fn portscope() -> Command {
    let mut cmd = Command::new(cargo_bin("portscope"));
    cmd.env("NO_COLOR", "1");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run portscope")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn chown(path: &Path, uid: u32, follow: bool) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid C string; the tests run as root.
    let r = unsafe {
        if follow {
            libc::chown(c.as_ptr(), uid, uid)
        } else {
            libc::lchown(c.as_ptr(), uid, uid)
        }
    };
    assert_eq!(r, 0, "chown {} (the tests run as root)", path.display());
}

fn registry_csv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/service-names-port-numbers.csv")
}

fn is_snapshot(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .is_ok_and(|v| v["schema_version"] == portscope::sockets::SCHEMA_VERSION)
}

#[test]
fn a_device_given_to_o_stays_a_device() {
    let dir = tempfile::tempdir().unwrap();
    // A real character device of our own (the null device's numbers), so the machine's
    // /dev/null is never at stake.
    let dev = dir.path().join("null");
    let c = std::ffi::CString::new(dev.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mknod with a valid path, as root.
    let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    assert_eq!(made, 0, "mknod (the tests run as root)");
    let before = fs::metadata(&dev).unwrap().mode();
    let out = run(portscope().args(["snapshot", "-o"]).arg(&dev));
    assert!(out.status.success(), "{}", stderr(&out));
    let meta = fs::symlink_metadata(&dev).unwrap();
    assert!(meta.file_type().is_char_device(), "the device was replaced");
    assert_eq!(meta.rdev(), libc::makedev(1, 3));
    assert_eq!(meta.mode() & 0o777, before & 0o777, "its mode changed");
    assert_eq!(names_in(dir.path()), ["null"], "a temp file was left");
    // And the machine's own /dev/null, which is what users type.
    let out = run(portscope().args(["snapshot", "-o", "/dev/null"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    // /dev/stdout: root's link into /proc, which only the kernel can follow, to a pipe here.
    let out = run(portscope().args(["snapshot", "-o", "/dev/stdout"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(is_snapshot(&out.stdout));
}

#[test]
fn o_through_our_own_link_writes_the_target_and_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("2026-01-01.json");
    fs::write(&target, "yesterday's").unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("latest.json");
    std::os::unix::fs::symlink("2026-01-01.json", &link).unwrap();
    let out = run(portscope().args(["snapshot", "-o"]).arg(&link));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced"
    );
    assert!(is_snapshot(&fs::read(&target).unwrap()));
    assert_eq!(fs::metadata(&target).unwrap().mode() & 0o7777, 0o640);
    assert_eq!(names_in(dir.path()), ["2026-01-01.json", "latest.json"]);
}

#[test]
fn another_users_link_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let precious = dir.path().join("shadow");
    fs::write(&precious, "root:secret").unwrap();
    let link = dir.path().join("snap.json");
    std::os::unix::fs::symlink(&precious, &link).unwrap();
    chown(&link, NOBODY, false);
    let out = run(portscope().args(["snapshot", "-o"]).arg(&link));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("symbolic link owned by uid 65534"), "{err}");
    assert_eq!(fs::read_to_string(&precious).unwrap(), "root:secret");
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn a_replaced_file_keeps_its_owner_and_mode() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("theirs.json");
    fs::write(&file, "old").unwrap();
    chown(&file, NOBODY, true);
    fs::set_permissions(&file, fs::Permissions::from_mode(0o604)).unwrap();
    let out = run(portscope().args(["snapshot", "-o"]).arg(&file));
    assert!(out.status.success(), "{}", stderr(&out));
    let meta = fs::metadata(&file).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (NOBODY, NOBODY));
    assert_eq!(meta.mode() & 0o7777, 0o604);
    assert!(is_snapshot(&fs::read(&file).unwrap()));
}

#[test]
fn a_missing_directory_is_an_error_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("typo/snap.json");
    let out = run(portscope().args(["snapshot", "-o"]).arg(&file));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no such directory"), "{err}");
    assert!(!dir.path().join("typo").exists(), "a directory was created");
}

/// Wait until `pred` holds, or panic with `what` after 120 s (a busy CI host collects slowly).
fn wait_until(what: &str, mut pred: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(120);
    while !pred() {
        assert!(Instant::now() < until, "timed out waiting: {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

fn interrupt(child: &Child) {
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
}

#[test]
fn sigint_while_writing_into_a_slow_fifo_leaves_the_fifo_and_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo with a valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // A reader that takes a little and then stops reading: the writer blocks mid-write.
    let mut reader = Command::new("sh")
        .arg("-c")
        .arg("exec 3<\"$0\"; head -c 100 <&3 >/dev/null; sleep 60")
        .arg(&fifo)
        .spawn()
        .unwrap();
    // Listeners of our own, so the snapshot is far larger than a pipe's buffer on any host.
    let _holder = support::hold(&["--name", "psfifo", "--tcp-count", "300"]);
    let child = portscope()
        .args(["snapshot", "-o"])
        .arg(&fifo)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Blocked in the write: its stack shows a pipe write, or simply give it time to get there.
    let pid = child.id();
    wait_until("portscope writing into the FIFO", || {
        fs::read_to_string(format!("/proc/{pid}/wchan")).is_ok_and(|w| w.contains("pipe_write"))
            || fs::read_dir(dir.path()).unwrap().count() > 1
    });
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    let _ = reader.kill();
    let _ = reader.wait();
    assert!(!out.status.success());
    assert!(
        fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(),
        "the FIFO was replaced"
    );
    assert_eq!(names_in(dir.path()), ["pipe"], "a temp file was left");
}

/// Run `portscope args` under strace, every fsync held for 5 s: the window in which an atomic
/// write has its temp file on disk and has not renamed it yet. Returns strace and portscope's pid.
fn slowed_fsync(args: &[&str], envs: &[(&str, &Path)]) -> (Child, i32) {
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=fsync"])
        .args(["-e", "inject=fsync:delay_enter=5000000"])
        .arg(cargo_bin("portscope"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let strace = cmd
        .spawn()
        .expect("strace (the CI installs it: .ci/run) runs portscope with a slowed fsync");
    let children = format!("/proc/{0}/task/{0}/children", strace.id());
    let mut pid = 0;
    // strace forks probes of its own first: wait for the child that runs portscope.
    let bin = cargo_bin("portscope");
    wait_until("strace to start portscope", || {
        let listed = fs::read_to_string(&children).unwrap_or_default();
        pid = listed
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
            .find(|p| fs::read_link(format!("/proc/{p}/exe")).is_ok_and(|exe| exe == bin))
            .unwrap_or(0);
        pid != 0
    });
    (strace, pid)
}

fn temp_files(dir: &Path) -> Vec<String> {
    names_in(dir)
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn sigint_during_an_atomic_write_removes_the_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.json");
    let (strace, pid) = slowed_fsync(&["snapshot", "-o", file.to_str().unwrap()], &[]);
    wait_until("the temp file", || !temp_files(dir.path()).is_empty());
    // SAFETY: signalling our own grandchild.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out = strace.wait_with_output().unwrap();
    assert_eq!(
        temp_files(dir.path()),
        Vec::<String>::new(),
        "{}",
        stderr(&out)
    );
    // Interrupted before the rename, or just after it: never half a file.
    if file.exists() {
        assert!(is_snapshot(&fs::read(&file).unwrap()));
    }
}

#[test]
fn a_killed_import_leaves_a_temp_that_the_next_import_removes() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let csv = registry_csv();
    let (strace, pid) = slowed_fsync(
        &["registry", "import", csv.to_str().unwrap()],
        &[("PORTSCOPE_DATA_DIR", &data)],
    );
    wait_until("the temp file", || {
        data.is_dir() && !temp_files(&data).is_empty()
    });
    // SIGKILL cannot be caught: the temp stays, as after a power cut or the OOM killer.
    // SAFETY: signalling our own grandchild.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let _ = strace.wait_with_output();
    assert_eq!(temp_files(&data).len(), 1);
    let out = run(portscope()
        .env("PORTSCOPE_DATA_DIR", &data)
        .args(["registry", "import"])
        .arg(&csv));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(names_in(&data), ["service-names-port-numbers.csv"]);
}

#[test]
fn root_with_a_users_home_follows_none_of_their_links() {
    let home = tempfile::tempdir().unwrap();
    let share = home.path().join(".local/share");
    fs::create_dir_all(&share).unwrap();
    chown(home.path(), NOBODY, true);
    chown(&home.path().join(".local"), NOBODY, true);
    chown(&share, NOBODY, true);
    // The user points portscope's data directory at a directory root cares about.
    let victim = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(victim.path(), share.join("portscope")).unwrap();
    chown(&share.join("portscope"), NOBODY, false);
    let out = run(portscope()
        .env_remove("PORTSCOPE_DATA_DIR")
        .env_remove("XDG_DATA_HOME")
        .env("HOME", home.path())
        .args(["registry", "import"])
        .arg(registry_csv()));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("symbolic link owned by uid 65534"), "{err}");
    assert_eq!(
        names_in(victim.path()),
        Vec::<String>::new(),
        "root wrote through the link"
    );
    // Reading is refused the same way: a planted registry is not used.
    let out = run(portscope()
        .env_remove("PORTSCOPE_DATA_DIR")
        .env_remove("XDG_DATA_HOME")
        .env("HOME", home.path())
        .args(["lookup", "22"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn registry_reset_removes_the_import() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let import = run(portscope()
        .env("PORTSCOPE_DATA_DIR", &data)
        .args(["registry", "import"])
        .arg(registry_csv()));
    assert!(import.status.success(), "{}", stderr(&import));
    let reset = run(portscope()
        .env("PORTSCOPE_DATA_DIR", &data)
        .args(["registry", "reset"]));
    assert!(reset.status.success(), "{}", stderr(&reset));
    assert_eq!(names_in(&data), Vec::<String>::new());
}

/// One line, exit 2, naming the cap.
fn assert_capped(out: &Output, limit: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&format!("larger than {limit}")), "{err}");
}

#[test]
fn endless_and_huge_inputs_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    // A 100 GB file that takes no disk: refused from its size, before any read.
    let sparse = dir.path().join("huge.json");
    fs::File::create(&sparse)
        .unwrap()
        .set_len(100 << 30)
        .unwrap();
    let sparse = sparse.to_str().unwrap();
    assert_capped(&run(portscope().args(["view", "/dev/zero"])), "512 MiB");
    assert_capped(&run(portscope().args(["diff", sparse, sparse])), "512 MiB");
    assert_capped(
        &run(portscope()
            .args(["view", "-"])
            .stdin(fs::File::open("/dev/zero").unwrap())),
        "512 MiB",
    );
    assert_capped(
        &run(portscope().args(["--registry", "/dev/zero", "lookup", "22"])),
        "64 MiB",
    );
    assert_capped(
        &run(portscope()
            .env("PORTSCOPE_DATA_DIR", dir.path().join("data"))
            .args(["registry", "import", sparse])),
        "64 MiB",
    );
}

fn assert_escaped(out: &Output, shown: &str) {
    let err = &out.stderr;
    assert!(
        !err.iter()
            .any(|&b| b == 0x1b || b == b'\r' || b == 0x0b || b == 0x07),
        "raw control bytes reached stderr: {:?}",
        String::from_utf8_lossy(err)
    );
    assert!(stderr(out).contains(shown), "{}", stderr(out));
}

#[test]
fn hostile_text_in_error_messages_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    // A snapshot whose enum field carries OSC 52 (write the clipboard).
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/snapshot.json");
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(fixture).unwrap()).unwrap();
    v["sockets"][0]["state"] = "\x1b]52;c;cm0gLXJmIH4=\x07".into();
    let hostile = dir.path().join("hostile.json");
    fs::write(&hostile, serde_json::to_vec(&v).unwrap()).unwrap();
    let out = run(portscope().arg("view").arg(&hostile));
    assert_eq!(out.status.code(), Some(2));
    assert_escaped(&out, "\\x1b]52;c;cm0gLXJmIH4=\\x07");
    let out = run(portscope().arg("diff").arg(&hostile).arg(&hostile));
    assert_eq!(out.status.code(), Some(2));
    assert_escaped(&out, "\\x1b]52");

    // A registry CSV whose port range carries CR and VT.
    let header = fs::read_to_string(registry_csv()).unwrap();
    let header = header.lines().next().unwrap();
    let csv = dir.path().join("bad.csv");
    fs::write(
        &csv,
        format!("{header}\nx,\"9\r\x0b-\x0b3\",tcp,d,,,,,,,,\n"),
    )
    .unwrap();
    let out = run(portscope()
        .env("PORTSCOPE_DATA_DIR", dir.path().join("data"))
        .args(["registry", "import"])
        .arg(&csv));
    assert_eq!(out.status.code(), Some(2));
    assert_escaped(&out, "9\\r\\x0b-\\x0b3");
    let out = run(portscope()
        .arg("--registry")
        .arg(&csv)
        .args(["lookup", "22"]));
    assert_eq!(out.status.code(), Some(2));
    assert_escaped(&out, "9\\r\\x0b-\\x0b3");
    // And a file name that carries an escape sequence.
    let named = dir.path().join("snap\x1b[2J.json");
    let out = run(portscope().arg("view").arg(&named));
    assert_eq!(out.status.code(), Some(2));
    assert_escaped(&out, "snap\\x1b[2J.json");
}

#[test]
fn a_full_filesystem_is_one_line_and_leaves_no_temp() {
    // A 4 KiB tmpfs of our own, mounted in a private mount namespace, and enough listeners of our
    // own that the snapshot cannot fit, whatever else listens here.
    let _holder = support::hold(&["--name", "psfull", "--tcp-count", "20"]);
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c"])
        .arg(
            "mount -t tmpfs -o size=4k tmpfs \"$0\" || exit 99; \
             \"$1\" snapshot -o \"$0/snap.json\"; rc=$?; ls -A \"$0\"; exit $rc",
        )
        .arg(dir.path())
        .arg(cargo_bin("portscope"))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_ne!(
        out.status.code(),
        Some(99),
        "mount a tmpfs (the tests run as root): {err}"
    );
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "",
        "left on the full filesystem"
    );
}
