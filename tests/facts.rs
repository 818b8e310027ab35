//! Facts about real owners on this machine: Debian's python3.11 from its package, unmodified; a
//! copy of it from no package; a dpkg database fixture with a wrong digest; units and containers
//! from real cgroups of the v1 `name=systemd` hierarchy (created per test, named after the test's
//! pid, removed afterwards), container and pod names from runtime metadata fixtures; and the
//! faults that must give "unknown (why)".
//!
//! Tests that need root, the writable `name=systemd` hierarchy or Debian's python3.11 say so and
//! check nothing else where those are missing.

mod support;

use support::cgroup::{systemd_hierarchy, Cgroup};
use support::python::{debian_python, Listener, LISTEN, PYTHON};

use std::path::{Path, PathBuf};
use std::process::Command;

use portscope::facts::{
    Depth, Fact, FactsCache, Integrity, Manager, Place, Provenance, Roots, Runtime,
};
use portscope::sockets::Owner;

/// The listener's owner record, as the collector reads it.
fn owner_of(listener: &Listener) -> Owner {
    let snapshot = support::python::host_snapshot();
    snapshot
        .sockets
        .iter()
        .filter(|s| s.local_port == listener.port)
        .flat_map(|s| s.owners.iter())
        .find(|o| o.pid == listener.pid())
        .cloned()
        .expect("the listener's owner is collected")
}

#[test]
fn debian_python_is_from_its_package_and_unmodified() {
    if !debian_python() {
        return;
    }
    let listener = Listener::start(Path::new(PYTHON), LISTEN);
    let mut facts = FactsCache::new(Roots::system());
    let owner = owner_of(&listener);
    let cheap = facts.establish(&owner, Depth::Cheap);
    let Fact::Known(Provenance::Package(package)) = &cheap.package else {
        panic!("{:?}", cheap.package);
    };
    assert_eq!(package.manager, Manager::Dpkg);
    assert_eq!(package.name, "python3.11-minimal");
    assert_eq!(cheap.integrity, None, "no hashing unless asked");

    let verified = facts.establish(&owner, Depth::Verify);
    assert_eq!(verified.integrity, Some(Fact::Known(Integrity::Unmodified)));
    assert_eq!(
        verified.provenance_line(),
        "from package python3.11-minimal, unmodified"
    );
    // Ancestry: the listener, then this test, up to init.
    let detail = facts.establish(&owner, Depth::Detail);
    assert_eq!(detail.ancestry[0].pid, listener.pid());
    assert_eq!(detail.ancestry[0].exe.as_deref(), Some(PYTHON));
    assert_eq!(detail.ancestry[1].pid, std::process::id());
    assert_eq!(detail.ancestry.last().unwrap().pid, 1);
    assert!(detail.session.is_some());
}

#[test]
fn a_copy_in_a_temp_dir_is_from_no_package_and_a_replaced_one_is_told() {
    if !debian_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("python3.11");
    std::fs::copy(PYTHON, &copy).unwrap();
    let listener = Listener::start(&copy, LISTEN);
    let owner = owner_of(&listener);
    let mut facts = FactsCache::new(Roots::system());
    let f = facts.establish(&owner, Depth::Verify);
    let place = Place::of(&copy.to_string_lossy());
    assert_eq!(f.package, Fact::Known(Provenance::NotPackaged { place }));
    assert_eq!(f.integrity, Some(Fact::Known(Integrity::NotPackaged)));
    assert!(f.provenance_line().starts_with("not from any package"));

    // Replace the file on disk under the running process: it no longer runs what is there.
    std::fs::remove_file(&copy).unwrap();
    std::fs::copy(PYTHON, &copy).unwrap();
    let owner = owner_of(&listener);
    let f = FactsCache::new(Roots::system()).establish(&owner, Depth::Verify);
    assert_eq!(f.integrity, Some(Fact::Known(Integrity::Replaced)));
}

/// A dpkg admin directory claiming `path` for `package` with this md5sums content.
fn dpkg_fixture(dir: &Path, package: &str, path: &str, md5sums: &str) -> PathBuf {
    let dpkg = dir.join("dpkg");
    std::fs::create_dir_all(dpkg.join("info")).unwrap();
    std::fs::write(
        dpkg.join("info").join(format!("{package}.list")),
        format!("/.\n/usr\n/usr/bin\n{path}\n"),
    )
    .unwrap();
    std::fs::write(
        dpkg.join("info").join(format!("{package}.md5sums")),
        md5sums,
    )
    .unwrap();
    dpkg
}

#[test]
fn a_wrong_digest_in_the_database_means_modified_and_a_corrupt_one_unknown() {
    if !debian_python() {
        return;
    }
    let listener = Listener::start(Path::new(PYTHON), LISTEN);
    let owner = owner_of(&listener);
    let dir = tempfile::tempdir().unwrap();
    let wrong = dpkg_fixture(
        &dir.path().join("wrong"),
        "python3.11-minimal",
        PYTHON,
        "00000000000000000000000000000000  usr/bin/python3.11\n",
    );
    let roots = Roots {
        dpkg: wrong,
        ..Roots::system()
    };
    let f = FactsCache::new(roots).establish(&owner, Depth::Verify);
    assert!(
        matches!(f.integrity, Some(Fact::Known(Integrity::Modified { ref expected, .. })) if expected == "00000000000000000000000000000000"),
        "{:?}",
        f.integrity
    );
    assert!(f.is_modified());

    let corrupt = dpkg_fixture(
        &dir.path().join("corrupt"),
        "python3.11-minimal",
        PYTHON,
        "not-a-digest  usr/bin/python3.11\n",
    );
    let f = FactsCache::new(Roots {
        dpkg: corrupt,
        ..Roots::system()
    })
    .establish(&owner, Depth::Verify);
    let why = f.integrity.unwrap().why().unwrap().to_string();
    assert!(why.contains("corrupt"), "{why}");

    // An unreadable database: its info directory is not a directory.
    let broken = dir.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("info"), b"").unwrap();
    let f = FactsCache::new(Roots {
        dpkg: broken,
        ..Roots::system()
    })
    .establish(&owner, Depth::Verify);
    let why = f
        .package
        .why()
        .expect("unknown, not 'not from any package'");
    assert!(why.contains("cannot read dpkg"), "{why}");
    assert!(f.integrity.unwrap().why().is_some());

    // One list that cannot be read (a directory where a file should be): the path may be in it.
    let partial = dpkg_fixture(&dir.path().join("partial"), "other", "/usr/bin/other", "");
    std::fs::create_dir(partial.join("info/unreadable.list")).unwrap();
    let f = FactsCache::new(Roots {
        dpkg: partial,
        ..Roots::system()
    })
    .establish(&owner, Depth::Cheap);
    assert!(
        f.package
            .why()
            .is_some_and(|w| w.contains("could not be read")),
        "{:?}",
        f.package
    );
}

fn python_or_self() -> PathBuf {
    if Path::new(PYTHON).exists() {
        PathBuf::from(PYTHON)
    } else {
        PathBuf::from("python3")
    }
}

#[test]
fn a_process_in_a_service_cgroup_names_that_unit_and_its_socket_unit() {
    let Some(mount) = systemd_hierarchy() else {
        return;
    };
    let listener = Listener::start(&python_or_self(), LISTEN);
    let unit = format!("portscope-test-{}.service", std::process::id());
    let _cgroup = Cgroup::enter(&mount, &format!("system.slice/{unit}"), listener.pid());
    let owner = owner_of(&listener);
    let mut facts = FactsCache::new(Roots::system());
    let f = facts.establish(&owner, Depth::Cheap);
    assert_eq!(f.unit.known().map(|u| u.name.as_str()), Some(unit.as_str()));
    assert_eq!(f.container, Fact::Known(None));
    assert_eq!(f.pod, Fact::Known(None));

    // A unit directory whose portscope-test-PID.socket declares the listener's port.
    let units = tempfile::tempdir().unwrap();
    let socket_unit = unit.replace(".service", ".socket");
    std::fs::write(
        units.path().join(&socket_unit),
        format!("[Socket]\nListenStream=127.0.0.1:{}\n", listener.port),
    )
    .unwrap();
    let facts = FactsCache::new(Roots {
        unit_dirs: vec![units.path().to_path_buf()],
        ..Roots::system()
    });
    let found = facts.socket_unit(&f, &owner, listener.port, false);
    assert_eq!(
        found.known().cloned().flatten().map(|u| u.name),
        Some(socket_unit.clone())
    );
    // Another port: that socket unit does not hold it.
    let other = facts.socket_unit(&f, &owner, listener.port.wrapping_add(1), false);
    assert_eq!(other, Fact::Known(None));
}

/// 64 lowercase hex characters, unique to this test process and `n`.
fn container_id(n: u32) -> String {
    format!("{:032x}{:032x}", std::process::id(), n)
}

fn docker_fixture(root: &Path, id: &str, json: &[u8]) {
    let dir = root.join("containers").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.v2.json"), json).unwrap();
}

#[test]
fn docker_shaped_cgroups_name_the_container_and_bad_metadata_is_unknown() {
    let Some(mount) = systemd_hierarchy() else {
        return;
    };
    let docker = tempfile::tempdir().unwrap();
    let (good, huge, junk) = (container_id(1), container_id(2), container_id(3));
    let name = format!("web-{}", std::process::id());
    docker_fixture(
        docker.path(),
        &good,
        format!(r#"{{"ID":"{good}","Name":"/{name}","Config":{{"Labels":{{}}}}}}"#).as_bytes(),
    );
    docker_fixture(docker.path(), &junk, b"{\"Name\": ");
    let dir = docker.path().join("containers").join(&huge);
    std::fs::create_dir_all(&dir).unwrap();
    let big = std::fs::File::create(dir.join("config.v2.json")).unwrap();
    big.set_len(64 * 1024 * 1024).unwrap(); // sparse: 64 MiB of zeros
    let roots = Roots {
        docker: docker.path().to_path_buf(),
        ..Roots::system()
    };

    let mut names = Vec::new();
    for id in [&good, &huge, &junk] {
        let listener = Listener::start(&python_or_self(), LISTEN);
        let cgroup = Cgroup::enter(
            &mount,
            &format!(
                "portscope-test-{}.slice/docker-{id}.scope",
                std::process::id()
            ),
            listener.pid(),
        );
        let owner = owner_of(&listener);
        let f = FactsCache::new(roots.clone()).establish(&owner, Depth::Cheap);
        let c = f.container.known().cloned().flatten().expect("a container");
        assert_eq!((c.runtime, c.id.as_str()), (Runtime::Docker, id.as_str()));
        assert_eq!(
            f.unit.known().map(|u| u.name.clone()),
            Some(format!("docker-{id}.scope"))
        );
        names.push(c.name);
        drop(cgroup);
    }
    assert_eq!(names[0], Fact::Known(name));
    assert!(
        names[1].why().unwrap().contains("larger than"),
        "{:?}",
        names[1]
    );
    assert!(
        names[2].why().unwrap().contains("not valid"),
        "{:?}",
        names[2]
    );
}

#[test]
fn kubernetes_shaped_cgroups_name_the_pod() {
    let Some(mount) = systemd_hierarchy() else {
        return;
    };
    let docker = tempfile::tempdir().unwrap();
    let kubelet = tempfile::tempdir().unwrap();
    let labelled = container_id(10);
    let bare = container_id(11);
    docker_fixture(
        docker.path(),
        &labelled,
        br#"{"Name":"/k8s_api_api-7d9f_shop_x_0","Config":{"Labels":{"io.kubernetes.pod.name":"api-7d9f","io.kubernetes.pod.namespace":"shop"}}}"#,
    );
    let pid = std::process::id();
    let uid1 = format!("{:08x}-0000-4000-8000-{:012x}", pid, 1);
    let uid2 = format!("{:08x}-0000-4000-8000-{:012x}", pid, 2);
    let pod_dir = kubelet.path().join("pods").join(&uid2);
    std::fs::create_dir_all(&pod_dir).unwrap();
    std::fs::write(
        pod_dir.join("etc-hosts"),
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n10.1.2.3\tcache-0\n",
    )
    .unwrap();
    let roots = Roots {
        docker: docker.path().to_path_buf(),
        kubelet: kubelet.path().to_path_buf(),
        ..Roots::system()
    };

    let listener = Listener::start(&python_or_self(), LISTEN);
    let cgroup = Cgroup::enter(
        &mount,
        &format!("kubepods-{pid}/burstable/pod{uid1}/{labelled}"),
        listener.pid(),
    );
    let f = FactsCache::new(roots.clone()).establish(&owner_of(&listener), Depth::Cheap);
    let pod = f.pod.known().cloned().flatten().expect("a pod");
    assert_eq!(
        (
            pod.uid.as_str(),
            pod.namespace.as_deref(),
            pod.name.known().map(String::as_str)
        ),
        (uid1.as_str(), Some("shop"), Some("api-7d9f"))
    );
    drop(cgroup);

    // No runtime metadata: the kubelet's etc-hosts gives the pod's hostname.
    let listener = Listener::start(&python_or_self(), LISTEN);
    let _cgroup = Cgroup::enter(
        &mount,
        &format!("kubepods-{pid}/besteffort/pod{uid2}/{bare}"),
        listener.pid(),
    );
    let f = FactsCache::new(roots).establish(&owner_of(&listener), Depth::Cheap);
    let pod = f.pod.known().cloned().flatten().expect("a pod");
    assert_eq!(pod.uid, uid2);
    assert_eq!(pod.name, Fact::Known("cache-0".into()));
    assert_eq!(pod.namespace, None);
}

#[test]
fn a_hostile_cgroup_name_gives_unknown_not_a_unit() {
    let Some(mount) = systemd_hierarchy() else {
        return;
    };
    let listener = Listener::start(&python_or_self(), LISTEN);
    // A real cgroup whose name holds ESC (the kernel refuses a newline; see below for that).
    let name = format!("portscope-test-{}\x1b[31m.service", std::process::id());
    let _cgroup = Cgroup::enter(
        &mount,
        &format!("portscope-test-{}-esc.slice/{name}", std::process::id()),
        listener.pid(),
    );
    let f = FactsCache::new(Roots::system()).establish(&owner_of(&listener), Depth::Cheap);
    assert!(f.unit.why().is_some(), "{:?}", f.unit);
    assert_eq!(
        f.cgroup.known().map(|c| c.contains('\x1b')),
        Some(true),
        "kept raw"
    );

    // A forged line structure (what a newline in a cgroup name would make): a fixture proc.
    let proc = tempfile::tempdir().unwrap();
    let fake = proc.path().join(listener.pid().to_string());
    std::fs::create_dir_all(&fake).unwrap();
    std::fs::write(
        fake.join("cgroup"),
        "9:name=systemd:/evil\n9:name=systemd:/system.slice/ssh.service\n0::/\n",
    )
    .unwrap();
    let f = FactsCache::new(Roots {
        proc: proc.path().to_path_buf(),
        ..Roots::system()
    })
    .establish(&owner_of(&listener), Depth::Cheap);
    assert!(
        f.unit.why().is_some_and(|w| w.contains("twice")),
        "{:?}",
        f.unit
    );
    assert!(f.container.why().is_some());
}

#[test]
fn a_container_names_the_network_namespace_its_process_lives_in() {
    let Some(mount) = systemd_hierarchy() else {
        return;
    };
    let docker = tempfile::tempdir().unwrap();
    let id = container_id(20);
    let name = format!("db-{}", std::process::id());
    docker_fixture(
        docker.path(),
        &id,
        format!(r#"{{"Name":"/{name}"}}"#).as_bytes(),
    );
    let mut child = Command::new("unshare")
        .args(["-n", "sleep", "60"])
        .spawn()
        .expect("unshare");
    let _cgroup = Cgroup::enter(
        &mount,
        &format!(
            "portscope-test-{}-ns.slice/docker-{id}.scope",
            std::process::id()
        ),
        child.id(),
    );
    let inode = loop {
        // unshare execs sleep once the namespace exists.
        let link = std::fs::read_link(format!("/proc/{}/ns/net", child.id())).unwrap();
        let mine = std::fs::read_link("/proc/self/ns/net").unwrap();
        if link != mine {
            let text = link.to_string_lossy().into_owned();
            break text
                .trim_start_matches("net:[")
                .trim_end_matches(']')
                .parse::<u64>()
                .unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let ns = portscope::sockets::NetNs {
        inode,
        name: None,
        pid: Some(child.id()),
    };
    let mut facts = FactsCache::new(Roots {
        docker: docker.path().to_path_buf(),
        ..Roots::system()
    });
    assert_eq!(facts.namespace_label(&ns), format!("container {name}"));
    let _ = child.kill();
    let _ = child.wait();
}
