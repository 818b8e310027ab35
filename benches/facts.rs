//! What the facts and the namespace sweep cost, on this machine's real data:
//!
//! - `facts/one socket cold`: a fresh [`FactsCache`] establishing everything about a listener
//!   run by Debian's python3.11, integrity included (dpkg's lists searched, 6.8 MB hashed).
//!   Goal ≤ 20 ms. The OS page cache is warm after the first run, as it is for a detail pane.
//! - `facts/one socket cached`: the same with the cache kept. Goal ≤ 1 ms.
//! - Printed after those, per part of a cold look-up: `cheap` (cgroup + the package: every dpkg
//!   list searched), `detail` (+ ancestry), and the MD5 of the running file alone (what the
//!   second thread of a verified look-up does), each with wall and CPU time.
//! - `netns/collect host only` vs `netns/collect all namespaces`: a collection with 20 extra
//!   `ip netns` namespaces holding 100 TCP listeners each. Goal: the difference ≤ 30 ms.
//!
//! Run as root (namespaces): `cargo bench --bench facts`

use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};

use criterion::{criterion_group, criterion_main, Criterion};
use portscope::facts::{Depth, FactsCache, Roots};
use portscope::sockets::{CollectOptions, Collector, SystemCollector};

const PYTHON: &str = "/usr/bin/python3.11";

/// Wall and CPU time (this process, every thread, user + system) per call of `f`, over `n`
/// calls: on a machine shared with other work the CPU time is the figure that does not depend
/// on how busy the neighbours are.
fn per_op(label: &str, n: u32, mut f: impl FnMut()) {
    fn cpu() -> f64 {
        // SAFETY: getrusage fills the zeroed struct.
        let usage = unsafe {
            let mut u: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_SELF, &mut u);
            u
        };
        let t = |tv: libc::timeval| tv.tv_sec as f64 * 1e3 + tv.tv_usec as f64 / 1e3;
        t(usage.ru_utime) + t(usage.ru_stime)
    }
    let (wall0, cpu0) = (std::time::Instant::now(), cpu());
    for _ in 0..n {
        f();
    }
    let wall = wall0.elapsed().as_secs_f64() * 1e3 / f64::from(n);
    let cpu = (cpu() - cpu0) / f64::from(n);
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    println!(
        "{label}: {wall:.3} ms wall, {cpu:.3} ms CPU per call (mean of {n}; load average {load})"
    );
}
const NAMESPACES: usize = 20;
const LISTENERS: usize = 100;

fn facts(c: &mut Criterion) {
    if !std::path::Path::new(PYTHON).exists() {
        eprintln!("skipping facts benches: {PYTHON} is missing");
        return;
    }
    let mut child = Command::new(PYTHON)
        .args([
            "-c",
            "import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3.11");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let snapshot = SystemCollector::new(CollectOptions {
        host_namespace_only: true,
        ..CollectOptions::default()
    })
    .collect()
    .unwrap();
    let owner = snapshot
        .sockets
        .iter()
        .flat_map(|s| &s.owners)
        .find(|o| o.pid == child.id())
        .expect("the listener's owner")
        .clone();

    let mut group = c.benchmark_group("facts");
    group.bench_function("one socket cold", |b| {
        b.iter(|| {
            let mut cache = FactsCache::new(Roots::system());
            black_box(cache.establish(&owner, Depth::Verify))
        })
    });
    let mut cache = FactsCache::new(Roots::system());
    cache.establish(&owner, Depth::Verify);
    group.bench_function("one socket cached", |b| {
        b.iter(|| black_box(cache.establish(&owner, Depth::Verify)))
    });
    group.bench_function("one socket cheap, cached", |b| {
        b.iter(|| black_box(cache.establish(&owner, Depth::Cheap)))
    });
    group.finish();
    per_op("facts/one socket cold", 30, || {
        black_box(FactsCache::new(Roots::system()).establish(&owner, Depth::Verify));
    });
    per_op("facts/one socket cached", 300, || {
        black_box(cache.establish(&owner, Depth::Verify));
    });
    per_op(
        "facts/part: cold cheap (cgroup + package look-up)",
        30,
        || {
            black_box(FactsCache::new(Roots::system()).establish(&owner, Depth::Cheap));
        },
    );
    per_op("facts/part: cold detail (+ ancestry)", 30, || {
        black_box(FactsCache::new(Roots::system()).establish(&owner, Depth::Detail));
    });
    per_op("facts/part: MD5 of the running file alone", 30, || {
        use md5::{Digest, Md5};
        use std::io::Read;
        let mut file = std::fs::File::open(format!("/proc/{}/exe", child.id())).unwrap();
        let (mut md5, mut buf) = (Md5::new(), vec![0u8; 256 * 1024]);
        loop {
            let n = file.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            md5.update(&buf[..n]);
        }
        black_box(md5.finalize());
    });
    drop(child.stdin.take());
    let _ = child.wait();
}

/// `ip netns` namespaces with listeners bound inside them by this process (a thread enters each
/// with setns, binds, and hands the sockets back); deleted on drop.
struct Sandboxes {
    names: Vec<String>,
    listeners: Vec<TcpListener>,
}

impl Sandboxes {
    fn new() -> Option<Sandboxes> {
        let mut s = Sandboxes {
            names: Vec::new(),
            listeners: Vec::new(),
        };
        for i in 0..NAMESPACES {
            let name = format!("portscope-bench-{}-{i}", std::process::id());
            let ok = Command::new("ip")
                .args(["netns", "add", &name])
                .status()
                .is_ok_and(|st| st.success());
            if !ok {
                return None;
            }
            s.names.push(name.clone());
            Command::new("ip")
                .args(["netns", "exec", &name, "ip", "link", "set", "lo", "up"])
                .status()
                .ok()?;
            let path = format!("/run/netns/{name}");
            let bound = std::thread::spawn(move || {
                let file = std::fs::File::open(path).ok()?;
                // SAFETY: setns on an open namespace file; this helper thread only.
                if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    return None;
                }
                (0..LISTENERS)
                    .map(|_| TcpListener::bind("127.0.0.1:0").ok())
                    .collect::<Option<Vec<_>>>()
            })
            .join()
            .ok()??;
            s.listeners.extend(bound);
        }
        Some(s)
    }
}

impl Drop for Sandboxes {
    fn drop(&mut self) {
        self.listeners.clear();
        for name in &self.names {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

fn namespaces(c: &mut Criterion) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping namespace benches: run as root");
        return;
    }
    let Some(sandboxes) = Sandboxes::new() else {
        eprintln!("skipping namespace benches: cannot create network namespaces");
        return;
    };
    let mut all = SystemCollector::new(CollectOptions::default());
    let extra = all
        .collect()
        .unwrap()
        .sockets
        .iter()
        .filter(|s| {
            s.netns.as_ref().is_some_and(|n| {
                n.name
                    .as_deref()
                    .is_some_and(|n| n.starts_with("portscope-bench-"))
            })
        })
        .count();
    assert_eq!(
        extra,
        NAMESPACES * LISTENERS,
        "every sandboxed listener is collected"
    );
    let mut host = SystemCollector::new(CollectOptions {
        host_namespace_only: true,
        ..CollectOptions::default()
    });
    let mut group = c.benchmark_group("netns");
    group.bench_function("collect host only", |b| {
        b.iter(|| black_box(host.collect().unwrap()))
    });
    group.bench_function("collect all namespaces", |b| {
        b.iter(|| black_box(all.collect().unwrap()))
    });
    group.finish();
    per_op("netns/collect host only", 50, || {
        black_box(host.collect().unwrap());
    });
    per_op("netns/collect all namespaces", 50, || {
        black_box(all.collect().unwrap());
    });
    drop(sandboxes);
}

criterion_group!(benches, facts, namespaces);
criterion_main!(benches);
