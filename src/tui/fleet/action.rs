//! The fleet view's keymap, in one place: (mode, key) → [`FleetAction`]. Its help overlay is
//! generated from [`FLEET_HELP`], so a key cannot work without being listed.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::state::{FleetAction, FleetMode};

pub const FLEET_HELP: &[(&str, &str)] = &[
    ("↑ ↓  j k", "move the selection"),
    ("PgUp PgDn", "move a page"),
    ("g  G  Home End", "first / last row"),
    ("Tab", "listeners ↔ hosts"),
    (
        "Enter",
        "listener: its hosts; host: open its explorer (q or Esc comes back)",
    ),
    (
        "/",
        "filter listeners: a port, a program, a protocol or a host name",
    ),
    ("o", "outliers only / every listener"),
    ("s", "sort: port, fewest hosts first, program"),
    ("Esc", "clear the filter, back to the listeners, close help"),
    ("?", "this help"),
    ("q  Ctrl-C", "quit"),
];

/// The action for a key in a mode; `None` for keys that mean nothing there.
pub fn fleet_action_for(mode: FleetMode, key: KeyEvent) -> Option<FleetAction> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c')) {
        return Some(FleetAction::Quit);
    }
    match mode {
        FleetMode::Filter => match key.code {
            KeyCode::Esc => Some(FleetAction::Clear),
            KeyCode::Enter => Some(FleetAction::Open),
            KeyCode::Backspace => Some(FleetAction::FilterBackspace),
            KeyCode::Up => Some(FleetAction::Up),
            KeyCode::Down => Some(FleetAction::Down),
            KeyCode::Char(c) if !ctrl => Some(FleetAction::FilterChar(c)),
            _ => None,
        },
        FleetMode::Normal | FleetMode::Help => Some(match key.code {
            KeyCode::Up | KeyCode::Char('k') => FleetAction::Up,
            KeyCode::Down | KeyCode::Char('j') => FleetAction::Down,
            KeyCode::PageUp => FleetAction::PageUp,
            KeyCode::PageDown => FleetAction::PageDown,
            KeyCode::Home | KeyCode::Char('g') => FleetAction::Top,
            KeyCode::End | KeyCode::Char('G') => FleetAction::Bottom,
            KeyCode::Tab | KeyCode::BackTab => FleetAction::NextPane,
            KeyCode::Enter => FleetAction::Open,
            KeyCode::Char('/') => FleetAction::StartFilter,
            KeyCode::Char('o') => FleetAction::ToggleOutliersOnly,
            KeyCode::Char('s') => FleetAction::CycleSort,
            KeyCode::Esc => FleetAction::Clear,
            KeyCode::Char('?') => FleetAction::ToggleHelp,
            KeyCode::Char('q') => FleetAction::Quit,
            _ => return None,
        }),
    }
}

/// The keys that matter now, for the status line.
pub fn fleet_status_keys(mode: FleetMode) -> &'static str {
    match mode {
        FleetMode::Filter => "type to filter: port, program, protocol, host  Enter keep  Esc clear",
        FleetMode::Help => "Esc/?/q close help",
        FleetMode::Normal => {
            "↑↓ move  Tab pane  Enter open  / filter  o outliers  s sort  ? help  q quit"
        }
    }
}
