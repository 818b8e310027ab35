//! `portscope list`: this machine's listeners (or, with `--all`, every socket) with their owning
//! processes and IANA service names. The table, `--json` and `--csv` are three renderings of the
//! same [`report::Row`]s.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;

use super::{CmdResult, Context};
use crate::cli::ListArgs;
use crate::exposure::LiveReach;
use crate::hints::{Assessor, ReachSource};
use crate::output::write_table;
use crate::policy::Marker;
use crate::registry::{Protocol, Registry};
use crate::report::{self, Column, CsvRow, Filter, Row};
use crate::sockets::{HostInfo, Owner, Snapshot, UnknownOwner};
use crate::text::escape;

/// The listing filter the command line asks for.
pub fn filter_of(args: &ListArgs) -> Filter {
    Filter {
        connections: args.all,
        protocol: match (args.tcp, args.udp) {
            (true, false) => Some(Protocol::Tcp),
            (false, true) => Some(Protocol::Udp),
            _ => None,
        },
        port: args.port,
        pid: args.pid,
        process: args.process.clone(),
        user: args.user.clone(),
        text: args.grep.clone(),
    }
}

/// The whole `--json` document: host facts, how many owners are hidden, the rows, and each
/// owning process once (a server with 1,000 sockets does not repeat its command line 1,000
/// times), keyed by pid.
#[derive(Serialize)]
struct JsonList<'a> {
    host: &'a HostInfo,
    hidden_owners: usize,
    sockets: &'a [Row<'a>],
    processes: BTreeMap<u32, &'a Owner>,
}

pub fn run(ctx: &Context, args: &ListArgs) -> CmdResult {
    // The file first: a broken one is exit 2 before any work, and marks nothing.
    let marker = super::check::load_marker(args.expected.as_deref())?;
    let registry = ctx.registry()?;
    let snapshot = super::collect_live(args.all)?;
    // This host's interfaces and firewall weigh its databases and admin interfaces (read only
    // if one listens on a network address).
    let reach = LiveReach::new();
    print_marked(
        ctx,
        args,
        &registry,
        snapshot,
        marker.as_ref(),
        Some(&reach),
    )
}

/// Print `snapshot` as `list` does (table, `--json` or `--csv`, filtered by `args`): for this
/// machine, and for a saved snapshot (`view` without a terminal), which is not marked: this
/// host's expected-listeners file says nothing about another host's snapshot.
pub fn print(ctx: &Context, args: &ListArgs, registry: &Registry, snapshot: Snapshot) -> CmdResult {
    print_marked(ctx, args, registry, snapshot, None, None)
}

/// [`print`], each listener marked expected or not by `marker` when there is one, exposure
/// weighed by `reach` when the snapshot is this host's.
fn print_marked(
    ctx: &Context,
    args: &ListArgs,
    registry: &Registry,
    snapshot: Snapshot,
    marker: Option<&Marker>,
    reach: Option<&dyn ReachSource>,
) -> CmdResult {
    let filter = filter_of(args);
    let mut assessor = Assessor::new(registry, &snapshot);
    if let Some(reach) = reach {
        assessor = assessor.with_reach(reach);
    }
    // Flags are worked out only for the sockets shown (`--port 22` on a server with 10k sockets
    // assesses a handful); the free-text filter needs them first.
    let without_text = Filter {
        text: None,
        ..filter.clone()
    };
    let mut rows: Vec<Row> = snapshot
        .sockets
        .iter()
        .filter(|s| without_text.matches(s, None, &[]))
        .map(|s| Row::new(registry, s, assessor.flags(s)))
        .filter(|r| filter.matches(r.socket, r.service, &r.hints))
        .map(|r| match marker {
            Some(m) => {
                let mark = m.mark(r.socket);
                r.with_mark(mark.as_ref(), m.origin())
            }
            None => r,
        })
        .collect();
    rows.sort_by(|a, b| args.sort.compare(a.socket, b.socket));
    let hidden = rows
        .iter()
        .filter(|r| r.owner_unknown == Some(UnknownOwner::Hidden))
        .count();

    let mut out = io::BufWriter::new(io::stdout().lock());
    for warning in &snapshot.host.warnings {
        eprintln!("portscope: warning: {}", escape(warning));
    }
    if ctx.json {
        crate::text::write_json(
            &mut out,
            &JsonList {
                host: &snapshot.host,
                hidden_owners: hidden,
                sockets: &rows,
                processes: rows
                    .iter()
                    .flat_map(|r| &r.socket.owners)
                    .map(|o| (o.pid, o))
                    .collect(),
            },
        )?;
    } else if args.csv {
        if rows.is_empty() {
            // The header alone still tells a reader what the columns would have been.
            writeln!(out, "{}", report::listing::csv_header())?;
        }
        let mut w = csv::Writer::from_writer(&mut out);
        for row in &rows {
            w.serialize(CsvRow::from_row(row)).map_err(csv_io)?;
        }
        w.flush()?;
    } else if rows.is_empty() {
        writeln!(out, "No sockets match.")?;
    } else {
        let mut columns = Column::listing(args.all);
        if marker.is_some() {
            columns.push(Column::Expected);
        }
        let cols: Vec<crate::output::Column> = columns
            .iter()
            .map(|c| crate::output::Column {
                title: c.title(),
                min: c.min_width(),
                shrinks: c.shrinks(),
            })
            .collect();
        write_table(
            &mut out,
            &cols,
            &report::listing::table_cells(&rows, &columns),
            crate::output::table_width(),
        )?;
        if hidden > 0 {
            writeln!(out, "{}", hidden_footer(hidden, &snapshot.host))?;
        }
    }
    out.flush()?;
    let code = if rows.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    // The process exits right after this: freeing tens of thousands of owner records one by one
    // would only make `list` slower on a busy server. The OS takes the memory back at once.
    drop(rows);
    drop(assessor);
    std::mem::forget(snapshot);
    Ok(code)
}

/// The line under the table when some owners could not be seen.
fn hidden_footer(hidden: usize, host: &HostInfo) -> String {
    let what = if hidden == 1 {
        "1 socket's owner is".to_string()
    } else {
        format!("{hidden} sockets' owners are")
    };
    if host.uid == 0 {
        return format!(
            "{what} hidden even from root (a sandbox or security module guards those processes): `portscope doctor` says more."
        );
    }
    format!(
        "{what} hidden from user {}: run `sudo portscope list` to see every owner.",
        escape(&host.user)
    )
}

/// A CSV error as the I/O error under it, so a closed pipe stays a closed pipe (which ends every
/// format quietly) instead of becoming an "other" error.
fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}
