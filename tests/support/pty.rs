//! The real binary in a pseudo-terminal, its output read through a vt100 screen parser: what a
//! user at a terminal (or at the far end of `ssh -t`) sees.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};

pub struct Session {
    child: Box<dyn Child + Send + Sync>,
    master: Option<Box<dyn MasterPty + Send>>,
    writer: Option<Box<dyn Write + Send>>,
    raw: Arc<Mutex<Vec<u8>>>,
    parser: Arc<Mutex<vt100::Parser>>,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
}

pub fn start(args: &[&str], envs: &[(&str, &str)], cols: u16, rows: u16) -> Session {
    start_wrapped(&[], args, envs, cols, rows)
}

/// `wrapper` runs first (`unshare -n`, `ssh -t host`), with the binary and `args` after it.
pub fn start_wrapped(
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
    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    pub fn bytes(&self) -> usize {
        self.raw.lock().unwrap().len()
    }

    pub fn wait_for(&self, what: &str, within: Duration) {
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

    pub fn send(&mut self, keys: &str) {
        let w = self.writer.as_mut().expect("pty open");
        w.write_all(keys.as_bytes()).unwrap();
        w.flush().unwrap();
    }

    pub fn pid(&self) -> i32 {
        self.child.process_id().expect("child pid") as i32
    }

    /// Waits for the child to exit; `None` if it is still running after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> Option<portable_pty::ExitStatus> {
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
    pub fn assert_restored(&self) {
        let parser = self.parser.lock().unwrap();
        let screen = parser.screen();
        assert!(!screen.alternate_screen(), "still on the alternate screen");
        assert!(!screen.hide_cursor(), "cursor left hidden");
    }

    /// The terminal's line discipline is back to cooked: canonical input and echo on (what raw
    /// mode turns off). The master shares the slave's termios on Linux.
    pub fn assert_cooked(&self) {
        let fd = self
            .master
            .as_ref()
            .expect("pty open")
            .as_raw_fd()
            .expect("a unix pty");
        // SAFETY: tcgetattr fills a zeroed termios for a descriptor we own.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::tcgetattr(fd, &mut t) }, 0, "tcgetattr");
        assert!(
            t.c_lflag & libc::ICANON != 0,
            "terminal left in raw mode (ICANON off)"
        );
        assert!(t.c_lflag & libc::ECHO != 0, "terminal left without echo");
    }

    /// Every byte the program wrote to the terminal so far.
    pub fn raw_output(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// Whether the terminal is on the alternate screen now.
    pub fn on_alternate_screen(&self) -> bool {
        self.parser.lock().unwrap().screen().alternate_screen()
    }

    /// Resize the terminal, as a user dragging the window would; the screen parser follows.
    pub fn resize(&self, cols: u16, rows: u16) {
        let size = PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        };
        self.master
            .as_ref()
            .expect("pty open")
            .resize(size)
            .expect("resize the pty");
        self.parser
            .lock()
            .unwrap()
            .screen_mut()
            .set_size(rows, cols);
    }

    pub fn close_pty(&mut self) {
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
