//! Write a synthetic fleet of snapshots, for tests and `scripts/bench-fleet.sh`: one file per
//! host, as `portscope snapshot` writes them and the Ansible example fetches them.
//!
//! ```text
//! fleet_snapshots DIR [--hosts N] [--listeners M]
//! ```
//!
//! Every host `hostNN` holds the same M TCP listeners (ports 10000.., programs `svc0`..`svc36`),
//! plus three planted differences, so the outliers are known exactly:
//! - host07 alone listens on 4444 (`backdoor`);
//! - host21 runs `nc` instead of `svc5` on port 10005;
//! - host30, host31 and host32 listen on 9100 (`node_exporter`): three hosts, an outlier only
//!   when the threshold is 3 or more (the default is 10% of the hosts, 5 of 50).
//!
//! A planted host that does not exist (fewer hosts than its number) is simply absent.

use std::path::PathBuf;

use serde_json::{json, Value};

fn main() {
    if let Err(e) = run() {
        eprintln!("fleet_snapshots: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let (mut hosts, mut listeners) = (50usize, 1000usize);
    while let Some(arg) = args.next() {
        let mut number = |what: &str| -> Result<usize, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{what} needs a number"))
        };
        match arg.as_str() {
            "--hosts" => hosts = number("--hosts")?,
            "--listeners" => listeners = number("--listeners")?.min(50_000),
            _ if dir.is_none() && !arg.starts_with('-') => dir = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    let dir = dir.ok_or("usage: fleet_snapshots DIR [--hosts N] [--listeners M]")?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for h in 0..hosts {
        let mut set: Vec<(u16, String)> = (0..listeners)
            .map(|i| (10_000 + i as u16, format!("svc{}", i % 37)))
            .collect();
        match h {
            7 => set.push((4444, "backdoor".into())),
            21 if set.len() > 5 => set[5].1 = "nc".into(),
            30..=32 => set.push((9100, "node_exporter".into())),
            _ => {}
        }
        let name = format!("host{h:02}");
        let path = dir.join(format!("{name}.json"));
        let bytes = serde_json::to_vec(&snapshot(&name, &set)).map_err(|e| e.to_string())?;
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!("{hosts} hosts x {listeners} listeners in {}", dir.display());
    Ok(())
}

/// A snapshot file of one host, in the fields `portscope snapshot` writes.
fn snapshot(host: &str, listeners: &[(u16, String)]) -> Value {
    let sockets: Vec<Value> = listeners
        .iter()
        .enumerate()
        .map(|(i, (port, program))| {
            json!({
                "protocol": "tcp", "family": "v4", "local_addr": "0.0.0.0", "local_port": port,
                "remote_addr": null, "remote_port": null, "state": "listen", "inode": i + 1,
                "owners": [{
                    "pid": 1000 + i, "name": program, "uid": 0, "user": "root",
                    "exe": format!("/usr/sbin/{program}"), "exe_deleted": false,
                    "cmdline": [format!("/usr/sbin/{program}"), "--serve"],
                    "start_time": 1_700_000_000u64, "parent_pid": 1
                }],
                "owner_unknown": null, "uid": 0, "user": "root"
            })
        })
        .collect();
    json!({
        "schema_version": 1,
        "host": {
            "hostname": host, "os": "Linux", "kernel": "6.1", "taken_at": 1_800_000_000u64,
            "uid": 0, "user": "root", "sees_all_owners": true, "includes_connections": false,
            "warnings": []
        },
        "sockets": sockets
    })
}
