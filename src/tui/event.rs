//! The threads that feed the UI, all into one channel: terminal input, the collector (on its own
//! timer, so the UI never waits on /proc), and signals. The UI thread only receives.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyEvent};

use super::state::Refresh;
use crate::facts::{Depth, FactsCache, FactsTable, Roots};
use crate::registry::Registry;
use crate::sockets::{Collector, Socket, SystemCollector};

pub enum Msg {
    Key(KeyEvent),
    /// Text pasted into the terminal (bracketed paste), delivered whole.
    Paste(String),
    /// Nothing happened for a while: the loop's own clock.
    Tick,
    /// The terminal changed size (or needs a redraw).
    Redraw,
    Refreshed(Box<Refresh>),
    /// The deeper facts of the socket of this inode (for the detail pane).
    Described(u64, Box<FactsTable>),
    CollectFailed(String),
    /// The collector thread ended by panicking.
    CollectorDied,
    /// Reading the terminal failed: it is gone.
    InputLost,
    Signal(i32),
}

/// What the UI asks of the collector thread.
pub enum Control {
    RefreshNow,
    Pause(bool),
    IncludeConnections(bool),
    /// Establish this socket's owners' facts down to ancestry and integrity.
    Describe(Box<Socket>),
}

/// Where snapshots come from: this machine (whose options can change), or any other collector.
pub enum Source {
    Live(Box<SystemCollector>),
    Other(Box<dyn Collector>),
}

impl Source {
    fn collect(&mut self) -> Result<crate::sockets::Snapshot, crate::sockets::CollectError> {
        match self {
            Source::Live(c) => c.collect(),
            Source::Other(c) => c.collect(),
        }
    }
    fn retry(&mut self) {
        match self {
            Source::Live(c) => c.retry(),
            Source::Other(c) => c.retry(),
        }
    }
    /// Where the owners' facts come from: established on this machine for its own collector,
    /// read from the snapshot a replayed one carries, unknown for another host's.
    fn facts(&self) -> Facts {
        match self {
            Source::Live(_) => Facts::Live(Box::new(FactsCache::new(Roots::system()))),
            Source::Other(c) => Facts::Given(match c.recorded_facts() {
                Some(recorded) => FactsTable::from_recorded(Some(recorded)),
                None => FactsTable::unknown(crate::facts::table::OTHER_HOST),
            }),
        }
    }

    fn include_connections(&mut self, on: bool) {
        match self {
            Source::Live(c) => c.include_connections(on),
            Source::Other(c) => c.include_connections(on),
        }
    }
}

/// The collector thread's facts: one cache kept across refreshes, or a fixed table.
enum Facts {
    Live(Box<FactsCache>),
    Given(FactsTable),
}

impl Facts {
    fn of(&mut self, snapshot: &crate::sockets::Snapshot) -> FactsTable {
        match self {
            Facts::Live(cache) => cache.table_of(snapshot, Depth::Cheap),
            Facts::Given(table) => table.clone(),
        }
    }
}

pub(crate) fn channel() -> (Sender<Msg>, Receiver<Msg>) {
    mpsc::channel()
}

pub fn spawn_input(tx: Sender<Msg>) -> std::io::Result<()> {
    thread::Builder::new()
        .name("input".into())
        .spawn(move || loop {
            let msg = match crossterm::event::read() {
                Ok(Event::Key(key)) => Msg::Key(key),
                Ok(Event::Paste(text)) => Msg::Paste(text),
                Ok(Event::Resize(..)) => Msg::Redraw,
                Ok(_) => continue,
                Err(_) => {
                    let _ = tx.send(Msg::InputLost);
                    return;
                }
            };
            if tx.send(msg).is_err() {
                return;
            }
        })
        .map(drop)
}

#[cfg(unix)]
pub fn spawn_signals(tx: Sender<Msg>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    // SIGQUIT (Ctrl-\ in a cooked terminal, `kill -QUIT`) would otherwise dump core with the
    // terminal still raw; it ends the explorer like the others, through the guard.
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT, SIGQUIT])?;
    thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                if tx.send(Msg::Signal(sig)).is_err() {
                    return;
                }
            }
        })?;
    Ok(())
}

/// Windows has no SIGTERM or SIGHUP to catch. In raw mode (crossterm turns off the console's
/// processed input) Ctrl-C reaches the explorer as a key and quits it like `q`; Ctrl-Break, the
/// console window closing, logoff and shutdown arrive as console control events, which end the
/// session like a signal, so the guard restores the console first. Known gap: `taskkill` without
/// `/F` is not caught (it does not end a console program either).
#[cfg(not(unix))]
pub fn spawn_signals(tx: Sender<Msg>) -> std::io::Result<()> {
    crate::signals::on_console_event(move |sig| {
        let _ = tx.send(Msg::Signal(sig));
    })
}

/// Sends `CollectorDied` if the collector thread unwinds, so the UI stops instead of showing
/// stale data forever.
struct DeathNotice(Sender<Msg>);

impl Drop for DeathNotice {
    fn drop(&mut self) {
        if thread::panicking() {
            let _ = self.0.send(Msg::CollectorDied);
        }
    }
}

/// How often the collector hands freed pages back to the system, at most.
///
/// Each refresh of 40,000 sockets allocates and frees tens of megabytes, and glibc keeps what is
/// freed in the middle of its heap resident. Trimming it before every refresh kept the resident
/// size low between refreshes, but the refresh then faulted the same pages back in: a tenth of
/// the explorer's CPU in every-socket mode, for no lower peak (the peak is the refresh itself).
/// Every 30 s, the memory of a mode left (`a` off) still goes back soon.
const GIVE_BACK_EVERY: Duration = Duration::from_secs(30);

/// Hand the pages freed since the last trim back to the system. The collector calls it before
/// a collection: by then the UI has dropped the refresh before last, so this is when most is
/// free.
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Collect now, then every `interval` (never again when `None`), and on request.
pub fn spawn_collector(
    tx: Sender<Msg>,
    mut source: Source,
    registry: &'static Registry,
    interval: Option<Duration>,
) -> std::io::Result<Sender<Control>> {
    let (control_tx, control_rx) = mpsc::channel::<Control>();
    thread::Builder::new()
        .name("collector".into())
        .spawn(move || {
            let _notice = DeathNotice(tx.clone());
            let mut facts = source.facts();
            let mut paused = false;
            let mut collect_now = true;
            let period = interval.unwrap_or(Duration::from_secs(3600));
            let mut due = Instant::now() + period;
            let mut given_back = Instant::now();
            // The last refresh sent (its snapshot shared with the UI): unchanged sockets keep
            // its flags instead of being assessed again.
            let mut last: Option<Refresh> = None;
            loop {
                if collect_now {
                    if given_back.elapsed() >= GIVE_BACK_EVERY {
                        give_back_freed_memory();
                        given_back = Instant::now();
                    }
                    let msg = match source.collect() {
                        Ok(snapshot) => {
                            let table = facts.of(&snapshot);
                            let refresh =
                                Refresh::assess_since(registry, snapshot, table, last.as_ref());
                            last = Some(refresh.clone());
                            Msg::Refreshed(Box::new(refresh))
                        }
                        Err(err) => Msg::CollectFailed(err.to_string()),
                    };
                    if tx.send(msg).is_err() {
                        return;
                    }
                    due = Instant::now() + period;
                }
                // A detail asked for in between does not push the next refresh back.
                let wait = due.saturating_duration_since(Instant::now());
                collect_now = match control_rx.recv_timeout(wait) {
                    Ok(Control::Describe(socket)) => {
                        if let Facts::Live(cache) = &mut facts {
                            let mut table = FactsTable::default();
                            cache.deepen(&mut table, &socket, Depth::Verify);
                            let msg = Msg::Described(socket.inode, Box::new(table));
                            if tx.send(msg).is_err() {
                                return;
                            }
                        }
                        false
                    }
                    Ok(Control::RefreshNow) => {
                        source.retry();
                        true
                    }
                    Ok(Control::Pause(p)) => {
                        paused = p;
                        !paused
                    }
                    Ok(Control::IncludeConnections(on)) => {
                        source.include_connections(on);
                        true
                    }
                    Err(RecvTimeoutError::Timeout) => !paused && interval.is_some(),
                    Err(RecvTimeoutError::Disconnected) => return,
                };
            }
        })?;
    Ok(control_tx)
}
