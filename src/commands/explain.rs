//! `portscope explain PID|PORT[/PROTO]`: the full detail of the matching live listeners — the
//! verdict, process facts, IANA entries, known uses, hints and the commands to run next — as
//! [`report::detail`] builds it.

use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;

use super::{CmdResult, Context, Failure};
use crate::cli::ExplainArgs;
use crate::facts::{Depth, FactsCache, FactsTable, OwnerFacts, Roots};
use crate::hints::{Assessment, Assessor, Flags};
use crate::policy::{Mark, Marker};
use crate::registry::{PortSpec, PortSpecError, Protocol, Registry};
use crate::report;
use crate::report::facts::RowFacts;
use crate::sockets::{HostInfo, Snapshot, Socket};

/// What the user asked to explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `22/tcp`, `port:22`.
    Port(u16, Option<Protocol>),
    /// `pid:1234`, or a bare number no port can be.
    Pid(u32),
    /// A bare number: the sockets on that port, else those of that pid.
    PortOrPid(u16),
}

/// Parse `22`, `53/udp`, `port:22`, `pid:1234`; say what is accepted otherwise.
pub fn parse_target(raw: &str) -> Result<Target, String> {
    let raw = raw.trim();
    let accepted = "give a pid or a port (22, 53/udp, pid:1234)";
    if let Some(pid) = raw.strip_prefix("pid:") {
        return pid.trim().parse::<u32>().map(Target::Pid).map_err(|_| {
            format!(
                "a pid must be a whole number, got \"{}\": {accepted}",
                crate::text::escape(pid)
            )
        });
    }
    let (what, explicit_port) = match raw.strip_prefix("port:") {
        Some(rest) => (rest, true),
        None => (raw, false),
    };
    match PortSpec::parse(what) {
        Ok(PortSpec { port, protocol }) if explicit_port || protocol.is_some() => {
            Ok(Target::Port(port, protocol))
        }
        Ok(PortSpec { port, .. }) => Ok(Target::PortOrPid(port)),
        // Too big for a port, but a pid can be.
        Err(PortSpecError::OutOfRange(n)) if !explicit_port => n
            .parse::<u32>()
            .map(Target::Pid)
            .map_err(|_| PortSpecError::OutOfRange(n).to_string()),
        Err(e @ PortSpecError::NotANumber { .. }) => Err(format!("{e}: {accepted}")),
        Err(e) => Err(e.to_string()),
    }
}

fn on_port(socket: &Socket, port: u16, protocol: Option<Protocol>) -> bool {
    socket.local_port == port && protocol.is_none_or(|p| p == socket.protocol)
}

fn held_by(socket: &Socket, pid: u32) -> bool {
    socket.owners.iter().any(|o| o.pid == pid)
}

/// The sockets of `snapshot` the target names, in snapshot order.
pub fn select(snapshot: &Snapshot, target: Target) -> Vec<&Socket> {
    let matching = |f: &dyn Fn(&Socket) -> bool| snapshot.sockets.iter().filter(|s| f(s)).collect();
    match target {
        Target::Port(port, protocol) => matching(&|s| on_port(s, port, protocol)),
        Target::Pid(pid) => matching(&|s| held_by(s, pid)),
        Target::PortOrPid(n) => {
            let by_port: Vec<&Socket> = matching(&|s| on_port(s, n, None));
            if by_port.is_empty() {
                matching(&|s| held_by(s, u32::from(n)))
            } else {
                by_port
            }
        }
    }
}

/// One explained socket, for `--json`.
#[derive(Serialize)]
struct Explained<'a, 'r> {
    socket: &'a Socket,
    #[serde(flatten)]
    assessment: Assessment<'r>,
    /// The summary a listing row carries (package, integrity, unit, container, pod).
    #[serde(flatten)]
    summary: RowFacts,
    /// Each owner's facts with their evidence, in owner order; absent when not established.
    facts: Vec<OwnerFacts>,
    /// The namespace's label, when not the host's.
    netns: Option<String>,
    /// `true`/`false` as the expected-listeners file says; `null` with no file, or for a
    /// connection.
    expected: Option<bool>,
    /// The rule that expects it.
    expected_by: Option<report::ExpectedBy<'a>>,
}

#[derive(Serialize)]
struct ExplainReport<'a, 'r> {
    host: &'a HostInfo,
    sockets: Vec<Explained<'a, 'r>>,
}

pub fn run(ctx: &Context, args: &ExplainArgs) -> CmdResult {
    let target = parse_target(&args.target).map_err(Failure::Usage)?;
    let marker = super::check::load_marker(args.expected.as_deref())?;
    let registry = ctx.registry()?;
    let snapshot = super::collect_live(false)?;
    let mut out = io::stdout().lock();
    let mut facts = FactsCache::new(Roots::system());
    let reach = crate::exposure::LiveReach::new();
    explain(
        &mut out,
        &registry,
        &snapshot,
        target,
        ctx.json,
        Weighing {
            facts: Some(&mut facts),
            marker: marker.as_ref(),
            reach: Some(&reach),
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// What `explain` weighs a socket with beyond the snapshot; `None` leaves each part out.
#[derive(Default)]
pub struct Weighing<'a> {
    /// Establishes the owners' facts down to their integrity (the one place, with the
    /// explorer's detail pane, that hashes an executable unasked); without it they are unknown.
    pub facts: Option<&'a mut FactsCache>,
    /// The expected-listeners file: each listener's verdict says what it says of it (or that
    /// there is no file).
    pub marker: Option<&'a Marker>,
    /// This host's interfaces and firewall, for exposure.
    pub reach: Option<&'a dyn crate::hints::ReachSource>,
}

/// Write the explanation of `target` in `snapshot`, weighed by `with`; fails with one line when
/// nothing matches.
pub fn explain(
    out: &mut impl Write,
    registry: &Registry,
    snapshot: &Snapshot,
    target: Target,
    json: bool,
    with: Weighing,
) -> Result<(), Failure> {
    let Weighing {
        facts,
        marker,
        reach,
    } = with;
    let sockets = select(snapshot, target);
    if sockets.is_empty() {
        return Err(Failure::Runtime(anyhow::anyhow!(nothing_matches(
            snapshot, target
        ))));
    }
    let table = match facts {
        Some(cache) => {
            let mut table = FactsTable::default();
            for s in &sockets {
                cache.deepen(&mut table, s, Depth::Verify);
            }
            table
        }
        None => FactsTable::unknown("not established"),
    };
    let mut assessor = Assessor::new(registry, snapshot).with_facts(&table);
    if let Some(reach) = reach {
        assessor = assessor.with_reach(reach);
    }
    let marks: Vec<Option<Mark>> = sockets
        .iter()
        .map(|s| marker.and_then(|m| m.mark(s, &table)))
        .collect();
    let explained: Vec<Explained> = sockets
        .iter()
        .zip(&marks)
        .map(|(socket, mark)| {
            let row = marker.map(|m| {
                report::Row::new(registry, socket, Flags::default())
                    .with_mark(mark.as_ref(), m.origin())
            });
            Explained {
                socket,
                assessment: assessor.assess(socket),
                summary: RowFacts::of(&table, socket),
                facts: socket
                    .owners
                    .iter()
                    .filter_map(|o| table.owner(o.pid).cloned())
                    .collect(),
                netns: socket.netns.as_ref().map(|ns| table.namespace_label(ns)),
                expected: row.as_ref().and_then(|r| r.expected),
                expected_by: row.and_then(|r| r.expected_by),
            }
        })
        .collect();
    if json {
        crate::text::write_json(
            &mut *out,
            &ExplainReport {
                host: &snapshot.host,
                sockets: explained,
            },
        )?;
        return Ok(());
    }
    let width = crate::output::table_width().unwrap_or(80).min(100);
    for (n, e) in explained.iter().enumerate() {
        if n > 0 {
            writeln!(out, "\n{}", "─".repeat(width.min(60)))?;
        }
        let mut detail = report::detail::socket_with_facts(
            &snapshot.host,
            e.socket,
            &e.assessment,
            false,
            &table,
        );
        let expectation = report::Expectation::of(marker, marks[n].as_ref());
        report::detail::expectation(&mut detail, expectation);
        writeln!(out, "{}", crate::text::escape(&detail.title))?;
        report::plain::write_detail(out, &detail, width)?;
    }
    Ok(())
}

fn nothing_matches(snapshot: &Snapshot, target: Target) -> String {
    let hidden = if snapshot.host.sees_all_owners {
        ""
    } else if snapshot.host.uid == 0 {
        " (some owners are hidden even from root: `portscope doctor` says why)"
    } else {
        " (not running as root: other users' processes are hidden, try sudo)"
    };
    match target {
        Target::Port(port, protocol) => {
            let proto = protocol.map_or_else(|| "tcp or udp".to_string(), |p| p.to_string());
            format!(
                "nothing listens on port {port} ({proto}) on this machine; `portscope lookup {port}` says what the port is registered for"
            )
        }
        Target::Pid(pid) => format!("pid {pid} holds no listening socket{hidden}"),
        Target::PortOrPid(n) => format!(
            "nothing listens on port {n}, and pid {n} holds no listening socket{hidden}; `portscope lookup {n}` says what the port is registered for"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockets::{HostInfo, Owner, SCHEMA_VERSION};

    const NOW: u64 = 1_800_000_000;

    fn owner(pid: u32, name: &str, exe: &str) -> Owner {
        Owner {
            pid,
            name: name.into(),
            uid: Some(0),
            user: Some("root".into()),
            exe: Some(exe.into()),
            exe_deleted: false,
            cmdline: vec![exe.into(), "-D".into()],
            start_time: Some(NOW - 7200),
            start_ticks: None,
            parent_pid: Some(1),
        }
    }

    fn socket(proto: Protocol, addr: &str, port: u16, owners: Vec<Owner>) -> Socket {
        crate::sockets::fixtures::listener(proto, addr, port, owners)
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            schema_version: SCHEMA_VERSION,
            host: HostInfo {
                taken_at: NOW,
                sees_all_owners: true,
                ..HostInfo::default()
            },
            sockets: vec![
                socket(
                    Protocol::Tcp,
                    "0.0.0.0",
                    22,
                    vec![owner(812, "sshd", "/usr/sbin/sshd")],
                ),
                socket(
                    Protocol::Udp,
                    "127.0.0.53",
                    53,
                    vec![owner(
                        500,
                        "systemd-resolve",
                        "/usr/lib/systemd/systemd-resolved",
                    )],
                ),
                socket(
                    Protocol::Tcp,
                    "0.0.0.0",
                    289,
                    vec![owner(22, "python3", "/tmp/python3")],
                ),
            ],
        }
    }

    fn render(target: Target, json: bool) -> Result<String, Failure> {
        let reg = Registry::embedded();
        let mut out = Vec::new();
        explain(
            &mut out,
            &reg,
            &snapshot(),
            target,
            json,
            Weighing::default(),
        )?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn targets_parse_or_say_why_not() {
        assert_eq!(parse_target("22"), Ok(Target::PortOrPid(22)));
        assert_eq!(
            parse_target("53/udp"),
            Ok(Target::Port(53, Some(Protocol::Udp)))
        );
        assert_eq!(parse_target("port:22"), Ok(Target::Port(22, None)));
        assert_eq!(parse_target("pid:812"), Ok(Target::Pid(812)));
        assert_eq!(parse_target("100000"), Ok(Target::Pid(100_000)));
        assert!(parse_target("port:70000")
            .unwrap_err()
            .contains("0 to 65535"));
        assert!(parse_target("ssh")
            .unwrap_err()
            .contains("give a pid or a port"));
        assert!(parse_target("22/xyz")
            .unwrap_err()
            .starts_with("unknown protocol"));
        assert!(parse_target("\x1b[2J").unwrap_err().contains("\\x1b[2J"));
    }

    #[test]
    fn a_bare_number_is_a_port_first_then_a_pid() {
        let snap = snapshot();
        let by_port = select(&snap, Target::PortOrPid(22));
        assert_eq!(by_port.len(), 1);
        assert_eq!(by_port[0].local_port, 22);
        // 812 is no live port here, so it is taken as sshd's pid.
        let by_pid = select(&snap, Target::PortOrPid(812));
        assert_eq!(by_pid[0].owners[0].pid, 812);
        // Explicit forms do not fall back.
        assert!(select(&snap, Target::Port(812, None)).is_empty());
        assert!(select(&snap, Target::Pid(23)).is_empty());
        assert_eq!(select(&snap, Target::Pid(22))[0].local_port, 289);
        assert!(select(&snap, Target::Port(53, Some(Protocol::Tcp))).is_empty());
    }

    #[test]
    fn explains_process_registry_and_hints() {
        let text = render(Target::PortOrPid(289), false).unwrap();
        assert!(
            text.starts_with("289/tcp\nVerdict\n  no expectations file\n  [alert]"),
            "{text}"
        );
        assert!(text.contains("socket            tcp 0.0.0.0:289"), "{text}");
        assert!(text.contains("name              python3"), "{text}");
        assert!(text.contains("user              root (uid 0)"), "{text}");
        assert!(text.contains("/tmp/python3 -D"));
        assert!(
            text.contains("2027-01-15 06:00:00 UTC (2 h before collection)"),
            "{text}"
        );
        assert!(text.contains("IANA has assigned nothing to this port"));
        for id in [
            "exe-in-temp-dir",
            "unassigned-system-port",
            "interpreter-listener",
            "exposed-all-interfaces",
        ] {
            assert!(text.contains(&format!("({id})")), "{id} missing in\n{text}");
        }
        assert!(text.contains("$ sudo ls -l /proc/22/exe"));
        // The most severe hint comes first, in the verdict and in the hints.
        let alert = text.find("[alert]").unwrap();
        assert!(text.find("[warning]").unwrap() > alert);
        let hints = text.find("\nHints\n").unwrap();
        assert!(text[hints..].find("[warning]").unwrap() > text[hints..].find("[alert]").unwrap());
    }

    fn render_marked(target: Target, file: &str) -> String {
        let reg = Registry::embedded();
        let marker = Marker::new(crate::policy::Expected::parse(file, "exp.toml").unwrap());
        let mut out = Vec::new();
        explain(
            &mut out,
            &reg,
            &snapshot(),
            target,
            false,
            Weighing {
                marker: Some(&marker),
                ..Weighing::default()
            },
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn an_expected_listener_quiets_its_warnings_but_never_an_alert() {
        let text = render_marked(
            Target::PortOrPid(289),
            "[[listener]]\nport = 289\nreason = \"sync\"\nowner = \"ops\"\n",
        );
        let verdict = text.split("\n\n").next().unwrap();
        assert!(verdict.contains("\n  [alert] "), "{verdict}");
        // Wrapped lines joined.
        let verdict = verdict.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            verdict.contains("expected: sync — ops (exp.toml, line 1)"),
            "{verdict}"
        );
        // exe-in-temp-dir stays an alert; the warning below it is listed, quieted.
        assert!(
            verdict.contains("(unassigned-system-port) · quieted"),
            "{verdict}"
        );
        assert!(
            !verdict.contains("(exe-in-temp-dir) · quieted"),
            "{verdict}"
        );
        // The Hints section keeps every hint in full.
        let hints = &text[text.find("\nHints\n").unwrap()..];
        assert!(hints.contains("[warning]"), "{hints}");

        let text = render_marked(Target::PortOrPid(22), "[[listener]]\nport = 9100\n");
        assert!(
            text.contains("unexpected: no rule in exp.toml matches"),
            "{text}"
        );
    }

    #[test]
    fn a_quiet_socket_says_nothing_unusual() {
        let text = render(Target::Port(53, Some(Protocol::Udp)), false).unwrap();
        assert!(
            text.contains("service           domain\n  port              53/udp"),
            "{text}"
        );
        assert!(
            text.contains("Verdict\n  no expectations file\n  nothing unusual found"),
            "{text}"
        );
    }

    #[test]
    fn json_carries_socket_entries_known_uses_and_hints() {
        let text = render(Target::Pid(812), true).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let first = &v["sockets"][0];
        assert_eq!(first["socket"]["local_port"], 22);
        assert_eq!(first["socket"]["owners"][0]["name"], "sshd");
        assert_eq!(first["entries"][0]["service"], "ssh");
        assert!(first["known_uses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["product"] == "OpenSSH sshd"));
        assert_eq!(first["hints"][0]["id"], "exposed-all-interfaces");
        assert_eq!(v["host"]["taken_at"], NOW);
    }

    #[test]
    fn nothing_matching_is_one_line_saying_what_to_try() {
        let Err(Failure::Runtime(e)) = render(Target::PortOrPid(4444), false) else {
            panic!("expected a runtime failure");
        };
        assert_eq!(
            e.to_string(),
            "nothing listens on port 4444, and pid 4444 holds no listening socket; `portscope lookup 4444` says what the port is registered for"
        );
    }
}
