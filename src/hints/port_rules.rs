//! Rules on the port alone: they run for `lookup` (no live socket) and for every live socket.
//! Without a socket they speak conditionally ("if something listens here"); with one they speak
//! about the listener.

use super::{Finding, PortFacts, Severity, Text};
use crate::known::KnownUse;
use crate::registry::{PortClass, PortRange, Protocol};

fn run_text(run: PortRange) -> String {
    if run.is_single() {
        String::new()
    } else {
        format!(" (it lies in the unassigned run {run})")
    }
}

/// "reported (secondary sources only) as used by X; commonly used by Y".
fn describe_uses(uses: &[&KnownUse]) -> String {
    uses.iter()
        .map(|k| k.describe())
        .collect::<Vec<_>>()
        .join("; ")
}

/// RFC 6335: system ports are assigned by IETF review; one with no assignment should be silent.
pub(super) fn unassigned_system_port<'x>(f: &'x PortFacts) -> Option<Finding<'x>> {
    if PortClass::of(f.port) != PortClass::System {
        return None;
    }
    let run = f.unassigned_run?;
    let port = f.port;
    match f.live {
        None => Some(Finding::new(Severity::Info, move || Text {
            title: format!("{port} is an unassigned system port"),
            why: format!(
                "IANA has assigned nothing to port {port}{}. System ports (0-1023, RFC 6335) are \
                 assigned only through IETF review, so unassigned ports should be silent: if \
                 something listens here, that is unusual.",
                run_text(run)
            ),
            next_steps: f.investigate(),
        })),
        Some(socket) if socket.state.is_listener() => {
            Some(Finding::new(Severity::Warning, move || Text {
                title: format!("Listening on unassigned system port {}", f.label()),
                why: format!(
                    "IANA has assigned nothing to port {port}{}, yet this socket listens on it. \
                 System ports (0-1023, RFC 6335) are assigned only through IETF review and \
                 unassigned ones should be silent: find out which program opened it and why.",
                    run_text(run)
                ),
                next_steps: f.investigate(),
            }))
        }
        Some(_) => None,
    }
}

/// A live listener on a registered-range port nobody registered and nothing is known about.
pub(super) fn unassigned_registered_port<'x>(f: &'x PortFacts) -> Option<Finding<'x>> {
    if PortClass::of(f.port) != PortClass::Registered || !f.known.is_empty() {
        return None;
    }
    let run = f.unassigned_run?;
    f.live_listener()?;
    Some(Finding::new(Severity::Info, move || Text {
        title: format!("Listening on unassigned port {}", f.label()),
        why: format!(
            "IANA has assigned nothing to port {}{} and portscope knows no common use of it, so \
             nothing says what should listen here. Often an application's own choice; the owning \
             process is the only evidence.",
            f.port,
            run_text(run)
        ),
        next_steps: f.investigate(),
    }))
}

/// Uses of the port that are not its IANA registration (the 3489 case).
pub(super) fn known_unofficial_use<'x>(f: &'x PortFacts) -> Option<Finding<'x>> {
    let uses: Vec<&KnownUse> = f
        .known
        .iter()
        .copied()
        .filter(|k| !k.is_malware() && !k.matches_registration(f.entries))
        .collect();
    if uses.is_empty() {
        return None;
    }
    let names = f.service_names();
    let registered = if names.is_empty() {
        format!("IANA has not registered any service on {}.", f.label())
    } else {
        let description = f
            .entries
            .iter()
            .find(|e| !e.service.is_empty())
            .map(|e| e.description.trim())
            .filter(|d| !d.is_empty())
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        format!(
            "IANA assigns {} to {}{description}.",
            f.label(),
            names.join(", ")
        )
    };
    let holder = match f.live.and_then(|s| s.owners.first()) {
        Some(o) => format!(
            " Compare with the process that holds it: \"{}\" (pid {}).",
            o.name, o.pid
        ),
        None => String::new(),
    };
    Some(Finding::new(Severity::Info, move || Text {
        title: if names.is_empty() {
            format!("{} has known unregistered uses", f.label())
        } else {
            format!("{} has known uses besides its registration", f.label())
        },
        why: format!(
            "{registered} In practice the port is {}. A port number alone does not say which \
             program this is; the owning process does.{holder}",
            describe_uses(&uses)
        ),
        next_steps: f.investigate(),
    }))
}

/// IANA's own "Unauthorized Use Reported" column.
pub(super) fn iana_unauthorized_use<'x>(f: &'x PortFacts) -> Option<Finding<'x>> {
    let mut notes: Vec<&str> = Vec::new();
    for e in f.entries {
        let note = e.unauthorized_use.trim();
        if !note.is_empty() && !notes.contains(&note) {
            notes.push(note);
        }
    }
    if notes.is_empty() {
        return None;
    }
    let quoted: Vec<String> = notes.iter().map(|n| format!("\"{n}\"")).collect();
    Some(Finding::new(Severity::Notice, move || Text {
        title: format!("IANA records unauthorized use of {}", f.label()),
        why: format!(
            "The registry's \"Unauthorized Use Reported\" column says: {}. Programs other than \
             the registered service are known to use this port, so the registration alone says \
             little about what listens here.",
            quoted.join("; ")
        ),
        next_steps: f.investigate(),
    }))
}

/// RFC 6335 dynamic ports are handed out by the OS; a permanent listener there chose it itself.
pub(super) fn dynamic_port_listener<'x>(f: &'x PortFacts) -> Option<Finding<'x>> {
    if PortClass::of(f.port) != PortClass::Dynamic {
        return None;
    }
    let known = if f.known.is_empty() {
        String::new()
    } else {
        format!(" Known uses of this port: {}.", describe_uses(f.known))
    };
    let base = "IANA never assigns ports 49152-65535 (RFC 6335): the OS hands them out for \
                outgoing connections and temporary listeners.";
    match f.live {
        None => Some(Finding::new(Severity::Info, move || Text {
            title: format!("{} is in the dynamic range", f.label()),
            why: format!(
                "{base} A program that listens on {} permanently picked the number itself.{known}",
                f.port
            ),
            next_steps: f.investigate(),
        })),
        Some(socket) if socket.state.is_listener() => Some(Finding::new(
            if socket.protocol == Protocol::Tcp {
                Severity::Notice
            } else {
                Severity::Info
            },
            move || Text {
                title: format!("Listening on dynamic-range port {}", f.label()),
                why: format!(
                "{base} A listener here either picked the number itself or asked for any port; \
                 check that it is expected and whether it keeps this port across restarts.{known}"
            ),
                next_steps: f.investigate(),
            },
        )),
        Some(_) => None,
    }
}

/// The port is a well-known default of a trojan, backdoor or attack tool. Each use is named
/// with its protocol: 31337 is Back Orifice over UDP, while IANA assigns 31337/tcp to eldim, so
/// a bare `lookup 31337` must not pin the trojan on a TCP listener.
pub(super) fn known_malware_port<'x>(f: &'x PortFacts) -> Option<Finding<'x>> {
    let uses: Vec<&KnownUse> = f.known.iter().copied().filter(|k| k.is_malware()).collect();
    if uses.is_empty() {
        return None;
    }
    let (severity, tail) = match f.live {
        None => (
            Severity::Notice,
            "A port number proves nothing by itself, but if something listens here that you did \
             not start, look closer.",
        ),
        Some(s) if s.state.is_listener() => (
            Severity::Warning,
            "A port number proves nothing by itself: check that this listener is something you \
             started.",
        ),
        Some(_) => return None,
    };
    // The protocol the uses share, when the question did not name one.
    let label = match (f.protocol, uses[0].protocol) {
        (None, Some(p)) if uses.iter().all(|k| k.protocol == Some(p)) => {
            format!("{}/{p}", f.port)
        }
        _ => f.label(),
    };
    let described: Vec<String> = uses
        .iter()
        .map(|k| format!("{} ({})", k.describe(), k.ports_label()))
        .collect();
    let others = match (f.protocol, label.contains('/')) {
        (None, true) => " Over the other protocol the port means nothing of the kind.",
        _ => "",
    };
    Some(Finding::new(severity, move || Text {
        title: format!("{label} is a known malware or attack-tool default"),
        why: format!("Port {label} is {}.{others} {tail}", described.join("; ")),
        next_steps: f.investigate(),
    }))
}

#[cfg(test)]
mod tests {
    use super::super::{port_facts, PortFacts};
    use super::*;
    use crate::hints::Written;
    use crate::known::uses_of;
    use crate::registry::{Entry, Registry};
    use crate::sockets::fixtures::*;
    use crate::sockets::{Socket, SocketState};

    /// Run `rule` on `port` as `lookup` would (live = None) or for `live`.
    fn run(
        rule: for<'x> fn(&'x PortFacts) -> Option<Finding<'x>>,
        port: u16,
        proto: Option<Protocol>,
        live: Option<&Socket>,
    ) -> Option<Written> {
        let reg = Registry::embedded();
        let entries: Vec<Entry> = reg.by_port(port, proto);
        let known = uses_of(port, proto);
        let facts = port_facts(&reg, &entries, &known, port, proto, live);
        rule(&facts).map(Finding::written)
    }

    fn py(port: u16) -> Socket {
        tcp(
            "0.0.0.0",
            port,
            owner(77, "python3", 0, "/usr/bin/python3.12"),
        )
    }

    fn connection(port: u16) -> Socket {
        let mut s = py(port);
        s.state = SocketState::Established;
        s.remote_addr = Some("10.0.0.9".parse().unwrap());
        s.remote_port = Some(40000);
        s
    }

    #[test]
    fn unassigned_system_port_fires_for_289_only() {
        let lookup = run(unassigned_system_port, 289, None, None).unwrap();
        assert_eq!(lookup.severity, Severity::Info);
        assert!(lookup.why.contains("unassigned run 288-"), "{}", lookup.why);
        assert!(lookup
            .why
            .contains("if something listens here, that is unusual"));
        let live = run(
            unassigned_system_port,
            289,
            Some(Protocol::Tcp),
            Some(&py(289)),
        )
        .unwrap();
        assert_eq!(live.severity, Severity::Warning);
        assert!(live.title.contains("289/tcp"));
        assert!(live.lines().iter().any(|s| s.contains("/proc/77/exe")));
        // Assigned, registered-range, and non-listening cases stay silent.
        assert!(run(unassigned_system_port, 22, None, None).is_none());
        assert!(run(unassigned_system_port, 3489, None, None).is_none());
        assert!(run(unassigned_system_port, 289, None, Some(&connection(289))).is_none());
    }

    #[test]
    fn unassigned_registered_port_fires_only_for_a_live_listener() {
        let port = (1024..49152)
            .find(|&p| {
                Registry::embedded().unassigned_run(p).is_some() && uses_of(p, None).is_empty()
            })
            .unwrap();
        assert!(run(unassigned_registered_port, port, None, None).is_none());
        let f = run(
            unassigned_registered_port,
            port,
            Some(Protocol::Tcp),
            Some(&py(port)),
        )
        .unwrap();
        assert_eq!(f.severity, Severity::Info);
        assert!(run(
            unassigned_registered_port,
            3489,
            Some(Protocol::Tcp),
            Some(&py(3489))
        )
        .is_none());
        assert!(run(
            unassigned_registered_port,
            289,
            Some(Protocol::Tcp),
            Some(&py(289))
        )
        .is_none());
    }

    #[test]
    fn known_unofficial_use_names_registration_and_use_without_claiming_identity() {
        let f = run(known_unofficial_use, 3489, Some(Protocol::Tcp), None).unwrap();
        assert!(
            f.why.contains("IANA assigns 3489/tcp to dtp-dia (DTP/DIA)"),
            "{}",
            f.why
        );
        assert!(f
            .why
            .contains("reported (secondary sources only) as used by Symantec"));
        assert!(!f.why.contains(" is Symantec"));
        // 6443: registered to sun-sr-https, documented as the Kubernetes API server.
        let k = run(known_unofficial_use, 6443, Some(Protocol::Tcp), None).unwrap();
        assert!(
            k.why
                .contains("the documented default of Kubernetes API server"),
            "{}",
            k.why
        );
        // A live socket names its holder for comparison.
        let live = run(
            known_unofficial_use,
            3489,
            Some(Protocol::Tcp),
            Some(&py(3489)),
        )
        .unwrap();
        assert!(live.why.contains("\"python3\" (pid 77)"));
    }

    #[test]
    fn known_unofficial_use_stays_silent_for_the_registered_service() {
        // 22's only known use is OpenSSH, the registered ssh service itself.
        assert!(run(known_unofficial_use, 22, Some(Protocol::Tcp), None).is_none());
        assert!(run(known_unofficial_use, 3306, Some(Protocol::Tcp), None).is_none());
        assert!(run(known_unofficial_use, 289, None, None).is_none());
        // A port inside a documented run says so.
        let nodeport = run(known_unofficial_use, 31000, Some(Protocol::Tcp), None).unwrap();
        assert!(
            nodeport
                .why
                .contains("in 30000-32767, the documented range of Kubernetes NodePort"),
            "{}",
            nodeport.why
        );
        // Malware defaults are the other rule's business (27374 has no other known use; 12345
        // does: Grafana Alloy's UI).
        assert!(run(known_unofficial_use, 27374, Some(Protocol::Tcp), None).is_none());
    }

    #[test]
    fn iana_unauthorized_use_quotes_the_registry() {
        let f = run(iana_unauthorized_use, 4444, Some(Protocol::Tcp), None).unwrap();
        assert_eq!(f.severity, Severity::Notice);
        assert!(
            f.why.contains("nv used it without an assignment"),
            "{}",
            f.why
        );
        // Quoted once even though several rows on the port carry the same note.
        assert_eq!(f.why.matches("nv used it").count(), 1);
        assert!(run(iana_unauthorized_use, 22, None, None).is_none());
        assert!(run(iana_unauthorized_use, 289, None, None).is_none());
    }

    #[test]
    fn dynamic_port_listener_fires_in_the_dynamic_range() {
        let lookup = run(dynamic_port_listener, 50123, None, None).unwrap();
        assert_eq!(lookup.severity, Severity::Info);
        let live = run(
            dynamic_port_listener,
            50123,
            Some(Protocol::Tcp),
            Some(&py(50123)),
        )
        .unwrap();
        assert_eq!(live.severity, Severity::Notice);
        let udp = listener(
            Protocol::Udp,
            "0.0.0.0",
            50123,
            vec![owner(5, "x", 0, "/x")],
        );
        assert_eq!(
            run(
                dynamic_port_listener,
                50123,
                Some(Protocol::Udp),
                Some(&udp)
            )
            .unwrap()
            .severity,
            Severity::Info
        );
        // Known uses are named.
        let wg = run(dynamic_port_listener, 51820, Some(Protocol::Udp), None).unwrap();
        assert!(wg.why.contains("WireGuard"));
        assert!(run(dynamic_port_listener, 49151, None, None).is_none());
        assert!(run(dynamic_port_listener, 50123, None, Some(&connection(50123))).is_none());
    }

    #[test]
    fn known_malware_port_fires_for_backdoor_defaults() {
        let lookup = run(known_malware_port, 4444, Some(Protocol::Tcp), None).unwrap();
        assert_eq!(lookup.severity, Severity::Notice);
        assert!(
            lookup.why.contains("commonly used by Metasploit"),
            "{}",
            lookup.why
        );
        let live = run(
            known_malware_port,
            31337,
            Some(Protocol::Udp),
            Some(&listener(
                Protocol::Udp,
                "0.0.0.0",
                31337,
                vec![owner(9, "x", 0, "/x")],
            )),
        )
        .unwrap();
        assert_eq!(live.severity, Severity::Warning);
        assert!(run(known_malware_port, 22, None, None).is_none());
        assert!(run(known_malware_port, 3489, None, None).is_none());
    }

    #[test]
    fn back_orifice_is_udp_and_31337_tcp_is_eldims() {
        // Asked without a protocol, the hint names the protocol the trojan used.
        let any = run(known_malware_port, 31337, None, None).unwrap();
        assert!(
            any.title.starts_with("31337/udp is a known malware"),
            "{}",
            any.title
        );
        assert!(any.why.contains("Back Orifice (31337/udp)"), "{}", any.why);
        assert!(any.why.contains("Over the other protocol"), "{}", any.why);
        // Over TCP the port is IANA's eldim: no malware hint, in lookup or for a listener.
        assert!(run(known_malware_port, 31337, Some(Protocol::Tcp), None).is_none());
        let eldim = tcp("0.0.0.0", 31337, owner(9, "eldim", 0, "/usr/bin/eldim"));
        assert!(run(known_malware_port, 31337, Some(Protocol::Tcp), Some(&eldim)).is_none());
        // 4444 is Metasploit over TCP.
        let msf = run(known_malware_port, 4444, None, None).unwrap();
        assert!(msf.title.starts_with("4444/tcp"), "{}", msf.title);
        assert!(run(known_malware_port, 3489, None, None).is_none());
    }
}
