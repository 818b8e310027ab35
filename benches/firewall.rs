//! Reading a firewall: parsing a 5,000-rule nftables ruleset (`nft -j list ruleset` output) and
//! a 5,000-rule iptables-save, and judging one listener against each. Run:
//! `cargo bench --bench firewall`. The target is 50 ms to read 5,000 rules.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use portscope::exposure::{iptables, judge, nft};
use portscope::registry::Protocol;

/// A ruleset shaped like a large real one: an input chain of per-source, per-port accepts and
/// jumps into per-service chains, under a drop policy.
fn nft_ruleset(rules: usize) -> String {
    let mut items = vec![
        r#"{"metainfo":{"version":"1.0.6","json_schema_version":1}}"#.to_string(),
        r#"{"table":{"family":"inet","name":"filter","handle":1}}"#.to_string(),
        r#"{"chain":{"family":"inet","table":"filter","name":"input","handle":1,"type":"filter","hook":"input","prio":0,"policy":"drop"}}"#.to_string(),
        r#"{"chain":{"family":"inet","table":"filter","name":"svc","handle":2}}"#.to_string(),
    ];
    for i in 0..rules {
        let chain = if i % 2 == 0 { "input" } else { "svc" };
        let port = 10_000 + (i % 50_000);
        items.push(format!(
            r#"{{"rule":{{"family":"inet","table":"filter","chain":"{chain}","handle":{h},"expr":[{{"match":{{"op":"==","left":{{"meta":{{"key":"iifname"}}}},"right":"eth{n}"}}}},{{"match":{{"op":"==","left":{{"payload":{{"protocol":"ip","field":"saddr"}}}},"right":{{"prefix":{{"addr":"10.{a}.{b}.0","len":24}}}}}}}},{{"match":{{"op":"==","left":{{"payload":{{"protocol":"tcp","field":"dport"}}}},"right":{{"set":[{port},{{"range":[20000,20100]}}]}}}}}},{{"counter":{{"packets":0,"bytes":0}}}},{{"accept":null}}]}}}}"#,
            h = i + 10,
            n = i % 4,
            a = (i / 256) % 256,
            b = i % 256,
        ));
    }
    format!(r#"{{"nftables":[{}]}}"#, items.join(","))
}

fn iptables_save(rules: usize) -> String {
    let mut s =
        String::from("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for i in 0..rules {
        s.push_str(&format!(
            "-A INPUT -s 10.{}.{}.0/24 -i eth{} -p tcp -m tcp --dport {} -m comment --comment \"rule {i}\" -j ACCEPT\n",
            (i / 256) % 256,
            i % 256,
            i % 4,
            10_000 + i
        ));
    }
    s.push_str("COMMIT\n");
    s
}

fn read(c: &mut Criterion) {
    let json = nft_ruleset(5_000);
    let save = iptables_save(5_000);
    c.bench_function("firewall/nft_parse_5000_rules", |b| {
        b.iter(|| black_box(nft::parse(black_box(&json), &[]).unwrap()))
    });
    c.bench_function("firewall/iptables_parse_5000_rules", |b| {
        b.iter(|| black_box(iptables::parse(black_box(&save), "iptables", false).unwrap()))
    });
    let rules = nft::parse(&json, &[]).unwrap();
    c.bench_function("firewall/judge_one_listener_5000_rules", |b| {
        b.iter(|| {
            black_box(judge(
                &rules,
                Protocol::Tcp,
                "10.0.0.5".parse().unwrap(),
                black_box(6379),
                "eth0",
                &[],
            ))
        })
    });
}

criterion_group!(benches, read);
criterion_main!(benches);
