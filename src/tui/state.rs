//! The explorer's state and every transition of it. `App::update` is the only place logic lives;
//! it takes an [`Action`] and returns the one side effect the runtime should perform, if any.
//! Nothing here knows about crossterm, frames or threads, so all of it is tested without a
//! terminal. Sorting, filtering and search results are computed here, never while drawing.

use std::sync::{Arc, Weak};

use crate::facts::FactsTable;
use crate::hints::{Assessor, Flags, PortIndex, ReachSource, Severity};
use crate::policy::Marker;
use crate::registry::{PortRange, Protocol, Registry};
use crate::report::{self, Detail, Filter, SortKey};
use crate::search::{Engine, Hit, Kind, Query};
use crate::sockets::matching::{match_previous, Previous};
use crate::sockets::{HostInfo, Snapshot, Socket, SocketKey};

/// How many refreshes a new socket stays highlighted and a vanished one stays dimmed.
pub const AGE_REFRESHES: u64 = 3;
/// Registry search results kept per query; more than a screen can show, few enough to stay fast.
pub const SEARCH_LIMIT: usize = 2000;
/// How many idle ticks (about a second each) a notice stays in the status line.
pub const NOTICE_TICKS: u8 = 5;

/// One refresh as it reaches the UI: the snapshot, plus what is worked out off the UI thread:
/// the flags of every socket (`flags[i]` belongs to `snapshot.sockets[i]`), the snapshot's index
/// of listeners per port, which the selected socket's detail reuses, and which socket was which
/// in the refresh before. Only the selected socket's hints are spelled out: the text of every
/// socket's hints would cost kilobytes each.
#[derive(Debug, Clone)]
pub struct Refresh {
    /// Shared with the collector thread, which keeps it to reuse its flags next time.
    pub snapshot: Arc<Snapshot>,
    pub flags: Vec<Flags>,
    index: PortIndex,
    /// The owners' cheap facts (package, unit, container), established off the UI thread.
    pub facts: FactsTable,
    since: Option<Arc<Since>>,
}

/// Each socket of a refresh matched with the sockets of the refresh before, so the explorer's
/// rows keep their age without matching 40,000 sockets again on the UI thread.
#[derive(Debug)]
struct Since {
    /// The snapshot matched against. Weak: it names that snapshot (the UI uses the matches
    /// only if that is the one it shows, no refresh having been lost in between) without
    /// keeping its sockets alive.
    snapshot: Weak<Snapshot>,
    matched: Vec<Option<Previous>>,
}

impl Refresh {
    /// Index and assess every socket, without the owners' facts.
    pub fn assess(registry: &Registry, snapshot: Snapshot) -> Refresh {
        Refresh::assess_since(
            registry,
            snapshot,
            FactsTable::unknown("not established"),
            None,
        )
    }

    /// Index and assess every socket with the owners' facts, reusing `previous`'s flags for
    /// the sockets that did not change (what the collector thread does: in every-socket mode
    /// most of 40,000 connections are the same from one refresh to the next). An unchanged
    /// socket has the same owners (pid and start), whose cheap facts are cached by executable
    /// and cannot change while they run, so their flags can be reused.
    pub fn assess_since(
        registry: &Registry,
        snapshot: Snapshot,
        facts: FactsTable,
        previous: Option<&Refresh>,
    ) -> Refresh {
        let index = PortIndex::new(&snapshot);
        let assessor = Assessor::with_index(registry, &snapshot, &index).with_facts(&facts);
        let (flags, since) = match previous {
            Some(p) => {
                let matched = match_previous(&p.snapshot.sockets, &snapshot.sockets);
                let flags = assessor.flags_all_since(&p.snapshot, &p.index, &p.flags, &matched);
                let since = Since {
                    snapshot: Arc::downgrade(&p.snapshot),
                    matched,
                };
                (flags, Some(Arc::new(since)))
            }
            None => (assessor.flags_all(), None),
        };
        Refresh {
            snapshot: Arc::new(snapshot),
            flags,
            index,
            facts,
            since,
        }
    }
}

/// Everything the user can ask for, already decoded from keys (see `action.rs`), plus what the
/// runtime reports (a refresh, a failure, the viewport size).
#[derive(Debug, Clone)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextPane,
    PrevPane,
    /// Start typing: a registry search, or in the listener pane a filter of its rows.
    StartSearch,
    SearchChar(char),
    SearchBackspace,
    /// Text pasted into the terminal (bracketed paste): typed into a search or filter, never
    /// taken as keys, so a pasted "Ky" cannot confirm a signal.
    Paste(String),
    /// About a second passed with nothing else to do: notices age.
    Tick,
    /// Leave the current mode, or clear the search.
    Clear,
    /// Enter: in search, keep the results and move to them; on a list, open the detail pane.
    Open,
    /// Jump from a socket to its registry entry, or from a registry entry to its listeners.
    Jump,
    CycleSort,
    CycleProtocolFilter,
    ToggleListenersOnly,
    TogglePause,
    RefreshNow,
    ToggleHelp,
    /// Ask to signal the selected socket's process (needs confirmation).
    AskKill,
    Confirm,
    Quit,
    /// What the last frame showed: rows visible in the list panes (for paging) and how far the
    /// detail pane can scroll before its content ends.
    Viewport {
        listeners: usize,
        registry: usize,
        detail_max_scroll: u16,
    },
    Refreshed(Box<Refresh>),
    /// The facts of one socket's owners down to their ancestry and integrity (the detail pane
    /// asked the collector thread for them: hashing never runs on the UI thread).
    Described(u64, Box<FactsTable>),
    CollectFailed(String),
    /// The result of a side effect, shown in the status line.
    Notice(String),
}

/// What the runtime must do after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Quit,
    RefreshNow,
    SetPaused(bool),
    /// Collect connections too (or stop collecting them).
    IncludeConnections(bool),
    /// End this process (SIGTERM; TerminateProcess on Windows), if it is still the one shown.
    Terminate(Target),
}

/// The process `K` ends, as the last refresh showed it holding the selected socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub pid: u32,
    /// The socket it was shown holding: on Linux it must hold it still, so a socket handed to
    /// another process since does not get the wrong one ended.
    pub inode: u64,
    /// Its start time in clock ticks after boot (Linux) or seconds since the epoch (elsewhere):
    /// a pid reused since is another process.
    pub start_ticks: Option<u64>,
    pub start_time: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Listeners,
    Registry,
    Detail,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// Typing a registry search.
    Search,
    /// Typing a filter for the listener pane.
    Filter,
    Help,
    /// Waiting for `y` to terminate the named process.
    ConfirmKill {
        name: String,
        target: Target,
    },
}

/// A socket as the listener pane shows it, with its age across refreshes. The socket itself
/// lives in the App (see [`App::socket`]): in the last snapshot, or among the vanished.
#[derive(Debug, Clone)]
pub struct Row {
    /// Index into the snapshot's sockets, or into the vanished ones when `vanished_at` is set.
    at: usize,
    /// Its hints' ids and severities when it was last collected.
    pub flags: Flags,
    /// The refresh that first showed it.
    pub first_seen: u64,
    /// The refresh that no longer had it; dropped `AGE_REFRESHES` later.
    pub vanished_at: Option<u64>,
    /// Expected by the expected-listeners file or not; `None` when no file is in use or the
    /// socket is a connection. A vanished row keeps its last mark.
    pub expected: Option<bool>,
}

impl Row {
    /// The worst hint's severity that counts: on an expected listener the quieted hints do not
    /// (see [`crate::policy::quiets`]).
    pub fn badge(&self) -> Option<Severity> {
        if self.expected == Some(true) {
            self.flags
                .iter()
                .map(|f| f.severity)
                .filter(|s| !crate::policy::quiets(*s))
                .max()
        } else {
            crate::hints::worst(&self.flags)
        }
    }

    /// The worst hint the expectation quieted, drawn dimmed where the badge would be.
    pub fn quieted(&self) -> Option<Severity> {
        if self.expected != Some(true) {
            return None;
        }
        self.flags
            .iter()
            .map(|f| f.severity)
            .filter(|s| crate::policy::quiets(*s))
            .max()
    }
}

/// A socket's identity across refreshes: its addresses and its inode (several sockets can share
/// an address with SO_REUSEPORT).
type RowId = (SocketKey, u64);

fn row_id(s: &Socket) -> RowId {
    (s.key(), s.inode)
}

fn socket_of<'a>(snapshot: Option<&'a Snapshot>, vanished: &'a [Socket], row: &Row) -> &'a Socket {
    match (row.vanished_at, snapshot) {
        (None, Some(snapshot)) => &snapshot.sockets[row.at],
        _ => &vanished[row.at],
    }
}

/// Whether a row is new, steady or gone, for highlighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    New,
    Steady,
    Vanished,
}

pub struct App<'r> {
    pub registry: &'r Registry,
    search_index: Engine<'r>,
    /// Shown in the header: "live" or the snapshot file.
    pub source: String,
    /// A saved snapshot: no refresh, no signals.
    pub read_only: bool,
    /// The host a remote collector (`portscope ssh`) reads, for the header.
    pub remote: Option<String>,
    /// Opened from the fleet view: Esc with nothing left to clear goes back to it (as q does).
    pub nested: bool,
    pub interval_secs: f64,
    /// The last refresh: the host and its sockets (rows point into them).
    snapshot: Option<Arc<Snapshot>>,
    /// The last snapshot's listeners per port, built with it on the collector thread: the
    /// selected socket is described without indexing the snapshot again.
    index: PortIndex,
    /// The last refresh's facts of every owner (cheap: package, unit, container).
    facts: FactsTable,
    /// The detailed facts of one socket (by inode) for the detail pane, and the socket whose
    /// detail to ask the collector thread for next (and the inode asked for last).
    deep: Option<(u64, FactsTable)>,
    describe: Option<Socket>,
    described: Option<u64>,
    /// Sockets that vanished and are still shown, dimmed.
    vanished: Vec<Socket>,
    /// Every socket seen in the last refreshes, including recently vanished ones.
    rows: Vec<Row>,
    /// Indices into `rows` after filter and sort: what the listener pane lists.
    visible: Vec<usize>,
    listener_cursor: usize,
    selected_key: Option<RowId>,
    pub query: String,
    query_error: Option<String>,
    /// The port a numeric query names: the detail pane describes it even when IANA has no entry.
    queried_port: Option<u16>,
    /// The whole registry in IANA order, one line per named service and port.
    all_entries: Vec<Hit>,
    hits: Option<Vec<Hit>>,
    registry_cursor: usize,
    pub focus: Pane,
    /// Which list the detail pane describes: the last list focused.
    pub detail_of: Pane,
    pub detail_scroll: u16,
    /// How far the detail pane can scroll, as the last frame measured it.
    detail_max_scroll: u16,
    /// The detail pane's content, rebuilt when what it describes changes (never while drawing).
    detail: Option<Detail>,
    pub mode: Mode,
    pub sort: SortKey,
    /// Which sockets the listener pane shows: protocol, connections or not, free text.
    pub filter: Filter,
    pub paused: bool,
    /// Refreshes received.
    pub generation: u64,
    pub collect_error: Option<String>,
    pub notice: Option<String>,
    /// Ticks left before the notice goes.
    notice_ticks: u8,
    page_listeners: usize,
    page_registry: usize,
    /// Set by every change that shows; the runtime draws only when it is set, then clears it.
    pub dirty: bool,
    /// The expected-listeners file the rows are marked by, when one is in use.
    marker: Option<Marker>,
    /// This host's interfaces and firewall, for the detail's exposure hint (live only: a saved
    /// snapshot or a remote host is not this host).
    reach: Option<Box<dyn ReachSource + Send>>,
}

impl<'r> App<'r> {
    pub fn new(registry: &'r Registry, source: &str, read_only: bool, interval_secs: f64) -> Self {
        let mut all_entries: Vec<Hit> = Vec::new();
        for e in registry.entries() {
            if e.service.is_empty() {
                continue;
            }
            // IANA lists the tcp and udp rows of a service next to each other: fold them.
            if let Some(last) = all_entries.last_mut() {
                let prev = registry.entry(last.index);
                if prev.service == e.service && prev.ports == e.ports {
                    if let Some(p) = e.protocol {
                        if !last.protocols.contains(&p) {
                            last.protocols.push(p);
                        }
                    }
                    continue;
                }
            }
            all_entries.push(Hit {
                kind: Kind::Iana,
                index: e.index,
                ports: e.ports,
                protocols: e.protocol.into_iter().collect(),
                score: 0,
            });
        }
        App {
            registry,
            search_index: Engine::new(registry),
            source: source.to_owned(),
            read_only,
            remote: None,
            nested: false,
            interval_secs,
            snapshot: None,
            index: PortIndex::default(),
            facts: FactsTable::unknown("not established yet"),
            deep: None,
            describe: None,
            described: None,
            vanished: Vec::new(),
            rows: Vec::new(),
            visible: Vec::new(),
            listener_cursor: 0,
            selected_key: None,
            query: String::new(),
            query_error: None,
            queried_port: None,
            all_entries,
            hits: None,
            registry_cursor: 0,
            focus: Pane::Listeners,
            detail_of: Pane::Listeners,
            detail_scroll: 0,
            detail_max_scroll: u16::MAX,
            detail: None,
            mode: Mode::Normal,
            sort: SortKey::Port,
            filter: Filter::default(),
            paused: false,
            generation: 0,
            collect_error: None,
            notice: None,
            notice_ticks: 0,
            page_listeners: 10,
            page_registry: 10,
            dirty: true,
            marker: None,
            reach: None,
        }
    }

    /// Weigh the selected listener's exposure by what `reach` says (this host's live view).
    pub fn set_reach(&mut self, reach: Box<dyn ReachSource + Send>) {
        self.reach = Some(reach);
        self.rebuild_detail();
    }

    /// Mark listeners expected or not by this file from the next refresh on.
    pub fn set_marker(&mut self, marker: Marker) {
        self.marker = Some(marker);
        self.mark_rows();
        self.rebuild_detail();
        self.dirty = true;
    }

    /// The file rows are marked by, if any (the listener pane shows the EXP mark only then).
    /// The owners' cheap facts of the last refresh (what the listener pane's cells show).
    pub fn facts(&self) -> &FactsTable {
        &self.facts
    }

    pub fn marker(&self) -> Option<&Marker> {
        self.marker.as_ref()
    }

    /// Mark every live row by the file: one index lookup per listener.
    fn mark_rows(&mut self) {
        let Some(marker) = &self.marker else {
            return;
        };
        let Some(snapshot) = &self.snapshot else {
            return;
        };
        for row in self.rows.iter_mut().filter(|r| r.vanished_at.is_none()) {
            row.expected = marker
                .mark(&snapshot.sockets[row.at], &self.facts)
                .map(|m| m.is_expected());
        }
    }

    // ----- read side, for the views -----

    pub fn host(&self) -> Option<&HostInfo> {
        self.snapshot.as_deref().map(|s| &s.host)
    }
    /// The last snapshot as collected (what hints are assessed against).
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_deref()
    }
    pub fn socket(&self, row: &Row) -> &Socket {
        socket_of(self.snapshot.as_deref(), &self.vanished, row)
    }
    pub fn process_name(&self, row: &Row) -> &str {
        let s = self.socket(row);
        s.owners.first().map_or("", |o| o.name.as_str())
    }

    /// The listener pane's rows, in order.
    pub fn visible_rows(&self) -> impl ExactSizeIterator<Item = &Row> + '_ {
        self.visible.iter().map(|&i| &self.rows[i])
    }
    pub fn visible_len(&self) -> usize {
        self.visible.len()
    }
    pub fn visible_row(&self, at: usize) -> Option<&Row> {
        self.visible.get(at).map(|&i| &self.rows[i])
    }
    pub fn listener_cursor(&self) -> usize {
        self.listener_cursor
    }
    pub fn selected_row(&self) -> Option<&Row> {
        self.visible_row(self.listener_cursor)
    }
    pub fn selected_socket(&self) -> Option<&Socket> {
        self.selected_row().map(|r| self.socket(r))
    }
    pub fn freshness(&self, row: &Row) -> Freshness {
        if row.vanished_at.is_some() {
            Freshness::Vanished
        } else if row.first_seen > 1 && self.generation < row.first_seen + AGE_REFRESHES {
            Freshness::New
        } else {
            Freshness::Steady
        }
    }
    /// Registry results: the search hits, or the whole registry when there is no query.
    pub fn registry_rows(&self) -> &[Hit] {
        self.hits.as_deref().unwrap_or(&self.all_entries)
    }
    pub fn registry_cursor(&self) -> usize {
        self.registry_cursor
    }
    pub fn selected_hit(&self) -> Option<&Hit> {
        self.registry_rows().get(self.registry_cursor)
    }
    pub fn queried_port(&self) -> Option<u16> {
        self.queried_port
    }
    pub fn query_error(&self) -> Option<&str> {
        self.query_error.as_deref()
    }
    /// Live (not vanished) sockets on `port`, for the registry detail.
    pub fn listeners_on(&self, port: u16) -> impl Iterator<Item = &Row> + '_ {
        self.rows
            .iter()
            .filter(move |r| r.vanished_at.is_none() && self.socket(r).local_port == port)
    }
    /// The detail pane's content: the selected socket, registry entry or queried port.
    pub fn detail(&self) -> Option<&Detail> {
        self.detail.as_ref()
    }
    pub fn listeners_only(&self) -> bool {
        !self.filter.connections
    }
    /// Rows shown dimmed because their socket is gone.
    pub fn vanished_count(&self) -> usize {
        self.visible_rows()
            .filter(|r| r.vanished_at.is_some())
            .count()
    }
    /// Counts for the header: (tcp, udp, owners hidden), live rows only.
    pub fn counts(&self) -> (usize, usize, usize) {
        let live = self.rows.iter().filter(|r| r.vanished_at.is_none());
        let (mut tcp, mut udp, mut hidden) = (0, 0, 0);
        for r in live {
            let s = self.socket(r);
            match s.protocol {
                Protocol::Udp => udp += 1,
                _ => tcp += 1,
            }
            if s.owners.is_empty() {
                hidden += 1;
            }
        }
        (tcp, udp, hidden)
    }

    // ----- the one place state changes -----

    pub fn update(&mut self, action: Action) -> Option<Effect> {
        let describes_anew = !matches!(action, Action::Viewport { .. } | Action::Tick);
        // A change not yet drawn stays to be drawn: the runtime applies every queued message
        // before it draws, so a key then an unchanged refresh (or a tick) in one batch must not
        // take the key's redraw back. Only the runtime clears the flag, once it has drawn.
        let undrawn = self.dirty;
        let effect = self.apply(action);
        self.dirty |= undrawn;
        if describes_anew {
            self.rebuild_detail();
        }
        effect
    }

    fn apply(&mut self, action: Action) -> Option<Effect> {
        self.dirty = true;
        // Confirmation and help are modal: they take the next key.
        match (&self.mode, &action) {
            (Mode::ConfirmKill { target, .. }, Action::Confirm) => {
                let effect = Effect::Terminate(target.clone());
                self.mode = Mode::Normal;
                return Some(effect);
            }
            (
                Mode::ConfirmKill { .. },
                Action::Refreshed(_) | Action::CollectFailed(_) | Action::Viewport { .. },
            ) => {}
            (Mode::ConfirmKill { .. }, Action::Tick) => {}
            (Mode::ConfirmKill { .. }, _) => {
                self.mode = Mode::Normal;
                self.say("nothing was signalled");
                return None;
            }
            (Mode::Help, Action::ToggleHelp | Action::Clear | Action::Quit) => {
                self.mode = Mode::Normal;
                return None;
            }
            _ => {}
        }
        match action {
            Action::Up => self.move_cursor(-1),
            Action::Down => self.move_cursor(1),
            Action::PageUp => self.move_cursor(-(self.page() as isize)),
            Action::PageDown => self.move_cursor(self.page() as isize),
            Action::Top => self.move_cursor(isize::MIN / 2),
            Action::Bottom => self.move_cursor(isize::MAX / 2),
            Action::NextPane => self.cycle_focus(true),
            Action::PrevPane => self.cycle_focus(false),
            Action::StartSearch => {
                if self.focus == Pane::Listeners {
                    self.mode = Mode::Filter;
                } else {
                    self.mode = Mode::Search;
                    self.set_focus(Pane::Registry);
                }
            }
            Action::SearchChar(c) => self.type_text(&c.to_string()),
            Action::Paste(text) => {
                if matches!(self.mode, Mode::Search | Mode::Filter) {
                    self.type_text(&text);
                } else {
                    self.say("pasted text is only taken in a search (/)");
                }
            }
            Action::SearchBackspace => match self.mode {
                Mode::Search => {
                    self.query.pop();
                    self.run_search();
                }
                Mode::Filter => {
                    let mut text = self.filter.text.take().unwrap_or_default();
                    text.pop();
                    self.set_filter_text(text);
                }
                _ => {}
            },
            Action::Clear => match self.mode {
                Mode::Search => {
                    self.mode = Mode::Normal;
                    self.clear_search();
                }
                Mode::Filter => {
                    self.mode = Mode::Normal;
                    self.set_filter_text(String::new());
                }
                _ => {
                    if self.focus == Pane::Listeners && self.filter.text.is_some() {
                        self.set_filter_text(String::new());
                    } else if !self.query.is_empty() {
                        self.clear_search();
                    } else if self.nested {
                        return Some(Effect::Quit);
                    } else {
                        self.notice = None;
                    }
                }
            },
            Action::Open => {
                if self.mode == Mode::Search {
                    self.mode = Mode::Normal;
                    self.set_focus(Pane::Registry);
                } else if self.mode == Mode::Filter {
                    self.mode = Mode::Normal;
                } else if self.focus != Pane::Detail {
                    self.set_focus(Pane::Detail);
                }
            }
            Action::Tick => {
                self.dirty = false;
                if self.notice.is_some() {
                    self.notice_ticks = self.notice_ticks.saturating_sub(1);
                    if self.notice_ticks == 0 {
                        self.notice = None;
                        self.dirty = true;
                    }
                }
            }
            Action::Jump => self.jump(),
            Action::CycleSort => {
                self.sort = self.sort.next();
                self.rebuild_visible();
            }
            Action::CycleProtocolFilter => {
                self.filter.protocol = match self.filter.protocol {
                    None => Some(Protocol::Tcp),
                    Some(Protocol::Tcp) => Some(Protocol::Udp),
                    Some(_) => None,
                };
                self.rebuild_visible();
            }
            Action::ToggleListenersOnly => {
                self.filter.connections = !self.filter.connections;
                self.rebuild_visible();
                if !self.read_only {
                    return Some(Effect::IncludeConnections(self.filter.connections));
                }
            }
            Action::TogglePause => {
                if self.read_only {
                    self.say("a saved snapshot does not refresh");
                } else {
                    self.paused = !self.paused;
                    return Some(Effect::SetPaused(self.paused));
                }
            }
            Action::RefreshNow => {
                if self.read_only {
                    self.say("a saved snapshot does not refresh");
                } else {
                    self.say("refreshing…");
                    return Some(Effect::RefreshNow);
                }
            }
            Action::ToggleHelp => self.mode = Mode::Help,
            Action::AskKill => self.ask_kill(),
            Action::Confirm => {}
            Action::Quit => return Some(Effect::Quit),
            Action::Viewport {
                listeners,
                registry,
                detail_max_scroll,
            } => {
                self.dirty = false; // the runtime reports what it drew; nothing changes on screen
                self.page_listeners = listeners.max(1);
                self.page_registry = registry.max(1);
                self.detail_max_scroll = detail_max_scroll;
                // The frame already showed the clamped position: keep it, so `k` moves at once.
                self.detail_scroll = self.detail_scroll.min(detail_max_scroll);
            }
            Action::Refreshed(refresh) => self.dirty = self.apply_refresh(*refresh),
            Action::Described(inode, facts) => self.deep = Some((inode, *facts)),
            Action::CollectFailed(msg) => self.collect_error = Some(msg),
            Action::Notice(msg) => self.say(msg),
        }
        None
    }

    /// Show a notice in the status line for a few seconds.
    fn say(&mut self, msg: impl Into<String>) {
        self.notice = Some(msg.into());
        self.notice_ticks = NOTICE_TICKS;
    }

    /// Text typed or pasted into the search or the filter; control characters are dropped (a
    /// paste can carry newlines and escapes, none of which belongs in a query).
    fn type_text(&mut self, text: &str) {
        let clean: String = text.chars().filter(|c| !c.is_control()).collect();
        match self.mode {
            Mode::Search => {
                self.query.push_str(&clean);
                self.run_search();
            }
            Mode::Filter => {
                let mut t = self.filter.text.take().unwrap_or_default();
                t.push_str(&clean);
                self.set_filter_text(t);
            }
            _ => {}
        }
    }

    fn set_filter_text(&mut self, text: String) {
        self.filter.text = (!text.is_empty()).then_some(text);
        self.rebuild_visible();
    }

    /// What the detail pane describes, built once per change instead of on every frame.
    fn rebuild_detail(&mut self) {
        self.want_description();
        self.detail = match self.detail_of {
            Pane::Registry | Pane::Detail => self.registry_detail(),
            Pane::Listeners => self.selected_row().map(|row| {
                let socket = self.socket(row);
                let host = self.host().cloned().unwrap_or_default();
                match (row.vanished_at, self.snapshot.as_deref()) {
                    (None, Some(snapshot)) => {
                        let facts = match &self.deep {
                            Some((inode, deep)) if *inode == socket.inode => deep,
                            _ => &self.facts,
                        };
                        let mut assessor =
                            Assessor::with_index(self.registry, snapshot, &self.index)
                                .with_facts(facts);
                        if let Some(reach) = &self.reach {
                            assessor = assessor.with_reach(reach.as_ref());
                        }
                        let a = assessor.assess(socket);
                        let mut detail =
                            report::detail::socket_with_facts(&host, socket, &a, false, facts);
                        let mark = self.marker.as_ref().and_then(|m| m.mark(socket, facts));
                        let expectation =
                            report::Expectation::of(self.marker.as_ref(), mark.as_ref());
                        report::detail::expectation(&mut detail, expectation);
                        detail
                    }
                    _ => {
                        let a = crate::hints::assess_port(
                            self.registry,
                            socket.local_port,
                            Some(socket.protocol),
                        );
                        report::detail::socket(&host, socket, &a, true)
                    }
                }
            }),
        };
    }

    /// The socket whose deeper facts the detail pane wants from the collector thread, once per
    /// socket and refresh.
    pub fn take_describe(&mut self) -> Option<Socket> {
        self.describe.take()
    }

    /// Ask for the selected live socket's deeper facts when they are not at hand.
    fn want_description(&mut self) {
        if self.detail_of != Pane::Listeners || self.read_only || self.remote.is_some() {
            return;
        }
        let Some(row) = self.selected_row() else {
            return;
        };
        if row.vanished_at.is_some() {
            return;
        }
        let socket = self.socket(row);
        if socket.owners.is_empty() || self.described == Some(socket.inode) {
            return;
        }
        let socket = socket.clone();
        self.described = Some(socket.inode);
        self.describe = Some(socket);
    }

    fn registry_detail(&self) -> Option<Detail> {
        let (mut detail, ports) = match (self.selected_hit(), self.queried_port) {
            (Some(hit), _) => match (hit.entry(self.registry), hit.ports) {
                (Some(e), _) => {
                    let a = e
                        .ports
                        .map(|p| crate::hints::assess_port(self.registry, p.start, e.protocol));
                    (report::detail::entry(&e, a.as_ref()), e.ports)
                }
                // A known use or an alias is described by its port: IANA's entries there and
                // the port's known uses.
                (None, Some(ports)) => {
                    let a = crate::hints::assess_port(self.registry, ports.start, None);
                    (
                        report::detail::port(self.registry, ports.start, None, &a),
                        Some(ports),
                    )
                }
                (None, None) => return None,
            },
            (None, Some(port)) => {
                let a = crate::hints::assess_port(self.registry, port, None);
                (
                    report::detail::port(self.registry, port, None, &a),
                    Some(PortRange::single(port)),
                )
            }
            (None, None) => return None,
        };
        if let Some(ports) = ports {
            let live: Vec<&Socket> = self
                .rows
                .iter()
                .filter(|r| r.vanished_at.is_none())
                .map(|r| self.socket(r))
                .filter(|s| ports.contains(s.local_port))
                .collect();
            detail
                .sections
                .push(report::detail::on_this_machine(ports, &live, 20));
        }
        Some(detail)
    }

    fn page(&self) -> usize {
        match self.focus {
            Pane::Registry => self.page_registry,
            _ => self.page_listeners,
        }
    }

    fn set_focus(&mut self, pane: Pane) {
        self.focus = pane;
        if pane != Pane::Detail && self.detail_of != pane {
            self.detail_of = pane;
            self.detail_scroll = 0;
        }
    }

    fn cycle_focus(&mut self, forward: bool) {
        let order = [Pane::Listeners, Pane::Registry, Pane::Detail];
        let at = order.iter().position(|&p| p == self.focus).unwrap_or(0);
        let step = if forward { 1 } else { 2 };
        self.set_focus(order[(at + step) % 3]);
    }

    fn move_cursor(&mut self, delta: isize) {
        let step = |cursor: usize, len: usize| -> usize {
            if len == 0 {
                return 0;
            }
            (cursor as isize)
                .saturating_add(delta)
                .clamp(0, len as isize - 1) as usize
        };
        match self.focus {
            Pane::Listeners => {
                self.listener_cursor = step(self.listener_cursor, self.visible.len());
                self.selected_key = self.selected_socket().map(row_id);
                self.detail_scroll = 0;
            }
            Pane::Registry => {
                self.registry_cursor = step(self.registry_cursor, self.registry_rows().len());
                self.detail_scroll = 0;
            }
            Pane::Detail => {
                self.detail_scroll = (self.detail_scroll as isize)
                    .saturating_add(delta)
                    .clamp(0, self.detail_max_scroll as isize)
                    as u16;
            }
        }
    }

    fn run_search(&mut self) {
        self.registry_cursor = 0;
        self.detail_scroll = 0;
        self.queried_port = None;
        if self.query.trim().is_empty() {
            self.hits = None;
            self.query_error = None;
            return;
        }
        match Query::parse(&self.query) {
            Ok(q) => {
                if let Query::Port(port) = q {
                    self.queried_port = Some(port);
                }
                self.hits = Some(self.search_index.search(&q, None, SEARCH_LIMIT));
                self.query_error = None;
            }
            Err(err) => {
                self.hits = Some(Vec::new());
                self.query_error = Some(err.to_string());
            }
        }
    }

    fn clear_search(&mut self) {
        self.query.clear();
        self.run_search();
    }

    fn jump(&mut self) {
        if self.snapshot.is_none() && !self.read_only {
            self.say("still collecting this machine's sockets: try again in a moment");
            return;
        }
        match self.detail_of {
            Pane::Listeners => {
                let Some(socket) = self.selected_socket() else {
                    self.say("no socket selected");
                    return;
                };
                let (port, proto) = (socket.local_port, socket.protocol);
                self.query = port.to_string();
                self.run_search();
                if let Some(at) = self
                    .registry_rows()
                    .iter()
                    .position(|h| h.protocols.contains(&proto))
                {
                    self.registry_cursor = at;
                }
                self.mode = Mode::Normal;
                self.set_focus(Pane::Registry);
            }
            Pane::Registry | Pane::Detail => {
                let range = match (self.selected_hit(), self.queried_port) {
                    (Some(hit), _) => hit.ports,
                    (None, Some(port)) => Some(PortRange::single(port)),
                    (None, None) => {
                        self.say("no registry entry selected");
                        return;
                    }
                };
                let Some(range) = range else {
                    self.say("this entry names no port");
                    return;
                };
                let found = self
                    .visible
                    .iter()
                    .position(|&i| range.contains(self.socket(&self.rows[i]).local_port));
                match found {
                    Some(at) => {
                        self.listener_cursor = at;
                        self.selected_key = Some(row_id(self.socket(&self.rows[self.visible[at]])));
                        self.set_focus(Pane::Listeners);
                    }
                    None => {
                        self.say(format!("nothing shown here listens on {range}"));
                    }
                }
            }
        }
    }

    fn ask_kill(&mut self) {
        if self.read_only {
            self.say("a saved snapshot cannot signal processes");
            return;
        }
        // Its pids are another host's: checked against this host's /proc, one could name a
        // process here.
        if let Some(host) = &self.remote {
            let msg = format!(
                "the processes of {host} cannot be signalled from here; run portscope on that host"
            );
            self.say(msg);
            return;
        }
        let owner = if self.detail_of == Pane::Listeners {
            self.selected_socket()
                .and_then(|s| Some((s.inode, s.owners.first()?)))
        } else {
            None
        };
        match owner {
            Some((inode, o)) => {
                self.mode = Mode::ConfirmKill {
                    name: o.name.clone(),
                    target: Target {
                        pid: o.pid,
                        inode,
                        start_ticks: o.start_ticks,
                        start_time: o.start_time,
                    },
                }
            }
            None => self.say("select a socket with a known process first"),
        }
    }

    /// Merge a refresh into the rows; returns whether anything on screen changes, so an idle
    /// screen is not redrawn.
    fn apply_refresh(&mut self, refresh: Refresh) -> bool {
        self.generation += 1;
        let generation = self.generation;
        let Refresh {
            snapshot,
            flags,
            index,
            facts,
            since,
        } = refresh;
        self.index = index;
        self.facts = facts;
        // Ask again for the detail's deeper facts: its processes may have changed.
        self.described = None;
        // When connections were just switched on, the sockets this refresh adds were there all
        // along: highlighting 20,000 connections as new would say nothing.
        let scope_changed = self
            .host()
            .is_some_and(|old| old.includes_connections != snapshot.host.includes_connections);
        let mut changed = self.collect_error.take().is_some()
            || self.notice.as_deref() == Some("refreshing…")
            || self.host().is_none_or(|old| {
                // The live header does not show the time taken: a new time alone is no change.
                // A snapshot's and a remote host's header do (a remote's age must not freeze).
                (self.read_only || self.remote.is_some()) && old.taken_at != snapshot.host.taken_at
                    || HostInfo {
                        taken_at: snapshot.host.taken_at,
                        ..old.clone()
                    } != snapshot.host
            });
        let old_snapshot = self.snapshot.replace(snapshot);
        let old_vanished = std::mem::take(&mut self.vanished);
        let old_socket = |row: &Row| socket_of(old_snapshot.as_deref(), &old_vanished, row);
        let sockets = &self.snapshot.as_ref().expect("just set").sockets;
        // Which socket was which: the collector matched them with the snapshot on screen,
        // unless a refresh in between was lost (then, and for a refresh made without one, here).
        let matched_here;
        let matched: &[Option<Previous>] = match (&since, &old_snapshot) {
            (Some(since), Some(old)) if since.snapshot.as_ptr() == Arc::as_ptr(old) => {
                &since.matched
            }
            (_, Some(old)) => {
                matched_here = match_previous(&old.sockets, sockets);
                &matched_here
            }
            (_, None) => &[],
        };
        // The last rows: the snapshot's by their index in it, and the vanished ones.
        let mut live: Vec<Option<Row>> = Vec::new();
        live.resize_with(old_snapshot.as_ref().map_or(0, |s| s.sockets.len()), || {
            None
        });
        let mut dimmed = Vec::new();
        for row in std::mem::take(&mut self.rows) {
            match row.vanished_at {
                None => {
                    if let Some(slot) = live.get_mut(row.at) {
                        *slot = Some(row);
                    }
                }
                Some(_) => dimmed.push(Some(row)),
            }
        }
        // A vanished socket that is back is new again (usually there is none).
        let dimmed_ids: rustc_hash::FxHashMap<RowId, usize> = dimmed
            .iter()
            .enumerate()
            .filter_map(|(i, row)| Some((row_id(old_socket(row.as_ref()?)), i)))
            .collect();
        let mut rows = Vec::with_capacity(sockets.len());
        let mut flags = flags.into_iter();
        // Whether every socket is where it was: then, if nothing changed either, the visible
        // rows are still the ones worked out last time.
        let mut in_place = true;
        for (at, socket) in sockets.iter().enumerate() {
            let flags = flags.next().unwrap_or_default();
            let found = matched.get(at).copied().flatten();
            in_place &= found.is_some_and(|p| p.at as usize == at);
            let kept = match found {
                Some(p) => live
                    .get_mut(p.at as usize)
                    .and_then(Option::take)
                    .map(|row| (row, p.unchanged)),
                None if !dimmed_ids.is_empty() => dimmed_ids
                    .get(&row_id(socket))
                    .and_then(|&i| dimmed[i].take())
                    .map(|row| (row, false)),
                None => None,
            };
            let first_seen = match kept {
                Some((old, unchanged)) if old.vanished_at.is_none() => {
                    let stops_being_new =
                        old.first_seen > 1 && generation == old.first_seen + AGE_REFRESHES;
                    // Once something changed, the rest need not be compared.
                    // Reused flags are the same list: `Arc`'s `==` does not look at pointers
                    // for a slice.
                    let same_flags = Arc::ptr_eq(&old.flags, &flags) || old.flags == flags;
                    changed = changed || stops_being_new || !unchanged || !same_flags;
                    old.first_seen
                }
                _ => {
                    changed = true;
                    if scope_changed {
                        0
                    } else {
                        generation
                    }
                }
            };
            rows.push(Row {
                at,
                flags,
                first_seen,
                vanished_at: None,
                expected: None,
            });
        }
        // Keep what vanished for a few refreshes, dimmed, so a short-lived listener is noticed;
        // not when the scope narrowed (connections switched off): those did not close.
        for mut old in live.into_iter().chain(dimmed).flatten() {
            if scope_changed {
                changed = true;
                continue;
            }
            let socket = old_socket(&old).clone();
            let gone = *old.vanished_at.get_or_insert_with(|| {
                changed = true;
                generation
            });
            if generation < gone + AGE_REFRESHES {
                old.at = self.vanished.len();
                self.vanished.push(socket);
                rows.push(old);
            } else {
                changed = true;
            }
        }
        self.rows = rows;
        self.mark_rows();
        if self.notice.as_deref() == Some("refreshing…") {
            self.notice = None;
        }
        // Filtering and sorting 40,000 rows again for nothing was a tenth of what an unchanged
        // refresh cost the screen. Marks come from the owners' facts, which may have changed.
        if changed || !in_place || self.marker.is_some() {
            self.rebuild_visible();
        }
        changed
    }

    /// Filter and sort; keep the cursor on the same socket. Sorting always ends on the socket
    /// key, so the order is total and does not shuffle between refreshes.
    fn rebuild_visible(&mut self) {
        let texts = self.filter.text.is_some();
        let mut visible: Vec<usize> = (0..self.rows.len())
            .filter(|&i| {
                let row = &self.rows[i];
                let s = self.socket(row);
                // The service name is looked up only when free text may match it.
                let service = if texts {
                    self.registry.service_name(s.local_port, s.protocol)
                } else {
                    None
                };
                self.filter.matches(s, service, &row.flags)
            })
            .collect();
        let rows = &self.rows;
        let socket = |i: usize| self.socket(&rows[i]);
        let order = |&a: &usize, &b: &usize| self.sort.compare(socket(a), socket(b));
        // The snapshot comes in port order, the default sort: one look finds it sorted.
        if !visible.is_sorted_by(|a, b| order(a, b).is_le()) {
            visible.sort_by(order);
        }
        self.visible = visible;
        let kept = self.selected_key.and_then(|key| {
            self.visible
                .iter()
                .position(|&i| row_id(self.socket(&self.rows[i])) == key)
        });
        self.listener_cursor = match kept {
            Some(at) => at,
            None => self
                .listener_cursor
                .min(self.visible.len().saturating_sub(1)),
        };
        self.selected_key = self.selected_socket().map(row_id);
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::OnceLock;

    use super::*;
    use crate::sockets::{Family, Owner, Owners, SocketState, SCHEMA_VERSION};

    fn registry() -> &'static Registry {
        static REG: OnceLock<Registry> = OnceLock::new();
        REG.get_or_init(Registry::embedded)
    }

    fn socket(proto: Protocol, port: u16, pid: u32, name: &str) -> Socket {
        Socket {
            protocol: proto,
            family: Family::V4,
            local_addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            local_port: port,
            remote_addr: None,
            remote_port: None,
            state: if proto == Protocol::Tcp {
                SocketState::Listen
            } else {
                SocketState::Unconnected
            },
            inode: u64::from(port),
            owners: vec![Owner {
                pid,
                name: name.into(),
                uid: Some(1000),
                user: Some("alice".into()),
                exe: None,
                exe_deleted: false,
                cmdline: vec![name.into()],
                start_time: Some(1_700_000_000),
                start_ticks: Some(170_000),
                parent_pid: Some(1),
            }]
            .into(),
            owner_unknown: None,
            uid: Some(1000),
            user: Some("alice".into()),
            netns: None,
        }
    }

    /// What the collector thread sends: each refresh assessed since the one before.
    fn refresh_since(sockets: Vec<Socket>, previous: Option<&Refresh>) -> Refresh {
        let snapshot = Snapshot {
            schema_version: SCHEMA_VERSION,
            host: HostInfo {
                hostname: "box".into(),
                ..HostInfo::default()
            },
            sockets,
        };
        let facts = FactsTable::unknown("not established");
        Refresh::assess_since(registry(), snapshot, facts, previous)
    }

    fn refresh(sockets: Vec<Socket>) -> Action {
        Action::Refreshed(Box::new(refresh_since(sockets, None)))
    }

    /// How the row of the socket on `port` is highlighted, if it is shown.
    fn freshness_on(app: &App, port: u16) -> Option<Freshness> {
        app.visible_rows()
            .find(|r| app.socket(r).local_port == port)
            .map(|r| app.freshness(r))
    }

    fn app_with(sockets: Vec<Socket>) -> App<'static> {
        let mut app = App::new(registry(), "live", false, 2.0);
        app.update(refresh(sockets));
        app
    }

    fn ports(app: &App) -> Vec<u16> {
        app.visible_rows()
            .map(|r| app.socket(r).local_port)
            .collect()
    }

    fn sample() -> Vec<Socket> {
        vec![
            socket(Protocol::Tcp, 8080, 30, "web"),
            socket(Protocol::Tcp, 22, 10, "sshd"),
            socket(Protocol::Udp, 53, 20, "dnsmasq"),
            socket(Protocol::Tcp, 3489, 40, "zeta"),
        ]
    }

    #[test]
    fn listeners_are_sorted_by_port_and_navigation_clamps() {
        let mut app = app_with(sample());
        assert_eq!(ports(&app), [22, 53, 3489, 8080]);
        app.update(Action::Up);
        assert_eq!(app.selected_socket().unwrap().local_port, 22);
        app.update(Action::Bottom);
        assert_eq!(app.selected_socket().unwrap().local_port, 8080);
        app.update(Action::Down);
        assert_eq!(app.selected_socket().unwrap().local_port, 8080);
        app.update(Action::Viewport {
            listeners: 2,
            registry: 5,
            detail_max_scroll: 10,
        });
        app.update(Action::PageUp);
        assert_eq!(app.selected_socket().unwrap().local_port, 53);
        app.update(Action::Top);
        assert_eq!(app.listener_cursor(), 0);
    }

    #[test]
    fn selection_follows_its_socket_across_refreshes() {
        let mut app = app_with(sample());
        app.update(Action::Down); // 53/udp
        assert_eq!(app.selected_socket().unwrap().local_port, 53);
        // A new socket sorts before it: the cursor moves with the socket, not the row number.
        let mut more = sample();
        more.push(socket(Protocol::Tcp, 7, 50, "echo"));
        app.update(refresh(more));
        assert_eq!(app.selected_socket().unwrap().local_port, 53);
        assert_eq!(app.listener_cursor(), 2);
    }

    #[test]
    fn rows_are_matched_by_the_whole_socket_not_the_inode_alone() {
        let mut app = app_with(sample());
        for _ in 0..AGE_REFRESHES {
            app.update(refresh(sample()));
        }
        // The inode of 8080's socket, closed, now names a socket on 8081 (the kernel reuses
        // inode numbers); two sockets without an inode (TIME-WAIT) keep their age by address.
        let mut next = sample();
        next[0].local_port = 8081;
        let mut waiting = [
            socket(Protocol::Tcp, 40000, 1, "x"),
            socket(Protocol::Tcp, 40001, 1, "x"),
        ];
        for s in &mut waiting {
            s.inode = 0;
            s.owners = Owners::default();
        }
        next.extend(waiting.clone());
        app.update(refresh(next.clone()));
        assert_eq!(freshness_on(&app, 8081), Some(Freshness::New));
        assert_eq!(freshness_on(&app, 8080), Some(Freshness::Vanished));
        assert_eq!(freshness_on(&app, 40000), Some(Freshness::New));
        for _ in 0..AGE_REFRESHES {
            app.update(refresh(next.clone()));
        }
        assert_eq!(freshness_on(&app, 40000), Some(Freshness::Steady));
        assert_eq!(freshness_on(&app, 40001), Some(Freshness::Steady));
        assert_eq!(freshness_on(&app, 8080), None);
    }

    #[test]
    fn new_sockets_are_highlighted_then_vanished_ones_dimmed_then_dropped() {
        let mut app = app_with(sample());
        assert!(app
            .visible_rows()
            .all(|r| app.freshness(r) == Freshness::Steady));
        let mut more = sample();
        more.push(socket(Protocol::Tcp, 9999, 60, "new"));
        app.update(refresh(more.clone()));
        assert_eq!(freshness_on(&app, 9999), Some(Freshness::New));
        for _ in 0..AGE_REFRESHES {
            app.update(refresh(more.clone()));
        }
        assert_eq!(freshness_on(&app, 9999), Some(Freshness::Steady));
        app.update(refresh(sample()));
        assert_eq!(freshness_on(&app, 9999), Some(Freshness::Vanished));
        assert_eq!(app.counts().0, 3, "a vanished socket is not counted");
        for _ in 0..AGE_REFRESHES {
            app.update(refresh(sample()));
        }
        assert_eq!(freshness_on(&app, 9999), None);
    }

    #[test]
    fn rows_keep_their_age_through_the_collector_s_matching_even_after_a_lost_refresh() {
        let first = refresh_since(sample(), None);
        let mut app = App::new(registry(), "test", false, 2.0);
        app.update(Action::Refreshed(Box::new(first.clone())));
        // A socket opens before the first listed one: every index after it moves.
        let mut more = sample();
        more.insert(0, socket(Protocol::Tcp, 21, 60, "early"));
        let second = refresh_since(more.clone(), Some(&first));
        app.update(Action::Refreshed(Box::new(second.clone())));
        assert_eq!(freshness_on(&app, 21), Some(Freshness::New));
        assert_eq!(freshness_on(&app, 22), Some(Freshness::Steady));
        // The third refresh never reaches the explorer; the fourth was matched with it, not
        // with what is on screen, so the explorer matches it again itself.
        let mut fewer = more.clone();
        fewer.remove(2);
        let lost = refresh_since(fewer.clone(), Some(&second));
        fewer.push(socket(Protocol::Tcp, 9999, 61, "late"));
        let fourth = refresh_since(fewer, Some(&lost));
        app.update(Action::Refreshed(Box::new(fourth)));
        assert_eq!(freshness_on(&app, 21), Some(Freshness::New));
        assert_eq!(freshness_on(&app, 9999), Some(Freshness::New));
        assert_eq!(freshness_on(&app, 22), Some(Freshness::Vanished));
        assert!(app
            .visible_rows()
            .filter(|r| ![21, 22, 9999].contains(&app.socket(r).local_port))
            .all(|r| app.freshness(r) == Freshness::Steady));
    }

    /// An unchanged refresh keeps the visible rows it had; the same sockets listed in another
    /// order (a snapshot file need not be sorted) are sorted again.
    #[test]
    fn an_unchanged_refresh_in_another_order_still_lists_by_port() {
        let mut app = app_with(sample());
        assert_eq!(ports(&app), [22, 53, 3489, 8080]);
        app.update(refresh(sample()));
        assert_eq!(ports(&app), [22, 53, 3489, 8080]);
        let mut shuffled = sample();
        shuffled.rotate_left(1);
        app.update(refresh(shuffled));
        assert_eq!(ports(&app), [22, 53, 3489, 8080]);
        assert!(app
            .visible_rows()
            .all(|r| app.freshness(r) == Freshness::Steady));
    }

    #[test]
    fn filters_and_sort_change_the_listing() {
        let mut app = app_with(sample());
        app.update(Action::CycleProtocolFilter);
        assert_eq!(ports(&app), [22, 3489, 8080]);
        app.update(Action::CycleProtocolFilter);
        assert_eq!(ports(&app), [53]);
        app.update(Action::CycleProtocolFilter);
        assert_eq!(ports(&app).len(), 4);
        app.update(Action::CycleSort); // proto
        app.update(Action::CycleSort); // pid
        assert_eq!(ports(&app), [22, 53, 8080, 3489]);
        app.update(Action::CycleSort); // process
        assert_eq!(ports(&app), [53, 22, 8080, 3489]);
        let mut connected = socket(Protocol::Tcp, 40000, 70, "client");
        connected.state = SocketState::Established;
        let mut all = sample();
        all.push(connected);
        app.update(refresh(all));
        assert_eq!(ports(&app).len(), 4, "connections hidden by default");
        assert_eq!(
            app.update(Action::ToggleListenersOnly),
            Some(Effect::IncludeConnections(true))
        );
        assert_eq!(ports(&app).len(), 5);
    }

    #[test]
    fn search_narrows_as_you_type_and_escape_clears() {
        let mut app = app_with(sample());
        let whole = app.registry_rows().len();
        assert!(whole > 5000, "no query lists the whole registry");
        app.update(Action::NextPane);
        app.update(Action::StartSearch);
        assert_eq!(app.focus, Pane::Registry);
        for c in "redis".chars() {
            app.update(Action::SearchChar(c));
        }
        let top = app.selected_hit().unwrap();
        assert!(top.name(registry()).eq_ignore_ascii_case("redis"));
        assert_eq!(top.ports.unwrap().start, 6379);
        app.update(Action::SearchBackspace);
        assert_eq!(app.query, "redi");
        app.update(Action::Clear);
        assert_eq!(app.mode, Mode::Normal);
        assert!(app.query.is_empty());
        assert_eq!(app.registry_rows().len(), whole);
    }

    #[test]
    fn keys_typed_outside_search_do_not_edit_the_query() {
        let mut app = app_with(sample());
        app.update(Action::SearchChar('x'));
        assert!(app.query.is_empty());
    }

    #[test]
    fn a_bad_numeric_query_says_why_instead_of_failing() {
        let mut app = app_with(sample());
        app.update(Action::NextPane);
        app.update(Action::StartSearch);
        for c in "99999".chars() {
            app.update(Action::SearchChar(c));
        }
        assert!(app.registry_rows().is_empty());
        assert!(app.query_error().is_some());
    }

    #[test]
    fn jump_links_a_socket_to_its_registry_entry_and_back() {
        let mut app = app_with(sample());
        app.update(Action::Down);
        app.update(Action::Down); // 3489/tcp
        app.update(Action::Jump);
        assert_eq!(app.focus, Pane::Registry);
        assert_eq!(app.query, "3489");
        let hit = app.selected_hit().unwrap();
        assert_eq!(hit.kind, Kind::Iana);
        assert_eq!(hit.ports.unwrap().start, 3489);
        assert!(hit.protocols.contains(&Protocol::Tcp));
        // Back: from the registry entry of 22 to the sshd socket.
        app.update(Action::StartSearch);
        app.update(Action::Clear);
        app.update(Action::StartSearch);
        app.update(Action::SearchChar('2'));
        app.update(Action::SearchChar('2'));
        app.update(Action::Open);
        app.update(Action::Jump);
        assert_eq!(app.focus, Pane::Listeners);
        assert_eq!(app.process_name(app.selected_row().unwrap()), "sshd");
    }

    #[test]
    fn jump_from_an_unused_port_says_so_and_stays() {
        let mut app = app_with(sample());
        app.update(Action::NextPane);
        app.update(Action::StartSearch);
        for c in "289".chars() {
            app.update(Action::SearchChar(c));
        }
        assert!(app.registry_rows().is_empty(), "289 is unassigned");
        assert_eq!(app.queried_port(), Some(289));
        app.update(Action::Open);
        app.update(Action::Jump);
        assert_eq!(app.focus, Pane::Registry);
        assert!(app.notice.as_deref().unwrap().contains("289"));
        // With a socket on it, the same jump lands on that socket.
        let mut more = sample();
        more.push(socket(Protocol::Tcp, 289, 99, "odd"));
        app.update(refresh(more));
        app.update(Action::Jump);
        assert_eq!(app.focus, Pane::Listeners);
        assert_eq!(app.selected_socket().unwrap().local_port, 289);
    }

    #[test]
    fn killing_needs_a_confirmation_that_names_the_process() {
        let mut app = app_with(sample());
        assert_eq!(app.update(Action::AskKill), None);
        assert!(
            matches!(&app.mode, Mode::ConfirmKill { name, target } if name == "sshd" && target.pid == 10)
        );
        // Any other key cancels.
        assert_eq!(app.update(Action::Down), None);
        assert_eq!(app.mode, Mode::Normal);
        assert_eq!(
            app.listener_cursor(),
            0,
            "the cancelling key does nothing else"
        );
        app.update(Action::AskKill);
        assert_eq!(
            app.update(Action::Confirm),
            Some(Effect::Terminate(Target {
                pid: 10,
                inode: 22,
                start_ticks: Some(170_000),
                start_time: Some(1_700_000_000),
            }))
        );
        // A refresh arriving meanwhile does not cancel it.
        app.update(Action::AskKill);
        app.update(refresh(sample()));
        assert!(matches!(app.mode, Mode::ConfirmKill { .. }));
    }

    #[test]
    fn a_remote_host_s_processes_are_not_signalled_from_here() {
        let mut app = app_with(sample());
        app.remote = Some("web1".into());
        assert_eq!(app.update(Action::AskKill), None);
        assert!(matches!(app.mode, Mode::Normal));
        assert!(app.notice.as_deref().is_some_and(|n| n.contains("web1")));
    }

    #[test]
    fn a_saved_snapshot_neither_refreshes_nor_signals() {
        let mut app = App::new(registry(), "snap.json", true, 0.0);
        app.update(refresh(sample()));
        assert_eq!(app.update(Action::RefreshNow), None);
        assert_eq!(app.update(Action::TogglePause), None);
        app.update(Action::AskKill);
        assert_eq!(app.mode, Mode::Normal);
    }

    #[test]
    fn pause_refresh_help_and_quit_ask_the_runtime() {
        let mut app = app_with(sample());
        assert_eq!(
            app.update(Action::TogglePause),
            Some(Effect::SetPaused(true))
        );
        assert!(app.paused);
        assert_eq!(app.update(Action::RefreshNow), Some(Effect::RefreshNow));
        app.update(Action::ToggleHelp);
        assert_eq!(app.mode, Mode::Help);
        assert_eq!(app.update(Action::Quit), None, "q closes help first");
        assert_eq!(app.mode, Mode::Normal);
        assert_eq!(app.update(Action::Quit), Some(Effect::Quit));
    }

    #[test]
    fn tab_cycles_panes_and_the_detail_follows_the_last_list() {
        let mut app = app_with(sample());
        app.update(Action::NextPane);
        assert_eq!((app.focus, app.detail_of), (Pane::Registry, Pane::Registry));
        app.update(Action::NextPane);
        assert_eq!((app.focus, app.detail_of), (Pane::Detail, Pane::Registry));
        app.update(Action::Down);
        assert_eq!(app.detail_scroll, 1);
        app.update(Action::NextPane);
        assert_eq!(app.focus, Pane::Listeners);
        app.update(Action::PrevPane);
        assert_eq!(app.focus, Pane::Detail);
    }

    /// In a real terminal keys and refreshes arrive in one batch, applied before one draw: a
    /// refresh (or a tick) that changes nothing must not cancel the typed letters' redraw (the
    /// search prompt stayed empty while the letters were taken).
    #[test]
    fn an_unchanged_refresh_after_a_key_keeps_the_key_s_redraw() {
        let mut app = app_with(sample());
        app.update(Action::NextPane);
        app.update(Action::StartSearch);
        app.dirty = false; // drawn
        app.update(Action::SearchChar('h'));
        app.update(refresh(sample()));
        app.update(Action::Tick);
        assert_eq!(app.query, "h");
        assert!(app.dirty, "the typed letter is never drawn");
    }

    #[test]
    fn an_unchanged_refresh_does_not_ask_for_a_redraw() {
        let mut app = app_with(sample());
        app.dirty = false;
        app.update(refresh(sample()));
        assert!(!app.dirty, "same sockets, nothing to draw");
        let mut moved = sample();
        moved[0].owners[0].pid = 11;
        app.update(refresh(moved.clone()));
        assert!(app.dirty, "a changed owner is drawn");
        let mut more = moved.clone();
        more.push(socket(Protocol::Tcp, 9999, 60, "new"));
        app.update(refresh(more.clone()));
        assert!(app.dirty);
        // While it is new nothing changes; the refresh that ends its highlight is drawn.
        let mut dirt = Vec::new();
        for _ in 0..AGE_REFRESHES {
            app.dirty = false;
            app.update(refresh(more.clone()));
            dirt.push(app.dirty);
        }
        assert_eq!(dirt, [false, false, true]);
    }

    #[test]
    fn sockets_sharing_an_address_are_told_apart_by_inode() {
        let mut twin = socket(Protocol::Tcp, 22, 10, "sshd");
        twin.inode = 4242;
        let mut both = sample();
        both.push(twin);
        let mut app = app_with(both.clone());
        app.update(refresh(both.clone()));
        assert_eq!(ports(&app), [22, 22, 53, 3489, 8080]);
        assert!(app
            .visible_rows()
            .all(|r| app.freshness(r) == Freshness::Steady));
        app.update(Action::Down);
        let selected = app.selected_socket().unwrap().inode;
        app.update(refresh(both));
        assert_eq!(app.selected_socket().unwrap().inode, selected);
    }

    #[test]
    fn viewport_reports_do_not_force_a_redraw() {
        let mut app = app_with(sample());
        app.dirty = false;
        app.update(Action::Viewport {
            listeners: 5,
            registry: 5,
            detail_max_scroll: 10,
        });
        assert!(!app.dirty);
        app.update(Action::Down);
        assert!(app.dirty);
    }

    #[test]
    fn the_detail_pane_scrolls_no_further_than_its_content() {
        let mut app = app_with(sample());
        app.update(Action::Viewport {
            listeners: 5,
            registry: 5,
            detail_max_scroll: 3,
        });
        app.update(Action::NextPane);
        app.update(Action::NextPane); // the detail pane
        app.update(Action::Bottom);
        assert_eq!(app.detail_scroll, 3, "End stops at the last screenful");
        for _ in 0..50 {
            app.update(Action::Down);
        }
        assert_eq!(app.detail_scroll, 3);
        app.update(Action::Up);
        assert_eq!(app.detail_scroll, 2, "k moves back at once");
    }

    #[test]
    fn notices_go_after_a_few_idle_ticks() {
        let mut app = app_with(sample());
        app.update(Action::Notice("sent SIGTERM to pid 1".into()));
        for _ in 1..NOTICE_TICKS {
            app.dirty = false;
            app.update(Action::Tick);
            assert!(app.notice.is_some());
            assert!(!app.dirty, "an ageing notice draws nothing");
        }
        app.update(Action::Tick);
        assert!(app.notice.is_none());
        assert!(app.dirty, "the notice's going is drawn");
        app.dirty = false;
        app.update(Action::Tick);
        assert!(!app.dirty, "an idle screen without a notice draws nothing");
    }

    #[test]
    fn jumping_before_the_first_collection_says_it_is_still_collecting() {
        let mut app = App::new(registry(), "live", false, 2.0);
        app.update(Action::Jump);
        assert!(
            app.notice.as_deref().unwrap().contains("still collecting"),
            "{:?}",
            app.notice
        );
    }

    #[test]
    fn switching_to_every_socket_marks_nothing_new() {
        let mut app = app_with(sample());
        app.update(Action::ToggleListenersOnly);
        let mut connected = socket(Protocol::Tcp, 40000, 70, "client");
        connected.state = SocketState::Established;
        let mut all = sample();
        all.push(connected);
        let snapshot = Snapshot {
            schema_version: SCHEMA_VERSION,
            host: HostInfo {
                hostname: "box".into(),
                includes_connections: true,
                ..HostInfo::default()
            },
            sockets: all,
        };
        app.update(Action::Refreshed(Box::new(Refresh::assess(
            registry(),
            snapshot,
        ))));
        assert_eq!(app.visible_len(), 5);
        assert!(app
            .visible_rows()
            .all(|r| app.freshness(r) == Freshness::Steady));
        // And back: the connections leave without being shown as gone.
        app.update(Action::ToggleListenersOnly);
        app.update(refresh(sample()));
        assert_eq!(app.vanished_count(), 0);
    }

    #[test]
    fn the_filter_takes_typed_and_pasted_text_and_escape_clears_it() {
        let mut app = app_with(sample());
        app.update(Action::StartSearch);
        assert_eq!(app.mode, Mode::Filter, "/ in the listener pane filters it");
        app.update(Action::Paste("ss\nhd".into()));
        assert_eq!(
            app.filter.text.as_deref(),
            Some("sshd"),
            "control characters dropped"
        );
        assert_eq!(ports(&app), [22]);
        app.update(Action::Open);
        assert_eq!(app.mode, Mode::Normal);
        assert_eq!(ports(&app), [22], "Enter keeps the filter");
        app.update(Action::Clear);
        assert_eq!(ports(&app).len(), 4);
    }
}
