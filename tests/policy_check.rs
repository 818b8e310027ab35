//! `baseline` and `check` against real listeners, inside a private network namespace so that only
//! this test's sockets exist there (CI runs beside thousands of foreign listeners).

mod support;

use std::net::TcpListener;
use std::process::Output;

use support::vnet::Netns;

const BIN: &str = env!("CARGO_BIN_EXE_portscope");

fn listen(ns: &Netns, port: u16) -> TcpListener {
    ns.run(move || TcpListener::bind(("0.0.0.0", port)).expect("bind in the test namespace"))
}

fn portscope(ns: &Netns, args: &[&str]) -> Output {
    ns.command(BIN).args(args).output().expect("run portscope")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_baseline_checks_clean_then_catches_a_new_and_a_missing_listener() {
    let ns = Netns::new("check");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("expected.toml");
    let file_s = file.to_str().unwrap();

    let _a = listen(&ns, 7001);
    let b = listen(&ns, 7002);
    let out = portscope(&ns, &["baseline", "--required", "-o", file_s]);
    assert!(out.status.success(), "{:?}", text(&out));
    let written = std::fs::read_to_string(&file).unwrap();
    let rules = written.lines().filter(|l| *l == "[[listener]]").count();
    assert_eq!(rules, 2, "{written}");
    assert!(written.contains("port = 7002"), "{written}");

    let out = portscope(&ns, &["check", "--expected", file_s]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.starts_with("portscope check: ok"), "{stdout}");
    let quiet = portscope(&ns, &["check", "-q", "--expected", file_s]);
    assert_eq!(quiet.status.code(), Some(0));
    assert!(quiet.stdout.is_empty(), "-q prints nothing on success");

    // A new listener: exit 1, and the line names it.
    let c = listen(&ns, 7003);
    let out = portscope(&ns, &["check", "--expected", file_s]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("unexpected: tcp 0.0.0.0:7003 "), "{stdout}");
    assert!(!stdout.contains(":7001"), "{stdout}");
    let json = portscope(&ns, &["check", "--json", "--expected", file_s]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["unexpected"][0]["local_port"], 7003);
    assert!(doc["unexpected"][0]["hints"].is_array());
    drop(c);

    // A required one gone: exit 1, and the line names its rule.
    drop(b);
    let out = portscope(&ns, &["check", "--expected", file_s]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let missing: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("missing: "))
        .collect();
    assert_eq!(missing.len(), 1, "{stdout}");
    assert!(missing[0].contains("port 7002"), "{stdout}");
    assert!(missing[0].contains("rule at line"), "{stdout}");

    // Restored: clean again.
    let _b = listen(&ns, 7002);
    let out = portscope(&ns, &["check", "--expected", file_s]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
}

#[test]
fn a_rule_on_a_fact_portscope_cannot_know_yet_does_not_match_and_says_so() {
    let ns = Netns::new("facts");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("expected.toml");
    std::fs::write(
        &file,
        "[[listener]]\nport = 7011\nunit = \"demo.service\"\nreason = \"demo\"\nowner = \"qa\"\n",
    )
    .unwrap();
    let _l = listen(&ns, 7011);
    let out = portscope(&ns, &["check", "--expected", file.to_str().unwrap()]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("unexpected: tcp 0.0.0.0:7011"), "{stdout}");
    assert!(
        stdout.contains("rule at line 1 would match if its unit were known"),
        "{stdout}"
    );
}

#[test]
fn malformed_files_are_exit_2_with_line_and_column_and_nothing_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        ("[[listener]]\nport = 22\nflavour = \"x\"\n", ":3:1: "),
        ("[[listener]]\nport = 99999\n", ":2:8: "),
        ("[[listener]]\nport = 22\nreason = \"open\n", ":3:15: "),
        ("[[listener]]\nbind = \"everywhere\"\n", ":2:8: "),
        ("[listener]\nport = 22\n", ":1:"),
        ("[[listener]]\nreason = \"names nothing\"\n", ":1:1: "),
    ];
    for (i, (content, at)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&file, content).unwrap();
        let out = std::process::Command::new(BIN)
            .args(["check", "--expected", file.to_str().unwrap()])
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "case {i}: {stdout}{stderr}");
        assert!(stdout.is_empty(), "case {i}: nothing is checked: {stdout}");
        let line = stderr.trim_end();
        assert_eq!(line.lines().count(), 1, "case {i}: one line: {stderr}");
        assert!(
            line.contains(&format!("bad{i}.toml{at}")),
            "case {i}: want {at} in {line}"
        );
    }
    // A file that is not there, and one far too large, are exit 2 as well.
    let out = std::process::Command::new(BIN)
        .args(["check", "--expected", "/nonexistent/expected.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = std::process::Command::new(BIN)
        .args(["check", "--expected", "/dev/zero"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("larger than"));
}
