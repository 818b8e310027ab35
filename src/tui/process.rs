//! Ending a socket's process from the explorer, after the user confirmed it: a polite SIGTERM on
//! Unix, TerminateProcess on Windows (which has no polite signal for a console-less server). In
//! both cases only if the pid still names the process that was shown (same start time), so a
//! pid reused since the last refresh is never hit. Owns nothing else of the process.

/// Ask `pid` to end, unless it now belongs to another process (its start time changed). Returns
/// the notice shown to the user.
#[allow(dead_code)] // not wired yet: see mod.rs
pub(super) fn terminate(pid: u32, start_time: Option<u64>) -> String {
    if let Some(expected) = start_time {
        match process_start_time(pid) {
            Some(now) if expected.abs_diff(now) <= 2 => {}
            Some(_) => return format!("pid {pid} is now another process: nothing was signalled"),
            None => {
                return format!("pid {pid} has exited or cannot be checked: nothing was signalled")
            }
        }
    }
    end(pid)
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

/// Start time of a process in seconds since the epoch, from /proc.
#[cfg(target_os = "linux")]
fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let ticks: u64 = rest.split(' ').nth(19)?.parse().ok()?;
    let boot: u64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| boot + ticks / hz as u64)
}

/// Start time of a process in seconds since the epoch, as sysinfo reads it on this OS.
#[cfg(not(target_os = "linux"))]
fn process_start_time(pid: u32) -> Option<u64> {
    let system = one_process(pid)?;
    let started = system.process(sysinfo::Pid::from_u32(pid))?.start_time();
    (started > 0).then_some(started)
}

/// A process table holding just `pid`, with nothing beyond what every refresh reads.
#[cfg(not(target_os = "linux"))]
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

    #[test]
    fn our_own_start_time_is_read() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let started = process_start_time(std::process::id()).expect("own start time");
        assert!(
            started <= now + 1 && now - started < 3600,
            "{started} vs {now}"
        );
    }

    #[test]
    fn a_reused_pid_is_not_signalled() {
        let me = std::process::id();
        let msg = terminate(me, Some(1));
        assert!(msg.contains("another process"), "{msg}");
    }
}
