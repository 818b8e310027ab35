//! Reading a firewall of 5,000 rules: an input chain of per-interface, per-source, per-port
//! accepts (each port in an anonymous set with a range, as large real rulesets write them) under
//! a drop policy. Run: `cargo bench --bench firewall` (as root for the second part). The goal is
//! 50 ms to read 5,000 rules. Two parts are measured apart, because they are not the same cost:
//!
//! - **Our parse** (criterion): the text a tool printed → the rule model.
//!   `firewall/nft_parse_5000_rules` parses `nft -j list ruleset` output,
//!   `firewall/iptables_parse_5000_rules` an `iptables-save`, and
//!   `firewall/judge_one_listener_5000_rules` walks the model for one listener.
//! - **The tool's own run** (root only, printed, not criterion: one `nft` run over 5,000
//!   anonymous sets takes seconds): the same 5,000 rules are loaded with `nft -f` into a private
//!   network namespace and each way of listing them is run there as a whole process, its wall
//!   time and its CPU time (user + system, the kernel's work for it included) reported, then our
//!   parse of that real output. Both the ruleset above (`sets`) and the same rules with a single
//!   port each (`plain`, no anonymous sets) are timed.
//! - **Our netlink read** (root only, printed): `nftables_netlink::read` of the same rulesets in
//!   the same namespace, wall time and the reading thread's CPU time (user + system: the kernel's
//!   work answering the dumps is most of it), the mean of several runs. This is what
//!   `read_firewall` uses as root; `nft -j` is its fallback. With anonymous sets the kernel is
//!   asked once per set (`NFT_MSG_GETSETELEM`), and each ask finds its set by name in the table's
//!   list of sets, so that part grows with the square of the number of sets. Only the sets of
//!   chains on the inbound path are asked for: in `sets` nothing jumps to `svc`, so half of them;
//!   `sets-reached` adds a jump to `svc` and times the read of all 5,000.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::time::Instant;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use portscope::exposure::{iptables, judge, nft, nftables_netlink};
use portscope::registry::Protocol;

const RULES: usize = 5_000;

/// The `nft -j list ruleset` output for the ruleset [`nft_script`] loads.
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

/// The same rules as an `nft -f` script; `sets`: each port in an anonymous set with a range;
/// `jump`: one more rule, first in `input`, jumps to `svc`, putting its rules on the inbound path.
fn nft_script(rules: usize, sets: bool, jump: bool) -> String {
    let mut s = String::from(
        "table inet filter {}\n\
         add chain inet filter input { type filter hook input priority 0; policy drop; }\n\
         add chain inet filter svc\n",
    );
    if jump {
        s.push_str("add rule inet filter input jump svc\n");
    }
    for i in 0..rules {
        let chain = if i % 2 == 0 { "input" } else { "svc" };
        let port = 10_000 + (i % 50_000);
        let ports = if sets {
            format!("{{ {port}, 20000-20100 }}")
        } else {
            port.to_string()
        };
        s.push_str(&format!(
            "add rule inet filter {chain} iifname \"eth{}\" ip saddr 10.{}.{}.0/24 tcp dport {ports} counter accept\n",
            i % 4,
            (i / 256) % 256,
            i % 256,
        ));
    }
    s
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
    let json = nft_ruleset(RULES);
    let save = iptables_save(RULES);
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
    cpu_of_parse("firewall/nft_parse_5000_rules", 20, || {
        black_box(nft::parse(&json, &[]).unwrap());
    });
    nft_process();
}

/// CPU time of the calling thread (user + system), ms.
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

/// CPU time of this process (every thread, user + system) and of its waited-for children, ms.
fn cpu() -> (f64, f64) {
    let of = |who| {
        // SAFETY: getrusage fills the zeroed struct.
        let usage = unsafe {
            let mut u: libc::rusage = std::mem::zeroed();
            libc::getrusage(who, &mut u);
            u
        };
        let t = |tv: libc::timeval| tv.tv_sec as f64 * 1e3 + tv.tv_usec as f64 / 1e3;
        t(usage.ru_utime) + t(usage.ru_stime)
    };
    (of(libc::RUSAGE_SELF), of(libc::RUSAGE_CHILDREN))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn cpu_of_parse(label: &str, n: u32, mut f: impl FnMut()) {
    let (wall0, (cpu0, _)) = (Instant::now(), cpu());
    for _ in 0..n {
        f();
    }
    let wall = wall0.elapsed().as_secs_f64() * 1e3 / f64::from(n);
    let cpu = (cpu().0 - cpu0) / f64::from(n);
    println!(
        "{label}: {wall:.1} ms wall, {cpu:.1} ms CPU per call (mean of {n}; load average {})",
        load_average()
    );
}

/// A private network namespace holding the 5,000 rules; deleted on drop.
struct RulesetNs(String);

impl RulesetNs {
    fn new(tag: &str, script: &str) -> Option<RulesetNs> {
        let name = format!("portscope-fwbench-{}-{tag}", std::process::id());
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return None;
        }
        let ns = RulesetNs(name);
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ns.0, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .ok()?;
        child.stdin.take()?.write_all(script.as_bytes()).ok()?;
        child.wait().ok()?.success().then_some(ns)
    }
}

impl Drop for RulesetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Each way of listing the ruleset, run as a process inside the namespace: wall and CPU (the
/// child's user + system time) per run, the mean of `n`.
fn nft_process() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping the nft process timings: run as root (they load rules into a private network namespace)");
        return;
    }
    if Command::new("nft").arg("--version").output().is_err() {
        eprintln!("skipping the nft process timings: nft is not installed");
        return;
    }
    // `sets-reached`: the sets ruleset with `svc` jumped to, so every set is on the inbound path
    // and read (in `sets` nothing jumps to `svc` and the netlink read leaves its sets unread);
    // only our read is timed there.
    for (tag, sets, jump) in [
        ("plain", false, false),
        ("sets", true, false),
        ("sets-reached", true, true),
    ] {
        let Some(ns) = RulesetNs::new(tag, &nft_script(RULES, sets, jump)) else {
            eprintln!("skipping the nft process timings: cannot load the ruleset into a network namespace");
            return;
        };
        let path = format!("/run/netns/{}", ns.0);
        // A thread of its own enters the namespace: the children it starts are born there.
        std::thread::spawn(move || {
            let file = std::fs::File::open(&path).expect("the namespace file");
            // SAFETY: setns on an open namespace file; this thread only, and it exits after.
            if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                eprintln!("skipping the nft process timings: setns failed");
                return;
            }
            // Our netlink read, in this thread (its socket is opened in the namespace).
            let n = if jump { 3 } else { 5 };
            let rules = nftables_netlink::read(&[]).expect("the netlink read");
            let count = RULES + usize::from(jump);
            assert_eq!(rules.rule_count(), count, "every rule is read");
            let (wall0, cpu0) = (Instant::now(), thread_cpu());
            for _ in 0..n {
                black_box(nftables_netlink::read(&[]).expect("the netlink read"));
            }
            let wall = wall0.elapsed().as_secs_f64() * 1e3 / f64::from(n);
            let ours = (thread_cpu() - cpu0) / f64::from(n);
            println!(
                "nft_process/{tag}/our netlink read: {wall:.1} ms wall, {ours:.1} ms CPU per read (mean of {n}; load average {})",
                load_average()
            );
            if jump {
                return;
            }
            let n = if sets { 3 } else { 5 };
            for args in [
                &["-j", "list", "ruleset"][..],
                &["list", "ruleset"],
                &["-j", "list", "table", "inet", "filter"],
                &["-j", "list", "chain", "inet", "filter", "input"],
                &["list", "tables"],
            ] {
                let (wall0, (_, child0)) = (Instant::now(), cpu());
                let mut out = Vec::new();
                for _ in 0..n {
                    out = Command::new("nft")
                        .args(args)
                        .stdin(Stdio::null())
                        .output()
                        .expect("nft")
                        .stdout;
                }
                let wall = wall0.elapsed().as_secs_f64() * 1e3 / f64::from(n);
                let child = (cpu().1 - child0) / f64::from(n);
                println!(
                    "nft_process/{tag}/nft {}: {wall:.0} ms wall, {child:.0} ms CPU per run (mean of {n}; {} bytes; load average {})",
                    args.join(" "),
                    out.len(),
                    load_average()
                );
                if args == ["-j", "list", "ruleset"] {
                    let text = String::from_utf8(out).expect("nft prints UTF-8");
                    let rules = nft::parse(&text, &[]).expect("nft's own output parses");
                    assert_eq!(rules.rule_count(), RULES, "every rule is read");
                    cpu_of_parse(&format!("nft_process/{tag}/our parse of it"), 10, || {
                        black_box(nft::parse(&text, &[]).unwrap());
                    });
                }
            }
        })
        .join()
        .expect("the timing thread");
    }
}

criterion_group!(benches, read);
criterion_main!(benches);
