//! The keymap, in one place: (mode, key) → [`Action`]. The help overlay is generated from
//! [`HELP`], so a key cannot work without being listed.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::state::{Action, Mode};

/// Every key and what it does, as the help overlay lists them.
pub const HELP: &[(&str, &str)] = &[
    ("↑ ↓  j k", "move the selection (scroll the detail pane)"),
    ("PgUp PgDn", "move a page"),
    ("g  G  Home End", "first / last row"),
    ("Tab  Shift-Tab", "next / previous pane"),
    (
        "/",
        "listener pane: filter its rows; elsewhere: search the registry",
    ),
    (
        "Enter",
        "search: go to the results; list: open the detail pane",
    ),
    ("Esc", "leave the search or filter and clear it, close help"),
    (
        "l",
        "jump: socket → its registry entry, entry → its listeners",
    ),
    (
        "s",
        "sort listeners: port, proto, pid, process, user, address",
    ),
    ("f", "filter protocol: all, tcp, udp"),
    ("a", "listeners only / every socket (connections too)"),
    ("p", "pause / resume refresh"),
    ("r", "refresh now"),
    ("K", "terminate the selected socket's process (asks first)"),
    ("?", "this help"),
    ("q  Ctrl-C", "quit"),
];

/// Ctrl-C, which quits from anywhere.
pub fn is_interrupt(key: KeyEvent) -> bool {
    key.kind != KeyEventKind::Release
        && key.modifiers.contains(KeyModifiers::CONTROL)
        && matches!(key.code, KeyCode::Char('c'))
}

/// The action for a key in a mode; `None` for keys that mean nothing there.
pub fn action_for(mode: &Mode, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c')) {
        return Some(Action::Quit);
    }
    match mode {
        Mode::ConfirmKill { .. } => Some(match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => Action::Confirm,
            // Any other key cancels; the state says so.
            _ => Action::Clear,
        }),
        Mode::Search | Mode::Filter => match key.code {
            KeyCode::Esc => Some(Action::Clear),
            KeyCode::Enter => Some(Action::Open),
            KeyCode::Backspace => Some(Action::SearchBackspace),
            KeyCode::Up => Some(Action::Up),
            KeyCode::Down => Some(Action::Down),
            KeyCode::PageUp => Some(Action::PageUp),
            KeyCode::PageDown => Some(Action::PageDown),
            KeyCode::Tab => Some(Action::NextPane),
            KeyCode::Char(c) if !ctrl => Some(Action::SearchChar(c)),
            _ => None,
        },
        Mode::Normal | Mode::Help => Some(match key.code {
            KeyCode::Up | KeyCode::Char('k') => Action::Up,
            KeyCode::Down | KeyCode::Char('j') => Action::Down,
            KeyCode::PageUp => Action::PageUp,
            KeyCode::PageDown => Action::PageDown,
            KeyCode::Home | KeyCode::Char('g') => Action::Top,
            KeyCode::End | KeyCode::Char('G') => Action::Bottom,
            KeyCode::Tab => Action::NextPane,
            KeyCode::BackTab => Action::PrevPane,
            KeyCode::Char('/') => Action::StartSearch,
            KeyCode::Esc => Action::Clear,
            KeyCode::Enter => Action::Open,
            KeyCode::Char('l') => Action::Jump,
            KeyCode::Char('s') => Action::CycleSort,
            KeyCode::Char('f') => Action::CycleProtocolFilter,
            KeyCode::Char('a') => Action::ToggleListenersOnly,
            KeyCode::Char('p') => Action::TogglePause,
            KeyCode::Char('r') => Action::RefreshNow,
            KeyCode::Char('K') => Action::AskKill,
            KeyCode::Char('?') => Action::ToggleHelp,
            KeyCode::Char('q') => Action::Quit,
            _ => return None,
        }),
    }
}

/// The keys that matter now, for the status line.
pub fn status_keys(mode: &Mode) -> &'static str {
    match mode {
        Mode::Search => "type to search  ↑↓ move  Enter results  Esc clear",
        Mode::Filter => "type to filter: port, process, user, service, hint  Enter keep  Esc clear",
        Mode::Help => "Esc/?/q close help",
        Mode::ConfirmKill { .. } => "y terminate  any other key cancels",
        Mode::Normal => {
            "↑↓ move  Tab pane  / filter·search  l jump  s sort  f proto  a all  ? help  q quit"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn letters_are_commands_outside_search_and_text_inside() {
        assert!(matches!(
            action_for(&Mode::Normal, key(KeyCode::Char('q'))),
            Some(Action::Quit)
        ));
        assert!(matches!(
            action_for(&Mode::Search, key(KeyCode::Char('q'))),
            Some(Action::SearchChar('q'))
        ));
        assert!(matches!(
            action_for(
                &Mode::Search,
                KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(Action::Quit)
        ));
    }

    #[test]
    fn only_y_confirms_a_kill() {
        let mode = Mode::ConfirmKill {
            name: "x".into(),
            target: crate::tui::state::Target {
                pid: 1,
                inode: 7,
                start_ticks: None,
                start_time: None,
            },
        };
        assert!(matches!(
            action_for(&mode, key(KeyCode::Char('y'))),
            Some(Action::Confirm)
        ));
        assert!(matches!(
            action_for(&mode, key(KeyCode::Enter)),
            Some(Action::Clear)
        ));
    }
}
