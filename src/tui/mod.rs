//! The full-screen explorer. This module owns the terminal and the threads; the logic is in
//! `state` (pure), the keys in `action`, the drawing in `view`, and the loop that joins them in
//! [`run_session`], which takes every input injected (messages, a terminal backend, the
//! liveness check and the signal sender) so a whole session runs in a test without a pty. It
//! must not collect sockets or judge them itself: snapshots come through the `Collector` seam,
//! words from `report`. It knows nothing of the commands: whether to open at all (a terminal is
//! needed) is the caller's decision.

use std::io::{self, IsTerminal};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::Terminal;

use crate::registry::Registry;
use crate::sockets::collect::CollectOptions;
use crate::sockets::{Collector, SystemCollector};

mod action;
mod event;
pub mod fleet;
mod process;
mod state;
mod terminal;
mod view;

// What tests and benchmarks drive: the state, its actions, the session loop and drawing into
// any backend.
pub use action::{action_for, HELP};
pub use event::{spawn_collector, Control, Msg, Source};
pub use state::{Action, App, Effect, Mode, Pane, Refresh, Target};
pub use view::{badge, draw, Scroll, Theme};

use view::Drawn;

/// Why the explorer could not run, or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("--interval must be between 0.1 and 3600 seconds, got {0}")]
    BadInterval(f64),
    #[error("the explorer needs a terminal (standard output is not one, or TERM=dumb)")]
    NoTerminal,
    #[error("the terminal failed: {0}")]
    Io(#[from] io::Error),
    #[error("the collector thread failed (see the message above)")]
    CollectorDied,
}

impl TuiError {
    /// A mistake on the command line, not a failure while running.
    pub fn is_usage(&self) -> bool {
        matches!(self, TuiError::BadInterval(_) | TuiError::NoTerminal)
    }
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Quit,
    HungUp,
    Signal(i32),
    CollectorDied,
    /// Ctrl-C in an explorer opened from the fleet view: end the whole session, not only the
    /// explorer (q and Esc go back).
    Interrupted,
}

impl Ending {
    /// The exit status, as a shell reports a signal: 128 + its number (129 for a hangup).
    pub fn exit_code(self) -> u8 {
        match self {
            Ending::Quit | Ending::Interrupted => 0,
            Ending::HungUp => 129,
            Ending::Signal(sig) => 128u8.saturating_add(sig as u8),
            Ending::CollectorDied => 1,
        }
    }
}

/// `portscope` with no arguments: this machine's sockets, refreshed every `interval` seconds,
/// listeners marked by `marker`'s expected-listeners file when there is one (the caller loads
/// it, so a broken file is reported before the terminal is touched).
pub fn run_live(
    registry: Registry,
    interval: f64,
    marker: Option<crate::policy::Marker>,
) -> Result<Ending, TuiError> {
    check_interval(interval)?;
    let collector = SystemCollector::new(CollectOptions::default());
    run(
        registry,
        Source::Live(Box::new(collector)),
        Some(Duration::from_secs_f64(interval)),
        "live",
        false,
        None,
        marker,
    )
}

/// The refresh interval must be sane: 0.1 s to an hour.
pub fn check_interval(interval: f64) -> Result<(), TuiError> {
    if interval.is_finite() && (0.1..=3600.0).contains(&interval) {
        Ok(())
    } else {
        Err(TuiError::BadInterval(interval))
    }
}

/// The explorer on any collector: `refresh` `None` collects once (a saved snapshot); `title`
/// names the source in the header; `read_only` disables pausing, refreshing and signalling.
pub fn run_with(
    registry: Registry,
    collector: Box<dyn Collector>,
    refresh: Option<Duration>,
    title: &str,
    read_only: bool,
) -> Result<Ending, TuiError> {
    run(
        registry,
        Source::Other(collector),
        refresh,
        title,
        read_only,
        None,
        None,
    )
}

/// The explorer on another host's collector (`portscope ssh`): the header names `host` and how
/// long ago its state was last confirmed; a lost connection shows in the status line and `r`
/// reconnects.
pub fn run_remote(
    registry: Registry,
    collector: Box<dyn Collector>,
    refresh: Duration,
    host: &str,
) -> Result<Ending, TuiError> {
    let title = format!("ssh {host}");
    run(
        registry,
        Source::Other(collector),
        Some(refresh),
        &title,
        false,
        Some(host.to_string()),
        None,
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
/// `TERM` is not `dumb`. Otherwise the caller prints a plain table.
pub fn terminal_available() -> bool {
    io::stdin().is_terminal()
        && io::stdout().is_terminal()
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

fn run(
    registry: Registry,
    source: Source,
    refresh: Option<Duration>,
    title: &str,
    read_only: bool,
    remote: Option<String>,
    marker: Option<crate::policy::Marker>,
) -> Result<Ending, TuiError> {
    if !terminal_available_for_keys_from_tty() {
        return Err(TuiError::NoTerminal);
    }
    // The registry lives as long as the process: the collector thread and the UI share it.
    let registry: &'static Registry = Box::leak(Box::new(registry));
    let interval = refresh.map_or(0.0, |d| d.as_secs_f64());
    let mut app = App::new(registry, title, read_only, interval);
    app.remote = remote;
    if matches!(source, Source::Live(_)) {
        app.set_reach(Box::new(crate::exposure::LiveReach::new()));
    }
    if let Some(marker) = marker {
        app.set_marker(marker);
    }

    let (tx, rx) = event::channel();
    event::spawn_signals(tx.clone())?;
    let guard = terminal::TerminalGuard::enter()?;
    // A failure here drops the guard, which restores the terminal before the error prints.
    let control = event::spawn_collector(tx.clone(), source, registry, refresh)?;
    event::spawn_input(tx)?;

    let mut term = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    let outside = Outside {
        restored: &|| !terminal::active(),
        hung_up: &terminal::hung_up,
        terminate: &process::terminate,
        theme: Theme::from_env(),
    };
    let ending = run_session(&mut app, &mut term, &rx, &control, &outside);
    drop(term);
    drop(guard);
    match ending {
        Ending::CollectorDied => Err(TuiError::CollectorDied),
        other => Ok(other),
    }
}

/// What a session needs from outside the state: whether the terminal is still there, how to
/// signal a process, and the colours.
pub struct Outside<'a> {
    /// True once a panic elsewhere restored the terminal: draw nothing more.
    pub restored: &'a dyn Fn() -> bool,
    /// True once the terminal is gone (the SSH connection dropped, the pty closed).
    pub hung_up: &'a dyn Fn() -> bool,
    /// End a process if it is still the one shown (see [`Target`]); returns what to tell the
    /// user.
    pub terminate: &'a dyn Fn(&Target) -> String,
    pub theme: Theme,
}

/// The explorer's loop: draw when something changed, wait for a message, apply it. Every input
/// comes through `rx` (keys, pastes, refreshes, signals), so a test drives a whole session by
/// sending messages and reading `term`'s buffer.
pub fn run_session<B: Backend>(
    app: &mut App,
    term: &mut Terminal<B>,
    rx: &Receiver<Msg>,
    control: &Sender<Control>,
    outside: &Outside,
) -> Ending {
    let mut scroll = Scroll::default();
    loop {
        if (outside.restored)() {
            return Ending::CollectorDied;
        }
        if (outside.hung_up)() {
            return Ending::HungUp;
        }
        if app.dirty {
            let mut drawn = Drawn::default();
            if term
                .draw(|frame| drawn = view::draw(frame, app, outside.theme, &mut scroll))
                .is_err()
            {
                return Ending::HungUp; // EIO: the terminal is gone
            }
            app.dirty = false;
            app.update(Action::Viewport {
                listeners: drawn.listeners,
                registry: drawn.registry,
                detail_max_scroll: drawn.detail_max_scroll,
            });
        }
        // Wait for something to happen; wake once a second to notice a silent hangup and to
        // age a notice (an idle screen without one writes nothing).
        let first = match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(msg) => msg,
            Err(RecvTimeoutError::Timeout) => Msg::Tick,
            Err(RecvTimeoutError::Disconnected) => return Ending::HungUp,
        };
        // Apply everything queued before drawing again, so a burst of keys draws once.
        for msg in std::iter::once(first).chain(rx.try_iter()) {
            if let Some(end) = handle(app, msg, control, outside) {
                return end;
            }
        }
    }
}

fn handle(app: &mut App, msg: Msg, control: &Sender<Control>, outside: &Outside) -> Option<Ending> {
    let action = match msg {
        Msg::Key(key) if app.nested && action::is_interrupt(key) => {
            return Some(Ending::Interrupted)
        }
        Msg::Key(key) => action_for(&app.mode, key)?,
        Msg::Paste(text) => Action::Paste(text),
        Msg::Tick => Action::Tick,
        Msg::Redraw => {
            app.dirty = true;
            return None;
        }
        Msg::Refreshed(refresh) => Action::Refreshed(refresh),
        Msg::Described(inode, facts) => Action::Described(inode, facts),
        Msg::CollectFailed(err) => Action::CollectFailed(err),
        Msg::CollectorDied => return Some(Ending::CollectorDied),
        Msg::InputLost => return Some(Ending::HungUp),
        Msg::Signal(sig) => return Some(Ending::Signal(sig)),
    };
    let effect = app.update(action);
    let send = |c| {
        let _ = control.send(c);
    };
    if let Some(socket) = app.take_describe() {
        send(Control::Describe(Box::new(socket)));
    }
    let effect = effect?;
    match effect {
        Effect::Quit => return Some(Ending::Quit),
        Effect::RefreshNow => send(Control::RefreshNow),
        Effect::SetPaused(p) => send(Control::Pause(p)),
        Effect::IncludeConnections(on) => send(Control::IncludeConnections(on)),
        Effect::Terminate(target) => {
            let notice = (outside.terminate)(&target);
            app.update(Action::Notice(notice));
        }
    }
    None
}
