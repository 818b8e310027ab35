//! The detail pane: everything known about the selected socket or registry entry — process
//! facts, every IANA field, known uses, hints with next commands, and the cross-link.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::registry::port_label;
use super::{pane_block, title_line, Theme};
use crate::hints::Assessment;
use crate::registry::{Entry, PortClass, PortRange, Registry};
use crate::text::escape;
use crate::tui::state::{App, Pane, Row};

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let focused = app.focus == Pane::Detail;
    let (title, lines) = match app.detail_of {
        Pane::Registry => match app.selected_hit() {
            Some(hit) => (
                format!("Detail: {}", port_label(hit)),
                // A known use or an alias is described by its port: IANA's entries and the
                // port's known uses.
                match (hit.entry(app.registry), hit.ports) {
                    (Some(entry), _) => entry_lines(app, entry, theme),
                    (None, Some(ports)) => port_lines(app, ports.start, theme),
                    (None, None) => vec![hint_line(theme, "no port")],
                },
            ),
            None => match app.queried_port() {
                Some(port) => (format!("Detail: port {port}"), port_lines(app, port, theme)),
                None => (
                    "Detail".to_owned(),
                    vec![hint_line(theme, "no entry selected")],
                ),
            },
        },
        _ => match app.selected_row() {
            Some(row) => {
                let s = app.socket(row);
                (
                    format!("Detail: {}/{}", s.local_port, s.protocol),
                    socket_lines(app, row, theme),
                )
            }
            None => (
                "Detail".to_owned(),
                vec![hint_line(theme, "no socket selected")],
            ),
        },
    };
    let block = pane_block(
        title_line(title, theme, app.focus, Pane::Detail),
        focused,
        theme,
    );
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((app.detail_scroll, 0))
            .block(block),
        area,
    );
}

fn hint_line(theme: Theme, s: &str) -> Line<'static> {
    Line::styled(s.to_owned(), theme.dim())
}

fn field(name: &str, value: impl Into<String>, theme: Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:<13}"), theme.dim()),
        Span::raw(value.into()),
    ])
}

fn heading(s: &str, theme: Theme) -> Line<'static> {
    Line::styled(s.to_owned(), theme.heading())
}

fn socket_lines(app: &App, row: &Row, theme: Theme) -> Vec<Line<'static>> {
    let s = app.socket(row);
    let mut lines = Vec::new();
    let reach = if s.is_wildcard() {
        "every interface"
    } else if s.is_loopback() {
        "loopback only"
    } else {
        "one address"
    };
    lines.push(field(
        "socket",
        format!("{} {}", s.proto_label(), s.local_endpoint()),
        theme,
    ));
    lines.push(field(
        "state",
        format!("{} · {reach}", s.state.label()),
        theme,
    ));
    if let (Some(addr), Some(port)) = (s.remote_addr, s.remote_port) {
        lines.push(field("peer", format!("{addr} port {port}"), theme));
    }
    lines.push(Line::raw(""));
    lines.push(heading("Process", theme));
    if s.owners.is_empty() {
        let why = s
            .owner_unknown
            .map_or("owner could not be determined", |u| u.explain());
        lines.push(Line::styled(
            why.to_owned(),
            theme.severity(crate::hints::Severity::Warning),
        ));
    }
    for owner in &s.owners {
        lines.push(field("name", escape(&owner.name).into_owned(), theme));
        lines.push(field("pid", owner.pid.to_string(), theme));
        let user = match (&owner.user, owner.uid) {
            (Some(u), Some(uid)) => format!("{} (uid {uid})", escape(u)),
            (Some(u), None) => escape(u).into_owned(),
            (None, Some(uid)) => format!("uid {uid}"),
            (None, None) => "unknown".into(),
        };
        lines.push(field("user", user, theme));
        if let Some(exe) = &owner.exe {
            let deleted = if owner.exe_deleted {
                " (deleted since start)"
            } else {
                ""
            };
            lines.push(field("exe", format!("{}{deleted}", escape(exe)), theme));
        }
        if !owner.cmdline.is_empty() {
            let cmd: Vec<String> = owner
                .cmdline
                .iter()
                .map(|a| escape(a).into_owned())
                .collect();
            lines.push(field("command", cmd.join(" "), theme));
        }
        if let Some(t) = owner.start_time {
            lines.push(field("started", crate::text::utc(t), theme));
        }
        if let Some(ppid) = owner.parent_pid {
            lines.push(field("parent pid", ppid.to_string(), theme));
        }
        lines.push(Line::raw(""));
    }
    // A socket that vanished is judged by its port alone: the snapshot no longer has it.
    let assessment = match (row.vanished_at, app.snapshot()) {
        (None, Some(snapshot)) => crate::hints::assess_socket(app.registry, snapshot, s),
        _ => crate::hints::assess_port(app.registry, s.local_port, Some(s.protocol)),
    };
    push_assessment(&mut lines, &assessment, app.registry, theme, s.local_port);
    lines.push(Line::styled(
        "l: show this port in the registry".to_owned(),
        theme.dim(),
    ));
    lines
}

fn entry_lines(app: &App, e: Entry<'_>, theme: Theme) -> Vec<Line<'static>> {
    let mut lines = vec![heading("IANA entry", theme)];
    push_entry_fields(&mut lines, &e, theme);
    lines.push(Line::raw(""));
    let Some(ports) = e.ports else {
        lines.push(hint_line(theme, "a name-only registration: no port"));
        return lines;
    };
    let assessment = crate::hints::assess_port(app.registry, ports.start, e.protocol);
    if !assessment.known_uses.is_empty() || !assessment.hints.is_empty() {
        push_known_and_hints(&mut lines, &assessment, theme);
    }
    push_live(&mut lines, app, ports, theme);
    lines
}

/// A port IANA has no entry for: its class, its unassigned run, known uses, hints, listeners.
fn port_lines(app: &App, port: u16, theme: Theme) -> Vec<Line<'static>> {
    let assessment = crate::hints::assess_port(app.registry, port, None);
    let mut lines = Vec::new();
    push_assessment(&mut lines, &assessment, app.registry, theme, port);
    push_live(&mut lines, app, PortRange::single(port), theme);
    lines
}

fn push_live(lines: &mut Vec<Line<'static>>, app: &App, ports: PortRange, theme: Theme) {
    lines.push(heading("On this machine", theme));
    let live: Vec<&Row> = (ports.start..=ports.end)
        .flat_map(|p| app.listeners_on(p))
        .collect();
    if live.is_empty() {
        lines.push(Line::raw(format!("nothing listens on {ports}")));
    }
    for row in live.iter().take(20) {
        let socket = app.socket(row);
        let who = socket
            .owners
            .first()
            .map_or("(owner unknown)".to_owned(), |o| {
                format!("{} pid {}", escape(&o.name), o.pid)
            });
        lines.push(Line::raw(format!(
            "{} {}  {who}",
            socket.proto_label(),
            socket.local_endpoint()
        )));
    }
    if live.len() > 20 {
        lines.push(hint_line(theme, &format!("… and {} more", live.len() - 20)));
    }
    if !live.is_empty() {
        lines.push(hint_line(theme, "l: jump to the listener"));
    }
}

fn push_entry_fields(lines: &mut Vec<Line<'static>>, e: &Entry<'_>, theme: Theme) {
    let or_dash = |s: &str| {
        if s.trim().is_empty() {
            "-".to_owned()
        } else {
            escape(s).into_owned()
        }
    };
    lines.push(field("service", or_dash(e.service), theme));
    lines.push(field(
        "port",
        e.ports.map_or("-".to_owned(), |p| {
            format!("{p} · {}", PortClass::of(p.start).label())
        }),
        theme,
    ));
    lines.push(field(
        "protocol",
        e.protocol.map_or("-".to_owned(), |p| p.to_string()),
        theme,
    ));
    lines.push(field("description", or_dash(e.description), theme));
    lines.push(field("assignee", or_dash(&e.assignee_name()), theme));
    lines.push(field("contact", or_dash(&e.contact_name()), theme));
    lines.push(field("registered", or_dash(e.registration_date), theme));
    lines.push(field("modified", or_dash(e.modification_date), theme));
    lines.push(field("reference", or_dash(e.reference), theme));
    lines.push(field("service code", or_dash(e.service_code), theme));
    lines.push(field("unauth. use", or_dash(e.unauthorized_use), theme));
    lines.push(field("notes", or_dash(e.assignment_notes), theme));
}

fn push_assessment(
    lines: &mut Vec<Line<'static>>,
    a: &Assessment<'_>,
    registry: &Registry,
    theme: Theme,
    port: u16,
) {
    lines.push(heading("IANA", theme));
    if a.entries.is_empty() {
        lines.push(Line::raw(format!(
            "port {port} has no IANA entry: {}",
            PortClass::of(port).label()
        )));
        if let Some(run) = registry.unassigned_run(port) {
            lines.push(Line::raw(format!(
                "it lies in the unassigned run {run} ({} ports)",
                run.len()
            )));
        }
    }
    for (i, e) in a.entries.iter().enumerate() {
        if i > 0 {
            lines.push(Line::raw(""));
        }
        push_entry_fields(lines, e, theme);
    }
    lines.push(Line::raw(""));
    push_known_and_hints(lines, a, theme);
}

fn push_known_and_hints(lines: &mut Vec<Line<'static>>, a: &Assessment<'_>, theme: Theme) {
    lines.push(heading("Known uses", theme));
    if a.known_uses.is_empty() {
        lines.push(hint_line(theme, "none recorded"));
    }
    for k in &a.known_uses {
        lines.push(Line::raw(format!(
            "• {} ({}, {:?}): {}",
            escape(&k.product),
            escape(&k.category),
            k.confidence,
            escape(&k.note)
        )));
        if !k.reference.is_empty() {
            lines.push(hint_line(theme, &format!("  {}", escape(&k.reference))));
        }
    }
    lines.push(Line::raw(""));
    lines.push(heading("Hints", theme));
    if a.hints.is_empty() {
        lines.push(hint_line(theme, "nothing unusual found"));
    }
    for h in &a.hints {
        lines.push(Line::from(vec![
            Span::styled(
                format!("[{}] ", format!("{:?}", h.severity).to_lowercase()),
                theme.severity(h.severity),
            ),
            Span::styled(escape(&h.title).into_owned(), Style::new()),
        ]));
        lines.push(Line::raw(format!("  {}", escape(&h.why))));
        for step in &h.next_steps {
            lines.push(Line::styled(format!("  $ {}", escape(step)), theme.dim()));
        }
    }
    lines.push(Line::raw(""));
}
