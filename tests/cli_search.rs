//! `portscope search` and `portscope lookup NAME` as a user runs them: what each hit is, that a
//! word naming no service finds nothing and says so (exit 1, table and JSON), that product names
//! resolve, and that bad input is one escaped line with exit 2, never a panic.

use assert_cmd::Command;
use predicates::prelude::*;

fn portscope(data: &tempfile::TempDir) -> Command {
    let mut c = Command::cargo_bin("portscope").unwrap();
    c.env("PORTSCOPE_DATA_DIR", data.path())
        .env("NO_COLOR", "1");
    c
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn hits_say_what_kind_they_are() {
    let d = tmp();
    let out = portscope(&d).args(["search", "rdp"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let first = text.lines().nth(1).unwrap();
    assert!(first.starts_with("alias"), "{text}");
    assert!(
        first.contains("rdp → ms-wbt-server") && first.contains("3389"),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("IANA")), "{text}");

    let out = portscope(&d)
        .args(["--json", "search", "grafana", "-n", "5"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let hits = v.as_array().unwrap();
    assert!(hits
        .iter()
        .any(|h| h["kind"] == "known-use" && h["ports"]["start"] == 3000));
}

#[test]
fn a_word_that_names_no_service_finds_nothing_and_says_so() {
    let d = tmp();
    portscope(&d)
        .args(["search", "banana"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("matches \"banana\""));
    let out = portscope(&d)
        .args(["--json", "search", "xylophone"])
        .assert()
        .code(1);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v, serde_json::json!([]));
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("xylophone"), "{stderr}");
}

#[test]
fn bad_queries_are_one_escaped_line_and_exit_2() {
    let d = tmp();
    let long = "a".repeat(10 * 1024);
    for (query, says) in [
        ("", "query is empty"),
        ("   \t ", "query is empty"),
        (long.as_str(), "10240 characters long"),
        ("red\u{1b}]52;c;aGk=\u{7}is", "holds control characters"),
        ("red\nis", "holds control characters"),
    ] {
        for cmd in ["search", "lookup"] {
            let out = portscope(&d).args([cmd, query]).assert().code(2);
            let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
            assert!(stderr.contains(says), "{cmd} {query:?}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
            assert!(!stderr.contains('\u{1b}'), "echo escaped: {stderr:?}");
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
    }
    let out = portscope(&d)
        .args(["search", "red\u{1b}[31mis"])
        .assert()
        .code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("red\\x1b[31mis"), "{stderr}");
}

#[test]
fn lookup_takes_product_and_alias_names() {
    let d = tmp();
    let out = portscope(&d).args(["lookup", "grafana"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.lines()
            .next()
            .unwrap()
            .contains("only a known use, not an IANA registration"),
        "{text}"
    );
    assert!(text.contains("3000"), "{text}");

    let out = portscope(&d)
        .args(["--json", "lookup", "samba"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["iana_registered"], false);
    assert_eq!(v["resolved_by"], "alias");
    let ports: Vec<u64> = v["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["port"].as_u64().unwrap())
        .collect();
    assert!(ports.contains(&445) && ports.contains(&139), "{ports:?}");
    let services: Vec<&str> = v["ports"][0]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["service"].as_str().unwrap())
        .collect();
    assert!(services.contains(&"microsoft-ds"), "{services:?}");
}
