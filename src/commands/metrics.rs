//! `portscope metrics [-o FILE]`: the listeners as Prometheus text exposition, for
//! node_exporter's textfile collector (write to `<dir>/portscope.prom`; the write is atomic, so the
//! collector never reads half a file). Label values are escaped per the exposition format after
//! `text::escape` has made hidden characters visible.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use super::{CmdResult, Context, Failure};
use crate::cli::MetricsArgs;
use crate::exposure::{self, Firewall};
use crate::hints;
use crate::policy::{Expected, ListenerFacts, PolicyError};
use crate::sockets::{Socket, UnknownOwner};
use crate::text::escape;

/// A label value as the exposition format wants it: backslash, double quote and line feed
/// escaped (after hidden characters were made visible by `text::escape`).
pub(crate) fn label_value(raw: &str) -> String {
    let visible = escape(raw);
    let mut out = String::with_capacity(visible.len());
    for c in visible.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

pub fn run(ctx: &Context, args: &MetricsArgs) -> CmdResult {
    let started = Instant::now();
    let registry = ctx.registry()?;
    // A broken expected file is an error (exit 2), not a silently missing count; no file at all
    // just leaves the counts out.
    let expected = match Expected::find(args.expected.as_deref()) {
        Ok(e) => Some(e),
        Err(PolicyError::NotFound { .. }) if args.expected.is_none() => None,
        Err(e) => return Err(Failure::Usage(escape(&e.to_string()).into_owned())),
    };
    let snapshot = super::collect_live(false)?;
    let ifaces = super::reach::interfaces()?;
    let fw = if args.no_firewall {
        Firewall {
            rules: exposure::Rules::default(),
            unread: vec!["not read (--no-firewall)".into()],
            nftables_read_with: None,
        }
    } else {
        exposure::read_firewall()
    };
    let listeners: Vec<&Socket> = snapshot
        .sockets
        .iter()
        .filter(|s| s.state.is_listener())
        .collect();
    // Policy's view of each listener, with the cheap facts (unit, container, package): the
    // facts the rules match on are the labels' too, so a unit or container appears in both.
    let table = crate::facts::FactsCache::new(crate::facts::Roots::system())
        .table(listeners.iter().copied(), crate::facts::Depth::Cheap);
    let facts: Vec<ListenerFacts> = listeners
        .iter()
        .map(|s| ListenerFacts::of_socket(s).with_facts(s, &table))
        .collect();
    let verdicts = expected.as_ref().map(|e| e.check(&facts));
    let assessor = hints::Assessor::new(&registry, &snapshot).with_facts(&table);

    // Identical label sets (SO_REUSEPORT siblings) add up into one series.
    let mut series: BTreeMap<String, u64> = BTreeMap::new();
    for (i, s) in listeners.iter().enumerate() {
        let reach = exposure::reach(s, &ifaces, &fw);
        let expected_word = match &verdicts {
            None => "unknown",
            Some(v) if v.matched[i].is_some() => "true",
            Some(_) => "false",
        };
        // An expected listener's quieted hints do not raise its severity: an alert rule on
        // `severity` then fires for what the file does not expect (and for alerts).
        let severity = assessor
            .flags(s)
            .iter()
            .map(|f| f.severity)
            .filter(|sev| expected_word != "true" || !crate::policy::quiets(*sev))
            .max()
            .map_or("none", |s| s.as_str());
        let labels = format!(
            "port=\"{}\",protocol=\"{}\",address=\"{}\",process=\"{}\",unit=\"{}\",container=\"{}\",reach=\"{}\",severity=\"{}\",expected=\"{}\"",
            s.local_port,
            s.proto_label(),
            s.local_addr,
            label_value(s.owners.first().map_or("", |o| o.name.as_str())),
            label_value(facts[i].unit.unwrap_or("")),
            label_value(facts[i].container.unwrap_or("")),
            reach.summary,
            severity,
            expected_word
        );
        *series.entry(labels).or_default() += 1;
    }

    let mut out = String::new();
    out.push_str("# HELP portscope_listener Listening sockets (TCP LISTEN, unconnected UDP) with these labels; unit and container are empty where portscope does not know them.\n# TYPE portscope_listener gauge\n");
    for (labels, n) in &series {
        let _ = writeln!(out, "portscope_listener{{{labels}}} {n}");
    }
    let hidden = listeners
        .iter()
        .filter(|s| s.owner_unknown == Some(UnknownOwner::Hidden))
        .count();
    let gauge = |out: &mut String, name: &str, help: &str, v: String| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
    };
    gauge(
        &mut out,
        "portscope_hidden_owner_listeners",
        "Listeners whose owning process this run could not see.",
        hidden.to_string(),
    );
    gauge(
        &mut out,
        "portscope_expected_file_loaded",
        "1 when an expected-listeners file was read (the unexpected and missing counts need one).",
        u8::from(verdicts.is_some()).to_string(),
    );
    if let Some(v) = &verdicts {
        gauge(
            &mut out,
            "portscope_unexpected_listeners",
            "Listeners that no rule of the expected-listeners file matches.",
            v.unexpected().count().to_string(),
        );
        gauge(
            &mut out,
            "portscope_missing_listeners",
            "Required rules of the expected-listeners file that no listener matches.",
            v.missing.len().to_string(),
        );
    }
    gauge(
        &mut out,
        "portscope_firewall_read",
        "1 when the firewall rules were read, so reach reflects them.",
        u8::from(fw.unread.is_empty()).to_string(),
    );
    gauge(
        &mut out,
        "portscope_collection_duration_seconds",
        "How long this collection took.",
        format!("{:.6}", started.elapsed().as_secs_f64()),
    );
    gauge(
        &mut out,
        "portscope_collection_timestamp_seconds",
        "When this collection was taken, seconds since the Unix epoch.",
        snapshot.host.taken_at.to_string(),
    );

    match &args.output {
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(out.as_bytes())?;
            stdout.flush()?;
        }
        Some(path) => crate::files::write(path, out.as_bytes(), crate::files::Place::Given)
            .map_err(|e| {
                // Raw text in a runtime error: `main` escapes it once as it prints it.
                Failure::Runtime(anyhow::anyhow!("cannot write the metrics: {e}"))
            })?,
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::label_value;

    #[test]
    fn label_values_are_escaped_for_the_exposition_format() {
        assert_eq!(label_value("plain"), "plain");
        assert_eq!(label_value("a\"b"), "a\\\"b");
        // Hidden characters are made visible first, then every backslash is escaped.
        assert_eq!(label_value("a\nb"), "a\\\\nb");
        assert_eq!(label_value("\u{1b}[2J"), "\\\\x1b[2J");
        assert_eq!(label_value("c:\\x"), "c:\\\\\\\\x");
    }
}
