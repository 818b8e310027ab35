//! Writing an expected-listeners file from what listens now: one rule per listener, where one
//! listener is what a person would call one — a pre-fork server's shared socket, the IPv4 and IPv6
//! halves of a dual-stack pair (0.0.0.0 and ::, 127.0.0.1 and ::1) and `SO_REUSEPORT` siblings of
//! one program are one rule. Owns the text of the file; writing it to disk is the command's job.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::BindSpec;
use crate::registry::{Protocol, Registry};
use crate::sockets::{Snapshot, Socket};

/// What makes two sockets one rule: same protocol, port, bind scope and program.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct GroupKey {
    port: u16,
    protocol: Protocol,
    bind: String,
    exe: Option<String>,
    process: Option<String>,
}

struct Group<'a> {
    bind: BindSpec,
    sockets: Vec<&'a Socket>,
}

/// A TOML string literal for `s` (quoted and escaped by the toml crate, so a hostile process
/// name cannot end the string or the line).
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A comment's text on one line: control characters and line breaks shown escaped.
fn comment(s: &str) -> String {
    crate::text::escape(s).replace(['\n', '\r'], " ")
}

/// The file for the listeners of `snapshot`. `required` marks every rule required.
pub fn write(registry: &Registry, snapshot: &Snapshot, required: bool) -> String {
    write_with_facts(registry, snapshot, required, None)
}

/// [`write`], with the package, service unit and container of each listener's owner where
/// `facts` established them (a session's `.scope` unit changes at every login: not written).
pub fn write_with_facts(
    registry: &Registry,
    snapshot: &Snapshot,
    required: bool,
    facts: Option<&crate::facts::FactsTable>,
) -> String {
    let mut groups: BTreeMap<GroupKey, Group> = BTreeMap::new();
    for socket in snapshot.sockets.iter().filter(|s| s.state.is_listener()) {
        let bind = BindSpec::of(socket.local_addr);
        let first = socket.owners.first();
        let key = GroupKey {
            port: socket.local_port,
            protocol: socket.protocol,
            bind: bind.to_string(),
            exe: first.and_then(|o| o.exe.clone()),
            process: first.map(|o| o.name.clone()),
        };
        groups
            .entry(key)
            .or_insert_with(|| Group {
                bind,
                sockets: Vec::new(),
            })
            .sockets
            .push(socket);
    }

    let mut out = String::new();
    let host = &snapshot.host;
    let _ = writeln!(
        out,
        "# Expected listeners for {}, written by `portscope baseline` at {}.",
        comment(&host.hostname),
        crate::text::utc(host.taken_at)
    );
    out.push_str(
        "#\n\
         # One [[listener]] per listener that was open. A rule matches a listener when every field it\n\
         # names matches: port (22 or \"9100-9110\"), protocol (tcp, udp), bind (loopback, any, or an\n\
         # address), process (the name a process gives itself), exe (its executable: stronger\n\
         # evidence), package, unit, container, netns. reason and owner are for the people reading\n\
         # `portscope check`; required = true makes the check fail while no listener matches.\n\
         # Edit freely: delete what should not be listening, loosen ports that change on restart.\n",
    );
    if !host.sees_all_owners {
        out.push_str(
            "#\n# This run could not see every owning process (not root, or a sandbox): rules for\n\
             # sockets whose owner was hidden name no process. `sudo portscope baseline` names them.\n",
        );
    }

    for (key, group) in &groups {
        out.push('\n');
        let mut addrs: Vec<String> = group
            .sockets
            .iter()
            .map(|s| format!("{}/{}", s.local_endpoint(), s.proto_label()))
            .collect();
        addrs.sort();
        addrs.dedup();
        let mut pids: Vec<u32> = group
            .sockets
            .iter()
            .flat_map(|s| s.owners.iter().map(|o| o.pid))
            .collect();
        pids.sort_unstable();
        pids.dedup();
        let pid_note = match pids.as_slice() {
            [] => String::new(),
            [one] => format!(", pid {one}"),
            many => format!(", {} pids", many.len()),
        };
        let _ = writeln!(out, "# seen on {}{pid_note}", addrs.join(" "));
        if let Some(why) = group.sockets[0].owner_unknown {
            let _ = writeln!(out, "# {}", why.explain());
        }
        out.push_str("[[listener]]\n");
        let _ = writeln!(out, "port = {}", key.port);
        let _ = writeln!(out, "protocol = {}", quoted(key.protocol.as_str()));
        let _ = writeln!(out, "bind = {}", quoted(&group.bind.to_string()));
        if let Some(process) = &key.process {
            let _ = writeln!(out, "process = {}", quoted(process));
        }
        if let Some(exe) = &key.exe {
            let _ = writeln!(out, "exe = {}", quoted(exe));
        }
        if let Some(table) = facts {
            let first = group.sockets[0];
            let l = super::ListenerFacts::of_socket(first).with_facts(first, table);
            let service_unit = l.unit.filter(|u| u.ends_with(".service"));
            for (name, value) in [
                ("package", l.package),
                ("unit", service_unit),
                ("container", l.container),
            ] {
                if let Some(v) = value {
                    let _ = writeln!(out, "{name} = {}", quoted(v));
                }
            }
        }
        let service = registry.service_name(key.port, key.protocol);
        let reason = match (service, &key.process) {
            (Some(s), Some(p)) => format!("{s} ({p})"),
            (Some(s), None) => s.to_string(),
            (None, Some(p)) => p.clone(),
            (None, None) => String::new(),
        };
        let _ = writeln!(out, "reason = {}", quoted(&reason));
        out.push_str("owner = \"\"\n");
        let _ = writeln!(out, "required = {required}");
    }
    if groups.is_empty() {
        out.push_str("\n# Nothing was listening when this was written.\n");
    }
    out
}
