//! `portscope watch --ndjson` in a private network namespace: listeners opened and closed there
//! show up as one JSON object per line; SIGTERM ends the stream cleanly.

mod support;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use support::vnet::Netns;

const BIN: &str = env!("CARGO_BIN_EXE_portscope");

#[test]
fn watch_streams_opened_and_closed_listeners_and_stops_on_sigterm() {
    let ns = Netns::new("watch");
    let first = ns.run(|| TcpListener::bind("127.0.0.1:7401").unwrap());
    let mut child = ns
        .command(BIN)
        .args(["watch", "--ndjson", "--interval", "0.5"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not one JSON object per line: {e}: {line}"));
            if tx.send(v).is_err() {
                break;
            }
        }
    });
    // Waiting bound for a loaded CI machine; the stream itself reports within one interval.
    let next = |want: &str, port: u16| -> Value {
        loop {
            let v = rx
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("no {want} event for {port}"));
            if v["event"] == want && v["local_port"] == port {
                return v;
            }
        }
    };
    let present = next("present", 7401);
    assert!(present["host"].is_string());
    assert!(present["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(present["protocol"], "tcp");
    assert_eq!(present["pids"][0], std::process::id());

    let second = ns.run(|| TcpListener::bind("0.0.0.0:7402").unwrap());
    let opened = next("opened", 7402);
    assert_eq!(opened["local_addr"], "0.0.0.0");
    assert!(opened["hints"].is_array());
    drop(second);
    next("closed", 7402);
    drop(first);
    next("closed", 7401);

    // SAFETY: signalling our own child by its pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "watch exits 0 on SIGTERM, got {status}");
}
