//! Snapshots taken, viewed and compared: `snapshot` writes versioned JSON (atomically with -o),
//! `view` shows the same rows the live `list` does, `diff` reports drift with cron-friendly exit
//! codes, and bad snapshot files get one clear line and exit 2.

mod support;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::net::TcpListener;
use std::process::{Command, Stdio};

use assert_cmd::cargo::cargo_bin;
use portscope::registry::Registry;
use portscope::sockets::{Collector, FixtureCollector};
use portscope::tui::{draw, Action, App, Refresh, Scroll, Theme};
use proptest::prelude::*;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::Value;

fn portscope(args: &[&str]) -> std::process::Output {
    Command::new(cargo_bin("portscope"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn snapshot_to_a_file_is_versioned_complete_and_atomic() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("base.json");
    std::fs::write(&file, "an older file this replaces").unwrap();

    let out = portscope(&["snapshot", "-o", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "-o writes the file, not stdout");
    let v: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(v["schema_version"], 3);
    assert_eq!(v["host"]["uid"], unsafe { libc::geteuid() });
    let ours = v["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s["local_port"] == port && s["protocol"] == "tcp")
        .expect("our listener");
    // Ours among its owners (a child another test spawns holds our fds between fork and exec).
    assert!(v["sockets"][ours]["owners"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["pid"] == std::process::id()));
    // Hints travel with the file, by socket index.
    assert!(v["hints"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["socket"].as_u64().unwrap() < v["sockets"].as_array().unwrap().len() as u64));
    // Written through a temp file and a rename: nothing else is left in the directory.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [std::ffi::OsString::from("base.json")]);
    drop(listener);
}

#[test]
fn a_snapshot_file_is_compact_even_when_run_from_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.json");
    let mut s = support::pty::start(&["snapshot", "-o", file.to_str().unwrap()], &[], 80, 24);
    let status = s.wait_exit(std::time::Duration::from_secs(60));
    assert!(status.is_some_and(|st| st.success()), "{}", s.screen());
    // A file is for programs: one line, as when standard output is a pipe, not the terminal's
    // indented layout.
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 1, "{}", &text[..text.len().min(300)]);
    serde_json::from_str::<Value>(&text).expect("valid JSON");
}

#[test]
fn a_snapshot_viewed_shows_the_same_rows_as_the_live_list() {
    let holder = support::hold(&[
        "--name",
        "roundtrip",
        "--tcp",
        "127.0.0.1:0",
        "--tcp",
        "[::1]:0",
        "--udp",
        "127.0.0.1:0",
    ]);
    let snap = portscope(&["snapshot"]);
    assert!(snap.status.success());
    let live = portscope(&["list", "--json", "--pid", &holder.pid().to_string()]);
    let live: Value = serde_json::from_slice(&live.stdout).unwrap();
    let live_rows: BTreeSet<(String, u64)> = live["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["protocol"].as_str().unwrap().to_string(),
                s["local_port"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(live_rows.len(), 3);

    // The explorer on the snapshot, drawn into a TestBackend.
    let registry: &'static Registry = Box::leak(Box::new(Registry::embedded()));
    let snapshot = FixtureCollector::from_json(&snap.stdout, "snapshot")
        .unwrap()
        .collect()
        .unwrap();
    let mut app = App::new(registry, "snapshot", true, 0.0);
    app.update(Action::Refreshed(Box::new(Refresh::assess(
        registry,
        snapshot.clone(),
    ))));
    // The machine may hold thousands of other listeners: filter the pane to the holder's name,
    // as a user would with `/` (not its pid: the free text also matches ports and addresses, and
    // a busy host may listen on a port that spells the pid).
    app.update(Action::StartSearch);
    app.update(Action::Paste("roundtrip".into()));
    app.update(Action::Open);
    assert_eq!(app.visible_len(), 3, "the holder's three sockets");
    let mut term = Terminal::new(TestBackend::new(220, 40)).unwrap();
    term.draw(|f| {
        draw(f, &app, Theme { color: false }, &mut Scroll::default());
    })
    .unwrap();
    let buf = term.backend().buffer().clone();
    let lines: Vec<String> = (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect();
    for (proto, port) in &live_rows {
        assert!(
            lines.iter().any(|l| l.contains(&format!(":{port} "))
                && l.contains(proto.as_str())
                && l.contains(&holder.pid().to_string())),
            "{proto} {port} of the live list is not in the viewed snapshot:\n{}",
            lines.join("\n")
        );
    }

    // And `view -` without a terminal prints the snapshot as the list table.
    let mut view = Command::new(cargo_bin("portscope"))
        .args(["view", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    view.stdin.take().unwrap().write_all(&snap.stdout).unwrap();
    let table = String::from_utf8(view.wait_with_output().unwrap().stdout).unwrap();
    for (proto, port) in &live_rows {
        assert!(
            table.lines().any(|l| l.starts_with(proto.as_str())
                && l.contains(&format!(" {port} "))
                && l.contains("roundtrip")),
            "{table}"
        );
    }
}

#[test]
fn diff_of_a_snapshot_with_itself_is_empty() {
    let out = portscope(&["diff", &fixture("snapshot.json"), &fixture("snapshot.json")]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .starts_with("No change"));
    let out = portscope(&[
        "--json",
        "diff",
        &fixture("snapshot.json"),
        &fixture("snapshot.json"),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"opened": [], "closed": [], "changed": []})
    );
}

#[test]
fn diff_reports_a_widened_bind_a_new_owner_and_opened_and_closed_listeners() {
    let out = portscope(&["diff", &fixture("snapshot.json"), &fixture("drifted.json")]);
    assert_eq!(out.status.code(), Some(1), "drift exits 1");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("+ opened   tcp 0.0.0.0:4444"), "{text}");
    assert!(text.contains("- closed   udp 0.0.0.0:5353"), "{text}");
    assert!(
        text.contains("tcp 0.0.0.0:6379             bind widened from 127.0.0.1 to 0.0.0.0"),
        "{text}"
    );
    assert!(
        text.contains("owner dtp-agent (/opt/dtp/bin/dtp-agent) -> nc (/usr/bin/nc.openbsd)"),
        "{text}"
    );

    let out = portscope(&[
        "--json",
        "diff",
        &fixture("snapshot.json"),
        &fixture("drifted.json"),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: BTreeSet<&str> = v["changed"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| {
            c["what"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["kind"].as_str().unwrap())
        })
        .collect();
    assert!(
        kinds.contains("bind-widened") && kinds.contains("owner-changed"),
        "{kinds:?}"
    );
}

#[test]
fn bad_snapshots_get_one_line_naming_the_file_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::read_to_string(fixture("snapshot.json")).unwrap();
    let cases = [
        (
            "truncated.json",
            full[..full.len() / 2].to_string(),
            "truncated",
        ),
        (
            "text.json",
            "this is not json\n".to_string(),
            "not valid JSON",
        ),
        (
            "wrong.json",
            r#"{"hello": "world"}"#.to_string(),
            "no \"schema_version\"",
        ),
        (
            "shape.json",
            r#"{"schema_version": 1, "host": 5}"#.to_string(),
            "not a valid snapshot",
        ),
        (
            "future.json",
            full.replacen("\"schema_version\": 1", "\"schema_version\": 7", 1),
            "newer than this portscope",
        ),
    ];
    for (name, body, says) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        for args in [
            vec!["view", path.to_str().unwrap()],
            vec!["diff", path.to_str().unwrap(), path.to_str().unwrap()],
        ] {
            let out = portscope(&args);
            let err = String::from_utf8(out.stderr).unwrap();
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.contains(name) && err.contains(says), "{args:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(!out.stdout.contains(&0x1b), "the terminal is left alone");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Snapshot loading is fuzzed: arbitrary bytes are a snapshot or a clear error, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic_the_snapshot_loader(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        if let Err(e) = FixtureCollector::from_json(&bytes, "fuzz") {
            prop_assert!(e.to_string().starts_with("fuzz: "));
        }
    }

    /// Mutations of a real snapshot: the same.
    #[test]
    fn mutated_snapshots_never_panic(at in 0usize..4000, byte in any::<u8>()) {
        let mut bytes = include_bytes!("fixtures/snapshot.json").to_vec();
        let at = at % bytes.len();
        bytes[at] = byte;
        let _ = FixtureCollector::from_json(&bytes, "fuzz");
    }
}

#[test]
fn view_reads_the_snapshot_from_a_pipe_and_the_keys_from_the_terminal() {
    let holder = support::hold(&["--name", "piped-view", "--tcp", "127.0.0.1:0"]);
    let port = holder.tcp[0].port();
    // `sh -c '"$0" snapshot | "$0" view -'` with $0 the binary: what a user types after ssh.
    let mut s = support::pty::start_wrapped(
        &["sh", "-c", "\"$0\" snapshot | \"$0\" view -"],
        &[],
        &[],
        100,
        30,
    );
    let patient = std::time::Duration::from_secs(15);
    s.wait_for("(read-only)", patient);
    // `/` filters the listener pane: among however many listeners this machine has, the one
    // on our port is then selected and described.
    s.send(&format!("/:{port}\r"));
    s.wait_for(&format!("filter \":{port}\""), patient);
    s.wait_for("piped-view", patient);
    // `l` jumps from the socket to its port in the registry.
    s.send("l");
    s.wait_for(&format!("/ {port}"), patient);
    s.send("q");
    let status = s
        .wait_exit(std::time::Duration::from_secs(3))
        .expect("q quits the viewer");
    assert!(
        status.success(),
        "{status:?}: a pipe at end of file is not a hangup"
    );
    s.assert_restored();
}
