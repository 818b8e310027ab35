//! `portscope explain PID|PORT[/PROTO]`: the full assessment of the matching live listeners:
//! process facts, IANA entries, known uses, hints and the commands to run next.

use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;

use super::lookup::{write_entries, write_field, write_hints, write_known_uses};
use super::{CmdResult, Context, Failure};
use crate::cli::ExplainArgs;
use crate::hints::{self, Assessment};
use crate::registry::{Protocol, Registry};
use crate::sockets::{Family, HostInfo, Owner, Snapshot, Socket};
use crate::text::escape;

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
    let number = |s: &str, what: &str| {
        s.trim().parse::<u32>().map_err(|_| {
            format!(
                "{what} must be a whole number, got \"{}\": give a pid or a port (22, 53/udp, pid:1234)",
                escape(s)
            )
        })
    };
    let port = |n: u32| {
        u16::try_from(n).map_err(|_| format!("port must be a number from 0 to 65535, got {n}"))
    };
    if let Some(pid) = raw.strip_prefix("pid:") {
        return Ok(Target::Pid(number(pid, "a pid")?));
    }
    let (what, explicit_port) = match raw.strip_prefix("port:") {
        Some(rest) => (rest, true),
        None => (raw, false),
    };
    if let Some((p, proto)) = what.split_once('/') {
        let protocol = Protocol::parse(proto.trim()).ok_or_else(|| {
            format!(
                "unknown protocol \"{}\" in \"{}\": use tcp, udp, sctp or dccp",
                escape(proto),
                escape(raw)
            )
        })?;
        return Ok(Target::Port(port(number(p, "the port")?)?, Some(protocol)));
    }
    let n = number(
        what,
        if explicit_port {
            "the port"
        } else {
            "the target"
        },
    )?;
    match (explicit_port, u16::try_from(n)) {
        (true, _) => Ok(Target::Port(port(n)?, None)),
        (false, Ok(p)) => Ok(Target::PortOrPid(p)),
        (false, Err(_)) => Ok(Target::Pid(n)),
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
}

#[derive(Serialize)]
struct ExplainReport<'a, 'r> {
    host: &'a HostInfo,
    sockets: Vec<Explained<'a, 'r>>,
}

pub fn run(ctx: &Context, args: &ExplainArgs) -> CmdResult {
    let target = parse_target(&args.target).map_err(Failure::Usage)?;
    let registry = ctx.registry()?;
    let snapshot = super::collect_live(false)?;
    let mut out = io::stdout().lock();
    explain(&mut out, &registry, &snapshot, target, ctx.json)?;
    Ok(ExitCode::SUCCESS)
}

/// Write the explanation of `target` in `snapshot`; fails with one line when nothing matches.
pub fn explain(
    out: &mut impl Write,
    registry: &Registry,
    snapshot: &Snapshot,
    target: Target,
    json: bool,
) -> Result<(), Failure> {
    let sockets = select(snapshot, target);
    if sockets.is_empty() {
        return Err(Failure::Runtime(anyhow::anyhow!(nothing_matches(
            snapshot, target
        ))));
    }
    let explained: Vec<Explained> = sockets
        .into_iter()
        .map(|socket| Explained {
            socket,
            assessment: hints::assess_socket(registry, snapshot, socket),
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
        write_socket(out, e.socket, snapshot.host.taken_at, width)?;
        writeln!(out, "\nIANA registry")?;
        if e.assessment
            .entries
            .iter()
            .all(|x| x.service.is_empty() && !x.is_reserved())
        {
            writeln!(out, "  No entry: IANA has assigned nothing to this port.")?;
        } else {
            let mut block = Vec::new();
            write_entries(
                &mut block,
                &e.assessment.entries,
                Some(e.socket.local_port),
                width.saturating_sub(2),
            )?;
            for line in String::from_utf8_lossy(&block).lines() {
                writeln!(out, "  {line}")?;
            }
        }
        write_known_uses(out, &e.assessment.known_uses, width)?;
        if e.assessment.hints.is_empty() {
            writeln!(out, "\nHints\n  Nothing unusual found.")?;
        } else {
            write_hints(out, &e.assessment.hints, width)?;
        }
    }
    Ok(())
}

fn nothing_matches(snapshot: &Snapshot, target: Target) -> String {
    let hidden = if snapshot.host.sees_all_owners {
        ""
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

fn write_socket(out: &mut impl Write, s: &Socket, now: u64, width: usize) -> io::Result<()> {
    let family = match s.family {
        Family::V4 => "IPv4",
        Family::V6 => "IPv6",
        Family::Dual => "IPv6 and IPv4 (dual-stack)",
    };
    writeln!(
        out,
        "{} {}  {}  {family}",
        s.protocol,
        s.local_endpoint(),
        s.state.label()
    )?;
    if s.owners.is_empty() {
        let reason = s
            .owner_unknown
            .map_or("owner could not be determined", |u| u.explain());
        write_field(out, "Process", &format!("none found: {reason}"), width)?;
        if let Some(user) = &s.user {
            write_field(out, "Opened by", user, width)?;
        }
    }
    for o in &s.owners {
        write_owner(out, o, now, width)?;
    }
    Ok(())
}

fn write_owner(out: &mut impl Write, o: &Owner, now: u64, width: usize) -> io::Result<()> {
    // write_field escapes each value.
    let user = match (&o.user, o.uid) {
        (Some(u), Some(uid)) => format!(", user {u} (uid {uid})"),
        (None, Some(uid)) => format!(", uid {uid}"),
        (Some(u), None) => format!(", user {u}"),
        (None, None) => String::new(),
    };
    write_field(
        out,
        "Process",
        &format!("{}, pid {}{user}", o.name, o.pid),
        width,
    )?;
    if let Some(exe) = &o.exe {
        let deleted = if o.exe_deleted { " (deleted)" } else { "" };
        write_field(out, "Executable", &format!("{exe}{deleted}"), width)?;
    }
    if !o.cmdline.is_empty() {
        write_field(out, "Command", &o.cmdline.join(" "), width)?;
    }
    if let Some(start) = o.start_time {
        let ago = if start <= now {
            format!(" ({} before this snapshot)", human_duration(now - start))
        } else {
            String::new()
        };
        write_field(
            out,
            "Started",
            &format!("{}{ago}", crate::text::utc(start)),
            width,
        )?;
    }
    if let Some(ppid) = o.parent_pid {
        write_field(out, "Parent pid", &ppid.to_string(), width)?;
    }
    Ok(())
}

fn human_duration(secs: u64) -> String {
    match secs {
        0..=119 => format!("{secs} s"),
        120..=7199 => format!("{} min", secs / 60),
        7200..=172_799 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockets::{HostInfo, SCHEMA_VERSION};

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
        explain(&mut out, &reg, &snapshot(), target, json)?;
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
        assert!(text.starts_with("tcp 0.0.0.0:289  LISTEN  IPv4"), "{text}");
        assert!(text.contains("python3, pid 22, user root (uid 0)"));
        assert!(text.contains("/tmp/python3 -D"));
        assert!(
            text.contains("2027-01-15 06:00:00 UTC (2 h before this snapshot)"),
            "{text}"
        );
        assert!(text.contains("No entry: IANA has assigned nothing to this port."));
        for id in [
            "exe-in-temp-dir",
            "unassigned-system-port",
            "interpreter-listener",
            "exposed-all-interfaces",
        ] {
            assert!(text.contains(&format!("({id})")), "{id} missing in\n{text}");
        }
        assert!(text.contains("$ sudo ls -l /proc/22/exe"));
        // The most severe hint comes first.
        let alert = text.find("[alert]").unwrap();
        assert!(text.find("[warning]").unwrap() > alert);
    }

    #[test]
    fn a_quiet_socket_says_nothing_unusual() {
        let text = render(Target::Port(53, Some(Protocol::Udp)), false).unwrap();
        assert!(text.contains("domain  53/udp"), "{text}");
        assert!(text.contains("Nothing unusual found."), "{text}");
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
