use super::*;
use crate::registry::Protocol;

fn eth0() -> Vec<IfAddr> {
    vec![
        IfAddr {
            interface: "eth0".into(),
            index: 2,
            addr: "10.0.0.5".parse().unwrap(),
            prefix_len: 24,
            scope: Scope::Lan,
        },
        IfAddr {
            interface: "docker0".into(),
            index: 3,
            addr: "172.17.0.1".parse().unwrap(),
            prefix_len: 16,
            scope: Scope::ContainerBridge,
        },
    ]
}

fn nft_rules(chain_policy: &str, rules: &[&str]) -> Rules {
    let mut items = vec![
        r#"{"metainfo":{"version":"1.0.6","json_schema_version":1}}"#.to_string(),
        r#"{"table":{"family":"inet","name":"filter","handle":1}}"#.to_string(),
        format!(
            r#"{{"chain":{{"family":"inet","table":"filter","name":"input","handle":1,"type":"filter","hook":"input","prio":0,"policy":"{chain_policy}"}}}}"#
        ),
        r#"{"chain":{"family":"inet","table":"filter","name":"svc","handle":2}}"#.to_string(),
    ];
    for (i, r) in rules.iter().enumerate() {
        let (chain, expr) = r.split_once('|').unwrap_or(("input", r));
        items.push(format!(
            r#"{{"rule":{{"family":"inet","table":"filter","chain":"{chain}","handle":{},"expr":[{expr}]}}}}"#,
            i + 10
        ));
    }
    let text = format!(r#"{{"nftables":[{}]}}"#, items.join(","));
    nft::parse(&text, &[]).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

const DPORT_6379: &str =
    r#"{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":6379}}"#;
const IIF_ETH0: &str = r#"{"match":{"op":"==","left":{"meta":{"key":"iifname"}},"right":"eth0"}}"#;

fn v(rules: &Rules, port: u16) -> Verdict {
    judge(
        rules,
        Protocol::Tcp,
        "10.0.0.5".parse().unwrap(),
        port,
        "eth0",
        &eth0(),
    )
}

#[test]
fn an_input_rule_that_drops_the_port_on_the_interface_is_quoted() {
    let rules = nft_rules(
        "accept",
        &[&format!(r#"{IIF_ETH0},{DPORT_6379},{{"drop":null}}"#)],
    );
    let got = v(&rules, 6379);
    assert_eq!(got.outcome, Outcome::Dropped, "{got:?}");
    assert!(
        got.reason.contains("drops tcp dport 6379 on eth0"),
        "{}",
        got.reason
    );
    assert_eq!(
        got.rule.as_deref(),
        Some("`iifname \"eth0\" tcp dport 6379 drop` (nftables inet table filter chain input)")
    );
    // Another port passes by the chain's policy.
    let other = v(&rules, 22);
    assert_eq!(other.outcome, Outcome::Accepted);
    assert!(other.reason.contains("policy accept"), "{}", other.reason);
}

#[test]
fn a_drop_policy_with_no_accepting_rule_says_so() {
    let accept_22 = r#"{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":22}},{"accept":null}"#;
    let rules = nft_rules("drop", &[accept_22]);
    let got = v(&rules, 6379);
    assert_eq!(got.outcome, Outcome::Dropped);
    assert!(
        got.reason.starts_with("policy drop of nftables inet table filter chain input and no rule accepts tcp dport 6379"),
        "{}",
        got.reason
    );
    assert_eq!(v(&rules, 22).outcome, Outcome::Accepted);
}

#[test]
fn established_only_rules_do_not_let_a_new_connection_in() {
    let est = r#"{"match":{"op":"in","left":{"ct":{"key":"state"}},"right":["established","related"]}},{"accept":null}"#;
    let rules = nft_rules("drop", &[est]);
    assert_eq!(v(&rules, 80).outcome, Outcome::Dropped);
}

#[test]
fn jumps_sets_and_vmaps_are_followed() {
    let jump = r#"{"jump":{"target":"svc"}}"#;
    let set = r#"svc|{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":{"set":[22,{"range":[8000,8100]}]}}},{"reject":null}"#;
    let rules = nft_rules("accept", &[jump, set]);
    assert_eq!(v(&rules, 8080).outcome, Outcome::Rejected);
    assert_eq!(v(&rules, 22).outcome, Outcome::Rejected);
    assert_eq!(v(&rules, 9000).outcome, Outcome::Accepted);
    let vmap = r#"{"vmap":{"key":{"payload":{"protocol":"tcp","field":"dport"}},"data":{"set":[[22,{"accept":null}],[23,{"drop":null}]]}}}"#;
    let rules = nft_rules("drop", &[vmap]);
    assert_eq!(v(&rules, 22).outcome, Outcome::Accepted);
    assert_eq!(v(&rules, 23).outcome, Outcome::Dropped);
}

#[test]
fn a_source_condition_is_an_exception_not_a_verdict() {
    let from = r#"{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":{"prefix":{"addr":"192.168.1.0","len":24}}}},{"accept":null}"#;
    let rules = nft_rules("drop", &[from]);
    let got = v(&rules, 5432);
    assert_eq!(got.outcome, Outcome::Dropped);
    assert_eq!(got.conditions.len(), 1);
    assert!(
        got.conditions[0].starts_with("from 192.168.1.0/24: accepted by"),
        "{:?}",
        got.conditions
    );
}

#[test]
fn unmodelled_matches_make_the_verdict_too_complex_with_the_rule_shown() {
    let mark = r#"{"match":{"op":"==","left":{"meta":{"key":"mark"}},"right":1}},{"drop":null}"#;
    let rules = nft_rules("accept", &[mark]);
    let got = v(&rules, 80);
    assert_eq!(got.outcome, Outcome::TooComplex);
    assert!(got.rule.unwrap().contains("meta mark"));
}

#[test]
fn an_empty_ruleset_is_no_firewall() {
    let rules = nft_rules("accept", &[]);
    let got = v(&rules, 80);
    assert_eq!(got.outcome, Outcome::NoRules);
    assert_eq!(
        got.reason,
        "no firewall rules: reachable wherever the address routes"
    );
}

const DOCKER_SAVE: &str = "# Generated by iptables-nft-save v1.8.9 (nf_tables)
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-USER - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -m comment --comment \"ssh \\\"admins\\\"\" -j ACCEPT
-A INPUT -s 10.0.0.0/8 -p tcp -m multiport --dports 5432,6000:6010 -j ACCEPT
-A INPUT -p tcp --syn -m recent --set -j ACCEPT
-A FORWARD -j DOCKER-USER
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-USER -j RETURN
COMMIT
";

#[test]
fn iptables_docker_publish_is_recognised_and_followed_to_forward() {
    let rules = iptables::parse(DOCKER_SAVE, "iptables-nft", false).unwrap();
    let got = v(&rules, 8080);
    assert_eq!(got.outcome, Outcome::Forwarded, "{got:?}");
    assert_eq!(got.published_by, Some("Docker"));
    assert!(
        got.reason.starts_with("published by Docker: "),
        "{}",
        got.reason
    );
    assert!(
        got.dnat_to
            .as_deref()
            .unwrap()
            .starts_with("172.17.0.2:80 by `-A DOCKER ! -i docker0"),
        "{:?}",
        got.dnat_to
    );
    // 22 is accepted by the quoted rule (its quoted comment survives tokenising).
    let ssh = v(&rules, 22);
    assert_eq!(ssh.outcome, Outcome::Accepted);
    assert!(ssh.rule.unwrap().contains("--dport 22"));
    // 5432 from 10/8 only, then a rule this reader does not model.
    let pg = v(&rules, 5432);
    assert_eq!(pg.outcome, Outcome::TooComplex, "{pg:?}");
    assert!(pg.conditions[0].starts_with("from 10.0.0.0/8: accepted"));
}

#[test]
fn iptables_garbage_is_an_error_with_its_line() {
    let e = iptables::parse(
        "*filter\n:INPUT ACCEPT [0:0]\nrm -rf /\n",
        "iptables",
        false,
    )
    .unwrap_err();
    assert_eq!(e.line, 3);
}

#[test]
fn reach_of_a_wildcard_listener_covers_every_address_of_its_family() {
    let mut ifaces = eth0();
    ifaces.push(IfAddr {
        interface: "lo".into(),
        index: 1,
        addr: "127.0.0.1".parse().unwrap(),
        prefix_len: 8,
        scope: Scope::Loopback,
    });
    let fw = Firewall {
        rules: nft_rules(
            "accept",
            &[&format!(r#"{IIF_ETH0},{DPORT_6379},{{"drop":null}}"#)],
        ),
        unread: Vec::new(),
        nftables_read_with: Some("nft -j"),
    };
    let sock = crate::sockets::fixtures::tcp(
        "0.0.0.0",
        6379,
        crate::sockets::fixtures::owner(5, "redis-server", 0, "/usr/bin/redis-server"),
    );
    let r = reach(&sock, &ifaces, &fw);
    assert_eq!(r.paths.len(), 3);
    // eth0 drops it; docker0 lets it through: the widest open scope is the bridge.
    assert_eq!(r.summary, "container-bridge");
    let lo = crate::sockets::fixtures::tcp(
        "127.0.0.1",
        6379,
        crate::sockets::fixtures::owner(5, "redis-server", 0, "/usr/bin/redis-server"),
    );
    assert_eq!(reach(&lo, &ifaces, &fw).summary, "loopback");
}
