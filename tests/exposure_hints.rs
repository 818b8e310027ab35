//! The hints weigh reach: an admin interface (1099/tcp, the Java RMI registry's port) bound to
//! every interface is a warning in `list` and `explain` when the peer network can reach it, and
//! only noted, "filtered by the firewall", when a real nftables rule drops it — each checked
//! against a real connection attempt from the peer namespace. Everything lives in namespaces of
//! this test's own (10.231.3.0/30).

mod support;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use serde_json::Value;
use support::vnet::{link, Netns};

const BIN: &str = env!("CARGO_BIN_EXE_portscope");

fn exposed_hint(srv: &Netns) -> Value {
    let out = srv
        .command(BIN)
        .args(["list", "--json", "--port", "1099"])
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["sockets"][0]["hints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == "exposed-all-interfaces")
        .unwrap_or_else(|| panic!("no exposure hint: {doc}"))
        .clone()
}

fn explain(srv: &Netns) -> String {
    let out = srv
        .command(BIN)
        .args(["explain", "1099/tcp"])
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env("COLUMNS", "400")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn peer_connects(peer: &Netns) -> bool {
    let addr: SocketAddr = "10.231.3.1:1099".parse().unwrap();
    peer.run(move || TcpStream::connect_timeout(&addr, Duration::from_millis(1500)).is_ok())
}

#[test]
fn an_admin_interface_warns_when_reachable_and_is_noted_when_filtered() {
    let srv = Netns::new("exps");
    let peer = Netns::new("expp");
    link(&srv, "s0", &peer, 3);
    let _l = srv.run(|| TcpListener::bind("0.0.0.0:1099").unwrap());
    srv.exec("nft", &["flush", "ruleset"]);

    // No rules: the peer gets in, and the hint is a warning naming the way in.
    assert!(peer_connects(&peer), "no rules: the peer connects");
    let h = exposed_hint(&srv);
    assert_eq!(h["severity"], "warning", "{h}");
    let text = explain(&srv);
    assert!(
        text.contains("1099/tcp listens on all interfaces (0.0.0.0), reachable (lan)"),
        "{text}"
    );
    assert!(text.contains("10.231.3.1 on s0, no-rules"), "{text}");

    // A real rule drops it: the peer times out, and the hint only notes it as filtered.
    srv.exec(
        "nft",
        &[
            "add table inet f; add chain inet f input { type filter hook input priority 0; }; add rule inet f input tcp dport 1099 drop",
        ],
    );
    assert!(!peer_connects(&peer), "the rule drops the peer's attempt");
    let h = exposed_hint(&srv);
    assert_eq!(h["severity"], "info", "{h}");
    let text = explain(&srv);
    assert!(text.contains("filtered by the firewall"), "{text}");
    assert!(
        text.contains("tcp dport 1099 drop"),
        "the rule is quoted: {text}"
    );
}
