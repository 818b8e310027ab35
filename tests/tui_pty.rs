//! The real binary in a pseudo-terminal, read through a vt100 screen parser: it starts, shows a
//! listener this test opened, searches, quits; signals and a closed pty end it with the terminal
//! restored; hostile process names never put a raw ESC from data into the stream; an idle screen
//! writes next to nothing.

mod support;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};

/// Tests in this binary run in parallel and open listeners; the idle-bandwidth test must not see
/// them come and go, so it runs alone (write lock) while the others share (read lock).
static SOLO: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    SOLO.read().unwrap_or_else(|e| e.into_inner())
}

struct Session {
    child: Box<dyn Child + Send + Sync>,
    master: Option<Box<dyn MasterPty + Send>>,
    writer: Option<Box<dyn Write + Send>>,
    raw: Arc<Mutex<Vec<u8>>>,
    parser: Arc<Mutex<vt100::Parser>>,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
}

fn start(args: &[&str], envs: &[(&str, &str)], cols: u16, rows: u16) -> Session {
    start_wrapped(&[], args, envs, cols, rows)
}

/// `wrapper` runs first (`unshare -n`), with the binary and `args` after it.
fn start_wrapped(
    wrapper: &[&str],
    args: &[&str],
    envs: &[(&str, &str)],
    cols: u16,
    rows: u16,
) -> Session {
    let pair = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("open a pty");
    let bin = env!("CARGO_BIN_EXE_portscope");
    let mut cmd = match wrapper.split_first() {
        Some((first, rest)) => {
            let mut cmd = CommandBuilder::new(first);
            cmd.args(rest);
            cmd.arg(bin);
            cmd
        }
        None => CommandBuilder::new(bin),
    };
    cmd.args(args);
    cmd.env("TERM", "xterm-256color");
    cmd.env_remove("NO_COLOR");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let child = pair.slave.spawn_command(cmd).expect("spawn portscope");
    drop(pair.slave);
    // Non-blocking reads, so the reader thread can let go of its copy of the master when asked
    // (the "pty closed" test needs every master descriptor closed).
    let fd = pair.master.as_raw_fd().expect("a unix pty");
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    let mut reader = pair.master.try_clone_reader().expect("pty reader");
    let writer = pair.master.take_writer().expect("pty writer");
    let raw = Arc::new(Mutex::new(Vec::new()));
    let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (raw, parser, stop) = (raw.clone(), parser.clone(), stop.clone());
        thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while !stop.load(Ordering::SeqCst) {
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        raw.lock().unwrap().extend_from_slice(&buf[..n]);
                        parser.lock().unwrap().process(&buf[..n]);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => break, // EIO: the child side is gone
                }
            }
        })
    };
    Session {
        child,
        master: Some(pair.master),
        writer: Some(writer),
        raw,
        parser,
        stop,
        reader: Some(reader),
    }
}

impl Session {
    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    fn bytes(&self) -> usize {
        self.raw.lock().unwrap().len()
    }

    fn wait_for(&self, what: &str, within: Duration) {
        let until = Instant::now() + within;
        while Instant::now() < until {
            if self.screen().contains(what) {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{what:?} not on screen after {within:?}:\n{}",
            self.screen()
        );
    }

    fn send(&mut self, keys: &str) {
        let w = self.writer.as_mut().expect("pty open");
        w.write_all(keys.as_bytes()).unwrap();
        w.flush().unwrap();
    }

    fn pid(&self) -> i32 {
        self.child.process_id().expect("child pid") as i32
    }

    /// Waits for the child to exit; `None` if it is still running after `within`.
    fn wait_exit(&mut self, within: Duration) -> Option<portable_pty::ExitStatus> {
        let until = Instant::now() + within;
        while Instant::now() < until {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader drain the last bytes the child wrote.
                thread::sleep(Duration::from_millis(100));
                return Some(status);
            }
            thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Alternate screen left and cursor shown, as the parser saw the stream end.
    fn assert_restored(&self) {
        let parser = self.parser.lock().unwrap();
        let screen = parser.screen();
        assert!(!screen.alternate_screen(), "still on the alternate screen");
        assert!(!screen.hide_cursor(), "cursor left hidden");
    }

    fn close_pty(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        self.writer = None;
        self.master = None;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.close_pty();
    }
}

/// The first frame is up when the listener pane has its column names.
const FIRST_FRAME: &str = "proto address";
const GENEROUS: Duration = Duration::from_secs(15);
/// The first snapshot has arrived when the header names the host (it says "collecting…" before).
const FIRST_DATA: &str = "portscope  host ";

#[test]
fn shows_a_listener_we_opened_searches_and_quits_cleanly() {
    let _shared = shared();
    let holder = support::hold(&["--name", "pstui-probe", "--tcp", "127.0.0.1:0"]);
    let port = holder.tcp[0].port();
    let mut s = start(&["--interval", "0.5"], &[], 120, 40);
    s.wait_for(FIRST_FRAME, GENEROUS);
    s.wait_for(FIRST_DATA, GENEROUS);
    // Its port in the registry pane, then `l` jumps to the live socket on it.
    s.send(&format!("/{port}\r"));
    s.wait_for(&format!("/ {port}"), GENEROUS);
    s.send("l");
    s.wait_for("pstui-probe", GENEROUS);
    s.wait_for(&format!("pid          {}", holder.pid()), GENEROUS);
    // Search the registry.
    // Esc clears the port search. (Wait for it: a lone ESC read together with the next key
    // would be Alt+key.)
    s.send("\x1b");
    s.wait_for("/ to search by name", GENEROUS);
    s.send("/redis");
    s.wait_for("6379/tcp", GENEROUS);
    s.wait_for("An advanced key-value", GENEROUS);
    s.send("\r");
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

#[test]
fn hostile_process_names_never_reach_the_terminal_raw() {
    let _shared = shared();
    let name = "\x1b]0;pwned\x07";
    let holder = support::hold(&["--name", name, "--tcp", "127.0.0.1:0"]);
    let port = holder.tcp[0].port();
    let mut s = start(&["--interval", "0.5"], &[], 120, 40);
    s.wait_for(FIRST_DATA, GENEROUS);
    s.send(&format!("/{port}\r"));
    s.wait_for(&format!("/ {port}"), GENEROUS);
    s.send("l");
    s.wait_for(r"\x1b]0;pwned\x07", GENEROUS);
    let raw = s.raw.lock().unwrap().clone();
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
    let raw = s.raw.lock().unwrap().clone();
    assert!(!raw.contains(&0x1b), "escape sequences on a dumb terminal");
    assert!(!s.parser.lock().unwrap().screen().alternate_screen());
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
    let resize = |cols, rows| {
        s.master
            .as_ref()
            .unwrap()
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        s.parser.lock().unwrap().screen_mut().set_size(rows, cols);
    };
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
    s.send(&format!("/{port}\r"));
    s.wait_for(&format!("/ {port}"), GENEROUS);
    s.send("l");
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
