//! Reachability: from where each listener can be reached (loopback only, a LAN, a public
//! address, a container bridge), from its bind address and this host's interfaces, and what the
//! firewall says about each way in. Owns the interface reader, the nftables and iptables parsers,
//! the rule walk, and the runner that asks `nft` and `iptables-save` for the live rules; it prints
//! nothing and never calls a listener "safe": a verdict says what the rules say and what was not
//! evaluated.

use std::io::Read;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::hints::{ReachSource, Reachability};
use crate::sockets::{Family, Socket};

pub mod firewall;
pub mod interfaces;
pub mod iptables;
pub mod nft;
#[cfg(target_os = "linux")]
pub mod nftables_netlink;

pub use firewall::{judge, Outcome, Rules, Verdict};
pub use interfaces::{IfAddr, Scope};

/// The largest command output read (a ruleset of a million rules is about this size).
const MAX_OUTPUT: u64 = 64 * 1024 * 1024;

/// The firewall as read from this host, and what could not be read.
#[derive(Debug, Clone, Default)]
pub struct Firewall {
    pub rules: Rules,
    /// A ruleset that exists but could not be read (not root, a tool failed): no verdict is
    /// given while one is missing.
    pub unread: Vec<String>,
    /// How the nftables ruleset was read: `netlink` (asked of the kernel directly), `nft -j`
    /// (where netlink could not be used), or `None` when it was not read.
    pub nftables_read_with: Option<&'static str>,
}

fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Run `tool args`, bounded; `Ok(None)` when the tool is not installed.
fn run(tool: &str, args: &[&str]) -> Result<Option<String>, String> {
    let Some(path) = find_tool(tool) else {
        return Ok(None);
    };
    let mut child = Command::new(&path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {tool}: {e}"))?;
    let mut out = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        stdout
            .take(MAX_OUTPUT + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("cannot read {tool}'s output: {e}"))?;
    }
    let mut err = Vec::new();
    if let Some(stderr) = child.stderr.take() {
        let _ = stderr.take(64 * 1024).read_to_end(&mut err);
    }
    let status = child
        .wait()
        .map_err(|e| format!("cannot wait for {tool}: {e}"))?;
    if out.len() as u64 > MAX_OUTPUT {
        return Err(format!("{tool} printed more than {MAX_OUTPUT} bytes"));
    }
    if !status.success() {
        let msg = String::from_utf8_lossy(&err);
        let msg = msg.lines().next().unwrap_or("").trim();
        return Err(format!(
            "{tool} {} failed ({status}): {}{}",
            args.join(" "),
            crate::text::escape(msg),
            if nix_euid_is_root() {
                ""
            } else {
                " (reading the firewall needs root)"
            }
        ));
    }
    Ok(Some(String::from_utf8_lossy(&out).into_owned()))
}

#[cfg(unix)]
fn nix_euid_is_root() -> bool {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}

/// No uid 0 on Windows (nor nft and iptables to run: they are never found there).
#[cfg(not(unix))]
fn nix_euid_is_root() -> bool {
    false
}

/// Table names an iptables-nft-save text owns: those it declares, minus those it says are not
/// its own (an nft-native table that happens to be called `nat` is reported as "Table `nat'
/// contains incompatible base-chains" or "is incompatible"; nftables' JSON is the truth for it).
fn saved_tables(text: &str) -> Vec<String> {
    let foreign: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("# Table `"))
        .filter(|rest| rest.contains("incompatible"))
        .filter_map(|rest| rest.split('\'').next())
        .collect();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix('*'))
        .filter(|t| !foreign.contains(t))
        .map(str::to_string)
        .collect()
}

/// Read the live rules: nftables (JSON), then iptables and ip6tables from both backends where
/// their tools exist. iptables-nft's tables also appear in the nftables ruleset; they are read
/// once, from `iptables-nft-save`, whose rules this reader models better than their JSON form.
pub fn read_firewall() -> Firewall {
    let mut fw = Firewall::default();
    let mut skip: Vec<(String, String)> = Vec::new();
    let mut saves: Vec<(String, String, bool)> = Vec::new();
    let mut any_backend = false;
    for (tool, label, v6) in [
        ("iptables-nft-save", "iptables-nft", false),
        ("ip6tables-nft-save", "ip6tables-nft", true),
        ("iptables-legacy-save", "iptables-legacy", false),
        ("ip6tables-legacy-save", "ip6tables-legacy", true),
    ] {
        match run(tool, &[]) {
            Ok(Some(text)) => {
                any_backend = true;
                if label.ends_with("-nft") {
                    let fam = if v6 { "ip6" } else { "ip" };
                    skip.extend(
                        saved_tables(&text)
                            .into_iter()
                            .map(|t| (fam.to_string(), t)),
                    );
                }
                saves.push((text, label.to_string(), v6));
            }
            Ok(None) => {}
            Err(e) => fw.unread.push(e),
        }
    }
    if !any_backend {
        for (tool, label, v6) in [
            ("iptables-save", "iptables", false),
            ("ip6tables-save", "ip6tables", true),
        ] {
            match run(tool, &[]) {
                Ok(Some(text)) => saves.push((text, label.to_string(), v6)),
                Ok(None) => {}
                Err(e) => fw.unread.push(e),
            }
        }
    }
    read_nftables(&mut fw, &skip);
    for (text, label, v6) in saves {
        match iptables::parse(&text, &label, v6) {
            Ok(rules) => fw.rules.extend(rules),
            Err(e) => fw.unread.push(e.to_string()),
        }
    }
    fw
}

/// Read the nftables ruleset into `fw`: over netlink where the kernel can be asked, else with
/// `nft -j list ruleset` (another OS, a kernel or sandbox without nf_tables netlink). Both give
/// the same model; netlink costs a fraction of running `nft`.
fn read_nftables(fw: &mut Firewall, skip: &[(String, String)]) {
    #[cfg(target_os = "linux")]
    match nftables_netlink::read(skip) {
        Ok(rules) => {
            fw.rules.extend(rules);
            fw.nftables_read_with = Some("netlink");
            return;
        }
        Err(e @ nftables_netlink::NetlinkError::Failed(_)) => {
            fw.unread.push(e.to_string());
            return;
        }
        // Not root, or no nf_tables netlink here: nft says the same or reads another way.
        Err(nftables_netlink::NetlinkError::Unavailable(_)) => {}
    }
    match run("nft", &["-j", "list", "ruleset"]) {
        Ok(Some(text)) => match nft::parse(&text, skip) {
            Ok(rules) => {
                fw.rules.extend(rules);
                fw.nftables_read_with = Some("nft -j");
            }
            Err(e) => fw.unread.push(e.to_string()),
        },
        Ok(None) => fw
            .rules
            .notes
            .push("nft is not installed: nftables rules were not read".into()),
        Err(e) => fw.unread.push(e),
    }
}

/// One way into a listener: an address of this host it accepts connections on.
#[derive(Debug, Clone, Serialize)]
pub struct Path {
    pub interface: String,
    pub addr: IpAddr,
    pub scope: Scope,
    /// The firewall's say; `None` for loopback (the input path from this host is not judged).
    pub verdict: Option<Verdict>,
}

/// From where a listener can be reached.
#[derive(Debug, Clone, Serialize)]
pub struct Reach {
    /// The widest scope a connection may come from as far as the rules say: `loopback`, `lan`,
    /// `container-bridge`, `public`; `filtered` when every way in but loopback is dropped or
    /// rejected; `unknown` when the listener's address is on no interface.
    pub summary: &'static str,
    pub paths: Vec<Path>,
}

/// The ways into `socket` and the firewall's verdict on each.
pub fn reach(socket: &Socket, ifaces: &[IfAddr], fw: &Firewall) -> Reach {
    let family_ok = |a: &IpAddr| match socket.family {
        Family::V4 => a.is_ipv4(),
        Family::V6 => a.is_ipv6(),
        Family::Dual => true,
    };
    let mut paths: Vec<Path> = ifaces
        .iter()
        .filter(|i| {
            if socket.local_addr.is_unspecified() {
                family_ok(&i.addr)
            } else {
                i.addr == socket.local_addr
            }
        })
        .map(|i| Path {
            interface: i.interface.clone(),
            addr: i.addr,
            scope: i.scope,
            verdict: None,
        })
        .collect();
    if paths.is_empty() && socket.local_addr.is_loopback() {
        // 127.0.0.2 and friends: the whole 127/8 is this host's, though `lo` lists only .1.
        paths.push(Path {
            interface: "lo".into(),
            addr: socket.local_addr,
            scope: Scope::Loopback,
            verdict: None,
        });
    }
    for p in &mut paths {
        if p.scope == Scope::Loopback {
            continue;
        }
        p.verdict = Some(if fw.unread.is_empty() {
            judge(
                &fw.rules,
                socket.protocol,
                p.addr,
                socket.local_port,
                &p.interface,
                ifaces,
            )
        } else {
            Verdict {
                outcome: Outcome::NotRead,
                reason: format!("the firewall could not be read: {}", fw.unread.join("; ")),
                rule: None,
                dnat_to: None,
                published_by: None,
                conditions: Vec::new(),
                not_evaluated: Vec::new(),
            }
        });
    }
    let open = |p: &&Path| {
        p.verdict
            .as_ref()
            .is_none_or(|v| !matches!(v.outcome, Outcome::Dropped | Outcome::Rejected))
            || p.verdict.as_ref().is_some_and(|v| !v.conditions.is_empty())
    };
    let widest = paths.iter().filter(open).map(|p| p.scope).max();
    let summary = match widest {
        _ if paths.is_empty() => "unknown",
        Some(Scope::Loopback) | None if paths.iter().any(|p| p.scope != Scope::Loopback) => {
            "filtered"
        }
        Some(s) => s.as_str(),
        None => "unknown",
    };
    Reach { summary, paths }
}

/// How long a [`LiveReach`] trusts what it read before reading again: interfaces and rules change
/// rarely, and reading the firewall runs `nft` and `iptables-save`.
const LIVE_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(10);

/// What this host's interfaces and firewall are, read once.
type View = (Vec<IfAddr>, Firewall);

/// This host's interfaces and firewall as a [`ReachSource`] for the hints: read when first asked
/// (a listing with no database or admin interface on a network address never runs `nft`), and
/// read again once older than ten seconds (the explorer lives long).
#[derive(Default)]
pub struct LiveReach {
    cache: std::sync::Mutex<Option<(std::time::Instant, std::sync::Arc<Option<View>>)>>,
}

impl LiveReach {
    pub fn new() -> LiveReach {
        LiveReach::default()
    }

    fn view(&self) -> std::sync::Arc<Option<View>> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        match &*cache {
            Some((at, view)) if at.elapsed() < LIVE_MAX_AGE => view.clone(),
            _ => {
                // Interfaces that cannot be read leave reach unsaid, as without a source.
                let view = std::sync::Arc::new(
                    interfaces::read()
                        .ok()
                        .map(|ifaces| (ifaces, read_firewall())),
                );
                *cache = Some((std::time::Instant::now(), view.clone()));
                view
            }
        }
    }
}

impl ReachSource for LiveReach {
    fn reach(&self, socket: &Socket) -> Option<Reachability> {
        let view = self.view();
        let (ifaces, fw) = view.as_ref().as_ref()?;
        reachability(&reach(socket, ifaces, fw))
    }
}

/// A [`Reach`] as the hints weigh it: filtered (with what decides it), reachable from a network
/// (with the way in and the firewall's say), or nothing to say (loopback only, unknown).
pub fn reachability(r: &Reach) -> Option<Reachability> {
    let said = |p: &Path| {
        p.verdict.as_ref().map_or_else(String::new, |v| {
            let rule = v
                .rule
                .as_deref()
                .map(|r| format!(" (`{r}`)"))
                .unwrap_or_default();
            format!("{}: {}{rule}", v.outcome.as_str(), v.reason)
        })
    };
    match r.summary {
        "filtered" => {
            let p = r.paths.iter().find(|p| p.scope != Scope::Loopback)?;
            Some(Reachability::Filtered {
                why: format!("{} on {}, {}", p.addr, p.interface, said(p)),
            })
        }
        "lan" | "public" | "container-bridge" => {
            let open = |p: &&Path| {
                p.verdict
                    .as_ref()
                    .is_none_or(|v| !matches!(v.outcome, Outcome::Dropped | Outcome::Rejected))
            };
            let same = |p: &&Path| p.scope.as_str() == r.summary;
            let p = r
                .paths
                .iter()
                .filter(same)
                .find(open)
                .or_else(|| r.paths.iter().find(same))?;
            Some(Reachability::Network {
                scope: r.summary,
                via: format!("{} on {}, {}", p.addr, p.interface, said(p)),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod saved_tables_tests {
    #[test]
    fn an_nft_native_table_named_like_an_iptables_one_is_not_taken_from_iptables() {
        let text = "# Table `nat' contains incompatible base-chains, use 'nft' tool to list them.\n*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n";
        assert_eq!(super::saved_tables(text), vec!["filter".to_string()]);
    }
}
