//! The nf_tables netlink reader against nft's own JSON, on real rulesets: each ruleset is loaded
//! with `nft -f` into a network namespace of this test's own, then read both ways there — our
//! netlink dump, and `nft -j list ruleset` parsed by the JSON reader — and the two models must be
//! the same: chains, hooks, priorities, policies, every rule's conditions and action, and its
//! quoted text.
//!
//! Text: equal for every rule this reader models. A statement neither reader models (`limit`
//! here) is a `Complex` condition in both, under the same name; nft's JSON gives its arguments
//! as JSON, the kernel as attributes, so there the text is equal up to that statement (both
//! quote the statement's name where nft does). Needs root and nftables; skipped otherwise.

mod support;

use portscope::exposure::firewall::{Action, Cond, Rules};
use portscope::exposure::{nft, nftables_netlink};
use support::vnet::Netns;

/// Loading rules into a namespace of our own and entering it need root: say so and skip without.
fn root_or_skip() -> bool {
    if !support::is_root() {
        eprintln!("skipped: loading nftables rules into a network namespace needs root");
    }
    support::is_root()
}

/// Load `ruleset` into the namespace (replacing what was there) and read it both ways.
fn both_ways(ns: &Netns, ruleset: &str) -> (Rules, Rules) {
    ns.exec("nft", &["flush", "ruleset"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.nft");
    std::fs::write(&file, ruleset).unwrap();
    ns.exec("nft", &["-f", file.to_str().unwrap()]);
    let json = ns.exec("nft", &["-j", "list", "ruleset"]);
    let json = String::from_utf8(json.stdout).unwrap();
    let from_json = nft::parse(&json, &[]).unwrap_or_else(|e| panic!("{e}\n{json}"));
    let from_netlink = ns
        .run(|| nftables_netlink::read(&[]))
        .unwrap_or_else(|e| panic!("{e}"));
    (from_json, from_netlink)
}

fn has_complex(conds: &[Cond], action: &Action) -> bool {
    conds.iter().any(|c| matches!(c, Cond::Complex(_))) || matches!(action, Action::Complex(_))
}

/// The two models are the same; rule texts equal where every statement is modelled, and equal
/// up to the first unmodelled statement's name where one is not.
fn assert_same(case: &str, json: &Rules, netlink: &Rules) {
    assert_eq!(json.notes, netlink.notes, "{case}: notes");
    assert_eq!(
        json.chains.len(),
        netlink.chains.len(),
        "{case}: chains\njson: {:#?}\nnetlink: {:#?}",
        json.chains,
        netlink.chains
    );
    for (j, n) in json.chains.iter().zip(&netlink.chains) {
        let place = format!("{case}: {} {} {}", j.source, j.table, j.name);
        assert_eq!(
            (&j.source, &j.table, &j.name, j.family, j.hook),
            (&n.source, &n.table, &n.name, n.family, n.hook),
            "{place}"
        );
        assert_eq!(
            (j.kind, j.priority, j.policy),
            (n.kind, n.priority, n.policy),
            "{place}"
        );
        assert_eq!(j.rules.len(), n.rules.len(), "{place}: rule count");
        for (rj, rn) in j.rules.iter().zip(&n.rules) {
            assert_eq!(rj.conds, rn.conds, "{place}: conditions of `{}`", rj.text);
            assert_eq!(rj.action, rn.action, "{place}: action of `{}`", rj.text);
            if has_complex(&rj.conds, &rj.action) {
                let unmodelled = rj
                    .conds
                    .iter()
                    .find_map(|c| match c {
                        Cond::Complex(what) => what.strip_suffix(" (not modelled)"),
                        _ => None,
                    })
                    .unwrap_or_default();
                let cut = |t: &str| -> String {
                    match t.find(&format!(" {unmodelled} ")) {
                        Some(at) if !unmodelled.is_empty() => t[..at].to_string(),
                        _ => t.to_string(),
                    }
                };
                assert_eq!(
                    cut(&rj.text),
                    cut(&rn.text),
                    "{place}: text up to `{unmodelled}`"
                );
                assert!(
                    rn.text.contains(unmodelled),
                    "{place}: `{}` names {unmodelled}",
                    rn.text
                );
            } else {
                assert_eq!(rj.text, rn.text, "{place}: text");
            }
        }
    }
}

/// Each ruleset as nft would load it; together they cover what the JSON reader models.
const RULESETS: &[(&str, &str)] = &[
    (
        "ports, port sets with ranges, interfaces, prefixes, ct state",
        r#"table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    ct state established,related accept
    ct state invalid drop
    ct state new tcp dport 22 accept
    iifname "lo" accept
    iifname "eth0" ip saddr 10.0.0.0/24 tcp dport { 10000, 20000-20100 } counter accept
    iifname != "eth1" ip saddr 10.0.0.0/20 tcp dport 2222 accept
    ip saddr 192.0.2.7 udp dport 53 accept
    ip6 saddr fd00::/8 udp dport { 53, 123 } accept
    ip6 saddr 2001:db8::1 tcp dport 443 accept
    oifname "wg*" drop
    iifname { "eth2", "eth3" } tcp dport 80 accept
    tcp dport != 9999 tcp dport 1-1023 accept
    tcp dport < 1024 drop
    th dport 5000 drop
    meta l4proto udp accept
    meta nfproto ipv6 accept
    tcp sport 53 accept
    ip daddr 10.9.0.1 tcp dport 8443 accept
    icmp type echo-request accept
  }
}"#,
    ),
    (
        "named sets and verdict maps",
        r#"table inet filter {
  set allowed { type ipv4_addr; flags interval; elements = { 10.1.0.0/16, 172.16.0.0-172.16.0.9, 192.168.1.5 } }
  set ports { type inet_service; elements = { 22, 443, 8000 } }
  set nothing { type inet_service; }
  chain input { type filter hook input priority 0; policy accept;
    ip saddr @allowed tcp dport @ports accept
    tcp dport @nothing drop
    ct state vmap { established : accept, related : accept, invalid : drop }
    tcp dport vmap { 80 : accept, 81 : drop, 8000-8100 : jump svc }
    meta l4proto vmap { tcp : jump svc, udp : drop }
  }
  chain svc { tcp dport 8080 accept; return; }
}"#,
    ),
    (
        "fib, jump, goto, return, reject, priorities and several tables",
        r#"table ip filter {
  chain input { type filter hook input priority filter + 10; policy drop;
    fib daddr type local tcp dport 8080 jump svc
    tcp dport 9000 goto svc
    iifname "wg*" reject
    tcp dport 25 reject with tcp reset
    udp dport 69 reject with icmp host-prohibited
  }
  chain svc { tcp dport 8080 accept; return; }
  chain forwarded { type filter hook forward priority 0; policy accept; }
}
table ip6 raw6 {
  chain pre { type filter hook prerouting priority raw; tcp dport 7 drop; }
}
table inet mixed {
  chain input { type filter hook input priority -5;
    reject with icmpx admin-prohibited
  }
}"#,
    ),
    (
        "dnat in a nat prerouting chain",
        r#"table ip nat {
  chain prerouting { type nat hook prerouting priority dstnat; policy accept;
    tcp dport 8080 dnat to 10.231.2.2:80
    iifname "eth1" udp dport 53 dnat to 10.0.0.9
    tcp dport 8443 dnat to 10.0.0.1-10.0.0.5
  }
  chain postrouting { type nat hook postrouting priority srcnat; masquerade; }
}
table ip6 nat6 {
  chain prerouting { type nat hook prerouting priority dstnat;
    tcp dport 8080 dnat to [fd00::2]:80
  }
}"#,
    ),
    (
        "unmodelled statements and families this walk does not follow",
        r#"table inet filter {
  chain input { type filter hook input priority 0; policy accept;
    tcp dport 1-1023 limit rate 10/second accept
    meta mark 0x2a drop
    tcp dport 22 log counter accept
  }
}
table netdev edge {
  chain ingress { type filter hook ingress device "lo" priority 0; }
}
table bridge br {
  chain input { type filter hook input priority 0; }
}"#,
    ),
];

#[test]
fn the_netlink_reader_gives_the_model_nfts_json_gives() {
    if !root_or_skip() {
        return;
    }
    let ns = Netns::new("nftnl");
    for (case, ruleset) in RULESETS {
        let (json, netlink) = both_ways(&ns, ruleset);
        assert!(json.rule_count() > 0, "{case}: nothing read");
        assert_same(case, &json, &netlink);
    }
    // What the cases hold, as quoted from the netlink read (the JSON read quotes the same).
    let texts: Vec<String> = RULESETS
        .iter()
        .flat_map(|(_, r)| {
            let (_, netlink) = both_ways(&ns, r);
            netlink
                .chains
                .into_iter()
                .flat_map(|c| c.rules.into_iter().map(|r| r.text))
        })
        .collect();
    for want in [
        r#"iifname "eth0" ip saddr 10.0.0.0/24 tcp dport { 10000, 20000-20100 } counter accept"#,
        "ct state established,related accept",
        "ip6 saddr fd00::/8 udp dport { 53, 123 } accept",
        "ip saddr @allowed tcp dport @ports accept",
        "tcp dport vmap { 80 : accept, 81 : drop, 8000-8100 : jump svc }",
        "ct state vmap { invalid : drop, established : accept, related : accept }",
        "fib daddr type local tcp dport 8080 jump svc",
        "tcp dport 25 reject with tcp reset",
        "tcp dport 8080 dnat to 10.231.2.2:80",
        "tcp dport 8080 dnat to [fd00::2]:80",
        "return",
    ] {
        assert!(
            texts.iter().any(|t| t == want),
            "no rule reads `{want}`: {texts:#?}"
        );
    }
}

#[test]
fn iptables_nft_tables_are_skipped_by_both_readers_alike() {
    if !root_or_skip() {
        return;
    }
    let ns = Netns::new("nftskip");
    let ruleset =
        "table ip filter { chain INPUT { type filter hook input priority 0; tcp dport 1 drop; }; }
table ip mine { chain input { type filter hook input priority 0; tcp dport 2 drop; }; }";
    let _ = both_ways(&ns, ruleset);
    let skip = vec![("ip".to_string(), "filter".to_string())];
    let json = String::from_utf8(ns.exec("nft", &["-j", "list", "ruleset"]).stdout).unwrap();
    let from_json = nft::parse(&json, &skip).unwrap();
    let skip2 = skip.clone();
    let from_netlink = ns.run(move || nftables_netlink::read(&skip2)).unwrap();
    assert_same("skip", &from_json, &from_netlink);
    assert_eq!(from_netlink.chains.len(), 1);
    assert_eq!(from_netlink.chains[0].table, "mine");
}

#[test]
fn an_empty_ruleset_reads_as_no_chains() {
    if !root_or_skip() {
        return;
    }
    let ns = Netns::new("nftempty");
    let rules = ns.run(|| nftables_netlink::read(&[])).unwrap();
    assert!(
        rules.chains.is_empty() && rules.notes.is_empty(),
        "{rules:?}"
    );
}

/// Large chains are dumped one chain at a time (the kernel walks less of them that way); the
/// model must be the one nft lists all the same, with tables of one name in two families kept
/// apart and a chain without rules among them.
#[test]
fn large_chains_read_one_by_one_give_the_same_model() {
    if !root_or_skip() {
        return;
    }
    let ns = Netns::new("nftbig");
    let mut ruleset = String::new();
    for family in ["inet", "ip"] {
        ruleset.push_str(&format!(
            "table {family} filter {{}}\n\
             add chain {family} filter input {{ type filter hook input priority 0; policy drop; }}\n\
             add chain {family} filter svc\n\
             add chain {family} filter empty\n"
        ));
        for i in 0..400 {
            let chain = if i % 2 == 0 { "input" } else { "svc" };
            ruleset.push_str(&format!(
                "add rule {family} filter {chain} iifname \"eth{}\" ip saddr 10.{}.{}.0/24 tcp dport {} counter accept\n",
                i % 4,
                i / 256,
                i % 256,
                10_000 + i
            ));
        }
        ruleset.push_str(&format!("add rule {family} filter input jump svc\n"));
    }
    let (json, netlink) = both_ways(&ns, &ruleset);
    assert_eq!(netlink.rule_count(), 802);
    assert_same("large chains", &json, &netlink);
}

/// The netlink reader asks for the elements of the sets the inbound path can meet (prerouting,
/// input and forward chains and the chains they jump to) and leaves the others unread: the
/// rules of those chains read alike, the others say their sets were not read, and every verdict
/// is the one the full JSON model gives.
#[test]
fn sets_off_the_inbound_path_are_left_unread_and_verdicts_are_the_same() {
    if !root_or_skip() {
        return;
    }
    let ns = Netns::new("nftpath");
    let ruleset = r#"table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport { 22, 80 } accept
    tcp dport vmap { 8000-8100 : jump svc }
    tcp dport 7000 goto more
  }
  chain svc { ip saddr { 10.0.0.0/8 } tcp dport { 8050, 8051 } accept; }
  chain more { udp dport { 7000, 7001 } accept; tcp dport { 7000 } accept; }
  chain spare { tcp dport { 9000, 9001 } accept; }
  chain output { type filter hook output priority 0; tcp dport { 25, 465 } drop; }
}"#;
    let (json, netlink) = both_ways(&ns, ruleset);
    assert_eq!(json.chains.len(), netlink.chains.len());
    for (j, n) in json.chains.iter().zip(&netlink.chains) {
        assert_eq!(j.name, n.name);
        assert_eq!(j.rules.len(), n.rules.len(), "{}", j.name);
        let on_path = ["input", "svc", "more"].contains(&j.name.as_str());
        for (rj, rn) in j.rules.iter().zip(&n.rules) {
            if on_path {
                assert_eq!(rj, rn, "chain {}", j.name);
            } else {
                assert!(
                    rn.conds
                        .iter()
                        .any(|c| matches!(c, Cond::Complex(w) if w.contains("not read"))),
                    "chain {}: {:?}",
                    j.name,
                    rn.conds
                );
            }
        }
    }
    let interfaces = [];
    for dst in ["10.0.0.5", "192.0.2.1"] {
        for port in [1, 22, 25, 80, 465, 7000, 7001, 8050, 8052, 9000] {
            let verdict = |rules: &Rules| {
                portscope::exposure::judge(
                    rules,
                    portscope::registry::Protocol::Tcp,
                    dst.parse().unwrap(),
                    port,
                    "eth0",
                    &interfaces,
                )
            };
            assert_eq!(verdict(&json), verdict(&netlink), "{dst} port {port}");
        }
    }
}
