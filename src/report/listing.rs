//! The listing: which sockets a view shows ([`Filter`]), in what order ([`SortKey`]), and what
//! each row says ([`Row`], its [`Column`]s, and [`CsvRow`]). `list` (table, CSV, JSON) and the
//! explorer's listener pane both build their rows here.
//!
//! Adding a column: a field on [`Row`] (JSON gets it), one on [`CsvRow`] (CSV gets it, the header
//! is the field name) and a [`Column`] variant (the table and the explorer get it).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

use super::facts::{RowFacts, SharedRowFacts};
use super::words;
use crate::facts::FactsTable;
use crate::hints::{Flag, Flags, Severity};
use crate::policy::Mark;
use crate::registry::{Protocol, Registry};
use crate::sockets::{Family, Socket, SocketState, UnknownOwner};
use crate::text::escape;

/// The order of a listing. The CLI's `--sort` parses it and the explorer's `s` cycles through it.
/// Every order ends on the socket's identity, so it is total and rows never shuffle between
/// refreshes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SortKey {
    #[default]
    Port,
    Proto,
    Pid,
    Process,
    User,
    Address,
}

impl SortKey {
    pub fn word(self) -> &'static str {
        match self {
            SortKey::Port => "port",
            SortKey::Proto => "proto",
            SortKey::Pid => "pid",
            SortKey::Process => "process",
            SortKey::User => "user",
            SortKey::Address => "address",
        }
    }

    /// The next order, for a key that cycles.
    pub fn next(self) -> SortKey {
        match self {
            SortKey::Port => SortKey::Proto,
            SortKey::Proto => SortKey::Pid,
            SortKey::Pid => SortKey::Process,
            SortKey::Process => SortKey::User,
            SortKey::User => SortKey::Address,
            SortKey::Address => SortKey::Port,
        }
    }

    pub fn compare(self, a: &Socket, b: &Socket) -> Ordering {
        let port = |s: &Socket| (s.local_port, s.protocol, s.local_addr);
        let first = match self {
            SortKey::Port => Ordering::Equal,
            SortKey::Proto => (a.protocol, a.family).cmp(&(b.protocol, b.family)),
            SortKey::Pid => first_pid(a).cmp(&first_pid(b)),
            SortKey::Process => by_text(process(a), process(b)),
            SortKey::User => by_text(user(a), user(b)),
            SortKey::Address => (a.local_addr, a.local_port).cmp(&(b.local_addr, b.local_port)),
        };
        first
            .then_with(|| port(a).cmp(&port(b)))
            .then_with(|| (a.key(), a.inode).cmp(&(b.key(), b.inode)))
    }
}

fn first_pid(s: &Socket) -> u32 {
    s.owners.first().map_or(u32::MAX, |o| o.pid)
}

fn process(s: &Socket) -> Option<&str> {
    s.owners.first().map(|o| o.name.as_str())
}

/// The first owner's user, else the user the kernel says opened the socket.
fn user(s: &Socket) -> Option<&str> {
    s.owners
        .first()
        .and_then(|o| o.user.as_deref())
        .or(s.user.as_deref())
}

/// Case-insensitive, with the unknown last.
fn by_text(a: Option<&str>, b: Option<&str>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a
            .chars()
            .flat_map(char::to_lowercase)
            .cmp(b.chars().flat_map(char::to_lowercase)),
        (a, b) => a.is_none().cmp(&b.is_none()),
    }
}

/// Which sockets a listing shows. The CLI fills it from its options, the explorer from its keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Connections too, not only listeners.
    pub connections: bool,
    pub protocol: Option<Protocol>,
    pub port: Option<u16>,
    pub pid: Option<u32>,
    /// Part of a process name, any case.
    pub process: Option<String>,
    /// A user name or uid.
    pub user: Option<String>,
    /// Free text (the explorer's `/`): any of port, address, process, pid, user, service or
    /// hint id contains it, any case.
    pub text: Option<String>,
    /// Which network namespaces; `None`: every one collected.
    pub netns: Option<Namespaces>,
}

/// The network namespaces a listing shows (`list --netns`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespaces {
    /// The collector's own (the host's): `list`'s default.
    Host,
    /// Every namespace collected.
    All,
    /// One namespace, by its `ip netns` name, its label (`container web`), its inode or
    /// `net:[INODE]`.
    Named(String),
}

impl Namespaces {
    /// `host`, `all`, or a name: what `--netns` takes.
    pub fn parse(raw: &str) -> Result<Namespaces, String> {
        match raw.trim() {
            "" => Err("--netns needs a namespace name, host or all".into()),
            "host" => Ok(Namespaces::Host),
            "all" => Ok(Namespaces::All),
            name => Ok(Namespaces::Named(name.to_owned())),
        }
    }

    /// Whether a socket in `ns` (`None`: the host's), labelled `label`, is shown.
    pub fn admits(&self, ns: Option<&crate::sockets::NetNs>, label: Option<&str>) -> bool {
        match (self, ns) {
            (Namespaces::All, _) => true,
            (Namespaces::Host, ns) => ns.is_none(),
            (Namespaces::Named(_), None) => false,
            (Namespaces::Named(want), Some(ns)) => {
                ns.name.as_deref() == Some(want.as_str())
                    || label == Some(want.as_str())
                    || ns.label() == *want
                    || ns.inode.to_string() == *want
            }
        }
    }
}

impl Filter {
    /// Whether the socket passes. `service` and `flags` are the row's, for the free text.
    pub fn matches(&self, s: &Socket, service: Option<&str>, flags: &[Flag]) -> bool {
        (self.connections || s.state.is_listener())
            && self.protocol.is_none_or(|p| p == s.protocol)
            && self.port.is_none_or(|p| p == s.local_port)
            && self.pid.is_none_or(|p| s.owners.iter().any(|o| o.pid == p))
            && self
                .process
                .as_deref()
                .is_none_or(|want| s.owners.iter().any(|o| contains_any_case(&o.name, want)))
            && self.user.as_deref().is_none_or(|want| user_is(s, want))
            && self
                .netns
                .as_ref()
                .is_none_or(|n| n.admits(s.netns.as_ref(), None))
            && self
                .text
                .as_deref()
                .is_none_or(|t| t.trim().is_empty() || text_matches(s, service, flags, t.trim()))
    }
}

fn contains_any_case(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(&needle.to_lowercase())
}

fn user_is(s: &Socket, want: &str) -> bool {
    let is_want = |uid: Option<u32>, user: Option<&str>| {
        user == Some(want) || uid.is_some_and(|u| u.to_string() == want)
    };
    if s.owners.is_empty() {
        is_want(s.uid, s.user.as_deref())
    } else {
        s.owners.iter().any(|o| is_want(o.uid, o.user.as_deref()))
    }
}

fn text_matches(s: &Socket, service: Option<&str>, flags: &[Flag], text: &str) -> bool {
    let port = s.local_port.to_string();
    let endpoint = s.local_endpoint().to_string();
    let remote = s
        .remote_endpoint()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let mut words: Vec<&str> = vec![&port, &endpoint, &remote, s.protocol.as_str()];
    words.extend(service);
    words.extend(user(s));
    let pids: Vec<String> = s.owners.iter().map(|o| o.pid.to_string()).collect();
    words.extend(pids.iter().map(String::as_str));
    words.extend(s.owners.iter().map(|o| o.name.as_str()));
    words.extend(flags.iter().map(|f| f.id));
    words.extend(s.owner_unknown.map(words::owner_state));
    // The namespace's tag, as the listing shows it (its name or `net:[INODE]`).
    let netns = s.netns.as_ref().map(crate::sockets::NetNs::label);
    words.extend(netns.as_deref());
    words.iter().any(|w| contains_any_case(w, text))
}

/// One line of a listing: a socket joined with its registry name and its hints' flags. Text
/// fields hold raw, untrusted text; each printer escapes them its own way. This struct *is* the
/// JSON of a row.
#[derive(Debug, Serialize)]
pub struct Row<'a> {
    pub protocol: Protocol,
    pub family: Family,
    pub state: SocketState,
    pub local_addr: IpAddr,
    pub local_port: u16,
    pub remote_addr: Option<IpAddr>,
    pub remote_port: Option<u16>,
    /// The IANA service name for this port and protocol.
    pub service: Option<&'a str>,
    /// Every owning pid, ascending as collected.
    pub pids: Vec<u32>,
    /// The first owner's process name.
    pub process: Option<&'a str>,
    /// The first owner's user, else the user that opened the socket.
    pub user: Option<&'a str>,
    pub owner_unknown: Option<UnknownOwner>,
    /// The most severe hint, if any.
    pub badge: Option<Severity>,
    /// Every hint's id and severity, most severe first. The full text is `portscope explain`.
    pub hints: Flags,
    /// The network namespace, when not the host's: its `ip netns` name, the container or unit
    /// running in it, or `net:[INODE]`.
    pub netns: Option<String>,
    /// Package, integrity, unit, container, pod of the first owner ([`Row::with_facts`]);
    /// shared by the rows of one owner.
    #[serde(flatten)]
    pub facts: Arc<RowFacts>,
    /// What the expected-listeners file says: `true` a rule expects it, `false` none does,
    /// `null` when no file is in use or the socket is a connection (the file names listeners).
    pub expected: Option<bool>,
    /// The rule that expects it.
    pub expected_by: Option<ExpectedBy<'a>>,
    /// The worst of the hints the expectation quieted: kept in `hints`, left out of `badge`.
    pub quieted: Option<Severity>,
    #[serde(skip)]
    pub socket: &'a Socket,
}

/// The rule of the expected-listeners file that expects a listener.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ExpectedBy<'a> {
    pub file: &'a str,
    /// The line of its `[[listener]]`.
    pub line: usize,
    pub reason: &'a str,
    pub owner: &'a str,
}

impl<'a> Row<'a> {
    pub fn new(registry: &'a Registry, socket: &'a Socket, hints: Flags) -> Row<'a> {
        Row {
            protocol: socket.protocol,
            family: socket.family,
            state: socket.state,
            local_addr: socket.local_addr,
            local_port: socket.local_port,
            remote_addr: socket.remote_addr,
            remote_port: socket.remote_port,
            service: registry.service_name(socket.local_port, socket.protocol),
            pids: socket.owners.iter().map(|o| o.pid).collect(),
            process: process(socket),
            user: user(socket),
            owner_unknown: socket.owner_unknown,
            badge: crate::hints::worst(&hints),
            hints,
            netns: socket.netns.as_ref().map(crate::sockets::NetNs::label),
            facts: Arc::default(),
            expected: None,
            expected_by: None,
            quieted: None,
            socket,
        }
    }

    /// The row with its owner's facts and its namespace's label from `table`.
    pub fn with_facts(self, table: &FactsTable) -> Row<'a> {
        self.with_shared_facts(table, &mut SharedRowFacts::default())
    }

    /// [`Row::with_facts`], the owner's facts taken from `shared` when an earlier row of the
    /// same owner put them there: a server's 20,000 connections then hold one copy.
    pub fn with_shared_facts(mut self, table: &FactsTable, shared: &mut SharedRowFacts) -> Row<'a> {
        self.facts = shared.of(table, self.socket);
        self.netns = self
            .socket
            .netns
            .as_ref()
            .map(|ns| table.namespace_label(ns));
        self
    }

    /// Mark the row with what the expected-listeners file (`origin`) says about it. On an
    /// expected listener the hints stay listed but are quieted ([`crate::policy::quiets`]): the
    /// badge counts only those that are not.
    pub fn with_mark(mut self, mark: Option<&Mark<'a>>, origin: &'a str) -> Row<'a> {
        let Some(mark) = mark else {
            return self;
        };
        self.expected = Some(mark.is_expected());
        if let Mark::Expected(placed) = mark {
            self.expected_by = Some(ExpectedBy {
                file: origin,
                line: placed.line,
                reason: &placed.rule.reason,
                owner: &placed.rule.owner,
            });
            let (quiet, loud): (Vec<Flag>, Vec<Flag>) = self
                .hints
                .iter()
                .partition(|f| crate::policy::quiets(f.severity));
            self.badge = crate::hints::worst(&loud);
            self.quieted = crate::hints::worst(&quiet);
        }
        self
    }

    /// Owner state and worst severity in words: `hidden`, `warning`, `kernel notice`.
    pub fn flag_words(&self) -> String {
        let parts = [
            self.owner_unknown.map(words::owner_state),
            self.badge.map(words::severity),
            self.quieted.map(words::quieted),
        ];
        parts.into_iter().flatten().collect::<Vec<_>>().join(" ")
    }
}

/// A column of a listing, as the table and the explorer's listener pane show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Proto,
    Address,
    Port,
    Endpoint,
    Service,
    State,
    Remote,
    Pid,
    Process,
    User,
    /// The container, pod or systemd unit the first owner runs in.
    Held,
    Flag,
    /// Expected by the expected-listeners file (shown only when one is in use).
    Expected,
}

impl Column {
    pub fn title(self) -> &'static str {
        match self {
            Column::Proto => "PROTO",
            Column::Address => "ADDRESS",
            Column::Port => "PORT",
            Column::Endpoint => "LOCAL",
            Column::Service => "SERVICE",
            Column::State => "STATE",
            Column::Remote => "REMOTE",
            Column::Pid => "PID",
            Column::Process => "PROCESS",
            Column::User => "USER",
            Column::Held => "UNIT/CONTAINER",
            Column::Flag => "FLAG",
            Column::Expected => "EXP",
        }
    }

    /// The narrowest a column gets before the table gives up shrinking it.
    pub fn min_width(self) -> usize {
        match self {
            Column::Proto => 5,
            Column::Address => 7,
            Column::Port => 5,
            Column::Endpoint => 9,
            Column::Service => 7,
            Column::State => 5,
            Column::Remote => 6,
            Column::Pid => 3,
            Column::Process => 7,
            Column::User => 4,
            Column::Held => 8,
            Column::Flag => 4,
            Column::Expected => 3,
        }
    }

    /// Whether this column gives up width first when the table is too wide.
    pub fn shrinks(self) -> bool {
        matches!(
            self,
            Column::Service | Column::Remote | Column::Process | Column::User | Column::Held
        )
    }

    /// The `list` table's columns; connections add their state and peer; `wide` (a terminal of
    /// [`WIDE`] columns or more, or no terminal) adds UNIT/CONTAINER.
    pub fn listing_at(connections: bool, wide: bool) -> Vec<Column> {
        let mut cols = Column::listing(connections);
        if wide {
            cols.insert(cols.len() - 1, Column::Held);
        }
        cols
    }

    /// The explorer's listener pane: the columns that fit `width` cells, with their widths
    /// (the endpoint takes what is left). Connections add STATE and REMOTE; the service and
    /// user give way first on a narrow screen, the unit or container shows on a wide one.
    /// (Marker, freshness and badge cells are the pane's own.)
    pub fn pane_at(width: usize, connections: bool) -> Vec<(Column, usize)> {
        // Marker 2, fresh 2 and the badge 2 are fixed; the address keeps at least this much.
        const MIN_ENDPOINT: usize = 12;
        let rest = width.saturating_sub(6);
        let mut cols = vec![(Column::Proto, 6), (Column::Endpoint, 0)];
        if connections {
            cols.push((Column::State, 11));
        }
        cols.push((Column::Process, if rest >= 30 { 15 } else { rest / 3 }));
        cols.push((Column::Pid, 8));
        // The others in the order they give way last, each only if it still fits.
        let optional: &[(Column, usize)] = if connections {
            &[
                (Column::Remote, 22),
                (Column::Service, 12),
                (Column::User, 9),
                (Column::Held, 24),
            ]
        } else {
            &[(Column::Service, 12), (Column::User, 9), (Column::Held, 24)]
        };
        for &(column, w) in optional {
            let used: usize = cols.iter().map(|(_, w)| w).sum();
            if used + w + MIN_ENDPOINT <= rest {
                cols.push((column, w));
            }
        }
        // Shown in one order whichever fit: the socket, then who holds it.
        const ORDER: [Column; 9] = [
            Column::Proto,
            Column::Endpoint,
            Column::State,
            Column::Remote,
            Column::Service,
            Column::Process,
            Column::Pid,
            Column::User,
            Column::Held,
        ];
        cols.sort_by_key(|(c, _)| ORDER.iter().position(|o| o == c));
        let used: usize = cols.iter().map(|(_, w)| w).sum();
        if let Some(endpoint) = cols.iter_mut().find(|(c, _)| *c == Column::Endpoint) {
            endpoint.1 = rest.saturating_sub(used).max(1);
        }
        cols
    }

    /// The `list` table's columns; connections add their state and peer.
    pub fn listing(connections: bool) -> Vec<Column> {
        let mut cols = vec![
            Column::Proto,
            Column::Address,
            Column::Port,
            Column::Service,
        ];
        if connections {
            cols.extend([Column::State, Column::Remote]);
        }
        cols.extend([Column::Pid, Column::Process, Column::User, Column::Flag]);
        cols
    }

    /// The cell, unescaped: the printer escapes it.
    pub fn cell<'a>(self, row: &Row<'a>) -> Cow<'a, str> {
        let s = row.socket;
        match self {
            Column::Proto => s.proto_label().into(),
            Column::Address => s.local_addr.to_string().into(),
            Column::Port => s.local_port.to_string().into(),
            Column::Endpoint => s.local_endpoint().to_string().into(),
            Column::Service => row.service.unwrap_or("-").into(),
            Column::State => s.state.label().into(),
            Column::Remote => s
                .remote_endpoint()
                .map_or_else(|| "-".into(), |e| e.to_string().into()),
            Column::Pid => match row.pids.as_slice() {
                [] => "-".into(),
                [one] => one.to_string().into(),
                [first, rest @ ..] => format!("{first}+{}", rest.len()).into(),
            },
            Column::Process => match (row.process, row.owner_unknown) {
                (Some(p), _) if s.owners.len() > 1 => format!("{p} +{}", s.owners.len() - 1).into(),
                (Some(p), _) => p.into(),
                (None, Some(u)) => format!("({})", words::owner_state(u)).into(),
                (None, None) => "-".into(),
            },
            Column::User => match (row.user, s.owners.first().and_then(|o| o.uid).or(s.uid)) {
                (Some(u), _) => u.into(),
                (None, Some(uid)) => uid.to_string().into(),
                (None, None) => "-".into(),
            },
            Column::Held => row.facts.held_by().into(),
            Column::Flag => row.flag_words().into(),
            Column::Expected => words::expected_glyph(row.expected).into(),
        }
    }
}

/// The table width from which `list` shows the UNIT/CONTAINER column.
pub const WIDE: usize = 120;

/// The escaped cells of a table of `rows`.
pub fn table_cells(rows: &[Row], columns: &[Column]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            columns
                .iter()
                .map(|c| escape(&c.cell(r)).into_owned())
                .collect()
        })
        .collect()
}

/// One CSV record. The header is this struct's field names; values are escaped here, at output,
/// because CSV has no way to carry a control character safely to a spreadsheet or a terminal.
#[derive(Debug, Default, Serialize)]
pub struct CsvRow {
    pub proto: String,
    pub family: &'static str,
    pub state: &'static str,
    pub local_addr: String,
    pub local_port: u16,
    pub remote_addr: Option<String>,
    pub remote_port: Option<u16>,
    pub service: String,
    /// Space-separated pids.
    pub pids: String,
    pub process: String,
    pub user: String,
    pub owner_unknown: Option<&'static str>,
    pub flag: String,
    /// Space-separated hint ids, most severe first.
    pub hints: String,
    pub exe: String,
    pub cmdline: String,
    /// The network namespace, when not the host's (escaped).
    pub netns: String,
    /// The first owner's package; `unknown (why)` when it could not be established.
    pub package: String,
    /// `package`, `not-packaged`, `deleted` or `unknown`.
    pub provenance: String,
    /// `unmodified`, `modified`, `replaced`, `not-packaged`, `unknown`; empty when not checked.
    pub integrity: String,
    pub unit: String,
    pub container: String,
    pub pod: String,
    /// `yes`, `no`, or empty when no expected-listeners file is in use.
    pub expected: &'static str,
    /// The reason and owner of the rule that expects it (escaped).
    pub expected_reason: String,
    pub expected_owner: String,
    /// The worst quieted hint's severity.
    pub quieted: &'static str,
}

/// The CSV header line: the field names of [`CsvRow`], as the csv writer derives them.
pub fn csv_header() -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.serialize(CsvRow::default());
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

impl CsvRow {
    pub fn from_row(row: &Row) -> CsvRow {
        let first = row.socket.owners.first();
        let f = &row.facts;
        let esc = |s: Option<&str>| escape(s.unwrap_or("")).into_owned();
        CsvRow {
            proto: row.protocol.as_str().to_owned(),
            family: words::family(row.family),
            state: row.state.label(),
            local_addr: row.local_addr.to_string(),
            local_port: row.local_port,
            remote_addr: row.remote_addr.map(|a| a.to_string()),
            remote_port: row.remote_port,
            service: esc(row.service),
            pids: row
                .pids
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            process: esc(row.process),
            user: esc(row.user),
            owner_unknown: row.owner_unknown.map(words::owner_state),
            flag: row.flag_words(),
            hints: row.hints.iter().map(|f| f.id).collect::<Vec<_>>().join(" "),
            exe: esc(first.and_then(|o| o.exe.as_deref())),
            cmdline: first.map_or_else(String::new, |o| {
                o.cmdline
                    .iter()
                    .map(|a| escape(a).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
            netns: esc(row.netns.as_deref()),
            package: escape(&f.cell("package", f.package.as_deref())).into_owned(),
            provenance: f.provenance.unwrap_or_default().to_owned(),
            integrity: escape(&f.cell("integrity", f.integrity)).into_owned(),
            unit: escape(&f.cell("unit", f.unit.as_deref())).into_owned(),
            container: escape(&f.cell("container", f.container.as_deref())).into_owned(),
            pod: escape(&f.cell("pod", f.pod.as_deref())).into_owned(),
            expected: words::expected_word(row.expected),
            expected_reason: esc(row.expected_by.map(|e| e.reason)),
            expected_owner: esc(row.expected_by.map(|e| e.owner)),
            quieted: row.quieted.map_or("", words::severity),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockets::fixtures::*;

    #[test]
    fn every_sort_order_is_total_and_stable() {
        let a = tcp("127.0.0.1", 80, owner(10, "Zed", 0, "/usr/sbin/zed"));
        let b = tcp("127.0.0.1", 22, owner(20, "apache", 0, "/usr/sbin/apache"));
        let mut c = a.clone();
        c.inode += 1; // same address, another socket (SO_REUSEPORT)
        let mut key = SortKey::Port;
        loop {
            assert_eq!(key.compare(&a, &a), Ordering::Equal);
            assert_ne!(key.compare(&a, &c), Ordering::Equal, "{key:?}");
            assert_eq!(key.compare(&a, &b), key.compare(&b, &a).reverse());
            key = key.next();
            if key == SortKey::Port {
                break;
            }
        }
        assert_eq!(SortKey::Process.compare(&b, &a), Ordering::Less, "any case");
        assert_eq!(SortKey::Port.compare(&b, &a), Ordering::Less);
    }

    #[test]
    fn the_free_text_filter_finds_port_process_user_and_hint() {
        let s = tcp(
            "0.0.0.0",
            6379,
            owner(4242, "redis-server", 999, "/usr/bin/redis-server"),
        );
        let flags = [Flag {
            id: "exposed-all-interfaces",
            severity: Severity::Notice,
        }];
        let with = |t: &str| Filter {
            text: Some(t.into()),
            ..Filter::default()
        };
        for hit in ["6379", "REDIS", "4242", "exposed", "0.0.0.0:6379", "redis"] {
            assert!(with(hit).matches(&s, Some("redis"), &flags), "{hit}");
        }
        assert!(!with("postgres").matches(&s, Some("redis"), &flags));
        assert!(with("  ").matches(&s, None, &[]), "blank text keeps all");
    }

    #[test]
    fn the_csv_header_is_the_row_type() {
        let s = tcp(
            "127.0.0.1",
            22,
            owner(1, "ss\u{1b}]0;x\u{7}hd", 0, "/usr/sbin/sshd"),
        );
        let reg = Registry::embedded();
        let row = Row::new(&reg, &s, Flags::default());
        let mut w = csv::Writer::from_writer(vec![]);
        w.serialize(CsvRow::from_row(&row)).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let header = text.lines().next().unwrap();
        assert!(
            header.starts_with("proto,family,state,local_addr,local_port"),
            "{header}"
        );
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("ss\\x1b]0;x\\x07hd"), "{text}");
    }

    #[test]
    fn namespaces_are_chosen_by_name_label_or_inode() {
        let ns = crate::sockets::NetNs {
            inode: 4026532100,
            name: Some("sandbox".into()),
            pid: None,
        };
        let named = |n: &str| Namespaces::parse(n).unwrap();
        assert!(named("host").admits(None, None));
        assert!(!named("host").admits(Some(&ns), None));
        assert!(named("all").admits(Some(&ns), None));
        assert!(named("sandbox").admits(Some(&ns), None));
        assert!(named("4026532100").admits(Some(&ns), None));
        assert!(named("container web").admits(Some(&ns), Some("container web")));
        assert!(!named("other").admits(Some(&ns), Some("container web")));
        assert!(!named("sandbox").admits(None, None));
        assert!(Namespaces::parse("  ").is_err());
        // The free text finds a socket by its namespace's tag.
        let mut s = tcp("0.0.0.0", 80, owner(9, "nginx", 0, "/usr/sbin/nginx"));
        s.netns = Some(ns);
        let text = Filter {
            text: Some("sandbox".into()),
            ..Filter::default()
        };
        assert!(text.matches(&s, None, &[]));
    }

    #[test]
    fn the_pane_fits_its_width_and_shows_the_unit_only_when_wide() {
        for width in [40, 80, 120, 200] {
            for connections in [false, true] {
                let cols = Column::pane_at(width, connections);
                let used: usize = cols.iter().map(|(_, w)| w).sum();
                // (Below 80 cells the fixed columns may overflow; the pane clips them.)
                if width >= 80 {
                    assert_eq!(used, width - 6, "{width}: {cols:?}");
                }
                if width <= 80 || width >= 130 {
                    assert_eq!(
                        cols.iter().any(|(c, _)| *c == Column::Held),
                        width >= 130,
                        "{width}"
                    );
                }
                assert_eq!(cols.iter().any(|(c, _)| *c == Column::State), connections);
            }
        }
    }
}
