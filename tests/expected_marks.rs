//! The expected-listeners file beyond `check`: `list` and `explain` mark each listener expected
//! or not (with the rule's reason and owner), hints on an expected listener are quieted but kept,
//! `diff --expected` leaves out what the file expects, and a broken file is exit 2 with its line
//! and column in every command that reads it, the explorer included (before it touches the
//! terminal). The real binary, inside a private network namespace so that only this test's
//! sockets are judged (CI runs beside thousands of foreign listeners).

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use support::vnet::Netns;

const BIN: &str = env!("CARGO_BIN_EXE_portscope");

/// A listener on `port` in `ns`, held by a process of its own until dropped. Not by the test
/// process: it spawns portscope for tests running beside this one, and a child between fork
/// and exec holds copies of its parent's sockets, which a snapshot may catch as a second owner.
struct Held(Child);

impl Drop for Held {
    fn drop(&mut self) {
        drop(self.0.stdin.take()); // the holder closes its sockets and exits
        let _ = self.0.wait();
    }
}

fn listen(ns: &Netns, port: u16) -> Held {
    let mut child = ns
        .command(support::hold_sockets_path().to_str().expect("a UTF-8 path"))
        .args(["--name", "marks-srv", "--tcp", &format!("0.0.0.0:{port}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start hold_sockets");
    let out = BufReader::new(child.stdout.take().expect("stdout"));
    let ready = out
        .lines()
        .map_while(Result::ok)
        .any(|line| line == "ready");
    assert!(
        ready,
        "hold_sockets could not bind port {port} in the namespace"
    );
    Held(child)
}

/// The binary inside `ns`, with a home and config dir of its own (no file of the user's is
/// found by accident) and the locale given.
fn portscope(ns: &Netns, home: &Path, locale: &str, args: &[&str]) -> Output {
    ns.command(BIN)
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("LC_ALL", locale)
        .env("COLUMNS", "200")
        .output()
        .expect("run portscope")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// 289/tcp is unassigned: a live listener there carries a warning (unassigned-system-port),
/// which the rule for it quiets.
const RULES: &str = "\
[[listener]]
port = 289
reason = \"legacy sync daemon\"
owner = \"storage team\"

[[listener]]
port = 7101
protocol = \"tcp\"
reason = \"test service\"
owner = \"qa\"
required = true
";

fn row(doc: &serde_json::Value, port: u64) -> &serde_json::Value {
    doc["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["local_port"] == port)
        .unwrap_or_else(|| panic!("no row for {port} in {doc}"))
}

#[test]
fn list_marks_rows_and_quiets_the_hints_of_expected_listeners() {
    let ns = Netns::new("marks");
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("expected.toml");
    std::fs::write(&file, RULES).unwrap();
    let f = file.to_str().unwrap();
    let _a = listen(&ns, 289);
    let _b = listen(&ns, 7101);
    let _c = listen(&ns, 7102);

    // The table: an EXP column, ✓ and ✗ in a UTF-8 locale.
    let out = portscope(&ns, home.path(), "C.UTF-8", &["list", "--expected", f]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let head = stdout.lines().next().unwrap();
    assert!(head.contains("EXP"), "{stdout}");
    let line = |port: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().nth(2) == Some(port))
            .unwrap_or_else(|| panic!("no line for {port}:\n{stdout}"))
            .to_string()
    };
    assert!(line("7101").contains('✓'), "{stdout}");
    assert!(line("7102").contains('✗'), "{stdout}");
    // Quieted: the warning is named as quieted, not as the row's alarm.
    assert!(line("289").contains("quieted warning"), "{stdout}");
    assert!(line("289").contains('✓'), "{stdout}");

    // Outside a UTF-8 locale the marks are words.
    let out = portscope(&ns, home.path(), "C", &["list", "--expected", f]);
    let (stdout, _) = text(&out);
    assert!(!stdout.contains('✓') && !stdout.contains('✗'), "{stdout}");
    let words: Vec<Vec<String>> = stdout
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect();
    let has = |port: &str, word: &str| {
        words
            .iter()
            .any(|w| w.get(2).map(String::as_str) == Some(port) && w.iter().any(|x| x == word))
    };
    assert!(has("7101", "yes") && has("7102", "no"), "{stdout}");

    // JSON: expected, the rule, and the quieted severity beside the untouched hints.
    let out = portscope(&ns, home.path(), "C", &["list", "--json", "--expected", f]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = row(&doc, 7101);
    assert_eq!(r["expected"], true);
    assert_eq!(r["expected_by"]["reason"], "test service");
    assert_eq!(r["expected_by"]["owner"], "qa");
    assert_eq!(r["expected_by"]["line"], 6);
    assert_eq!(r["expected_by"]["file"], f);
    assert_eq!(row(&doc, 7102)["expected"], false);
    assert!(row(&doc, 7102)["expected_by"].is_null());
    let q = row(&doc, 289);
    assert_eq!(q["quieted"], "warning", "{q}");
    // Only an alert survives the quieting (the listener is this test's binary: run from a
    // checkout under /tmp, it is an executable in a temporary directory).
    let alert = q["hints"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["severity"] == "alert");
    let badge = if alert {
        "alert".into()
    } else {
        serde_json::Value::Null
    };
    assert_eq!(q["badge"], badge, "{q}");
    assert!(
        q["hints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["id"] == "unassigned-system-port" && h["severity"] == "warning"),
        "the hint is kept: {q}"
    );

    // CSV: the same, as columns.
    let out = portscope(&ns, home.path(), "C", &["list", "--csv", "--expected", f]);
    let (stdout, _) = text(&out);
    let mut reader = csv::Reader::from_reader(stdout.as_bytes());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let by_port = |p: &str| {
        records
            .iter()
            .find(|r| &r[col("local_port")] == p)
            .unwrap()
            .clone()
    };
    assert_eq!(&by_port("7101")[col("expected")], "yes");
    assert_eq!(&by_port("7101")[col("expected_reason")], "test service");
    assert_eq!(&by_port("7101")[col("expected_owner")], "qa");
    assert_eq!(&by_port("7102")[col("expected")], "no");
    assert_eq!(&by_port("289")[col("quieted")], "warning");

    // No file anywhere: nothing is marked (not everything unexpected).
    if !Path::new("/etc/portscope/expected.toml").exists() {
        let out = portscope(&ns, home.path(), "C.UTF-8", &["list"]);
        let (stdout, _) = text(&out);
        assert!(out.status.success());
        assert!(!stdout.lines().next().unwrap().contains("EXP"), "{stdout}");
        assert!(
            !stdout.contains('✗') && !stdout.contains("quieted"),
            "{stdout}"
        );
        let out = portscope(&ns, home.path(), "C", &["list", "--json"]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(row(&doc, 7102)["expected"].is_null());
        // Nothing quieted: the badge is the most severe hint (the warning, or an alert when the
        // test binary runs from a temporary directory).
        let r = row(&doc, 289);
        assert!(r["quieted"].is_null(), "{r}");
        assert_eq!(r["badge"], r["hints"][0]["severity"], "{r}");
        assert!(
            r["hints"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["severity"] == "warning"),
            "{r}"
        );
        // The file at $XDG_CONFIG_HOME/portscope/expected.toml is found without --expected.
        let config = home.path().join("config/portscope");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(config.join("expected.toml"), RULES).unwrap();
        let out = portscope(&ns, home.path(), "C", &["list", "--json"]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(row(&doc, 7101)["expected"], true);
        assert_eq!(row(&doc, 7102)["expected"], false);
    }
}

#[test]
fn explain_says_why_a_listener_is_expected_or_that_no_rule_matches() {
    let ns = Netns::new("explain");
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("expected.toml");
    std::fs::write(&file, RULES).unwrap();
    let f = file.to_str().unwrap();
    let _a = listen(&ns, 289);
    let _c = listen(&ns, 7102);

    let out = portscope(
        &ns,
        home.path(),
        "C",
        &["explain", "289/tcp", "--expected", f],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    // The verdict, its wrapped lines joined.
    let verdict = stdout
        .split("\n\n")
        .next()
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        verdict.contains(&format!(
            "expected: legacy sync daemon — storage team ({f}, line 1)"
        )),
        "{verdict}"
    );
    assert!(
        verdict.contains("(unassigned-system-port) · quieted"),
        "the warning is listed, quieted: {verdict}"
    );
    // The full hint is still there below.
    assert!(stdout.contains("[warning] "), "{stdout}");

    let out = portscope(&ns, home.path(), "C", &["explain", "7102", "--expected", f]);
    let (stdout, _) = text(&out);
    let stdout = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        stdout.contains(&format!("unexpected: no rule in {f} matches")),
        "{stdout}"
    );
    let out = portscope(
        &ns,
        home.path(),
        "C",
        &["explain", "7102", "--json", "--expected", f],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["sockets"][0]["expected"], false);

    if !Path::new("/etc/portscope/expected.toml").exists() {
        let out = portscope(&ns, home.path(), "C", &["explain", "7102"]);
        let (stdout, _) = text(&out);
        assert!(stdout.contains("no expectations file"), "{stdout}");
        assert!(!stdout.contains("unexpected"), "{stdout}");
    }
}

#[test]
fn diff_expected_leaves_out_what_the_file_expects_and_says_how_much() {
    let ns = Netns::new("diffexp");
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();
    let snap = |name: &str| {
        let path = dir.join(name);
        let out = portscope(&ns, dir, "C", &["snapshot", "-o", path.to_str().unwrap()]);
        assert!(out.status.success(), "{:?}", text(&out));
        path.to_str().unwrap().to_string()
    };
    let file = dir.join("expected.toml");
    std::fs::write(&file, RULES).unwrap();
    let f = format!("--expected={}", file.display());

    let required = listen(&ns, 7101);
    let other = listen(&ns, 7104);
    let before = snap("before.json");
    let _new_expected = listen(&ns, 289);
    let _new_unexpected = listen(&ns, 7103);
    drop(other); // closes, and no required rule misses it
    let after = snap("after.json");

    let plain = portscope(&ns, dir, "C", &["diff", &before, &after]);
    assert_eq!(plain.status.code(), Some(1), "{:?}", text(&plain));

    let out = portscope(&ns, dir, "C", &["diff", &f, &before, &after]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains(":7103"), "{stdout}");
    assert!(!stdout.contains(":289 "), "{stdout}");
    assert!(!stdout.contains(":7104"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "2 changes expected by {} left out (1 opened, 1 closed, 0 changed).",
            file.display()
        )),
        "{stdout}"
    );
    let out = portscope(&ns, dir, "C", &["diff", "--json", &f, &before, &after]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["opened"].as_array().unwrap().len(), 1, "{doc}");
    assert_eq!(doc["left_out_as_expected"]["opened"], 1);
    assert_eq!(doc["left_out_as_expected"]["closed"], 1);

    // Everything that changed is expected: exit 0. The file is found as `check` finds it when
    // --expected has no value.
    let config = dir.join("config/portscope");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("expected.toml"),
        format!("{RULES}\n[[listener]]\nport = 7103\n"),
    )
    .unwrap();
    if !Path::new("/etc/portscope/expected.toml").exists() {
        let out = portscope(&ns, dir, "C", &["diff", "--expected", &before, &after]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
        assert!(stdout.contains("no unexpected change"), "{stdout}");
    }

    // A required listener that closes is kept: the file says it must be there.
    drop(required);
    let gone = snap("gone.json");
    let out = portscope(&ns, dir, "C", &["diff", &f, &after, &gone]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("- closed") && stdout.contains(":7101"),
        "{stdout}"
    );
}

#[test]
fn a_broken_file_is_exit_2_with_line_and_column_in_every_command_that_reads_it() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("bad.toml");
    std::fs::write(&file, "[[listener]]\nport = 99999\n").unwrap();
    let f = file.to_str().unwrap();
    let want = format!("{f}:2:8: ");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .args(args)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stdout.is_empty(), "{args:?}: nothing printed: {stdout}");
        assert!(stderr.contains(&want), "{args:?}: {stderr}");
    };
    run(&["list", "--expected", f]);
    run(&["explain", "22", "--expected", f]);
    run(&["diff", &format!("--expected={f}"), "a.json", "b.json"]);
    // The explorer without a terminal falls back to the table, and reads the file the same.
    run(&["--expected", f]);
    // Found at the default path, it is just as broken.
    let config = home.path().join("config/portscope");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::copy(&file, config.join("expected.toml")).unwrap();
    if !Path::new("/etc/portscope/expected.toml").exists() {
        let out = std::process::Command::new(BIN)
            .args(["list"])
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("expected.toml:2:8: "));
    }
}

#[test]
fn the_explorer_reports_a_broken_file_before_it_touches_the_terminal() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("bad.toml");
    std::fs::write(&file, "[[listener]]\nport = 22\nflavour = \"x\"\n").unwrap();
    let f = file.to_str().unwrap();
    let mut s = support::pty::start(&["--expected", f], &[], 100, 30);
    let status = s.wait_exit(Duration::from_secs(15)).expect("exits at once");
    assert_eq!(status.exit_code(), 2, "{}", s.screen());
    assert!(s.screen().contains(&format!("{f}:3:1: ")), "{}", s.screen());
    assert!(
        !s.on_alternate_screen()
            && !String::from_utf8_lossy(&s.raw_output()).contains("\x1b[?1049h"),
        "the alternate screen was entered"
    );
}
