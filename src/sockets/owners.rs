//! Who holds a socket: a scan of `/proc/*/fd` that maps socket inodes to pids, and the details
//! of the owning processes read straight from `/proc/PID` (only for owners, only the shown
//! fields).
//!
//! The fd scan is most of a collection's cost, so it is cut to the bone: each fd link is read
//! relative to its already-open `fd` directory (`readlinkat`, no path walk per fd), only wanted
//! inodes are kept, and big scans are split over two threads.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;

use super::Owner;
use crate::text::from_os_bytes;

/// What one scan of `/proc/*/fd` found.
#[derive(Debug, Default)]
pub struct FdScan {
    /// Socket inode → every pid holding it, in ascending pid order.
    pub holders: HashMap<u64, Vec<u32>>,
    /// Processes whose fd directory could not be read (not ours and we are not root).
    pub unreadable: usize,
}

/// Below this many fds a second thread costs more than it saves.
const PARALLEL_FDS: usize = 4096;

/// Scan every process's fds for the socket inodes in `wanted`. Fails only when `/proc` itself
/// cannot be listed; a process that exits mid-scan is skipped.
pub fn scan(wanted: &HashSet<u64>) -> io::Result<FdScan> {
    let mut pids: Vec<u32> = std::fs::read_dir("/proc")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();

    let mut result = FdScan::default();
    // Open each fd directory and list it; the links are read afterwards, possibly in parallel.
    let mut dirs: Vec<(u32, File, Vec<u32>)> = Vec::with_capacity(pids.len());
    for pid in pids {
        let path = format!("/proc/{pid}/fd");
        let listing = match std::fs::read_dir(&path) {
            Ok(listing) => listing,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                result.unreadable += 1;
                continue;
            }
            Err(_) => continue, // exited, or a kernel thread's empty table
        };
        let Ok(dir) = File::open(&path) else { continue };
        let fds: Vec<u32> = listing
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        if !fds.is_empty() {
            dirs.push((pid, dir, fds));
        }
    }

    let total: usize = dirs.iter().map(|(_, _, fds)| fds.len()).sum();
    let Links { found, denied } = if total < PARALLEL_FDS {
        read_links(&dirs, 0, total, wanted)
    } else {
        let half = total / 2;
        std::thread::scope(|s| {
            let second = s.spawn(|| read_links(&dirs, half, total, wanted));
            let mut links = read_links(&dirs, 0, half, wanted);
            let rest = second.join().unwrap_or_default();
            links.found.extend(rest.found);
            links.denied.extend(rest.denied);
            links
        })
    };
    // A process whose fd links cannot be read (even root is refused by some sandboxes and
    // security modules) may hold any socket: its owners are hidden, not the kernel's.
    let mut denied = denied;
    denied.sort_unstable();
    denied.dedup();
    result.unreadable += denied.len();
    for (inode, pid) in found {
        let pids = result.holders.entry(inode).or_default();
        if !pids.contains(&pid) {
            pids.push(pid);
        }
    }
    for pids in result.holders.values_mut() {
        pids.sort_unstable();
    }
    Ok(result)
}

/// Read the fd links numbered `from..to` across all directories (counting fds in order), keeping
/// those that point at a wanted socket.
/// What one pass over fd links found: (socket inode, pid) pairs, and the pids whose links could
/// not be read.
#[derive(Default)]
struct Links {
    found: Vec<(u64, u32)>,
    denied: Vec<u32>,
}

fn read_links(
    dirs: &[(u32, File, Vec<u32>)],
    from: usize,
    to: usize,
    wanted: &HashSet<u64>,
) -> Links {
    let mut found = Vec::new();
    let mut denied = Vec::new();
    let mut index = 0;
    let mut buf = [0u8; 64];
    let mut name = [0u8; 12];
    for (pid, dir, fds) in dirs {
        if index + fds.len() <= from {
            index += fds.len();
            continue;
        }
        for &fd in fds {
            if index >= to {
                return Links { found, denied };
            }
            if index >= from {
                fd_name(fd, &mut name);
                // SAFETY: `dir` is an open directory, `name` NUL-terminated, `buf` writable for
                // its full length; readlinkat writes at most that many bytes.
                let n = unsafe {
                    libc::readlinkat(
                        dir.as_raw_fd(),
                        name.as_ptr().cast(),
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                    )
                };
                if n > 0 {
                    if let Some(inode) = socket_inode(&buf[..n as usize]) {
                        if wanted.contains(&inode) {
                            found.push((inode, *pid));
                        }
                    }
                } else if n < 0
                    && io::Error::last_os_error().raw_os_error() == Some(libc::EACCES)
                    && denied.last() != Some(pid)
                {
                    denied.push(*pid);
                }
            }
            index += 1;
        }
    }
    Links { found, denied }
}

/// Write `fd` as a NUL-terminated decimal file name into `out` (no allocation per fd).
fn fd_name(mut fd: u32, out: &mut [u8; 12]) {
    let mut digits = [0u8; 10];
    let mut len = 0;
    loop {
        digits[len] = b'0' + (fd % 10) as u8;
        len += 1;
        fd /= 10;
        if fd == 0 {
            break;
        }
    }
    for i in 0..len {
        out[i] = digits[len - 1 - i];
    }
    out[len] = 0;
}

/// `socket:[12345]` → 12345.
pub fn socket_inode(link: &[u8]) -> Option<u64> {
    let digits = link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Whether `/proc` is mounted with `hidepid`, which hides other users' processes entirely (they
/// are not even listed, so the scan cannot count them).
pub fn proc_hides_pids() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|text| mount_hides_pids(&text))
        .unwrap_or(false)
}

fn mount_hides_pids(mountinfo: &str) -> bool {
    mountinfo.lines().any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.get(4) == Some(&"/proc")
            && line.split([' ', ',']).any(|opt| {
                opt.strip_prefix("hidepid=")
                    .is_some_and(|v| !matches!(v, "0" | "off"))
            })
    })
}

/// Turns process start times (clock ticks after boot) into Unix times.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    boot_time: Option<u64>,
    ticks_per_second: u64,
}

impl Clock {
    pub fn read() -> Clock {
        let boot_time = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())
        });
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        Clock {
            boot_time,
            ticks_per_second: u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100),
        }
    }

    fn unix_time(&self, ticks: u64) -> Option<u64> {
        Some(self.boot_time? + ticks / self.ticks_per_second)
    }
}

/// The fields of `/proc/PID/stat` we show: name, parent and start time (in ticks after boot).
#[derive(Debug, PartialEq, Eq)]
pub struct Stat {
    pub name: String,
    pub parent_pid: u32,
    pub start_ticks: u64,
}

/// Parse `/proc/PID/stat`. The name sits in parentheses and may itself hold `)`, spaces or
/// newlines, so it ends at the *last* `)`.
pub fn parse_stat(bytes: &[u8]) -> Option<Stat> {
    let open = bytes.iter().position(|&b| b == b'(')?;
    let close = bytes.iter().rposition(|&b| b == b')')?;
    if close < open {
        return None;
    }
    let name = from_os_bytes(&bytes[open + 1..close]);
    let rest = std::str::from_utf8(bytes.get(close + 1..)?).ok()?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is the state (field 3); ppid is field 4, starttime field 22.
    Some(Stat {
        name,
        parent_pid: fields.get(1)?.parse().ok()?,
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

/// Read an owner's details. `None` when the process has gone.
pub fn read_owner(pid: u32, clock: &Clock, users: &mut UserNames) -> Option<(Owner, u64)> {
    let dir = format!("/proc/{pid}");
    let stat = parse_stat(&std::fs::read(format!("{dir}/stat")).ok()?)?;
    let uid = std::fs::read_to_string(format!("{dir}/status"))
        .ok()
        .and_then(|s| effective_uid(&s));
    let cmdline = std::fs::read(format!("{dir}/cmdline"))
        .map(|b| split_cmdline(&b))
        .unwrap_or_default();
    let (exe, exe_deleted) = match std::fs::read_link(format!("{dir}/exe")) {
        Ok(path) => {
            let text = from_os_bytes(path.as_os_str().as_bytes());
            match text.strip_suffix(" (deleted)") {
                Some(kept) => (Some(kept.to_string()), true),
                None => (Some(text), false),
            }
        }
        Err(_) => (None, false),
    };
    let owner = Owner {
        pid,
        name: stat.name,
        uid,
        user: uid.and_then(|u| users.name(u)),
        exe,
        exe_deleted,
        cmdline,
        start_time: clock.unix_time(stat.start_ticks),
        parent_pid: Some(stat.parent_pid).filter(|&p| p != 0),
    };
    Some((owner, stat.start_ticks))
}

/// The effective uid from `/proc/PID/status` (`Uid: real effective saved fs`).
fn effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn split_cmdline(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(b"\0").unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes.split(|&b| b == 0).map(from_os_bytes).collect()
}

/// uid → user name through the system's resolver (NSS: files, LDAP, systemd-userdb), cached.
#[derive(Debug, Default)]
pub struct UserNames {
    cache: HashMap<u32, Option<String>>,
}

impl UserNames {
    pub fn name(&mut self, uid: u32) -> Option<String> {
        self.cache
            .entry(uid)
            .or_insert_with(|| lookup_user(uid))
            .clone()
    }
}

fn lookup_user(uid: u32) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    // SAFETY: passwd is plain data filled in by getpwuid_r; `buf` backs its strings and lives
    // until we have copied the name out.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            uid,
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        );
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        Some(from_os_bytes(
            std::ffi::CStr::from_ptr(pwd.pw_name).to_bytes(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_names_may_hold_parentheses_and_newlines() {
        let stat = b"42 (a) b\n)) S 7 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12345 0 0";
        let parsed = parse_stat(stat).unwrap();
        assert_eq!(parsed.name, "a) b\n)");
        assert_eq!(parsed.parent_pid, 7);
        assert_eq!(parsed.start_ticks, 12345);
    }

    #[test]
    fn garbage_stat_is_none_not_a_panic() {
        for junk in [
            &b""[..],
            b")(",
            b"1 (x",
            b"1 (x) S",
            b"1 (x) S nope",
            b"\xff\xfe",
        ] {
            assert_eq!(parse_stat(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn reads_this_process() {
        let clock = Clock::read();
        let (me, ticks) =
            read_owner(std::process::id(), &clock, &mut UserNames::default()).unwrap();
        assert_eq!(me.pid, std::process::id());
        assert!(ticks > 0 && me.start_time.is_some());
        assert!(me.exe.is_some() && !me.exe_deleted);
        // SAFETY: geteuid has no preconditions.
        assert_eq!(me.uid, Some(unsafe { libc::geteuid() }));
    }

    #[test]
    fn fd_names_are_decimal_and_nul_terminated() {
        let mut out = [0xffu8; 12];
        fd_name(0, &mut out);
        assert_eq!(&out[..2], b"0\0");
        fd_name(4_294_967_295, &mut out);
        assert_eq!(&out[..11], b"4294967295\0");
    }

    #[test]
    fn socket_links_and_others() {
        assert_eq!(socket_inode(b"socket:[123]"), Some(123));
        assert_eq!(socket_inode(b"pipe:[123]"), None);
        assert_eq!(socket_inode(b"socket:[12x]"), None);
        assert_eq!(socket_inode(b"/dev/null"), None);
    }

    #[test]
    fn cmdline_splits_on_nul() {
        assert_eq!(
            split_cmdline(b"nginx\0-g\0daemon off;\0"),
            ["nginx", "-g", "daemon off;"]
        );
        assert!(split_cmdline(b"").is_empty());
        // The invalid byte is kept (not the text \xff) and shown as \xff.
        let args = split_cmdline(b"a\xffb\0");
        assert_eq!(crate::text::escape(&args[0]), "a\\xffb");
        assert_eq!(&*crate::text::to_os_bytes(&args[0]), b"a\xffb");
    }

    #[test]
    fn hidepid_is_read_from_mount_options() {
        let hidden = "22 1 0:21 / /proc rw,nosuid - proc proc rw,hidepid=invisible\n";
        let open = "22 1 0:21 / /proc rw,nosuid - proc proc rw\n";
        let off = "22 1 0:21 / /proc rw - proc proc rw,hidepid=0\n";
        assert!(mount_hides_pids(hidden));
        assert!(!mount_hides_pids(open));
        assert!(!mount_hides_pids(off));
    }
}
