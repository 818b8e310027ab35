//! The facts where a user sees them, through the real binary: `list --json`, `list --csv`,
//! `explain` and `snapshot`/`view`/`diff`, for listeners this test starts (Debian's python3.11
//! and copies of it, one moved into a unit cgroup of the v1 `name=systemd` hierarchy, one in an
//! `ip netns` sandbox, one seen from a child pid namespace). Every query is narrowed to the
//! test's own pids, ports or namespace, so other listeners on a busy host change nothing.
//!
//! What cannot run here through the binary (a package database with a wrong digest) is driven
//! through the library's report and hints with a dpkg fixture instead.
//!
//! Tests that need root, Debian's python3.11, `ip` or the writable `name=systemd` hierarchy say
//! so and check nothing else where those are missing.

mod support;

use support::cgroup::{systemd_hierarchy, Cgroup};
use support::is_root;
use support::python::{debian_python, Listener, LISTEN, PYTHON};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn portscope(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_portscope"))
        .args(args)
        .env("COLUMNS", "200")
        .output()
        .expect("run portscope");
    assert!(
        out.status.success(),
        "portscope {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `list --json --pid PID` plus `extra`: the one row on `port`.
fn listed_row(pid: u32, port: u16, extra: &[&str]) -> (Value, Value) {
    let pid_s = pid.to_string();
    let mut args = vec!["list", "--json", "--pid", &pid_s];
    args.extend_from_slice(extra);
    let v: Value = serde_json::from_slice(&portscope(&args).stdout).unwrap();
    let row = v["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["local_port"] == port)
        .unwrap_or_else(|| panic!("no row for port {port}: {v}"))
        .clone();
    (row, v)
}

fn hint_ids(row: &Value) -> Vec<String> {
    row["hints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn debian_python_shows_its_package_unmodified_in_list_and_explain() {
    if !debian_python() {
        return;
    }
    let l = Listener::start(Path::new(PYTHON), LISTEN);
    let (row, doc) = listed_row(l.pid(), l.port, &[]);
    assert_eq!(row["package"], "python3.11-minimal", "{row}");
    assert_eq!(row["provenance"], "package");
    // The listing does not hash: integrity is not checked without --verify.
    assert_eq!(row["integrity"], Value::Null);
    assert_eq!(
        doc["facts"][l.pid().to_string()]["package"]["value"]["name"],
        "python3.11-minimal"
    );
    let (verified, _) = listed_row(l.pid(), l.port, &["--verify"]);
    assert_eq!(verified["integrity"], "unmodified", "{verified}");

    let csv = portscope(&["list", "--csv", "--pid", &l.pid().to_string()]).stdout;
    let mut reader = csv::Reader::from_reader(csv.as_slice());
    let header = reader.headers().unwrap().clone();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let record = reader
        .records()
        .map(Result::unwrap)
        .find(|r| r[at("local_port")] == l.port.to_string())
        .expect("our CSV record");
    assert_eq!(&record[at("package")], "python3.11-minimal");
    assert_eq!(&record[at("provenance")], "package");

    let explained = text(&portscope(&["explain", &format!("pid:{}", l.pid())]));
    assert!(
        explained.contains("✓ from package python3.11-minimal, unmodified"),
        "{explained}"
    );
    // The ancestry: the listener, then this test, up to init.
    let ancestry = &explained[explained.find("\nAncestry\n").expect("an ancestry section")..];
    assert!(
        ancestry.contains(&format!("  {} python3.11 (", l.pid())),
        "{ancestry}"
    );
    assert!(
        ancestry.contains(&format!("← {} ", std::process::id())),
        "{ancestry}"
    );
    assert!(ancestry.contains("← 1 "), "{ancestry}");
    assert!(explained.contains("namespace         host"), "{explained}");
}

/// A copy of Debian's python3.11 in `dir`, executable by everyone.
fn python_copy(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let copy = dir.join("python3.11");
    std::fs::copy(PYTHON, &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    copy
}

#[test]
fn a_copy_is_from_no_package_and_one_in_a_system_path_is_a_warning() {
    if !debian_python() {
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let l = Listener::start(&python_copy(temp.path()), LISTEN);
    let (row, _) = listed_row(l.pid(), l.port, &[]);
    assert_eq!(row["package"], Value::Null, "{row}");
    assert_eq!(row["provenance"], "not-packaged", "{row}");
    let explained = text(&portscope(&["explain", &format!("pid:{}", l.pid())]));
    assert!(
        explained.contains("not from any package:") && explained.contains("temporary directory"),
        "{explained}"
    );

    // The same file where only packages should put files: the warning hint.
    if !is_root() {
        eprintln!("skipped (system path part): writing under /usr/lib needs root");
        return;
    }
    let dir = PathBuf::from(format!("/usr/lib/portscope-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    struct Remove(PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _remove = Remove(dir.clone());
    let l = Listener::start(&python_copy(&dir), LISTEN);
    let (row, _) = listed_row(l.pid(), l.port, &[]);
    assert_eq!(row["provenance"], "not-packaged", "{row}");
    let ids = hint_ids(&row);
    assert!(ids.iter().any(|i| i == "exe-not-packaged"), "{ids:?}");
    let flagged = row["hints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == "exe-not-packaged")
        .unwrap();
    assert_eq!(flagged["severity"], "warning");
}

#[test]
fn a_python_calling_itself_sshd_is_refused_by_its_package() {
    if !debian_python() {
        return;
    }
    // prctl(PR_SET_NAME) through /proc: the process's name becomes sshd.
    let script = format!("open('/proc/self/comm', 'w').write('sshd')\n{LISTEN}");
    let l = Listener::start(Path::new(PYTHON), &script);
    let (row, _) = listed_row(l.pid(), l.port, &[]);
    assert_eq!(row["process"], "sshd", "{row}");
    assert!(
        hint_ids(&row).iter().any(|i| i == "name-claims-daemon"),
        "{row}"
    );
    let explained = text(&portscope(&["explain", &format!("pid:{}", l.pid())]));
    assert!(
        explained.contains(
            "calls itself \"sshd\" but runs /usr/bin/python3.11, from package python3.11-minimal"
        ),
        "{explained}"
    );
}

#[test]
fn a_listener_in_a_service_cgroup_shows_that_unit() {
    let Some(mount) = systemd_hierarchy() else {
        return;
    };
    let python = if Path::new(PYTHON).exists() {
        PathBuf::from(PYTHON)
    } else {
        PathBuf::from("python3")
    };
    let l = Listener::start(&python, LISTEN);
    let unit = format!("portscope-cli-{}.service", std::process::id());
    let _cgroup = Cgroup::enter(&mount, &format!("system.slice/{unit}"), l.pid());
    let (row, _) = listed_row(l.pid(), l.port, &[]);
    assert_eq!(row["unit"], unit.as_str(), "{row}");
    assert_eq!(row["container"], Value::Null);
    let table = text(&portscope(&["list", "--pid", &l.pid().to_string()]));
    assert!(table.contains("UNIT/CONTAINER"), "{table}");
    assert!(table.contains(&unit), "{table}");
    let explained = text(&portscope(&["explain", &format!("pid:{}", l.pid())]));
    assert!(
        explained.contains(&format!("unit              {unit}")),
        "{explained}"
    );
}

/// An `ip netns` namespace of this test's own, deleted when dropped.
struct Sandbox {
    name: String,
}

impl Sandbox {
    fn new() -> Option<Sandbox> {
        if !is_root() {
            eprintln!("skipped: network namespaces need root");
            return None;
        }
        let name = format!("portscope-facts-{}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        let added = Command::new("ip").args(["netns", "add", &name]).status();
        if !added.is_ok_and(|s| s.success()) {
            eprintln!("skipped: `ip netns add` is not available");
            return None;
        }
        let sandbox = Sandbox { name };
        let up = Command::new("ip")
            .args([
                "netns",
                "exec",
                &sandbox.name,
                "ip",
                "link",
                "set",
                "lo",
                "up",
            ])
            .status()
            .unwrap();
        assert!(up.success());
        Some(sandbox)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

#[test]
fn a_listener_in_an_ip_netns_is_listed_with_its_namespace_only_when_asked() {
    let Some(sandbox) = Sandbox::new() else {
        return;
    };
    // Every interface of the sandbox, on a port in the dynamic range: hints that apply on the
    // host apply in there too.
    let mut child = Command::new("ip")
        .args(["netns", "exec", &sandbox.name])
        .arg(support::hold_sockets_path())
        .args(["--tcp", "0.0.0.0:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let mut port = 0;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line == "ready" {
            break;
        }
        if let Some(addr) = line.strip_prefix("tcp ") {
            port = addr.parse::<std::net::SocketAddr>().unwrap().port();
        }
    }
    assert_ne!(port, 0, "the holder bound a port");
    let pid = child.id();

    let (row, _) = listed_row(pid, port, &["--netns", &sandbox.name]);
    assert_eq!(row["netns"], sandbox.name.as_str(), "{row}");
    assert_eq!(row["pids"], serde_json::json!([pid]));
    let ids = hint_ids(&row);
    assert!(ids.iter().any(|i| i == "exposed-all-interfaces"), "{ids:?}");
    // A port the kernel picked: in the ephemeral range, as a host listener's would be.
    assert!(
        ids.iter().any(|i| i == "ephemeral-range-listener"),
        "{ids:?}"
    );

    // The host view (the default) leaves it out and says so.
    let out = Command::new(env!("CARGO_BIN_EXE_portscope"))
        .args(["list", "--json", "--pid", &pid.to_string()])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sockets"], serde_json::json!([]), "{v}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--netns all"), "{stderr}");
    // `all`, and the explorer's free text, find it by its tag.
    let (row, _) = listed_row(pid, port, &["--netns", "all"]);
    assert_eq!(row["netns"], sandbox.name.as_str());
    let (row, _) = listed_row(pid, port, &["--netns", "all", "--grep", &sandbox.name]);
    assert_eq!(row["local_port"], port);
    // A bad value is a usage error in one line.
    let bad = Command::new(env!("CARGO_BIN_EXE_portscope"))
        .args(["list", "--netns", " "])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));

    drop(stdin);
    let _ = child.wait();
}

#[test]
fn owners_in_another_pid_namespace_are_named_so_in_explain() {
    if !is_root() {
        eprintln!("skipped: creating a pid namespace needs root");
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = Command::new("unshare")
        .args(["-pf", "--mount-proc"])
        .arg(env!("CARGO_BIN_EXE_portscope"))
        .args(["explain", &format!("{port}/tcp")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("another pid namespace"), "{text}");
    drop(listener);
}

/// A snapshot of this machine, as `portscope snapshot` writes it.
fn snapshot_json() -> Value {
    serde_json::from_slice(&portscope(&["snapshot"]).stdout).unwrap()
}

#[test]
fn snapshots_carry_the_facts_and_diff_tells_a_changed_unit() {
    if !debian_python() {
        return;
    }
    let l = Listener::start(Path::new(PYTHON), LISTEN);
    let mut v = snapshot_json();
    assert_eq!(v["schema_version"], 3);
    let owners = v["facts"]["owners"].as_array().unwrap();
    let ours = owners
        .iter()
        .find(|o| o["pid"] == l.pid())
        .expect("our listener's facts are recorded");
    assert_eq!(ours["package"]["value"]["name"], "python3.11-minimal");

    // The same listener run by one unit, then another: a change of what runs it.
    let set_unit = |v: &mut Value, unit: &str| {
        for o in v["facts"]["owners"].as_array_mut().unwrap() {
            if o["pid"] == l.pid() {
                o["unit"] = serde_json::json!({"state": "known", "value": {"name": unit, "user_manager": null}});
            }
        }
    };
    set_unit(&mut v, "one.service");
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.json");
    std::fs::write(&old, v.to_string()).unwrap();
    // view without a terminal prints the recorded facts as list does.
    let viewed: Value =
        serde_json::from_slice(&portscope(&["--json", "view", old.to_str().unwrap()]).stdout)
            .unwrap();
    let row = viewed["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["local_port"] == l.port && r["pids"] == serde_json::json!([l.pid()]))
        .expect("our row in the view");
    assert_eq!(row["package"], "python3.11-minimal", "{row}");

    set_unit(&mut v, "other.service");
    let new = dir.path().join("new.json");
    std::fs::write(&new, v.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portscope"))
        .args(["diff", old.to_str().unwrap(), new.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a change");
    let report = String::from_utf8_lossy(&out.stdout);
    let line = report
        .lines()
        .find(|line| line.contains(&format!(":{} ", l.port)))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(line.contains("unit one.service -> other.service"), "{line}");
}

#[test]
fn a_schema_2_snapshot_opens_with_the_facts_unknown() {
    if !is_root() {
        eprintln!("skipped: the snapshot must see its own listener's owner");
        return;
    }
    let holder = support::hold(&["--tcp", "127.0.0.1:0"]);
    let port = holder.tcp[0].port();
    let mut v = snapshot_json();
    v["schema_version"] = 2.into();
    v.as_object_mut().unwrap().remove("facts");
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.json");
    std::fs::write(&old, v.to_string()).unwrap();
    let viewed: Value =
        serde_json::from_slice(&portscope(&["--json", "view", old.to_str().unwrap()]).stdout)
            .unwrap();
    let row = viewed["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["local_port"] == port && r["pids"] == serde_json::json!([holder.pid()]))
        .expect("our row in the view");
    assert_eq!(row["package"], Value::Null);
    assert_eq!(
        row["unknown"]["package"], "not recorded in this snapshot",
        "{row}"
    );
    assert_eq!(row["unknown"]["unit"], "not recorded in this snapshot");
    // diff against itself: the unknown facts are no change.
    let out = Command::new(env!("CARGO_BIN_EXE_portscope"))
        .args(["diff", old.to_str().unwrap(), old.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A dpkg database under `dir` listing `path` in `package` with `md5sums` as its digest line.
fn dpkg_fixture(dir: &Path, package: &str, path: &str, md5sums: &str) -> PathBuf {
    let info = dir.join("info");
    std::fs::create_dir_all(&info).unwrap();
    std::fs::write(info.join(format!("{package}.list")), format!("{path}\n")).unwrap();
    std::fs::write(info.join(format!("{package}.md5sums")), md5sums).unwrap();
    std::fs::write(dir.join("status"), "").unwrap();
    dir.to_path_buf()
}

/// A package database (a fixture: the real one cannot be made to lie here) recording another
/// digest for the running python: the detail says MODIFIED as an alert and the hint fires.
#[test]
fn a_wrong_digest_is_a_modified_binary_in_the_detail_and_the_hints() {
    use portscope::facts::{Depth, FactsCache, Roots};
    use portscope::hints::{Assessor, Severity};
    use portscope::report::{self, Item, Tone};
    if !debian_python() {
        return;
    }
    let l = Listener::start(Path::new(PYTHON), LISTEN);
    let db = tempfile::tempdir().unwrap();
    let recorded = PYTHON.trim_start_matches('/');
    let dpkg = dpkg_fixture(
        db.path(),
        "python3.11-minimal",
        PYTHON,
        &format!("0123456789abcdef0123456789abcdef  {recorded}\n"),
    );
    let snapshot = support::python::host_snapshot();
    let socket = snapshot
        .sockets
        .iter()
        .find(|s| s.local_port == l.port && s.owners.iter().any(|o| o.pid == l.pid()))
        .expect("our listener");
    let mut cache = FactsCache::new(Roots {
        dpkg,
        ..Roots::system()
    });
    let mut table = portscope::facts::FactsTable::default();
    cache.deepen(&mut table, socket, Depth::Verify);
    let registry = portscope::registry::Registry::embedded();
    let a = Assessor::new(&registry, &snapshot)
        .with_facts(&table)
        .assess(socket);
    let hint = a
        .hints
        .iter()
        .find(|h| h.id == "exe-modified")
        .expect("the alert");
    assert_eq!(hint.severity, Severity::Alert);
    assert_eq!(a.hints[0].id, "exe-modified", "the alert comes first");
    let detail = report::detail::socket_with_facts(&snapshot.host, socket, &a, false, &table);
    let package = detail.sections[0]
        .items
        .iter()
        .find_map(|i| match i {
            Item::Field {
                label: "package",
                value,
                tone,
            } => Some((value.clone(), *tone)),
            _ => None,
        })
        .expect("a package line in the verdict");
    assert!(
        package
            .0
            .contains("✗ from package python3.11-minimal, MODIFIED"),
        "{package:?}"
    );
    assert_eq!(package.1, Tone::Severity(Severity::Alert));
}

/// The explorer's detail pane: the refresh's cheap facts at once, then it asks the collector
/// thread (never the UI thread) for the selected socket's deeper facts and shows them.
#[test]
fn the_explorers_detail_pane_shows_facts_and_asks_for_the_deeper_ones() {
    use portscope::facts::{Depth, FactsCache, FactsTable, Roots};
    use portscope::report::Item;
    use portscope::tui::{Action, App, Refresh};
    if !debian_python() {
        return;
    }
    let l = Listener::start(Path::new(PYTHON), LISTEN);
    let mut snapshot = support::python::host_snapshot();
    // Only our listener, so the selection is ours whatever else listens here.
    snapshot
        .sockets
        .retain(|s| s.owners.iter().any(|o| o.pid == l.pid()));
    assert_eq!(snapshot.sockets.len(), 1);
    let registry: &'static portscope::registry::Registry =
        Box::leak(Box::new(portscope::registry::Registry::embedded()));
    let mut cache = FactsCache::new(Roots::system());
    let cheap = cache.table_of(&snapshot, Depth::Cheap);
    let socket = snapshot.sockets[0].clone();
    let mut app = App::new(registry, "live", false, 2.0);
    app.update(Action::Refreshed(Box::new(Refresh::assess_since(
        registry, snapshot, cheap, None,
    ))));
    let fields = |app: &App| -> Vec<(String, String)> {
        app.detail()
            .unwrap()
            .sections
            .iter()
            .flat_map(|s| s.items.iter())
            .filter_map(|i| match i {
                Item::Field { label, value, .. } => Some((label.to_string(), value.clone())),
                _ => None,
            })
            .collect()
    };
    let package = |app: &App| {
        fields(app)
            .into_iter()
            .find(|(l, _)| l == "package")
            .map(|(_, v)| v)
            .unwrap()
    };
    assert!(
        package(&app).starts_with("from package python3.11-minimal, integrity not checked"),
        "{}",
        package(&app)
    );
    // The detail asks for the deeper facts of the socket it shows, once.
    let asked = app
        .take_describe()
        .expect("a request for the selected socket");
    assert_eq!(asked.inode, socket.inode);
    assert!(app.take_describe().is_none());
    // What the collector thread answers with.
    let mut deep = FactsTable::default();
    cache.deepen(&mut deep, &asked, Depth::Verify);
    app.update(Action::Described(asked.inode, Box::new(deep)));
    assert_eq!(
        package(&app),
        "✓ from package python3.11-minimal, unmodified"
    );
    let started = fields(&app)
        .into_iter()
        .find(|(l, _)| l == "started by")
        .unwrap()
        .1;
    assert!(!started.starts_with("unknown"), "{started}");
}

/// Without root, `doctor` says which namespaces could not be entered and how to see them.
#[test]
fn doctor_without_root_names_the_namespaces_it_cannot_enter() {
    use std::os::unix::fs::PermissionsExt;
    let Some(sandbox) = Sandbox::new() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("portscope");
    std::fs::copy(env!("CARGO_BIN_EXE_portscope"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = loop {
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .args(["doctor", "--json"])
            .env("HOME", "/nonexistent")
            .output()
            .unwrap();
        if !String::from_utf8_lossy(&out.stderr).contains("Text file busy") {
            break out;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let checks: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let text = checks.to_string();
    let other = checks
        .as_array()
        .or_else(|| checks["checks"].as_array())
        .unwrap()
        .iter()
        .find(|c| c["check"] == "other-netns")
        .unwrap_or_else(|| panic!("{text}"))
        .clone();
    assert_eq!(other["status"], "warn", "{other}");
    let detail = other["detail"].as_str().unwrap();
    assert!(
        detail.contains(&sandbox.name) || detail.contains(" more)"),
        "{detail}"
    );
    assert!(
        other["fix"]
            .as_str()
            .unwrap()
            .contains("sudo portscope list --netns all"),
        "{other}"
    );
}
