//! A panic while the explorer runs (here: in the collector thread) restores the terminal, prints
//! the panic message once, and exits non-zero. The binary re-runs itself in a pseudo-terminal:
//! as the child it runs the explorer on a collector that panics; as the parent it watches.

use std::io::Read;
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use portscope::sockets::{CollectError, Collector, Snapshot};

const CHILD: &str = "PORTSCOPE_PANIC_TEST_CHILD";
const MESSAGE: &str = "collector exploded on purpose";

struct Exploding;

impl Collector for Exploding {
    fn collect(&mut self) -> Result<Snapshot, CollectError> {
        std::thread::sleep(Duration::from_millis(300)); // let the first frame be drawn
        panic!("{MESSAGE}");
    }
}

fn main() {
    if std::env::var_os(CHILD).is_some() {
        let registry = portscope::registry::Registry::embedded();
        let result = portscope::tui::run_with(registry, Box::new(Exploding), None, "test", true);
        std::process::exit(match result {
            Ok(_) => 0,
            Err(_) => 1,
        });
    }

    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("open a pty");
    let mut cmd = CommandBuilder::new(std::env::current_exe().unwrap());
    cmd.env(CHILD, "1");
    cmd.env("TERM", "xterm-256color");
    cmd.env("RUST_BACKTRACE", "0");
    let mut child = pair.slave.spawn_command(cmd).expect("spawn the child");
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let collected = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        all
    });

    let until = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < until,
            "the child did not exit after its collector panicked"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(pair.master);
    let raw = collected.join().unwrap();
    let mut parser = vt100::Parser::new(24, 80, 0);
    parser.process(&raw);
    let screen = parser.screen();
    let text = String::from_utf8_lossy(&raw);

    assert!(
        !status.success(),
        "a panic must end with a non-zero exit: {status:?}"
    );
    assert!(!screen.alternate_screen(), "left on the alternate screen");
    assert!(!screen.hide_cursor(), "cursor left hidden");
    assert_eq!(
        text.matches(MESSAGE).count(),
        1,
        "panic message not printed exactly once:\n{text}"
    );
    // The message comes after the screen was restored, so it is readable.
    let left = text.rfind("\x1b[?1049l").expect("alternate screen left");
    assert!(
        text.find(MESSAGE).unwrap() > left,
        "message printed before the screen was restored"
    );
    println!("tui_panic: ok (terminal restored, message printed once, {status:?})");
}
