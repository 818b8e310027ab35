//! `portscope diff --fleet DIR`: many hosts' snapshots side by side (one file per host, named
//! after it, as the Ansible example fetches them), and the listeners — port, protocol and program —
//! that only one or a few hosts have. Exit 0 when there are none, 1 when there are, 2 when the
//! directory or a snapshot cannot be read, so cron can watch a fleet.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::{Deserialize, Serialize};

use super::{CmdResult, Context, Failure};
use crate::registry::Protocol;
use crate::sockets::{Snapshot, Socket, SocketState, SCHEMA_VERSION};
use crate::text::escape;

/// What makes two hosts' listeners "the same": where it listens and what program holds it (the
/// executable's file name, which a process cannot rename, when it is known).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub(crate) struct ListenerKind {
    pub port: u16,
    pub protocol: Protocol,
    pub program: String,
}

#[derive(Debug, Serialize)]
struct Outlier<'a> {
    #[serde(flatten)]
    kind: &'a ListenerKind,
    hosts: Vec<&'a str>,
}

#[derive(Debug, Serialize)]
struct Report<'a> {
    hosts: usize,
    max_hosts: usize,
    outliers: Vec<Outlier<'a>>,
}

pub fn run(ctx: &Context, dir: &Path, max_hosts: Option<usize>) -> CmdResult {
    let files = snapshot_files(dir)?;
    if files.len() < 2 {
        return super::usage(format!(
            "{} holds {} snapshot(s) (*.json); a fleet comparison needs at least two hosts",
            escape(&dir.display().to_string()),
            files.len()
        ));
    }
    let mut hosts: Vec<(String, BTreeSet<ListenerKind>)> = Vec::with_capacity(files.len());
    for path in &files {
        let name = path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        hosts.push((name, read_kinds(path)?));
    }
    let threshold = max_hosts.unwrap_or_else(|| (hosts.len() / 10).max(1));
    if threshold == 0 || threshold >= hosts.len() {
        return super::usage(format!(
            "--max-hosts must be between 1 and {} (one less than the {} hosts)",
            hosts.len() - 1,
            hosts.len()
        ));
    }
    let by_kind = group(&hosts);
    let outliers: Vec<Outlier> = by_kind
        .iter()
        .filter(|(_, on)| on.len() <= threshold)
        .map(|(kind, on)| Outlier {
            kind,
            hosts: on.clone(),
        })
        .collect();
    let report = Report {
        hosts: hosts.len(),
        max_hosts: threshold,
        outliers,
    };
    let mut out = io::stdout().lock();
    if ctx.json {
        crate::text::write_json(&mut out, &report)?;
    } else {
        write_report(&mut out, &report)?;
    }
    out.flush()?;
    Ok(if report.outliers.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Every `*.json` directly in `dir`, sorted by name.
fn snapshot_files(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let shown = escape(&dir.display().to_string()).into_owned();
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Failure::Usage(format!("{shown}: cannot read the directory: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// The fields of a snapshot file a fleet comparison needs; serde skips the rest, which makes
/// reading 50 hosts × 1,000 listeners several times faster than building whole snapshots.
#[derive(Deserialize)]
struct LiteSnapshot {
    schema_version: u32,
    sockets: Vec<LiteSocket>,
}

#[derive(Deserialize)]
struct LiteSocket {
    protocol: Protocol,
    local_port: u16,
    state: SocketState,
    owners: Vec<LiteOwner>,
}

#[derive(Deserialize)]
struct LiteOwner {
    name: String,
    exe: Option<String>,
}

/// One host's listener kinds. A file the quick reader refuses goes through the full snapshot
/// reader, whose error says what is wrong with it.
fn read_kinds(path: &Path) -> Result<BTreeSet<ListenerKind>, Failure> {
    let lite = std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<LiteSnapshot>(&bytes).ok())
        .filter(|l| l.schema_version <= SCHEMA_VERSION);
    let Some(lite) = lite else {
        return Ok(kinds(&super::view::load(path)?.snapshot));
    };
    Ok(lite
        .sockets
        .iter()
        .filter(|s| s.state.is_listener())
        .map(|s| ListenerKind {
            port: s.local_port,
            protocol: s.protocol,
            program: program_of(
                s.owners
                    .first()
                    .map(|o| (o.exe.as_deref(), o.name.as_str())),
            ),
        })
        .collect())
}

/// The distinct listener kinds of one host (a dual-stack pair counts once).
pub(crate) fn kinds(snapshot: &Snapshot) -> BTreeSet<ListenerKind> {
    snapshot
        .sockets
        .iter()
        .filter(|s| s.state.is_listener())
        .map(|s| ListenerKind {
            port: s.local_port,
            protocol: s.protocol,
            program: program(s),
        })
        .collect()
}

fn program(s: &Socket) -> String {
    program_of(
        s.owners
            .first()
            .map(|o| (o.exe.as_deref(), o.name.as_str())),
    )
}

/// The executable's file name (a process cannot rename that), else the name it gives itself.
fn program_of(owner: Option<(Option<&str>, &str)>) -> String {
    match owner {
        Some((exe, name)) => exe
            .and_then(|e| e.rsplit('/').next())
            .filter(|n| !n.is_empty())
            .unwrap_or(name)
            .to_string(),
        None => "(owner unknown)".to_string(),
    }
}

/// Kind → the hosts that have it, in host order.
fn group(hosts: &[(String, BTreeSet<ListenerKind>)]) -> BTreeMap<&ListenerKind, Vec<&str>> {
    let mut by_kind: BTreeMap<&ListenerKind, Vec<&str>> = BTreeMap::new();
    for (name, kinds) in hosts {
        for kind in kinds {
            by_kind.entry(kind).or_default().push(name);
        }
    }
    by_kind
}

fn write_report(out: &mut impl Write, report: &Report) -> io::Result<()> {
    if report.outliers.is_empty() {
        return writeln!(
            out,
            "No outliers: every listener (port, protocol, program) is on more than {} of the {} hosts.",
            report.max_hosts, report.hosts
        );
    }
    writeln!(
        out,
        "Listeners on at most {} of {} hosts:",
        report.max_hosts, report.hosts
    )?;
    for o in &report.outliers {
        let hosts: Vec<String> = o.hosts.iter().map(|h| escape(h).into_owned()).collect();
        let on = if hosts.len() == 1 {
            format!("only on {}", hosts[0])
        } else {
            format!("on {} hosts: {}", hosts.len(), hosts.join(", "))
        };
        writeln!(
            out,
            "  {:<5} {:>5}  {:<20} {on}",
            o.kind.protocol.as_str(),
            o.kind.port,
            escape(&o.kind.program)
        )?;
    }
    let n = report.outliers.len();
    writeln!(out, "{n} outlier{}.", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockets::fixtures;

    #[test]
    fn a_listener_few_hosts_have_is_an_outlier_and_programs_are_told_by_executable() {
        let sshd = || {
            fixtures::tcp(
                "0.0.0.0",
                22,
                fixtures::owner(1, "sshd", 0, "/usr/sbin/sshd"),
            )
        };
        // Same port, a process calling itself sshd but running another executable.
        let fake = fixtures::tcp("0.0.0.0", 22, fixtures::owner(2, "sshd", 0, "/tmp/x/miner"));
        let hosts: Vec<(String, BTreeSet<ListenerKind>)> =
            [("a", vec![sshd()]), ("b", vec![sshd()]), ("c", vec![fake])]
                .into_iter()
                .map(|(n, s)| (n.to_string(), kinds(&fixtures::snapshot(s))))
                .collect();
        let grouped = group(&hosts);
        let lonely: Vec<(&str, &Vec<&str>)> = grouped
            .iter()
            .filter(|(_, on)| on.len() <= 1)
            .map(|(k, on)| (k.program.as_str(), on))
            .collect();
        assert_eq!(lonely, [("miner", &vec!["c"])]);
    }
}
