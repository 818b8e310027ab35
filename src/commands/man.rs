//! `portscope man`: one man page, portscope(1), generated from the CLI definition (name,
//! synopsis, description, options) plus what clap cannot know: every subcommand with its own
//! options (there are no separate portscope-COMMAND(1) pages to point at), the explorer's keys
//! (from the keymap's own table), exit status, environment and files.

use std::io::{self, Write};

use clap::CommandFactory;

use crate::cli::Cli;

pub fn write(out: &mut dyn Write) -> io::Result<()> {
    let mut cmd = Cli::command();
    // Propagate the global options (--json, --registry) into every subcommand.
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;

    writeln!(out, ".SH COMMANDS")?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        // After build(), a subcommand's usage already starts with "portscope".
        let usage = sub.clone().render_usage().to_string();
        let usage = usage.trim_start_matches("Usage: ");
        writeln!(out, ".TP\n\\fB{}\\fR", roff(usage))?;
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            writeln!(out, "{}", roff(&about.to_string()))?;
        }
        // Global options are in OPTIONS already.
        let own = |a: &&clap::Arg| !a.is_hide_set() && !a.is_global_set() && a.get_id() != "help";
        for arg in sub.get_arguments().filter(own) {
            let Some(help) = arg.get_help() else { continue };
            let name = match (arg.get_short(), arg.get_long()) {
                (Some(s), Some(l)) => format!("-{s}, --{l}"),
                (None, Some(l)) => format!("--{l}"),
                (Some(s), None) => format!("-{s}"),
                (None, None) => arg.get_id().to_string().to_uppercase(),
            };
            writeln!(
                out,
                ".RS\n.TP\n\\fB{}\\fR\n{}\n.RE",
                roff(&name),
                roff(&help.to_string())
            )?;
        }
    }

    writeln!(
        out,
        ".SH KEYS\nIn the explorer (no subcommand, view FILE, or ssh):"
    )?;
    for (keys, what) in crate::tui::HELP {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(keys), roff(what))?;
    }
    writeln!(
        out,
        ".PP\nIn the fleet view (view DIR, or several snapshot files):"
    )?;
    for (keys, what) in crate::tui::fleet::FLEET_HELP {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(keys), roff(what))?;
    }

    let sections: [(&str, &[(&str, &str)]); 3] = [
        (
            "EXIT STATUS",
            &[
                ("0", "Success; for list, search and check: something was found; for diff: no change."),
                ("1", "A runtime failure, or nothing to report: no socket matches (list), no service matches (search), the snapshots differ (diff)."),
                ("2", "A usage error or unreadable input: a bad option, port, query, snapshot or registry file. One line on standard error says what is wrong."),
                ("129, 130, 143", "The explorer ended on SIGHUP, SIGINT or SIGTERM (128 plus the signal number), after restoring the terminal."),
            ],
        ),
        (
            "ENVIRONMENT",
            &[
                ("NO_COLOR", "When set and not empty, no colour is drawn; the selection is still marked with a glyph."),
                ("TERM", "When dumb, or when standard input or output is not a terminal, portscope prints the plain listener table instead of the explorer."),
                ("PORTSCOPE_DATA_DIR", "Where registry import stores the imported registry (default: the user's data directory)."),
                ("XDG_DATA_HOME", "The user's data directory on Linux (default ~/.local/share)."),
            ],
        ),
        (
            "FILES",
            &[
                ("$XDG_DATA_HOME/portscope/service-names-port-numbers.csv", "The registry imported with registry import, used instead of the embedded copy until registry reset."),
                ("/proc", "Sockets' owners, process names, executables and start times (Linux)."),
            ],
        ),
    ];
    for (title, items) in sections {
        writeln!(out, ".SH {title}")?;
        for (term, text) in items {
            writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(term), roff(text))?;
        }
    }
    man.render_version_section(out)?;
    Ok(())
}

/// Text made safe for roff: backslashes escaped, a leading dot or quote neutralised, hyphens
/// kept literal.
fn roff(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = line.replace('\\', "\\e").replace('-', "\\-");
            if line.starts_with('.') || line.starts_with('\'') {
                format!("\\&{line}")
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_every_section_and_points_at_no_missing_page() {
        let mut out = Vec::new();
        write(&mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH COMMANDS",
            ".SH KEYS",
            ".SH EXIT STATUS",
            ".SH ENVIRONMENT",
            ".SH FILES",
        ] {
            assert!(page.contains(section), "{section} missing");
        }
        assert!(!page.contains("portscope-lookup(1)"), "no such page exists");
        for (keys, _) in crate::tui::fleet::FLEET_HELP {
            assert!(page.contains(&roff(keys)), "fleet key {keys} missing");
        }
        assert!(
            page.contains("\\fBportscope lookup"),
            "each command is described"
        );
    }

    #[test]
    fn roff_neutralises_control_lines() {
        assert_eq!(roff(".SH x"), "\\&.SH x");
        assert_eq!(roff("a\\b-c"), "a\\eb\\-c");
    }
}
