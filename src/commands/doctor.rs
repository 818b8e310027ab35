//! `portscope doctor`: what this run can see and why not, with the exact fix for each gap. Every
//! check reads the system as it is (uid, capabilities, /proc mount options, namespaces, netlink);
//! none of them changes anything.

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

/// Capability bits portscope cares about (linux/capability.h).
const CAP_DAC_READ_SEARCH: u32 = 2;
const CAP_SYS_PTRACE: u32 = 19;

fn effective_caps() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))?
        .trim();
    u64::from_str_radix(hex, 16).ok()
}

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

impl Check {
    fn with_cap_note(mut self, dac: bool) -> Check {
        if dac {
            self.detail
                .push_str(" (CAP_DAC_READ_SEARCH alone does not open other users' /proc/PID/fd)");
        }
        self
    }
}

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

/// The options /proc is mounted with (hidepid=, subset=).
fn proc_mount_options() -> Option<String> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|line| {
        let mut f = line.split_whitespace();
        let (_dev, dir, fstype, opts) = (f.next()?, f.next()?, f.next()?, f.next()?);
        (dir == "/proc" && fstype == "proc").then(|| opts.to_string())
    })
}

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
