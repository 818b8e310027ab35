//! The one terminal guard: raw mode, the alternate screen and the hidden cursor are entered
//! here and left here — on drop, on a panic in any thread (a hook chained before the previous
//! one, so the panic message still prints once, on a restored screen), and by the runtime on
//! SIGTERM, SIGHUP, SIGINT and SIGQUIT (on Unix; see `event::spawn_signals` for Windows). Restoring
//! twice is harmless: only the first call writes.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use crossterm::cursor::Hide;
use crossterm::cursor::Show;
use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};

static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

pub struct TerminalGuard {
    _private: (),
}

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore();
                previous(info);
            }));
        });
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        // Bracketed paste: pasted text arrives as one event, never as keys (a pasted "Ky"
        // must not confirm a signal).
        execute!(
            io::stdout(),
            EnterAlternateScreen,
            Hide,
            EnableBracketedPaste
        )?;
        Ok(TerminalGuard { _private: () })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leave raw mode and the alternate screen and show the cursor, once. Errors are ignored: after
/// a hangup there is no terminal left to restore.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        let _ = execute!(out, DisableBracketedPaste, LeaveAlternateScreen, Show);
        let _ = out.flush();
        let _ = disable_raw_mode();
    }
}

/// False once the terminal was restored, e.g. by a panic on another thread: stop drawing.
pub fn active() -> bool {
    ACTIVE.load(Ordering::SeqCst)
}

/// True when the terminal went away (the SSH connection dropped, the pty master closed): the
/// tty reports a hangup. Checked while idle, since crossterm may never say so (crossterm #793).
#[cfg(unix)]
pub fn hung_up() -> bool {
    // Standard output, not input: the explorer always draws on a terminal, but its input may be
    // a pipe at end of file (`… | portscope view -`, keys then come from /dev/tty).
    let mut fds = [libc::pollfd {
        fd: libc::STDOUT_FILENO,
        events: 0,
        revents: 0,
    }];
    // SAFETY: one valid pollfd, zero timeout.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, 0) };
    n > 0 && fds[0].revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
}

/// A Windows console does not hang up under a running process: closing it ends the process.
#[cfg(not(unix))]
pub fn hung_up() -> bool {
    false
}
