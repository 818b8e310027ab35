//! doctor's checks on macOS and Windows: what the portable collector sees at this privilege level
//! (Administrator on Windows; root on macOS, which hides other users' sockets without it), and
//! what portscope does not read on this OS at all.

use super::{Check, Status};
use crate::sockets::portable;

/// This machine's checks.
pub(super) fn current() -> Vec<Check> {
    vec![privileges(), collector(), not_read()]
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

/// What the Linux build reads and this one does not: said once here rather than discovered.
fn not_read() -> Check {
    let firewall = if cfg!(windows) {
        "Windows Firewall"
    } else {
        "pf"
    };
    Check {
        check: "facts",
        status: Status::Warn,
        detail: format!(
            "not available on this OS: package and integrity, service unit, container and pod, ancestry (each fact says \"unknown (not available on this OS)\"); `reach` does not read the {firewall} rules, so it gives no firewall verdict"
        ),
        fix: None,
    }
}
