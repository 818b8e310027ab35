//! `portscope list`: this machine's listeners (or, with `--all`, every socket) with their owning
//! processes and IANA service names. The table, `--json` and `--csv` are three renderings of the
//! same [`report::Row`]s.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;

use super::{CmdResult, Context, Failure};
use crate::cli::ListArgs;
use crate::exposure::LiveReach;
use crate::facts::{Depth, FactsCache, FactsTable, OwnerFacts, Roots};
use crate::hints::{Assessor, Flags, ReachSource};
use crate::output::write_table;
use crate::policy::Marker;
use crate::registry::{Protocol, Registry};
use crate::report::facts::SharedRowFacts;
use crate::report::{self, Column, CsvRow, Filter, Namespaces, Row};
use crate::sockets::{Collector, HostInfo, Owner, Snapshot, Socket, UnknownOwner};
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
        netns: None,
    }
}

/// The namespaces `--netns` asks for; the host's when not given.
pub fn namespaces_of(args: &ListArgs) -> Result<Namespaces, Failure> {
    match &args.netns {
        None => Ok(Namespaces::Host),
        Some(raw) => Namespaces::parse(raw).map_err(Failure::Usage),
    }
}

/// How deep `list` establishes the owners' facts: the cheap ones for every row, the integrity
/// too with `--verify`.
pub fn depth_of(args: &ListArgs) -> Depth {
    if args.verify {
        Depth::Verify
    } else {
        Depth::Cheap
    }
}

/// The whole `--json` document: host facts, how many owners are hidden, the rows, and each
/// owning process once (a server with 1,000 sockets does not repeat its command line 1,000
/// times), keyed by pid.
#[derive(Serialize)]
#[serde(bound = "")]
struct JsonList<'a, I: Iterator<Item = Row<'a>>> {
    host: &'a HostInfo,
    hidden_owners: usize,
    sockets: OneByOne<I>,
    processes: BTreeMap<u32, &'a Owner>,
    /// Each process's facts as established, with the evidence (package record, cgroup path).
    facts: BTreeMap<u32, &'a OwnerFacts>,
}

/// Rows serialized as a JSON array as they are made, none kept after it is written.
struct OneByOne<I>(std::cell::RefCell<Option<I>>);

impl<I> OneByOne<I> {
    fn new(rows: I) -> OneByOne<I> {
        OneByOne(std::cell::RefCell::new(Some(rows)))
    }
}

impl<'a, I: Iterator<Item = Row<'a>>> Serialize for OneByOne<I> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // serde serializes through `&self`; the rows can be walked only once.
        let rows = self.0.borrow_mut().take();
        serializer.collect_seq(rows.into_iter().flatten())
    }
}

pub fn run(ctx: &Context, args: &ListArgs) -> CmdResult {
    // The file first: a broken one is exit 2 before any work, and marks nothing.
    let marker = super::check::load_marker(args.expected.as_deref())?;
    let registry = ctx.registry()?;
    // The host view (the default) does not enter other namespaces, as `ss` does not: that sweep
    // costs as much as the rest of a listing on a host full of containers. A filtered look-up
    // sweeps them, to say what it leaves out.
    let host_only =
        namespaces_of(args)? == Namespaces::Host && (args.netns.is_some() || !narrowed(args));
    let snapshot = crate::sockets::SystemCollector::new(crate::sockets::CollectOptions {
        include_connections: args.all,
        host_namespace_only: host_only,
    })
    .collect()
    .map_err(|e| Failure::Runtime(anyhow::anyhow!("cannot read this machine's sockets: {e}")))?;
    // This host's interfaces and firewall weigh its databases and admin interfaces (read only
    // if one listens on a network address).
    let reach = LiveReach::new();
    print_marked(
        ctx,
        args,
        &registry,
        snapshot,
        None,
        marker.as_ref(),
        Some(&reach),
    )
}

/// Whether a filter narrows the listing to something in particular.
fn narrowed(args: &ListArgs) -> bool {
    args.port.is_some()
        || args.pid.is_some()
        || args.process.is_some()
        || args.user.is_some()
        || args.grep.is_some()
}

/// Print `snapshot` as `list` does (table, `--json` or `--csv`, filtered by `args`) for a saved
/// snapshot (`view` without a terminal, `ssh` without one), with the facts it recorded. It is
/// not marked: this host's expected-listeners file says nothing about another host's snapshot.
pub fn print(
    ctx: &Context,
    args: &ListArgs,
    registry: &Registry,
    snapshot: Snapshot,
    facts: FactsTable,
) -> CmdResult {
    print_marked(ctx, args, registry, snapshot, Some(facts), None, None)
}

/// [`print`], with the facts established here and now when `facts` is `None`; each listener
/// marked expected or not by `marker` when there is one, exposure weighed by `reach` when the
/// snapshot is this host's.
fn print_marked(
    ctx: &Context,
    args: &ListArgs,
    registry: &Registry,
    snapshot: Snapshot,
    facts: Option<FactsTable>,
    marker: Option<&Marker>,
    reach: Option<&dyn ReachSource>,
) -> CmdResult {
    let filter = filter_of(args);
    let namespaces = namespaces_of(args)?;
    // Flags and facts are worked out only for the sockets shown (`--port 22` on a server with
    // 10k sockets assesses a handful); the free-text filter needs them first. A namespace asked
    // for by its label is told after the facts name it.
    let without_text = Filter {
        text: None,
        ..filter.clone()
    };
    let by_label = matches!(namespaces, Namespaces::Named(_));
    let (mut candidates, elsewhere): (Vec<&Socket>, Vec<&Socket>) = snapshot
        .sockets
        .iter()
        .filter(|s| without_text.matches(s, None, &[]))
        .partition(|s| namespaces.admits(s.netns.as_ref(), None) || by_label && s.netns.is_some());
    let facts = match facts {
        Some(table) => table,
        None => FactsCache::new(Roots::system()).table(candidates.iter().copied(), depth_of(args)),
    };
    // Sorted as references, before the rows are built: a row is hundreds of bytes to move.
    candidates.sort_by(|a, b| args.sort.compare(a, b));
    let mut assessor = Assessor::new(registry, &snapshot).with_facts(&facts);
    if let Some(reach) = reach {
        assessor = assessor.with_reach(reach);
    }
    // What is listed, with its flags, first; each row is then made as it is printed. A row is
    // hundreds of bytes, and a load balancer's 40,000 of them at once were most of a listing's
    // memory (a table still needs them all, for its column widths).
    candidates.retain(|s| {
        !by_label || {
            let label = s.netns.as_ref().map(|ns| facts.namespace_label(ns));
            namespaces.admits(s.netns.as_ref(), label.as_deref())
        }
    });
    let flags = assessor.flags_each(&candidates);
    let listed: Vec<(&Socket, Flags)> = candidates
        .into_iter()
        .zip(flags)
        .filter(|(s, flags)| {
            filter.matches(s, registry.service_name(s.local_port, s.protocol), flags)
        })
        .collect();
    let mut shared = SharedRowFacts::default();
    let rows = listed.iter().map(|(s, flags)| {
        let row = Row::new(registry, s, flags.clone()).with_shared_facts(&facts, &mut shared);
        match marker {
            Some(m) => {
                let mark = m.mark(row.socket, &facts);
                row.with_mark(mark.as_ref(), m.origin())
            }
            None => row,
        }
    });
    let hidden = listed
        .iter()
        .filter(|(s, _)| s.owner_unknown == Some(UnknownOwner::Hidden))
        .count();

    let mut out = io::BufWriter::new(io::stdout().lock());
    for warning in &snapshot.host.warnings {
        eprintln!("portscope: warning: {}", escape(warning));
    }
    if args.netns.is_none() && narrowed(args) && !elsewhere.is_empty() {
        // The host view is the default; when the user looks for something in particular, say
        // what it leaves out rather than hide it silently (a plain `list` stays quiet, as `ss`).
        let n = elsewhere.len();
        let what = if n == 1 { "socket" } else { "sockets" };
        eprintln!(
            "portscope: {n} {what} in other network namespaces not shown: `--netns all` lists them"
        );
    }
    if ctx.json {
        let owners = || listed.iter().flat_map(|(s, _)| s.owners.iter());
        crate::text::write_json(
            &mut out,
            &JsonList {
                host: &snapshot.host,
                hidden_owners: hidden,
                sockets: OneByOne::new(rows),
                processes: owners().map(|o| (o.pid, o)).collect(),
                facts: owners()
                    .filter_map(|o| facts.owner(o.pid).map(|f| (o.pid, f)))
                    .collect(),
            },
        )?;
    } else if args.csv {
        if listed.is_empty() {
            // The header alone still tells a reader what the columns would have been.
            writeln!(out, "{}", report::listing::csv_header())?;
        }
        let mut w = csv::Writer::from_writer(&mut out);
        for row in rows {
            w.serialize(CsvRow::from_row(&row)).map_err(csv_io)?;
        }
        w.flush()?;
    } else if listed.is_empty() {
        writeln!(out, "No sockets match.")?;
    } else {
        let rows: Vec<Row> = rows.collect();
        let width = crate::output::table_width();
        let mut columns =
            Column::listing_at(args.all, width.is_none_or(|w| w >= report::listing::WIDE));
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
            width,
        )?;
        if hidden > 0 {
            writeln!(out, "{}", hidden_footer(hidden, &snapshot.host))?;
        }
    }
    out.flush()?;
    let code = if listed.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    // The process exits right after this: freeing tens of thousands of owner records one by one
    // would only make `list` slower on a busy server. The OS takes the memory back at once.
    drop(listed);
    drop(assessor);
    std::mem::forget(facts);
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
