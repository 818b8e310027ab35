//! The detail pane: the [`Detail`] the state built for the selected socket, registry entry or
//! port, drawn as lines. Lines are wrapped here (not by the widget) so the pane knows how long
//! its content is and scrolling stops at its end. Values are escaped here, once; commands are
//! drawn exactly as built.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{pane_block, title_line, Theme};
use crate::hints::Severity;
use crate::report::plain::{paragraphs, wrap};
use crate::report::{words, Detail, Item, Tone};
use crate::text::escape;
use crate::tui::state::{App, Pane};

/// Labels are padded to this many cells.
const LABEL: usize = 13;

/// Draw the pane; returns how far its content can scroll.
pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) -> u16 {
    let focused = app.focus == Pane::Detail;
    let (title, lines) = match app.detail() {
        Some(detail) => (
            format!("Detail: {}", escape(&detail.title)),
            lines(detail, area.width.saturating_sub(2) as usize, theme),
        ),
        None => {
            let what = match app.detail_of {
                Pane::Listeners if app.host().is_none() => "collecting…",
                Pane::Listeners => "no socket selected",
                _ => "no entry selected",
            };
            ("Detail".to_owned(), vec![Line::styled(what, theme.dim())])
        }
    };
    let block = pane_block(
        title_line(title, theme, app.focus, Pane::Detail),
        focused,
        theme,
    );
    let height = area.height.saturating_sub(2) as usize;
    let max_scroll = u16::try_from(lines.len().saturating_sub(height)).unwrap_or(u16::MAX);
    let scroll = app.detail_scroll.min(max_scroll);
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)).block(block), area);
    max_scroll
}

fn tone(t: Tone, theme: Theme) -> Style {
    match t {
        Tone::Plain => Style::new(),
        Tone::Dim => theme.dim(),
        Tone::Severity(s) => theme.severity(s),
    }
}

/// The detail as lines of at most `width` cells.
fn lines(detail: &Detail, width: usize, theme: Theme) -> Vec<Line<'static>> {
    let width = width.max(20);
    let mut out = Vec::new();
    for section in &detail.sections {
        if section.items.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(Line::raw(""));
        }
        out.push(Line::styled(section.heading.to_owned(), theme.heading()));
        for item in &section.items {
            push_item(&mut out, item, width, theme);
        }
    }
    out
}

fn push_item(out: &mut Vec<Line<'static>>, item: &Item, width: usize, theme: Theme) {
    match item {
        Item::Field {
            label,
            value,
            tone: t,
        } => {
            let avail = width.saturating_sub(LABEL).max(8);
            let mut first = true;
            for paragraph in paragraphs(value) {
                for line in wrap(&escape(&paragraph), avail) {
                    let label = if first { *label } else { "" };
                    first = false;
                    out.push(Line::from(vec![
                        Span::styled(format!("{label:<LABEL$}"), theme.dim()),
                        Span::styled(line, tone(*t, theme)),
                    ]));
                }
            }
        }
        Item::Note { text, tone: t } => {
            for line in wrap(&escape(text), width) {
                out.push(Line::styled(line, tone(*t, theme)));
            }
        }
        Item::Verdict {
            severity, title, ..
        } => push_tagged(out, *severity, &escape(title), width, theme),
        Item::Hint {
            severity,
            id,
            title,
            why,
        } => {
            push_tagged(
                out,
                *severity,
                &format!("{}  ({id})", escape(title)),
                width,
                theme,
            );
            for line in wrap(&escape(why), width.saturating_sub(2).max(8)) {
                out.push(Line::raw(format!("  {line}")));
            }
        }
        // A command is shell-safe and printable as built: escaping it again would change what
        // pasting it runs. It is not wrapped either, so a copied line is whole.
        Item::Command(line) => out.push(Line::styled(format!("  $ {line}"), theme.dim())),
        Item::Gap => out.push(Line::raw("")),
    }
}

/// `[warning] text`, wrapped with the continuation lines indented under the text.
fn push_tagged(
    out: &mut Vec<Line<'static>>,
    severity: Severity,
    text: &str,
    width: usize,
    theme: Theme,
) {
    let tag = format!("[{}] ", words::severity(severity));
    for (n, line) in wrap(text, width.saturating_sub(tag.len()).max(8))
        .into_iter()
        .enumerate()
    {
        let lead = if n == 0 {
            Span::styled(tag.clone(), theme.severity(severity))
        } else {
            Span::raw(" ".repeat(tag.len()))
        };
        out.push(Line::from(vec![lead, Span::raw(line)]));
    }
}
