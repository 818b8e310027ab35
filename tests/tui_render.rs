//! Frames of the explorer drawn into ratatui's TestBackend from a fixture snapshot (fixed pids and
//! times), compared with committed insta snapshots at 80x24 and 120x40. Also: every size from
//! 0x0 up draws without panicking, NO_COLOR keeps the selection visible, and hostile process
//! names are drawn escaped.

use std::sync::OnceLock;

use portscope::registry::Registry;
use portscope::sockets::Snapshot;
use portscope::tui::{draw, Action, App, Refresh, Scroll, Theme};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use ratatui::Terminal;

fn registry() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(Registry::embedded)
}

fn fixture() -> Snapshot {
    let text = include_str!("fixtures/snapshot.json");
    serde_json::from_str(text).expect("the fixture matches the Snapshot layout")
}

fn app() -> App<'static> {
    let mut app = App::new(registry(), "tests/fixtures/snapshot.json", true, 0.0);
    app.update(Action::Refreshed(Box::new(Refresh::assess(
        registry(),
        fixture(),
    ))));
    app
}

fn render(app: &App, width: u16, height: u16, theme: Theme) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(width, height)).unwrap();
    let mut scroll = Scroll::default();
    term.draw(|f| {
        draw(f, app, theme, &mut scroll);
    })
    .unwrap();
    term.backend().buffer().clone()
}

/// The buffer as plain lines of text (styles are checked separately).
fn text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        for x in 0..area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

const COLOR: Theme = Theme { color: true };
const NO_COLOR: Theme = Theme { color: false };

fn select_port(app: &mut App, port: u16) {
    app.update(Action::Top);
    while app.selected_socket().unwrap().local_port != port {
        let before = app.listener_cursor();
        app.update(Action::Down);
        assert_ne!(before, app.listener_cursor(), "port {port} not listed");
    }
}

#[test]
fn main_screen_80x24() {
    let app = app();
    let frame = text(&render(&app, 80, 24, COLOR));
    assert!(frame.contains("fixture-host"));
    assert!(frame.contains("dtp-agent"));
    insta::assert_snapshot!("main_80x24", frame);
}

#[test]
fn main_screen_120x40() {
    let app = app();
    insta::assert_snapshot!("main_120x40", text(&render(&app, 120, 40, COLOR)));
}

#[test]
fn help_overlay_lists_every_key() {
    let mut app = app();
    app.update(Action::ToggleHelp);
    let frame = text(&render(&app, 80, 24, COLOR));
    for (keys, _) in portscope::tui::HELP {
        assert!(frame.contains(keys), "help misses {keys}");
    }
    insta::assert_snapshot!("help_80x24", frame);
}

#[test]
fn detail_of_a_3489_socket_shows_process_and_every_iana_field() {
    let mut app = app();
    select_port(&mut app, 3489);
    let frame = text(&render(&app, 120, 40, COLOR));
    for needle in [
        "dtp-agent",
        "pid",
        "4242",
        "dtp-dia",
        "DTP/DIA",
        "2002-05",
        "Alexei V. Soloviev",
    ] {
        assert!(frame.contains(needle), "{needle} missing:\n{frame}");
    }
    insta::assert_snapshot!("detail_3489_120x40", frame);
    insta::assert_snapshot!("detail_3489_80x24", text(&render(&app, 80, 24, COLOR)));
}

#[test]
fn detail_of_port_289_says_it_is_unassigned_and_who_listens() {
    let mut app = app();
    app.update(Action::NextPane); // `/` in the registry pane searches it
    app.update(Action::StartSearch);
    for c in "289".chars() {
        app.update(Action::SearchChar(c));
    }
    app.update(Action::Open);
    let frame = text(&render(&app, 120, 40, COLOR));
    assert!(frame.contains("unassigned run 288-299"), "{frame}");
    assert!(frame.contains("listener289 pid 5150"), "{frame}");
    insta::assert_snapshot!("detail_289_120x40", frame);
    // The same port seen from its socket.
    let mut app = self::app();
    select_port(&mut app, 289);
    let frame = text(&render(&app, 120, 40, COLOR));
    assert!(frame.contains("IANA has assigned nothing"), "{frame}");
    // The hints of the socket are rendered, and its row carries the badge of the worst one.
    let snapshot = fixture();
    let hints = portscope::hints::Assessor::new(registry(), &snapshot)
        .assess(app.selected_socket().unwrap());
    let worst = hints
        .hints
        .iter()
        .max_by_key(|h| h.severity)
        .expect("port 289 has hints");
    assert!(
        frame.contains(&worst.title[..20.min(worst.title.len())]),
        "{frame}"
    );
    let row = frame
        .lines()
        .find(|l| l.contains("0.0.0.0:289") && l.contains("listener289"))
        .unwrap();
    assert!(
        row.contains(portscope::tui::badge(hints.badge()).trim()),
        "{row}"
    );
    insta::assert_snapshot!("socket_289_120x40", frame);
}

#[test]
fn search_for_redis_lists_it_first() {
    let mut app = app();
    app.update(Action::NextPane); // `/` in the registry pane searches it
    app.update(Action::StartSearch);
    for c in "redis".chars() {
        app.update(Action::SearchChar(c));
    }
    let frame = text(&render(&app, 80, 24, COLOR));
    let results = frame
        .lines()
        .skip_while(|l| !l.contains("/ redis"))
        .nth(1)
        .unwrap();
    assert!(
        results.contains("6379/tcp") && results.to_lowercase().contains("redis"),
        "{frame}"
    );
    insta::assert_snapshot!("search_redis_80x24", frame);
}

#[test]
fn no_color_draws_no_colour_and_still_marks_the_selection() {
    let mut app = app();
    select_port(&mut app, 53);
    let buf = render(&app, 80, 24, NO_COLOR);
    for cell in buf.content() {
        assert_eq!(
            (cell.fg, cell.bg),
            (Color::Reset, Color::Reset),
            "coloured cell {cell:?}"
        );
    }
    let frame = text(&buf);
    let selected: Vec<&str> = frame.lines().filter(|l| l.contains("▶")).collect();
    assert!(selected.iter().any(|l| l.contains("dnsmasq")), "{frame}");
    insta::assert_snapshot!("no_color_80x24", frame);
}

#[test]
fn hostile_process_names_are_drawn_escaped() {
    let mut app = app();
    select_port(&mut app, 7777);
    let buf = render(&app, 120, 40, COLOR);
    let frame = text(&buf);
    assert!(frame.contains(r"\x1b]0;pwned\x07"), "{frame}");
    assert!(frame.contains(r"\x1b[2J"), "{frame}");
    for cell in buf.content() {
        assert!(
            !cell.symbol().chars().any(|c| c.is_control()),
            "raw control character in {cell:?}"
        );
    }
}

#[test]
fn small_terminals_say_so_instead_of_drawing() {
    let app = app();
    let frame = text(&render(&app, 40, 10, COLOR));
    assert!(frame.contains("terminal too small"), "{frame}");
    assert!(!frame.contains("Listeners"));
}

#[test]
fn every_size_draws_without_panicking() {
    let mut app = app();
    let mut sizes = vec![
        (0, 0),
        (1, 1),
        (10, 3),
        (20, 5),
        (40, 10),
        (80, 24),
        (300, 100),
    ];
    for w in (0..=130).step_by(7) {
        for h in (0..=45).step_by(4) {
            sizes.push((w, h));
        }
    }
    for (i, (w, h)) in sizes.into_iter().enumerate() {
        // Change the state between sizes too: overlays, search, a selection far down.
        match i % 4 {
            0 => app.update(Action::ToggleHelp),
            1 => app.update(Action::Bottom),
            2 => app.update(Action::StartSearch),
            _ => app.update(Action::Clear),
        };
        render(&app, w, h, COLOR);
    }
    // A resize storm on one terminal, as a user dragging a window makes.
    let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let mut scroll = Scroll::default();
    for step in 0..200u16 {
        let (w, h) = ((step * 37) % 301, (step * 13) % 101);
        term.backend_mut().resize(w, h);
        term.resize(ratatui::layout::Rect::new(0, 0, w, h)).unwrap();
        term.draw(|f| {
            draw(f, &app, COLOR, &mut scroll);
        })
        .unwrap();
    }
}
