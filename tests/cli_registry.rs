//! The built binary's registry commands: what a user types and sees, JSON parsed back, bad input.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

/// A portscope command with its data directory in a fresh temp dir, so no test sees another's
/// imported registry (or the user's).
fn portscope(data: &tempfile::TempDir) -> Command {
    let mut cmd = Command::cargo_bin("portscope").unwrap();
    cmd.env("PORTSCOPE_DATA_DIR", data.path())
        .env("NO_COLOR", "1");
    cmd
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn json(cmd: &mut Command) -> Value {
    let out = cmd
        .arg("--json")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).expect("valid JSON")
}

#[test]
fn lookup_3489_shows_the_whole_entry() {
    let d = tmp();
    portscope(&d)
        .args(["lookup", "3489"])
        .assert()
        .success()
        .stdout(predicate::str::contains("dtp-dia"))
        .stdout(predicate::str::contains("DTP/DIA"))
        .stdout(predicate::str::contains("Alexei V. Soloviev"))
        .stdout(predicate::str::contains("2002-05"))
        .stdout(predicate::str::contains("registered port"));
}

#[test]
fn lookup_289_is_unassigned_in_the_system_range() {
    let d = tmp();
    portscope(&d)
        .args(["lookup", "289"])
        .assert()
        .success()
        .stdout(predicate::str::contains("system port"))
        .stdout(predicate::str::contains("unassigned"))
        .stdout(predicate::str::contains("288-"));
    let v = json(portscope(&d).args(["lookup", "289"]));
    assert_eq!(v["class"], "system");
    assert_eq!(v["unassigned_run"]["start"], 288);
    assert_eq!(v["entries"].as_array().unwrap().len(), 0);
}

#[test]
fn lookup_6010_finds_the_x11_range() {
    let d = tmp();
    portscope(&d)
        .args(["lookup", "6010"])
        .assert()
        .success()
        .stdout(predicate::str::contains("service           x11"))
        .stdout(predicate::str::contains(
            "port              6000-6063/tcp, udp",
        ))
        .stdout(predicate::str::contains(
            "port 6010 lies in the range 6000-6063",
        ));
}

#[test]
fn lookup_80_tcp_lists_every_name_in_iana_order() {
    let d = tmp();
    let v = json(portscope(&d).args(["lookup", "80/tcp"]));
    let names: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["service"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["http", "www", "www-http"]);
    assert!(v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["protocol"] == "tcp"));
}

#[test]
fn lookup_by_name() {
    let d = tmp();
    let v = json(portscope(&d).args(["lookup", "ms-wbt-server"]));
    let entries = v["entries"].as_array().unwrap();
    assert!(entries
        .iter()
        .any(|e| e["ports"]["start"] == 3389 && e["protocol"] == "tcp"));
    portscope(&d)
        .args(["lookup", "no-such-service-xyz"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "no service is named \"no-such-service-xyz\"",
        ));
}

#[test]
fn bad_lookups_say_why_and_exit_2() {
    let d = tmp();
    for (arg, says) in [
        ("70000", "port must be a number from 0 to 65535, got 70000"),
        ("-1", "port must be a number from 0 to 65535, got -1"),
        ("80/xyz", "unknown protocol \"xyz\""),
        ("", "the lookup query is empty"),
    ] {
        let out = portscope(&d)
            .args(["lookup", arg])
            .assert()
            .code(2)
            .get_output()
            .clone();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(says), "{arg:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn search_ranks_and_limits() {
    let d = tmp();
    let out = portscope(&d)
        .args(["search", "redis", "--limit", "3"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "header + 3 hits: {text}");
    assert!(lines[1].starts_with("redis "), "{text}");
    assert!(
        lines.iter().all(|l| l.chars().count() <= 80),
        "fits 80 columns: {text}"
    );

    let v = json(portscope(&d).args(["search", "ssh", "--proto", "udp", "-n", "5"]));
    let hits = v.as_array().unwrap();
    assert_eq!(hits[0]["entry"]["service"], "ssh");
    assert!(hits.iter().all(|h| h["protocols"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p == "udp")));
}

#[test]
fn search_bad_input() {
    let d = tmp();
    portscope(&d)
        .args(["search", "  "])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("query is empty"));
    portscope(&d)
        .args(["search", "1-70000"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("65535"));
    portscope(&d)
        .args(["search", "x", "--limit", "0"])
        .assert()
        .code(2);
    portscope(&d)
        .args(["search", "x", "--proto", "icmp"])
        .assert()
        .code(2);
}

const HEAD: &str = "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes\n";

/// A file in the official layout, large enough to pass the import's size check, with one
/// distinctive row to prove it is the one in use.
fn official_like_csv(dir: &std::path::Path) -> std::path::PathBuf {
    let mut text = String::from(HEAD);
    text.push_str("brand-new-svc,3489,tcp,\"Registered\nyesterday\",[Jane_Q_Doe],[Jane_Q_Doe],2026-11-20,,,,,\n");
    for port in 10_000..16_000 {
        text.push_str(&format!("svc{port},{port},tcp,Service {port},,,,,,,,\n"));
    }
    let path = dir.join("service-names-port-numbers.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn import_replaces_the_embedded_registry_and_reset_restores_it() {
    let d = tmp();
    let src = tmp();
    let file = official_like_csv(src.path());
    portscope(&d)
        .args(["registry", "import"])
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains("Imported 6001 rows"));
    assert!(d.path().join("service-names-port-numbers.csv").exists());

    let v = json(portscope(&d).args(["lookup", "3489"]));
    assert_eq!(v["entries"][0]["service"], "brand-new-svc");
    assert_eq!(v["entries"][0]["description"], "Registered\nyesterday");
    let info = json(portscope(&d).args(["registry", "info"]));
    assert_eq!(info["source"]["kind"], "imported");
    assert_eq!(info["rows"], 6001);
    assert_eq!(info["newest_date"], "2026-11-20");

    let reset = json(portscope(&d).args(["registry", "reset"]));
    assert!(reset["removed"]
        .as_str()
        .unwrap()
        .ends_with("service-names-port-numbers.csv"));
    assert_eq!(
        json(portscope(&d).args(["registry", "reset"]))["removed"],
        Value::Null
    );
    let v = json(portscope(&d).args(["lookup", "3489"]));
    assert_eq!(v["entries"][0]["service"], "dtp-dia");
}

#[test]
fn a_bad_import_changes_nothing_and_says_where() {
    let d = tmp();
    let src = tmp();
    let good = official_like_csv(src.path());
    portscope(&d)
        .args(["registry", "import"])
        .arg(&good)
        .assert()
        .success();
    let before = std::fs::read(d.path().join("service-names-port-numbers.csv")).unwrap();

    let cases: [(&str, String, &str); 4] = [
        (
            "wrong.csv",
            "name,port\nssh,22\n".into(),
            "not IANA's header",
        ),
        (
            "bad-port.csv",
            format!("{HEAD}ok,1,tcp,x,,,,,,,,\nbad,99999,tcp,x,,,,,,,,\n"),
            "line 3: port \"99999\"",
        ),
        (
            "short.csv",
            format!("{HEAD}ok,1,tcp,x,,,,,,,,\n"),
            "only 1 rows",
        ),
        (
            "quote.csv",
            format!("{HEAD}ok,1,tcp,\"unterminated,,,,,,,,\n"),
            "line 2",
        ),
    ];
    for (name, text, says) in cases {
        let path = src.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = portscope(&d)
            .args(["registry", "import"])
            .arg(&path)
            .assert()
            .code(2)
            .get_output()
            .clone();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains(says) && stderr.contains("nothing was imported"),
            "{name}: {stderr}"
        );
        assert_eq!(
            std::fs::read(d.path().join("service-names-port-numbers.csv")).unwrap(),
            before,
            "{name} changed the store"
        );
    }
    portscope(&d)
        .args(["registry", "import", "/nonexistent/file.csv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such file"));
    // No temp files left behind in the data directory.
    let leftovers: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn registry_flag_uses_a_file_for_one_run() {
    let d = tmp();
    let src = tmp();
    let path = src.path().join("mini.csv");
    std::fs::write(&path, format!("{HEAD}mini-svc,289,udp,Only here,,,,,,,,\n")).unwrap();
    let v = json(
        portscope(&d)
            .arg("--registry")
            .arg(&path)
            .args(["lookup", "289"]),
    );
    assert_eq!(v["entries"][0]["service"], "mini-svc");
    // The next run without the flag is back on the embedded copy.
    let v = json(portscope(&d).args(["lookup", "289"]));
    assert!(v["entries"].as_array().unwrap().is_empty());

    std::fs::write(&path, "garbage\n").unwrap();
    portscope(&d)
        .arg("--registry")
        .arg(&path)
        .args(["lookup", "22"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("mini.csv"))
        .stderr(predicate::str::contains("not IANA's header"));
}

#[test]
fn no_subcommand_without_a_terminal_writes_no_escapes() {
    let d = tmp();
    // stdout is a pipe here: whatever portscope does, it must not write terminal escapes.
    let out = portscope(&d).assert().get_output().stdout.clone();
    assert!(!out.contains(&0x1b), "escape sequences on a pipe");
}
