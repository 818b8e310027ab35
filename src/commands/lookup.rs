//! `portscope lookup PORT[/PROTO] | NAME[/PROTO]`: every registry entry with all its fields, the
//! port's class and, for a port with no entry, the run of unassigned ports it falls in; then the
//! port's known uses and the hints that apply to the port alone.

use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;

use super::{CmdResult, Context, Failure};
use crate::cli::LookupArgs;
use crate::hints::{self, Hint};
use crate::known::KnownUse;
use crate::registry::{Entry, PortClass, PortReport, Protocol, Registry};
use crate::search::aliases::Alias;
use crate::search::{Engine, NameMatch, Query};
use crate::text::escape;

/// What the user asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    Port(u16, Option<Protocol>),
    Name(String, Option<Protocol>),
}

/// Parse `80`, `80/tcp`, `ssh`, `ssh/udp`; refuse out-of-range ports and unknown protocols with a
/// message that says what would be accepted.
pub fn parse_target(raw: &str) -> Result<Target, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(
            "the lookup query is empty: give a port (80, 80/tcp) or a service name (ssh)".into(),
        );
    }
    let count = raw.chars().count();
    if count > crate::search::MAX_QUERY_CHARS {
        return Err(format!(
            "the lookup query is {count} characters long; give a port or a name of at most {} characters",
            crate::search::MAX_QUERY_CHARS
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err(format!(
            "the lookup query \"{}\" holds control characters; type the port or name as plain text",
            escape(raw)
        ));
    }
    let (what, proto) = match raw.split_once('/') {
        Some((what, proto)) => {
            let p = Protocol::parse(proto.trim()).ok_or_else(|| {
                format!(
                    "unknown protocol \"{}\" in \"{}\": use tcp, udp, sctp or dccp",
                    escape(proto),
                    escape(raw)
                )
            })?;
            (what.trim(), Some(p))
        }
        None => (raw, None),
    };
    let looks_numeric = what
        .strip_prefix(['-', '+'])
        .unwrap_or(what)
        .bytes()
        .all(|b| b.is_ascii_digit())
        && !what.is_empty();
    if looks_numeric {
        return match what.parse::<u16>() {
            Ok(port) => Ok(Target::Port(port, proto)),
            Err(_) => Err(format!(
                "port must be a number from 0 to 65535, got {}",
                escape(what)
            )),
        };
    }
    if what.is_empty() {
        return Err(format!(
            "nothing to look up before \"/\" in \"{}\"",
            escape(raw)
        ));
    }
    Ok(Target::Name(what.to_string(), proto))
}

/// `lookup --json` for a port: the registry report plus known uses and port-only hints.
#[derive(Serialize)]
struct PortLookup<'r> {
    #[serde(flatten)]
    report: PortReport<'r>,
    known_uses: Vec<&'static KnownUse>,
    hints: Vec<Hint>,
}

#[derive(Serialize)]
struct NameReport<'r> {
    name: String,
    protocol: Option<Protocol>,
    entries: Vec<Entry<'r>>,
}

pub fn run(ctx: &Context, args: &LookupArgs) -> CmdResult {
    let target = parse_target(&args.query).map_err(Failure::Usage)?;
    let registry = ctx.registry()?;
    let mut out = io::stdout().lock();
    match target {
        Target::Port(port, proto) => {
            let report = registry.report(port, proto);
            let assessment = hints::assess_port(&registry, port, proto);
            if ctx.json {
                crate::text::write_json(
                    &mut out,
                    &PortLookup {
                        report,
                        known_uses: assessment.known_uses,
                        hints: assessment.hints,
                    },
                )?;
            } else {
                let width = width();
                write_port_report(&mut out, &report, width)?;
                write_known_uses(&mut out, &assessment.known_uses, width)?;
                write_hints(&mut out, &assessment.hints, width)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Target::Name(name, proto) => {
            let entries: Vec<Entry> = registry
                .by_name(&name)
                .into_iter()
                .filter(|e| proto.is_none() || e.protocol == proto)
                .collect();
            if entries.is_empty() {
                return match Engine::new(&registry).resolve_name(&name) {
                    Some(found) => write_resolved(ctx, &registry, &name, proto, found),
                    None => not_found(&registry, &name),
                };
            }
            if ctx.json {
                crate::text::write_json(
                    &mut out,
                    &NameReport {
                        name,
                        protocol: proto,
                        entries,
                    },
                )?;
            } else {
                write_entries(&mut out, &entries, None, width())?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn width() -> usize {
    crate::output::table_width().unwrap_or(80).min(100)
}

/// `lookup --json` for a name IANA does not register but the knowledge does.
#[derive(Serialize)]
struct ResolvedName<'r> {
    name: String,
    protocol: Option<Protocol>,
    /// Always false here: the name is not a service name in the IANA registry.
    iana_registered: bool,
    /// "alias" or "known-use": which table gave the name its ports.
    resolved_by: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    aliases: Vec<&'static Alias>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    known_uses: Vec<&'static KnownUse>,
    /// What each port is: IANA's entries, its known uses and port-only hints.
    ports: Vec<PortLookup<'r>>,
}

/// A product, daemon or alias name: say that IANA does not register it, what portscope's
/// knowledge gives it, then every port it leads to as `lookup PORT` shows it.
fn write_resolved(
    ctx: &Context,
    registry: &Registry,
    name: &str,
    proto: Option<Protocol>,
    found: NameMatch,
) -> CmdResult {
    let fits = |p: Option<Protocol>| proto.is_none() || p.is_none() || p == proto;
    let (aliases, uses): (Vec<&'static Alias>, Vec<&'static KnownUse>) = match found {
        NameMatch::Aliases(a) => (a.into_iter().filter(|a| fits(a.protocol)).collect(), vec![]),
        NameMatch::KnownUses(k) => (vec![], k.into_iter().filter(|k| fits(k.protocol)).collect()),
    };
    let mut ports: Vec<u16> = aliases
        .iter()
        .map(|a| a.ports.start)
        .chain(uses.iter().map(|k| k.port))
        .collect();
    let mut seen = Vec::new();
    ports.retain(|p| {
        let fresh = !seen.contains(p);
        seen.push(*p);
        fresh
    });
    if ports.is_empty() {
        return not_found(registry, name);
    }
    let shown = escape(name);
    let mut out = io::stdout().lock();
    if ctx.json {
        let ports = ports
            .iter()
            .map(|&port| {
                let assessment = hints::assess_port(registry, port, proto);
                PortLookup {
                    report: registry.report(port, proto),
                    known_uses: assessment.known_uses,
                    hints: assessment.hints,
                }
            })
            .collect();
        crate::text::write_json(
            &mut out,
            &ResolvedName {
                name: name.to_string(),
                protocol: proto,
                iana_registered: false,
                resolved_by: if aliases.is_empty() { "known-use" } else { "alias" },
                aliases,
                known_uses: uses,
                ports,
            },
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let width = width();
    if aliases.is_empty() {
        let list: Vec<String> = uses
            .iter()
            .map(|k| format!("{} ({})", k.ports_label(), k.describe()))
            .collect();
        writeln!(
            out,
            "\"{shown}\" is not an IANA service name; it is only a known use: {}.",
            escape(&list.join("; "))
        )?;
    } else {
        let list: Vec<String> = aliases
            .iter()
            .map(|a| {
                let label = match a.protocol {
                    Some(p) => format!("{}/{p}", a.ports),
                    None => format!("{}/tcp+udp", a.ports),
                };
                format!("{} on {label} ({})", a.target, a.basis)
            })
            .collect();
        writeln!(
            out,
            "\"{shown}\" is not an IANA service name; portscope's alias table gives it {}.",
            escape(&list.join("; "))
        )?;
    }
    for port in ports {
        writeln!(out)?;
        let report = registry.report(port, proto);
        let assessment = hints::assess_port(registry, port, proto);
        write_port_report(&mut out, &report, width)?;
        write_known_uses(&mut out, &assessment.known_uses, width)?;
        write_hints(&mut out, &assessment.hints, width)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn not_found(registry: &Registry, name: &str) -> CmdResult {
    let engine = Engine::new(registry);
    let suggestions: Vec<String> = match Query::parse(name) {
        Ok(q) => {
            let mut names: Vec<String> = Vec::new();
            for h in engine.search(&q, None, 10) {
                let n = h.alias().map_or(h.name(registry), |a| a.alias.as_str());
                if !names.iter().any(|x| x == n) && names.len() < 3 {
                    names.push(n.to_string());
                }
            }
            names
        }
        Err(_) => Vec::new(),
    };
    let mut msg = format!(
        "no service, product or alias is named \"{}\"",
        escape(name)
    );
    if !suggestions.is_empty() {
        let list: Vec<String> = suggestions.iter().map(|s| escape(s).into_owned()).collect();
        msg.push_str(&format!("; did you mean {}?", list.join(", ")));
    }
    msg.push_str(&format!(" (try `portscope search {}`)", escape(name)));
    Err(Failure::Runtime(anyhow::anyhow!(msg)))
}

/// The human form of a port report.
pub fn write_port_report(
    out: &mut impl Write,
    report: &PortReport,
    width: usize,
) -> io::Result<()> {
    let proto = report.protocol.map(|p| format!("/{p}")).unwrap_or_default();
    writeln!(out, "Port {}{proto}: {}", report.port, report.class.label())?;
    if report
        .entries
        .iter()
        .all(|e| e.service.is_empty() && !e.is_reserved())
    {
        match (report.class, report.unassigned_run) {
            (PortClass::Dynamic, _) => {
                writeln!(out, "Never assigned: IANA leaves 49152-65535 for dynamic, private and ephemeral use.")?
            }
            (_, Some(run)) if run.is_single() => writeln!(out, "Unassigned: IANA has no entry for port {}.", report.port)?,
            (_, Some(run)) => writeln!(
                out,
                "Unassigned: IANA has no entry for port {}; it lies in the unassigned run {run} ({} ports).",
                report.port,
                run.len()
            )?,
            (_, None) => writeln!(out, "Unassigned: IANA has no entry for port {}.", report.port)?,
        }
        return Ok(());
    }
    writeln!(out)?;
    write_entries(out, &report.entries, Some(report.port), width)
}

/// The "Known uses" section; nothing when there are none.
pub fn write_known_uses(out: &mut impl Write, uses: &[&KnownUse], width: usize) -> io::Result<()> {
    if uses.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\nKnown uses (a port number alone never proves which program listens)"
    )?;
    for k in uses {
        writeln!(
            out,
            "  {}  {}  {}, {}",
            escape(&k.product),
            k.ports_label(),
            escape(&k.category),
            k.confidence
        )?;
        write_field(out, "Note", &k.note, width)?;
        write_field(out, "Reference", &k.reference, width)?;
    }
    Ok(())
}

/// The "Hints" section: severity, title and id, the reason, then the commands to run.
/// Hint text is display-ready (escaped when the hint was built).
pub fn write_hints(out: &mut impl Write, hints: &[Hint], width: usize) -> io::Result<()> {
    if hints.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nHints")?;
    // Several hints often suggest the same commands: print each command once, where it first
    // applies.
    let mut shown: Vec<&str> = Vec::new();
    for h in hints {
        writeln!(out, "  [{}] {}  ({})", h.severity, h.title, h.id)?;
        for line in wrap(&h.why, width.saturating_sub(6).max(20)) {
            writeln!(out, "      {line}")?;
        }
        let fresh: Vec<&str> = h
            .next_steps
            .iter()
            .map(String::as_str)
            .filter(|s| !shown.contains(s))
            .collect();
        if fresh.is_empty() && !h.next_steps.is_empty() {
            writeln!(out, "      Next steps: as above.")?;
        } else if !fresh.is_empty() {
            writeln!(out, "      Next steps:")?;
            for step in fresh {
                writeln!(out, "        $ {step}")?;
                shown.push(step);
            }
        }
    }
    Ok(())
}

/// Entries as blocks, one per service; rows identical but for the protocol are folded together
/// (`dtp-dia  3489/tcp, udp`). Empty fields are left out.
pub fn write_entries(
    out: &mut impl Write,
    entries: &[Entry],
    port: Option<u16>,
    width: usize,
) -> io::Result<()> {
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
    for (n, (e, protos)) in groups.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        let name = if e.service.is_empty() {
            if e.is_unassigned() {
                "(unassigned)"
            } else {
                "(reserved)"
            }
            .to_string()
        } else {
            escape(e.service).into_owned()
        };
        let ports = e
            .ports
            .map_or_else(|| "no port".to_string(), |p| p.to_string());
        let protos: Vec<&str> = protos.iter().map(|p| p.as_str()).collect();
        let slash = if protos.is_empty() {
            String::new()
        } else {
            format!("/{}", protos.join(", "))
        };
        write!(out, "{name}  {ports}{slash}")?;
        match (port, e.ports) {
            (Some(p), Some(range)) if !range.is_single() => {
                writeln!(out, "  (port {p} lies in this range)")?
            }
            _ => writeln!(out)?,
        }
        let fields = [
            ("Description", e.description.to_string()),
            ("Assignee", e.assignee_name()),
            ("Contact", e.contact_name()),
            ("Registered", e.registration_date.to_string()),
            ("Modified", e.modification_date.to_string()),
            ("Reference", e.reference.to_string()),
            ("Service code", e.service_code.to_string()),
            ("Unauthorized use", e.unauthorized_use.to_string()),
            ("Notes", e.assignment_notes.to_string()),
        ];
        for (label, value) in fields {
            if value.trim().is_empty() {
                continue;
            }
            write_field(out, label, &value, width)?;
        }
    }
    Ok(())
}

/// `  Label             value`, the value escaped and wrapped under itself.
pub fn write_field(out: &mut impl Write, label: &str, value: &str, width: usize) -> io::Result<()> {
    const INDENT: usize = 20;
    let avail = width.saturating_sub(INDENT).max(20);
    let mut first = true;
    // IANA's notes carry hard line breaks from old mail; reflow them, keeping list items apart.
    for paragraph in paragraphs(value) {
        for line in wrap(&escape(&paragraph), avail) {
            if first {
                writeln!(out, "  {label:<w$}{line}", w = INDENT - 2)?;
                first = false;
            } else {
                writeln!(out, "{:INDENT$}{line}", "")?;
            }
        }
    }
    Ok(())
}

/// Split text into paragraphs at blank lines and before list items (`*`, `-`); other line breaks
/// become spaces.
fn paragraphs(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in value.lines() {
        let line = line.trim();
        let starts_item = line.starts_with("* ") || line.starts_with("- ");
        if (line.is_empty() || starts_item) && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        if !line.is_empty() {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(line);
        }
    }
    if !current.is_empty() || out.is_empty() {
        out.push(current);
    }
    out
}

/// Greedy word wrap by display width; a word longer than the line is cut.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let needed =
            crate::text::width(&line) + usize::from(!line.is_empty()) + crate::text::width(word);
        if !line.is_empty() && needed > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        while crate::text::width(&line) > width {
            let cut: String = line.chars().take(width).collect();
            let rest: String = line.chars().skip(width).collect();
            lines.push(cut);
            line = rest;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_or_say_why_not() {
        assert_eq!(
            parse_target("80/tcp"),
            Ok(Target::Port(80, Some(Protocol::Tcp)))
        );
        assert_eq!(parse_target("3489"), Ok(Target::Port(3489, None)));
        assert_eq!(parse_target("ssh"), Ok(Target::Name("ssh".into(), None)));
        assert_eq!(
            parse_target("ssh/UDP"),
            Ok(Target::Name("ssh".into(), Some(Protocol::Udp)))
        );
        assert_eq!(
            parse_target("70000").unwrap_err(),
            "port must be a number from 0 to 65535, got 70000"
        );
        assert_eq!(
            parse_target("-1").unwrap_err(),
            "port must be a number from 0 to 65535, got -1"
        );
        assert!(parse_target("80/xyz")
            .unwrap_err()
            .starts_with("unknown protocol \"xyz\""));
        assert!(parse_target("")
            .unwrap_err()
            .starts_with("the lookup query is empty"));
    }

    #[test]
    fn wrap_keeps_words_whole() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("", 5), vec![""]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
    }
}
