//! Rules on a live socket: who holds it, from where, since when, and bound to what.
//!
//! A process's name (comm) and its argv[0] are whatever the process chose; only its executable
//! (`/proc/PID/exe`, resolved by the kernel) is evidence of what runs. So rules that ask "is this
//! the ssh daemon?" look at the executable, and a name that claims a daemon or a kernel thread
//! the executable does not back is itself a finding. Text here is raw: printers escape it.

use std::collections::HashMap;

use super::next_steps::{self, NextStep};
use super::{Finding, Severity, SocketFacts, Text};
use crate::facts::{Fact, OwnerFacts, Provenance};
use crate::registry::{PortClass, Protocol};
use crate::sockets::{Owner, Socket, UnknownOwner};
use crate::text::has_hidden_chars;

/// A socket started this close to the snapshot counts as recent.
pub const RECENT_SECS: u64 = 600;

/// Executables that hold any port on behalf of another (socket activation, container port
/// forwarding, super-servers): holding a service port is normal for them.
const PROXY_HOLDERS: &[&str] = &[
    "systemd",
    "inetd",
    "xinetd",
    "docker-proxy",
    "rootlessport",
    "pasta",
    "passt",
    "passt.avx2",
    "slirp4netns",
    "conmon",
];

/// A daemon that serves well-known ports, or whose name a process may borrow.
pub(super) struct Daemon {
    /// What it is, for the text: "an ssh daemon".
    pub what: &'static str,
    /// The ports it usually serves (empty: it serves none the rules check) and their protocol
    /// (`None`: both).
    pub ports: &'static [u16],
    pub protocol: Option<Protocol>,
    /// The file names its executable has once the kernel resolved every symlink (Debian's
    /// `redis-server` is a link to `redis-check-rdb`; busybox serves several as applets).
    pub exes: &'static [&'static str],
    /// Process names (comm, cut by the kernel at 15 bytes, or argv[0]) that claim to be this
    /// daemon. Only distinctive names: a process called "master" claims nothing.
    pub claims: &'static [&'static str],
    /// The Debian and RPM packages that ship it: an executable from one of these is this daemon
    /// whatever its file name, and one from no package is not, whatever its name
    /// ([`daemon_is`]).
    pub packages: &'static [&'static str],
}

/// The daemons the rules know, well-known port servers first.
pub(super) const DAEMONS: &[Daemon] = &[
    Daemon {
        what: "an FTP server",
        ports: &[21],
        protocol: Some(Protocol::Tcp),
        exes: &["vsftpd", "proftpd", "pure-ftpd", "in.ftpd", "busybox"],
        claims: &["vsftpd", "proftpd", "pure-ftpd"],
        packages: &["vsftpd", "proftpd-core", "pure-ftpd"],
    },
    Daemon {
        what: "an ssh daemon",
        ports: &[22],
        protocol: Some(Protocol::Tcp),
        exes: &[
            "sshd",
            "sshd-session",
            "sshd-auth",
            "dropbear",
            "dropbearmulti",
        ],
        claims: &["sshd", "sshd-session", "sshd-auth", "dropbear"],
        packages: &["openssh-server", "dropbear-bin", "dropbear"],
    },
    Daemon {
        what: "a telnet daemon",
        ports: &[23],
        protocol: Some(Protocol::Tcp),
        exes: &["telnetd", "in.telnetd", "busybox"],
        claims: &["in.telnetd"],
        packages: &["inetutils-telnetd", "telnetd", "telnet-server"],
    },
    Daemon {
        what: "a mail server",
        ports: &[25, 465, 587],
        protocol: Some(Protocol::Tcp),
        exes: &[
            "master",
            "smtpd",
            "exim",
            "exim4",
            "sendmail",
            "sendmail-mta",
            "opensmtpd",
        ],
        claims: &["exim4", "sendmail", "opensmtpd"],
        packages: &[
            "postfix",
            "exim4-daemon-light",
            "exim4-daemon-heavy",
            "exim",
            "sendmail",
        ],
    },
    Daemon {
        what: "a DNS server",
        ports: &[53],
        protocol: None,
        exes: &[
            "systemd-resolved",
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
        claims: &[
            "systemd-resolve",
            "named",
            "dnsmasq",
            "unbound",
            "pdns_server",
            "pdns_recursor",
            "coredns",
            "knotd",
            "kresd",
        ],
        packages: &[
            "systemd-resolved",
            "systemd",
            "bind9",
            "bind",
            "dnsmasq-base",
            "unbound",
        ],
    },
    Daemon {
        what: "a web server",
        ports: &[80, 443],
        protocol: Some(Protocol::Tcp),
        exes: &[
            "nginx", "apache2", "httpd", "caddy", "lighttpd", "haproxy", "envoy", "traefik",
            "varnishd", "h2o", "busybox",
        ],
        claims: &[
            "nginx", "apache2", "httpd", "lighttpd", "haproxy", "varnishd",
        ],
        packages: &[
            "nginx",
            "nginx-core",
            "apache2-bin",
            "httpd",
            "caddy",
            "lighttpd",
            "haproxy",
        ],
    },
    Daemon {
        what: "a mail store",
        ports: &[110, 143, 993, 995],
        protocol: Some(Protocol::Tcp),
        exes: &["dovecot", "imap-login", "pop3-login"],
        claims: &["dovecot", "imap-login", "pop3-login"],
        packages: &["dovecot-core", "dovecot"],
    },
    Daemon {
        what: "a time server",
        ports: &[123],
        protocol: Some(Protocol::Udp),
        exes: &[
            "chronyd",
            "ntpd",
            "systemd-timesyncd",
            "ntp-daemon",
            "ntpd-rs",
            "busybox",
        ],
        claims: &["chronyd", "ntpd", "systemd-timesyn"],
        packages: &["chrony", "ntp", "ntpsec", "systemd-timesyncd", "ntpd-rs"],
    },
    Daemon {
        what: "an LDAP server",
        ports: &[389, 636],
        protocol: Some(Protocol::Tcp),
        exes: &["slapd", "ns-slapd"],
        claims: &["slapd", "ns-slapd"],
        packages: &["slapd", "openldap-servers", "389-ds-base"],
    },
    Daemon {
        what: "a MySQL server",
        ports: &[3306],
        protocol: Some(Protocol::Tcp),
        exes: &["mysqld", "mariadbd"],
        claims: &["mysqld", "mariadbd"],
        packages: &[
            "mariadb-server-core",
            "mysql-server-core-8.0",
            "mariadb-server",
            "mysql-server",
        ],
    },
    Daemon {
        what: "a PostgreSQL server",
        ports: &[5432],
        protocol: Some(Protocol::Tcp),
        exes: &["postgres", "postmaster"],
        claims: &["postgres", "postmaster"],
        packages: &[
            "postgresql-15",
            "postgresql-16",
            "postgresql-17",
            "postgresql-server",
        ],
    },
    Daemon {
        what: "a Redis server",
        ports: &[6379],
        protocol: Some(Protocol::Tcp),
        exes: &[
            "redis-server",
            "redis-check-rdb",
            "valkey-server",
            "valkey-check-rdb",
        ],
        claims: &["redis-server", "valkey-server"],
        packages: &[
            "redis-server",
            "redis-tools",
            "redis",
            "valkey-server",
            "valkey",
        ],
    },
    Daemon {
        what: "a MongoDB server",
        ports: &[27017],
        protocol: Some(Protocol::Tcp),
        exes: &["mongod", "mongos"],
        claims: &["mongod", "mongos"],
        packages: &["mongodb-org-server", "mongodb-org-mongos"],
    },
    // Names borrowed to look harmless in `ps`, served on no port the rules check.
    Daemon {
        what: "the system's init or a systemd service",
        ports: &[],
        protocol: None,
        exes: &[
            "systemd",
            "systemd-journald",
            "systemd-logind",
            "systemd-udevd",
            "systemd-networkd",
        ],
        claims: &[
            "systemd",
            "systemd-journal",
            "systemd-logind",
            "systemd-udevd",
            "systemd-network",
        ],
        packages: &["systemd", "udev", "systemd-udev"],
    },
    Daemon {
        what: "a system daemon",
        ports: &[],
        protocol: None,
        exes: &[
            "cron",
            "crond",
            "rsyslogd",
            "dbus-daemon",
            "dbus-broker",
            "containerd",
            "dockerd",
            "kubelet",
            "polkitd",
            "udisksd",
            "accounts-daemon",
            "agetty",
            "auditd",
        ],
        claims: &[
            "cron",
            "crond",
            "rsyslogd",
            "dbus-daemon",
            "dbus-broker",
            "containerd",
            "dockerd",
            "kubelet",
            "polkitd",
            "udisksd",
            "accounts-daemon",
            "agetty",
            "auditd",
        ],
        packages: &[
            "cron",
            "cronie",
            "rsyslog",
            "dbus",
            "containerd",
            "docker-ce",
            "kubelet",
        ],
    },
];

/// How kernel threads are named (`ps` shows them in brackets). A kernel thread has no
/// executable and no file descriptors, so no socket owner can be one.
const KERNEL_THREAD_PREFIXES: &[&str] = &[
    "kworker",
    "ksoftirqd",
    "kthreadd",
    "kswapd",
    "kcompactd",
    "khugepaged",
    "kauditd",
    "kdevtmpfs",
    "kblockd",
    "khungtaskd",
    "kintegrityd",
    "ksmd",
    "kthrotld",
    "migration/",
    "rcu_",
    "watchdog/",
    "watchdogd",
    "irq/",
    "jbd2/",
    "cpuhp/",
    "idle_inject/",
    "oom_reaper",
    "writeback",
    "scsi_eh_",
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

/// What the executable says about whether `owner` is one of `exes`: `Some(true)` or
/// `Some(false)` from the executable's file name, `None` when the executable is unknown (not
/// readable: no guess either way). A package fact, once collected, is to be consulted here.
fn exe_is(owner: &Owner, exes: &[&str]) -> Option<bool> {
    exe_name(owner).map(|e| exes.contains(&e))
}

/// `"python3" (pid 77)`.
fn who(owner: &Owner) -> String {
    format!("\"{}\" (pid {})", owner.name, owner.pid)
}

fn as_listener<'a>(f: &SocketFacts<'a, '_>) -> Option<&'a Socket> {
    Some(f.socket).filter(|s| s.state.is_listener())
}

/// Steps that inspect each of `owners`, after finding the listener.
fn inspect<'a>(f: &SocketFacts, owners: impl IntoIterator<Item = &'a Owner>) -> Vec<NextStep> {
    let mut steps = next_steps::find_listener(f.socket.local_port, Some(f.socket.protocol));
    for o in owners.into_iter().take(2) {
        steps.extend(next_steps::inspect_process(o));
    }
    steps
}

/// Whether `owner` is one of the daemons usually on its port, judged by the executable; with
/// the executable unreadable, by the name (a process naming itself something else than the
/// usual daemon is evidence against itself; one naming itself the daemon proves nothing, but
/// neither does an unreadable executable prove a mismatch).
fn serves_as(owner: &Owner, exes: &[&str]) -> bool {
    match exe_is(owner, exes) {
        Some(is) => is,
        None => claims_one_of(owner, exes),
    }
}

/// Whether `owner` runs daemon `d`, by the strongest evidence at hand: the package its
/// executable comes from when established (one of the daemon's packages: yes; no package at
/// all: no, whatever the file is called), else the executable's file name. `None`: neither is
/// known.
fn daemon_is(owner: &Owner, d: &Daemon, facts: Option<&OwnerFacts>) -> Option<bool> {
    let by_name = exe_is(owner, d.exes);
    match facts.map(|f| &f.package) {
        Some(Fact::Known(Provenance::Package(p))) if d.packages.contains(&p.name.as_str()) => {
            Some(true)
        }
        Some(Fact::Known(Provenance::NotPackaged { .. })) if by_name == Some(true) => Some(false),
        _ => by_name,
    }
}

/// 22 held by something that is not an ssh daemon.
pub(super) fn service_mismatch<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let s = as_listener(f)?;
    let usual = DAEMONS
        .iter()
        .find(|d| d.ports.contains(&s.local_port) && d.protocol.is_none_or(|p| p == s.protocol))?;
    let usual_daemon = |o: &Owner| match daemon_is(o, usual, f.owner_facts(o.pid)) {
        Some(is) => is,
        None => claims_one_of(o, usual.exes),
    };
    if s.owners.is_empty()
        || s.owners
            .iter()
            .any(|o| usual_daemon(o) || serves_as(o, PROXY_HOLDERS))
    {
        return None;
    }
    let names = f.port.service_names();
    let service = names
        .first()
        .map_or_else(String::new, |n| format!(" ({n})"));
    let holders: Vec<String> = s
        .owners
        .iter()
        .map(|o| match &o.exe {
            Some(exe) => format!("{}, running {exe}", who(o)),
            None => who(o),
        })
        .collect();
    Some(Finding::new(Severity::Warning, move || Text {
        title: format!(
            "{}/{}{service} is held by \"{}\", not {}",
            s.local_port, s.protocol, s.owners[0].name, usual.what
        ),
        why: format!(
            "Port {} is usually served by {} such as {}. This socket is held by {}. \
             It may be a legitimate alternative, or something posing as the service: check the \
             executable and which package it belongs to.",
            s.local_port,
            usual.what,
            usual.claims.join(", "),
            holders.join("; ")
        ),
        next_steps: inspect(f, &s.owners),
    }))
}

/// A database that ships accepting clients without a password, by default port and executable.
struct OpenByDefault {
    product: &'static str,
    ports: &'static [u16],
    /// Its own executables.
    exes: &'static [&'static str],
    /// Runtimes it runs under (a JVM): the executable then does not say which program it is.
    runtimes: &'static [&'static str],
    /// Why it answers without authentication, in a clause.
    default: &'static str,
}

/// Vendor defaults: each of these accepts clients without credentials out of the box (or did
/// for long enough that such installs are common). CouchDB is left out: since 3.0 it refuses to
/// start without an admin account.
const OPEN_BY_DEFAULT: &[OpenByDefault] = &[
    OpenByDefault {
        product: "Redis",
        ports: &[6379, 26379],
        exes: &[
            "redis-server",
            "redis-check-rdb",
            "redis-sentinel",
            "valkey-server",
            "valkey-check-rdb",
        ],
        runtimes: &[],
        default: "accepts every command without a password unless requirepass or ACL users are set",
    },
    OpenByDefault {
        product: "memcached",
        ports: &[11211],
        exes: &["memcached"],
        runtimes: &[],
        default: "has no authentication unless started with SASL (-S)",
    },
    OpenByDefault {
        product: "MongoDB",
        ports: &[27017, 27018, 27019],
        exes: &["mongod", "mongos"],
        runtimes: &[],
        default: "starts with access control off, so any client can read and drop every database",
    },
    OpenByDefault {
        product: "Elasticsearch",
        ports: &[9200, 9300],
        exes: &["elasticsearch"],
        runtimes: &["java"],
        default: "ran with security off by default before 8.0, serving every index to anyone",
    },
    OpenByDefault {
        product: "etcd",
        ports: &[2379],
        exes: &["etcd"],
        runtimes: &[],
        default: "serves its keys without authentication unless auth is enabled (on a Kubernetes \
                  node it holds the cluster's secrets)",
    },
    OpenByDefault {
        product: "ZooKeeper",
        ports: &[2181],
        exes: &[],
        runtimes: &["java"],
        default: "lets any client read and change znodes unless ACLs or SASL are configured",
    },
    OpenByDefault {
        product: "Cassandra",
        ports: &[9042],
        exes: &[],
        runtimes: &["java"],
        default: "ships with AllowAllAuthenticator: no password at all",
    },
    OpenByDefault {
        product: "ClickHouse",
        ports: &[8123, 9000],
        exes: &["clickhouse", "clickhouse-server"],
        runtimes: &[],
        default: "creates its default user with an empty password",
    },
    OpenByDefault {
        product: "InfluxDB 1.x",
        ports: &[8086],
        exes: &["influxd"],
        runtimes: &[],
        default: "runs with authentication off unless auth-enabled is set",
    },
    OpenByDefault {
        product: "Apache Solr",
        ports: &[8983],
        exes: &[],
        runtimes: &["java"],
        default: "ships without authentication",
    },
];

/// The unauthenticated-by-default database this listener is, as far as the evidence goes:
/// `(db, true)` when an owner runs its executable, `(db, false)` when the port is its default
/// and the owner is unknown or a runtime that could be it. An owner running some other program
/// on that port is that program, not the database.
fn open_database(s: &Socket) -> Option<(&'static OpenByDefault, bool)> {
    if let Some(db) = OPEN_BY_DEFAULT
        .iter()
        .find(|db| s.owners.iter().any(|o| exe_is(o, db.exes) == Some(true)))
    {
        return Some((db, true));
    }
    let db = OPEN_BY_DEFAULT
        .iter()
        .find(|db| db.ports.contains(&s.local_port))?;
    let could_be = s.owners.is_empty()
        || s.owners
            .iter()
            .any(|o| exe_name(o).is_none_or(|e| db.runtimes.contains(&e)));
    could_be.then_some((db, false))
}

/// An admin interface, as far as the port's known uses say: a dev server or debugger (meant for
/// local use), or a port whose every known use is named an admin, administration, management or
/// console interface (a port shared with ordinary services, like 8080, is not one). A port
/// number never proves the program, so the text says "commonly used by".
fn admin_use(f: &SocketFacts) -> Option<String> {
    let known = f.port.known;
    if let Some(dev) = known.iter().find(|k| k.category == "dev-server") {
        return Some(dev.product.to_string());
    }
    let admin = |k: &&&crate::known::KnownUse| {
        k.product.split(|c: char| !c.is_alphanumeric()).any(|w| {
            ["admin", "administration", "management", "console"]
                .iter()
                .any(|a| w.eq_ignore_ascii_case(a))
        })
    };
    if !known.is_empty() && known.iter().all(|k| admin(&k)) {
        return known.first().map(|k| k.product.to_string());
    }
    None
}

/// Reachable from other machines: bound to a wildcard or a non-loopback address. What the
/// interfaces and the firewall say (when the caller gave a [`super::ReachSource`]) decides how
/// loud a database or admin interface is: reachable from a network, a warning; filtered on every
/// way in, noted as such.
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
    let database = open_database(s);
    let admin = admin_use(f);
    // Asked only for what it changes: reading the firewall is not free.
    let reach = if database.is_some() || admin.is_some() {
        f.reach.and_then(|r| r.reach(s))
    } else {
        None
    };
    let (mut severity, mut extra) = match (database, &admin) {
        (Some((db, by_exe)), _) => (
            Severity::Warning,
            if by_exe {
                format!(
                    " It runs {}, which {}: anyone who reaches the port may read and change \
                     its data. Keep it on loopback or a private address behind a firewall, and \
                     turn authentication on.",
                    db.product, db.default
                )
            } else {
                format!(
                    " Port {} is the default of {}, which {}. If that is what listens here, \
                     anyone who reaches it may read and change its data.",
                    s.local_port, db.product, db.default
                )
            },
        ),
        (None, Some(product)) => (
            Severity::Notice,
            format!(
                " This port is commonly used by {product}, an admin or development interface \
                 meant for local use: exposing it can hand control to anyone on the network."
            ),
        ),
        (None, None) => (Severity::Info, String::new()),
    };
    let mut firewall_says = "unless a firewall stops it";
    match &reach {
        Some(super::Reachability::Network { scope, via }) => {
            severity = Severity::Warning;
            firewall_says = "as the firewall lets it";
            extra.push_str(&format!(
                " It is reachable from {}: {via}.",
                match *scope {
                    "lan" => "this host's LAN",
                    "public" => "a public address",
                    "container-bridge" => "a container bridge",
                    other => other,
                }
            ));
        }
        Some(super::Reachability::Filtered { why }) => {
            // Still worth a note: one rule change exposes it.
            severity = if database.is_some() {
                Severity::Notice
            } else {
                Severity::Info
            };
            firewall_says = "but the firewall stops it";
            extra.push_str(&format!(
                " Filtered by the firewall on every way in but loopback: {why}. One rule change \
                 would expose it."
            ));
        }
        None => {}
    }
    let title_tail = match &reach {
        Some(super::Reachability::Network { scope, .. }) => format!(", reachable ({scope})"),
        Some(super::Reachability::Filtered { .. }) => ", filtered by the firewall".to_string(),
        None => String::new(),
    };
    let host = if s.is_wildcard() {
        "this machine on any of its addresses".to_string()
    } else {
        s.local_addr.to_string()
    };
    Some(Finding::new(severity, move || {
        let mut next_steps = next_steps::find_listener(s.local_port, Some(s.protocol));
        next_steps.extend(next_steps::firewall(s.local_port));
        Text {
            title: format!(
                "{}/{} listens on {where_}{title_tail}",
                s.local_port, s.protocol
            ),
            why: format!(
                "Any host that can reach {host} can connect to port {}, {firewall_says}. If only \
                 this machine needs it, bind it to 127.0.0.1 or ::1.{extra}",
                s.local_port
            ),
            next_steps,
        }
    }))
}

/// The Linux default of `net.ipv4.ip_local_port_range`, named when a snapshot does not record
/// the host's own range.
const LINUX_DEFAULT_EPHEMERAL: (u16, u16) = (32768, 60999);

/// A listener inside the range the host hands out for outgoing connections. TCP listeners, and
/// UDP ones only on a port with a known fixed use: an unconnected UDP socket on a port in the
/// range is most often a client's (a resolver's, a QUIC or NTP client's) automatic port.
pub(super) fn ephemeral_range_listener<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let s = as_listener(f)?;
    let fixed = match s.protocol {
        Protocol::Tcp => true,
        Protocol::Udp => !f.port.known.is_empty(),
        _ => false,
    };
    if !fixed {
        return None;
    }
    let port = s.local_port;
    let next_steps = move || {
        let mut steps = next_steps::ephemeral_range();
        steps.extend(next_steps::find_listener(port, Some(s.protocol)));
        steps
    };
    match &f.snapshot.host.ephemeral_ports {
        Some(eph) => {
            if !eph.hands_out(port) {
                return None;
            }
            let range = eph.range;
            Some(Finding::new(Severity::Notice, move || Text {
                title: format!(
                    "{port}/{} lies in this host's ephemeral port range {range}",
                    s.protocol
                ),
                why: format!(
                    "This host gives ports {range} to outgoing connections and to programs that \
                     ask for any port. If this listener asked for any port, its number changes \
                     on each start and nothing collides. If it was configured with {port}, an \
                     outgoing connection can be given that port while the service is stopped, \
                     and the next start fails with \"Address already in use\". Move it below \
                     {}, or reserve it (sysctl net.ipv4.ip_local_reserved_ports={port}).",
                    range.start
                ),
                next_steps: next_steps(),
            }))
        }
        None => {
            let (first, last) = LINUX_DEFAULT_EPHEMERAL;
            if !(first..=last).contains(&port) {
                return None;
            }
            Some(Finding::new(Severity::Info, move || Text {
                title: format!(
                    "{port}/{} may lie in this host's ephemeral port range (unknown)",
                    s.protocol
                ),
                why: format!(
                    "This snapshot does not record which ports the host gives to outgoing \
                     connections (it was taken on another OS or by an older portscope), so \
                     whether this listener can collide with them is unknown. The Linux default \
                     range, {first}-{last}, holds {port}."
                ),
                next_steps: next_steps(),
            }))
        }
    }
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
    let user = o
        .user
        .clone()
        .unwrap_or_else(|| format!("uid {}", o.uid.unwrap_or_default()));
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
    let exe = o.exe.clone().unwrap_or_default();
    Some(Finding::new(Severity::Warning, move || {
        let next_steps = next_steps::examine_executable(o);
        Text {
            title: format!("Executable of {} was deleted", who(o)),
            why: format!(
                "The file {exe} this process runs from was deleted or replaced after it \
                 started. After a package upgrade that only means the service needs a restart; \
                 it is also how malware hides its binary. The running image is still readable \
                 through /proc."
            ),
            next_steps,
        }
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
    Some(Finding::new(Severity::Alert, move || {
        let next_steps = next_steps::examine_executable(o);
        Text {
            title: format!("{} runs from a temporary directory", who(o)),
            why: format!(
                "Its executable is {exe}. Packaged software never runs from /tmp, /var/tmp or \
                 /dev/shm; droppers and miners often do, because any user can write there."
            ),
            next_steps,
        }
    }))
}

/// Executables in a home directory: self-built or user-installed software.
pub(super) fn exe_in_home_dir<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let (o, exe) = owner_exe_under(f, HOME_DIRS)?;
    Some(Finding::new(Severity::Notice, move || Text {
        title: format!("{} runs from a home directory", who(o)),
        why: format!(
            "Its executable is {exe}: built or installed by a user rather than by the package \
             manager, so no package vouches for it."
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

/// A name with control, bidi or invisible characters is itself suspicious. A tab or newline is
/// not (a multi-line `python -c` script holds newlines); printers still show them escaped.
pub(super) fn name_needed_escaping<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let (o, what, raw) = f.socket.owners.iter().find_map(|o| {
        let raw = match f.names_of(o).hidden? {
            Hidden::Name => o.name.as_str(),
            Hidden::Exe => o.exe.as_deref()?,
            Hidden::Arg(i) => o.cmdline.get(i)?.as_str(),
        };
        Some((o, Hidden::what(f.names_of(o).hidden?), raw))
    })?;
    Some(Finding::new(Severity::Warning, move || Text {
        title: format!("Process {what} holds hidden characters (pid {})", o.pid),
        why: format!(
            "Its {what} contains control, bidi or invisible characters (or bytes that are not \
             text), shown escaped: \"{raw}\". Legitimate software has no reason for that; it is \
             how a process makes itself look like another one (with a zero-width space, \
             \"ssh\u{200b}d\" reads as \"sshd\") or attacks a terminal."
        ),
        next_steps: next_steps::inspect_process(o),
    }))
}

/// The names a process gives itself: its comm, and the program part of its argv[0]
/// (`sshd: alice [priv]` → `sshd`, `/usr/sbin/nginx` → `nginx`, `dovecot/imap-login` →
/// `imap-login`), which is what `ps` shows and `exec -a` sets.
fn claimed_names(owner: &Owner) -> impl Iterator<Item = &str> + Clone {
    let argv0 = owner.cmdline.first().map(|a| {
        let program = a.split([':', ' ']).next().unwrap_or(a);
        program.rsplit('/').next().unwrap_or(program)
    });
    // Worked out once per owner, then walked once per daemon: a server holding 10,000 sockets
    // asks this for every one of them against every daemon in the table.
    [Some(owner.name.as_str()), argv0.filter(|a| !a.is_empty())]
        .into_iter()
        .flatten()
}

/// Whether a claimed name is `name`; the kernel cuts comm at 15 bytes.
fn name_matches(claimed: &str, name: &str) -> bool {
    claimed == name || (claimed.len() == 15 && name.starts_with(claimed))
}

fn claims_one_of(owner: &Owner, names: &[&str]) -> bool {
    claimed_names(owner).any(|c| names.iter().any(|n| name_matches(c, n)))
}

/// The daemon `owner` names itself after while its executable is not that daemon's (an
/// unreadable executable decides nothing; the package, when established, decides first).
fn borrowed_daemon<'o>(
    owner: &'o Owner,
    facts: Option<&OwnerFacts>,
) -> Option<(&'static Daemon, &'o str)> {
    let names = claimed_names(owner);
    DAEMONS.iter().find_map(|d| {
        let claimed = names
            .clone()
            .find(|c| d.claims.iter().any(|n| name_matches(c, n)))?;
        (daemon_is(owner, d, facts) == Some(false)).then_some((d, claimed))
    })
}

/// The kernel-thread name `owner` gives itself, in its comm or its whole argv[0]: `kworker/0:1`,
/// or anything in brackets (how `ps` shows kernel threads).
fn kernel_thread_name(owner: &Owner) -> Option<&str> {
    std::iter::once(owner.name.as_str())
        .chain(owner.cmdline.first().map(String::as_str))
        .find(|c| {
            let bare = c.trim_start_matches('[');
            c.starts_with('[') || KERNEL_THREAD_PREFIXES.iter().any(|p| bare.starts_with(p))
        })
}

/// Where a process's own text holds hidden characters (see [`name_needed_escaping`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hidden {
    Name,
    Exe,
    Arg(usize),
}

impl Hidden {
    fn of(o: &Owner) -> Option<Hidden> {
        if has_hidden_chars(&o.name) {
            return Some(Hidden::Name);
        }
        if o.exe.as_deref().is_some_and(has_hidden_chars) {
            return Some(Hidden::Exe);
        }
        o.cmdline
            .iter()
            .position(|a| has_hidden_chars(a))
            .map(Hidden::Arg)
    }

    fn what(self) -> &'static str {
        match self {
            Hidden::Name => "name",
            Hidden::Exe => "executable path",
            Hidden::Arg(_) => "command line",
        }
    }
}

/// What the name rules make of one process, from its names, executable and facts alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Names {
    /// Whether it names itself after a daemon it does not run ([`borrowed_daemon`]).
    borrows_daemon: bool,
    kernel_thread: bool,
    hidden: Option<Hidden>,
}

impl Names {
    fn of(o: &Owner, facts: Option<&OwnerFacts>) -> Names {
        Names {
            borrows_daemon: borrowed_daemon(o, facts).is_some(),
            kernel_thread: kernel_thread_name(o).is_some(),
            hidden: Hidden::of(o),
        }
    }
}

/// [`Names`] of each process, worked out on first sight: a server holding 10,000 sockets would
/// otherwise have its names compared with every daemon's, and its command line scanned, 10,000
/// times. Keyed by pid: one snapshot names each process once.
#[derive(Debug, Default)]
pub(crate) struct NameMemo(std::sync::Mutex<HashMap<u32, Names>>);

impl SocketFacts<'_, '_> {
    fn names_of(&self, o: &Owner) -> Names {
        let Some(memo) = self.names else {
            return Names::of(o, self.owner_facts(o.pid));
        };
        // A poisoned lock only means another thread panicked mid-insert; the map is still whole.
        let known = memo
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&o.pid)
            .copied();
        known.unwrap_or_else(|| {
            let names = Names::of(o, self.owner_facts(o.pid));
            memo.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(o.pid, names);
            names
        })
    }

    /// [`borrowed_daemon`] of `o`, through the memo.
    fn borrowed_daemon<'o>(&self, o: &'o Owner) -> Option<(&'static Daemon, &'o str)> {
        if !self.names_of(o).borrows_daemon {
            return None;
        }
        borrowed_daemon(o, self.owner_facts(o.pid))
    }
}

/// A process named after a known daemon that runs another executable: `exec -a sshd` or
/// prctl(PR_SET_NAME) is how malware passes for one in `ps` and in a port listing.
pub(super) fn name_claims_daemon<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let (o, daemon, claimed) = f
        .socket
        .owners
        .iter()
        .find_map(|o| f.borrowed_daemon(o).map(|(d, c)| (o, d, c)))?;
    let exe = o.exe.as_deref().unwrap_or_default();
    let from = match f.owner_facts(o.pid).map(|f| &f.package) {
        Some(Fact::Known(Provenance::Package(p))) => format!(", from package {}", p.name),
        Some(Fact::Known(Provenance::NotPackaged { .. })) => ", from no package".to_string(),
        _ => String::new(),
    };
    Some(Finding::new(Severity::Warning, move || Text {
        title: format!(
            "pid {} calls itself \"{claimed}\" but runs {exe}{from}",
            o.pid
        ),
        why: format!(
            "\"{claimed}\" is the name of {}, whose executable is {} from the package {}; this \
             process runs {exe}{from} instead. Any program can take any name (exec -a, prctl), \
             so the name proves nothing: judge it by its executable and the package that owns \
             it.",
            daemon.what,
            daemon.exes.join(" or "),
            daemon.packages.join(" or ")
        ),
        next_steps: next_steps::inspect_process(o),
    }))
}

/// A process holding a socket that names itself like a kernel thread: kernel threads hold no
/// file descriptors and have no executable, so this is a user-space program in disguise.
pub(super) fn name_claims_kernel_thread<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let (o, claimed) = f
        .socket
        .owners
        .iter()
        .filter(|o| f.names_of(o).kernel_thread)
        .find_map(|o| kernel_thread_name(o).map(|c| (o, c)))?;
    let runs = match o.exe.as_deref() {
        Some(exe) => format!("it runs {exe}"),
        None => "its executable could not be read".to_string(),
    };
    Some(Finding::new(Severity::Alert, move || {
        let next_steps = next_steps::examine_executable(o);
        Text {
            title: format!(
                "pid {} holds a socket under the kernel-thread name \"{claimed}\"",
                o.pid
            ),
            why: format!(
                "Kernel threads have no executable and hold no sockets of their own, so a process \
                 with a socket is a user-space program; {runs}. Taking a kernel thread's name is a \
                 common way for miners and backdoors to hide in ps and top."
            ),
            next_steps,
        }
    }))
}

/// Runtimes whose processes legitimately carry another name (the script's, or a title the
/// program set), besides the shells and interpreters above.
const RENAMING_RUNTIMES: &[&str] = &[
    "node", "nodejs", "deno", "bun", "java", "dotnet", "beam.smp",
];

/// A process calling itself something other than its executable: renamed with prctl or exec -a.
/// Names that borrow a daemon's or a kernel thread's are the rules above, not this one.
pub(super) fn name_differs_from_exe<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let (o, exe) = f.socket.owners.iter().find_map(|o| {
        let exe = exe_name(o)?;
        let name = o.name.as_str();
        let runtime = SHELLS.contains(&exe)
            || INTERPRETERS.contains(&interpreter_family(exe))
            || RENAMING_RUNTIMES.contains(&exe);
        // The kernel cuts names at 15 bytes, so a prefix either way is a match.
        let same = exe.starts_with(name) || name.starts_with(exe);
        (!name.is_empty()
            && !runtime
            && !same
            && !f.names_of(o).borrows_daemon
            && !f.names_of(o).kernel_thread)
            .then_some((o, exe))
    })?;
    Some(Finding::new(Severity::Notice, move || Text {
        title: format!("{} runs the executable {exe}", who(o)),
        why: format!(
            "The process calls itself \"{}\" but runs {}. Any program can rename itself (prctl, \
             exec -a); it is how malware passes for a known program, though some servers rename \
             their own workers too.",
            o.name,
            o.exe.as_deref().unwrap_or(exe)
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
        // Root that still cannot see the holder needs another reason than "run as root".
        UnknownOwner::Hidden if f.snapshot.host.uid == 0 => {
            "Even as root this run could not read the holding process: /proc is mounted with \
             hidepid, or a sandbox (a container, an LSM policy) hides it."
        }
        UnknownOwner::Hidden => {
            next_steps.insert(0, next_steps::explain_as_root(s.local_port, s.protocol));
            "This run could not read other users' processes, so the holder is hidden. Run \
             portscope as root to see it."
        }
        UnknownOwner::Kernel => {
            next_steps.extend(next_steps::kernel_services());
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
        (Some(user), _) => format!(" The kernel records that user {user} opened it."),
        (None, Some(uid)) => format!(" The kernel records that uid {uid} opened it."),
        (None, None) => String::new(),
    };
    Some(Finding::new(severity, move || Text {
        title: format!(
            "Owner of {}/{} unknown: {}",
            s.local_port,
            s.protocol,
            reason.explain_for(&f.snapshot.host)
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
    Some(Finding::new(severity, move || {
        let mut next_steps = next_steps::show_command(o.pid);
        next_steps.extend(next_steps::inspect_process(o));
        Text {
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
        }
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
    // One holder cannot be unrelated to itself: most listeners stop here, before any allocation.
    // (`same_port` holds this listener too.)
    let holders = s.owners.len()
        + f.same_port
            .iter()
            .filter(|other| !std::ptr::eq(**other, s))
            .map(|o| o.owners.len())
            .sum::<usize>();
    if holders < 2 {
        return None;
    }
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
    Some(Finding::new(Severity::Notice, move || {
        let mut next_steps = next_steps::find_listener(s.local_port, Some(s.protocol));
        for fam in families.iter().take(3) {
            next_steps.push(next_steps::ps(fam[0].pid));
        }
        Text {
            title: format!(
                "{}/{} is held by {} unrelated processes",
                s.local_port,
                s.protocol,
                families.len()
            ),
            why: format!(
                "{} all listen on this port. Two programs on different addresses is a normal \
                 setup; on the same address it means SO_REUSEPORT or a passed socket, and a \
                 second program can then receive connections meant for the first.",
                heads.join(", ")
            ),
            next_steps,
        }
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
    use crate::text::escape;

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
            facts: None,
            reach: None,
            names: None,
        };
        rule(&facts).map(Finding::written)
    }

    /// A reach source that says the same of every socket.
    struct Says(Option<crate::hints::Reachability>);

    impl crate::hints::ReachSource for Says {
        fn reach(&self, _: &Socket) -> Option<crate::hints::Reachability> {
            self.0.clone()
        }
    }

    /// Run `exposed_all_interfaces` with `reach` saying `says`.
    fn exposed_with(socket: Socket, says: Option<crate::hints::Reachability>) -> Option<Written> {
        let reg = Registry::embedded();
        let snap = snapshot(vec![socket]);
        let socket = &snap.sockets[0];
        let entries = reg.by_port(socket.local_port, Some(socket.protocol));
        let known = uses_of(socket.local_port, Some(socket.protocol));
        let says = Says(says);
        let facts = SocketFacts {
            port: port_facts(
                &reg,
                &entries,
                &known,
                socket.local_port,
                Some(socket.protocol),
                Some(socket),
            ),
            snapshot: &snap,
            socket,
            same_port: &listeners_on(&snap, socket.protocol, socket.local_port),
            facts: None,
            reach: Some(&says),
            names: None,
        };
        exposed_all_interfaces(&facts).map(Finding::written)
    }

    #[test]
    fn reach_makes_an_exposed_database_a_warning_or_a_note() {
        use crate::hints::Reachability;
        let redis = || {
            tcp(
                "0.0.0.0",
                6379,
                owner(73, "redis-server", 104, "/usr/bin/redis-server"),
            )
        };
        let open = exposed_with(
            redis(),
            Some(Reachability::Network {
                scope: "public",
                via: "203.0.113.7 on eth0, no-rules: no firewall rules".into(),
            }),
        )
        .unwrap();
        assert_eq!(open.severity, Severity::Warning);
        assert!(
            open.title.ends_with(", reachable (public)"),
            "{}",
            open.title
        );
        assert!(open
            .why
            .contains("reachable from a public address: 203.0.113.7 on eth0"));
        let filtered = exposed_with(
            redis(),
            Some(Reachability::Filtered {
                why: "10.0.0.5 on eth0, dropped: an input rule drops tcp dport 6379 on eth0".into(),
            }),
        )
        .unwrap();
        assert_eq!(filtered.severity, Severity::Notice, "noted, not warned");
        assert!(filtered.title.ends_with("filtered by the firewall"));
        assert!(filtered.why.contains("drops tcp dport 6379"));
        // Nothing said: as without a source, the database is a warning "unless a firewall
        // stops it".
        let unknown = exposed_with(redis(), None).unwrap();
        assert_eq!(unknown.severity, Severity::Warning);
        assert!(unknown.why.contains("unless a firewall stops it"));
        // An ordinary service is not made louder by being reachable: reach is not even asked.
        let ssh = exposed_with(
            tcp("0.0.0.0", 22, sshd()),
            Some(Reachability::Network {
                scope: "lan",
                via: String::new(),
            }),
        )
        .unwrap();
        assert_eq!(ssh.severity, Severity::Info);
        assert!(!ssh.title.contains("reachable"));
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
        assert!(f.lines().iter().any(|s| s.contains("/proc/7/exe")));
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
        assert!(f.lines().iter().any(|s| s.contains("/proc/10/status")));
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
            .lines()
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
    fn name_needed_escaping_keeps_the_raw_name_for_the_printer_to_escape() {
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
        // Raw in the model, escaped once by whoever prints it: never `\\u{200b}`.
        assert!(f.why.contains("ssh\u{200b}d"), "{}", f.why);
        assert!(
            escape(&f.why).contains("\"ssh\\u{200b}d\""),
            "{}",
            escape(&f.why)
        );
        assert!(!escape(&f.why).contains("\\\\u{200b}"));
        let mut o = owner(16, "x", 0, "/usr/bin/x");
        o.cmdline = vec!["x".into(), "\x1b]0;pwned\x07".into()];
        let f = run(name_needed_escaping, tcp("0.0.0.0", 22, o)).unwrap();
        assert!(escape(&f.why).contains("\\x1b]0;pwned\\x07"));
        assert!(!escape(&f.why).contains('\x1b'));
        assert!(run(name_needed_escaping, tcp("0.0.0.0", 22, sshd())).is_none());
        // Bytes that are not UTF-8 are hidden characters too.
        let mut o = owner(16, "x", 0, "/usr/bin/x");
        o.exe = Some(crate::text::from_os_bytes(b"/opt/\xffx"));
        assert!(run(name_needed_escaping, tcp("127.0.0.1", 8000, o)).is_some());
    }

    #[test]
    fn a_multi_line_script_is_not_hiding_anything() {
        let mut o = owner(16, "python3", 1000, "/usr/bin/python3");
        o.cmdline = vec![
            "python3".into(),
            "-c".into(),
            "import http.server\nhttp.server.test()\n\t# tabbed".into(),
        ];
        assert!(run(name_needed_escaping, tcp("127.0.0.1", 8000, o)).is_none());
    }

    #[test]
    fn name_differs_from_exe_fires_for_renamed_processes() {
        let f = run(
            name_differs_from_exe,
            tcp("0.0.0.0", 8080, owner(50, "webd", 0, "/tmp/.x/miner")),
        )
        .unwrap();
        assert_eq!(f.severity, Severity::Notice);
        assert!(
            f.title
                .contains("\"webd\" (pid 50) runs the executable miner"),
            "{}",
            f.title
        );
        // A borrowed daemon or kernel-thread name is the stronger rules' finding, not this one.
        for name in ["sshd", "kworker/0:1", "[kworker/0:1]"] {
            let s = tcp("0.0.0.0", 22, owner(50, name, 0, "/tmp/.x/miner"));
            assert!(run(name_differs_from_exe, s).is_none(), "{name}");
        }
    }

    #[test]
    fn a_daemon_name_on_another_executable_is_flagged_by_comm_or_argv0() {
        // prctl(PR_SET_NAME): comm says sshd.
        let f = run(
            name_claims_daemon,
            tcp("0.0.0.0", 22, owner(60, "sshd", 0, "/tmp/.x/miner")),
        )
        .unwrap();
        assert_eq!(f.severity, Severity::Warning);
        assert!(
            f.title
                .contains("pid 60 calls itself \"sshd\" but runs /tmp/.x/miner"),
            "{}",
            f.title
        );
        assert!(f.why.contains("an ssh daemon"), "{}", f.why);
        // exec -a: comm is the executable's, argv[0] claims the daemon; on any port.
        let mut o = owner(61, "python3", 1000, "/usr/bin/python3.12");
        o.cmdline = vec!["nginx: master process".into(), "-c".into(), "...".into()];
        let f = run(name_claims_daemon, tcp("127.0.0.1", 8080, o)).unwrap();
        assert!(f.title.contains("\"nginx\""), "{}", f.title);
        // comm cut at 15 bytes still claims systemd-resolved.
        assert!(run(
            name_claims_daemon,
            tcp("127.0.0.1", 5353, owner(62, "systemd-resolve", 0, "/opt/x"))
        )
        .is_some());
    }

    #[test]
    fn the_real_daemons_and_unreadable_executables_are_not_flagged() {
        let real = [
            owner(70, "sshd", 0, "/usr/sbin/sshd"),
            owner(71, "sshd-session", 0, "/usr/lib/openssh/sshd-session"),
            owner(
                72,
                "systemd-resolve",
                991,
                "/usr/lib/systemd/systemd-resolved",
            ),
            // Debian's redis-server is a symlink the kernel resolves.
            owner(73, "redis-server", 104, "/usr/bin/redis-check-rdb"),
            owner(74, "postgres", 105, "/usr/lib/postgresql/16/bin/postgres"),
            // Not a daemon name at all.
            owner(75, "master", 0, "/usr/lib/postfix/sbin/master"),
        ];
        for o in real {
            let s = tcp("0.0.0.0", 22, o.clone());
            assert!(run(name_claims_daemon, s.clone()).is_none(), "{o:?}");
            assert!(run(name_claims_kernel_thread, s).is_none(), "{o:?}");
        }
        let mut argv = owner(76, "sshd", 0, "/usr/sbin/sshd");
        argv.cmdline = vec!["sshd: alice [priv]".into()];
        assert!(run(name_claims_daemon, tcp("0.0.0.0", 22, argv)).is_none());
        // No executable to judge by: unknown, not a finding.
        let mut hidden = owner(77, "sshd", 0, "/x");
        hidden.exe = None;
        assert!(run(name_claims_daemon, tcp("0.0.0.0", 22, hidden)).is_none());
    }

    #[test]
    fn a_kernel_thread_name_on_a_socket_is_an_alert() {
        for (name, argv0) in [
            ("kworker/0:1", None),
            ("[kworker/0:1]", None),
            ("hold", Some("[ksoftirqd/0]")),
            ("rcu_sched", None),
        ] {
            let mut o = owner(80, name, 0, "/usr/bin/hold");
            o.cmdline = argv0.map(|a| vec![a.to_string()]).unwrap_or_default();
            let f = run(name_claims_kernel_thread, tcp("127.0.0.1", 4000, o))
                .unwrap_or_else(|| panic!("{name} {argv0:?}"));
            assert_eq!(f.severity, Severity::Alert);
            assert!(f.why.contains("it runs /usr/bin/hold"), "{}", f.why);
        }
        // Even with the executable unreadable, no kernel thread holds a socket.
        let mut o = owner(81, "kworker/u8:2", 0, "/x");
        o.exe = None;
        let f = run(name_claims_kernel_thread, tcp("127.0.0.1", 4000, o)).unwrap();
        assert!(f.why.contains("could not be read"), "{}", f.why);
        for name in ["kwallet", "worker", "rcupdate"] {
            let o = owner(82, name, 1000, &format!("/usr/bin/{name}"));
            assert!(run(name_claims_kernel_thread, tcp("127.0.0.1", 4000, o)).is_none());
        }
    }

    #[test]
    fn service_mismatch_judges_by_the_executable_not_the_name() {
        // Named sshd, running something else: still not an ssh daemon.
        let f = run(
            service_mismatch,
            tcp("0.0.0.0", 22, owner(90, "sshd", 0, "/opt/hold_sockets")),
        )
        .unwrap();
        assert!(f.why.contains("running /opt/hold_sockets"), "{}", f.why);
        assert!(run(
            service_mismatch,
            tcp(
                "0.0.0.0",
                6379,
                owner(91, "redis-server", 104, "/usr/bin/redis-check-rdb")
            )
        )
        .is_none());
        // With the executable unreadable the name is all there is: unknown, not a mismatch.
        let mut hidden = owner(92, "sshd", 0, "/x");
        hidden.exe = None;
        assert!(run(service_mismatch, tcp("0.0.0.0", 22, hidden.clone())).is_none());
        hidden.name = "python3".into();
        assert!(run(service_mismatch, tcp("0.0.0.0", 22, hidden)).is_some());
    }

    #[test]
    fn unauthenticated_databases_on_the_network_are_a_warning() {
        for (port, o) in [
            (
                6379,
                owner(100, "redis-server", 104, "/usr/bin/redis-check-rdb"),
            ),
            (11211, owner(101, "memcached", 105, "/usr/bin/memcached")),
            (27017, owner(102, "mongod", 106, "/usr/bin/mongod")),
            (2379, owner(103, "etcd", 0, "/usr/local/bin/etcd")),
            // A JVM on Elasticsearch's port: the port says what it probably is.
            (
                9200,
                owner(104, "java", 107, "/usr/share/elasticsearch/jdk/bin/java"),
            ),
            // Redis on a port of its own choosing is still Redis.
            (
                7000,
                owner(105, "redis-server", 104, "/usr/bin/redis-server"),
            ),
        ] {
            let f = run(exposed_all_interfaces, tcp("0.0.0.0", port, o.clone()))
                .unwrap_or_else(|| panic!("{port}"));
            assert_eq!(f.severity, Severity::Warning, "{port}: {}", f.why);
            assert!(f.why.contains("read and change"), "{}", f.why);
            // A LAN address is as reachable.
            let lan = run(exposed_all_interfaces, tcp("192.168.1.5", port, o.clone())).unwrap();
            assert_eq!(lan.severity, Severity::Warning);
            // Loopback stays quiet.
            assert!(run(exposed_all_interfaces, tcp("127.0.0.1", port, o.clone())).is_none());
            assert!(run(exposed_all_interfaces, tcp("::1", port, o)).is_none());
        }
        // Another program on a database's default port is that program: ordinary exposure.
        let php = owner(110, "php-fpm8.2", 33, "/usr/sbin/php-fpm8.2");
        let f = run(exposed_all_interfaces, tcp("0.0.0.0", 9000, php)).unwrap();
        assert!(f.severity < Severity::Warning, "{}", f.why);
        assert!(!f.why.contains("ClickHouse"), "{}", f.why);
        // PostgreSQL asks for a password: ordinary exposure.
        let pg = owner(111, "postgres", 105, "/usr/lib/postgresql/16/bin/postgres");
        assert_eq!(
            run(exposed_all_interfaces, tcp("0.0.0.0", 5432, pg))
                .unwrap()
                .severity,
            Severity::Info
        );
    }

    fn with_range(socket: Socket, range: Option<(&str, &str)>) -> Snapshot {
        let mut snap = snapshot(vec![socket]);
        snap.host.ephemeral_ports =
            range.map(|(r, reserved)| crate::sockets::EphemeralPorts::parse(r, reserved).unwrap());
        snap
    }

    #[test]
    fn a_fixed_listener_in_the_hosts_ephemeral_range_is_a_notice() {
        let app = || owner(120, "app", 1000, "/usr/bin/app");
        let snap = with_range(tcp("0.0.0.0", 40000, app()), Some(("32768\t60999\n", "\n")));
        let f = run_at(ephemeral_range_listener, &snap, 0).unwrap();
        assert_eq!(f.severity, Severity::Notice);
        assert!(f.title.contains("32768-60999"), "{}", f.title);
        assert!(f.why.contains("ip_local_reserved_ports=40000"), "{}", f.why);
        assert!(f
            .lines()
            .iter()
            .any(|l| l.contains("net.ipv4.ip_local_port_range")));
        // Loopback listeners collide too (with loopback connections).
        let snap = with_range(tcp("127.0.0.1", 40000, app()), Some(("32768 60999", "")));
        assert!(run_at(ephemeral_range_listener, &snap, 0).is_some());
        // The host's range decides, not the default: a narrowed range leaves 40000 alone.
        let snap = with_range(tcp("0.0.0.0", 40000, app()), Some(("50000 60000", "")));
        assert!(run_at(ephemeral_range_listener, &snap, 0).is_none());
        let snap = with_range(tcp("0.0.0.0", 20000, app()), Some(("10000 30000", "")));
        assert!(run_at(ephemeral_range_listener, &snap, 0).is_some());
        // A reserved port is the fix, so it says nothing.
        let snap = with_range(
            tcp("0.0.0.0", 40000, app()),
            Some(("32768 60999", "8080,39990-40010\n")),
        );
        assert!(run_at(ephemeral_range_listener, &snap, 0).is_none());
        // Below the range: nothing.
        let snap = with_range(tcp("0.0.0.0", 8080, app()), Some(("32768 60999", "")));
        assert!(run_at(ephemeral_range_listener, &snap, 0).is_none());
    }

    #[test]
    fn ephemeral_range_spares_udp_client_ports_and_connections() {
        let client = listener(
            Protocol::Udp,
            "0.0.0.0",
            41234,
            vec![owner(121, "chronyd", 0, "/usr/sbin/chronyd")],
        );
        let snap = with_range(client, Some(("32768 60999", "")));
        assert!(run_at(ephemeral_range_listener, &snap, 0).is_none());
        // A UDP port with a known fixed use (WireGuard's 51820) is a fixed listener.
        let wg = listener(Protocol::Udp, "0.0.0.0", 51820, vec![]);
        let snap = with_range(wg, Some(("32768 60999", "")));
        assert!(run_at(ephemeral_range_listener, &snap, 0).is_some());
        let mut conn = tcp("10.0.0.1", 40000, owner(122, "ssh", 1000, "/usr/bin/ssh"));
        conn.state = SocketState::Established;
        let snap = with_range(conn, Some(("32768 60999", "")));
        assert!(run_at(ephemeral_range_listener, &snap, 0).is_none());
    }

    #[test]
    fn an_unrecorded_ephemeral_range_is_unknown_not_assumed() {
        let snap = with_range(
            tcp("0.0.0.0", 40000, owner(123, "app", 0, "/usr/bin/app")),
            None,
        );
        let f = run_at(ephemeral_range_listener, &snap, 0).unwrap();
        assert_eq!(f.severity, Severity::Info);
        assert!(f.title.contains("(unknown)"), "{}", f.title);
        assert!(f.why.contains("is unknown"), "{}", f.why);
        let snap = with_range(
            tcp("0.0.0.0", 8080, owner(123, "app", 0, "/usr/bin/app")),
            None,
        );
        assert!(run_at(ephemeral_range_listener, &snap, 0).is_none());
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
        // Root already: no "run as root".
        let f = run(owner_unknown, s.clone()).unwrap();
        assert!(f.why.contains("Even as root"), "{}", f.why);
        assert!(!f.lines().iter().any(|l| l.starts_with("sudo portscope")));
        let mut snap = snapshot(vec![s.clone()]);
        snap.host.uid = 1000;
        let f = run_at(owner_unknown, &snap, 0).unwrap();
        assert!(f.why.contains("user postgres opened it"), "{}", f.why);
        assert!(f.lines()[0].starts_with("sudo portscope explain 2049/tcp"));
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
        assert!(py.lines().iter().any(|s| s.contains("/proc/18/cmdline")));
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
