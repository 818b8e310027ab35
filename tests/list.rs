//! `portscope list` as a user runs it: real sockets held by child processes, hostile process
//! names, filters, and a run without privileges.

mod support;

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;
use support::hold;

fn list(args: &[&str]) -> Output {
    Command::cargo_bin("portscope")
        .unwrap()
        .arg("list")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn json(args: &[&str]) -> Value {
    let output = list(&[&["--json"], args].concat());
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("valid JSON")
}

fn row_for(doc: &Value, port: u16) -> &Value {
    doc["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["local_port"] == port)
        .unwrap_or_else(|| panic!("no row for port {port}"))
}

#[test]
fn hostile_process_names_are_escaped_in_table_json_and_csv() {
    let names = [
        ("\x1b]0;pwned\x07", r"\x1b]0;pwned\x07"),
        ("\u{202e}gnp.exe", r"\u{202e}gnp.exe"),
        ("a\nb", r"a\nb"),
    ];
    for (raw, escaped) in names {
        let child = hold(&["--name", raw, "--tcp", "127.0.0.1:0"]);
        let pid = child.pid().to_string();
        let outputs = [
            list(&["--pid", &pid]),
            list(&["--pid", &pid, "--csv"]),
            list(&["--pid", &pid, "--json"]),
        ];
        for output in &outputs {
            assert!(output.status.success(), "{output:?}");
            let text = stdout(output);
            for bad in ['\x1b', '\x07', '\u{202e}'] {
                assert!(!text.contains(bad), "raw {bad:?} in {text}");
            }
            assert!(!text.contains("a\nb"), "raw newline in a name: {text}");
        }
        let table = stdout(&outputs[0]);
        let row = table.lines().nth(1).expect("a row");
        assert!(row.contains(escaped) && row.contains(&pid), "{table}");

        let mut csv = csv::Reader::from_reader(outputs[1].stdout.as_slice());
        let header = csv.headers().unwrap().clone();
        let record = csv.records().next().expect("a CSV row").unwrap();
        let column = |name: &str| &record[header.iter().position(|h| h == name).unwrap()];
        assert_eq!(column("process"), escaped);
        assert_eq!(column("pids"), pid);

        // JSON escapes the characters (\u001b) and still decodes to the exact name.
        let doc: Value = serde_json::from_slice(&outputs[2].stdout).unwrap();
        let row = row_for(&doc, child.tcp[0].port());
        assert_eq!(row["process"], raw);
        assert_eq!(doc["processes"][&pid]["name"], raw);
    }
}

#[test]
fn rows_carry_pid_name_family_and_service() {
    let child = hold(&[
        "--name",
        "list-kid",
        "--tcp",
        "127.0.0.1:0",
        "--tcp",
        "[::]:0",
        "--udp",
        "[::1]:0",
        "--v6only",
        "off",
    ]);
    let doc = json(&["--pid", &child.pid().to_string()]);
    assert_eq!(doc["sockets"].as_array().unwrap().len(), 3);
    let cases = [
        (child.tcp[0], "tcp", "v4"),
        (child.tcp[1], "tcp", "dual"),
        (child.udp[0], "udp", "v6"),
    ];
    for (addr, protocol, family) in cases {
        let row = row_for(&doc, addr.port());
        assert_eq!(row["protocol"], protocol);
        assert_eq!(row["family"], family);
        assert_eq!(row["local_addr"], addr.ip().to_string());
        assert_eq!(row["pids"], serde_json::json!([child.pid()]));
        assert_eq!(row["process"], "list-kid");
    }
    let process = &doc["processes"][child.pid().to_string()];
    assert_eq!(process["name"], "list-kid");
    assert_eq!(process["parent_pid"], std::process::id());
    assert!(process["exe"].as_str().unwrap().ends_with("hold_sockets"));
    assert_eq!(process["cmdline"][1], "--name");
    let table = stdout(&list(&["--pid", &child.pid().to_string()]));
    assert!(
        table.contains("tcp46"),
        "dual-stack shown as tcp46: {table}"
    );

    // The IANA name comes from the registry: 5432 is postgresql.
    let postgres = hold(&["--tcp", "127.0.0.1:5432"]);
    let doc = json(&["--port", "5432", "--tcp"]);
    assert_eq!(row_for(&doc, 5432)["service"], "postgresql");
    assert_eq!(
        row_for(&doc, 5432)["pids"],
        serde_json::json!([postgres.pid()])
    );
}

#[test]
fn filters_and_sorting_select_the_rows_asked_for() {
    let child = hold(&[
        "--name",
        "filter-kid",
        "--tcp",
        "127.0.0.1:0",
        "--udp",
        "127.0.0.1:0",
        "--udp-connected",
        "127.0.0.1:9",
    ]);
    let pid = child.pid().to_string();
    let ports = |doc: &Value| -> Vec<u64> {
        doc["sockets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["local_port"].as_u64().unwrap())
            .collect()
    };
    let tcp = u64::from(child.tcp[0].port());
    let udp = u64::from(child.udp[0].port());
    let connected = u64::from(child.udp_connected[0].port());
    assert_eq!(ports(&json(&["--pid", &pid, "--tcp"])), [tcp]);
    assert_eq!(ports(&json(&["--pid", &pid, "--udp"])), [udp]);
    assert_eq!(
        ports(&json(&[
            "--process",
            "FILTER-k",
            "--port",
            &udp.to_string()
        ])),
        [udp]
    );
    let mut both = ports(&json(&["--process", "filter-kid"]));
    both.sort_unstable();
    let mut expected = vec![tcp, udp];
    expected.sort_unstable();
    assert_eq!(both, expected, "the connected UDP socket is not a listener");
    let all = ports(&json(&["--pid", &pid, "--all"]));
    assert!(all.contains(&connected), "--all lists the connected socket");

    let by_pid = json(&["--sort", "pid"]);
    let pids: Vec<u64> = by_pid["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["pids"][0].as_u64())
        .collect();
    assert!(pids.windows(2).all(|w| w[0] <= w[1]), "{pids:?}");

    let none = list(&["--pid", &pid, "--port", "1"]);
    assert_eq!(none.status.code(), Some(1));
    assert_eq!(stdout(&none), "No sockets match.\n");
    let usage = list(&["--tcp", "--udp"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn without_privileges_hidden_owners_are_labelled_and_counted() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: dropping privileges needs root (CI runs tests as root)");
        return;
    }
    let ours = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = ours.local_addr().unwrap().port();
    // The checkout may sit under a 0700 home: give the unprivileged user its own copy.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("portscope");
    std::fs::copy(assert_cmd::cargo::cargo_bin("portscope"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = |args: &[&str]| -> Output {
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .arg("list")
            .args(args)
            .env("HOME", dir.path())
            .output()
            .expect("setpriv (util-linux) is needed for this test")
    };

    let table = run(&["--port", &port.to_string()]);
    assert!(table.status.success(), "{table:?}");
    let text = stdout(&table);
    let row = text
        .lines()
        .find(|l| l.contains(&port.to_string()))
        .expect("our row");
    assert!(row.contains("hidden") && row.contains("root"), "{text}");
    assert!(
        text.contains("1 socket's owner is hidden from user nobody: run `sudo portscope list`"),
        "{text}"
    );

    let output = run(&["--json"]);
    assert!(output.status.success(), "{output:?}");
    let doc: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(doc["host"]["sees_all_owners"], false);
    assert_eq!(doc["host"]["uid"], 65534);
    let row = row_for(&doc, port);
    assert_eq!(row["owner_unknown"], "hidden");
    assert_eq!(row["pids"], serde_json::json!([]));
    assert_eq!(row["user"], "root");
    let hidden = doc["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["owner_unknown"] == "hidden")
        .count();
    assert!(hidden >= 1);
    assert_eq!(doc["hidden_owners"], hidden);
    drop(ours);
}

#[test]
fn piped_output_has_no_escape_sequences() {
    let _child = hold(&["--name", "plain-kid", "--tcp", "127.0.0.1:0"]);
    for args in [&[][..], &["--all"], &["--csv"], &["--json"]] {
        let output = list(args);
        assert!(output.status.success(), "{args:?}: {output:?}");
        assert!(!output.stdout.contains(&0x1b), "{args:?}");
        assert!(stdout(&output).contains("plain-kid"), "{args:?}");
    }
}
