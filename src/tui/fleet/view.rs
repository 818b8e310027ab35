//! Drawing the fleet view, from its state only: a header with the fleet's counts, the listener
//! kinds across hosts (outliers marked `!`, readable without colour), the hosts of the selected
//! kind, and the status line. Only the rows on screen are formatted; untrusted text (program and
//! host names, file names) is escaped before it is drawn.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::action::{fleet_status_keys, FLEET_HELP};
use super::state::{FleetApp, FleetMode, FleetPane, HostRow};
use crate::hints::Severity;
use crate::remote::fleet::KindRow;
use crate::text::escape;
use crate::tui::view::{
    cell, keep_visible, pane_block, Theme, MARKER, MIN_HEIGHT, MIN_WIDTH, NO_MARKER,
};

/// At this width and more, the hosts pane sits beside the listeners.
const WIDE: u16 = 120;

/// First visible row of each list, kept between frames.
#[derive(Debug, Default, Clone, Copy)]
pub struct FleetScroll {
    pub kinds: usize,
    pub hosts: usize,
}

/// Rows each list showed, for paging.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FleetDrawn {
    pub kinds: usize,
    pub hosts: usize,
}

/// Draw a whole frame. Never panics, at any size.
pub fn draw_fleet(
    frame: &mut Frame,
    app: &FleetApp,
    theme: Theme,
    scroll: &mut FleetScroll,
) -> FleetDrawn {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        if area.width > 0 && area.height > 0 {
            let msg = format!("terminal too small: need {MIN_WIDTH}x{MIN_HEIGHT}");
            let line = Rect::new(area.x, area.y + area.height / 2, area.width, 1);
            frame.render_widget(
                Paragraph::new(crate::text::truncate(&msg, area.width as usize).into_owned()),
                line,
            );
        }
        return FleetDrawn::default();
    }
    let [header, body, status] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(frame, header, app, theme);
    let [kinds, hosts] = if area.width >= WIDE {
        Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(body)
    } else {
        Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(body)
    };
    let drawn = FleetDrawn {
        kinds: draw_kinds(frame, kinds, app, theme, &mut scroll.kinds),
        hosts: draw_hosts(frame, hosts, app, theme, &mut scroll.hosts),
    };
    draw_status(frame, status, app, theme);
    if app.mode == FleetMode::Help {
        draw_help(frame, area, theme);
    }
    drawn
}

fn draw_header(frame: &mut Frame, area: Rect, app: &FleetApp, theme: Theme) {
    let fleet = &app.fleet;
    let hosts = fleet.hosts.len();
    let mut first = vec![
        Span::styled("portscope fleet", theme.heading()),
        Span::raw(format!(
            "  {hosts} host{}  {} listener kinds",
            if hosts == 1 { "" } else { "s" },
            fleet.kinds.len()
        )),
    ];
    if fleet.threshold > 0 {
        let outliers = app.outlier_count();
        let style = if outliers > 0 {
            theme.severity(Severity::Warning)
        } else {
            Style::new()
        };
        first.push(Span::styled(
            format!(
                "  {outliers} outlier{} (on ≤ {} host{})",
                if outliers == 1 { "" } else { "s" },
                fleet.threshold,
                if fleet.threshold == 1 { "" } else { "s" }
            ),
            style,
        ));
    }
    let mut second = vec![Span::raw(escape(&app.source).into_owned())];
    if !fleet.skipped.is_empty() {
        let names: Vec<String> = fleet
            .skipped
            .iter()
            .take(3)
            .map(|s| {
                let name = s.path.file_name().map_or_else(
                    || s.path.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                escape(&name).into_owned()
            })
            .collect();
        let more = fleet.skipped.len().saturating_sub(names.len());
        second.push(Span::styled(
            format!(
                "  ·  {} unreadable, skipped: {}{}",
                fleet.skipped.len(),
                names.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ),
            theme.severity(Severity::Warning),
        ));
    }
    if let Some(note) = fleet.notes.first() {
        second.push(Span::styled(
            format!("  ·  {}", escape(note)),
            theme.severity(Severity::Notice),
        ));
    }
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        area,
    );
}

/// The kinds pane's columns for `width` cells: program, then the host names in what is left.
fn kind_columns(width: usize) -> (usize, usize) {
    // marker 2, outlier mark 2, proto 6, port 6, hosts count 8
    let rest = width.saturating_sub(24);
    let program = (rest / 2).clamp(8, 24).min(rest);
    (program, rest.saturating_sub(program))
}

fn draw_kinds(
    frame: &mut Frame,
    area: Rect,
    app: &FleetApp,
    theme: Theme,
    offset: &mut usize,
) -> usize {
    let focused = app.focus == FleetPane::Kinds;
    let mut title = format!(
        "Listeners across hosts ({})  sort {}",
        app.visible_len(),
        app.sort.word()
    );
    if app.outliers_only {
        title.push_str(" · outliers only");
    }
    if !app.filter.is_empty() || app.mode == FleetMode::Filter {
        title.push_str(&format!(" · filter \"{}\"", escape(&app.filter)));
    }
    let title_style = if focused {
        theme.heading()
    } else {
        Style::new()
    };
    let block = pane_block(Line::styled(title, title_style), focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return 0;
    }
    let (program_w, on_w) = kind_columns(inner.width as usize);
    let height = inner.height as usize - 1;
    let mut lines = Vec::with_capacity(height + 1);
    lines.push(Line::styled(
        format!(
            "{NO_MARKER}  {}{}{}{}{}",
            cell("proto", 6),
            cell(" port", 6),
            cell("program", program_w),
            cell(" hosts", 8),
            cell("on", on_w)
        ),
        theme.dim(),
    ));
    if app.visible_len() == 0 {
        let msg = if !app.filter.is_empty() {
            "no listener matches the filter (Esc clears it)"
        } else if app.outliers_only {
            "no outliers: every listener is on more hosts (o shows all)"
        } else {
            "no listeners in these snapshots"
        };
        lines.push(Line::styled(msg, theme.dim()));
    }
    *offset = keep_visible(*offset, app.kind_cursor(), height, app.visible_len());
    let total = app.fleet.hosts.len();
    for at in *offset..(*offset + height).min(app.visible_len()) {
        let Some(row) = app.visible_kind(at) else {
            break;
        };
        let selected = at == app.kind_cursor();
        let outlier = app.is_outlier(row);
        let marker = if selected { MARKER } else { NO_MARKER };
        let text = format!(
            "{marker}{}{}{}{}{}{}",
            if outlier { "! " } else { "  " },
            cell(row.kind.protocol.as_str(), 6),
            cell(&format!("{:>5}", row.kind.port), 6),
            cell(&escape(&row.kind.program), program_w),
            cell(&format!("{:>4}/{total}", row.hosts.len()), 8),
            cell(&on_summary(app, row, on_w), on_w),
        );
        let mut style = if outlier {
            theme.severity(Severity::Warning)
        } else {
            Style::new()
        };
        if selected {
            style = style.patch(theme.selected(focused));
        }
        lines.push(Line::styled(text, style));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    height
}

/// "all", "all but a, b" or "a, b, c", cut to `width` cells (the hosts pane lists them all).
fn on_summary(app: &FleetApp, row: &KindRow, width: usize) -> String {
    let total = app.fleet.hosts.len();
    let on = row.hosts.len();
    if on == total {
        return "all".into();
    }
    let mut names = String::new();
    let mut push = |name: &str| {
        if names.len() > width {
            return;
        }
        if !names.is_empty() {
            names.push_str(", ");
        }
        names.push_str(&escape(name));
    };
    if on * 2 > total {
        let mut has = vec![false; total];
        for &h in &row.hosts {
            has[h as usize] = true;
        }
        for (i, _) in has.iter().enumerate().filter(|(_, &h)| !h) {
            push(&app.fleet.hosts[i].name);
        }
        format!("all but {names}")
    } else {
        for &h in &row.hosts {
            push(&app.fleet.hosts[h as usize].name);
        }
        names
    }
}

fn draw_hosts(
    frame: &mut Frame,
    area: Rect,
    app: &FleetApp,
    theme: Theme,
    offset: &mut usize,
) -> usize {
    let focused = app.focus == FleetPane::Hosts;
    let title = match app.selected_kind() {
        Some(row) => format!(
            "Hosts: {} {} {} on {} of {}",
            row.kind.protocol.as_str(),
            row.kind.port,
            escape(&row.kind.program),
            row.hosts.len(),
            app.fleet.hosts.len()
        ),
        None => format!("Hosts ({})", app.fleet.hosts.len()),
    };
    let title_style = if focused {
        theme.heading()
    } else {
        Style::new()
    };
    let block = pane_block(Line::styled(title, title_style), focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return 0;
    }
    let width = inner.width as usize;
    // marker 2, has 2, listeners 10, outliers 9, taken 20; the name takes the rest.
    let taken_w = if width >= 64 { 20 } else { 0 };
    let name_w = width.saturating_sub(23 + taken_w).max(4);
    let height = inner.height as usize - 1;
    let mut lines = Vec::with_capacity(height + 1);
    lines.push(Line::styled(
        format!(
            "{NO_MARKER}  {}{}{}{}",
            cell("host", name_w),
            cell("listeners", 10),
            cell("outliers", 9),
            cell("taken (UTC)", taken_w)
        ),
        theme.dim(),
    ));
    let rows = app.host_rows();
    *offset = keep_visible(*offset, app.host_cursor(), height, rows.len());
    for (at, &HostRow { host, has }) in rows.iter().enumerate().skip(*offset).take(height) {
        let h = app.host(host);
        let selected = at == app.host_cursor();
        let marker = if selected { MARKER } else { NO_MARKER };
        let mark = match has {
            Some(true) => "✓ ",
            Some(false) => "✗ ",
            None => "  ",
        };
        let name = if h.hostname != h.name {
            format!("{} ({})", escape(&h.name), escape(&h.hostname))
        } else {
            escape(&h.name).into_owned()
        };
        let text = format!(
            "{marker}{mark}{}{}{}{}",
            cell(&name, name_w),
            cell(&format!("{:>9}", h.listeners), 10),
            cell(&format!("{:>8}", h.outliers), 9),
            cell(&crate::text::utc(h.taken_at), taken_w),
        );
        let mut style = match has {
            Some(false) => theme.dim(),
            _ => Style::new(),
        };
        if selected {
            style = style.patch(theme.selected(focused));
        }
        lines.push(Line::styled(text, style));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    height
}

fn draw_status(frame: &mut Frame, area: Rect, app: &FleetApp, theme: Theme) {
    let keys = fleet_status_keys(app.mode);
    let line = match &app.notice {
        Some(notice) => Line::from(vec![
            Span::styled(escape(notice).into_owned(), theme.heading()),
            Span::raw("  "),
            Span::styled(keys, theme.dim()),
        ]),
        None => Line::styled(keys, theme.dim()),
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn draw_help(frame: &mut Frame, area: Rect, theme: Theme) {
    let key_width = FLEET_HELP
        .iter()
        .map(|(k, _)| crate::text::width(k))
        .max()
        .unwrap_or(0);
    let mut lines: Vec<Line> = FLEET_HELP
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
        "Rows: ! outlier (on few hosts), ▶ selected; hosts: ✓ has it, ✗ lacks it.",
        theme.dim(),
    ));
    let w = 76.min(area.width);
    let h = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(pane_block(
                Line::raw("Fleet keys (Esc closes)"),
                true,
                theme,
            )),
        rect,
    );
}
