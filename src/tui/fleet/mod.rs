//! The fleet view (`portscope view DIR`): listener kinds across many hosts' snapshots, with
//! counts and outliers, and a drill-down into one host's explorer (the read-only snapshot
//! explorer, as `view FILE` opens it) from which q or Esc comes back. Pure state in `state`, keys
//! in `action`, drawing in `view`, and the loop that joins them in [`run_fleet_session`], which
//! takes every input injected (as [`super::run_session`] does) so a whole fleet session runs in
//! a test.
//!
//! Owns the fleet screens; must not read a directory or decide what a bad file means (that is
//! `remote::fleet`, called by the command), nor change the explorer it opens beyond marking it
//! nested.

use std::io;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::Terminal;

use super::state::{Action, App, Refresh};
use super::{Ending, Msg, Outside, TuiError};
use crate::registry::Registry;
use crate::remote::fleet::Fleet;

mod action;
mod state;
mod view;

pub use action::{fleet_action_for, FLEET_HELP};
pub use state::{FleetAction, FleetApp, FleetEffect, FleetMode, FleetPane, FleetSort, HostRow};
pub use view::{draw_fleet, FleetDrawn, FleetScroll};

/// `portscope view DIR` in a terminal: the fleet view until q.
pub fn run_fleet(registry: Registry, fleet: Fleet, source: &str) -> Result<Ending, TuiError> {
    if !super::terminal_available() {
        return Err(TuiError::NoTerminal);
    }
    let registry: &'static Registry = Box::leak(Box::new(registry));
    let mut app = FleetApp::new(fleet, source);
    let (tx, rx) = super::event::channel();
    super::event::spawn_signals(tx.clone())?;
    let guard = super::terminal::TerminalGuard::enter()?;
    super::event::spawn_input(tx)?;
    let mut term = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    let outside = Outside {
        restored: &|| !super::terminal::active(),
        hung_up: &super::terminal::hung_up,
        // Saved snapshots are read-only: the explorer never asks to signal.
        terminate: &|target| {
            format!(
                "pid {} is in a saved snapshot: nothing was signalled",
                target.pid
            )
        },
        theme: super::Theme::from_env(),
    };
    let ending = run_fleet_session(&mut app, &mut term, &rx, &outside, registry);
    drop(term);
    drop(guard);
    match ending {
        Ending::CollectorDied => Err(TuiError::CollectorDied),
        other => Ok(other),
    }
}

/// The fleet view's loop: draw when something changed, wait for a message, apply it; on Enter
/// over a host, run that host's explorer ([`super::run_session`]) on the same terminal and
/// messages, and come back when it quits. Ctrl-C in the explorer ends the whole session.
pub fn run_fleet_session<B: Backend>(
    app: &mut FleetApp,
    term: &mut Terminal<B>,
    rx: &Receiver<Msg>,
    outside: &Outside,
    registry: &'static Registry,
) -> Ending {
    let mut scroll = FleetScroll::default();
    loop {
        if (outside.restored)() {
            return Ending::CollectorDied;
        }
        if (outside.hung_up)() {
            return Ending::HungUp;
        }
        if app.dirty {
            let mut drawn = FleetDrawn::default();
            if term
                .draw(|frame| drawn = draw_fleet(frame, app, outside.theme, &mut scroll))
                .is_err()
            {
                return Ending::HungUp;
            }
            app.dirty = false;
            app.update(FleetAction::Viewport {
                kinds: drawn.kinds,
                hosts: drawn.hosts,
            });
        }
        let first = match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(msg) => msg,
            Err(RecvTimeoutError::Timeout) => Msg::Tick,
            Err(RecvTimeoutError::Disconnected) => return Ending::HungUp,
        };
        // Apply what is queued before drawing again. The chain takes from `rx` lazily, so keys
        // queued behind an Enter that opens a host stay there for that host's explorer.
        for msg in std::iter::once(first).chain(rx.try_iter()) {
            let action = match msg {
                Msg::Key(key) => match fleet_action_for(app.mode, key) {
                    Some(a) => a,
                    None => continue,
                },
                Msg::Paste(text) => FleetAction::Paste(text),
                Msg::Tick => FleetAction::Tick,
                Msg::Redraw => {
                    app.dirty = true;
                    continue;
                }
                // No collector runs under the fleet view; a late word from one is ignored.
                Msg::Refreshed(_)
                | Msg::CollectFailed(_)
                | Msg::CollectorDied
                | Msg::Described(..) => continue,
                Msg::InputLost => return Ending::HungUp,
                Msg::Signal(sig) => return Ending::Signal(sig),
            };
            match app.update(action) {
                None => {}
                Some(FleetEffect::Quit) => return Ending::Quit,
                Some(FleetEffect::OpenHost { host, port }) => {
                    match explore_host(app, host, port, term, rx, outside, registry) {
                        // Back: the explorer drew over everything.
                        Ending::Quit => app.dirty = true,
                        Ending::Interrupted => return Ending::Quit,
                        other => return other,
                    }
                }
            }
        }
    }
}

/// One host's explorer, read-only, on the shared terminal; returns how it ended (`Quit` means
/// back to the fleet). A snapshot that no longer opens is a notice, not an ending.
fn explore_host<B: Backend>(
    fleet: &mut FleetApp,
    host: usize,
    port: Option<u16>,
    term: &mut Terminal<B>,
    rx: &Receiver<Msg>,
    outside: &Outside,
    registry: &'static Registry,
) -> Ending {
    let path = fleet.host(host).path.clone();
    let snapshot = crate::files::read_capped(&path, crate::files::SNAPSHOT_LIMIT, "a snapshot")
        .map_err(|e| e.to_string())
        .and_then(|bytes| {
            crate::sockets::FixtureCollector::from_json(&bytes, "").map_err(|e| match e {
                crate::sockets::CollectError::Snapshot { problem, .. } => problem,
                other => other.to_string(),
            })
        });
    let snapshot = match snapshot {
        Ok(c) => c.snapshot,
        Err(why) => {
            let name = fleet.host(host).name.clone();
            fleet.update(FleetAction::Notice(format!("cannot open {name}: {why}")));
            return Ending::Quit;
        }
    };
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let title = format!("{file} (q: fleet)");
    let mut explorer = App::new(registry, &title, true, 0.0);
    explorer.nested = true;
    if let Some(port) = port {
        explorer.filter.text = Some(format!(":{port}"));
    }
    explorer.update(Action::Refreshed(Box::new(Refresh::assess(
        registry, snapshot,
    ))));
    // A read-only explorer asks nothing of a collector: the control channel goes nowhere.
    let (control, _unused) = mpsc::channel();
    super::run_session(&mut explorer, term, rx, &control, outside)
}
