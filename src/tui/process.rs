//! Ending a socket's process from the explorer, after the user confirmed it, and only while the
//! pid still names the process that was shown (a pid reused since the last refresh is never hit):
//! - Linux: SIGTERM, guarded by the start time in clock ticks from `/proc` (the collector's own
//!   reader), so a pid reused even one tick later is refused;
//! - macOS: SIGTERM, guarded by the start time in whole seconds as sysinfo reads it;
//! - Windows: sysinfo's kill, which is TerminateProcess (Windows has no polite signal for a
//!   console-less server: like `Stop-Process -Force`), guarded the same way.
//!
//! Owns nothing else of the process.

use super::state::Target;

/// Ask the target to end, unless its pid now belongs to another process or (on Linux) it no
/// longer holds the socket. `start_ticks` is what the Linux collector recorded, `start_time`
/// (seconds since the epoch) what the portable one did; each OS compares the one it can read
/// now. Returns the notice shown to the user.
#[cfg(target_os = "linux")]
pub(super) fn terminate(target: &Target) -> String {
    by_ticks(&crate::sockets::procfs::ProcFs::default(), target)
}

#[cfg(not(target_os = "linux"))]
pub(super) fn terminate(target: &Target) -> String {
    by_start_time(target.pid, target.start_time)
}

/// Linux: the start time in clock ticks (as `proc` shows it now) must equal the one recorded
/// with the socket, and the process must still hold the socket: the collector does not re-read
/// a connection's holder on each refresh, so one handed to another process since is caught
/// here. Without a recorded start time nothing is signalled.
#[cfg(target_os = "linux")]
fn by_ticks(proc: &crate::sockets::procfs::ProcFs, target: &Target) -> String {
    let pid = target.pid;
    let Some(expected) = target.start_ticks else {
        return unknown_start(pid);
    };
    match proc.start_ticks(pid) {
        Some(now) if now == expected => {}
        Some(_) => return another_process(pid),
        None => return gone(pid),
    }
    match crate::sockets::holds_socket(proc, pid, target.inode) {
        Some(true) => end(pid),
        Some(false) => format!(
            "pid {pid} no longer holds this socket (closed, or handed to another process): nothing was signalled; press r to read its owners again"
        ),
        None => gone(pid),
    }
}

/// macOS and Windows: sysinfo's start time (whole seconds) must equal the recorded one. A pid
/// reused within the same second is not told apart: that is the most this OS's reader gives.
#[cfg(any(test, not(target_os = "linux")))]
fn by_start_time(pid: u32, start_time: Option<u64>) -> String {
    let Some(expected) = start_time else {
        return unknown_start(pid);
    };
    match sysinfo_start_time(pid) {
        Some(now) if now == expected => {}
        Some(_) => return another_process(pid),
        None => return gone(pid),
    }
    end(pid)
}

fn unknown_start(pid: u32) -> String {
    format!("pid {pid}'s start time is unknown, so it cannot be told from a reused pid: nothing was signalled")
}

fn another_process(pid: u32) -> String {
    format!("pid {pid} is now another process: nothing was signalled")
}

fn gone(pid: u32) -> String {
    format!("pid {pid} has exited or cannot be checked: nothing was signalled")
}

#[cfg(unix)]
fn end(pid: u32) -> String {
    let Ok(raw) = libc::pid_t::try_from(pid) else {
        return format!("pid {pid} is out of range: nothing was signalled");
    };
    // SAFETY: kill(2) with a plain pid and signal number.
    if unsafe { libc::kill(raw, libc::SIGTERM) } == 0 {
        format!("sent SIGTERM to pid {pid}")
    } else {
        let err = std::io::Error::last_os_error();
        let fix = if err.raw_os_error() == Some(libc::EPERM) {
            ": run as its user or root"
        } else {
            ""
        };
        format!("cannot signal pid {pid}: {err}{fix}")
    }
}

/// sysinfo's kill is TerminateProcess: immediate, like `Stop-Process -Force`.
#[cfg(not(unix))]
fn end(pid: u32) -> String {
    let Some(system) = one_process(pid) else {
        return format!("pid {pid} has exited: nothing was terminated");
    };
    match system.process(sysinfo::Pid::from_u32(pid)).map(sysinfo::Process::kill) {
        Some(true) => format!("terminated pid {pid}"),
        Some(false) => format!(
            "cannot terminate pid {pid}: access denied or already ending (another user's process needs an Administrator prompt)"
        ),
        None => format!("pid {pid} has exited: nothing was terminated"),
    }
}

/// Start time of a process in seconds since the epoch, as sysinfo reads it on this OS.
#[cfg(any(test, not(target_os = "linux")))]
fn sysinfo_start_time(pid: u32) -> Option<u64> {
    let system = one_process(pid)?;
    let started = system.process(sysinfo::Pid::from_u32(pid))?.start_time();
    (started > 0).then_some(started)
}

/// A process table holding just `pid`, with nothing beyond what every refresh reads.
#[cfg(any(test, not(target_os = "linux")))]
fn one_process(pid: u32) -> Option<sysinfo::System> {
    use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};
    let mut system = System::new();
    let wanted = [Pid::from_u32(pid)];
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&wanted),
        true,
        ProcessRefreshKind::nothing().without_tasks(),
    );
    system.process(wanted[0]).is_some().then_some(system)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockets::procfs::ProcFs;

    fn target(pid: u32, inode: u64, start_ticks: Option<u64>) -> Target {
        Target {
            pid,
            inode,
            start_ticks,
            start_time: None,
        }
    }

    #[test]
    fn a_reused_pid_is_not_signalled() {
        let me = std::process::id();
        let msg = by_ticks(&ProcFs::default(), &target(me, 1, Some(1)));
        assert!(msg.contains("another process"), "{msg}");
    }

    /// A fixture /proc where `pid` started at `ticks` and holds socket 77 at fd 3.
    fn proc_with(pid: u32, ticks: u64) -> (tempfile::TempDir, ProcFs) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(format!("{pid}/fd"))).unwrap();
        std::fs::write(
            dir.path().join(format!("{pid}/stat")),
            format!("{pid} (srv) S 1 {pid} {pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {ticks} 0 0"),
        )
        .unwrap();
        std::os::unix::fs::symlink("socket:[77]", dir.path().join(format!("{pid}/fd/3"))).unwrap();
        let proc = ProcFs::new(dir.path());
        (dir, proc)
    }

    #[test]
    fn a_pid_reused_one_tick_later_is_refused() {
        // Above the kernel's highest possible pid (2^22): should the guard wrongly pass, the
        // signal reaches nobody.
        let pid = 4_194_400;
        let (_dir, proc) = proc_with(pid, 100_001);
        let msg = by_ticks(&proc, &target(pid, 77, Some(100_000)));
        assert!(msg.contains("another process"), "{msg}");
        let msg = by_ticks(&proc, &target(pid, 77, None));
        assert!(msg.contains("nothing was signalled"), "{msg}");
        // The same start time passes the guard and goes on to kill(2), which finds no process.
        let msg = by_ticks(&proc, &target(pid, 77, Some(100_001)));
        assert!(msg.starts_with("cannot signal"), "{msg}");
    }

    #[test]
    fn a_process_that_no_longer_holds_the_socket_is_not_signalled() {
        let pid = 4_194_401;
        let (_dir, proc) = proc_with(pid, 100_001);
        let msg = by_ticks(&proc, &target(pid, 78, Some(100_001)));
        assert!(msg.contains("no longer holds this socket"), "{msg}");
        assert!(msg.contains("nothing was signalled"), "{msg}");
    }

    /// The same on a real process: a child that holds no socket is not signalled for one.
    #[test]
    fn a_live_process_is_signalled_only_for_a_socket_it_holds() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let inode = {
            use std::os::{fd::AsRawFd, unix::fs::MetadataExt};
            let link = format!("/proc/self/fd/{}", listener.as_raw_fd());
            std::fs::metadata(link).unwrap().ino()
        };
        let proc = ProcFs::default();
        assert_eq!(
            crate::sockets::holds_socket(&proc, std::process::id(), inode),
            Some(true)
        );
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let ticks = proc.start_ticks(child.id());
        let msg = by_ticks(&proc, &target(child.id(), inode, ticks));
        assert!(msg.contains("no longer holds this socket"), "{msg}");
        assert!(child.try_wait().unwrap().is_none(), "signalled");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// The guard macOS and Windows use, run here on a real process: sysinfo's start time of a
    /// child we started, a recorded time one second off refused, the right one let through.
    #[test]
    fn the_start_time_guard_refuses_another_second_and_passes_the_same() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let pid = child.id();
        let started = sysinfo_start_time(pid).expect("the child's start time");
        let msg = by_start_time(pid, Some(started - 1));
        assert!(msg.contains("another process"), "{msg}");
        assert!(
            child.try_wait().unwrap().is_none(),
            "signalled despite the guard"
        );
        let msg = by_start_time(pid, None);
        assert!(msg.contains("nothing was signalled"), "{msg}");
        let msg = by_start_time(pid, Some(started));
        assert_eq!(msg, format!("sent SIGTERM to pid {pid}"));
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGTERM));
    }

    #[test]
    fn an_exited_pid_is_not_signalled() {
        let mut child = std::process::Command::new("true").spawn().expect("true");
        let pid = child.id();
        child.wait().unwrap();
        let msg = by_start_time(pid, Some(1));
        assert!(msg.contains("nothing was signalled"), "{msg}");
    }
}
