//! The detail of one socket, port or registry entry, as sections of labelled items. `explain`
//! and `lookup` print it as text (see [`super::plain`]) and the explorer's detail pane draws it;
//! neither builds its own words. The verdict comes first: on an 80x24 screen the first lines are
//! the ones read.
//!
//! Values are raw, untrusted text; a printer escapes them once, at output. The one exception is
//! [`Item::Command`]: a next step already rendered as a shell-safe, printable line, which a
//! printer must show exactly as it is (escaping it again would break its quoting).

use super::words;
use crate::facts::FactsTable;
use crate::hints::{Assessment, Hint, Severity};
use crate::known::KnownUse;
use crate::policy::{Fact, Mark, Marker};
use crate::registry::{Entry, PortClass, PortRange, Protocol, Registry};
use crate::sockets::{HostInfo, Owner, Socket};

/// How an item should stand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    /// Secondary: references, notes about the data.
    Dim,
    Severity(Severity),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `label  value`.
    Field {
        label: &'static str,
        value: String,
        tone: Tone,
    },
    /// A line of prose.
    Note { text: String, tone: Tone },
    /// A hint in one line: what the verdict lists.
    Verdict {
        severity: Severity,
        id: &'static str,
        title: String,
    },
    /// A hint in full.
    Hint {
        severity: Severity,
        id: &'static str,
        title: String,
        why: String,
    },
    /// A command to run next, already shell-safe and printable: printed as is.
    Command(String),
    /// A blank line between groups within a section.
    Gap,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub heading: &'static str,
    pub items: Vec<Item>,
}

/// Everything a detail shows, in reading order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    /// `22/tcp`, `http 80/tcp`: what the detail is about.
    pub title: String,
    pub sections: Vec<Section>,
}

fn field(label: &'static str, value: impl Into<String>) -> Item {
    Item::Field {
        label,
        value: value.into(),
        tone: Tone::Plain,
    }
}

fn note(text: impl Into<String>, tone: Tone) -> Item {
    Item::Note {
        text: text.into(),
        tone,
    }
}

/// A live socket: verdict, socket, process, IANA, known uses, hints. `vanished` says the
/// socket is gone (judged by its port alone). Without its owners' facts: see
/// [`socket_with_facts`].
pub fn socket(host: &HostInfo, s: &Socket, a: &Assessment, vanished: bool) -> Detail {
    let none = FactsTable::unknown("not established for this view");
    socket_with_facts(host, s, a, vanished, &none)
}

/// A live socket with its owners' facts: the verdict opens with them (package ✓/✗, unit or
/// container, namespace, how it was started) after the hints' one-liners, and the ancestry
/// follows the process.
pub fn socket_with_facts(
    host: &HostInfo,
    s: &Socket,
    a: &Assessment,
    vanished: bool,
    facts: &FactsTable,
) -> Detail {
    // The hints' one-liners, then who holds it: both fit the first lines of an 80x24 screen.
    let mut verdict = verdict(&a.hints, vanished);
    verdict.items.extend(super::facts::verdict_items(facts, s));
    let mut sections = vec![verdict];
    sections.push(socket_section(host, s));
    sections.push(process_section(host, s));
    sections.push(super::facts::ancestry_section(facts, s));
    sections.push(iana_section(&a.entries, s.local_port, None));
    sections.push(known_section(&a.known_uses));
    sections.push(hints_section(&a.hints));
    Detail {
        title: format!("{}/{}", s.local_port, s.protocol),
        sections,
    }
}

/// A port on its own (`lookup PORT`, a numeric search): class, IANA, known uses, hints.
pub fn port(registry: &Registry, port: u16, protocol: Option<Protocol>, a: &Assessment) -> Detail {
    let head = vec![
        field("class", PortClass::of(port).label()),
        note(unassigned_sentence(registry, port), Tone::Plain),
    ];
    let named = a
        .entries
        .iter()
        .any(|e| !e.service.is_empty() || e.is_reserved());
    let title = match protocol {
        Some(p) => format!("port {port}/{p}"),
        None => format!("port {port}"),
    };
    let mut sections = vec![verdict(&a.hints, false)];
    if named {
        // The class is on each entry's port line.
        sections.push(iana_section(&a.entries, port, None));
    } else {
        sections.push(Section {
            heading: "Port",
            items: head,
        });
    }
    sections.push(known_section(&a.known_uses));
    sections.push(hints_section(&a.hints));
    Detail { title, sections }
}

/// A registry entry (the explorer's registry pane): the entry, then what is known of its port.
pub fn entry(e: &Entry, a: Option<&Assessment>) -> Detail {
    let mut sections = vec![iana_section(
        std::slice::from_ref(e),
        e.ports.map_or(0, |p| p.start),
        Some("IANA entry"),
    )];
    match a {
        Some(a) => {
            sections.insert(0, verdict(&a.hints, false));
            sections.push(known_section(&a.known_uses));
            sections.push(hints_section(&a.hints));
        }
        None => sections.push(Section {
            heading: "Port",
            items: vec![note("a name-only registration: no port", Tone::Dim)],
        }),
    }
    Detail {
        title: e.label(),
        sections,
    }
}

/// Entries IANA lists for a name (`lookup NAME`), without a port's assessment.
pub fn entries(title: String, entries: &[Entry]) -> Detail {
    Detail {
        title,
        sections: vec![iana_section(entries, 0, None)],
    }
}

/// Where `port` lies when IANA names nothing there.
fn unassigned_sentence(registry: &Registry, port: u16) -> String {
    if PortClass::of(port) == PortClass::Dynamic {
        return "never assigned: IANA leaves 49152-65535 for dynamic, private and ephemeral use"
            .to_owned();
    }
    match registry.unassigned_run(port) {
        Some(run) if !run.is_single() => format!(
            "unassigned: IANA has no entry for port {port}; it lies in the unassigned run {run} ({} ports)",
            run.len()
        ),
        _ => format!("unassigned: IANA has no entry for port {port}"),
    }
}

/// The worst findings first, one line each; what someone reading one screen needs.
fn verdict(hints: &[Hint], vanished: bool) -> Section {
    let mut items = Vec::new();
    if vanished {
        items.push(note(
            "this socket is gone: judged by its port alone",
            Tone::Dim,
        ));
    }
    if hints.is_empty() {
        items.push(note("nothing unusual found", Tone::Dim));
    }
    items.extend(hints.iter().map(|h| Item::Verdict {
        severity: h.severity,
        id: h.id,
        title: h.title.clone(),
    }));
    Section {
        heading: "Verdict",
        items,
    }
}

/// What the expected-listeners file says about the socket a detail describes.
#[derive(Debug, Clone, Copy)]
pub enum Expectation<'a> {
    /// No file is in use (none named, none at the default paths).
    NoFile,
    /// The file does not judge this socket: a connection, or a socket that is gone.
    NotJudged,
    /// The file at `origin` judged it.
    Judged { mark: &'a Mark<'a>, origin: &'a str },
}

impl<'a> Expectation<'a> {
    /// What `marker` (the file in use, if any) said of a socket: `mark`, `None` when it did not
    /// judge it.
    pub fn of(marker: Option<&'a Marker>, mark: Option<&'a Mark<'a>>) -> Expectation<'a> {
        match (marker, mark) {
            (None, _) => Expectation::NoFile,
            (Some(_), None) => Expectation::NotJudged,
            (Some(m), Some(mark)) => Expectation::Judged {
                mark,
                origin: m.origin(),
            },
        }
    }
}

/// Put the expectation at the top of a socket detail's verdict, and quiet the verdict lines of
/// an expected listener: they stay listed, dimmed and marked quieted, except alerts (see
/// [`crate::policy::quiets`]). The Hints section below keeps every hint in full.
pub fn expectation(detail: &mut Detail, e: Expectation) {
    let Some(verdict) = detail.sections.iter_mut().find(|s| s.heading == "Verdict") else {
        return;
    };
    let mut head = Vec::new();
    match e {
        Expectation::NotJudged => return,
        Expectation::NoFile => head.push(note("no expectations file", Tone::Dim)),
        Expectation::Judged {
            mark: Mark::Expected(placed),
            origin,
        } => {
            let rule = &placed.rule;
            let mut text = if rule.reason.is_empty() {
                "expected (the rule gives no reason)".to_owned()
            } else {
                format!("expected: {}", rule.reason)
            };
            if !rule.owner.is_empty() {
                text.push_str(&format!(" — {}", rule.owner));
            }
            text.push_str(&format!(" ({origin}, line {})", placed.line));
            head.push(note(text, Tone::Plain));
            let mut quieted = false;
            for item in &mut verdict.items {
                if let Item::Verdict {
                    severity,
                    id,
                    title,
                } = item
                {
                    if crate::policy::quiets(*severity) {
                        quieted = true;
                        *item = note(format!("[{severity}] {title}  ({id}) · quieted"), Tone::Dim);
                    }
                }
            }
            if quieted {
                head.push(note(
                    "quieted hints are listed but not counted toward the alarm",
                    Tone::Dim,
                ));
            }
        }
        Expectation::Judged {
            mark: Mark::Unexpected { undecided },
            origin,
        } => {
            head.push(note(
                format!("unexpected: no rule in {origin} matches"),
                Tone::Severity(Severity::Notice),
            ));
            for (placed, facts) in undecided {
                head.push(note(
                    format!(
                        "the rule at line {} would match if its {} were known; portscope does not know it for this listener",
                        placed.line,
                        facts.iter().map(|f: &Fact| f.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                    Tone::Dim,
                ));
            }
        }
    }
    verdict.items.splice(0..0, head);
}

fn socket_section(host: &HostInfo, s: &Socket) -> Section {
    let reach = if s.is_wildcard() {
        "every interface"
    } else if s.is_loopback() {
        "loopback only"
    } else {
        "one address"
    };
    let mut items = vec![
        field(
            "socket",
            format!("{} {}", s.proto_label(), s.local_endpoint()),
        ),
        field("state", format!("{} · bound to {reach}", s.state.label())),
        field("family", words::family_sentence(s.family)),
    ];
    if let Some(peer) = s.remote_endpoint() {
        items.push(field("peer", peer.to_string()));
    }
    if s.owners.is_empty() {
        let opened_by = match (&s.user, s.uid) {
            (Some(u), Some(uid)) => Some(format!("{u} (uid {uid})")),
            (Some(u), None) => Some(u.to_string()),
            (None, Some(uid)) => Some(format!("uid {uid}")),
            (None, None) => None,
        };
        if let Some(who) = opened_by {
            items.push(field("opened by", who));
        }
    }
    let _ = host;
    Section {
        heading: "Socket",
        items,
    }
}

fn process_section(host: &HostInfo, s: &Socket) -> Section {
    let mut items = Vec::new();
    if s.owners.is_empty() {
        let why = s.owner_unknown.map_or_else(
            || "the owner could not be determined".to_owned(),
            |u| words::owner_state_sentence(u, host),
        );
        items.push(note(why, Tone::Severity(Severity::Warning)));
    }
    for (n, o) in s.owners.iter().enumerate() {
        if n > 0 {
            items.push(Item::Gap);
        }
        owner_items(&mut items, o, host.taken_at);
    }
    Section {
        heading: "Process",
        items,
    }
}

fn owner_items(items: &mut Vec<Item>, o: &Owner, now: u64) {
    items.push(field("name", o.name.clone()));
    items.push(field("pid", o.pid.to_string()));
    let user = match (&o.user, o.uid) {
        (Some(u), Some(uid)) => format!("{u} (uid {uid})"),
        (Some(u), None) => u.clone(),
        (None, Some(uid)) => format!("uid {uid}"),
        (None, None) => "unknown".into(),
    };
    items.push(field("user", user));
    if let Some(exe) = &o.exe {
        if o.exe_deleted {
            items.push(Item::Field {
                label: "executable",
                value: format!("{exe} (deleted or replaced since it started)"),
                tone: Tone::Severity(Severity::Warning),
            });
        } else {
            items.push(field("executable", exe.clone()));
        }
    }
    if !o.cmdline.is_empty() {
        items.push(field("command", o.cmdline.join(" ")));
    }
    if let Some(start) = o.start_time {
        // An absolute time, and the age at collection: both stay true on a screen that is not
        // redrawn, unlike "N s ago".
        let age = if start <= now && now > 0 {
            format!(" ({} before collection)", words::duration(now - start))
        } else {
            String::new()
        };
        items.push(field(
            "started",
            format!("{}{age}", crate::text::utc(start)),
        ));
    }
    if let Some(ppid) = o.parent_pid {
        items.push(field("parent pid", ppid.to_string()));
    }
}

/// IANA's entries, folded across protocols (IANA lists tcp and udp rows of one service apart).
fn iana_section(entries: &[Entry], port: u16, heading: Option<&'static str>) -> Section {
    let mut groups: Vec<(Entry, Vec<Protocol>)> = Vec::new();
    for e in entries {
        let same = |g: &Entry| {
            let mut g = *g;
            g.protocol = e.protocol;
            g.index = e.index;
            g == *e
        };
        match groups.iter_mut().find(|(g, _)| same(g)) {
            Some((_, protos)) => protos.extend(e.protocol),
            None => groups.push((*e, e.protocol.into_iter().collect())),
        }
    }
    let mut items = Vec::new();
    if groups
        .iter()
        .all(|(e, _)| e.service.is_empty() && !e.is_reserved())
    {
        items.push(note("IANA has assigned nothing to this port", Tone::Dim));
    }
    for (n, (e, protos)) in groups
        .iter()
        .filter(|(e, _)| !e.service.is_empty() || e.is_reserved())
        .enumerate()
    {
        if n > 0 {
            items.push(Item::Gap);
        }
        let name = if e.service.is_empty() {
            "(reserved)"
        } else {
            e.service
        };
        let ports = e.ports.map_or_else(|| "no port".into(), |p| p.to_string());
        let protos: Vec<&str> = protos.iter().map(|p| p.as_str()).collect();
        let slash = if protos.is_empty() {
            String::new()
        } else {
            format!("/{}", protos.join(", "))
        };
        items.push(field("service", name));
        let class = e
            .ports
            .map(|range| format!(" · {}", PortClass::of(range.start).label()))
            .unwrap_or_default();
        items.push(field("port", format!("{ports}{slash}{class}")));
        if let Some(range) = e
            .ports
            .filter(|r| !r.is_single() && r.contains(port) && port > 0)
        {
            items.push(note(
                format!("port {port} lies in the range {range}"),
                Tone::Dim,
            ));
        }
        let fields = [
            ("description", e.description.to_string()),
            ("assignee", e.assignee_name()),
            ("contact", e.contact_name()),
            ("registered", e.registration_date.to_string()),
            ("modified", e.modification_date.to_string()),
            ("reference", e.reference.to_string()),
            ("service code", e.service_code.to_string()),
            ("unauth. use", e.unauthorized_use.to_string()),
            ("notes", e.assignment_notes.to_string()),
        ];
        for (label, value) in fields {
            if !value.trim().is_empty() {
                items.push(field(label, value));
            }
        }
    }
    Section {
        heading: heading.unwrap_or("IANA"),
        items,
    }
}

fn known_section(uses: &[&KnownUse]) -> Section {
    // An empty section is left out: the verdict already says when nothing is unusual.
    let mut items = Vec::new();
    if !uses.is_empty() {
        items.push(note(
            "a port number alone never proves which program listens",
            Tone::Dim,
        ));
    }
    for k in uses {
        items.push(field(
            "use",
            format!(
                "{} · {} · {}, {}",
                k.product,
                k.ports_label(),
                k.category,
                k.confidence
            ),
        ));
        items.push(field("note", k.note.clone()));
        if !k.reference.is_empty() {
            items.push(Item::Field {
                label: "reference",
                value: k.reference.to_string(),
                tone: Tone::Dim,
            });
        }
    }
    Section {
        heading: "Known uses",
        items,
    }
}

/// Each hint with why, and the commands to run next; a command already shown under an earlier
/// hint is not repeated.
fn hints_section(hints: &[Hint]) -> Section {
    let mut items = Vec::new();
    let mut shown: Vec<String> = Vec::new();
    for (n, h) in hints.iter().enumerate() {
        if n > 0 {
            items.push(Item::Gap);
        }
        items.push(Item::Hint {
            severity: h.severity,
            id: h.id,
            title: h.title.clone(),
            why: h.why.clone(),
        });
        for step in &h.next_steps {
            let line = step.render();
            if !shown.contains(&line) {
                shown.push(line.clone());
                items.push(Item::Command(line));
            }
        }
    }
    Section {
        heading: "Hints",
        items,
    }
}

/// The live sockets on a port or range, for a registry entry's detail in the explorer.
pub fn on_this_machine(ports: PortRange, sockets: &[&Socket], limit: usize) -> Section {
    let mut items = Vec::new();
    if sockets.is_empty() {
        items.push(note(format!("nothing listens on {ports}"), Tone::Plain));
    }
    for s in sockets.iter().take(limit) {
        let who = s.owners.first().map_or_else(
            || {
                s.owner_unknown.map_or("(owner unknown)".to_owned(), |u| {
                    format!("({})", words::owner_state(u))
                })
            },
            |o| format!("{} pid {}", o.name, o.pid),
        );
        items.push(note(
            format!("{} {}  {who}", s.proto_label(), s.local_endpoint()),
            Tone::Plain,
        ));
    }
    if sockets.len() > limit {
        items.push(note(
            format!("… and {} more", sockets.len() - limit),
            Tone::Dim,
        ));
    }
    Section {
        heading: "On this machine",
        items,
    }
}
