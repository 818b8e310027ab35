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
use crate::registry::{search, Entry, PortReport, PortSpec, PortSpecError, Protocol, Registry};
use crate::report;
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
                let detail = report::detail::port(&registry, port, proto, &assessment);
                writeln!(out, "{}", escape(&detail.title))?;
                report::plain::write_detail(&mut out, &detail, width())?;
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
                return not_found(&registry, &name);
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

fn not_found(registry: &Registry, name: &str) -> CmdResult {
    let mut index = search::SearchIndex::new(registry);
    let suggestions: Vec<String> = match search::Query::parse(name) {
        Ok(q) => index
            .search(&q, None, 3)
            .iter()
            .map(|h| registry.entry(h.index).service.to_string())
            .collect(),
        Err(_) => Vec::new(),
    };
    let mut msg = format!("no service is named \"{}\" in the registry", escape(name));
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
