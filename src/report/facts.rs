//! The facts of a socket's owners (package and integrity, unit, container, pod, namespace,
//! session, ancestry) in the report's words: the fields of a listing row ([`RowFacts`]), the
//! lines that open a detail's verdict ([`verdict_items`]) and the ancestry section
//! ([`ancestry_section`]). Every front end takes these words from here.
//!
//! This module reads a [`FactsTable`] and never establishes a fact itself (that is `facts`', at
//! the depth the front end can afford). Text stays raw: the printer escapes it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;

use super::detail::{Item, Section, Tone};
use crate::facts::{
    Container, Fact, FactsTable, Integrity, OwnerFacts, Place, Pod, Provenance, SessionKind,
};
use crate::hints::Severity;
use crate::sockets::{Owner, Socket};

/// A socket's facts as a listing shows them: the first owner's (as the process and user
/// columns are). `None`: none (no package, no unit…) or unknown; what is unknown is in
/// `unknown` with the reason.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RowFacts {
    /// The package the running executable comes from (`name` or `name:arch`).
    pub package: Option<String>,
    /// Where the executable comes from, in a few words: `package`, `not-packaged`, `deleted`,
    /// `unknown`; `None` for a socket with no known owner.
    pub provenance: Option<&'static str>,
    /// Whether it still matches its package (`unmodified`, `modified`, `replaced`,
    /// `not-packaged`): only when checked (`--verify`, a detail).
    pub integrity: Option<&'static str>,
    /// The systemd unit.
    pub unit: Option<String>,
    /// The container's name, else its short id.
    pub container: Option<String>,
    /// The Kubernetes pod, `namespace/name`.
    pub pod: Option<String>,
    /// Each fact that could not be established, with why (raw text), by field name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown: BTreeMap<&'static str, String>,
}

/// The [`RowFacts`] of each first owner, worked out once and shared by its rows: a row's facts
/// (with the reasons for what is unknown) are hundreds of bytes, and a listing of 40,000
/// connections held by a handful of processes would otherwise copy them 40,000 times.
#[derive(Debug, Default)]
pub struct SharedRowFacts(HashMap<Option<u32>, Arc<RowFacts>>);

impl SharedRowFacts {
    /// The facts of `socket`'s first owner (they depend on nothing else).
    pub fn of(&mut self, table: &FactsTable, socket: &Socket) -> Arc<RowFacts> {
        let pid = socket.owners.first().map(|o| o.pid);
        Arc::clone(
            self.0
                .entry(pid)
                .or_insert_with(|| Arc::new(RowFacts::of(table, socket))),
        )
    }
}

impl RowFacts {
    /// The facts of `socket`'s first owner as `table` has them.
    pub fn of(table: &FactsTable, socket: &Socket) -> RowFacts {
        let Some(owner) = socket.owners.first() else {
            return RowFacts::default();
        };
        let mut row = RowFacts::default();
        let f = match table.of(owner) {
            Ok(f) => f,
            Err(why) => {
                row.provenance = Some("unknown");
                for field in ["package", "unit", "container"] {
                    row.unknown.insert(field, why.to_owned());
                }
                return row;
            }
        };
        match &f.package {
            Fact::Known(Provenance::Package(p)) => {
                row.package = Some(p.display_name());
                row.provenance = Some("package");
            }
            Fact::Known(Provenance::NotPackaged { .. }) => {
                row.provenance = Some("not-packaged");
            }
            Fact::Unknown(why) => {
                row.provenance = Some(if owner.exe_deleted {
                    "deleted"
                } else {
                    "unknown"
                });
                row.unknown.insert("package", why.clone());
            }
        }
        row.integrity = match &f.integrity {
            None => None,
            Some(Fact::Known(i)) => Some(integrity_word(i)),
            Some(Fact::Unknown(why)) => {
                row.unknown.insert("integrity", why.clone());
                Some("unknown")
            }
        };
        match &f.unit {
            Fact::Known(u) => row.unit = Some(u.name.clone()),
            Fact::Unknown(why) => {
                row.unknown.insert("unit", why.clone());
            }
        }
        match &f.container {
            Fact::Known(c) => row.container = c.as_ref().map(container_name),
            Fact::Unknown(why) => {
                row.unknown.insert("container", why.clone());
            }
        }
        match &f.pod {
            Fact::Known(p) => row.pod = p.as_ref().map(pod_name),
            Fact::Unknown(why) => {
                row.unknown.insert("pod", why.clone());
            }
        }
        row
    }

    /// What runs it, in one cell: the container, else the pod, else the unit; "-" for none and
    /// "?" when unknown.
    pub fn held_by(&self) -> String {
        if let Some(c) = &self.container {
            return format!("container {c}");
        }
        if let Some(p) = &self.pod {
            return format!("pod {p}");
        }
        if let Some(u) = &self.unit {
            return u.clone();
        }
        if self.unknown.contains_key("unit") {
            "?".into()
        } else {
            "-".into()
        }
    }

    /// The reason a field is unknown, when it is.
    pub fn why(&self, field: &str) -> Option<&str> {
        self.unknown.get(field).map(String::as_str)
    }

    /// A CSV cell: the value, "" for none, "unknown (why)" when unknown.
    pub fn cell(&self, field: &str, value: Option<&str>) -> String {
        match (value, self.why(field)) {
            (Some(v), _) => v.to_owned(),
            (None, Some(why)) => format!("unknown ({why})"),
            (None, None) => String::new(),
        }
    }
}

/// The serde-style word of an integrity verdict.
pub fn integrity_word(i: &Integrity) -> &'static str {
    match i {
        Integrity::Unmodified => "unmodified",
        Integrity::Modified { .. } => "modified",
        Integrity::NotPackaged => "not-packaged",
        Integrity::Replaced => "replaced",
    }
}

/// A container's name, else its short id.
pub fn container_name(c: &Container) -> String {
    match &c.name {
        Fact::Known(n) => n.clone(),
        Fact::Unknown(_) => c.short_id().to_owned(),
    }
}

/// `namespace/name`, or what is known of it.
pub fn pod_name(p: &Pod) -> String {
    let name = p.name.known().cloned().unwrap_or_else(|| p.uid.clone());
    match &p.namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => name,
    }
}

/// The package line of a detail, with how it should stand out: ✓ from its package and
/// unmodified, ✗ modified (an alert), not from any package (where it lives), deleted or
/// replaced since it started.
fn package_item(owner: &Owner, f: &OwnerFacts, not_asked: &str) -> (String, Tone) {
    let warn = Tone::Severity(Severity::Warning);
    let replaced = matches!(f.integrity, Some(Fact::Known(Integrity::Replaced)));
    if owner.exe_deleted || replaced {
        let what = match &f.package {
            Fact::Known(Provenance::Package(p)) => {
                format!(" (was from package {})", p.display_name())
            }
            _ => String::new(),
        };
        return (
            format!("✗ the executable was deleted or replaced since it started{what}"),
            warn,
        );
    }
    match &f.package {
        Fact::Unknown(why) => (format!("unknown ({why})"), Tone::Dim),
        Fact::Known(Provenance::NotPackaged { place }) => {
            let exe = owner.exe.as_deref().unwrap_or("its executable");
            let tone = if *place == Place::SystemPath || *place == Place::TempDir {
                warn
            } else {
                Tone::Plain
            };
            (
                format!("not from any package: {exe}, {}", place.describe()),
                tone,
            )
        }
        Fact::Known(Provenance::Package(p)) => {
            let name = p.display_name();
            match &f.integrity {
                Some(Fact::Known(Integrity::Unmodified)) => {
                    (format!("✓ from package {name}, unmodified"), Tone::Plain)
                }
                Some(Fact::Known(Integrity::Modified { expected, actual })) => (
                    format!(
                        "✗ from package {name}, MODIFIED since installed (package digest {expected}, running file {actual})"
                    ),
                    Tone::Severity(Severity::Alert),
                ),
                Some(Fact::Known(i)) => (format!("from package {name}, {}", i.describe()), Tone::Plain),
                Some(Fact::Unknown(why)) => (
                    format!("from package {name}, integrity unknown ({why})"),
                    Tone::Dim,
                ),
                None => (
                    format!("from package {name}, integrity not checked ({not_asked})"),
                    Tone::Plain,
                ),
            }
        }
    }
}

/// What runs the process: a container, a pod, a unit, with the unknowns said.
fn runs_in(f: &OwnerFacts) -> (&'static str, String) {
    if let Fact::Known(Some(c)) = &f.container {
        let mut text = format!("{} ({}", container_name(c), c.runtime.label());
        if c.name.known().is_some() {
            text.push_str(&format!(", {}", c.short_id()));
        }
        text.push(')');
        if let Fact::Known(Some(p)) = &f.pod {
            text.push_str(&format!(" in pod {}", pod_name(p)));
        }
        return ("container", text);
    }
    if let Fact::Known(Some(p)) = &f.pod {
        return ("pod", pod_name(p));
    }
    match &f.unit {
        Fact::Known(u) => {
            let user = u
                .user_manager
                .map(|uid| format!(" (user manager of uid {uid})"))
                .unwrap_or_default();
            ("unit", format!("{}{user}", u.name))
        }
        Fact::Unknown(why) => ("unit", format!("unknown ({why})")),
    }
}

/// How the process was started, in words.
pub fn session_words(s: &SessionKind) -> String {
    match s {
        SessionKind::Ssh { sshd_pid } => format!("an SSH login (sshd pid {sshd_pid})"),
        SessionKind::Cron { pid } => format!("cron (pid {pid})"),
        SessionKind::Tmux { pid } => format!("a tmux session (pid {pid})"),
        SessionKind::Screen { pid } => format!("a screen session (pid {pid})"),
        SessionKind::Supervisor {
            name,
            pid,
            evidence,
        } => {
            let by = match evidence {
                crate::facts::ancestry::Evidence::Executable => "",
                crate::facts::ancestry::Evidence::CommandLine => ", by its command line",
            };
            format!("the supervisor {name} (pid {pid}{by})")
        }
        SessionKind::Terminal { shell_pid } => {
            format!("a shell on a terminal (pid {shell_pid})")
        }
        SessionKind::Init => "init, directly (a service)".into(),
        SessionKind::Other => "nothing on its ancestry tells".into(),
    }
}

/// The facts that open a socket's verdict: per owner (the first two; forked workers share them)
/// package ✓/✗, unit or container, namespace, session.
pub fn verdict_items(table: &FactsTable, socket: &Socket) -> Vec<Item> {
    let field = |label: &'static str, value: String, tone: Tone| Item::Field { label, value, tone };
    let mut items = Vec::new();
    let namespace = match &socket.netns {
        None => "host".to_owned(),
        Some(ns) => table.namespace_label(ns),
    };
    let mut seen: Vec<(Option<&str>, Option<&str>)> = Vec::new();
    for owner in socket.owners.iter() {
        // One program forked many times is said once.
        let key = (owner.exe.as_deref(), Some(owner.name.as_str()));
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        if seen.len() > 2 {
            break;
        }
        let f = match table.of(owner) {
            Ok(f) => f,
            Err(why) => {
                items.push(field("package", format!("unknown ({why})"), Tone::Dim));
                items.push(field("unit", format!("unknown ({why})"), Tone::Dim));
                continue;
            }
        };
        let (package, tone) = package_item(owner, f, table.not_asked());
        items.push(field("package", package, tone));
        let (label, runs) = runs_in(f);
        items.push(field(label, runs, Tone::Plain));
        let session = match &f.session {
            Some(Fact::Known(s)) => session_words(s),
            Some(Fact::Unknown(why)) => format!("unknown ({why})"),
            None => format!("unknown ({})", table.not_asked()),
        };
        items.push(field("started by", session, Tone::Plain));
    }
    match table.socket_unit(socket) {
        Some(Fact::Known(Some(unit))) => items.push(field(
            "socket unit",
            format!("{} ({})", unit.name, unit.file.display()),
            Tone::Plain,
        )),
        Some(Fact::Unknown(why)) => {
            items.push(field("socket unit", format!("unknown ({why})"), Tone::Dim))
        }
        Some(Fact::Known(None)) | None => {}
    }
    items.push(field("namespace", namespace, Tone::Plain));
    items
}

/// The ancestry of each distinct owner: pid → parent → … → 1, each step's name and user.
pub fn ancestry_section(table: &FactsTable, socket: &Socket) -> Section {
    let mut items = Vec::new();
    let mut shown = 0;
    for owner in socket.owners.iter() {
        let Ok(f) = table.of(owner) else {
            continue;
        };
        if f.ancestry.is_empty() {
            continue;
        }
        if shown > 0 {
            items.push(Item::Gap);
        }
        shown += 1;
        for (n, step) in f.ancestry.iter().enumerate() {
            let user = match (&step.user, step.uid) {
                (Some(u), _) => u.clone(),
                (None, Some(uid)) => format!("uid {uid}"),
                (None, None) => "user unknown".into(),
            };
            let exe = step
                .exe
                .as_deref()
                .filter(|e| !e.ends_with(&format!("/{}", step.name)))
                .map(|e| format!(" {e}"))
                .unwrap_or_default();
            let arrow = if n == 0 { "" } else { "← " };
            items.push(Item::Note {
                text: format!("{arrow}{} {} ({user}){exe}", step.pid, step.name),
                tone: Tone::Plain,
            });
        }
        if let Some(why) = &f.ancestry_broken {
            items.push(Item::Note {
                text: format!("stops here: {why}"),
                tone: Tone::Dim,
            });
        }
        if shown >= 2 {
            break;
        }
    }
    if items.is_empty() && !socket.owners.is_empty() {
        items.push(Item::Note {
            text: format!("unknown ({})", table.not_asked()),
            tone: Tone::Dim,
        });
    }
    Section {
        heading: "Ancestry",
        items,
    }
}
