//! Rules on the owners' established facts (the `facts` layer, through [`SocketFacts::facts`]):
//! an executable that differs from what its package installed, one from no package in a system
//! path, and the container behind a proxy holding a published port. Without facts (a front end
//! that did not establish them, a snapshot that recorded none) these rules stay silent: an
//! unknown fact is never a finding. Text here is raw: printers escape it.

use super::next_steps::{self, NextStep};
use super::{Finding, Severity, SocketFacts, Text};
use crate::facts::{Fact, Integrity, Manager, Place, Provenance};
use crate::sockets::{Owner, Socket};

/// How to check a package's files against its database.
fn verify_package(manager: Manager, name: &str) -> NextStep {
    match manager {
        Manager::Dpkg => NextStep::new(["dpkg", "--verify", name]),
        Manager::Rpm => NextStep::new(["rpm", "-V", name]),
        Manager::Apk => NextStep::new(["apk", "audit", "--system"]),
    }
}

/// The running executable no longer matches the digest its package recorded: an alert.
pub(super) fn exe_modified<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let (o, package, expected, actual) = f.socket.owners.iter().find_map(|o| {
        let facts = f.owner_facts(o.pid)?;
        let Some(Fact::Known(Integrity::Modified { expected, actual })) = &facts.integrity else {
            return None;
        };
        let Fact::Known(Provenance::Package(p)) = &facts.package else {
            return None;
        };
        Some((o, p, expected, actual))
    })?;
    let exe = o.exe.as_deref().unwrap_or("its executable");
    Some(Finding::new(Severity::Alert, move || {
        let mut next_steps = vec![verify_package(package.manager, &package.name)];
        next_steps.extend(next_steps::fingerprint_exe(o.pid));
        next_steps.extend(next_steps::inspect_process(o));
        Text {
            title: format!(
                "The executable of \"{}\" (pid {}) was modified since package {} installed it",
                o.name,
                o.pid,
                package.display_name()
            ),
            why: format!(
                "{exe} as it runs has the digest {actual}; the package database records {expected} \
                 for {}. A package upgrade replaces the file and its record together, so a \
                 difference means the file was changed by other means: a local rebuild, a botched \
                 restore, or a trojaned binary.",
                package.recorded_path
            ),
            next_steps,
        }
    }))
}

/// An executable in /usr, /bin, /sbin or /lib that no package installed: only packages should
/// put files there.
pub(super) fn exe_not_packaged<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let (o, exe) = f.socket.owners.iter().find_map(|o| {
        let facts = f.owner_facts(o.pid)?;
        let Fact::Known(Provenance::NotPackaged {
            place: Place::SystemPath,
        }) = &facts.package
        else {
            return None;
        };
        if o.exe_deleted {
            return None; // exe-deleted says that, and the path's owner now says nothing sure
        }
        Some((o, o.exe.as_deref()?))
    })?;
    Some(Finding::new(Severity::Warning, move || {
        let next_steps = next_steps::examine_executable(o);
        Text {
            title: format!(
                "\"{}\" (pid {}) runs {exe}, which no package installed",
                o.name, o.pid
            ),
            why: format!(
                "{exe} lies in a system path, where only the package manager should put files, but \
                 no package database here lists it. Software installed by hand belongs under \
                 /usr/local or /opt; an unowned file in /usr/bin or /usr/sbin is often how a \
                 backdoor hides among the system's programs."
            ),
            next_steps,
        }
    }))
}

/// `-container-ip 172.17.0.2 -container-port 80`: where a docker-proxy forwards to.
fn proxied_to(o: &Owner) -> Option<(std::net::IpAddr, u16)> {
    let arg = |name: &str| {
        o.cmdline
            .iter()
            .position(|a| a == name)
            .and_then(|i| o.cmdline.get(i + 1))
    };
    Some((
        arg("-container-ip")?.parse().ok()?,
        arg("-container-port")?.parse().ok()?,
    ))
}

/// A port published by Docker: the listener is docker-proxy's, but what answers is a container.
/// The container is found as the one network namespace (named after its container by the facts)
/// with a listener on the forwarded port and address.
pub(super) fn container_published_port<'x>(f: &'x SocketFacts) -> Option<Finding<'x>> {
    let s = f.socket;
    if !s.state.is_listener() {
        return None;
    }
    let (o, ip, port) = s.owners.iter().find_map(|o| {
        let exe = o.exe.as_deref()?;
        if !exe.ends_with("/docker-proxy") {
            return None;
        }
        let (ip, port) = proxied_to(o)?;
        Some((o, ip, port))
    })?;
    let table = f.facts?;
    let mut names: Vec<String> = f
        .snapshot
        .sockets
        .iter()
        .filter(|t: &&Socket| {
            t.state.is_listener()
                && t.protocol == s.protocol
                && t.local_port == port
                && (t.local_addr == ip || t.local_addr.is_unspecified())
        })
        .filter_map(|t| t.netns.as_ref())
        .map(|ns| table.namespace_label(ns))
        .filter(|label| label.starts_with("container "))
        .collect();
    names.sort();
    names.dedup();
    let container = match names.as_slice() {
        [one] => one.trim_start_matches("container ").to_owned(),
        _ => return None,
    };
    Some(Finding::new(Severity::Info, move || Text {
        title: format!(
            "{}/{} is published by container {container}",
            s.local_port, s.protocol
        ),
        why: format!(
            "docker-proxy (pid {}) holds this port on the host and forwards it to {ip}:{port} in \
             container {container}: what answers here is that container's program, not \
             docker-proxy.",
            o.pid
        ),
        next_steps: vec![
            NextStep::new(["docker", "ps", "--filter", &format!("name={container}")]),
            NextStep::new(["docker", "port", &container]),
        ],
    }))
}

#[cfg(test)]
mod tests {
    use crate::facts::{
        Container, Fact, FactsTable, Integrity, Manager, OwnerFacts, PackageInfo, Place,
        Provenance, Runtime, Unit,
    };
    use crate::hints::{Assessor, Severity};
    use crate::registry::Registry;
    use crate::sockets::fixtures::*;
    use crate::sockets::{NetNs, Socket};

    fn package(name: &str, path: &str) -> Fact<Provenance> {
        Fact::Known(Provenance::Package(PackageInfo {
            manager: Manager::Dpkg,
            name: name.into(),
            arch: None,
            recorded_path: path.into(),
            diverted_by: None,
            also_in: Vec::new(),
        }))
    }

    fn facts(pid: u32, package: Fact<Provenance>) -> OwnerFacts {
        OwnerFacts {
            pid,
            package,
            integrity: None,
            cgroup: Fact::Known("/system.slice/x.service".into()),
            unit: Fact::Known(Unit {
                name: "x.service".into(),
                user_manager: None,
            }),
            container: Fact::Known(None),
            pod: Fact::Known(None),
            session: None,
            ancestry: Vec::new(),
            ancestry_broken: None,
        }
    }

    /// The ids (and severities) that fire for socket `i` of `sockets` with `table`'s facts.
    fn ids(sockets: Vec<Socket>, i: usize, table: &FactsTable) -> Vec<(&'static str, Severity)> {
        let reg = Registry::embedded();
        let snap = snapshot(sockets);
        let a = Assessor::new(&reg, &snap)
            .with_facts(table)
            .assess(&snap.sockets[i]);
        a.hints.iter().map(|h| (h.id, h.severity)).collect()
    }

    fn table(entries: Vec<OwnerFacts>) -> FactsTable {
        let mut t = FactsTable::default();
        for f in entries {
            t.insert(f);
        }
        t
    }

    #[test]
    fn a_modified_binary_is_an_alert_and_an_unmodified_one_says_nothing() {
        let s = tcp("127.0.0.1", 8080, owner(40, "web", 0, "/usr/bin/web"));
        let mut f = facts(40, package("web", "/usr/bin/web"));
        f.integrity = Some(Fact::Known(Integrity::Modified {
            expected: "aa".into(),
            actual: "bb".into(),
        }));
        let fired = ids(vec![s.clone()], 0, &table(vec![f.clone()]));
        assert!(
            fired.contains(&("exe-modified", Severity::Alert)),
            "{fired:?}"
        );
        f.integrity = Some(Fact::Known(Integrity::Unmodified));
        let quiet = ids(vec![s.clone()], 0, &table(vec![f]));
        assert!(
            !quiet.iter().any(|(id, _)| *id == "exe-modified"),
            "{quiet:?}"
        );
        // Without facts the rule cannot judge, and says nothing.
        assert!(!ids(vec![s], 0, &FactsTable::unknown("x"))
            .iter()
            .any(|(id, _)| *id == "exe-modified"));
    }

    #[test]
    fn an_unpackaged_file_in_a_system_path_is_a_warning_elsewhere_not() {
        let unowned = |path: &str| {
            facts(
                41,
                Fact::Known(Provenance::NotPackaged {
                    place: Place::of(path),
                }),
            )
        };
        let s = tcp("127.0.0.1", 8081, owner(41, "tool", 0, "/usr/bin/tool"));
        let fired = ids(vec![s], 0, &table(vec![unowned("/usr/bin/tool")]));
        assert!(
            fired.contains(&("exe-not-packaged", Severity::Warning)),
            "{fired:?}"
        );
        let local = tcp(
            "127.0.0.1",
            8081,
            owner(41, "tool", 0, "/usr/local/bin/tool"),
        );
        let quiet = ids(vec![local], 0, &table(vec![unowned("/usr/local/bin/tool")]));
        assert!(
            !quiet.iter().any(|(id, _)| *id == "exe-not-packaged"),
            "{quiet:?}"
        );
    }

    #[test]
    fn sshd_is_judged_by_its_package() {
        let claims = |fired: &[(&str, Severity)]| {
            fired
                .iter()
                .any(|(id, _)| *id == "name-claims-daemon" || *id == "service-mismatch")
        };
        let sshd = tcp("0.0.0.0", 22, owner(50, "sshd", 0, "/usr/sbin/sshd"));
        let from_openssh = table(vec![facts(50, package("openssh-server", "/usr/sbin/sshd"))]);
        assert!(!claims(&ids(vec![sshd.clone()], 0, &from_openssh)));
        // The same file name from no package is not the ssh daemon.
        let copied = tcp("0.0.0.0", 22, owner(51, "sshd", 0, "/usr/sbin/sshd"));
        let unowned = table(vec![facts(
            51,
            Fact::Known(Provenance::NotPackaged {
                place: Place::SystemPath,
            }),
        )]);
        assert!(claims(&ids(vec![copied], 0, &unowned)));
        // A python that calls itself sshd is refused, with its package said.
        let mut py = owner(52, "sshd", 0, "/usr/bin/python3.11");
        py.cmdline = vec!["sshd".into()];
        let renamed = tcp("127.0.0.1", 2222, py);
        let from_python = table(vec![facts(
            52,
            package("python3.11-minimal", "/usr/bin/python3.11"),
        )]);
        let reg = Registry::embedded();
        let snap = snapshot(vec![renamed]);
        let a = Assessor::new(&reg, &snap)
            .with_facts(&from_python)
            .assess(&snap.sockets[0]);
        let h = a
            .hints
            .iter()
            .find(|h| h.id == "name-claims-daemon")
            .unwrap();
        assert!(
            h.title.contains("from package python3.11-minimal"),
            "{}",
            h.title
        );
    }

    #[test]
    fn a_published_port_names_the_container_behind_docker_proxy() {
        let mut proxy = owner(60, "docker-proxy", 0, "/usr/bin/docker-proxy");
        proxy.cmdline = [
            "/usr/bin/docker-proxy",
            "-proto",
            "tcp",
            "-host-ip",
            "0.0.0.0",
            "-host-port",
            "8080",
            "-container-ip",
            "172.17.0.2",
            "-container-port",
            "80",
        ]
        .map(String::from)
        .to_vec();
        let host = tcp("0.0.0.0", 8080, proxy);
        let mut inside = tcp("0.0.0.0", 80, owner(61, "nginx", 0, "/usr/sbin/nginx"));
        inside.netns = Some(NetNs {
            inode: 4026532999,
            name: None,
            pid: Some(61),
        });
        let mut nginx = facts(61, package("nginx", "/usr/sbin/nginx"));
        nginx.container = Fact::Known(Some(Container {
            runtime: Runtime::Docker,
            id: "ab".repeat(32),
            name: Fact::Known("web".into()),
            pod_name: None,
            pod_namespace: None,
        }));
        let mut t = table(vec![nginx]);
        t.set_label(4026532999, "container web");
        let reg = Registry::embedded();
        let snap = snapshot(vec![host, inside]);
        let a = Assessor::new(&reg, &snap)
            .with_facts(&t)
            .assess(&snap.sockets[0]);
        let h = a
            .hints
            .iter()
            .find(|h| h.id == "container-published-port")
            .expect("the published port is named");
        assert_eq!(h.title, "8080/tcp is published by container web");
        // Unnamed namespaces name nothing.
        let a = Assessor::new(&reg, &snap)
            .with_facts(&FactsTable::default())
            .assess(&snap.sockets[0]);
        assert!(!a.hints.iter().any(|h| h.id == "container-published-port"));
    }
}
