//! `portscope list`: this machine's listeners (or, with `--all`, every socket) with their owning
//! processes and IANA service names. The table, `--json` and `--csv` are three renderings of the
//! same [`ListRow`]s.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::IpAddr;
use std::process::ExitCode;

use serde::Serialize;

use super::{CmdResult, Context};
use crate::cli::{ListArgs, SortKey};
use crate::hints::{self, Flag, Severity};
use crate::output::{write_csv, write_table, Column};
use crate::registry::{Protocol, Registry};
use crate::sockets::{Family, HostInfo, Owner, Snapshot, Socket, SocketState, UnknownOwner};
use crate::text::escape;

/// One line of the listing: a socket joined with its registry name and hint badge. Text fields
/// are raw here; each output format escapes them its own way.
#[derive(Debug, Serialize)]
pub struct ListRow<'a> {
    pub protocol: Protocol,
    pub family: Family,
    pub state: SocketState,
    pub local_addr: IpAddr,
    pub local_port: u16,
    pub remote_addr: Option<IpAddr>,
    pub remote_port: Option<u16>,
    /// The IANA service name for this port and protocol.
    pub service: Option<&'a str>,
    /// Every owning pid, ascending.
    pub pids: Vec<u32>,
    /// The first owner's process name.
    pub process: Option<&'a str>,
    /// The first owner's user, else the user that opened the socket.
    pub user: Option<&'a str>,
    /// The owners' details; in JSON they appear once per process, under `processes`.
    #[serde(skip)]
    pub owners: &'a [Owner],
    pub owner_unknown: Option<UnknownOwner>,
    /// The most severe investigation hint, if any.
    pub badge: Option<Severity>,
    /// The ids of every hint for this socket, most severe first. A listing stays a listing: the
    /// full text (why, next steps) is `portscope explain PORT` or `portscope snapshot`, and
    /// writing it for 10,000 sockets would cost more than collecting them.
    pub hints: Vec<Flag>,
    /// The socket itself, for what its own methods say (labels, endpoints).
    #[serde(skip)]
    pub socket: &'a Socket,
}

impl<'a> ListRow<'a> {
    /// Join a socket with its registry name and its hints (from [`hints::flags_all`], which sees
    /// the whole snapshot: some hints compare sockets with each other).
    pub fn new(registry: &'a Registry, socket: &'a Socket, hints: Vec<Flag>) -> ListRow<'a> {
        let first = socket.owners.first();
        ListRow {
            protocol: socket.protocol,
            family: socket.family,
            state: socket.state,
            local_addr: socket.local_addr,
            local_port: socket.local_port,
            remote_addr: socket.remote_addr,
            remote_port: socket.remote_port,
            service: registry.service_name(socket.local_port, socket.protocol),
            pids: socket.owners.iter().map(|o| o.pid).collect(),
            process: first.map(|o| o.name.as_str()),
            user: first
                .and_then(|o| o.user.as_deref())
                .or(socket.user.as_deref()),
            owners: &socket.owners,
            owner_unknown: socket.owner_unknown,
            badge: hints::badge_of(&hints),
            hints,
            socket,
        }
    }

    /// A short word where something stands out: an unknown owner, a hint's severity.
    fn flag(&self) -> String {
        let unknown = self.owner_unknown.map(|u| match u {
            UnknownOwner::Hidden => "hidden",
            UnknownOwner::Kernel => "kernel",
            UnknownOwner::Vanished => "gone",
            UnknownOwner::OtherPidNamespace => "pid-ns",
            UnknownOwner::Unknown => "no-owner",
        });
        let badge = self.badge.map(|s| match s {
            Severity::Info => "info",
            Severity::Notice => "notice",
            Severity::Warning => "warn",
            Severity::Alert => "ALERT",
        });
        [unknown, badge]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn pid_cell(&self) -> String {
        match self.pids.as_slice() {
            [] => "-".into(),
            [one] => one.to_string(),
            [first, rest @ ..] => format!("{first}+{}", rest.len()),
        }
    }

    fn remote_cell(&self) -> String {
        self.socket
            .remote_endpoint()
            .map_or_else(|| "-".into(), |e| e.to_string())
    }

    fn user_cell(&self) -> String {
        escape(self.user.unwrap_or("-")).into_owned()
    }
}

/// Whether `socket` passes the command-line filters.
fn wanted(socket: &Socket, args: &ListArgs) -> bool {
    let proto_ok = match (args.tcp, args.udp) {
        (true, false) => socket.protocol == Protocol::Tcp,
        (false, true) => socket.protocol == Protocol::Udp,
        _ => true,
    };
    let name_ok = args.process.as_deref().is_none_or(|want| {
        let want = want.to_lowercase();
        socket
            .owners
            .iter()
            .any(|o| o.name.to_lowercase().contains(&want))
    });
    let user_ok = args.user.as_deref().is_none_or(|want| {
        let is_want = |uid: Option<u32>, user: Option<&str>| {
            user == Some(want) || uid.is_some_and(|u| u.to_string() == want)
        };
        if socket.owners.is_empty() {
            is_want(socket.uid, socket.user.as_deref())
        } else {
            socket
                .owners
                .iter()
                .any(|o| is_want(o.uid, o.user.as_deref()))
        }
    });
    (args.all || socket.state.is_listener())
        && proto_ok
        && name_ok
        && user_ok
        && args.port.is_none_or(|p| p == socket.local_port)
        && args
            .pid
            .is_none_or(|p| socket.owners.iter().any(|o| o.pid == p))
}

/// The whole `--json` document: host facts, how many owners are hidden, the rows, and each
/// owning process once (a server with 1,000 sockets does not repeat its command line 1,000
/// times), keyed by pid.
#[derive(Serialize)]
struct JsonList<'a> {
    host: &'a HostInfo,
    hidden_owners: usize,
    sockets: &'a [ListRow<'a>],
    processes: BTreeMap<u32, &'a Owner>,
}

pub fn run(ctx: &Context, args: &ListArgs) -> CmdResult {
    let registry = ctx.registry()?;
    let snapshot = super::collect_live(args.all)?;
    print(ctx, args, &registry, snapshot)
}

/// Print `snapshot` as `list` does (table, `--json` or `--csv`, filtered by `args`): for this
/// machine, and for a saved snapshot (`view` without a terminal).
pub fn print(ctx: &Context, args: &ListArgs, registry: &Registry, snapshot: Snapshot) -> CmdResult {
    let shown: Vec<&Socket> = snapshot
        .sockets
        .iter()
        .filter(|s| wanted(s, args))
        .collect();
    // Hints compare a socket with the others on its port, so each is assessed against the whole
    // snapshot: all at once when most are shown (one pass), one by one when a filter kept a few
    // (`--port 22` on a server with 10k sockets should not assess all 10k).
    let mut rows: Vec<ListRow> = if shown.len() * 8 < snapshot.sockets.len() {
        shown
            .into_iter()
            .map(|s| ListRow::new(registry, s, hints::flags_socket(registry, &snapshot, s)))
            .collect()
    } else {
        snapshot
            .sockets
            .iter()
            .zip(hints::flags_all(registry, &snapshot))
            .filter(|(s, _)| wanted(s, args))
            .map(|(s, flags)| ListRow::new(registry, s, flags))
            .collect()
    };
    sort_rows(&mut rows, args.sort);
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
                    .flat_map(|r| r.owners)
                    .map(|o| (o.pid, o))
                    .collect(),
            },
        )?;
    } else if args.csv {
        write_csv(
            &mut out,
            &CSV_HEADER,
            &rows.iter().map(csv_cells).collect::<Vec<_>>(),
        )?;
    } else if rows.is_empty() {
        writeln!(out, "No sockets match.")?;
    } else {
        write_table(
            &mut out,
            &columns(args.all),
            &rows
                .iter()
                .map(|r| table_cells(r, args.all))
                .collect::<Vec<_>>(),
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

fn sort_rows(rows: &mut [ListRow], key: SortKey) {
    let port_order = |r: &ListRow| (r.local_port, r.protocol, r.local_addr);
    match key {
        SortKey::Port => rows.sort_by_key(port_order),
        SortKey::Proto => rows.sort_by_key(|r| (r.protocol, r.family, port_order(r))),
        SortKey::Pid => {
            rows.sort_by_key(|r| (r.pids.first().copied().unwrap_or(u32::MAX), port_order(r)))
        }
        SortKey::Process => rows.sort_by_key(|r| {
            (
                r.process.is_none(),
                r.process.map(str::to_lowercase),
                port_order(r),
            )
        }),
        SortKey::User => {
            rows.sort_by_key(|r| (r.user.is_none(), r.user.map(str::to_string), port_order(r)))
        }
        SortKey::Address => rows.sort_by_key(|r| (r.local_addr, r.local_port, r.protocol)),
    }
}

fn columns(all: bool) -> Vec<Column> {
    let col = |title, min, shrinks| Column {
        title,
        min,
        shrinks,
    };
    let mut cols = vec![
        col("PROTO", 5, false),
        col("ADDRESS", 7, false),
        col("PORT", 5, false),
        col("SERVICE", 7, true),
    ];
    if all {
        cols.push(col("STATE", 5, false));
        cols.push(col("REMOTE", 6, true));
    }
    cols.extend([
        col("PID", 3, false),
        col("PROCESS", 7, true),
        col("USER", 4, true),
        col("FLAG", 4, false),
    ]);
    cols
}

fn table_cells(row: &ListRow, all: bool) -> Vec<String> {
    let mut cells = vec![
        row.socket.proto_label(),
        row.local_addr.to_string(),
        row.local_port.to_string(),
        escape(row.service.unwrap_or("-")).into_owned(),
    ];
    if all {
        cells.push(row.state.label().to_string());
        cells.push(row.remote_cell());
    }
    cells.extend([
        row.pid_cell(),
        escape(row.process.unwrap_or("-")).into_owned(),
        row.user_cell(),
        row.flag(),
    ]);
    cells
}

const CSV_HEADER: [&str; 15] = [
    "proto",
    "family",
    "state",
    "local_addr",
    "local_port",
    "remote_addr",
    "remote_port",
    "service",
    "pids",
    "process",
    "user",
    "owner_unknown",
    "flag",
    "exe",
    "cmdline",
];

fn csv_cells(row: &ListRow) -> Vec<String> {
    let first = row.owners.first();
    let opt = |v: Option<String>| v.unwrap_or_default();
    vec![
        row.protocol.as_str().to_string(),
        family_name(row.family).to_string(),
        row.state.label().to_string(),
        row.local_addr.to_string(),
        row.local_port.to_string(),
        opt(row.remote_addr.map(|a| a.to_string())),
        opt(row.remote_port.map(|p| p.to_string())),
        escape(row.service.unwrap_or("")).into_owned(),
        row.pids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        escape(row.process.unwrap_or("")).into_owned(),
        escape(row.user.unwrap_or("")).into_owned(),
        opt(row.owner_unknown.map(|u| unknown_name(u).to_string())),
        row.flag(),
        opt(first
            .and_then(|o| o.exe.as_deref())
            .map(|e| escape(e).into_owned())),
        first.map_or_else(String::new, |o| {
            o.cmdline
                .iter()
                .map(|a| escape(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        }),
    ]
}

fn family_name(family: Family) -> &'static str {
    match family {
        Family::V4 => "v4",
        Family::V6 => "v6",
        Family::Dual => "dual",
    }
}

fn unknown_name(reason: UnknownOwner) -> &'static str {
    match reason {
        UnknownOwner::Hidden => "hidden",
        UnknownOwner::Kernel => "kernel",
        UnknownOwner::Vanished => "vanished",
        UnknownOwner::OtherPidNamespace => "other-pid-namespace",
        UnknownOwner::Unknown => "unknown",
    }
}
