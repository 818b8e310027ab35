//! The registry pane: the search line and the ranked results (or the whole registry).

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{cell, keep_visible, pane_block, title_line, Theme, MARKER, NO_MARKER};
use crate::registry::Registry;
use crate::search::{Hit, Kind};
use crate::text::escape;
use crate::tui::state::{App, Mode, Pane};

/// `6379/tcp`, `6000-6063/tcp,udp`, `-` for a name-only row.
pub(crate) fn port_label(hit: &Hit) -> String {
    hit.port_label()
}

/// The name a result row shows: IANA's service name, the known use's product, or for an alias
/// what was typed and what it means (`rdp → ms-wbt-server`).
fn hit_name(registry: &Registry, hit: &Hit) -> String {
    match hit.alias() {
        Some(a) => format!("{} → {}", escape(&a.alias), escape(&a.target)),
        None => escape(hit.name(registry)).into_owned(),
    }
}

pub(super) fn draw(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    theme: Theme,
    offset: &mut usize,
) -> usize {
    let focused = app.focus == Pane::Registry;
    let rows = app.registry_rows();
    let title = if app.query.is_empty() {
        // One line per service and port, with IANA's separate tcp and udp rows folded, and
        // unassigned or reserved rows left out: fewer lines than `registry info` counts rows.
        format!(
            "Registry: {} services ({} rows)",
            rows.len(),
            app.registry.len()
        )
    } else {
        format!("Registry: {} results", rows.len())
    };
    let block = pane_block(
        title_line(title, theme, app.focus, Pane::Registry),
        focused,
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return 0;
    }
    let width = inner.width as usize;
    let height = inner.height as usize - 1; // the search line
    let mut lines = Vec::with_capacity(height + 1);

    let typing = app.mode == Mode::Search;
    let search = if typing {
        Line::from(vec![
            Span::styled("/ ", theme.heading()),
            Span::raw(escape(&app.query).into_owned()),
            Span::styled("▏", theme.heading()),
        ])
    } else if app.query.is_empty() {
        Line::styled("/ to search by name, word, port or range", theme.dim())
    } else {
        Line::from(vec![
            Span::styled("/ ", theme.dim()),
            Span::raw(escape(&app.query).into_owned()),
            Span::styled("  (Esc clears)", theme.dim()),
        ])
    };
    lines.push(search);
    if let Some(err) = app.query_error() {
        lines.push(Line::styled(escape(err).into_owned(), theme.error()));
    } else if let (true, Some(port)) = (rows.is_empty(), app.queried_port()) {
        lines.push(Line::styled(
            format!("IANA has no entry for port {port}: see the detail pane"),
            theme.dim(),
        ));
    } else if rows.is_empty() {
        lines.push(Line::styled("no registry entry matches", theme.dim()));
    }

    let port_w = 16.min(width / 3);
    let service_w = 18.min(width / 3);
    let desc_w = width.saturating_sub(2 + port_w + service_w);
    *offset = keep_visible(*offset, app.registry_cursor(), height, rows.len());
    for (at, hit) in rows.iter().enumerate().skip(*offset).take(height) {
        let selected = at == app.registry_cursor();
        let style = if selected {
            theme.selected(focused)
        } else {
            Style::new()
        };
        let marker = if selected { MARKER } else { NO_MARKER };
        let text = format!(
            "{marker}{}{}{}",
            cell(&port_label(hit), port_w),
            cell(&hit_name(app.registry, hit), service_w),
            cell(&kind_and_description(app.registry, hit), desc_w),
        );
        lines.push(Line::styled(text, style));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    height
}

/// IANA rows show their description as before; known uses and aliases say what they are first.
fn kind_and_description(registry: &Registry, hit: &Hit) -> String {
    let description = escape(hit.description(registry));
    match hit.kind {
        Kind::Iana => description.into_owned(),
        kind => format!("[{}] {description}", kind.label()),
    }
}
