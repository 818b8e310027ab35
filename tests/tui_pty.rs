//! The real binary in a pseudo-terminal, read through a vt100 screen parser: it starts, shows a
//! listener this test opened, searches, quits; signals and a closed pty end it with the terminal
//! restored; hostile process names never put a raw ESC from data into the stream; an idle screen
//! writes next to nothing.

mod support;

use std::thread;
use std::time::{Duration, Instant};

use support::pty::{start, start_wrapped};

/// Tests in this binary run in parallel and open listeners; the idle-bandwidth test must not see
/// them come and go, so it runs alone (write lock) while the others share (read lock).
static SOLO: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    SOLO.read().unwrap_or_else(|e| e.into_inner())
}

/// The first frame is up when the listener pane has its column names.
const FIRST_FRAME: &str = "proto local";
const GENEROUS: Duration = Duration::from_secs(15);
/// The first snapshot has arrived when the header names the host (it says "collecting…" before).
const FIRST_DATA: &str = "portscope  host ";

#[test]
fn shows_a_listener_we_opened_searches_and_quits_cleanly() {
    let _shared = shared();
    let holder = support::hold(&["--name", "pstui-probe", "--tcp", "127.0.0.1:0"]);
    let port = holder.tcp[0].port();
    // Refreshes this frequent land in the same batch of messages as typed keys.
    let mut s = start(&["--interval", "0.1"], &[], 120, 40);
    s.wait_for(FIRST_FRAME, GENEROUS);
    s.wait_for(FIRST_DATA, GENEROUS);
    // `/` filters the listener pane to our port (the machine may hold thousands of others);
    // its socket is then selected and described, and `l` shows its port in the registry.
    s.send(&format!("/:{port}\r"));
    s.wait_for("pstui-probe", GENEROUS);
    s.wait_for(&format!("pid          {}", holder.pid()), GENEROUS);
    s.send("l");
    s.wait_for(&format!("/ {port}"), GENEROUS);
    // Esc clears that search; a new one shows what is typed and its results (the letters were
    // taken but not drawn when an unchanged refresh followed them before the next frame).
    s.send("\x1b");
    s.wait_for("Registry: 7390 services", GENEROUS);
    s.send("/");
    s.wait_for("type to search", GENEROUS);
    // Typed as a person types: a key at a time, each drawn before the next arrives.
    for key in "kerberos".chars() {
        s.send(&key.to_string());
        thread::sleep(Duration::from_millis(50));
    }
    s.wait_for("/ kerberos", GENEROUS);
    s.wait_for("88/tcp", GENEROUS);
    s.send("\r"); // keep the results; letters are commands again
    s.wait_for("l jump", GENEROUS);
    s.send("q");
    let status = s
        .wait_exit(Duration::from_secs(2))
        .expect("q quits within 2 s");
    assert!(status.success(), "{status:?}");
    s.assert_restored();
}

fn ends_on_signal(signal: i32) {
    let _shared = shared();
    let mut s = start(&[], &[], 80, 24);
    s.wait_for(FIRST_FRAME, GENEROUS);
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(s.pid(), signal) }, 0);
    let status = s.wait_exit(Duration::from_secs(2));
    assert!(status.is_some(), "still running 2 s after signal {signal}");
    s.assert_restored();
}

#[test]
fn sighup_ends_it_with_the_terminal_restored() {
    let _shared = shared();
    ends_on_signal(libc::SIGHUP);
}

#[test]
fn sigterm_ends_it_with_the_terminal_restored() {
    let _shared = shared();
    ends_on_signal(libc::SIGTERM);
}

#[test]
fn sigint_ends_it_with_the_terminal_restored() {
    let _shared = shared();
    ends_on_signal(libc::SIGINT);
}

#[test]
fn closing_the_pty_ends_it() {
    let _shared = shared();
    let mut s = start(&[], &[], 80, 24);
    s.wait_for(FIRST_FRAME, GENEROUS);
    s.close_pty();
    assert!(
        s.wait_exit(Duration::from_secs(2)).is_some(),
        "still running 2 s after its terminal went away"
    );
}

/// A short interval keeps refreshes coming: the hangup must still be noticed (it once was
/// checked only when the loop sat idle for a second).
#[test]
fn closing_the_pty_ends_it_even_while_refreshes_stream_in() {
    let _shared = shared();
    let mut s = start(&["--interval", "0.1"], &[], 80, 24);
    s.wait_for(FIRST_FRAME, GENEROUS);
    s.close_pty();
    assert!(
        s.wait_exit(Duration::from_secs(2)).is_some(),
        "still running 2 s after its terminal went away"
    );
}

#[test]
fn hostile_process_names_never_reach_the_terminal_raw() {
    let _shared = shared();
    let name = "\x1b]0;pwned\x07";
    let holder = support::hold(&["--name", name, "--tcp", "127.0.0.1:0"]);
    let port = holder.tcp[0].port();
    let mut s = start(&["--interval", "0.5"], &[], 120, 40);
    s.wait_for(FIRST_DATA, GENEROUS);
    s.send(&format!("/:{port}\r"));
    s.wait_for(r"\x1b]0;pwned\x07", GENEROUS);
    let raw = s.raw_output();
    assert!(
        !raw.windows(5).any(|w| w == b"\x1b]0;p"),
        "a raw OSC from the process name reached the pty"
    );
    assert!(!raw.contains(&0x07), "a raw BEL reached the pty");
}

#[test]
fn an_idle_screen_writes_next_to_nothing() {
    let _solo = SOLO.write().unwrap_or_else(|e| e.into_inner());
    // Idle means nothing changes: other programs on this machine open and close sockets, so
    // run in a network namespace of its own when this system allows one.
    let isolate = [&["unshare", "-n"][..], &["unshare", "-rn"][..]]
        .into_iter()
        .find(|w| {
            std::process::Command::new(w[0])
                .args(&w[1..])
                .arg("true")
                .status()
                .is_ok_and(|s| s.success())
        })
        .unwrap_or(&[]);
    if isolate.is_empty() {
        eprintln!("no network namespace available: other programs' sockets may add bytes");
    }
    let mut s = start_wrapped(isolate, &["--interval", "1"], &[], 200, 50);
    s.wait_for(FIRST_FRAME, GENEROUS);
    thread::sleep(Duration::from_secs(2)); // the first refreshes settle
    let before = s.bytes();
    thread::sleep(Duration::from_secs(10));
    let written = s.bytes() - before;
    eprintln!("idle 10 s at 200x50, 1 s refresh: {written} bytes written");
    assert!(
        written <= 2048,
        "{written} bytes written in 10 s idle at 200x50 with 1 s refresh"
    );
    s.send("q");
    assert!(s.wait_exit(Duration::from_secs(2)).is_some());
}

#[test]
fn dumb_terminals_get_the_plain_table() {
    let _shared = shared();
    let mut s = start(&[], &[("TERM", "dumb")], 80, 24);
    let status = s.wait_exit(GENEROUS).expect("prints and exits");
    assert!(status.success(), "{status:?}");
    let raw = s.raw_output();
    assert!(!raw.contains(&0x1b), "escape sequences on a dumb terminal");
    assert!(!s.on_alternate_screen());
}

#[test]
fn piped_output_gets_the_plain_table() {
    let _shared = shared();
    let holder = support::hold(&["--name", "pstui-pipe", "--tcp", "127.0.0.1:0"]);
    let out = assert_cmd::Command::cargo_bin("portscope")
        .unwrap()
        .env("TERM", "xterm-256color")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.starts_with("PROTO"), "{table}");
    assert!(table.contains("pstui-pipe"), "{table}");
    assert!(table.contains(&holder.tcp[0].port().to_string()));
    assert!(!table.contains('\x1b'));
}

#[test]
fn resizing_redraws_at_the_new_size_and_says_when_too_small() {
    let _shared = shared();
    let s = start(&[], &[], 80, 24);
    s.wait_for(FIRST_FRAME, GENEROUS);
    let resize = |cols, rows| s.resize(cols, rows);
    resize(30, 8);
    s.wait_for("terminal too small", GENEROUS);
    resize(120, 40);
    s.wait_for(FIRST_FRAME, GENEROUS);
    assert!(!s.screen().contains("terminal too small"));
}

#[test]
fn terminating_a_listener_asks_first_and_names_the_process() {
    let _shared = shared();
    let holder = support::hold(&["--name", "pstui-victim", "--tcp", "127.0.0.1:0"]);
    let (pid, port) = (holder.pid(), holder.tcp[0].port());
    let mut s = start(&["--interval", "0.5"], &[], 120, 40);
    s.wait_for(FIRST_DATA, GENEROUS);
    s.send(&format!("/:{port}\r"));
    s.wait_for(&format!("pid          {pid}"), GENEROUS);
    // Any key but y cancels.
    s.send("K");
    s.wait_for(
        &format!("Send SIGTERM to pid {pid} (pstui-victim)?"),
        GENEROUS,
    );
    s.send("n");
    s.wait_for("nothing was signalled", GENEROUS);
    assert!(alive(pid), "cancelled, yet the process is gone");
    s.send("K");
    s.wait_for(
        &format!("Send SIGTERM to pid {pid} (pstui-victim)?"),
        GENEROUS,
    );
    s.send("y");
    s.wait_for(&format!("sent SIGTERM to pid {pid}"), GENEROUS);
    let until = Instant::now() + Duration::from_secs(5);
    while alive(pid) && Instant::now() < until {
        thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(pid), "pid {pid} still running after SIGTERM");
}

/// Running (not exited, not a zombie waiting to be reaped).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            let state = stat[stat.rfind(')').unwrap() + 2..].chars().next();
            state != Some('Z')
        })
        .unwrap_or(false)
}
