//! Plain-text printing of a [`Detail`] (`explain`, `lookup`): headings, labelled fields wrapped
//! under themselves, hints with their commands. Every value is escaped here, once; commands are
//! printed exactly as built (they are shell-safe and printable by construction).

use std::io::{self, Write};

use super::detail::{Detail, Item};
use crate::text::escape;

/// Where values start: labels are padded to this column.
const INDENT: usize = 20;

pub fn write_detail(out: &mut impl Write, detail: &Detail, width: usize) -> io::Result<()> {
    for (n, section) in detail.sections.iter().enumerate() {
        if section.items.is_empty() {
            continue;
        }
        if n > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{}", section.heading)?;
        for item in &section.items {
            write_item(out, item, width)?;
        }
    }
    Ok(())
}

fn write_item(out: &mut impl Write, item: &Item, width: usize) -> io::Result<()> {
    match item {
        Item::Field { label, value, .. } => write_field(out, label, value, width),
        Item::Note { text, .. } => {
            for line in wrap(&escape(text), width.saturating_sub(2).max(20)) {
                writeln!(out, "  {line}")?;
            }
            Ok(())
        }
        Item::Verdict {
            severity,
            id,
            title,
        } => writeln!(out, "  [{severity}] {}  ({id})", escape(title)),
        Item::Hint {
            severity,
            id,
            title,
            why,
        } => {
            writeln!(out, "  [{severity}] {}  ({id})", escape(title))?;
            for line in wrap(&escape(why), width.saturating_sub(6).max(20)) {
                writeln!(out, "      {line}")?;
            }
            Ok(())
        }
        Item::Command(line) => writeln!(out, "      $ {line}"),
        Item::Gap => writeln!(out),
    }
}

/// `  label             value`, the value escaped and wrapped under itself. IANA's notes carry
/// hard line breaks from old mail: they are reflowed, keeping list items apart.
fn write_field(out: &mut impl Write, label: &str, value: &str, width: usize) -> io::Result<()> {
    let avail = width.saturating_sub(INDENT).max(20);
    let mut first = true;
    for paragraph in paragraphs(value) {
        for line in wrap(&escape(&paragraph), avail) {
            if first {
                writeln!(out, "  {label:<w$}{line}", w = INDENT - 2)?;
                first = false;
            } else {
                writeln!(out, "{:INDENT$}{line}", "")?;
            }
        }
    }
    Ok(())
}

/// Split text into paragraphs at blank lines and before list items (`*`, `-`); other line breaks
/// become spaces.
pub fn paragraphs(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in value.lines() {
        let line = line.trim();
        let starts_item = line.starts_with("* ") || line.starts_with("- ");
        if (line.is_empty() || starts_item) && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        if !line.is_empty() {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(line);
        }
    }
    if !current.is_empty() || out.is_empty() {
        out.push(current);
    }
    out
}

/// Greedy word wrap by display width; a word longer than the line is cut.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let needed =
            crate::text::width(&line) + usize::from(!line.is_empty()) + crate::text::width(word);
        if !line.is_empty() && needed > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        while crate::text::width(&line) > width {
            let cut: String = line.chars().take(width).collect();
            let rest: String = line.chars().skip(width).collect();
            lines.push(cut);
            line = rest;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::detail::{Section, Tone};

    #[test]
    fn wrap_keeps_words_whole() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("", 5), vec![""]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
    }

    /// Values are escaped once; a command is printed as built (a second escape would double
    /// the backslash of its quoting and change what pasting it runs).
    #[test]
    fn values_are_escaped_once_and_commands_not_at_all() {
        let detail = Detail {
            title: "t".into(),
            sections: vec![Section {
                heading: "Process",
                items: vec![
                    Item::Field {
                        label: "name",
                        value: "evil\u{1b}[2J".into(),
                        tone: Tone::Plain,
                    },
                    Item::Command(r"dpkg -S 'a'\'';touch PWNED;'\'''".into()),
                ],
            }],
        };
        let mut out = Vec::new();
        write_detail(&mut out, &detail, 80).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(r"evil\x1b[2J"), "{text}");
        assert!(!text.contains(r"\\x1b"), "escaped twice: {text}");
        assert!(
            text.contains(r"$ dpkg -S 'a'\'';touch PWNED;'\'''"),
            "{text}"
        );
    }
}
