//! `portscope reach [--port P] [--json]`: for each listener, the addresses it can be reached on,
//! their scope, and the firewall's verdict on each with the deciding rule quoted. The judging is
//! `exposure`'s; this command collects, asks, and prints.

use std::io::{self, Write};
use std::net::IpAddr;
use std::process::ExitCode;

use serde::Serialize;

use super::{CmdResult, Context, Failure};
use crate::cli::ReachArgs;
use crate::exposure::{self, Firewall, IfAddr, Reach};
use crate::sockets::Socket;
use crate::text::escape;

#[derive(Serialize)]
struct Row<'a> {
    protocol: &'static str,
    proto_label: String,
    local_addr: IpAddr,
    local_port: u16,
    pids: Vec<u32>,
    process: Option<&'a str>,
    reach: Reach,
}

#[derive(Serialize)]
struct Doc<'a> {
    host: &'a str,
    interfaces: &'a [IfAddr],
    firewall_rules: usize,
    firewall_unread: &'a [String],
    /// `netlink` or `nft -j`: how the nftables ruleset was read.
    nftables_read_with: Option<&'static str>,
    not_evaluated: &'a [String],
    listeners: Vec<Row<'a>>,
}

/// This host's interfaces, as a runtime failure when netlink refuses.
pub(super) fn interfaces() -> Result<Vec<IfAddr>, Failure> {
    exposure::interfaces::read().map_err(|e| {
        Failure::Runtime(anyhow::anyhow!(
            "cannot read this host's interfaces over netlink: {e}"
        ))
    })
}

fn row<'a>(s: &'a Socket, ifaces: &[IfAddr], fw: &Firewall) -> Row<'a> {
    Row {
        protocol: s.protocol.as_str(),
        proto_label: s.proto_label(),
        local_addr: s.local_addr,
        local_port: s.local_port,
        pids: s.owners.iter().map(|o| o.pid).collect(),
        process: s.owners.first().map(|o| o.name.as_str()),
        reach: exposure::reach(s, ifaces, fw),
    }
}

pub fn run(ctx: &Context, args: &ReachArgs) -> CmdResult {
    let snapshot = super::collect_live(false)?;
    let ifaces = interfaces()?;
    let fw = exposure::read_firewall();
    let mut listeners: Vec<&Socket> = snapshot
        .sockets
        .iter()
        .filter(|s| s.state.is_listener() && args.port.is_none_or(|p| p == s.local_port))
        .collect();
    listeners.sort_by_key(|s| (s.local_port, s.protocol, s.local_addr));
    let rows: Vec<Row> = listeners.iter().map(|s| row(s, &ifaces, &fw)).collect();
    let mut out = io::BufWriter::new(io::stdout().lock());
    if ctx.json {
        crate::text::write_json(
            &mut out,
            &Doc {
                host: &snapshot.host.hostname,
                interfaces: &ifaces,
                firewall_rules: fw.rules.rule_count(),
                firewall_unread: &fw.unread,
                nftables_read_with: fw.nftables_read_with,
                not_evaluated: &fw.rules.notes,
                listeners: rows,
            },
        )?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &fw.unread {
        writeln!(out, "firewall not read: {}", escape(problem))?;
    }
    for note in &fw.rules.notes {
        writeln!(out, "not evaluated: {}", escape(note))?;
    }
    if rows.is_empty() {
        writeln!(out, "No listeners match.")?;
    }
    for r in &rows {
        writeln!(
            out,
            "{} {} {}: reach {}",
            r.proto_label,
            std::net::SocketAddr::new(r.local_addr, r.local_port),
            escape(r.process.unwrap_or("-")),
            r.reach.summary
        )?;
        for p in &r.reach.paths {
            match &p.verdict {
                None => writeln!(
                    out,
                    "  {} {} ({}): this host only",
                    p.scope.as_str(),
                    p.addr,
                    escape(&p.interface)
                )?,
                Some(v) => {
                    writeln!(
                        out,
                        "  {} {} ({}): {}: {}",
                        p.scope.as_str(),
                        p.addr,
                        escape(&p.interface),
                        v.outcome.as_str(),
                        escape(&v.reason)
                    )?;
                    if let Some(rule) = &v.rule {
                        writeln!(out, "    rule: {}", escape(rule))?;
                    }
                    for c in &v.conditions {
                        writeln!(out, "    except {}", escape(c))?;
                    }
                }
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
