//! `portscope check [--expected FILE] [--json] [-q]`: are the listeners the ones the team expects?
//! Exit 0 when every listener matches a rule and every required rule is matched, 1 when not, 2
//! on any error (a bad file, sockets that cannot be read): cron and CI tell "drift" from "broken".
//!
//! Plain lines, one finding per line, no colour and no table: it is read in cron mail and CI logs.

use std::io::{self, Write};
use std::net::IpAddr;
use std::process::ExitCode;

use serde::Serialize;

use super::{CmdResult, Context, Failure};
use crate::cli::CheckArgs;
use crate::facts::{Depth, FactsCache, Roots};
use crate::hints::{Assessor, Flags};
use crate::policy::{Expected, Fact, ListenerFacts, Marker, Verdicts};
use crate::sockets::{Snapshot, Socket};
use crate::text::escape;

pub fn run(ctx: &Context, args: &CheckArgs) -> CmdResult {
    // Every failure to check is exit 2, whatever its kind: exit 1 means "checked, and it differs".
    match check(ctx, args) {
        Err(Failure::Runtime(e)) => Err(Failure::Usage(escape(&format!("{e:#}")).into_owned())),
        other => other,
    }
}

#[derive(Serialize)]
struct Unexpected<'a> {
    protocol: &'static str,
    proto_label: String,
    local_addr: IpAddr,
    local_port: u16,
    pids: Vec<u32>,
    process: Option<&'a str>,
    exe: Option<&'a str>,
    owner_unknown: Option<crate::sockets::UnknownOwner>,
    hints: Flags,
    /// Rules that would match but name facts not known for this listener.
    undecided: Vec<Undecided>,
}

#[derive(Serialize)]
struct Undecided {
    line: usize,
    unknown_facts: Vec<Fact>,
}

#[derive(Serialize)]
struct Missing<'a> {
    line: usize,
    rule: String,
    reason: &'a str,
    owner: &'a str,
    unknown_facts: Vec<Fact>,
}

#[derive(Serialize)]
struct Report<'a> {
    ok: bool,
    host: &'a str,
    expected_file: &'a str,
    rules: usize,
    listeners: usize,
    unexpected: Vec<Unexpected<'a>>,
    missing: Vec<Missing<'a>>,
}

/// The expected-listeners file for a command that marks listeners (`list`, `explain`, the
/// explorer): `--expected FILE`, else the first default path that exists, else none (nothing is
/// marked). A file that cannot be read or parsed is a usage error, exit 2, with its line and
/// column.
pub(super) fn load_marker(explicit: Option<&std::path::Path>) -> Result<Option<Marker>, Failure> {
    crate::policy::find_optional(explicit)
        .map(|e| e.map(Marker::new))
        .map_err(|e| Failure::Usage(escape(&e.to_string()).into_owned()))
}

fn check(ctx: &Context, args: &CheckArgs) -> CmdResult {
    // The file first: a broken file is reported before any work, and nothing from it applies.
    let expected = Expected::find(args.expected.as_deref())
        .map_err(|e| Failure::Usage(escape(&e.to_string()).into_owned()))?;
    let registry = ctx.registry()?;
    let snapshot = super::collect_live(false)?;
    for warning in &snapshot.host.warnings {
        eprintln!("portscope: warning: {}", escape(warning));
    }
    let at: Vec<usize> = (0..snapshot.sockets.len())
        .filter(|&i| snapshot.sockets[i].state.is_listener())
        .collect();
    let listeners: Vec<&Socket> = at.iter().map(|&i| &snapshot.sockets[i]).collect();
    // Rules on package, unit and container are judged by the cheap facts of each owner.
    let table = FactsCache::new(Roots::system()).table(listeners.iter().copied(), Depth::Cheap);
    let facts: Vec<ListenerFacts> = listeners
        .iter()
        .map(|s| ListenerFacts::of_socket(s).with_facts(s, &table))
        .collect();
    let verdicts = expected.check(&facts);
    let report = build(&registry, &snapshot, &listeners, &expected, &verdicts);

    let mut out = io::BufWriter::new(io::stdout().lock());
    if ctx.json {
        crate::text::write_json(&mut out, &report)?;
    } else if !(report.ok && args.quiet) {
        write_text(&mut out, &report)?;
    }
    out.flush()?;
    let code = if report.ok { 0 } else { 1 };
    drop(report);
    // The process exits next; freeing every owner record one by one would only cost time.
    std::mem::forget(snapshot);
    Ok(ExitCode::from(code))
}

fn build<'a>(
    registry: &crate::registry::Registry,
    snapshot: &'a Snapshot,
    listeners: &[&'a Socket],
    expected: &'a Expected,
    verdicts: &Verdicts,
) -> Report<'a> {
    let unexpected_idx: Vec<usize> = verdicts.unexpected().collect();
    // Hints for the unexpected ones only: the assessor indexes the snapshot once.
    let assessor = Assessor::new(registry, snapshot);
    let flags_of = |i: usize| -> Flags { assessor.flags(listeners[i]) };
    let unexpected = unexpected_idx
        .iter()
        .map(|&i| {
            let s = listeners[i];
            let first = s.owners.first();
            Unexpected {
                protocol: s.protocol.as_str(),
                proto_label: s.proto_label(),
                local_addr: s.local_addr,
                local_port: s.local_port,
                pids: s.owners.iter().map(|o| o.pid).collect(),
                process: first.map(|o| o.name.as_str()),
                exe: first.and_then(|o| o.exe.as_deref()),
                owner_unknown: s.owner_unknown,
                hints: flags_of(i),
                undecided: verdicts
                    .undecided
                    .get(&i)
                    .map(|u| {
                        u.iter()
                            .map(|(ri, facts)| Undecided {
                                line: expected.rules[*ri].line,
                                unknown_facts: facts.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    let missing = verdicts
        .missing
        .iter()
        .map(|&ri| {
            let placed = &expected.rules[ri];
            Missing {
                line: placed.line,
                rule: placed.rule.summary(),
                reason: &placed.rule.reason,
                owner: &placed.rule.owner,
                unknown_facts: verdicts
                    .missing_undecided
                    .get(&ri)
                    .cloned()
                    .unwrap_or_default(),
            }
        })
        .collect();
    Report {
        ok: verdicts.ok(),
        host: &snapshot.host.hostname,
        expected_file: &expected.origin,
        rules: expected.rules.len(),
        listeners: listeners.len(),
        unexpected,
        missing,
    }
}

fn facts_words(facts: &[Fact]) -> String {
    facts
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_text(out: &mut impl Write, r: &Report) -> io::Result<()> {
    let origin = escape(r.expected_file);
    let host = escape(r.host);
    if r.ok {
        return writeln!(
            out,
            "portscope check: ok on {host}: {} listeners, all expected; every required one present ({origin}, {} rules)",
            r.listeners, r.rules
        );
    }
    writeln!(
        out,
        "portscope check: FAILED on {host}: {} unexpected, {} missing ({origin}, {} rules, {} listeners)",
        r.unexpected.len(),
        r.missing.len(),
        r.rules,
        r.listeners
    )?;
    for u in &r.unexpected {
        let who = match (u.process, u.pids.as_slice()) {
            (Some(p), [pid]) => format!("{} pid {pid}", escape(p)),
            (Some(p), pids) => format!("{} pids {}", escape(p), join(pids)),
            (None, _) => u
                .owner_unknown
                .map_or("owner unknown".to_string(), |w| w.explain().to_string()),
        };
        let exe = u
            .exe
            .map(|e| format!(" ({})", escape(e)))
            .unwrap_or_default();
        let hints = if u.hints.is_empty() {
            String::new()
        } else {
            format!(
                "; hints: {}",
                u.hints
                    .iter()
                    .map(|h| format!("{} {}", h.severity, h.id))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        writeln!(
            out,
            "unexpected: {} {} {who}{exe}{hints}",
            u.proto_label,
            std::net::SocketAddr::new(u.local_addr, u.local_port)
        )?;
        for d in &u.undecided {
            writeln!(
                out,
                "  note: the rule at line {} would match if its {} were known; portscope does not know it for this listener, so it does not match",
                d.line,
                facts_words(&d.unknown_facts)
            )?;
        }
    }
    for m in &r.missing {
        let mut why = escape(m.reason).into_owned();
        if !m.owner.is_empty() {
            why = format!("{why} — {}", escape(m.owner));
        }
        writeln!(
            out,
            "missing: {} (rule at line {}{}): required, and no listener matches",
            escape(&m.rule),
            m.line,
            if why.is_empty() {
                String::new()
            } else {
                format!(": {why}")
            }
        )?;
        if !m.unknown_facts.is_empty() {
            writeln!(
                out,
                "  note: a listener may match once its {} is known; portscope does not know it yet",
                facts_words(&m.unknown_facts)
            )?;
        }
    }
    Ok(())
}

fn join(pids: &[u32]) -> String {
    pids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
