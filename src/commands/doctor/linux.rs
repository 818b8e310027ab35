//! doctor's checks on Linux: the uid and capabilities, the /proc mount in effect (hidepid), the
//! network and pid namespaces, sock_diag netlink. `/proc` is read through [`ProcFs`], the
//! collector's own reader.

use std::io;

use super::{Check, Status};
use crate::sockets::procfs::{PidView, ProcFs};

/// This machine's checks.
pub(super) fn current() -> Vec<Check> {
    checks(&ProcFs::default())
}

/// Run every check, in the order a user would fix them, against the proc filesystem `proc`.
pub fn checks(proc: &ProcFs) -> Vec<Check> {
    vec![
        proc_fs(proc),
        privileges(proc),
        hidepid(proc),
        net_namespace(proc),
        other_namespaces(proc, std::path::Path::new("/run/netns")),
        pid_namespace(proc),
        netlink(proc),
    ]
}

fn proc_fs(proc: &ProcFs) -> Check {
    match std::fs::metadata(proc.root().join("self/fd")) {
        Ok(_) => Check {
            check: "proc",
            status: Status::Ok,
            detail: "/proc is mounted and readable".into(),
            fix: None,
        },
        Err(e) => Check {
            check: "proc",
            status: Status::Fail,
            detail: format!(
                "{} is not usable ({e}): no socket owners can be found",
                proc.root().display()
            ),
            fix: Some("mount it: `mount -t proc proc /proc`".into()),
        },
    }
}

/// Capability bits portscope cares about (linux/capability.h).
const CAP_DAC_READ_SEARCH: u32 = 2;
const CAP_SYS_PTRACE: u32 = 19;

fn effective_caps(proc: &ProcFs) -> Option<u64> {
    let status = std::fs::read_to_string(proc.root().join("self/status")).ok()?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))?
        .trim();
    u64::from_str_radix(hex, 16).ok()
}

fn privileges(proc: &ProcFs) -> Check {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    let caps = effective_caps(proc).unwrap_or(0);
    let has = |cap: u32| caps & (1 << cap) != 0;
    if has(CAP_SYS_PTRACE) {
        let who = if euid == 0 {
            "root".to_string()
        } else {
            format!("uid {euid} with CAP_SYS_PTRACE")
        };
        let refused = processes_refusing_fd_reads(proc);
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
fn processes_refusing_fd_reads(proc: &ProcFs) -> Vec<u32> {
    let Ok(pids) = proc.pids() else {
        return Vec::new();
    };
    let denied = |e: &io::Error| e.kind() == io::ErrorKind::PermissionDenied;
    pids.into_iter()
        .filter(
            |&pid| match std::fs::read_dir(proc.pid_dir(pid).join("fd")) {
                Err(e) => denied(&e),
                Ok(mut fds) => fds
                    .find_map(Result::ok)
                    .is_some_and(|fd| std::fs::read_link(fd.path()).is_err_and(|e| denied(&e))),
            },
        )
        .collect()
}

/// The mount in effect on /proc (the last one in mountinfo: a later mount hides the earlier),
/// and whether its options hide processes from this run.
fn hidepid(proc: &ProcFs) -> Check {
    let Some(mount) = proc.proc_mount() else {
        return Check {
            check: "hidepid",
            status: Status::Warn,
            detail: format!(
                "could not read the /proc mount from {}",
                proc.root().join("self/mountinfo").display()
            ),
            fix: None,
        };
    };
    if mount.fstype != "proc" {
        return Check {
            check: "hidepid",
            status: Status::Fail,
            detail: format!(
                "/proc has a {} filesystem mounted over it, not proc: no processes can be seen",
                mount.fstype
            ),
            fix: Some("mount proc there: `mount -t proc proc /proc`".into()),
        };
    }
    match mount.hiding_option() {
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

/// Whether this process shares init's network namespace.
fn net_namespace(proc: &ProcFs) -> Check {
    let check = "net-ns";
    let ours = std::fs::read_link(proc.root().join("self/ns/net"));
    let init = std::fs::read_link(proc.root().join("1/ns/net"));
    match (ours, init) {
        (Ok(a), Ok(b)) if a == b => Check {
            check,
            status: Status::Ok,
            detail: "same network namespace as init".into(),
            fix: None,
        },
        (Ok(_), Ok(_)) => Check {
            check,
            status: Status::Warn,
            detail: "another network namespace than init (a container?): only this namespace's sockets are visible".into(),
            fix: Some("run on the host, or enter init's namespace: `sudo nsenter -t 1 -n portscope`".into()),
        },
        (Ok(_), Err(e)) => {
            // SAFETY: geteuid has no preconditions and cannot fail.
            let root = unsafe { libc::geteuid() } == 0;
            Check {
                check,
                status: Status::Warn,
                detail: if root {
                    format!("cannot compare with init's network namespace: {e} even as root (a sandbox or security module guards pid 1)")
                } else {
                    format!("cannot compare with init's network namespace: {e}")
                },
                fix: (!root).then(|| "run `sudo portscope doctor` to check".to_string()),
            }
        }
        (Err(e), _) => Check {
            check,
            status: Status::Warn,
            detail: format!("cannot read /proc/self/ns/net: {e}"),
            fix: None,
        },
    }
}

/// The other network namespaces (containers, `ip netns` sandboxes): their sockets are collected
/// only by root, who can enter them; without root, say which could not be and how to see them.
fn other_namespaces(proc: &ProcFs, run_netns: &std::path::Path) -> Check {
    let check = "other-netns";
    let found = crate::sockets::netns::discover(proc.root(), run_netns);
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let named: Vec<String> = found
        .others
        .iter()
        .filter_map(|n| n.tag.name.clone())
        .collect();
    let names = match named.len() {
        0 => String::new(),
        n if n <= 5 => format!(" ({})", crate::text::escape(&named.join(", "))),
        n => format!(
            " ({} and {} more)",
            crate::text::escape(&named[..5].join(", ")),
            n - 5
        ),
    };
    if root {
        return Check {
            check,
            status: Status::Ok,
            detail: format!(
                "{} other network namespaces{names}: entered on each collection; `portscope list --netns all` lists their sockets",
                found.others.len()
            ),
            fix: None,
        };
    }
    if found.others.is_empty() && found.unreadable == 0 {
        return Check {
            check,
            status: Status::Ok,
            detail: "no other network namespace seen".into(),
            fix: None,
        };
    }
    Check {
        check,
        status: Status::Warn,
        detail: format!(
            "{} other network namespaces{names} and the namespaces of {} processes that cannot be read without root: their sockets could not be entered and are not listed",
            found.others.len(),
            found.unreadable
        ),
        fix: Some("`sudo portscope list --netns all` lists every namespace's sockets".into()),
    }
}

/// Whether /proc lists the host's processes or only a child pid namespace's. In a child pid
/// namespace that shares the network with the host (`unshare -p --mount-proc`, a host-network
/// container) every socket held outside it would otherwise look ownerless.
fn pid_namespace(proc: &ProcFs) -> Check {
    let check = "pid-ns";
    match proc.pid_view() {
        PidView::Host => Check {
            check,
            status: Status::Ok,
            detail: "/proc shows the host's pid namespace: every process is visible".into(),
            fix: None,
        },
        PidView::Child { namespace } => {
            let processes = proc.pids().map_or(0, |p| p.len());
            Check {
                check,
                status: Status::Warn,
                detail: format!(
                    "/proc shows only a child pid namespace (pid:[{namespace}], {processes} processes), not the host's: sockets held by processes outside it (the host, other containers sharing this network) show \"owner in another pid namespace\""
                ),
                fix: Some("run portscope in the host's pid namespace: on the host, in a container started with `--pid=host`, or from the host with `sudo nsenter -t 1 -p -m portscope`".into()),
            }
        }
        PidView::Unknown => Check {
            check,
            status: Status::Warn,
            detail: "cannot read the pid namespace of /proc's pid 1 nor of this process: whether every process is visible is unknown".into(),
            fix: None,
        },
    }
}

/// sock_diag over netlink is how sockets are listed quickly; /proc/net is the slower fallback.
fn netlink(proc: &ProcFs) -> Check {
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
    let fallback = std::fs::File::open(proc.root().join("net/tcp")).is_ok();
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

#[cfg(test)]
mod tests {
    use super::super::failed;
    use super::*;

    /// A fixture /proc holding only `self/mountinfo`.
    fn proc_with_mountinfo(text: &str) -> (tempfile::TempDir, ProcFs) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("self")).unwrap();
        std::fs::write(dir.path().join("self/mountinfo"), text).unwrap();
        let proc = ProcFs::new(dir.path());
        (dir, proc)
    }

    #[test]
    fn hidepid_is_read_from_the_mount_in_effect_not_the_first() {
        let (_dir, proc) = proc_with_mountinfo(
            "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw\n\
             30 22 0:29 / /proc/sys/fs/binfmt_misc rw,relatime - binfmt_misc binfmt_misc rw\n\
             65 22 0:39 / /proc rw,relatime - proc proc rw,hidepid=invisible\n",
        );
        let check = hidepid(&proc);
        assert!(check.detail.contains("hidepid=invisible"), "{check:?}");
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        assert_eq!(check.status, if root { Status::Ok } else { Status::Warn });

        let (_dir, open) = proc_with_mountinfo(
            "22 1 0:21 / /proc rw - proc proc rw,hidepid=2\n65 22 0:39 / /proc rw - proc proc rw\n",
        );
        assert_eq!(hidepid(&open).detail, "/proc shows every process");
    }

    #[test]
    fn something_else_mounted_over_proc_fails() {
        let (_dir, proc) = proc_with_mountinfo(
            "22 1 0:21 / /proc rw - proc proc rw\n70 22 0:50 / /proc rw - tmpfs tmpfs rw\n",
        );
        let check = hidepid(&proc);
        assert_eq!(check.status, Status::Fail, "{check:?}");
        assert!(check.detail.contains("tmpfs"));
    }

    #[test]
    fn a_missing_proc_fails_and_is_named() {
        let empty = tempfile::tempdir().unwrap();
        let checks = checks(&ProcFs::new(empty.path().join("nothing")));
        assert_eq!(checks[0].check, "proc");
        assert_eq!(checks[0].status, Status::Fail);
        let line = failed(&checks).expect("a failure is reported");
        assert!(line.contains("proc"), "{line}");
        assert_eq!(
            failed(
                &checks[1..2]
                    .iter()
                    .map(|c| Check {
                        check: c.check,
                        status: Status::Ok,
                        detail: String::new(),
                        fix: None
                    })
                    .collect::<Vec<_>>()
            ),
            None
        );
    }

    #[test]
    fn a_child_pid_namespace_is_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("1/ns")).unwrap();
        std::os::unix::fs::symlink("pid:[4026532999]", dir.path().join("1/ns/pid")).unwrap();
        let check = pid_namespace(&ProcFs::new(dir.path()));
        assert_eq!(check.status, Status::Warn);
        assert!(
            check.detail.contains("child pid namespace") && check.detail.contains("1 processes"),
            "{check:?}"
        );
        assert!(check.fix.unwrap().contains("--pid=host"));
    }
}
