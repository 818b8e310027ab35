//! `portscope lookup PORT[/PROTO] | NAME[/PROTO]`: every registry entry with all its fields, the
//! port's class and, for a port with no entry, the run of unassigned ports it falls in; then the
//! port's known uses and the hints that apply to the port alone.

use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;

use super::{CmdResult, Context, Failure};
use crate::cli::LookupArgs;
use crate::hints::{self, Assessment, Hint};
use crate::known::KnownUse;
use crate::registry::{Entry, PortReport, PortSpec, PortSpecError, Protocol, Registry};
use crate::report;
use crate::report::detail::{Detail, Item, Tone};
use crate::search::aliases::Alias;
use crate::search::{Engine, NameMatch, Query, MAX_QUERY_CHARS};
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
    let count = raw.chars().count();
    if count > MAX_QUERY_CHARS {
        return Err(format!(
            "the lookup query is {count} characters long; give a port or a name of at most {MAX_QUERY_CHARS} characters"
        ));
    }
    if !raw.trim().is_empty() && raw.chars().any(char::is_control) {
        return Err(format!(
            "the lookup query \"{}\" holds control characters; type the port or name as plain text",
            escape(raw)
        ));
    }
    match PortSpec::parse(raw) {
        Ok(PortSpec { port, protocol }) => Ok(Target::Port(port, protocol)),
        Err(PortSpecError::NotANumber { name, protocol }) => Ok(Target::Name(name, protocol)),
        Err(PortSpecError::Empty) => Err(
            "the lookup query is empty: give a port (80, 80/tcp) or a service name (ssh)".into(),
        ),
        Err(e) => Err(e.to_string()),
    }
}

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
            let port_report = registry.report(port, proto);
            let assessment = hints::assess_port(&registry, port, proto);
            if ctx.json {
                crate::text::write_json(
                    &mut out,
                    &PortLookup {
                        report: port_report,
                        known_uses: assessment.known_uses,
                        hints: assessment.hints,
                    },
                )?;
            } else {
                write_port(&mut out, &registry, port, proto, assessment, args.all)?;
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
                // Not an IANA service name: perhaps an alias (samba) or a product (grafana).
                return match Engine::new(&registry).resolve_name(&name) {
                    Some(found) => write_resolved(ctx, &registry, &name, proto, found, args.all),
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
                let detail = report::detail::entries(name.clone(), &entries);
                report::plain::write_detail(&mut out, &detail, width())?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn width() -> usize {
    crate::output::table_width().unwrap_or(80).min(100)
}

/// `lookup --json` for a name IANA does not register but portscope's knowledge does.
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
    /// Each port the name leads to, as `lookup PORT --json` shows it.
    ports: Vec<PortLookup<'r>>,
}

/// A product, daemon or alias name: say that IANA does not register it and what portscope's
/// knowledge gives it, then each port it leads to as `lookup PORT` shows it.
fn write_resolved(
    ctx: &Context,
    registry: &Registry,
    name: &str,
    proto: Option<Protocol>,
    found: NameMatch,
    all: bool,
) -> CmdResult {
    let fits = |p: Option<Protocol>| proto.is_none() || p.is_none() || p == proto;
    let (aliases, uses): (Vec<&'static Alias>, Vec<&'static KnownUse>) = match found {
        NameMatch::Aliases(a) => (a.into_iter().filter(|a| fits(a.protocol)).collect(), vec![]),
        NameMatch::KnownUses(k) => (vec![], k.into_iter().filter(|k| fits(k.protocol)).collect()),
    };
    let mut ports: Vec<u16> = Vec::new();
    for p in aliases
        .iter()
        .map(|a| a.ports.start)
        .chain(uses.iter().map(|k| k.port))
    {
        if !ports.contains(&p) {
            ports.push(p);
        }
    }
    if ports.is_empty() {
        return not_found(registry, name);
    }
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
                resolved_by: if aliases.is_empty() {
                    "known-use"
                } else {
                    "alias"
                },
                aliases,
                known_uses: uses,
                ports,
            },
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let meaning: Vec<String> = if aliases.is_empty() {
        uses.iter()
            .map(|k| format!("{} ({})", k.ports_label(), k.describe()))
            .collect()
    } else {
        aliases
            .iter()
            .map(|a| {
                let protos: Vec<&str> = a.protocols().iter().map(|p| p.as_str()).collect();
                format!(
                    "{} on {}/{} ({})",
                    a.target,
                    a.ports,
                    protos.join("+"),
                    a.basis
                )
            })
            .collect()
    };
    let source = if aliases.is_empty() {
        "it is only a known use, not an IANA registration"
    } else {
        "portscope's alias table gives it"
    };
    writeln!(
        out,
        "\"{}\" is not an IANA service name; {source}: {}.",
        escape(name),
        escape(&meaning.join("; "))
    )?;
    for port in ports {
        let assessment = hints::assess_port(registry, port, proto);
        writeln!(out)?;
        write_port(&mut out, registry, port, proto, assessment, all)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Known uses a plain `lookup` shows on one port. A crowded port (8080 has over forty) would
/// bury the IANA entry and the hints under pages of alternatives; the rest are one `--all` away,
/// and `--json` always holds every one.
const SHOWN_USES: usize = 8;

/// The uses a person sees first: documented, then common, then reported, each in table order.
/// Returns how many were left out.
fn cap_uses(uses: &mut Vec<&'static KnownUse>, all: bool) -> usize {
    uses.sort_by_key(|k| k.confidence);
    let hidden = if all {
        0
    } else {
        uses.len().saturating_sub(SHOWN_USES)
    };
    uses.truncate(uses.len() - hidden);
    hidden
}

/// `lookup PORT` as text: the port's detail, its known uses capped (see [`SHOWN_USES`]).
fn write_port(
    out: &mut impl Write,
    registry: &Registry,
    port: u16,
    proto: Option<Protocol>,
    mut assessment: Assessment,
    all: bool,
) -> io::Result<()> {
    let hidden = cap_uses(&mut assessment.known_uses, all);
    let mut detail: Detail = report::detail::port(registry, port, proto, &assessment);
    if hidden > 0 {
        let spec = match proto {
            Some(p) => format!("{port}/{p}"),
            None => port.to_string(),
        };
        let more = Item::Note {
            text: format!("… {hidden} more known uses: `portscope lookup {spec} --all`"),
            tone: Tone::Dim,
        };
        if let Some(section) = detail
            .sections
            .iter_mut()
            .find(|s| s.heading == "Known uses")
        {
            section.items.push(more);
        }
    }
    writeln!(out, "{}", escape(&detail.title))?;
    report::plain::write_detail(out, &detail, width())
}

fn not_found(registry: &Registry, name: &str) -> CmdResult {
    let engine = Engine::new(registry);
    let mut suggestions: Vec<String> = Vec::new();
    if let Ok(q) = Query::parse(name) {
        for h in engine.search(&q, None, 10) {
            let n = h.alias().map_or(h.name(registry), |a| a.alias.as_str());
            if suggestions.len() < 3 && !suggestions.iter().any(|s| s == n) {
                suggestions.push(n.to_string());
            }
        }
    }
    let mut msg = format!("no service, product or alias is named \"{}\"", escape(name));
    if !suggestions.is_empty() {
        let list: Vec<String> = suggestions.iter().map(|s| escape(s).into_owned()).collect();
        msg.push_str(&format!("; did you mean {}?", list.join(", ")));
    }
    msg.push_str(&format!(" (try `portscope search {}`)", escape(name)));
    Err(Failure::Runtime(anyhow::anyhow!(msg)))
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
        assert_eq!(
            parse_target("/tcp").unwrap_err(),
            "nothing before \"/\" in \"/tcp\": expected a port (80/tcp)"
        );
    }
}
