//! The fleet view (`portscope view DIR`): whole sessions in-process through the real loop
//! ([`portscope::tui::fleet::run_fleet_session`]) with keys injected and a TestBackend at 80x24
//! without colour — listeners grouped across hosts, the outlier marked, Enter into one host's
//! explorer and back with q or Esc, Ctrl-C ending everything; bad input on the command line
//! (no snapshots, a corrupt file, duplicate names) said in one line before any terminal is
//! touched; and the real binary in a pty opening a directory, drilling down and coming back,
//! writing nothing while idle.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use portscope::registry::Registry;
use portscope::remote::fleet::{self, OnBadFile};
use portscope::tui::fleet::{run_fleet_session, FleetApp, FleetPane};
use portscope::tui::{Ending, Msg, Outside, Theme};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::Value;

fn registry() -> &'static Registry {
    static REG: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REG.get_or_init(Registry::embedded)
}

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("portscope")
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn special(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl_c() -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))
}

/// The fixture snapshot as host `name`, with `extra` (port, executable) TCP listeners added.
fn host_snapshot(name: &str, extra: &[(u16, &str)]) -> Value {
    let mut snap: Value = serde_json::from_str(include_str!("fixtures/snapshot.json")).unwrap();
    snap["host"]["hostname"] = Value::from(name);
    let sockets = snap["sockets"].as_array_mut().unwrap();
    let template = sockets
        .iter()
        .find(|s| s["local_port"] == 22 && s["state"] == "listen")
        .unwrap()
        .clone();
    for (i, (port, exe)) in extra.iter().enumerate() {
        let mut s = template.clone();
        s["local_port"] = Value::from(*port);
        s["inode"] = Value::from(900_000 + i);
        let program = exe.rsplit('/').next().unwrap();
        s["owners"][0]["name"] = Value::from(program);
        s["owners"][0]["exe"] = Value::from(*exe);
        s["owners"][0]["cmdline"] = serde_json::json!([exe]);
        sockets.push(s);
    }
    snap
}

/// web1 and web2 alike, odd with a listener of its own on 4444.
fn three_hosts() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, extra) in [
        ("web1", vec![]),
        ("web2", vec![]),
        ("odd", vec![(4444, "/tmp/.x/backdoor")]),
    ] {
        std::fs::write(
            dir.path().join(format!("{name}.json")),
            host_snapshot(name, &extra).to_string(),
        )
        .unwrap();
    }
    dir
}

fn text_of(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A fleet session over `dir` at 80x24 without colour, fed `script` from another thread as a
/// person types; how it ended, the app and the last frame.
fn session(dir: &Path, script: Vec<Msg>) -> (Ending, FleetApp, String) {
    let files = fleet::snapshot_files(dir).unwrap();
    let fleet = fleet::load(&files, OnBadFile::Skip).unwrap();
    let mut app = FleetApp::new(fleet, &dir.display().to_string());
    let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let (tx, rx) = mpsc::channel();
    let feeder = std::thread::spawn(move || {
        let last = script.len().saturating_sub(1);
        for (n, msg) in script.into_iter().enumerate() {
            let pause = if n == last { 300 } else { 20 };
            std::thread::sleep(Duration::from_millis(pause));
            if tx.send(msg).is_err() {
                return;
            }
        }
    });
    let outside = Outside {
        restored: &|| false,
        hung_up: &|| false,
        terminate: &|_| panic!("a saved snapshot never signals"),
        theme: Theme { color: false },
    };
    let ending = run_fleet_session(&mut app, &mut term, &rx, &outside, registry());
    feeder.join().unwrap();
    (ending, app, text_of(&term))
}

/// The line of the kinds pane that shows `port`.
fn row_of(frame: &str, port: u16) -> String {
    frame
        .lines()
        .find(|l| l.contains(&format!(" {port} ")) && l.contains("/3"))
        .unwrap_or_else(|| panic!("no row for {port}:\n{frame}"))
        .to_string()
}

#[test]
fn the_fleet_groups_listeners_across_hosts_and_marks_the_outlier() {
    let dir = three_hosts();
    let (ending, app, frame) = session(dir.path(), vec![key('q')]);
    assert_eq!(ending, Ending::Quit);
    assert!(frame.contains("portscope fleet  3 hosts"), "{frame}");
    assert!(frame.contains("1 outlier (on ≤ 1 host)"), "{frame}");
    // sshd on 22 is on every host; the backdoor only on odd, marked without colour.
    let sshd = row_of(&frame, 22);
    assert!(
        sshd.contains("sshd") && sshd.contains("3/3") && sshd.contains("all"),
        "{sshd}"
    );
    assert!(!sshd.contains('!'), "{sshd}");
    assert_eq!(app.fleet.hosts.len(), 3);
    let mut script = vec![key('o')]; // outliers only
    script.push(key('q'));
    let (_, app, frame) = session(dir.path(), script);
    assert_eq!(app.visible_len(), 1);
    let backdoor = row_of(&frame, 4444);
    assert!(
        backdoor.contains("! tcp")
            && backdoor.contains("backdoor")
            && backdoor.contains("1/3")
            && backdoor.contains("odd"),
        "{backdoor}"
    );
    // The hosts pane lists odd, which has it, first.
    assert!(frame.contains("✓ odd"), "{frame}");
}

#[test]
fn enter_opens_a_hosts_explorer_filtered_to_the_port_and_q_or_esc_come_back() {
    let dir = three_hosts();
    // o: the outlier; Enter: its hosts; Enter: odd's explorer, filtered to :4444. A signal
    // then ends the session with the explorer on screen.
    let open = || vec![key('o'), special(KeyCode::Enter), special(KeyCode::Enter)];
    let mut signalled = open();
    signalled.push(Msg::Signal(15));
    let (ending, _, frame) = session(dir.path(), signalled);
    assert_eq!(ending, Ending::Signal(15));
    assert!(frame.contains("odd.json (q: fleet)"), "{frame}");
    assert!(frame.contains("filter \":4444\""), "{frame}");
    assert!(frame.contains("backdoor"), "{frame}");
    assert!(frame.contains("host odd"), "{frame}");

    // q in the explorer comes back to the fleet, where the selection is kept.
    let mut back = open();
    back.extend([key('q'), Msg::Signal(15)]);
    let (_, app, frame) = session(dir.path(), back);
    assert!(frame.contains("portscope fleet"), "{frame}");
    assert_eq!(app.focus, FleetPane::Hosts);
    assert_eq!(app.selected_kind().unwrap().kind.port, 4444);

    // Esc clears the explorer's filter first, then comes back; q then quits the fleet.
    let mut esc = open();
    esc.extend([special(KeyCode::Esc), special(KeyCode::Esc), key('q')]);
    let (ending, _, frame) = session(dir.path(), esc);
    assert_eq!(ending, Ending::Quit);
    assert!(frame.contains("portscope fleet"), "{frame}");

    // Ctrl-C in the explorer ends everything at once.
    let mut interrupt = open();
    interrupt.push(ctrl_c());
    let (ending, _, frame) = session(dir.path(), interrupt);
    assert_eq!(ending, Ending::Quit);
    assert!(frame.contains("(q: fleet)"), "still the explorer: {frame}");
}

#[test]
fn a_filter_by_host_name_and_the_help_work_at_80x24() {
    let dir = three_hosts();
    let mut script = vec![key('/')];
    script.extend("odd".chars().map(key));
    script.push(special(KeyCode::Enter));
    script.push(key('?'));
    script.push(Msg::Signal(15));
    let (_, app, frame) = session(dir.path(), script);
    // Everything odd has (all of the fixture's listeners and its own).
    assert_eq!(app.visible_len(), app.fleet.kinds.len());
    assert!(frame.contains("Fleet keys"), "{frame}");
    assert!(frame.contains("outliers only"), "{frame}");
}

fn view(args: &[&Path]) -> std::process::Output {
    Command::new(binary())
        .arg("view")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn bad_fleets_say_what_is_wrong_in_one_line_with_exit_2() {
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("notes.txt"), "not a snapshot").unwrap();
    let out = view(&[empty.path()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("holds no snapshots (*.json)") && err.contains("portscope snapshot -o"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // A corrupt file in a directory is skipped and named; the others open (plain, no terminal).
    let dir = three_hosts();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, b"{\"schema_version\": 1, \"host\"").unwrap();
    let out = Command::new(binary())
        .args(["--json", "view"])
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("skipped") && err.contains("broken.json") && err.contains("truncated"),
        "{err}"
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["hosts"].as_array().unwrap().len(), 3);
    assert_eq!(
        json["skipped"][0]["why"]
            .as_str()
            .map(|w| w.contains("truncated")),
        Some(true)
    );

    // Named on the command line, the same file stops the command, naming it.
    let out = view(&[&dir.path().join("web1.json"), &broken]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("broken.json") && err.contains("truncated"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // Two files of the same name in two directories stay two hosts, told apart by directory.
    let other = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("odd.json"), other.path().join("web1.json")).unwrap();
    let out = Command::new(binary())
        .args(["--json", "view"])
        .arg(dir.path().join("web1.json"))
        .arg(other.path().join("web1.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = json["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert_ne!(names[0], names[1], "{names:?}");
    assert!(names.iter().all(|n| n.ends_with("/web1")), "{names:?}");

    // An oversized file is refused by size, before it is read.
    let huge = tempfile::tempdir().unwrap();
    let f = std::fs::File::create(huge.path().join("big.json")).unwrap();
    f.set_len(600 << 20).unwrap(); // sparse: no disk used
    let out = view(&[&huge.path().join("big.json"), &dir.path().join("web1.json")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("big.json") && err.contains("larger than"),
        "{err}"
    );
}

#[test]
fn a_single_file_still_opens_as_one_snapshot() {
    let dir = three_hosts();
    let out = Command::new(binary())
        .args(["--json", "view"])
        .arg(dir.path().join("odd.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["local_port"] == 4444));
}

#[test]
fn the_binary_opens_a_directory_in_a_pty_drills_down_and_comes_back() {
    let dir = three_hosts();
    let path = dir.path().display().to_string();
    let mut s = support::pty::start(&["view", &path], &[("NO_COLOR", "1")], 80, 24);
    let patient = Duration::from_secs(15);
    s.wait_for("portscope fleet  3 hosts", patient);
    // Idle: nothing changes, nothing is written.
    std::thread::sleep(Duration::from_millis(500));
    let before = s.bytes();
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        s.bytes() - before < 64,
        "an idle fleet view wrote {} bytes",
        s.bytes() - before
    );
    s.send("o\r\r");
    s.wait_for("odd.json (q: fleet)", patient);
    s.wait_for("backdoor", patient);
    s.send("q");
    s.wait_for("portscope fleet", patient);
    s.send("q");
    let status = s.wait_exit(Duration::from_secs(5)).expect("q quits");
    assert!(status.success(), "{status:?}");
    s.assert_restored();
}
