//! The listener pane: one line per socket, in the listing's columns ([`report::Column`]); only
//! the rows on screen are formatted.

use crate::hints::Flags;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{cell, keep_visible, pane_block, title_line, Theme, MARKER, NO_MARKER};
use crate::report::{words, Column, Row as ReportRow};
use crate::text::escape;
use crate::tui::state::{App, Freshness, Mode, Pane, Row};

/// Cells of the EXP mark: `✓`, `✗`, or `yes`/`no` outside a UTF-8 locale, and a separator.
const EXP_WIDTH: usize = 4;

pub(super) fn draw(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    theme: Theme,
    offset: &mut usize,
) -> usize {
    let focused = app.focus == Pane::Listeners;
    let what = if app.listeners_only() {
        "Listeners"
    } else {
        "Sockets"
    };
    let gone = app.vanished_count();
    let count = if gone > 0 {
        format!("{} live, {gone} gone", app.visible_len() - gone)
    } else {
        app.visible_len().to_string()
    };
    let proto = app
        .filter
        .protocol
        .map_or_else(|| "tcp+udp".to_owned(), |p| p.to_string());
    let mut title = format!("{what} ({count})  sort {} · {proto}", app.sort.word());
    if let Some(text) = &app.filter.text {
        title.push_str(&format!(" · filter \"{}\"", escape(text)));
    } else if app.mode == Mode::Filter {
        title.push_str(" · filter \"\"");
    }
    let block = pane_block(
        title_line(title, theme, app.focus, Pane::Listeners),
        focused,
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return 0;
    }
    // The EXP mark takes its cells from the others, and only when a file is in use: without
    // one nothing is marked (not everything unexpected).
    let exp = if app.marker().is_some() { EXP_WIDTH } else { 0 };
    let cols = Column::pane_at(
        (inner.width as usize).saturating_sub(exp),
        !app.listeners_only(),
    );
    let height = inner.height as usize - 1; // one line of column names
    let mut lines = Vec::with_capacity(height + 1);
    let mut head = format!("{NO_MARKER}  ");
    for (c, w) in &cols {
        head += &cell(&c.title().to_lowercase(), *w);
    }
    if exp > 0 {
        head += &cell(&Column::Expected.title().to_lowercase(), exp);
    }
    head += "!";
    lines.push(Line::styled(head, theme.dim()));

    if app.visible_len() == 0 {
        let msg = if app.host().is_none() {
            "collecting…"
        } else if app.filter.text.is_some() {
            "no sockets match the filter (Esc clears it)"
        } else {
            "no sockets match (f protocol, a every socket)"
        };
        lines.push(Line::styled(msg, theme.dim()));
    }
    *offset = keep_visible(*offset, app.listener_cursor(), height, app.visible_len());
    for at in *offset..(*offset + height).min(app.visible_len()) {
        let Some(row) = app.visible_row(at) else {
            break;
        };
        let selected = at == app.listener_cursor();
        lines.push(row_line(app, row, &cols, selected, focused, theme));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    height
}

fn row_line(
    app: &App,
    row: &Row,
    cols: &[(Column, usize)],
    selected: bool,
    focused: bool,
    theme: Theme,
) -> Line<'static> {
    let s = app.socket(row);
    let (fresh_glyph, mut style) = match app.freshness(row) {
        Freshness::New => ("+ ", theme.new_row()),
        Freshness::Vanished => ("- ", theme.vanished()),
        Freshness::Steady => ("  ", Style::new()),
    };
    if selected {
        style = style.patch(theme.selected(focused));
    }
    let marker = if selected { MARKER } else { NO_MARKER };
    // The same cells as `list`, from the report row; only the hints' flags are the pane's own.
    let report_row = ReportRow::new(app.registry, s, Flags::default()).with_facts(app.facts());
    let mut text = format!("{marker}{fresh_glyph}");
    for (c, w) in cols {
        text += &cell(&escape(&c.cell(&report_row)), *w);
    }
    let on_selection = |st: Style| {
        st.patch(if selected {
            theme.selected(focused)
        } else {
            Style::new()
        })
    };
    // A quieted hint keeps its glyph, dimmed: listed, but not an alarm.
    let (badge, badge_style) = match (row.badge(), row.quieted()) {
        (Some(sev), _) => (Some(sev), theme.severity(sev)),
        (None, Some(quiet)) => (Some(quiet), theme.dim()),
        (None, None) => (None, Style::new()),
    };
    let mut spans = vec![Span::styled(text, style)];
    if app.marker().is_some() {
        let mark_style = match row.expected {
            Some(false) => theme.severity(crate::hints::Severity::Notice),
            _ => theme.dim(),
        };
        spans.push(Span::styled(
            cell(words::expected_glyph(row.expected), EXP_WIDTH),
            on_selection(mark_style),
        ));
    }
    spans.push(Span::styled(
        words::severity_glyph(badge),
        on_selection(badge_style),
    ));
    Line::from(spans)
}
