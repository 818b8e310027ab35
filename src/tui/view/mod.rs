//! Drawing, from the model only: every function here takes `&App` and a frame, does no I/O and
//! computes nothing expensive (the lists are already filtered, sorted and searched in state).
//! Untrusted text (process names, users, paths, registry fields) is escaped before it is drawn.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::action;
use super::state::{App, Mode, Pane};
use crate::hints::Severity;

mod detail;
mod listeners;
mod registry;

/// Below this the panes cannot show a useful row: say so instead of drawing.
pub const MIN_WIDTH: u16 = 50;
pub const MIN_HEIGHT: u16 = 12;
/// At this width and more, the detail pane gets a column of its own.
const WIDE: u16 = 110;

/// Colours or none (`NO_COLOR`). Without colour, the selection is still marked by a glyph and
/// new/vanished rows by `+`/`-`, so nothing depends on colour alone.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }
    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }
    pub(crate) fn selected(self, focused: bool) -> Style {
        match (self.color, focused) {
            (true, true) => Style::new().bg(Color::Blue).fg(Color::White),
            (true, false) => Style::new().bg(Color::DarkGray),
            (false, _) => Style::new().add_modifier(Modifier::BOLD),
        }
    }
    pub(crate) fn new_row(self) -> Style {
        self.fg(Color::Green).add_modifier(Modifier::BOLD)
    }
    pub(crate) fn vanished(self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }
    pub(crate) fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }
    pub(crate) fn heading(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub(crate) fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    fn border(self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
        } else {
            self.dim()
        }
    }
    pub(crate) fn severity(self, s: Severity) -> Style {
        match s {
            Severity::Alert => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Severity::Warning => self.fg(Color::Yellow),
            Severity::Notice => self.fg(Color::Cyan),
            Severity::Info => self.dim(),
        }
    }
}

/// The badge glyph of a severity (also readable without colour).
pub fn badge(s: Option<Severity>) -> &'static str {
    crate::report::words::severity_glyph(s)
}

/// `s` fitted to a column of `width` cells, the last of which stays blank as a separator.
pub(crate) fn cell(s: &str, width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    crate::text::fit(s, width - 1) + " "
}

/// Marks the selected row without relying on colour.
pub(crate) const MARKER: &str = "▶ ";
pub(crate) const NO_MARKER: &str = "  ";

/// First visible row of a list, kept between frames so the view scrolls only when the cursor
/// leaves it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Scroll {
    pub listeners: usize,
    pub registry: usize,
}

pub(crate) fn keep_visible(offset: usize, cursor: usize, height: usize, len: usize) -> usize {
    if height == 0 {
        return 0;
    }
    let mut offset = offset.min(len.saturating_sub(height));
    if cursor < offset {
        offset = cursor;
    } else if cursor >= offset + height {
        offset = cursor + 1 - height;
    }
    offset
}

/// What a frame showed: rows in each list (for paging) and how far the detail can scroll.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drawn {
    pub listeners: usize,
    pub registry: usize,
    pub detail_max_scroll: u16,
}

/// Draw a whole frame. Never panics, at any size.
pub fn draw(frame: &mut Frame, app: &App, theme: Theme, scroll: &mut Scroll) -> Drawn {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        draw_too_small(frame, area);
        return Drawn::default();
    }
    let [header, body, status] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(frame, header, app, theme);

    let (lists, detail) = if area.width >= WIDE {
        let [l, d] = Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)])
            .areas(body);
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(l);
        ((top, bottom), d)
    } else {
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
        let [r, d] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(bottom);
        ((top, r), d)
    };
    let drawn = Drawn {
        listeners: listeners::draw(frame, lists.0, app, theme, &mut scroll.listeners),
        registry: registry::draw(frame, lists.1, app, theme, &mut scroll.registry),
        detail_max_scroll: detail::draw(frame, detail, app, theme),
    };
    draw_status(frame, status, app, theme);

    match &app.mode {
        Mode::Help => draw_help(frame, area, theme),
        Mode::ConfirmKill { name, target } => draw_confirm(frame, area, target.pid, name, theme),
        _ => {}
    }
    drawn
}

pub(crate) fn pane_block(title: Line<'_>, focused: bool, theme: Theme) -> Block<'_> {
    let marker = if focused { "● " } else { "" };
    let mut title = title;
    title.spans.insert(0, Span::raw(marker));
    Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(title)
}

fn draw_too_small(frame: &mut Frame, area: Rect) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let msg = format!("terminal too small: need {MIN_WIDTH}x{MIN_HEIGHT}");
    let y = area.y + area.height / 2;
    let line = Rect::new(area.x, y, area.width, 1);
    frame.render_widget(
        Paragraph::new(crate::text::truncate(&msg, area.width as usize).into_owned()),
        line,
    );
}

fn draw_header(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let (tcp, udp, hidden) = app.counts();
    let mut first = vec![Span::styled("portscope", theme.heading())];
    match app.host() {
        Some(host) => {
            let root = if host.uid == 0 {
                "root".to_owned()
            } else if host.sees_all_owners {
                "not root".to_owned()
            } else {
                "not root: other users' owners hidden".to_owned()
            };
            first.push(Span::raw(format!(
                "  host {}  user {} ({root})",
                crate::text::escape(&host.hostname),
                crate::text::escape(&host.user),
            )));
        }
        None => first.push(Span::styled("  collecting…", theme.dim())),
    }
    let refresh = if app.read_only {
        let name = std::path::Path::new(&app.source)
            .file_name()
            .map_or(app.source.clone(), |n| n.to_string_lossy().into_owned());
        format!("{} (read-only)", crate::text::escape(&name))
    } else if app.paused {
        "refresh paused (p resumes)".to_owned()
    } else if let Some(host) = &app.remote {
        format!(
            "over ssh from {}, every {}s",
            crate::text::escape(host),
            trim_float(app.interval_secs)
        )
    } else {
        format!("live, every {}s", trim_float(app.interval_secs))
    };
    let mut second = vec![Span::raw(format!("tcp {tcp}  udp {udp}"))];
    if hidden > 0 {
        second.push(Span::styled(
            format!("  {hidden} without owner"),
            theme.severity(Severity::Warning),
        ));
    }
    second.push(Span::raw(format!("  ·  {refresh}")));
    // A saved snapshot says when it was taken; the live header does not tick (an idle screen
    // should write nothing).
    if let Some(taken) = app.host().map(|h| h.taken_at).filter(|_| app.read_only) {
        second.push(Span::styled(
            format!("  ·  taken {}", crate::text::utc(taken)),
            theme.dim(),
        ));
    }
    // A remote host's state is as fresh as the last word from it: when that was is in the
    // snapshot, so the view reads no clock.
    if let Some(heard) = app
        .host()
        .map(|h| h.taken_at)
        .filter(|_| app.remote.is_some())
    {
        second.push(Span::styled(
            format!("  ·  collected {}", crate::text::utc(heard)),
            theme.dim(),
        ));
    }
    if let Some(host) = app.host() {
        for w in host.warnings.iter().take(1) {
            second.push(Span::styled(
                format!("  ·  {}", crate::text::escape(w)),
                theme.severity(Severity::Warning),
            ));
        }
    }
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        area,
    );
}

fn draw_status(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let line = if let Some(err) = &app.collect_error {
        Line::styled(
            format!("collect failed: {}", crate::text::escape(err)),
            theme.error(),
        )
    } else if let Some(notice) = &app.notice {
        Line::from(vec![
            Span::styled(crate::text::escape(notice).into_owned(), theme.heading()),
            Span::raw("  "),
            Span::styled(action::status_keys(&app.mode), theme.dim()),
        ])
    } else {
        Line::styled(action::status_keys(&app.mode), theme.dim())
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn draw_help(frame: &mut Frame, area: Rect, theme: Theme) {
    let key_width = action::HELP
        .iter()
        .map(|(k, _)| crate::text::width(k))
        .max()
        .unwrap_or(0);
    let mut lines: Vec<Line> = action::HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(crate::text::fit(k, key_width + 2), theme.heading()),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Rows: + new (green), - vanished (dim), ▶ selected.",
        theme.dim(),
    ));
    lines.push(Line::styled(
        "Badges: !! alert, ! warning, * notice, i info.",
        theme.dim(),
    ));
    let rect = centered(area, 76, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(pane_block(Line::raw("Keys (Esc closes)"), true, theme)),
        rect,
    );
}

fn draw_confirm(frame: &mut Frame, area: Rect, pid: u32, name: &str, theme: Theme) {
    let lines = vec![
        Line::raw(format!(
            "Send SIGTERM to pid {pid} ({})?",
            crate::text::escape(name)
        )),
        Line::raw(""),
        Line::styled("y: terminate   any other key: cancel", theme.dim()),
    ];
    let rect = centered(area, 60, 5);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(pane_block(Line::raw("Confirm"), true, theme)),
        rect,
    );
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.1}");
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

/// A list pane's title: its name, and what is focused.
pub(crate) fn title_line(
    text: String,
    theme: Theme,
    focused_pane: Pane,
    this: Pane,
) -> Line<'static> {
    let style = if focused_pane == this {
        theme.heading()
    } else {
        Style::new()
    };
    Line::styled(text, style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_stays_inside_the_scrolled_window() {
        assert_eq!(keep_visible(0, 5, 10, 100), 0);
        assert_eq!(keep_visible(0, 12, 10, 100), 3);
        assert_eq!(keep_visible(3, 2, 10, 100), 2);
        assert_eq!(keep_visible(50, 3, 10, 5), 0);
        assert_eq!(keep_visible(7, 7, 0, 100), 0);
    }
}
