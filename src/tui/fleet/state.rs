//! The fleet view's state and every transition of it: listener kinds across hosts (from
//! `remote::fleet`), filtered and sorted here, the hosts of the selected kind, and which host to
//! open. Like the explorer's `state`, nothing here knows about crossterm, frames or threads.

use crate::remote::fleet::{Fleet, FleetHost, KindRow};

/// How many idle ticks (about a second each) a notice stays in the status line.
const NOTICE_TICKS: u8 = 8;

#[derive(Debug, Clone)]
pub enum FleetAction {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextPane,
    StartFilter,
    FilterChar(char),
    FilterBackspace,
    /// Text pasted into the terminal: typed into the filter, never taken as keys.
    Paste(String),
    /// Leave the filter or help; clear the filter.
    Clear,
    /// Enter: on a listener kind, go to its hosts; on a host, open its explorer.
    Open,
    ToggleOutliersOnly,
    CycleSort,
    ToggleHelp,
    Quit,
    Tick,
    /// Rows each list showed in the last frame (for paging).
    Viewport {
        kinds: usize,
        hosts: usize,
    },
    /// The result of a side effect (a host's snapshot that would not open), for the status line.
    Notice(String),
}

/// What the runtime must do after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FleetEffect {
    Quit,
    /// Open this host's explorer, filtered to `port` when the host has the selected kind.
    OpenHost {
        host: usize,
        port: Option<u16>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetPane {
    Kinds,
    Hosts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetMode {
    Normal,
    Filter,
    Help,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetSort {
    /// Port, protocol, program.
    Port,
    /// Fewest hosts first: the outliers on top.
    Rarest,
    Program,
}

impl FleetSort {
    fn next(self) -> FleetSort {
        match self {
            FleetSort::Port => FleetSort::Rarest,
            FleetSort::Rarest => FleetSort::Program,
            FleetSort::Program => FleetSort::Port,
        }
    }
    pub fn word(self) -> &'static str {
        match self {
            FleetSort::Port => "port",
            FleetSort::Rarest => "fewest hosts",
            FleetSort::Program => "program",
        }
    }
}

/// A row of the hosts pane: a host, and whether it has the selected kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostRow {
    pub host: usize,
    /// `None` when no kind is selected (every host is listed).
    pub has: Option<bool>,
}

pub struct FleetApp {
    pub fleet: Fleet,
    /// Shown in the header: the directory or the files.
    pub source: String,
    /// Indices into `fleet.kinds` after filter and sort.
    visible: Vec<usize>,
    kind_cursor: usize,
    /// The kind under the cursor, kept across filtering and sorting.
    selected: Option<usize>,
    hosts: Vec<HostRow>,
    host_cursor: usize,
    pub focus: FleetPane,
    pub mode: FleetMode,
    pub filter: String,
    pub outliers_only: bool,
    pub sort: FleetSort,
    pub notice: Option<String>,
    notice_ticks: u8,
    page_kinds: usize,
    page_hosts: usize,
    /// Set by every change that shows; the runtime draws only when it is set, then clears it.
    pub dirty: bool,
}

impl FleetApp {
    pub fn new(fleet: Fleet, source: &str) -> FleetApp {
        let notice = fleet
            .skipped
            .first()
            .map(|s| {
                let name = s.path.file_name().map_or_else(
                    || s.path.display().to_string(),
                    |n| n.to_string_lossy().into(),
                );
                format!("skipped {name}: {}", s.why)
            })
            .or_else(|| fleet.notes.first().cloned());
        let mut app = FleetApp {
            fleet,
            source: source.to_string(),
            visible: Vec::new(),
            kind_cursor: 0,
            selected: None,
            hosts: Vec::new(),
            host_cursor: 0,
            focus: FleetPane::Kinds,
            mode: FleetMode::Normal,
            filter: String::new(),
            outliers_only: false,
            sort: FleetSort::Port,
            notice_ticks: if notice.is_some() { NOTICE_TICKS } else { 0 },
            notice,
            page_kinds: 10,
            page_hosts: 10,
            dirty: true,
        };
        app.rebuild_visible();
        app
    }

    // ----- read side, for the views -----

    pub fn visible_len(&self) -> usize {
        self.visible.len()
    }
    pub fn visible_kind(&self, at: usize) -> Option<&KindRow> {
        self.visible.get(at).map(|&i| &self.fleet.kinds[i])
    }
    pub fn kind_cursor(&self) -> usize {
        self.kind_cursor
    }
    pub fn selected_kind(&self) -> Option<&KindRow> {
        self.selected.map(|i| &self.fleet.kinds[i])
    }
    pub fn host_rows(&self) -> &[HostRow] {
        &self.hosts
    }
    pub fn host_cursor(&self) -> usize {
        self.host_cursor
    }
    pub fn host(&self, i: usize) -> &FleetHost {
        &self.fleet.hosts[i]
    }
    pub fn selected_host(&self) -> Option<&FleetHost> {
        self.hosts.get(self.host_cursor).map(|r| self.host(r.host))
    }
    pub fn is_outlier(&self, row: &KindRow) -> bool {
        self.fleet.is_outlier(row)
    }
    pub fn outlier_count(&self) -> usize {
        self.fleet.outliers().count()
    }

    // ----- the one place state changes -----

    pub fn update(&mut self, action: FleetAction) -> Option<FleetEffect> {
        self.dirty = true;
        if self.mode == FleetMode::Help
            && matches!(
                action,
                FleetAction::ToggleHelp | FleetAction::Clear | FleetAction::Quit
            )
        {
            self.mode = FleetMode::Normal;
            return None;
        }
        match action {
            FleetAction::Up => self.move_cursor(-1),
            FleetAction::Down => self.move_cursor(1),
            FleetAction::PageUp => self.move_cursor(-(self.page() as isize)),
            FleetAction::PageDown => self.move_cursor(self.page() as isize),
            FleetAction::Top => self.move_cursor(isize::MIN / 2),
            FleetAction::Bottom => self.move_cursor(isize::MAX / 2),
            FleetAction::NextPane => {
                self.focus = match self.focus {
                    FleetPane::Kinds => FleetPane::Hosts,
                    FleetPane::Hosts => FleetPane::Kinds,
                }
            }
            FleetAction::StartFilter => {
                self.mode = FleetMode::Filter;
                self.focus = FleetPane::Kinds;
            }
            FleetAction::FilterChar(c) => self.type_text(&c.to_string()),
            FleetAction::Paste(text) => {
                if self.mode == FleetMode::Filter {
                    self.type_text(&text);
                } else {
                    self.say("pasted text is only taken in the filter (/)");
                }
            }
            FleetAction::FilterBackspace => {
                if self.mode == FleetMode::Filter {
                    self.filter.pop();
                    self.rebuild_visible();
                }
            }
            FleetAction::Clear => match self.mode {
                FleetMode::Filter => {
                    self.mode = FleetMode::Normal;
                    self.filter.clear();
                    self.rebuild_visible();
                }
                _ if !self.filter.is_empty() => {
                    self.filter.clear();
                    self.rebuild_visible();
                }
                _ if self.focus == FleetPane::Hosts => self.focus = FleetPane::Kinds,
                _ => self.notice = None,
            },
            FleetAction::Open => {
                if self.mode == FleetMode::Filter {
                    self.mode = FleetMode::Normal;
                } else if self.focus == FleetPane::Kinds {
                    self.focus = FleetPane::Hosts;
                } else if let Some(row) = self.hosts.get(self.host_cursor) {
                    let port = match row.has {
                        Some(true) => self.selected_kind().map(|k| k.kind.port),
                        _ => None,
                    };
                    return Some(FleetEffect::OpenHost {
                        host: row.host,
                        port,
                    });
                }
            }
            FleetAction::ToggleOutliersOnly => {
                if self.fleet.threshold == 0 {
                    self.say("one host: nothing to compare it with");
                } else {
                    self.outliers_only = !self.outliers_only;
                    self.rebuild_visible();
                }
            }
            FleetAction::CycleSort => {
                self.sort = self.sort.next();
                self.rebuild_visible();
            }
            FleetAction::ToggleHelp => self.mode = FleetMode::Help,
            FleetAction::Quit => return Some(FleetEffect::Quit),
            FleetAction::Tick => {
                self.dirty = false;
                if self.notice.is_some() {
                    self.notice_ticks = self.notice_ticks.saturating_sub(1);
                    if self.notice_ticks == 0 {
                        self.notice = None;
                        self.dirty = true;
                    }
                }
            }
            FleetAction::Viewport { kinds, hosts } => {
                self.dirty = false;
                self.page_kinds = kinds.max(1);
                self.page_hosts = hosts.max(1);
            }
            FleetAction::Notice(msg) => self.say(msg),
        }
        None
    }

    fn say(&mut self, msg: impl Into<String>) {
        self.notice = Some(msg.into());
        self.notice_ticks = NOTICE_TICKS;
    }

    fn type_text(&mut self, text: &str) {
        if self.mode != FleetMode::Filter {
            return;
        }
        self.filter.extend(text.chars().filter(|c| !c.is_control()));
        self.rebuild_visible();
    }

    fn page(&self) -> usize {
        match self.focus {
            FleetPane::Kinds => self.page_kinds,
            FleetPane::Hosts => self.page_hosts,
        }
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
            FleetPane::Kinds => {
                self.kind_cursor = step(self.kind_cursor, self.visible.len());
                let now = self.visible.get(self.kind_cursor).copied();
                if now != self.selected {
                    self.selected = now;
                    self.rebuild_hosts();
                }
            }
            FleetPane::Hosts => self.host_cursor = step(self.host_cursor, self.hosts.len()),
        }
    }

    fn matches(&self, row: &KindRow) -> bool {
        if self.outliers_only && !self.fleet.is_outlier(row) {
            return false;
        }
        let text = self.filter.trim();
        if text.is_empty() {
            return true;
        }
        if let Ok(port) = text.trim_start_matches(':').parse::<u16>() {
            return row.kind.port == port;
        }
        let want = text.to_lowercase();
        row.kind.protocol.as_str() == want
            || row.kind.program.to_lowercase().contains(&want)
            || row.hosts.iter().any(|&h| {
                self.fleet.hosts[h as usize]
                    .name
                    .to_lowercase()
                    .contains(&want)
            })
    }

    /// Filter and sort the kinds; keep the cursor on the same kind. Every order ends on the kind
    /// itself, so it is total and stable.
    fn rebuild_visible(&mut self) {
        let kinds = &self.fleet.kinds;
        let mut visible: Vec<usize> = (0..kinds.len())
            .filter(|&i| self.matches(&kinds[i]))
            .collect();
        match self.sort {
            FleetSort::Port => {} // the fleet's own order
            FleetSort::Rarest => visible.sort_by_key(|&i| (kinds[i].hosts.len(), i)),
            FleetSort::Program => visible
                .sort_by(|&a, &b| (&kinds[a].kind.program, a).cmp(&(&kinds[b].kind.program, b))),
        }
        self.visible = visible;
        let kept = self
            .selected
            .and_then(|sel| self.visible.iter().position(|&i| i == sel));
        self.kind_cursor =
            kept.unwrap_or_else(|| self.kind_cursor.min(self.visible.len().saturating_sub(1)));
        let now = self.visible.get(self.kind_cursor).copied();
        if now != self.selected || self.hosts.is_empty() {
            self.selected = now;
            self.rebuild_hosts();
        }
    }

    /// The hosts pane: for a selected kind, the minority first (the few that have a rare
    /// listener, or the few that lack a common one), then the rest; otherwise every host. The
    /// cursor starts on the first: after choosing a rare listener, Enter Enter opens its host.
    fn rebuild_hosts(&mut self) {
        let total = self.fleet.hosts.len();
        self.hosts = match self.selected_kind() {
            None => (0..total).map(|host| HostRow { host, has: None }).collect(),
            Some(row) => {
                let mut has = vec![false; total];
                for &h in &row.hosts {
                    has[h as usize] = true;
                }
                let minority_has = row.hosts.len() * 2 <= total;
                let mut rows: Vec<HostRow> = (0..total)
                    .map(|host| HostRow {
                        host,
                        has: Some(has[host]),
                    })
                    .collect();
                rows.sort_by_key(|r| (r.has != Some(minority_has), r.host));
                rows
            }
        };
        self.host_cursor = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::fleet::{ListenerKind, OnBadFile};
    use crate::sockets::fixtures;

    fn fleet_of(hosts: &[(&str, Vec<(u16, &str)>)]) -> (tempfile::TempDir, Fleet) {
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for (name, listeners) in hosts {
            let sockets = listeners
                .iter()
                .enumerate()
                .map(|(i, (port, prog))| {
                    fixtures::tcp(
                        "0.0.0.0",
                        *port,
                        fixtures::owner(i as u32 + 1, prog, 0, &format!("/usr/sbin/{prog}")),
                    )
                })
                .collect();
            let mut snap = fixtures::snapshot(sockets);
            snap.host.hostname = name.to_string();
            let path = dir.path().join(format!("{name}.json"));
            std::fs::write(&path, serde_json::to_vec(&snap).unwrap()).unwrap();
            files.push(path);
        }
        let fleet = crate::remote::fleet::load(&files, OnBadFile::Fail).unwrap();
        (dir, fleet)
    }

    fn three() -> (tempfile::TempDir, FleetApp) {
        let (dir, fleet) = fleet_of(&[
            ("alpha", vec![(22, "sshd"), (443, "nginx")]),
            ("beta", vec![(22, "sshd"), (443, "nginx"), (4444, "nc")]),
            ("gamma", vec![(22, "sshd")]),
        ]);
        (dir, FleetApp::new(fleet, "dir"))
    }

    fn kind(app: &FleetApp) -> &ListenerKind {
        &app.selected_kind().unwrap().kind
    }

    #[test]
    fn kinds_are_listed_with_their_hosts_and_the_minority_comes_first() {
        let (_d, mut app) = three();
        assert_eq!(app.visible_len(), 3);
        assert_eq!(kind(&app).port, 22);
        assert!(app.host_rows().iter().all(|r| r.has == Some(true)));
        app.update(FleetAction::Down);
        // nginx is on alpha and beta: gamma, which lacks it, comes first.
        assert_eq!(kind(&app).port, 443);
        assert_eq!(
            app.host_rows()[0],
            HostRow {
                host: 2,
                has: Some(false)
            }
        );
        app.update(FleetAction::Down);
        let nc = app.selected_kind().unwrap();
        assert!(app.is_outlier(nc), "only beta has nc");
        assert_eq!(
            app.host_rows()[0],
            HostRow {
                host: 1,
                has: Some(true)
            }
        );
    }

    #[test]
    fn enter_goes_to_the_hosts_then_opens_one_filtered_to_the_port() {
        let (_d, mut app) = three();
        app.update(FleetAction::Bottom);
        assert_eq!(app.update(FleetAction::Open), None);
        assert_eq!(app.focus, FleetPane::Hosts);
        assert_eq!(
            app.update(FleetAction::Open),
            Some(FleetEffect::OpenHost {
                host: 1,
                port: Some(4444)
            })
        );
        // A host that lacks the kind opens unfiltered.
        app.update(FleetAction::Down);
        assert_eq!(
            app.update(FleetAction::Open),
            Some(FleetEffect::OpenHost {
                host: 0,
                port: None
            })
        );
        // Esc goes back to the kinds, q quits.
        app.update(FleetAction::Clear);
        assert_eq!(app.focus, FleetPane::Kinds);
        assert_eq!(app.update(FleetAction::Quit), Some(FleetEffect::Quit));
    }

    #[test]
    fn filter_outliers_and_sorting_keep_the_selection() {
        let (_d, mut app) = three();
        app.update(FleetAction::Down); // nginx
        app.update(FleetAction::CycleSort); // fewest hosts first: nc, nginx, sshd
        assert_eq!(app.sort, FleetSort::Rarest);
        assert_eq!(kind(&app).port, 443);
        assert_eq!(app.kind_cursor(), 1);
        app.update(FleetAction::ToggleOutliersOnly);
        assert_eq!(app.visible_len(), 1);
        assert_eq!(kind(&app).port, 4444);
        app.update(FleetAction::ToggleOutliersOnly);
        app.update(FleetAction::StartFilter);
        for c in "ngi".chars() {
            app.update(FleetAction::FilterChar(c));
        }
        assert_eq!(app.visible_len(), 1);
        app.update(FleetAction::Clear);
        assert_eq!(app.visible_len(), 3);
        app.update(FleetAction::StartFilter);
        app.update(FleetAction::Paste(":22\n".into()));
        assert_eq!(app.filter, ":22");
        assert_eq!(app.visible_len(), 1);
        // A host name finds what that host has.
        app.update(FleetAction::Clear);
        app.update(FleetAction::StartFilter);
        for c in "gamma".chars() {
            app.update(FleetAction::FilterChar(c));
        }
        assert_eq!(app.visible_len(), 1, "gamma has only sshd");
    }

    #[test]
    fn an_idle_tick_draws_nothing() {
        let (_d, mut app) = three();
        app.dirty = false;
        app.update(FleetAction::Tick);
        assert!(!app.dirty);
    }
}
