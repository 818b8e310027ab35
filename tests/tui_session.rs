//! Whole explorer sessions, in-process: the real loop ([`portscope::tui::run_session`]) with its
//! inputs injected — messages on a channel (keys, pastes, refreshes from the real collector
//! thread over a fixture snapshot), a TestBackend terminal, and a signal sender that records
//! instead of signalling. What only a pty can show stays in tests/tui_pty.rs.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use portscope::registry::Registry;
use portscope::sockets::{Collector, FixtureCollector, Snapshot};
use portscope::tui::{run_session, App, Control, Ending, Msg, Outside, Refresh, Target, Theme};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn registry() -> &'static Registry {
    static REG: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REG.get_or_init(Registry::embedded)
}

fn fixture() -> Snapshot {
    serde_json::from_str(include_str!("fixtures/snapshot.json")).unwrap()
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn special(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
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

/// Run a session fed by `script` (sent from another thread with short pauses, as a person
/// types), and return how it ended, the app and the last frame.
fn session(
    live: bool,
    script: Vec<Msg>,
) -> (Ending, App<'static>, String, Vec<u32>, Vec<&'static str>) {
    session_marked(live, script, None)
}

/// [`session`] with the rows marked by an expected-listeners file.
fn session_marked(
    live: bool,
    script: Vec<Msg>,
    marker: Option<portscope::policy::Marker>,
) -> (Ending, App<'static>, String, Vec<u32>, Vec<&'static str>) {
    let (tx, rx) = mpsc::channel();
    let (control_tx, control_rx) = mpsc::channel::<Control>();
    let mut app = App::new(registry(), "live", !live, 2.0);
    if let Some(marker) = marker {
        app.set_marker(marker);
    }
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let feeder = std::thread::spawn(move || {
        let last = script.len().saturating_sub(1);
        for (n, msg) in script.into_iter().enumerate() {
            // Give the loop time to draw what came before the last key (the quit).
            let pause = if n == last { 300 } else { 5 };
            std::thread::sleep(Duration::from_millis(pause));
            if tx.send(msg).is_err() {
                return;
            }
        }
    });
    let signalled = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&signalled);
    let terminate = move |target: &Target| {
        record.lock().unwrap().push(target.pid);
        format!("sent SIGTERM to pid {}", target.pid)
    };
    let outside = Outside {
        restored: &|| false,
        hung_up: &|| false,
        terminate: &terminate,
        theme: Theme { color: false },
    };
    let ending = run_session(&mut app, &mut term, &rx, &control_tx, &outside);
    feeder.join().unwrap();
    let controls: Vec<&'static str> = control_rx
        .try_iter()
        .filter_map(|c| match c {
            Control::RefreshNow => Some("refresh"),
            Control::Pause(_) => Some("pause"),
            Control::IncludeConnections(_) => Some("connections"),
            // The detail pane asking for a socket's deeper facts: not what these sessions check.
            Control::Describe(_) => None,
        })
        .collect();
    let pids = signalled.lock().unwrap().clone();
    (ending, app, text_of(&term), pids, controls)
}

fn refreshed(snapshot: Snapshot) -> Msg {
    Msg::Refreshed(Box::new(Refresh::assess(registry(), snapshot)))
}

#[test]
fn a_session_filters_searches_jumps_and_quits() {
    let mut script = vec![refreshed(fixture())];
    // Filter the listener pane to redis, keep the filter.
    script.push(key('/'));
    script.extend("redis".chars().map(key));
    script.push(special(KeyCode::Enter));
    // Jump to its registry entry, then quit.
    script.push(key('l'));
    script.push(key('q'));
    let (ending, app, frame, pids, _) = session(true, script);
    assert_eq!(ending, Ending::Quit);
    assert_eq!(app.filter.text.as_deref(), Some("redis"));
    assert_eq!(app.visible_len(), 1);
    assert_eq!(
        app.query, "6379",
        "l searched the registry for the socket's port"
    );
    assert!(frame.contains("filter \"redis\""), "{frame}");
    assert!(frame.contains("redis-server"), "{frame}");
    assert!(pids.is_empty());
}

#[test]
fn expected_listeners_are_marked_and_the_detail_says_why() {
    use portscope::policy::{Expected, Marker};
    let file = "[[listener]]\nport = 22\nprotocol = \"tcp\"\nreason = \"admin logins\"\nowner = \"ops team\"\n";
    let marker = Marker::new(Expected::parse(file, "expected.toml").unwrap());
    // The first row (22/tcp, sshd) is selected and described; then move to redis and back.
    let script = vec![refreshed(fixture()), key('q')];
    let (ending, app, frame, _, _) = session_marked(true, script, Some(marker));
    assert_eq!(ending, Ending::Quit);
    let (yes, no) = if portscope::report::words::unicode_marks() {
        ("✓", "✗")
    } else {
        ("yes", "no")
    };
    let line_of = |what: &str| {
        frame
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what} in\n{frame}"))
            .to_string()
    };
    assert!(frame.contains("exp"), "the EXP column is titled: {frame}");
    assert!(line_of("0.0.0.0:22 ").contains(yes), "{frame}");
    assert!(line_of("redis-server").contains(no), "{frame}");
    assert!(
        frame.contains("expected: admin logins — ops team"),
        "the detail gives the rule's reason and owner: {frame}"
    );
    // Connections are not judged by a file of listeners.
    assert!(app.visible_rows().all(|r| r.expected.is_some()));

    // Without a file nothing is marked, and the detail says there is none.
    let (_, app, frame, _, _) = session(true, vec![refreshed(fixture()), key('q')]);
    assert!(app.visible_rows().all(|r| r.expected.is_none()));
    assert!(!frame.contains(&format!(" {no} ")), "{frame}");
    assert!(frame.contains("no expectations file"), "{frame}");
}

#[test]
fn a_pasted_ky_is_text_and_signals_nothing() {
    let script = vec![
        refreshed(fixture()),
        Msg::Paste("Ky".into()),
        key('j'),
        Msg::Paste("Ky\n".into()),
        key('q'),
    ];
    let (ending, app, _, pids, _) = session(true, script);
    assert_eq!(ending, Ending::Quit);
    assert!(pids.is_empty(), "a paste confirmed a signal: {pids:?}");
    assert_eq!(app.mode, portscope::tui::Mode::Normal);
}

#[test]
fn typed_k_then_y_does_signal_the_named_process() {
    let script = vec![refreshed(fixture()), key('K'), key('y'), key('q')];
    let (_, _, _, pids, _) = session(true, script);
    assert_eq!(
        pids,
        [812],
        "sshd, the first row, is asked about and signalled"
    );
}

#[test]
fn refreshes_from_the_real_collector_thread_reach_the_screen() {
    let (tx, rx) = mpsc::channel();
    let collector: Box<dyn Collector> = Box::new(
        FixtureCollector::from_json(include_bytes!("fixtures/snapshot.json"), "fixture").unwrap(),
    );
    let control = portscope::tui::spawn_collector(
        tx.clone(),
        portscope::tui::Source::Other(collector),
        registry(),
        Some(Duration::from_millis(100)),
    )
    .unwrap();
    let mut app = App::new(registry(), "live", false, 0.1);
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    // Quit once a few refreshes have arrived.
    let quitter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        let _ = tx.send(key('r'));
        std::thread::sleep(Duration::from_millis(100));
        let _ = tx.send(key('q'));
    });
    let outside = Outside {
        restored: &|| false,
        hung_up: &|| false,
        terminate: &|_| String::new(),
        theme: Theme { color: false },
    };
    let ending = run_session(&mut app, &mut term, &rx, &control, &outside);
    quitter.join().unwrap();
    assert_eq!(ending, Ending::Quit);
    assert!(app.generation >= 3, "refreshed {} times", app.generation);
    let frame = text_of(&term);
    assert!(frame.contains("fixture-host"), "{frame}");
    assert!(frame.contains("dtp-agent"), "{frame}");
}

#[test]
fn a_hangup_ends_the_session() {
    let (_tx, rx) = mpsc::channel::<Msg>();
    let (control, _) = mpsc::channel();
    let mut app = App::new(registry(), "live", false, 2.0);
    let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let outside = Outside {
        restored: &|| false,
        hung_up: &|| true,
        terminate: &|_| String::new(),
        theme: Theme { color: false },
    };
    assert_eq!(
        run_session(&mut app, &mut term, &rx, &control, &outside),
        Ending::HungUp
    );
}

#[test]
fn typing_a_registry_search_in_a_session_searches() {
    let mut script = vec![refreshed(fixture()), special(KeyCode::Tab), key('/')];
    script.extend("redis".chars().map(key));
    script.push(special(KeyCode::Enter));
    script.push(key('q'));
    let (ending, app, frame, _, _) = session(true, script);
    assert_eq!(ending, Ending::Quit);
    assert_eq!(app.query, "redis", "{frame}");
}
