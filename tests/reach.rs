//! Reachability verdicts against real packets: a server namespace with real nftables and iptables
//! rules, a peer namespace joined by a veth pair, and a container-like namespace behind a second
//! pair. For each rule set, what `portscope reach` says about a listener is compared with what a
//! real TCP or UDP connection attempt from the peer does. Every address lives inside these
//! namespaces (10.231.1.0/30 and 10.231.2.0/30); nothing leaves them.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use serde_json::Value;
use support::vnet::{link, Netns};

const BIN: &str = env!("CARGO_BIN_EXE_portscope");
const WAIT: Duration = Duration::from_millis(1500);

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Attempt {
    Connected,
    Refused,
    TimedOut,
}

struct Lab {
    srv: Netns,
    peer: Netns,
    ctr: Netns,
}

impl Lab {
    fn new(tag: &str) -> Lab {
        let srv = Netns::new(&format!("{tag}s"));
        let peer = Netns::new(&format!("{tag}p"));
        let ctr = Netns::new(&format!("{tag}c"));
        link(&srv, "s0", &peer, 1);
        // Named like a Docker network bridge: the server side of the container link.
        link(&srv, "br-ctr0", &ctr, 2);
        ctr.ip(&["route", "add", "default", "via", "10.231.2.1"]);
        srv.exec("sysctl", &["-qw", "net.ipv4.ip_forward=1"]);
        Lab { srv, peer, ctr }
    }

    fn rules(&self, nft: &str) {
        self.srv.exec("nft", &["flush", "ruleset"]);
        if nft.is_empty() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rules.nft");
        std::fs::write(&file, nft).unwrap();
        self.srv.exec("nft", &["-f", file.to_str().unwrap()]);
    }

    /// What `portscope reach` says about the listener on `port` for the way in through `iface`.
    fn verdict(&self, port: u16, iface: &str) -> Value {
        let out = self
            .srv
            .command(BIN)
            .args(["reach", "--json", "--port", &port.to_string()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        // As root the ruleset is asked of the kernel, not of `nft -j`.
        assert_eq!(doc["nftables_read_with"], "netlink", "{doc}");
        let listener = doc["listeners"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["local_port"] == port && l["local_addr"] == "0.0.0.0")
            .unwrap_or_else(|| panic!("no listener on {port}: {doc}"))
            .clone();
        listener["reach"]["paths"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["interface"] == iface)
            .unwrap_or_else(|| panic!("no path through {iface}: {listener}"))["verdict"]
            .clone()
    }
}

fn tcp_from(ns: &Netns, to: &str) -> (Attempt, Vec<u8>) {
    let addr: SocketAddr = to.parse().unwrap();
    ns.run(move || match TcpStream::connect_timeout(&addr, WAIT) {
        Ok(mut s) => {
            s.set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            let mut buf = [0u8; 8];
            let n = s.read(&mut buf).unwrap_or(0);
            (Attempt::Connected, buf[..n].to_vec())
        }
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => (Attempt::Refused, Vec::new()),
        Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
            (Attempt::TimedOut, Vec::new())
        }
        Err(e) => panic!("connect {addr}: {e}"),
    })
}

fn udp_from(ns: &Netns, to: &str) -> Attempt {
    let addr: SocketAddr = to.parse().unwrap();
    ns.run(move || {
        let s = UdpSocket::bind("0.0.0.0:0").unwrap();
        s.connect(addr).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.send(b"ping").unwrap();
        let mut buf = [0u8; 16];
        match s.recv(&mut buf) {
            Ok(_) => Attempt::Connected,
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => Attempt::Refused,
            Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
                Attempt::TimedOut
            }
            Err(e) => panic!("udp {addr}: {e}"),
        }
    })
}

/// The attempt a verdict predicts.
fn predicted(verdict: &Value) -> Attempt {
    match verdict["outcome"].as_str().unwrap() {
        "no-rules" | "accepted" | "forwarded" => Attempt::Connected,
        "dropped" => Attempt::TimedOut,
        "rejected" => Attempt::Refused,
        other => panic!("no prediction from {other}: {verdict}"),
    }
}

/// Listeners in the server namespace (a TCP one the kernel completes handshakes for, a UDP echo)
/// and a container-like service on 10.231.2.2:80 that says "c".
fn serve(lab: &Lab) -> Vec<TcpListener> {
    let mut keep = Vec::new();
    for port in [7100u16, 7101, 8080] {
        keep.push(
            lab.srv
                .run(move || TcpListener::bind(("0.0.0.0", port)).unwrap()),
        );
    }
    let udp = lab.srv.run(|| UdpSocket::bind("0.0.0.0:7200").unwrap());
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            let _ = udp.send_to(&buf[..n], from);
        }
    });
    let ctr = lab.ctr.run(|| TcpListener::bind("10.231.2.2:80").unwrap());
    std::thread::spawn(move || {
        for mut s in ctr.incoming().flatten() {
            let _ = s.write_all(b"c");
        }
    });
    keep
}

fn agree(lab: &Lab, case: &str, port: u16, iface: &str, attempt: Attempt) -> Value {
    let v = lab.verdict(port, iface);
    assert_eq!(
        predicted(&v),
        attempt,
        "{case}: portscope said {v} but the connection was {attempt:?}"
    );
    v
}

#[test]
fn nftables_verdicts_match_real_connection_attempts() {
    let lab = Lab::new("n");
    let _keep = serve(&lab);
    let peer_tcp = |port: u16| tcp_from(&lab.peer, &format!("10.231.1.1:{port}")).0;

    // 1. No rules at all.
    lab.rules("");
    let v = agree(&lab, "no rules", 7100, "s0", peer_tcp(7100));
    assert_eq!(v["outcome"], "no-rules");
    assert_eq!(
        v["reason"],
        "no firewall rules: reachable wherever the address routes"
    );
    let v = lab.verdict(7200, "s0");
    assert_eq!(predicted(&v), udp_from(&lab.peer, "10.231.1.1:7200"));

    // 2. Accepted by a rule under a drop policy; UDP falls to the policy.
    lab.rules(
        "table inet f { chain input { type filter hook input priority 0; policy drop;
           ct state established,related accept
           tcp dport 7100 accept; }; }",
    );
    let v = agree(&lab, "accept rule", 7100, "s0", peer_tcp(7100));
    assert_eq!(v["outcome"], "accepted");
    assert!(
        v["rule"]
            .as_str()
            .unwrap()
            .contains("tcp dport 7100 accept"),
        "{v}"
    );
    let v = lab.verdict(7200, "s0");
    assert_eq!(v["outcome"], "dropped", "{v}");
    assert_eq!(predicted(&v), udp_from(&lab.peer, "10.231.1.1:7200"));

    // 3. Dropped by a rule.
    lab.rules(
        "table inet f { chain input { type filter hook input priority 0; policy accept;
           tcp dport 7100 drop; }; }",
    );
    let v = agree(&lab, "drop rule", 7100, "s0", peer_tcp(7100));
    assert_eq!(v["outcome"], "dropped");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("drops tcp dport 7100 on s0"),
        "{v}"
    );
    agree(&lab, "drop rule, other port", 7101, "s0", peer_tcp(7101));

    // 4. Rejected (TCP and UDP).
    lab.rules(
        "table inet f { chain input { type filter hook input priority 0;
           tcp dport 7100 reject
           udp dport 7200 reject; }; }",
    );
    let v = agree(&lab, "reject rule", 7100, "s0", peer_tcp(7100));
    assert_eq!(v["outcome"], "rejected");
    let v = lab.verdict(7200, "s0");
    assert_eq!(v["outcome"], "rejected");
    assert_eq!(predicted(&v), udp_from(&lab.peer, "10.231.1.1:7200"));

    // 5. Policy drop, nothing accepts the port.
    lab.rules(
        "table inet f { chain input { type filter hook input priority 0; policy drop;
           ct state established,related accept
           iifname \"lo\" accept; }; }",
    );
    let v = agree(&lab, "policy drop", 7100, "s0", peer_tcp(7100));
    assert!(
        v["reason"].as_str().unwrap().starts_with("policy drop"),
        "{v}"
    );

    // 6. A rule for one interface: dropped from the peer's side, open from the container's.
    lab.rules(
        "table inet f { chain input { type filter hook input priority 0;
           iifname \"s0\" tcp dport 7100 drop; }; }",
    );
    let v = agree(&lab, "per-interface", 7100, "s0", peer_tcp(7100));
    assert_eq!(v["outcome"], "dropped");
    let from_ctr = tcp_from(&lab.ctr, "10.231.2.1:7100").0;
    let v = agree(&lab, "per-interface, other side", 7100, "br-ctr0", from_ctr);
    assert_eq!(v["outcome"], "accepted");

    // 7. A rule for one source: the verdict names the exception; the peer is that source.
    lab.rules(
        "table inet f { chain input { type filter hook input priority 0;
           ip saddr 10.231.1.2 tcp dport 7100 drop; }; }",
    );
    let v = lab.verdict(7100, "s0");
    let exception = v["conditions"][0].as_str().unwrap_or_default().to_string();
    assert!(exception.starts_with("from 10.231.1.2: dropped"), "{v}");
    assert_eq!(peer_tcp(7100), Attempt::TimedOut, "the peer is 10.231.1.2");
    // From any other source the rules accept it, and the container (10.231.2.2) gets in.
    assert_eq!(predicted(&v), tcp_from(&lab.ctr, "10.231.1.1:7100").0);

    // 8. A published port: DNAT in nat prerouting to the container-like namespace.
    lab.rules(
        "table ip nat { chain prerouting { type nat hook prerouting priority -100;
           tcp dport 8080 dnat to 10.231.2.2:80; }; }",
    );
    let (attempt, said) = tcp_from(&lab.peer, "10.231.1.1:8080");
    let v = agree(&lab, "dnat", 8080, "s0", attempt);
    assert_eq!(v["outcome"], "forwarded");
    assert!(
        v["dnat_to"]
            .as_str()
            .unwrap()
            .starts_with("10.231.2.2:80 by "),
        "{v}"
    );
    assert_eq!(
        said, b"c",
        "the connection reached the container, as the verdict says"
    );
}

#[test]
fn iptables_verdicts_match_real_connection_attempts() {
    let lab = Lab::new("i");
    let _keep = serve(&lab);
    lab.rules("");
    for rule in [
        "-P INPUT DROP",
        "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        "-A INPUT -i s0 -p tcp -m tcp --dport 7100 -m comment --comment \"redis for the web tier\" -j ACCEPT",
        "-A INPUT -p udp -m udp --dport 7200 -j REJECT",
    ] {
        let args: Vec<&str> = shell_words(rule);
        lab.srv.exec("iptables", &args);
    }
    let peer_tcp = |port: u16| tcp_from(&lab.peer, &format!("10.231.1.1:{port}")).0;
    let v = agree(&lab, "iptables accept", 7100, "s0", peer_tcp(7100));
    assert_eq!(v["outcome"], "accepted");
    assert!(v["rule"].as_str().unwrap().contains("--dport 7100"), "{v}");
    let v = agree(&lab, "iptables policy drop", 7101, "s0", peer_tcp(7101));
    assert!(
        v["reason"].as_str().unwrap().starts_with("policy drop"),
        "{v}"
    );
    let v = lab.verdict(7200, "s0");
    assert_eq!(v["outcome"], "rejected");
    assert_eq!(predicted(&v), udp_from(&lab.peer, "10.231.1.1:7200"));

    // The legacy backend, where installed, is read too.
    if std::path::Path::new("/usr/sbin/iptables-legacy").exists() {
        lab.rules("");
        lab.srv.exec(
            "iptables-legacy",
            &["-A", "INPUT", "-p", "tcp", "--dport", "7100", "-j", "DROP"],
        );
        let v = agree(&lab, "iptables-legacy drop", 7100, "s0", peer_tcp(7100));
        assert_eq!(v["outcome"], "dropped");
        assert!(
            v["rule"].as_str().unwrap().contains("iptables-legacy"),
            "{v}"
        );
        lab.srv.exec("iptables-legacy", &["-F", "INPUT"]);
    }
}

/// Split a rule written with double quotes into arguments.
fn shell_words(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        rest = &rest[start..];
        if let Some(q) = rest.strip_prefix('"') {
            let end = q.find('"').unwrap();
            out.push(&q[..end]);
            rest = &q[end + 1..];
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            out.push(&rest[..end]);
            rest = &rest[end..];
        }
    }
    out
}
