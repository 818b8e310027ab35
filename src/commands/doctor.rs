//! `portscope doctor`: what this run can see and why not, with the exact fix for each gap. Every
//! check reads the system as it is (uid, capabilities, /proc mount options, namespaces, netlink);
//! none of them changes anything. The Linux checks read /proc and netlink; macOS and Windows have
//! their own, in [`other`], about what the portable collector can see at this privilege level.

use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;

use super::{CmdResult, Context};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One thing checked, what was found, and what to do about it.
#[derive(Debug, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub status: Status,
    pub detail: String,
    pub fix: Option<String>,
}

pub fn run(ctx: &Context) -> CmdResult {
    let checks = checks();
    let mut out = io::stdout().lock();
    if ctx.json {
        crate::text::write_json(&mut out, &checks)?;
    } else {
        for c in &checks {
            let tag = match c.status {
                Status::Ok => "ok  ",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
            };
            writeln!(
                out,
                "{tag}  {:<10}  {}",
                c.check,
                crate::text::escape(&c.detail)
            )?;
            if let Some(fix) = &c.fix {
                writeln!(out, "{:18}fix: {fix}", "")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Run every check, in the order a user would fix them.
#[cfg(target_os = "linux")]
pub fn checks() -> Vec<Check> {
    vec![
        proc_fs(),
        privileges(),
        hidepid(),
        namespace("net"),
        namespace("pid"),
        netlink(),
    ]
}

#[cfg(target_os = "linux")]
fn proc_fs() -> Check {
    match std::fs::metadata("/proc/self/fd") {
        Ok(_) => Check {
            check: "proc",
            status: Status::Ok,
            detail: "/proc is mounted and readable".into(),
            fix: None,
        },
        Err(e) => Check {
            check: "proc",
            status: Status::Fail,
            detail: format!("/proc is not usable ({e}): no socket owners can be found"),
            fix: Some("mount it: `mount -t proc proc /proc`".into()),
        },
    }
}

#[cfg(target_os = "linux")]
/// Capability bits portscope cares about (linux/capability.h).
const CAP_DAC_READ_SEARCH: u32 = 2;
#[cfg(target_os = "linux")]
const CAP_SYS_PTRACE: u32 = 19;

#[cfg(target_os = "linux")]
fn effective_caps() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))?
        .trim();
    u64::from_str_radix(hex, 16).ok()
}

#[cfg(target_os = "linux")]
fn privileges() -> Check {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    let caps = effective_caps().unwrap_or(0);
    let has = |cap: u32| caps & (1 << cap) != 0;
    if has(CAP_SYS_PTRACE) {
        let who = if euid == 0 {
            "root".to_string()
        } else {
            format!("uid {euid} with CAP_SYS_PTRACE")
        };
        let refused = processes_refusing_fd_reads();
        if refused.is_empty() {
            return Check {
                check: "privileges",
                status: Status::Ok,
                detail: format!("running as {who}: every process's sockets can be attributed"),
                fix: None,
            };
        }
        let pids: Vec<String> = refused.iter().take(5).map(u32::to_string).collect();
        return Check {
            check: "privileges",
            status: Status::Warn,
            detail: format!(
                "running as {who}, yet {} process(es) refuse to show their file descriptors (pid {}{}): a sandbox or security module guards them, and their sockets show \"owner hidden\"",
                refused.len(),
                pids.join(", "),
                if refused.len() > 5 { ", ..." } else { "" }
            ),
            fix: Some("run portscope outside the sandbox or container (on the host) to attribute those sockets".into()),
        };
    }
    let detail = if euid == 0 {
        "root without CAP_SYS_PTRACE (a restricted container?): other processes' sockets show \"owner hidden\"".to_string()
    } else {
        format!("uid {euid}, not root: sockets of other users' processes show \"owner hidden\"")
    };
    Check {
        check: "privileges",
        status: Status::Warn,
        detail,
        fix: Some(
            "run `sudo portscope`, or grant the binary what it needs once: `sudo setcap cap_sys_ptrace,cap_dac_read_search+ep \"$(command -v portscope)\"`"
                .into(),
        ),
    }
    .with_cap_note(has(CAP_DAC_READ_SEARCH))
}

#[cfg(target_os = "linux")]
impl Check {
    fn with_cap_note(mut self, dac: bool) -> Check {
        if dac {
            self.detail
                .push_str(" (CAP_DAC_READ_SEARCH alone does not open other users' /proc/PID/fd)");
        }
        self
    }
}

#[cfg(target_os = "linux")]
/// Pids whose fd links this process may not read, though it may list them.
fn processes_refusing_fd_reads() -> Vec<u32> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let denied = |e: &io::Error| e.kind() == io::ErrorKind::PermissionDenied;
    let mut refused: Vec<u32> = procs
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| match std::fs::read_dir(format!("/proc/{pid}/fd")) {
            Err(e) => denied(&e),
            Ok(mut fds) => fds
                .find_map(Result::ok)
                .is_some_and(|fd| std::fs::read_link(fd.path()).is_err_and(|e| denied(&e))),
        })
        .collect();
    refused.sort_unstable();
    refused
}

#[cfg(target_os = "linux")]
/// The options /proc is mounted with (hidepid=, subset=).
fn proc_mount_options() -> Option<String> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|line| {
        let mut f = line.split_whitespace();
        let (_dev, dir, fstype, opts) = (f.next()?, f.next()?, f.next()?, f.next()?);
        (dir == "/proc" && fstype == "proc").then(|| opts.to_string())
    })
}

#[cfg(target_os = "linux")]
fn hidepid() -> Check {
    let Some(opts) = proc_mount_options() else {
        return Check {
            check: "hidepid",
            status: Status::Warn,
            detail: "could not read /proc's mount options".into(),
            fix: None,
        };
    };
    let hidden = opts.split(',').find(|o| {
        o.starts_with("hidepid=") && !matches!(*o, "hidepid=0" | "hidepid=off")
            || o.starts_with("subset=")
    });
    match hidden {
        None => Check {
            check: "hidepid",
            status: Status::Ok,
            detail: "/proc shows every process".into(),
            fix: None,
        },
        Some(opt) => {
            // SAFETY: geteuid has no preconditions and cannot fail.
            let root = unsafe { libc::geteuid() } == 0;
            Check {
                check: "hidepid",
                status: if root { Status::Ok } else { Status::Warn },
                detail: format!("/proc is mounted with {opt}: other users' processes are invisible to non-root users"),
                fix: (!root).then(|| {
                    "run as root, or add your user to the group named by /proc's gid= mount option".to_string()
                }),
            }
        }
    }
}

#[cfg(target_os = "linux")]
/// Whether this process shares namespace `kind` ("net", "pid") with init (pid 1).
fn namespace(kind: &'static str) -> Check {
    let check = if kind == "net" { "net-ns" } else { "pid-ns" };
    let ours = std::fs::read_link(format!("/proc/self/ns/{kind}"));
    let init = std::fs::read_link(format!("/proc/1/ns/{kind}"));
    match (ours, init) {
        (Ok(a), Ok(b)) if a == b => Check {
            check,
            status: Status::Ok,
            detail: format!("same {kind} namespace as init"),
            fix: None,
        },
        (Ok(_), Ok(_)) => Check {
            check,
            status: Status::Warn,
            detail: if kind == "net" {
                "another network namespace than init (a container?): only this namespace's sockets are visible".into()
            } else {
                "another pid namespace than init (a container?): processes outside it own sockets portscope cannot attribute".into()
            },
            fix: Some(format!(
                "run on the host, or enter init's namespace: `sudo nsenter -t 1 -{} portscope`",
                if kind == "net" { "n" } else { "p -m" }
            )),
        },
        (Ok(_), Err(e)) => {
            // SAFETY: geteuid has no preconditions and cannot fail.
            let root = unsafe { libc::geteuid() } == 0;
            Check {
                check,
                status: Status::Warn,
                detail: if root {
                    format!("cannot compare with init's {kind} namespace: {e} even as root (a sandbox or security module guards pid 1)")
                } else {
                    format!("cannot compare with init's {kind} namespace: {e}")
                },
                fix: (!root).then(|| "run `sudo portscope doctor` to check".to_string()),
            }
        }
        (Err(e), _) => Check {
            check,
            status: Status::Warn,
            detail: format!("cannot read /proc/self/ns/{kind}: {e}"),
            fix: None,
        },
    }
}

#[cfg(target_os = "linux")]
/// sock_diag over netlink is how sockets are listed quickly; /proc/net is the slower fallback.
fn netlink() -> Check {
    const NETLINK_SOCK_DIAG: libc::c_int = 4;
    // SAFETY: plain socket(2) call; the descriptor is closed right away.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            NETLINK_SOCK_DIAG,
        )
    };
    if fd >= 0 {
        // SAFETY: fd is a descriptor we own.
        unsafe { libc::close(fd) };
        return Check {
            check: "netlink",
            status: Status::Ok,
            detail: "sock_diag netlink is available: sockets are listed by the kernel directly"
                .into(),
            fix: None,
        };
    }
    let err = io::Error::last_os_error();
    let fallback = std::fs::File::open("/proc/net/tcp").is_ok();
    Check {
        check: "netlink",
        status: if fallback { Status::Warn } else { Status::Fail },
        detail: format!(
            "sock_diag netlink is unavailable ({err}){}",
            if fallback { "; falling back to /proc/net, which is slower" } else { " and /proc/net is unreadable: no sockets can be listed" }
        ),
        fix: Some("load the diag modules: `sudo modprobe -a inet_diag tcp_diag udp_diag`; in a container, allow AF_NETLINK sockets".into()),
    }
}

/// macOS and Windows: what the portable collector sees at this privilege level, and what it never
/// reads on this OS.
#[cfg(not(target_os = "linux"))]
mod other {
    use super::{Check, Status};
    use crate::sockets::portable;

    pub fn checks() -> Vec<Check> {
        vec![privileges(), collector()]
    }

    fn privileges() -> Check {
        let seen = portable::privilege();
        let (detail, fix) = if cfg!(windows) {
            if seen.sees_all_owners {
                ("running elevated (Administrator): every socket, its pid and its process's executable and command line are visible".to_string(), None)
            } else {
                (
                    "not elevated: every socket and its pid are listed, but the executable and command line of other users' and system processes are not".to_string(),
                    Some("run portscope from a terminal opened with \"Run as administrator\"".to_string()),
                )
            }
        } else if seen.sees_all_owners {
            (
                "running as root: every process's sockets are listed".to_string(),
                None,
            )
        } else {
            (
                format!("uid {}, not root: macOS shows only your own processes' sockets; other users' and system listeners are missing, not merely unattributed", seen.uid),
                Some("run `sudo portscope`".to_string()),
            )
        };
        Check {
            check: "privileges",
            status: if fix.is_none() {
                Status::Ok
            } else {
                Status::Warn
            },
            detail,
            fix,
        }
    }

    fn collector() -> Check {
        let source = if cfg!(windows) {
            "the IP Helper tables (netstat2)"
        } else {
            "libproc"
        };
        Check {
            check: "collector",
            status: Status::Ok,
            detail: format!(
                "sockets from {source}, owners from sysinfo; not read on this OS: the kernel's state filter, socket inodes, the ephemeral port range, whether a UDP socket is connected{}",
                if cfg!(windows) { ", dual-stack (IPV6_V6ONLY)" } else { "" }
            ),
            fix: None,
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub use other::checks;
