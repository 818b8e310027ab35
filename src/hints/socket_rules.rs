//! Rules on a live socket: who holds it, from where, since when, and bound to what.

use super::{next_steps, Finding, Severity, SocketFacts, Text};
use crate::registry::{PortClass, Protocol};
use crate::sockets::{Owner, Socket, UnknownOwner};
use crate::text::{escape, has_hidden_chars};

/// A socket started this close to the snapshot counts as recent.
pub const RECENT_SECS: u64 = 600;

/// Processes that hold any port on behalf of another (socket activation, container port
/// forwarding, super-servers): holding a service port is normal for them.
const PROXY_HOLDERS: &[&str] = &[
    "systemd",
    "inetd",
    "xinetd",
    "docker-proxy",
    "rootlessport",
    "pasta",
    "slirp4netns",
    "conmon",
];

/// (ports, protocol or `None` for both, what serves them, process names as the kernel shows
/// them: 15 bytes at most).
type UsualDaemons = (
    &'static [u16],
    Option<Protocol>,
    &'static str,
    &'static [&'static str],
);

/// The daemons that usually serve well-known ports.
const USUAL_DAEMONS: &[UsualDaemons] = &[
    (
        &[21],
        Some(Protocol::Tcp),
        "an FTP server",
        &["vsftpd", "proftpd", "pure-ftpd", "in.ftpd"],
    ),
    (
        &[22],
        Some(Protocol::Tcp),
        "an ssh daemon",
        &["sshd", "dropbear", "sshd-session"],
    ),
    (
        &[23],
        Some(Protocol::Tcp),
        "a telnet daemon",
        &["telnetd", "in.telnetd"],
    ),
    (
        &[25, 465, 587],
        Some(Protocol::Tcp),
        "a mail server",
        &[
            "master",
            "smtpd",
            "exim",
            "exim4",
            "sendmail",
            "opensmtpd",
            "postfix",
        ],
    ),
    (
        &[53],
        None,
        "a DNS server",
        &[
            "systemd-resolve",
            "named",
            "dnsmasq",
            "unbound",
            "pdns_server",
            "pdns_recursor",
            "coredns",
            "knotd",
            "kresd",
            "nsd",
        ],
    ),
    (
        &[80, 443],
        Some(Protocol::Tcp),
        "a web server",
        &[
            "nginx", "apache2", "httpd", "caddy", "lighttpd", "haproxy", "envoy", "traefik",
            "varnishd", "h2o",
        ],
    ),
    (
        &[110, 143, 993, 995],
        Some(Protocol::Tcp),
        "a mail store",
        &["dovecot", "imap-login", "pop3-login"],
    ),
    (
        &[123],
        Some(Protocol::Udp),
        "a time server",
        &["chronyd", "ntpd", "systemd-timesyn", "ntpd-rs"],
    ),
    (
        &[389, 636],
        Some(Protocol::Tcp),
        "an LDAP server",
        &["slapd", "ns-slapd"],
    ),
    (
        &[3306],
        Some(Protocol::Tcp),
        "a MySQL server",
        &["mysqld", "mariadbd"],
    ),
    (
        &[5432],
        Some(Protocol::Tcp),
        "a PostgreSQL server",
        &["postgres", "postmaster"],
    ),
    (
        &[6379],
        Some(Protocol::Tcp),
        "a Redis server",
        &["redis-server", "valkey-server"],
    ),
    (
        &[27017],
        Some(Protocol::Tcp),
        "a MongoDB server",
        &["mongod", "mongos"],
    ),
];

/// Shells and raw socket tools: a listener held by one is how a bind shell looks.
const SHELLS: &[&str] = &[
    "sh",
    "bash",
    "dash",
    "zsh",
    "ksh",
    "mksh",
    "csh",
    "tcsh",
    "fish",
    "busybox",
    "nc",
    "ncat",
    "netcat",
    "nc.openbsd",
    "nc.traditional",
    "socat",
    "telnet",
];

/// Script interpreters: normal for development servers, worth a look elsewhere.
const INTERPRETERS: &[&str] = &[
    "python",
    "perl",
    "ruby",
    "php",
    "lua",
    "tclsh",
    "pwsh",
    "powershell",
    "awk",
    "gawk",
];

/// The last path component of the executable, when known.
fn exe_name(owner: &Owner) -> Option<&str> {
    owner.exe.as_deref().and_then(|e| e.rsplit('/').next())
}

/// `python3`, `python3.12`, `perl5.36` → the interpreter they are.
fn interpreter_family(name: &str) -> &str {
    name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.')
}

fn is_named(owner: &Owner, names: &[&str]) -> bool {
    names.contains(&owner.name.as_str()) || exe_name(owner).is_some_and(|e| names.contains(&e))
}

/// `"python3" (pid 77)`.
fn who(owner: &Owner) -> String {
    format!("\"{}\" (pid {})", escape(&owner.name), owner.pid)
}

fn as_listener<'a>(f: &SocketFacts<'a, '_>) -> Option<&'a Socket> {
    Some(f.socket).filter(|s| s.state.is_listener())
}

/// Steps that inspect each of `owners`, after finding the listener.
fn inspect<'a>(f: &SocketFacts, owners: impl IntoIterator<Item = &'a Owner>) -> Vec<String> {
    let mut steps = next_steps::find_listener(f.socket.local_port, Some(f.socket.protocol));
    for o in owners.into_iter().take(2) {
        steps.extend(next_steps::inspect_process(o));
    }
    steps
}

/// 22 held by something that is not an ssh daemon.
pub(super) fn service_mismatch<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let s = as_listener(f)?;
    let (_, _, usual_label, usual) = USUAL_DAEMONS.iter().find(|(ports, proto, _, _)| {
        ports.contains(&s.local_port) && proto.is_none_or(|p| p == s.protocol)
    })?;
    if s.owners.is_empty()
        || s.owners
            .iter()
            .any(|o| is_named(o, usual) || is_named(o, PROXY_HOLDERS))
    {
        return None;
    }
    let names = f.port.service_names();
    let service = names
        .first()
        .map_or_else(String::new, |n| format!(" ({})", escape(n)));
    let holders: Vec<String> = s.owners.iter().map(who).collect();
    Some(Finding::new(Severity::Warning, move || Text {
        title: format!(
            "{}/{}{service} is held by \"{}\", not {usual_label}",
            s.local_port,
            s.protocol,
            escape(&s.owners[0].name)
        ),
        why: format!(
            "Port {} is usually served by {usual_label} such as {}. This socket is held by {}. \
             It may be a legitimate alternative, or something posing as the service: check the \
             executable and which package it belongs to.",
            s.local_port,
            usual.join(", "),
            holders.join(", ")
        ),
        next_steps: inspect(f, &s.owners),
    }))
}

/// Reachable from other machines: bound to a wildcard or a non-loopback address.
pub(super) fn exposed_all_interfaces<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let s = as_listener(f)?;
    if s.is_loopback() {
        return None;
    }
    let where_ = if s.is_wildcard() {
        format!("all interfaces ({})", s.local_addr)
    } else {
        s.local_addr.to_string()
    };
    let local_only_use = f
        .port
        .known
        .iter()
        .find(|k| k.category == "dev-server")
        .map(|k| escape(&k.product).into_owned());
    let (severity, extra) = match local_only_use {
        Some(product) => (
            Severity::Notice,
            format!(
                " This port is commonly used by {product}, which is meant for local use: \
                 exposing it can hand control to anyone on the network."
            ),
        ),
        None => (Severity::Info, String::new()),
    };
    let reach = if s.is_wildcard() {
        "this machine on any of its addresses".to_string()
    } else {
        s.local_addr.to_string()
    };
    let mut next_steps = next_steps::find_listener(s.local_port, Some(s.protocol));
    next_steps.extend(next_steps::firewall(s.local_port));
    Some(Finding::new(severity, move || Text {
        title: format!("{}/{} listens on {where_}", s.local_port, s.protocol),
        why: format!(
            "Any host that can reach {reach} can connect to port {}, unless a firewall stops \
             it. If only this machine needs it, bind it to 127.0.0.1 or ::1.{extra}",
            s.local_port
        ),
        next_steps,
    }))
}

/// A system port held only by non-root processes.
pub(super) fn system_port_non_root<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let s = as_listener(f)?;
    if PortClass::of(s.local_port) != PortClass::System || s.owners.is_empty() {
        return None;
    }
    if !s.owners.iter().all(|o| o.uid.is_some_and(|u| u != 0)) {
        return None;
    }
    let o = &s.owners[0];
    let user = o.user.as_deref().map_or_else(
        || format!("uid {}", o.uid.unwrap_or_default()),
        |u| escape(u).into_owned(),
    );
    Some(Finding::new(Severity::Info, move || Text {
        title: format!(
            "System port {}/{} held by non-root user {user}",
            s.local_port, s.protocol
        ),
        why: format!(
            "Binding below 1024 normally needs root. {} runs as {user}: it holds \
             CAP_NET_BIND_SERVICE, inherited the socket from a root parent (socket activation, a \
             server that dropped privileges), or net.ipv4.ip_unprivileged_port_start was lowered.",
            who(o)
        ),
        next_steps: next_steps::capabilities(o.pid),
    }))
}

/// The executable was deleted or replaced after the process started.
pub(super) fn exe_deleted<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let o = f.socket.owners.iter().find(|o| o.exe_deleted)?;
    let exe = o.exe.as_deref().map(escape).unwrap_or_default();
    let mut next_steps = next_steps::fingerprint_exe(o.pid);
    next_steps.extend(next_steps::inspect_process(o));
    Some(Finding::new(Severity::Warning, move || Text {
        title: format!("Executable of {} was deleted", who(o)),
        why: format!(
            "The file {exe} this process runs from was deleted or replaced after it started. \
             After a package upgrade that only means the service needs a restart; it is also how \
             malware hides its binary. The running image is still readable through /proc."
        ),
        next_steps,
    }))
}

const TEMP_DIRS: &[&str] = &["/tmp/", "/var/tmp/", "/dev/shm/"];
const HOME_DIRS: &[&str] = &["/home/", "/root/", "/Users/"];

fn owner_exe_under<'a>(f: &'a SocketFacts, dirs: &[&str]) -> Option<(&'a Owner, &'a str)> {
    f.socket.owners.iter().find_map(|o| {
        let exe = o.exe.as_deref()?;
        dirs.iter().any(|d| exe.starts_with(d)).then_some((o, exe))
    })
}

/// Executables under world-writable temporary directories.
pub(super) fn exe_in_temp_dir<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let (o, exe) = owner_exe_under(f, TEMP_DIRS)?;
    let mut next_steps = next_steps::fingerprint_exe(o.pid);
    next_steps.extend(next_steps::inspect_process(o));
    Some(Finding::new(Severity::Alert, move || Text {
        title: format!("{} runs from a temporary directory", who(o)),
        why: format!(
            "Its executable is {}. Packaged software never runs from /tmp, /var/tmp or /dev/shm; \
             droppers and miners often do, because any user can write there.",
            escape(exe)
        ),
        next_steps,
    }))
}

/// Executables in a home directory: self-built or user-installed software.
pub(super) fn exe_in_home_dir<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let (o, exe) = owner_exe_under(f, HOME_DIRS)?;
    Some(Finding::new(Severity::Notice, move || Text {
        title: format!("{} runs from a home directory", who(o)),
        why: format!(
            "Its executable is {}: built or installed by a user rather than by the package \
             manager, so no package vouches for it.",
            escape(exe)
        ),
        next_steps: next_steps::inspect_process(o),
    }))
}

/// A process that started shortly before the snapshot; "now" is the snapshot's time.
pub(super) fn started_recently<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let now = f.snapshot.host.taken_at;
    let (o, age) = f
        .socket
        .owners
        .iter()
        .filter_map(|o| {
            let start = o.start_time?;
            (start <= now && now - start < RECENT_SECS).then(|| (o, now - start))
        })
        .min_by_key(|&(_, age)| age)?;
    Some(Finding::new(Severity::Notice, move || Text {
        title: format!("{} started {} ago", who(o), human_age(age)),
        why: format!(
            "The process holding this socket started {} before this snapshot. A listener that \
             appeared just now is worth matching to something you (or a deployment) started.",
            human_age(age)
        ),
        next_steps: next_steps::show_command(o.pid),
    }))
}

fn human_age(secs: u64) -> String {
    if secs < 60 {
        format!("{secs} s")
    } else {
        format!("{} min", secs / 60)
    }
}

/// A name with control, bidi or invisible characters is itself suspicious.
pub(super) fn name_needed_escaping<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let (o, what, raw) = f.socket.owners.iter().find_map(|o| {
        if has_hidden_chars(&o.name) {
            return Some((o, "name", o.name.as_str()));
        }
        if let Some(exe) = o.exe.as_deref().filter(|e| has_hidden_chars(e)) {
            return Some((o, "executable path", exe));
        }
        o.cmdline
            .iter()
            .find(|a| has_hidden_chars(a))
            .map(|a| (o, "command line", a.as_str()))
    })?;
    Some(Finding::new(Severity::Warning, move || Text {
        title: format!("Process {what} holds hidden characters (pid {})", o.pid),
        why: format!(
            "Its {what} contains control, bidi or invisible characters, shown escaped: \"{}\". \
             Legitimate software has no reason for that; it is how a process makes itself look \
             like another one (\"ssh\\u{{200b}}d\" reads as \"sshd\") or attacks a terminal.",
            escape(raw)
        ),
        next_steps: next_steps::inspect_process(o),
    }))
}

/// Runtimes whose processes legitimately carry another name (the script's, or a title the
/// program set), besides the shells and interpreters above.
const RENAMING_RUNTIMES: &[&str] = &[
    "node", "nodejs", "deno", "bun", "java", "dotnet", "beam.smp",
];

/// A process calling itself something other than its executable: renamed with prctl or exec -a.
pub(super) fn name_differs_from_exe<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let (o, exe) = f.socket.owners.iter().find_map(|o| {
        let exe = exe_name(o)?;
        let name = o.name.as_str();
        let runtime = SHELLS.contains(&exe)
            || INTERPRETERS.contains(&interpreter_family(exe))
            || RENAMING_RUNTIMES.contains(&exe);
        // The kernel cuts names at 15 bytes, so a prefix either way is a match.
        let same = exe.starts_with(name) || name.starts_with(exe);
        (!name.is_empty() && !runtime && !same).then_some((o, exe))
    })?;
    Some(Finding::new(Severity::Notice, move || Text {
        title: format!("{} runs the executable {}", who(o), escape(exe)),
        why: format!(
            "The process calls itself \"{}\" but runs {}. Any program can rename itself (prctl, \
             exec -a); it is how malware passes for a kernel thread or a known daemon, though \
             some servers rename their own workers too.",
            escape(&o.name),
            escape(o.exe.as_deref().unwrap_or(exe))
        ),
        next_steps: next_steps::inspect_process(o),
    }))
}

/// No owner: say why, and how to find out.
pub(super) fn owner_unknown<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let s = f.socket;
    if !s.owners.is_empty() {
        return None;
    }
    let reason = s.owner_unknown.unwrap_or(UnknownOwner::Unknown);
    let severity = match reason {
        UnknownOwner::Unknown => Severity::Notice,
        _ => Severity::Info,
    };
    let mut next_steps = next_steps::find_listener(s.local_port, Some(s.protocol));
    let why = match reason {
        UnknownOwner::Hidden => {
            next_steps.insert(
                0,
                format!("sudo portscope explain {}/{}", s.local_port, s.protocol),
            );
            "This run could not read other users' processes, so the holder is hidden. Run \
             portscope as root to see it."
        }
        UnknownOwner::Kernel => {
            if cfg!(target_os = "linux") {
                next_steps.push("rpcinfo -p".to_string());
                next_steps.push("sudo wg show".to_string());
            }
            "No process holds this socket: the kernel does (NFS, RPC services, WireGuard)."
        }
        UnknownOwner::Vanished => {
            "The process holding this socket exited while portscope was collecting. Look again; \
             if it keeps changing, something is restarting."
        }
        UnknownOwner::OtherPidNamespace => {
            "This run sees only a child pid namespace, which shares the network with processes \
             outside it: the holder is most likely one of those. Run portscope in the host's pid \
             namespace to see it."
        }
        UnknownOwner::Unknown => {
            "portscope could not tell which process holds this socket, nor why. It may live in \
             another network namespace (a container) or have hidden itself."
        }
    };
    let opened_by = match (s.user.as_deref(), s.uid) {
        (Some(user), _) => format!(" The kernel records that user {} opened it.", escape(user)),
        (None, Some(uid)) => format!(" The kernel records that uid {uid} opened it."),
        (None, None) => String::new(),
    };
    Some(Finding::new(severity, move || Text {
        title: format!(
            "Owner of {}/{} unknown: {}",
            s.local_port,
            s.protocol,
            reason.explain()
        ),
        why: format!("{why}{opened_by}"),
        next_steps,
    }))
}

/// A shell, nc/socat or a script interpreter holding a listener.
pub(super) fn interpreter_listener<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let s = as_listener(f)?;
    let kind_of = |name: &str| {
        if SHELLS.contains(&name) {
            Some(true)
        } else if INTERPRETERS.contains(&interpreter_family(name)) {
            Some(false)
        } else {
            None
        }
    };
    let (o, shell) = s.owners.iter().find_map(|o| {
        kind_of(&o.name)
            .or_else(|| exe_name(o).and_then(kind_of))
            .map(|shell| (o, shell))
    })?;
    let (severity, why) = if shell {
        (
            Severity::Warning,
            "A shell or a raw socket tool (nc, socat) holding a listener is what a bind shell \
             looks like: whoever connects may get a command prompt.",
        )
    } else {
        (
            Severity::Notice,
            "A script interpreter holds this listener. That is normal for development servers \
             and small tools, but the script, not the interpreter, decides what it does: check \
             which script runs and who started it.",
        )
    };
    let mut next_steps = next_steps::show_command(o.pid);
    next_steps.extend(next_steps::inspect_process(o));
    Some(Finding::new(severity, move || Text {
        title: format!(
            "{} on {}/{} is {}",
            who(o),
            s.local_port,
            s.protocol,
            if shell {
                "a shell or socket tool"
            } else {
                "a script interpreter"
            }
        ),
        why: why.to_string(),
        next_steps,
    }))
}

/// Two owners belong together when one is the other's parent, or they carry the same name and
/// are siblings or run the same executable (a pre-forked server's workers). Two scripts under
/// one interpreter share an executable but not a name: they are unrelated.
fn related(a: &Owner, b: &Owner) -> bool {
    a.pid == b.pid
        || a.parent_pid == Some(b.pid)
        || b.parent_pid == Some(a.pid)
        || (a.name == b.name
            && ((a.parent_pid.is_some() && a.parent_pid == b.parent_pid)
                || (a.exe.is_some() && a.exe == b.exe)))
}

/// The same port held by several unrelated processes (SO_REUSEPORT, a passed fd, or two
/// programs on different addresses).
pub(super) fn shared_port<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let s = as_listener(f)?;
    let owners: Vec<&Owner> = f
        .same_port
        .iter()
        .copied()
        .chain(std::iter::once(s))
        .flat_map(|o| &o.owners)
        .collect();
    // Group owners into families of related processes; more than one family means unrelated.
    let mut families: Vec<Vec<&Owner>> = Vec::new();
    for o in owners {
        let joined: Vec<usize> = (0..families.len())
            .filter(|&i| families[i].iter().any(|m| related(m, o)))
            .collect();
        let mut merged = vec![o];
        for &i in joined.iter().rev() {
            merged.extend(families.remove(i));
        }
        families.push(merged);
    }
    if families.len() < 2 {
        return None;
    }
    let heads: Vec<String> = families.iter().map(|fam| who(fam[0])).collect();
    let mut next_steps = next_steps::find_listener(s.local_port, Some(s.protocol));
    for fam in families.iter().take(3) {
        next_steps.push(format!("ps -o pid,ppid,user,lstart,args -p {}", fam[0].pid));
    }
    Some(Finding::new(Severity::Notice, move || Text {
        title: format!(
            "{}/{} is held by {} unrelated processes",
            s.local_port,
            s.protocol,
            families.len()
        ),
        why: format!(
            "{} all listen on this port. Two programs on different addresses is a normal setup; \
             on the same address it means SO_REUSEPORT or a passed socket, and a second program \
             can then receive connections meant for the first.",
            heads.join(", ")
        ),
        next_steps,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::{listeners_on, port_facts, SocketFacts};
    use super::*;
    use crate::hints::Written;
    use crate::known::uses_of;
    use crate::registry::Registry;
    use crate::sockets::fixtures::*;
    use crate::sockets::{Snapshot, SocketState};

    /// Run `rule` on the socket `index` of `snap`.
    fn run_at(
        rule: for<'x> fn(&'x SocketFacts) -> Option<Finding<'x>>,
        snap: &Snapshot,
        index: usize,
    ) -> Option<Written> {
        let reg = Registry::embedded();
        let socket = &snap.sockets[index];
        let entries = reg.by_port(socket.local_port, Some(socket.protocol));
        let known = uses_of(socket.local_port, Some(socket.protocol));
        let facts = SocketFacts {
            port: port_facts(
                &reg,
                &entries,
                &known,
                socket.local_port,
                Some(socket.protocol),
                Some(socket),
            ),
            snapshot: snap,
            socket,
            same_port: &listeners_on(snap, socket.protocol, socket.local_port),
        };
        rule(&facts).map(Finding::written)
    }

    fn run(
        rule: for<'x> fn(&'x SocketFacts) -> Option<Finding<'x>>,
        socket: Socket,
    ) -> Option<Written> {
        run_at(rule, &snapshot(vec![socket]), 0)
    }

    fn sshd() -> Owner {
        owner(100, "sshd", 0, "/usr/sbin/sshd")
    }

    #[test]
    fn service_mismatch_fires_when_22_is_not_sshd() {
        let f = run(
            service_mismatch,
            tcp("0.0.0.0", 22, owner(7, "python3", 0, "/usr/bin/python3")),
        )
        .unwrap();
        assert_eq!(f.severity, Severity::Warning);
        assert!(
            f.title
                .contains("22/tcp (ssh) is held by \"python3\", not an ssh daemon"),
            "{}",
            f.title
        );
        assert!(f.next_steps.iter().any(|s| s.contains("/proc/7/exe")));
        // 53 over udp counts too.
        let dns = listener(
            Protocol::Udp,
            "0.0.0.0",
            53,
            vec![owner(8, "evil", 0, "/x")],
        );
        assert!(run(service_mismatch, dns).is_some());
    }

    #[test]
    fn service_mismatch_accepts_usual_daemons_and_socket_activation() {
        assert!(run(service_mismatch, tcp("0.0.0.0", 22, sshd())).is_none());
        assert!(run(
            service_mismatch,
            tcp(
                "0.0.0.0",
                22,
                owner(1, "systemd", 0, "/usr/lib/systemd/systemd")
            )
        )
        .is_none());
        // Known by its executable even when the name was shortened.
        assert!(run(
            service_mismatch,
            tcp(
                "0.0.0.0",
                80,
                owner(2, "nginx: master", 0, "/usr/sbin/nginx")
            )
        )
        .is_none());
        // Ports with no usual-daemon list, connections, and unknown owners say nothing.
        assert!(run(
            service_mismatch,
            tcp("0.0.0.0", 8080, owner(3, "python3", 0, "/usr/bin/python3"))
        )
        .is_none());
        let mut conn = tcp("10.0.0.1", 22, owner(4, "ssh", 1000, "/usr/bin/ssh"));
        conn.state = SocketState::Established;
        assert!(run(service_mismatch, conn).is_none());
        assert!(run(
            service_mismatch,
            listener(Protocol::Tcp, "0.0.0.0", 22, vec![])
        )
        .is_none());
    }

    #[test]
    fn exposed_all_interfaces_fires_for_wildcard_and_lan_addresses() {
        let f = run(exposed_all_interfaces, tcp("0.0.0.0", 22, sshd())).unwrap();
        assert_eq!(f.severity, Severity::Info);
        assert!(f.title.contains("all interfaces (0.0.0.0)"));
        assert!(run(exposed_all_interfaces, tcp("::", 22, sshd())).is_some());
        assert!(run(exposed_all_interfaces, tcp("192.168.1.5", 22, sshd())).is_some());
        // A debugger or dev server port exposed is a notice.
        let jupyter = run(
            exposed_all_interfaces,
            tcp(
                "0.0.0.0",
                8888,
                owner(5, "jupyter-lab", 1000, "/usr/bin/python3"),
            ),
        )
        .unwrap();
        assert_eq!(jupyter.severity, Severity::Notice);
        assert!(jupyter.why.contains("Jupyter"));
    }

    #[test]
    fn exposed_all_interfaces_is_silent_for_loopback() {
        assert!(run(exposed_all_interfaces, tcp("127.0.0.1", 8888, sshd())).is_none());
        assert!(run(exposed_all_interfaces, tcp("::1", 8888, sshd())).is_none());
        assert!(run(exposed_all_interfaces, tcp("127.0.0.53", 53, sshd())).is_none());
    }

    #[test]
    fn system_port_non_root_fires_only_when_no_owner_is_root() {
        let f = run(
            system_port_non_root,
            tcp("0.0.0.0", 80, owner(10, "caddy", 33, "/usr/bin/caddy")),
        )
        .unwrap();
        assert!(f.title.contains("u33"), "{}", f.title);
        assert!(f.next_steps.iter().any(|s| s.contains("/proc/10/status")));
        assert!(run(
            system_port_non_root,
            tcp("0.0.0.0", 80, owner(10, "caddy", 0, "/usr/bin/caddy"))
        )
        .is_none());
        // A root master with unprivileged workers is the normal pre-fork pattern.
        let mixed = listener(
            Protocol::Tcp,
            "0.0.0.0",
            80,
            vec![
                owner(10, "nginx", 0, "/usr/sbin/nginx"),
                owner(11, "nginx", 33, "/usr/sbin/nginx"),
            ],
        );
        assert!(run(system_port_non_root, mixed).is_none());
        assert!(run(
            system_port_non_root,
            tcp("0.0.0.0", 8080, owner(10, "caddy", 33, "/usr/bin/caddy"))
        )
        .is_none());
    }

    #[test]
    fn exe_deleted_fires_on_the_flag() {
        let mut o = owner(12, "sshd", 0, "/usr/sbin/sshd");
        assert!(run(exe_deleted, tcp("0.0.0.0", 22, o.clone())).is_none());
        o.exe_deleted = true;
        let f = run(exe_deleted, tcp("0.0.0.0", 22, o)).unwrap();
        assert_eq!(f.severity, Severity::Warning);
        assert!(f
            .next_steps
            .iter()
            .any(|s| s.contains("sha256sum /proc/12/exe")));
    }

    #[test]
    fn exe_in_temp_dir_fires_for_tmp_shm_and_var_tmp() {
        for dir in ["/tmp/.x/kworker", "/dev/shm/a", "/var/tmp/b"] {
            let f = run(
                exe_in_temp_dir,
                tcp("0.0.0.0", 80, owner(13, "kworker", 0, dir)),
            )
            .unwrap();
            assert_eq!(f.severity, Severity::Alert);
        }
        assert!(run(
            exe_in_temp_dir,
            tcp("0.0.0.0", 80, owner(13, "nginx", 0, "/usr/sbin/nginx"))
        )
        .is_none());
        // "/tmpfoo" is not under /tmp.
        assert!(run(
            exe_in_temp_dir,
            tcp("0.0.0.0", 80, owner(13, "x", 0, "/tmpfoo/x"))
        )
        .is_none());
    }

    #[test]
    fn exe_in_home_dir_fires_for_home_and_root() {
        let f = run(
            exe_in_home_dir,
            tcp(
                "127.0.0.1",
                3000,
                owner(14, "app", 1000, "/home/ann/app/target/debug/app"),
            ),
        )
        .unwrap();
        assert_eq!(f.severity, Severity::Notice);
        assert!(run(
            exe_in_home_dir,
            tcp("127.0.0.1", 3000, owner(14, "app", 0, "/root/bin/app"))
        )
        .is_some());
        assert!(run(
            exe_in_home_dir,
            tcp("127.0.0.1", 3000, owner(14, "app", 0, "/usr/local/bin/app"))
        )
        .is_none());
    }

    #[test]
    fn started_recently_uses_the_snapshot_time() {
        let mut o = owner(15, "app", 0, "/usr/bin/app");
        o.start_time = Some(NOW - 90);
        let f = run(started_recently, tcp("0.0.0.0", 80, o.clone())).unwrap();
        assert!(f.title.contains("1 min ago"), "{}", f.title);
        o.start_time = Some(NOW - RECENT_SECS);
        assert!(run(started_recently, tcp("0.0.0.0", 80, o.clone())).is_none());
        // Unknown start time, or a start "after" the snapshot (clock skew), says nothing.
        o.start_time = None;
        assert!(run(started_recently, tcp("0.0.0.0", 80, o.clone())).is_none());
        o.start_time = Some(NOW + 5);
        assert!(run(started_recently, tcp("0.0.0.0", 80, o)).is_none());
    }

    #[test]
    fn name_needed_escaping_shows_the_escaped_name() {
        let f = run(
            name_needed_escaping,
            tcp(
                "0.0.0.0",
                22,
                owner(16, "ssh\u{200b}d", 0, "/usr/sbin/sshd"),
            ),
        )
        .unwrap();
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.why.contains("ssh\\u{200b}d"), "{}", f.why);
        assert!(!f.why.contains('\u{200b}') && !f.title.contains('\u{200b}'));
        let mut o = owner(16, "x", 0, "/usr/bin/x");
        o.cmdline = vec!["x".into(), "\x1b]0;pwned\x07".into()];
        let f = run(name_needed_escaping, tcp("0.0.0.0", 22, o)).unwrap();
        assert!(f.why.contains("\\x1b]0;pwned\\x07"));
        assert!(!f.why.contains('\x1b'));
        assert!(run(name_needed_escaping, tcp("0.0.0.0", 22, sshd())).is_none());
    }

    #[test]
    fn name_differs_from_exe_fires_for_renamed_processes() {
        let f = run(
            name_differs_from_exe,
            tcp("0.0.0.0", 22, owner(50, "sshd", 0, "/tmp/.x/miner")),
        )
        .unwrap();
        assert_eq!(f.severity, Severity::Notice);
        assert!(
            f.title
                .contains("\"sshd\" (pid 50) runs the executable miner"),
            "{}",
            f.title
        );
        assert!(run(
            name_differs_from_exe,
            tcp("0.0.0.0", 80, owner(51, "[kworker/0:1]", 0, "/usr/bin/x"))
        )
        .is_some());
    }

    #[test]
    fn name_differs_from_exe_allows_truncation_and_runtimes() {
        assert!(run(name_differs_from_exe, tcp("0.0.0.0", 22, sshd())).is_none());
        // comm is cut at 15 bytes.
        assert!(run(
            name_differs_from_exe,
            tcp(
                "127.0.0.53",
                53,
                owner(
                    52,
                    "systemd-resolve",
                    991,
                    "/usr/lib/systemd/systemd-resolved"
                )
            )
        )
        .is_none());
        // A script run by an interpreter or runtime carries the script's name.
        assert!(run(
            name_differs_from_exe,
            tcp(
                "127.0.0.1",
                8888,
                owner(53, "jupyter-lab", 1000, "/usr/bin/python3.12")
            )
        )
        .is_none());
        assert!(run(
            name_differs_from_exe,
            tcp(
                "127.0.0.1",
                3000,
                owner(54, "next-server", 1000, "/usr/bin/node")
            )
        )
        .is_none());
        let mut no_exe = owner(55, "x", 0, "/x");
        no_exe.exe = None;
        assert!(run(name_differs_from_exe, tcp("127.0.0.1", 3000, no_exe)).is_none());
    }

    #[test]
    fn owner_unknown_says_why() {
        let mut s = listener(Protocol::Tcp, "0.0.0.0", 2049, vec![]);
        s.owner_unknown = Some(UnknownOwner::Kernel);
        let f = run(owner_unknown, s.clone()).unwrap();
        assert_eq!(f.severity, Severity::Info);
        assert!(f.title.contains("held by the kernel"));
        s.owner_unknown = Some(UnknownOwner::Hidden);
        s.user = Some("postgres".into());
        let f = run(owner_unknown, s.clone()).unwrap();
        assert!(f.why.contains("user postgres opened it"), "{}", f.why);
        assert!(f.next_steps[0].starts_with("sudo portscope explain 2049/tcp"));
        s.owner_unknown = None;
        assert_eq!(run(owner_unknown, s).unwrap().severity, Severity::Notice);
        assert!(run(owner_unknown, tcp("0.0.0.0", 22, sshd())).is_none());
    }

    #[test]
    fn interpreter_listener_tells_shells_from_interpreters() {
        let nc = run(
            interpreter_listener,
            tcp(
                "0.0.0.0",
                9999,
                owner(17, "nc", 1000, "/usr/bin/nc.openbsd"),
            ),
        )
        .unwrap();
        assert_eq!(nc.severity, Severity::Warning);
        let bash = run(
            interpreter_listener,
            tcp("0.0.0.0", 9999, owner(17, "bash", 1000, "/usr/bin/bash")),
        )
        .unwrap();
        assert_eq!(bash.severity, Severity::Warning);
        let py = run(
            interpreter_listener,
            tcp(
                "127.0.0.1",
                8000,
                owner(18, "python3.12", 1000, "/usr/bin/python3.12"),
            ),
        )
        .unwrap();
        assert_eq!(py.severity, Severity::Notice);
        assert!(py.next_steps.iter().any(|s| s.contains("/proc/18/cmdline")));
        // Renamed via prctl, but the executable gives it away.
        assert!(run(
            interpreter_listener,
            tcp("0.0.0.0", 80, owner(19, "nginx", 0, "/usr/bin/perl"))
        )
        .is_some());
        assert!(run(interpreter_listener, tcp("0.0.0.0", 22, sshd())).is_none());
        // "pythonista" is not python; connections are not listeners.
        assert!(run(
            interpreter_listener,
            tcp("0.0.0.0", 80, owner(20, "pythonista", 0, "/opt/pythonista"))
        )
        .is_none());
        let mut conn = tcp(
            "10.0.0.1",
            5000,
            owner(21, "python3", 0, "/usr/bin/python3"),
        );
        conn.state = SocketState::Established;
        assert!(run(interpreter_listener, conn).is_none());
    }

    #[test]
    fn shared_port_fires_for_unrelated_holders_only() {
        let resolved = listener(
            Protocol::Udp,
            "127.0.0.53",
            53,
            vec![owner(
                30,
                "systemd-resolve",
                991,
                "/usr/lib/systemd/systemd-resolved",
            )],
        );
        let dnsmasq = listener(
            Protocol::Udp,
            "192.168.122.1",
            53,
            vec![owner(31, "dnsmasq", 0, "/usr/sbin/dnsmasq")],
        );
        let snap = snapshot(vec![resolved.clone(), dnsmasq]);
        let f = run_at(shared_port, &snap, 0).unwrap();
        assert!(f.title.contains("2 unrelated processes"), "{}", f.title);
        assert!(f.why.contains("\"dnsmasq\" (pid 31)"));
        // One process on v4 and v6, and a pre-forked master with workers, are one family.
        let v4 = tcp("0.0.0.0", 22, sshd());
        let v6 = tcp("::", 22, sshd());
        assert!(run_at(shared_port, &snapshot(vec![v4, v6]), 0).is_none());
        let mut worker = owner(41, "nginx", 33, "/usr/sbin/nginx");
        worker.parent_pid = Some(40);
        let forked = listener(
            Protocol::Tcp,
            "0.0.0.0",
            80,
            vec![owner(40, "nginx", 0, "/usr/sbin/nginx"), worker],
        );
        assert!(run(shared_port, forked).is_none());
        // Two scripts under one interpreter are unrelated programs.
        let web = tcp(
            "127.0.0.1",
            8000,
            owner(60, "web.py", 1000, "/usr/bin/python3"),
        );
        let spy = tcp(
            "127.0.0.2",
            8000,
            owner(61, "spy.py", 1001, "/usr/bin/python3"),
        );
        assert!(run_at(shared_port, &snapshot(vec![web, spy]), 0).is_some());
        // The same port over another protocol is not shared.
        let tcp53 = tcp("0.0.0.0", 53, owner(32, "named", 0, "/usr/sbin/named"));
        assert!(run_at(shared_port, &snapshot(vec![resolved, tcp53]), 0).is_none());
    }
}
