//! The listener pane: one line per live socket, only the rows on screen are formatted.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{badge, cell, keep_visible, pane_block, title_line, Theme, MARKER, NO_MARKER};
use crate::text::escape;
use crate::tui::state::{App, Freshness, Pane, Row};

struct Columns {
    addr: usize,
    service: usize,
    process: usize,
    user: usize,
}

fn columns(width: usize) -> Columns {
    // marker 2, fresh 2, proto 6, pid 8, badge 2 are fixed; the rest share what is left.
    let fixed = 2 + 2 + 6 + 8 + 2;
    let rest = width.saturating_sub(fixed);
    let user = if rest >= 50 { 9 } else { 0 };
    let service = if rest >= 40 { 12 } else { 0 };
    let process = if rest >= 30 { 15 } else { rest / 2 };
    let addr = rest.saturating_sub(user + service + process).max(1);
    Columns {
        addr,
        service,
        process,
        user,
    }
}

pub(super) fn draw(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    theme: Theme,
    offset: &mut usize,
) -> usize {
    let focused = app.focus == Pane::Listeners;
    let filter = match app.protocol_filter {
        None => "tcp+udp".to_owned(),
        Some(p) => p.to_string(),
    };
    let scope = if app.listeners_only {
        "listeners"
    } else {
        "all sockets"
    };
    let title = title_line(
        format!(
            "Listeners ({})  sort {} · {filter} · {scope}",
            app.visible_len(),
            app.sort.label()
        ),
        theme,
        app.focus,
        Pane::Listeners,
    );
    let block = pane_block(title, focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return 0;
    }
    let cols = columns(inner.width as usize);
    let height = inner.height as usize - 1; // one line of column names
    let mut lines = Vec::with_capacity(height + 1);
    let mut head = format!(
        "{}{}{}",
        NO_MARKER,
        "  ",
        cell("proto", 6) + &cell("address", cols.addr)
    );
    if cols.service > 0 {
        head += &cell("service", cols.service);
    }
    head += &cell("process", cols.process);
    head += &cell("pid", 8);
    if cols.user > 0 {
        head += &cell("user", cols.user);
    }
    head += "!";
    lines.push(Line::styled(head, theme.dim()));

    if app.visible_len() == 0 {
        let msg = if app.host().is_none() {
            "collecting…"
        } else {
            "no sockets match (f filter, a all sockets)"
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
    cols: &Columns,
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
    let (process, pid, user) = match s.owners.first() {
        Some(o) => {
            let more = if s.owners.len() > 1 {
                format!(" +{}", s.owners.len() - 1)
            } else {
                String::new()
            };
            (
                format!("{}{more}", escape(&o.name)),
                o.pid.to_string(),
                o.user
                    .as_deref()
                    .map(|u| escape(u).into_owned())
                    .or(o.uid.map(|u| u.to_string()))
                    .unwrap_or_default(),
            )
        }
        None => (
            match s.owner_unknown {
                Some(crate::sockets::UnknownOwner::Hidden) => "(hidden)".to_owned(),
                Some(crate::sockets::UnknownOwner::Kernel) => "(kernel)".to_owned(),
                _ => "(unknown)".to_owned(),
            },
            "-".to_owned(),
            // The kernel records who opened a socket even when its process cannot be seen.
            s.user
                .as_deref()
                .map(|u| escape(u).into_owned())
                .or(s.uid.map(|u| u.to_string()))
                .unwrap_or_default(),
        ),
    };
    let mut text = format!(
        "{marker}{fresh_glyph}{}{}",
        cell(&s.proto_label(), 6),
        cell(&s.local_endpoint().to_string(), cols.addr)
    );
    if cols.service > 0 {
        let service = app.registry.service_name(s.local_port, s.protocol);
        text += &cell(&escape(service.unwrap_or("")), cols.service);
    }
    text += &cell(&process, cols.process);
    text += &cell(&pid, 8);
    if cols.user > 0 {
        text += &cell(&user, cols.user);
    }
    let mut spans = vec![Span::styled(text, style)];
    let badge_style = row
        .badge
        .map_or(Style::new(), |sev| theme.severity(sev))
        .patch(if selected {
            theme.selected(focused)
        } else {
            Style::new()
        });
    spans.push(Span::styled(badge(row.badge), badge_style));
    Line::from(spans)
}
