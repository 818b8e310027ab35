//! Investigation hints: what is unusual about a port or a live socket, and what to run next.
//! Nothing here knows about terminals, and nothing reads the clock or the system: every rule is
//! a small pure function of the registry, the known-uses table and a [`Snapshot`].
//!
//! Every rule is registered once, in [`RULES`], under a stable id that the README documents.
//! A hint never claims identity: a port is "commonly used by" a product; only the owning process
//! says what a socket is.
//!
//! Hint text is raw: titles and reasons quote process names, paths and registry text as they
//! are, and every printer escapes them once, at output, with [`crate::text::escape`]. Next steps
//! are structured commands ([`NextStep`]); their one rendering, [`NextStep::render`], is a
//! printable, shell-safe line that printers show as it is, never escaped again.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Serialize;

use crate::facts::{FactsTable, OwnerFacts};
use crate::known::KnownUse;
use crate::registry::{Entry, PortRange, Protocol, Registry};
use crate::sockets::matching::Previous;
use crate::sockets::{HostInfo, Snapshot, Socket};

mod fact_rules;
pub mod next_steps;
mod port_rules;

pub use next_steps::NextStep;
mod socket_rules;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Notice,
    Warning,
    Alert,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Alert => "alert",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding about a port or socket, with the commands to run next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hint {
    /// Stable identifier, e.g. `unassigned-system-port`; documented in the README.
    pub id: &'static str,
    pub severity: Severity,
    /// Raw text: escape it when printing.
    pub title: String,
    /// Plain-language reason; raw text: escape it when printing.
    pub why: String,
    /// Concrete commands for this OS; print each as [`NextStep::render`] gives it.
    pub next_steps: Vec<NextStep>,
}

/// Everything known about one port or socket: its registry entries, known unofficial uses, hints.
#[derive(Debug, Clone, Serialize)]
pub struct Assessment<'r> {
    pub entries: Vec<Entry<'r>>,
    pub known_uses: Vec<&'static KnownUse>,
    pub hints: Vec<Hint>,
}

impl Assessment<'_> {
    /// The highest severity among the hints, for a one-glyph badge.
    pub fn badge(&self) -> Option<Severity> {
        self.hints.iter().map(|h| h.severity).max()
    }
}

/// What a rule found. The severity is known at once; the text is written only when someone reads
/// it (`explain`, the detail pane), because a listing of 10,000 sockets needs badges, not 40,000
/// paragraphs. The rule registry attaches the rule's id, so ids live in one place.
pub(crate) struct Finding<'a> {
    pub severity: Severity,
    write: Box<dyn FnOnce() -> Text + 'a>,
}

/// A finding's words.
pub(crate) struct Text {
    pub title: String,
    pub why: String,
    pub next_steps: Vec<NextStep>,
}

/// A finding with its text written out (what the rules' tests look at).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg(test)]
pub(crate) struct Written {
    pub severity: Severity,
    pub title: String,
    pub why: String,
    pub next_steps: Vec<NextStep>,
}

#[cfg(test)]
impl Written {
    /// The next steps as the lines a user sees.
    pub fn lines(&self) -> Vec<String> {
        self.next_steps.iter().map(NextStep::render).collect()
    }
}

impl<'a> Finding<'a> {
    pub fn new(severity: Severity, write: impl FnOnce() -> Text + 'a) -> Finding<'a> {
        Finding {
            severity,
            write: Box::new(write),
        }
    }

    #[cfg(test)]
    pub fn written(self) -> Written {
        let Text {
            title,
            why,
            next_steps,
        } = (self.write)();
        Written {
            severity: self.severity,
            title,
            why,
            next_steps,
        }
    }
}

/// From where a listener can be reached, as a layer above this one (`exposure`: interfaces and
/// the firewall) found it. The rules weighing exposure ask for it; hints read no interfaces or
/// firewall themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reachability {
    /// Every way in but loopback is dropped or rejected; `why` quotes what decides it.
    Filtered { why: String },
    /// Reachable from beyond this host: `scope` is `lan`, `public` or `container-bridge`; `via`
    /// names the way in and what the firewall says of it.
    Network { scope: &'static str, via: String },
}

/// Answers "from where can this listener be reached?" for the rules; `None` when it cannot be
/// said (loopback only, an address on no interface, no source given).
pub trait ReachSource: Sync {
    fn reach(&self, socket: &Socket) -> Option<Reachability>;
}

/// What the port rules see: the port, its registry entries and known uses, and the live socket
/// when one is being assessed (`None` for `lookup`).
pub(crate) struct PortFacts<'a, 'r> {
    pub port: u16,
    pub protocol: Option<Protocol>,
    pub entries: &'a [Entry<'r>],
    pub known: &'a [&'static KnownUse],
    /// The run of unassigned ports around the port, when IANA names and reserves nothing there.
    pub unassigned_run: Option<PortRange>,
    pub live: Option<&'a Socket>,
}

impl PortFacts<'_, '_> {
    /// The live socket, when it is a listener (TCP LISTEN or unconnected UDP).
    pub fn live_listener(&self) -> Option<&Socket> {
        self.live.filter(|s| s.state.is_listener())
    }

    /// `3489/tcp`, or `3489` when no protocol was given.
    pub fn label(&self) -> String {
        match self.protocol {
            Some(p) => format!("{}/{p}", self.port),
            None => self.port.to_string(),
        }
    }

    /// The IANA service names on this port, deduplicated, in IANA order.
    pub fn service_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for e in self.entries {
            if !e.service.is_empty() && !names.contains(&e.service) {
                names.push(e.service);
            }
        }
        names
    }

    /// Commands that find the holder of this port and, for a live socket, inspect its owners.
    pub fn investigate(&self) -> Vec<NextStep> {
        let mut steps = next_steps::find_listener(self.port, self.protocol);
        if let Some(socket) = self.live {
            for owner in socket.owners.iter().take(2) {
                steps.extend(next_steps::inspect_process(owner));
            }
        }
        steps
    }
}

/// What the socket rules see: the port facts plus the socket and the snapshot it came from
/// (other sockets, the host, and "now": `snapshot.host.taken_at`).
pub(crate) struct SocketFacts<'a, 'r> {
    pub port: PortFacts<'a, 'r>,
    pub snapshot: &'a Snapshot,
    pub socket: &'a Socket,
    /// The snapshot's listeners on the same protocol and port (this one included when it is
    /// one): looked up once per snapshot by [`Assessor`], so a listing stays linear.
    pub same_port: &'a [&'a Socket],
    /// The owners' facts (package, integrity, unit, container), when the front end established
    /// them ([`Assessor::with_facts`]); rules on facts stay silent without them.
    pub facts: Option<&'a FactsTable>,
    /// Where reach can be asked (only by the rules that weigh it: it may read the firewall).
    pub reach: Option<&'a dyn ReachSource>,
    /// The name rules' judgement of each owner, kept by [`Assessor`] across its sockets.
    pub names: Option<&'a socket_rules::NameMemo>,
}

impl SocketFacts<'_, '_> {
    /// The established facts of the process `pid`, when there are any.
    pub fn owner_facts(&self, pid: u32) -> Option<&OwnerFacts> {
        self.facts.and_then(|t| t.owner(pid))
    }
}

/// The listeners of `snapshot` on `protocol`/`port` (what [`Assessor`] indexes; the rules' tests
/// build their facts with it).
#[cfg(test)]
pub(crate) fn listeners_on(snapshot: &Snapshot, protocol: Protocol, port: u16) -> Vec<&Socket> {
    snapshot
        .sockets
        .iter()
        .filter(|s| s.state.is_listener() && s.protocol == protocol && s.local_port == port)
        .collect()
}

#[derive(Clone, Copy)]
pub(crate) enum Check {
    /// Needs only the port: runs for `lookup` and for live sockets.
    Port(for<'x, 'a, 'r> fn(&'x PortFacts<'a, 'r>) -> Option<Finding<'x>>),
    /// Needs a live socket.
    Socket(for<'x, 'a, 'r> fn(&'x SocketFacts<'a, 'r>) -> Option<Finding<'x>>),
}

/// One rule: its stable id, what triggers it (the README's table), and its check.
pub struct Rule {
    pub id: &'static str,
    pub trigger: &'static str,
    pub(crate) check: Check,
}

/// Every rule, in one place. Add a rule here, with a firing and a not-firing unit test, and a row
/// in the README's hint table.
pub static RULES: &[Rule] = &[
    Rule {
        id: "unassigned-system-port",
        trigger: "Port 0-1023 with no IANA assignment (RFC 6335): info in lookup, warning for a live listener",
        check: Check::Port(port_rules::unassigned_system_port),
    },
    Rule {
        id: "unassigned-registered-port",
        trigger: "A live listener on a port 1024-49151 that IANA has not assigned and no known use covers",
        check: Check::Port(port_rules::unassigned_registered_port),
    },
    Rule {
        id: "known-unofficial-use",
        trigger: "The known-uses table lists uses of the port other than its IANA registration (3489: Symantec Endpoint Protection Manager, reported)",
        check: Check::Port(port_rules::known_unofficial_use),
    },
    Rule {
        id: "iana-unauthorized-use",
        trigger: "IANA's \"Unauthorized Use Reported\" column is filled for the port",
        check: Check::Port(port_rules::iana_unauthorized_use),
    },
    Rule {
        id: "dynamic-port-listener",
        trigger: "Port 49152-65535 (never assigned) used as a fixed listener: info in lookup and for UDP, notice for a TCP listener",
        check: Check::Port(port_rules::dynamic_port_listener),
    },
    Rule {
        id: "known-malware-port",
        trigger: "The port is a known default of malware, a backdoor or an attack tool over that protocol (4444/tcp, 31337/udp, 50050/tcp): notice in lookup, warning for a live listener",
        check: Check::Port(port_rules::known_malware_port),
    },
    Rule {
        id: "service-mismatch",
        trigger: "A well-known service port (22, 25, 53, 80, 443, 3306, 5432, ...) held by a process whose executable is not one of its usual daemons, by its package when established, else its file name (the name it gives itself does not count)",
        check: Check::Socket(socket_rules::service_mismatch),
    },
    Rule {
        id: "exposed-all-interfaces",
        trigger: "A listener bound to 0.0.0.0, :: or another non-loopback address: warning for a database that ships without authentication (Redis, memcached, MongoDB, Elasticsearch, etcd, ZooKeeper, Cassandra, ClickHouse, InfluxDB 1.x, Solr), notice when the port is an admin interface (dev servers, debuggers, admin consoles), else info; with this host's reach, a database or admin interface reachable from a network is a warning and one the firewall filters is noted as such; never for loopback-only listeners",
        check: Check::Socket(socket_rules::exposed_all_interfaces),
    },
    Rule {
        id: "ephemeral-range-listener",
        trigger: "A TCP listener (or a UDP one on a port with a known fixed use) inside this host's ephemeral port range, not reserved from it: notice; info naming the Linux default 32768-60999 when the snapshot does not record the range",
        check: Check::Socket(socket_rules::ephemeral_range_listener),
    },
    Rule {
        id: "system-port-non-root",
        trigger: "A listener on port 0-1023 whose owners all run as a non-root user (capabilities, socket activation, lowered sysctl)",
        check: Check::Socket(socket_rules::system_port_non_root),
    },
    Rule {
        id: "exe-deleted",
        trigger: "An owner's executable was deleted or replaced after it started",
        check: Check::Socket(socket_rules::exe_deleted),
    },
    Rule {
        id: "exe-modified",
        trigger: "An owner's running executable no longer matches the digest its package recorded (dpkg md5sums, rpm, apk): alert. Checked only where the executable is hashed: explain, the explorer's detail, --verify",
        check: Check::Socket(fact_rules::exe_modified),
    },
    Rule {
        id: "exe-not-packaged",
        trigger: "An owner's executable lies in a system path (/usr, /bin, /sbin, /lib) but no package database lists it",
        check: Check::Socket(fact_rules::exe_not_packaged),
    },
    Rule {
        id: "container-published-port",
        trigger: "A listener held by docker-proxy: info naming the container it forwards to (the one namespace, named after its container, with a listener on the forwarded address and port)",
        check: Check::Socket(fact_rules::container_published_port),
    },
    Rule {
        id: "exe-in-temp-dir",
        trigger: "An owner's executable lives under /tmp, /var/tmp or /dev/shm (alert)",
        check: Check::Socket(socket_rules::exe_in_temp_dir),
    },
    Rule {
        id: "exe-in-home-dir",
        trigger: "An owner's executable lives in a home directory (/home, /root, /Users)",
        check: Check::Socket(socket_rules::exe_in_home_dir),
    },
    Rule {
        id: "started-recently",
        trigger: "An owner started less than 10 minutes before the snapshot was taken",
        check: Check::Socket(socket_rules::started_recently),
    },
    Rule {
        id: "name-needed-escaping",
        trigger: "An owner's name, executable path or command line holds characters that change what a terminal shows: ESC and other controls (not tab or newline), bidi controls, zero-width characters, bytes that are not UTF-8",
        check: Check::Socket(socket_rules::name_needed_escaping),
    },
    Rule {
        id: "name-claims-daemon",
        trigger: "An owner's name or argv[0] is a known daemon's (sshd, nginx, mysqld, systemd, cron, ...) but its executable is not that daemon's (exec -a, prctl): judged by the executable's package when established (openssh-server's sshd is sshd; a file named sshd from no package is not), else by its file name",
        check: Check::Socket(socket_rules::name_claims_daemon),
    },
    Rule {
        id: "name-claims-kernel-thread",
        trigger: "An owner's name or argv[0] is a kernel thread's (kworker/0:1, [ksoftirqd/0], ...): kernel threads hold no sockets, so this is a disguised user-space program (alert)",
        check: Check::Socket(socket_rules::name_claims_kernel_thread),
    },
    Rule {
        id: "name-differs-from-exe",
        trigger: "An owner's process name is not its executable's name (renamed with prctl or exec -a); scripts under an interpreter or runtime, and names the two rules above cover, are exempt",
        check: Check::Socket(socket_rules::name_differs_from_exe),
    },
    Rule {
        id: "owner-unknown",
        trigger: "No owning process could be found; says why (hidden without root, kernel-held, exited, unknown)",
        check: Check::Socket(socket_rules::owner_unknown),
    },
    Rule {
        id: "interpreter-listener",
        trigger: "A shell or nc/socat (warning), or a script interpreter such as python or perl (notice), holds a listener",
        check: Check::Socket(socket_rules::interpreter_listener),
    },
    Rule {
        id: "shared-port",
        trigger: "The same port and protocol is held by several unrelated processes",
        check: Check::Socket(socket_rules::shared_port),
    },
];

fn port_facts<'a, 'r>(
    registry: &'r Registry,
    entries: &'a [Entry<'r>],
    known: &'a [&'static KnownUse],
    port: u16,
    protocol: Option<Protocol>,
    live: Option<&'a Socket>,
) -> PortFacts<'a, 'r> {
    let named = entries
        .iter()
        .any(|e| !e.service.is_empty() || e.is_reserved());
    PortFacts {
        port,
        protocol,
        entries,
        known,
        unassigned_run: if named {
            None
        } else {
            registry.unassigned_run(port)
        },
        live,
    }
}

fn finish(mut hints: Vec<Hint>) -> Vec<Hint> {
    // Most severe first; rule order breaks ties, so the output is stable.
    hints.sort_by_key(|h| std::cmp::Reverse(h.severity));
    hints
}

fn hint(rule: &Rule, finding: Finding) -> Hint {
    let Text {
        title,
        why,
        next_steps,
    } = (finding.write)();
    Hint {
        id: rule.id,
        severity: finding.severity,
        title,
        why,
        next_steps,
    }
}

/// Assess a port on its own (what `lookup` shows).
pub fn assess_port(registry: &Registry, port: u16, protocol: Option<Protocol>) -> Assessment<'_> {
    let entries = registry.by_port(port, protocol);
    let known_uses = crate::known::uses_of(port, protocol);
    let facts = port_facts(registry, &entries, &known_uses, port, protocol, None);
    let hints = RULES
        .iter()
        .filter_map(|rule| match rule.check {
            Check::Port(check) => check(&facts).map(|f| hint(rule, f)),
            Check::Socket(_) => None,
        })
        .collect();
    Assessment {
        hints: finish(hints),
        entries,
        known_uses,
    }
}

/// The listeners of one snapshot on each protocol and port, by index into `Snapshot::sockets`:
/// what some rules compare a socket with (`shared-port`). Built once per snapshot; it holds
/// indices, not references, so it can travel with its snapshot (the explorer's collector thread
/// builds it with the flags, and the UI keeps it to describe the selected socket).
#[derive(Debug, Clone, Default)]
pub struct PortIndex {
    /// (protocol, port, index) of every listener, sorted: one allocation, however many
    /// listeners (a map of vectors cost a quarter of a million allocations at 100,000).
    listeners: Vec<(Protocol, u16, u32)>,
    /// How many sockets the indexed snapshot held, to notice an index handed another snapshot.
    sockets: usize,
}

impl PortIndex {
    pub fn new(snapshot: &Snapshot) -> PortIndex {
        let mut listeners: Vec<(Protocol, u16, u32)> = snapshot
            .sockets
            .iter()
            .enumerate()
            .filter(|(_, s)| s.state.is_listener())
            .map(|(i, s)| (s.protocol, s.local_port, i as u32))
            .collect();
        // The index breaks ties, so each port's listeners stay in snapshot order.
        listeners.sort_unstable();
        PortIndex {
            listeners,
            sockets: snapshot.sockets.len(),
        }
    }

    /// The indices of the listeners on `protocol`/`port`, in snapshot order.
    fn listeners_on(&self, protocol: Protocol, port: u16) -> impl Iterator<Item = usize> + '_ {
        let from = self
            .listeners
            .partition_point(|&(p, n, _)| (p, n) < (protocol, port));
        self.listeners[from..]
            .iter()
            .take_while(move |&&(p, n, _)| (p, n) == (protocol, port))
            .map(|&(_, _, i)| i as usize)
    }
}

/// Whether the rules see the same host in two snapshots, the clock aside. A socket's flags
/// are a function of the registry, the socket, the listeners on its protocol and port, the host
/// facts compared here, and "now" (read only by the rules in [`CLOCK_RULES`]). `diff` relies on
/// this to assess only the listeners that changed. Every field of `HostInfo` is named below, so
/// a new one has to be sorted into "a rule reads it" or not.
pub fn same_host_inputs(a: &HostInfo, b: &HostInfo) -> bool {
    let read = |h: &HostInfo| {
        let HostInfo {
            hostname: _,
            os: _,
            kernel: _,
            taken_at: _, // the clock: CLOCK_RULES
            uid,         // owner-unknown's advice ("run as root")
            user: _,
            sees_all_owners: _,
            includes_connections: _,
            warnings: _,
            ephemeral_ports, // ephemeral-range-listener
        } = h;
        (*uid, ephemeral_ports.clone())
    };
    read(a) == read(b)
}

/// The rules that read the clock (the snapshot's `taken_at`).
pub const CLOCK_RULES: &[&str] = &["started-recently"];

/// Whether the clock rules can answer differently for `socket` at `before` and at `now`: an
/// owner counts as started recently at one time and not at the other (as `started-recently`
/// judges it). A refresh two seconds after a deploy then reuses the flags of the deploy's new
/// sockets, except in the one refresh when they stop being recent.
fn clock_may_change(socket: &Socket, before: u64, now: u64) -> bool {
    let recent_at = |start: u64, t: u64| start <= t && t - start < socket_rules::RECENT_SECS;
    socket
        .owners
        .iter()
        .filter_map(|o| o.start_time)
        .any(|start| recent_at(start, before) != recent_at(start, now))
}

/// The hints of one snapshot. It indexes the snapshot once (the listeners on each port, which
/// some rules compare), then answers for any of its sockets: the flags (id and severity, what a
/// listing shows) or the full hints (what a detail shows). Every front end asks this one object;
/// nothing else runs the rules on a live socket.
pub struct Assessor<'r, 's> {
    registry: &'r Registry,
    snapshot: &'s Snapshot,
    index: Cow<'s, PortIndex>,
    facts: Option<&'s FactsTable>,
    reach: Option<&'s dyn ReachSource>,
    /// What the name rules made of each owner: one process holding 10,000 sockets is judged
    /// once, not once per socket. Kept per assessor, since the facts it is given decide too.
    names: socket_rules::NameMemo,
}

impl<'r, 's> Assessor<'r, 's> {
    pub fn new(registry: &'r Registry, snapshot: &'s Snapshot) -> Assessor<'r, 's> {
        Assessor {
            registry,
            snapshot,
            index: Cow::Owned(PortIndex::new(snapshot)),
            facts: None,
            reach: None,
            names: Default::default(),
        }
    }

    /// An assessor over an index built earlier for this very snapshot: nothing is indexed
    /// again, so describing one socket costs one socket's rules. (An index of another snapshot
    /// is noticed by its size and rebuilt.)
    pub fn with_index(
        registry: &'r Registry,
        snapshot: &'s Snapshot,
        index: &'s PortIndex,
    ) -> Assessor<'r, 's> {
        if index.sockets != snapshot.sockets.len() {
            return Assessor::new(registry, snapshot);
        }
        Assessor {
            registry,
            snapshot,
            index: Cow::Borrowed(index),
            facts: None,
            reach: None,
            names: Default::default(),
        }
    }

    /// Weigh exposure by what `reach` says (a live host's interfaces and firewall): a database
    /// or admin interface reachable from a network warns, a filtered one is noted as such.
    pub fn with_reach(mut self, reach: &'s dyn ReachSource) -> Self {
        self.reach = Some(reach);
        self
    }

    /// The assessor with the owners' facts, for the rules that judge by them (a modified
    /// binary, one from no package in a system path, a daemon's package, a container behind a
    /// proxy). Without facts those rules stay silent: a fact unknown is never a finding.
    pub fn with_facts(mut self, facts: &'s FactsTable) -> Assessor<'r, 's> {
        self.facts = Some(facts);
        self
    }

    pub fn snapshot(&self) -> &'s Snapshot {
        self.snapshot
    }

    /// The hints that fire for `socket` (one of the snapshot's), most severe first, without
    /// their text.
    pub fn flags(&self, socket: &Socket) -> Flags {
        self.with_findings(socket, |_, findings| flags_of(findings))
    }

    /// The flags of every socket of the snapshot, in snapshot order. Big snapshots are split
    /// over two threads: the machines this runs on have two cores at least, and for 10,000
    /// sockets this pass would otherwise dominate a refresh.
    pub fn flags_all(&self) -> Vec<Flags> {
        one_copy_each(over_two_threads(&self.snapshot.sockets, |s| self.flags(s)))
    }

    /// The flags of each of `sockets` (the snapshot's), in their order, split over two threads
    /// as [`Assessor::flags_all`] is: what `list` shows of its rows.
    pub fn flags_each(&self, sockets: &[&Socket]) -> Vec<Flags> {
        one_copy_each(over_two_threads(sockets, |s| self.flags(s)))
    }

    /// The flags of every socket, as [`Assessor::flags_all`] gives them, reusing those of the
    /// `previous` snapshot (indexed by `previous_index`, flagged `previous_flags`) for a socket
    /// `matched` there unchanged ([`match_previous`](crate::sockets::matching::match_previous))
    /// when the listeners on its port are equal too, the host facts the rules read are the same,
    /// and the clock cannot change its answer. A refresh of 40,000 connections, nearly all
    /// unchanged, then assesses only what changed.
    pub fn flags_all_since(
        &self,
        previous: &Snapshot,
        previous_index: &PortIndex,
        previous_flags: &[Flags],
        matched: &[Option<Previous>],
    ) -> Vec<Flags> {
        if previous_flags.len() != previous.sockets.len()
            || previous_index.sockets != previous.sockets.len()
            || matched.len() != self.snapshot.sockets.len()
            || !same_host_inputs(&previous.host, &self.snapshot.host)
        {
            return self.flags_all();
        }
        let (before, now) = (previous.host.taken_at, self.snapshot.host.taken_at);
        let same_neighbours = |s: &Socket| {
            let before = previous_index
                .listeners_on(s.protocol, s.local_port)
                .map(|i| previous.sockets.get(i));
            let now = self
                .index
                .listeners_on(s.protocol, s.local_port)
                .map(|i| self.snapshot.sockets.get(i));
            before.eq(now)
        };
        // Sockets come port by port: the answer for the last port is asked again and again.
        let mut last_port: Option<((Protocol, u16), bool)> = None;
        let mut same_neighbours_cached = |s: &Socket| match last_port {
            Some((port, same)) if port == (s.protocol, s.local_port) => same,
            _ => {
                let same = same_neighbours(s);
                last_port = Some(((s.protocol, s.local_port), same));
                same
            }
        };
        // The reused lists are one copy each already; only the new ones are shared out.
        let mut one = OneCopy::default();
        self.snapshot
            .sockets
            .iter()
            .zip(matched)
            .map(|(s, found)| match found {
                Some(p)
                    if p.unchanged
                        && !clock_may_change(s, before, now)
                        && same_neighbours_cached(s) =>
                {
                    previous_flags[p.at as usize].clone()
                }
                _ => one.of(self.flags(s)),
            })
            .collect()
    }

    /// Everything known about `socket` (one of the snapshot's): registry entries, known uses and
    /// the full hints, most severe first.
    pub fn assess(&self, socket: &Socket) -> Assessment<'r> {
        self.with_findings(socket, |facts, findings| Assessment {
            hints: finish(
                findings
                    .into_iter()
                    .map(|(rule, f)| hint(rule, f))
                    .collect(),
            ),
            entries: facts.port.entries.to_vec(),
            known_uses: facts.port.known.to_vec(),
        })
    }

    fn with_findings<T>(
        &self,
        socket: &Socket,
        make: impl for<'x> FnOnce(&SocketFacts<'x, 'r>, Vec<(&'static Rule, Finding<'x>)>) -> T,
    ) -> T {
        let same_port: Vec<&Socket> = self
            .index
            .listeners_on(socket.protocol, socket.local_port)
            .filter_map(|i| self.snapshot.sockets.get(i))
            .collect();
        let entries = self
            .registry
            .by_port(socket.local_port, Some(socket.protocol));
        let known = crate::known::uses_of(socket.local_port, Some(socket.protocol));
        let mut facts = socket_facts(
            self.registry,
            self.snapshot,
            socket,
            &same_port,
            &entries,
            &known,
        );
        facts.facts = self.facts;
        facts.reach = self.reach;
        facts.names = Some(&self.names);
        make(&facts, findings(&facts))
    }
}

/// A hint without its text: what a listing shows of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Flag {
    pub id: &'static str,
    pub severity: Severity,
}

/// The flags of one socket, most severe first. Shared, not copied: the explorer keeps a
/// refresh's flags for the next one to reuse while its rows show them, and at 40,000
/// connections copies of the lists were megabytes.
pub type Flags = Arc<[Flag]>;

/// Findings as flags, most severe first (rule order breaks ties).
fn flags_of(findings: Vec<(&'static Rule, Finding)>) -> Flags {
    let mut flags: Vec<Flag> = findings
        .into_iter()
        .map(|(rule, f)| Flag {
            id: rule.id,
            severity: f.severity,
        })
        .collect();
    flags.sort_by_key(|f| std::cmp::Reverse(f.severity));
    if flags.is_empty() {
        // Most connections have no flag: one shared empty list, not one allocation each.
        static NONE: std::sync::OnceLock<Flags> = std::sync::OnceLock::new();
        return NONE.get_or_init(|| Arc::from([])).clone();
    }
    flags.into()
}

/// `lists` with equal lists made one allocation: a server's 20,000 connections carry a few
/// distinct lists between them, and the explorer keeps them from one refresh to the next.
fn one_copy_each(lists: Vec<Flags>) -> Vec<Flags> {
    let mut one = OneCopy::default();
    lists.into_iter().map(|list| one.of(list)).collect()
}

/// The flag lists seen so far, to hand out one copy of each.
#[derive(Default)]
struct OneCopy(rustc_hash::FxHashSet<Flags>);

impl OneCopy {
    /// A snapshot with more distinct lists than this keeps the rest as they are.
    const MOST_DISTINCT: usize = 4096;

    fn of(&mut self, list: Flags) -> Flags {
        match self.0.get(&list) {
            Some(same) => same.clone(),
            None => {
                if self.0.len() < Self::MOST_DISTINCT {
                    self.0.insert(list.clone());
                }
                list
            }
        }
    }
}

/// The most severe of `flags`.
pub fn worst(flags: &[Flag]) -> Option<Severity> {
    flags.iter().map(|f| f.severity).max()
}

/// Below this many sockets, a second thread costs more than it saves.
const PARALLEL_FROM: usize = 2_000;

/// `each` of `items` in order; from [`PARALLEL_FROM`] items on, the second half on a thread of
/// its own.
fn over_two_threads<T: Sync, R: Send>(items: &[T], each: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let run = |part: &[T]| -> Vec<R> { part.iter().map(&each).collect() };
    if items.len() < PARALLEL_FROM {
        return run(items);
    }
    let (first, second) = items.split_at(items.len() / 2);
    std::thread::scope(|scope| {
        let rest = scope.spawn(|| run(second));
        let mut all = run(first);
        all.extend(
            rest.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        );
        all
    })
}

fn socket_facts<'a, 'r>(
    registry: &'r Registry,
    snapshot: &'a Snapshot,
    socket: &'a Socket,
    same_port: &'a [&'a Socket],
    entries: &'a [Entry<'r>],
    known: &'a [&'static KnownUse],
) -> SocketFacts<'a, 'r> {
    let protocol = Some(socket.protocol);
    SocketFacts {
        port: port_facts(
            registry,
            entries,
            known,
            socket.local_port,
            protocol,
            Some(socket),
        ),
        snapshot,
        socket,
        same_port,
        facts: None,
        reach: None,
        names: None,
    }
}

/// Every rule that fires for a socket, in rule order.
fn findings<'x>(facts: &'x SocketFacts) -> Vec<(&'static Rule, Finding<'x>)> {
    RULES
        .iter()
        .filter_map(|rule| {
            match rule.check {
                Check::Port(check) => check(&facts.port),
                Check::Socket(check) => check(facts),
            }
            .map(|f| (rule, f))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockets::fixtures::*;
    use crate::sockets::matching::match_previous;

    #[test]
    fn equal_flag_lists_become_one_allocation() {
        let flag = |id| Flag {
            id,
            severity: Severity::Notice,
        };
        let a: Flags = vec![flag("started-recently")].into();
        let same: Flags = vec![flag("started-recently")].into();
        let other: Flags = vec![flag("started-recently"), flag("shared-port")].into();
        let lists = one_copy_each(vec![a.clone(), other.clone(), same]);
        assert_eq!(lists, vec![a.clone(), other.clone(), a.clone()]);
        assert!(Arc::ptr_eq(&lists[0], &lists[2]));
        assert!(!Arc::ptr_eq(&lists[0], &lists[1]));
    }

    #[test]
    fn rule_ids_are_unique_kebab_case_and_documented() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        for r in RULES {
            assert!(
                r.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{}",
                r.id
            );
            assert!(!r.trigger.is_empty(), "{} has no trigger text", r.id);
            let readme = include_str!("../../README.md");
            assert!(
                readme.contains(&format!("| `{}` |", r.id)),
                "{} has no row in the README's hint table",
                r.id
            );
        }
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate rule id");
    }

    #[test]
    fn one_spelling_per_severity() {
        for s in [
            Severity::Info,
            Severity::Notice,
            Severity::Warning,
            Severity::Alert,
        ] {
            assert_eq!(s.to_string(), s.as_str());
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        // The triggers the README's table is written from use the same four words.
        for r in RULES {
            for word in r.trigger.split(|c: char| !c.is_ascii_alphabetic()) {
                assert!(
                    !matches!(
                        word,
                        "warn" | "WARN" | "WARNING" | "ALERT" | "INFO" | "NOTICE"
                    ),
                    "{}: {word}",
                    r.id
                );
            }
        }
    }

    #[test]
    fn lookup_of_289_says_unassigned_and_nothing_else() {
        let reg = Registry::embedded();
        let a = assess_port(&reg, 289, None);
        let ids: Vec<&str> = a.hints.iter().map(|h| h.id).collect();
        assert_eq!(ids, ["unassigned-system-port"]);
        assert_eq!(a.badge(), Some(Severity::Info));
        assert!(a.hints[0]
            .why
            .contains("if something listens here, that is unusual"));
    }

    #[test]
    fn lookup_of_3489_surfaces_the_reported_symantec_use() {
        let reg = Registry::embedded();
        let a = assess_port(&reg, 3489, Some(Protocol::Tcp));
        let h = a
            .hints
            .iter()
            .find(|h| h.id == "known-unofficial-use")
            .expect("3489 has a known unofficial use");
        assert!(h.why.contains("dtp-dia"), "{}", h.why);
        assert!(
            h.why.contains(
                "reported (secondary sources only) as used by Symantec Endpoint Protection Manager"
            ),
            "{}",
            h.why
        );
        assert!(!a.hints.iter().any(|h| h.id == "unassigned-system-port"));
    }

    #[test]
    fn an_ordinary_ssh_daemon_on_loopback_raises_nothing() {
        let reg = Registry::embedded();
        let sock = tcp("127.0.0.1", 22, owner(900, "sshd", 0, "/usr/sbin/sshd"));
        let snap = snapshot(vec![sock.clone()]);
        let a = Assessor::new(&reg, &snap).assess(&sock);
        assert!(a.hints.is_empty(), "{:#?}", a.hints);
        assert_eq!(a.badge(), None);
    }

    #[test]
    fn flags_agree_with_the_full_assessment() {
        let reg = Registry::embedded();
        let mut sockets = vec![
            listener(
                Protocol::Udp,
                "127.0.0.53",
                53,
                vec![owner(
                    30,
                    "systemd-resolve",
                    991,
                    "/usr/lib/systemd/systemd-resolved",
                )],
            ),
            listener(
                Protocol::Udp,
                "192.168.122.1",
                53,
                vec![owner(31, "dnsmasq", 0, "/usr/sbin/dnsmasq")],
            ),
            tcp("0.0.0.0", 22, owner(900, "sshd", 0, "/usr/sbin/sshd")),
            tcp(
                "127.0.0.1",
                289,
                owner(901, "nc", 1000, "/usr/bin/nc.openbsd"),
            ),
        ];
        sockets[3].owners[0].exe_deleted = true;
        let snap = snapshot(sockets);
        let assessor = Assessor::new(&reg, &snap);
        let all = assessor.flags_all();
        assert_eq!(all.len(), snap.sockets.len());
        for (socket, flags) in snap.sockets.iter().zip(&all) {
            let full: Vec<Flag> = assessor
                .assess(socket)
                .hints
                .iter()
                .map(|h| Flag {
                    id: h.id,
                    severity: h.severity,
                })
                .collect();
            assert_eq!(**flags, *full);
        }
        assert!(all[0].iter().any(|f| f.id == "shared-port"));
    }

    /// Flags reused from the previous refresh equal flags computed afresh: for unchanged
    /// sockets, for one whose port gained a neighbour, for an owner started just before, and
    /// when the host's ephemeral range changes.
    #[test]
    fn flags_reused_from_the_previous_snapshot_equal_fresh_ones() {
        let reg = Registry::embedded();
        let web = tcp("0.0.0.0", 8080, owner(10, "nginx", 33, "/usr/sbin/nginx"));
        let app = tcp("0.0.0.0", 40000, owner(11, "app", 1000, "/usr/bin/app"));
        let mut fresh = owner(12, "worker", 1000, "/usr/bin/worker");
        fresh.start_time = Some(NOW - 30);
        let worker = tcp("127.0.0.1", 9000, fresh);
        let mut spy = tcp(
            "127.0.0.1",
            8080,
            owner(13, "nc", 1000, "/usr/bin/nc.openbsd"),
        );
        spy.inode = 999;
        let first = snapshot(vec![web.clone(), app.clone(), worker.clone()]);
        let mut later = snapshot(vec![worker, spy, app, web]);
        later.host.taken_at = NOW + 3600;
        let check = |first: &Snapshot, later: &Snapshot| {
            let index = PortIndex::new(first);
            let flags = Assessor::with_index(&reg, first, &index).flags_all();
            let assessor = Assessor::new(&reg, later);
            let matched = match_previous(&first.sockets, &later.sockets);
            assert_eq!(
                assessor.flags_all_since(first, &index, &flags, &matched),
                assessor.flags_all()
            );
        };
        check(&first, &later);
        // Two seconds on, the worker is still recent: reused, and still equal.
        let mut soon = later.clone();
        soon.host.taken_at = NOW + 2;
        check(&first, &soon);
        later.host.ephemeral_ports = Some(crate::sockets::EphemeralPorts {
            range: PortRange {
                start: 32768,
                end: 60999,
            },
            reserved: vec![],
        });
        check(&first, &later);
        let all = Assessor::new(&reg, &later).flags_all();
        assert!(
            all[0].iter().all(|f| f.id != "started-recently"),
            "an hour on"
        );
        assert!(all[3].iter().any(|f| f.id == "shared-port"));
    }

    #[test]
    fn hints_come_most_severe_first() {
        let reg = Registry::embedded();
        let mut o = owner(901, "bash", 1000, "/tmp/x/bash");
        o.start_time = Some(NOW - 5);
        let sock = tcp("0.0.0.0", 289, o);
        let snap = snapshot(vec![sock.clone()]);
        let a = Assessor::new(&reg, &snap).assess(&sock);
        let sev: Vec<Severity> = a.hints.iter().map(|h| h.severity).collect();
        let mut sorted = sev.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(sev, sorted);
        assert_eq!(a.badge(), Some(Severity::Alert));
    }
}
