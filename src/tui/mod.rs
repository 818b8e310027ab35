//! The full-screen explorer. This module owns the terminal and the threads; the logic is in
//! `state` (pure), the keys in `action`, the drawing in `view`. It must not collect sockets or
//! judge them itself: snapshots come through the `Collector` seam, hints from `hints`.

use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::time::Duration;

use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use crate::commands::{CmdResult, Context, Failure};
use crate::registry::Registry;
use crate::sockets::collect::CollectOptions;
use crate::sockets::{Collector, SystemCollector};

mod action;
mod event;
mod state;
mod terminal;
mod view;

// What tests and benchmarks drive: the state, its actions, and drawing into any backend.
pub use action::HELP;
pub use state::{Action, App, Refresh};
pub use view::{badge, draw, Scroll, Theme};

use action::action_for;
use state::Effect;
use view::Drawn;

use event::{Control, Msg, Source};

/// `portscope` with no arguments: this machine's sockets, refreshed every `interval` seconds.
pub fn run_live(ctx: &Context, interval: f64) -> CmdResult {
    if !(interval.is_finite() && (0.1..=3600.0).contains(&interval)) {
        return Err(Failure::Usage(format!(
            "--interval must be between 0.1 and 3600 seconds, got {interval}"
        )));
    }
    if !terminal_available() {
        return crate::commands::list_default(ctx);
    }
    let collector = SystemCollector::new(CollectOptions::default());
    run(
        ctx,
        Source::Live(Box::new(collector)),
        Some(Duration::from_secs_f64(interval)),
        "live",
        false,
        None,
    )
}

/// The explorer on any collector: `refresh` `None` collects once (a saved snapshot); `title`
/// names the source in the header; `read_only` disables pausing, refreshing and signalling.
/// Without a terminal (see [`terminal_available`]) it fails with a usage error: the caller
/// prints its own plain table instead.
pub fn run_with(
    ctx: &Context,
    collector: Box<dyn Collector>,
    refresh: Option<Duration>,
    title: &str,
    read_only: bool,
) -> CmdResult {
    run(
        ctx,
        Source::Other(collector),
        refresh,
        title,
        read_only,
        None,
    )
}

/// The explorer on another host's collector (`portscope ssh`): the header names `host` and how
/// long ago its state was last confirmed; a lost connection shows in the status line and `r`
/// reconnects.
pub fn run_remote(
    ctx: &Context,
    collector: Box<dyn Collector>,
    refresh: Duration,
    host: &str,
) -> CmdResult {
    let title = format!("ssh {host}");
    run(
        ctx,
        Source::Other(collector),
        Some(refresh),
        &title,
        false,
        Some(host.to_string()),
    )
}

/// Like [`terminal_available`], but standard input may be a pipe (`… | portscope view -`):
/// keys are then read from the controlling terminal, `/dev/tty`, as `less` does.
pub fn terminal_available_for_keys_from_tty() -> bool {
    io::stdout().is_terminal()
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
        && (io::stdin().is_terminal() || std::fs::File::open("/dev/tty").is_ok())
}

/// Whether this terminal can host the explorer: standard input and output are terminals and
/// `TERM` is not `dumb`. Otherwise print a plain table.
pub fn terminal_available() -> bool {
    io::stdin().is_terminal()
        && io::stdout().is_terminal()
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

fn run(
    ctx: &Context,
    source: Source,
    refresh: Option<Duration>,
    title: &str,
    read_only: bool,
    remote: Option<String>,
) -> CmdResult {
    if !terminal_available_for_keys_from_tty() {
        return Err(Failure::Usage(
            "the explorer needs a terminal (standard output is not one, or TERM=dumb)".into(),
        ));
    }
    // The registry lives as long as the process: the collector thread and the UI share it.
    let registry: &'static Registry = Box::leak(Box::new(ctx.registry()?));
    let interval = refresh.map_or(0.0, |d| d.as_secs_f64());
    let mut app = App::new(registry, title, read_only, interval);
    app.remote = remote;

    let (tx, rx) = event::channel();
    event::spawn_signals(tx.clone())?;
    let guard = terminal::TerminalGuard::enter()?;
    // A failure here drops the guard, which restores the terminal before the error prints.
    let control = event::spawn_collector(tx.clone(), source, registry, refresh)?;
    event::spawn_input(tx)?;

    let mut term = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    let theme = Theme::from_env();
    let mut scroll = Scroll::default();
    let outcome = loop {
        if !terminal::active() {
            break Ending::CollectorDied; // a panic restored the terminal: draw nothing more
        }
        if app.dirty {
            let mut drawn = Drawn::default();
            if term
                .draw(|frame| drawn = view::draw(frame, &app, theme, &mut scroll))
                .is_err()
            {
                break Ending::HungUp; // EIO: the terminal is gone
            }
            app.dirty = false;
            app.update(Action::Viewport {
                listeners: drawn.listeners,
                registry: drawn.registry,
            });
        }
        // Wait for something to happen; wake once a second only to notice a silent hangup.
        let first = match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(msg) => msg,
            Err(_) if terminal::hung_up() => break Ending::HungUp,
            Err(_) => continue,
        };
        // Apply everything queued before drawing again, so a burst of keys draws once.
        let mut ending = None;
        for msg in std::iter::once(first).chain(rx.try_iter()) {
            if let Some(end) = handle(&mut app, msg, &control) {
                ending = Some(end);
                break;
            }
        }
        if let Some(end) = ending {
            break end;
        }
    };
    drop(term);
    drop(guard);
    match outcome {
        Ending::Quit => Ok(ExitCode::SUCCESS),
        Ending::HungUp => Ok(ExitCode::from(129)),
        Ending::Signal(sig) => Ok(ExitCode::from(128 + sig as u8)),
        Ending::CollectorDied => Err(Failure::Runtime(anyhow::anyhow!(
            "the collector thread failed (see the message above)"
        ))),
    }
}

enum Ending {
    Quit,
    HungUp,
    Signal(i32),
    CollectorDied,
}

fn handle(app: &mut App, msg: Msg, control: &std::sync::mpsc::Sender<Control>) -> Option<Ending> {
    let action = match msg {
        Msg::Key(key) => action_for(&app.mode, key)?,
        Msg::Redraw => {
            app.dirty = true;
            return None;
        }
        Msg::Refreshed(refresh) => Action::Refreshed(refresh),
        Msg::CollectFailed(err) => Action::CollectFailed(err),
        Msg::CollectorDied => return Some(Ending::CollectorDied),
        Msg::InputLost => return Some(Ending::HungUp),
        Msg::Signal(sig) => return Some(Ending::Signal(sig)),
    };
    let effect = app.update(action)?;
    let send = |c| {
        let _ = control.send(c);
    };
    match effect {
        Effect::Quit => return Some(Ending::Quit),
        Effect::RefreshNow => send(Control::RefreshNow),
        Effect::SetPaused(p) => send(Control::Pause(p)),
        Effect::IncludeConnections(on) => send(Control::IncludeConnections(on)),
        Effect::Terminate { pid, start_time } => {
            let notice = terminate(pid, start_time);
            app.update(Action::Notice(notice));
        }
    }
    None
}

/// Send SIGTERM to `pid`, unless it now belongs to another process (its start time changed).
fn terminate(pid: u32, start_time: Option<u64>) -> String {
    if let Some(expected) = start_time {
        match process_start_time(pid) {
            Some(now) if expected.abs_diff(now) <= 2 => {}
            Some(_) => return format!("pid {pid} is now another process: nothing was signalled"),
            None => {
                return format!("pid {pid} has exited or cannot be checked: nothing was signalled")
            }
        }
    }
    let Ok(raw) = libc::pid_t::try_from(pid) else {
        return format!("pid {pid} is out of range: nothing was signalled");
    };
    // SAFETY: kill(2) with a plain pid and signal number.
    if unsafe { libc::kill(raw, libc::SIGTERM) } == 0 {
        format!("sent SIGTERM to pid {pid}")
    } else {
        let err = io::Error::last_os_error();
        let fix = if err.raw_os_error() == Some(libc::EPERM) {
            ": run as its user or root"
        } else {
            ""
        };
        format!("cannot signal pid {pid}: {err}{fix}")
    }
}

/// Start time of a process in seconds since the epoch, from /proc (Linux).
fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let ticks: u64 = rest.split(' ').nth(19)?.parse().ok()?;
    let boot: u64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| boot + ticks / hz as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_start_time_is_read_from_proc() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let started = process_start_time(std::process::id()).expect("own /proc entry");
        assert!(
            started <= now + 1 && now - started < 3600,
            "{started} vs {now}"
        );
    }

    #[test]
    fn a_reused_pid_is_not_signalled() {
        let me = std::process::id();
        let msg = terminate(me, Some(1));
        assert!(msg.contains("another process"), "{msg}");
    }
}
