//! `portscope diff --fleet DIR`: many hosts' snapshots side by side (see `remote::fleet`, which
//! reads them and holds the outlier rule), and the listeners — port, protocol and program — that
//! only one or a few hosts have. Exit 0 when there are none, 1 when there are, 2 when the
//! directory or a snapshot cannot be read, so cron can watch a fleet.
//!
//! Also the plain (no terminal) and JSON form of the fleet view, `view DIR`.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;

use super::{CmdResult, Context, Failure};
use crate::remote::fleet::{self, Fleet, FleetError, FleetHost, ListenerKind, OnBadFile};
use crate::text::escape;

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

/// A fleet error as the user sees it: every one is theirs to fix (exit 2), its text escaped once.
pub(super) fn failure(err: FleetError) -> Failure {
    Failure::Usage(escape(&err.to_string()).into_owned())
}

pub fn run(ctx: &Context, dir: &Path, max_hosts: Option<usize>) -> CmdResult {
    let files = fleet::snapshot_files(dir).map_err(failure)?;
    if files.len() < 2 {
        return super::usage(format!(
            "{} holds {} snapshot(s) (*.json); a fleet comparison needs at least two hosts",
            escape(&dir.display().to_string()),
            files.len()
        ));
    }
    let mut fleet = fleet::load(&files, OnBadFile::Fail).map_err(failure)?;
    fleet.set_threshold(max_hosts).map_err(failure)?;
    let report = Report {
        hosts: fleet.hosts.len(),
        max_hosts: fleet.threshold,
        outliers: fleet
            .outliers()
            .map(|row| Outlier {
                kind: &row.kind,
                hosts: host_names(&fleet, &row.hosts),
            })
            .collect(),
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

fn host_names<'a>(fleet: &'a Fleet, hosts: &[u32]) -> Vec<&'a str> {
    hosts
        .iter()
        .map(|&h| fleet.hosts[h as usize].name.as_str())
        .collect()
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

/// `view DIR` without a terminal (or with `--json`): every listener kind with the hosts that
/// have it, outliers marked, and what was skipped.
pub(super) fn print_fleet(ctx: &Context, fleet: &Fleet) -> CmdResult {
    #[derive(Serialize)]
    struct Kind<'a> {
        #[serde(flatten)]
        kind: &'a ListenerKind,
        outlier: bool,
        hosts: Vec<&'a str>,
    }
    #[derive(Serialize)]
    struct Skipped {
        file: String,
        why: String,
    }
    #[derive(Serialize)]
    struct View<'a> {
        hosts: &'a [FleetHost],
        max_hosts: usize,
        listeners: Vec<Kind<'a>>,
        skipped: Vec<Skipped>,
        notes: &'a [String],
    }
    let view = View {
        hosts: &fleet.hosts,
        max_hosts: fleet.threshold,
        listeners: fleet
            .kinds
            .iter()
            .map(|row| Kind {
                kind: &row.kind,
                outlier: fleet.is_outlier(row),
                hosts: host_names(fleet, &row.hosts),
            })
            .collect(),
        skipped: fleet
            .skipped
            .iter()
            .map(|s| Skipped {
                file: s.path.display().to_string(),
                why: s.why.clone(),
            })
            .collect(),
        notes: &fleet.notes,
    };
    let mut out = io::stdout().lock();
    if ctx.json {
        crate::text::write_json(&mut out, &view)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let total = fleet.hosts.len();
    writeln!(
        out,
        "{total} host{}, {} listener kinds (port, protocol, program){}",
        if total == 1 { "" } else { "s" },
        fleet.kinds.len(),
        if fleet.threshold > 0 {
            format!("; ! marks those on at most {} hosts", fleet.threshold)
        } else {
            String::new()
        }
    )?;
    for k in &view.listeners {
        let on = summary(fleet, &k.hosts, total);
        writeln!(
            out,
            "{} {:<5} {:>5}  {:<20} {:>4}/{total}  {on}",
            if k.outlier { "!" } else { " " },
            k.kind.protocol.as_str(),
            k.kind.port,
            escape(&k.kind.program),
            k.hosts.len(),
        )?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// "all", "all but a, b" or "a, b, c": the shorter list of names.
fn summary(fleet: &Fleet, on: &[&str], total: usize) -> String {
    if on.len() == total {
        return "all".into();
    }
    if on.len() * 2 > total {
        let missing: Vec<String> = fleet
            .hosts
            .iter()
            .map(|h| h.name.as_str())
            .filter(|n| !on.contains(n))
            .map(|n| escape(n).into_owned())
            .collect();
        return format!("all but {}", missing.join(", "));
    }
    on.iter()
        .map(|n| escape(n).into_owned())
        .collect::<Vec<_>>()
        .join(", ")
}
