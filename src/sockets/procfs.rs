//! Every read of `/proc` that names a process or describes the `/proc` mount: a process's
//! `stat` (name, parent, start time in clock ticks), its effective uid, command line and
//! executable; which mount is in effect on `/proc` and whether it hides processes; whether this
//! `/proc` shows the whole machine or one child pid namespace.
//!
//! One implementation for the owner scan, `doctor` and the explorer's kill guard, so they cannot
//! disagree. Everything takes the proc root ([`ProcFs::new`]) so tests can stand a fixture tree
//! in for `/proc`. It must not touch sockets, the fd scan's hot loop or any output: it returns raw
//! facts (text already made valid UTF-8 with `\xNN` for bad bytes), never words for a user.

use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::text::from_os_bytes;

/// The inode of the initial (host) pid namespace, fixed by the kernel since Linux 3.19
/// (`PROC_PID_INIT_INO` in include/linux/proc_ns.h): a `/proc` whose processes live in another
/// pid namespace does not show the whole machine.
pub const INIT_PID_NS_INODE: u64 = 0xEFFF_FFFC;

/// `/proc/PID/maps` is read only when an executable's path is too long for `readlink`; this
/// bounds that read (a process with a huge address space lists many mappings).
const MAPS_LIMIT: u64 = 16 << 20;

/// Small per-process files (`stat`, `status`, `cmdline`) are read up to this size: the kernel
/// caps `cmdline` at the process's argument area, which a hostile process can make large.
const SMALL_FILE_LIMIT: u64 = 1 << 20;

/// A proc filesystem at a root path: `/proc`, or a fixture tree in tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcFs {
    root: PathBuf,
}

impl Default for ProcFs {
    fn default() -> Self {
        ProcFs::new("/proc")
    }
}

/// The fields of `/proc/PID/stat` we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// The kernel's short name (comm), as the process set it.
    pub name: String,
    pub parent_pid: u32,
    /// Field 22: when the process started, in clock ticks after boot. With the pid, the identity
    /// of a process over time: a reused pid has another start time.
    pub start_ticks: u64,
}

/// A process's executable as `/proc/PID/exe` names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exe {
    /// The path, without the kernel's " (deleted)" suffix.
    pub path: Option<String>,
    /// The file was deleted or replaced after the process started.
    pub deleted: bool,
}

/// Turns start times in clock ticks after boot into Unix times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    boot_time: Option<u64>,
    ticks_per_second: u64,
}

impl Clock {
    /// Seconds since the Unix epoch of a start time in ticks; `None` when the boot time is
    /// unknown.
    pub fn unix_time(&self, ticks: u64) -> Option<u64> {
        Some(self.boot_time? + ticks / self.ticks_per_second)
    }
}

/// The mount in effect on `/proc`, from `mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcMount {
    /// "proc", or whatever was mounted over it.
    pub fstype: String,
    /// Per-mount and filesystem options together (`rw`, `nosuid`, `hidepid=invisible`, …).
    pub options: Vec<String>,
}

impl ProcMount {
    /// The option that hides other users' processes or files, when one is set: `hidepid=` with
    /// any value but 0/off, or `subset=` (which hides everything but the pid directories).
    pub fn hiding_option(&self) -> Option<&str> {
        self.options.iter().map(String::as_str).find(|o| {
            o.strip_prefix("hidepid=")
                .is_some_and(|v| !matches!(v, "0" | "off"))
                || o.starts_with("subset=")
        })
    }

    /// Whether other users' processes are hidden from a non-root reader: `hidepid=` 1 or more.
    pub fn hides_pids(&self) -> bool {
        self.options.iter().any(|o| {
            o.strip_prefix("hidepid=")
                .is_some_and(|v| !matches!(v, "0" | "off"))
        })
    }
}

/// How much of the machine this `/proc` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidView {
    /// The host's pid namespace: every process on the machine is listed.
    Host,
    /// A child pid namespace (`unshare -p --mount-proc`, a container): processes outside it are
    /// not listed, yet may share our network namespace and hold the sockets we see.
    Child {
        /// The namespace's inode (as in `pid:[N]`).
        namespace: u64,
    },
    /// The namespace could not be read (a sandbox refusing even `/proc/self/ns`).
    Unknown,
}

impl ProcFs {
    pub fn new(root: impl Into<PathBuf>) -> ProcFs {
        ProcFs { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `ROOT/PID`.
    pub fn pid_dir(&self, pid: u32) -> PathBuf {
        self.root.join(pid.to_string())
    }

    /// Every pid listed. Fails only when the root itself cannot be listed.
    pub fn pids(&self) -> io::Result<Vec<u32>> {
        let mut pids: Vec<u32> = std::fs::read_dir(&self.root)?
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        pids.sort_unstable();
        Ok(pids)
    }

    /// Name, parent and start time; `None` when the process has gone (or the file is garbage).
    pub fn stat(&self, pid: u32) -> Option<Stat> {
        parse_stat(&read_capped(&self.pid_dir(pid).join("stat"), SMALL_FILE_LIMIT).ok()?)
    }

    /// Start time in clock ticks after boot: with the pid, which process this is.
    pub fn start_ticks(&self, pid: u32) -> Option<u64> {
        self.stat(pid).map(|s| s.start_ticks)
    }

    /// The effective uid, from `status` read as bytes: a process name with invalid UTF-8 (its
    /// `Name:` line) must not cost the uid.
    pub fn effective_uid(&self, pid: u32) -> Option<u32> {
        effective_uid(&read_capped(&self.pid_dir(pid).join("status"), SMALL_FILE_LIMIT).ok()?)
    }

    /// The arguments, split on NUL; empty for kernel threads and zombies.
    pub fn cmdline(&self, pid: u32) -> Vec<String> {
        read_capped(&self.pid_dir(pid).join("cmdline"), SMALL_FILE_LIMIT)
            .map(|b| split_cmdline(&b))
            .unwrap_or_default()
    }

    /// The executable's path. The kernel's `readlink` gives up on a path longer than a page
    /// (PATH_MAX, ENAMETOOLONG); then the path is taken from the mapping of that same file
    /// (matched by device and inode) in `maps`, which has no such limit.
    pub fn exe(&self, pid: u32) -> Exe {
        let link = self.pid_dir(pid).join("exe");
        let raw = match std::fs::read_link(&link) {
            Ok(path) => path.as_os_str().as_bytes().to_vec(),
            Err(e) if e.raw_os_error() == Some(libc::ENAMETOOLONG) => {
                match self.exe_from_maps(pid, &link) {
                    Some(path) => path,
                    None => return Exe::default(),
                }
            }
            Err(_) => return Exe::default(),
        };
        match raw.strip_suffix(b" (deleted)") {
            Some(kept) => Exe {
                path: Some(from_os_bytes(kept)),
                deleted: true,
            },
            None => Exe {
                path: Some(from_os_bytes(&raw)),
                deleted: false,
            },
        }
    }

    fn exe_from_maps(&self, pid: u32, link: &Path) -> Option<Vec<u8>> {
        use std::os::unix::fs::MetadataExt;
        // stat() follows the magic link without building a path string, so it works whatever
        // the length.
        let meta = std::fs::metadata(link).ok()?;
        let maps = read_capped(&self.pid_dir(pid).join("maps"), MAPS_LIMIT).ok()?;
        path_in_maps(&maps, meta.dev(), meta.ino())
    }

    /// Boot time (from `ROOT/stat`) and the tick rate, to turn start ticks into Unix times.
    pub fn clock(&self) -> Clock {
        let boot_time = read_capped(&self.root.join("stat"), SMALL_FILE_LIMIT)
            .ok()
            .and_then(|bytes| {
                bytes
                    .split(|&b| b == b'\n')
                    .find_map(|l| std::str::from_utf8(l.strip_prefix(b"btime ")?).ok())
                    .and_then(|v| v.trim().parse().ok())
            });
        Clock {
            boot_time,
            ticks_per_second: ticks_per_second(),
        }
    }

    /// The mount in effect on `/proc` for this process: the *last* `/proc` line of
    /// `ROOT/self/mountinfo` (a later mount hides the earlier ones); `None` when unreadable.
    pub fn proc_mount(&self) -> Option<ProcMount> {
        let text = read_capped(&self.root.join("self/mountinfo"), SMALL_FILE_LIMIT * 16).ok()?;
        proc_mount_in(&String::from_utf8_lossy(&text))
    }

    /// Whether this `/proc` lists the whole machine or only a child pid namespace. The
    /// namespace that matters is the one this proc filesystem was mounted for, which is pid 1's
    /// as listed here; when pid 1's namespace may not be read (a guarded init), our own is it if
    /// `self` here is our own pid (then this `/proc` is our namespace's).
    pub fn pid_view(&self) -> PidView {
        let read = |path: PathBuf| std::fs::read_link(path).ok().and_then(|l| ns_inode(&l));
        let namespace = read(self.root.join("1/ns/pid")).or_else(|| {
            let me = std::fs::read_link(self.root.join("self")).ok()?;
            let me: u32 = me.to_str()?.parse().ok()?;
            (me == std::process::id())
                .then(|| read(self.root.join("self/ns/pid")))
                .flatten()
        });
        match namespace {
            Some(INIT_PID_NS_INODE) => PidView::Host,
            Some(namespace) => PidView::Child { namespace },
            None => PidView::Unknown,
        }
    }
}

/// Read at most `limit` bytes of a file; more is an error, not a truncation.
fn read_capped(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::other(format!(
            "{} is larger than {limit} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
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
    let mut fields = rest.split_ascii_whitespace();
    // The first field after the name is the state (field 3); ppid is field 4, starttime 22.
    let parent_pid = fields.nth(1)?.parse().ok()?;
    let start_ticks = fields.nth(17)?.parse().ok()?;
    Some(Stat {
        name,
        parent_pid,
        start_ticks,
    })
}

/// The effective uid from `status` bytes (`Uid:\treal\teffective\tsaved\tfs`).
pub fn effective_uid(status: &[u8]) -> Option<u32> {
    let line = status
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"Uid:"))?;
    std::str::from_utf8(line)
        .ok()?
        .split_ascii_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Split a NUL-separated command line; invalid UTF-8 is kept as `\xNN`.
pub fn split_cmdline(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(b"\0").unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes.split(|&b| b == 0).map(from_os_bytes).collect()
}

/// `pid:[4026531836]` → 4026531836.
fn ns_inode(link: &Path) -> Option<u64> {
    let text = link.to_str()?;
    text.strip_prefix("pid:[")?.strip_suffix(']')?.parse().ok()
}

/// The last mount on `/proc` in a `mountinfo` text.
pub fn proc_mount_in(mountinfo: &str) -> Option<ProcMount> {
    mountinfo.lines().rev().find_map(parse_mount_line)
}

fn parse_mount_line(line: &str) -> Option<ProcMount> {
    // id parent major:minor root mount-point mount-options [optional fields...] - fstype source
    // super-options
    let (before, after) = line.split_once(" - ")?;
    let fields: Vec<&str> = before.split(' ').collect();
    if fields.get(4).copied() != Some("/proc") {
        return None;
    }
    let mut after = after.split(' ');
    let fstype = after.next()?.to_string();
    let _source = after.next();
    let super_options = after.next().unwrap_or("");
    let options = fields
        .get(5)
        .copied()
        .unwrap_or("")
        .split(',')
        .chain(super_options.split(','))
        .filter(|o| !o.is_empty())
        .map(str::to_string)
        .collect();
    Some(ProcMount { fstype, options })
}

/// The path of the mapping of file (`dev`, `ino`) in a `maps` text, as raw bytes (the kernel
/// writes a newline in a path as `\012` there; it is kept so).
fn path_in_maps(maps: &[u8], dev: u64, ino: u64) -> Option<Vec<u8>> {
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let want_dev = format!("{major:02x}:{minor:02x}");
    let want_ino = ino.to_string();
    maps.split(|&b| b == b'\n').find_map(|line| {
        // address perms offset dev inode   path (the path is padded with spaces before it)
        let mut rest = line;
        let mut fields = Vec::with_capacity(5);
        for _ in 0..5 {
            let start = rest.iter().position(|&b| b != b' ')?;
            rest = &rest[start..];
            let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
            fields.push(&rest[..end]);
            rest = &rest[end..];
        }
        let path = &rest[rest.iter().position(|&b| b != b' ')?..];
        (fields[3] == want_dev.as_bytes() && fields[4] == want_ino.as_bytes())
            .then(|| path.to_vec())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixture `/proc` with one process.
    fn fixture_with(pid: u32, stat: &[u8], status: &[u8]) -> (tempfile::TempDir, ProcFs) {
        let dir = tempfile::tempdir().unwrap();
        let pid_dir = dir.path().join(pid.to_string());
        std::fs::create_dir_all(&pid_dir).unwrap();
        std::fs::write(pid_dir.join("stat"), stat).unwrap();
        std::fs::write(pid_dir.join("status"), status).unwrap();
        std::fs::write(pid_dir.join("cmdline"), b"srv\0--port\x0080\0").unwrap();
        std::fs::write(dir.path().join("stat"), "cpu 1 2 3\nbtime 1700000000\n").unwrap();
        let proc = ProcFs::new(dir.path());
        (dir, proc)
    }

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
    fn a_fixture_proc_gives_start_ticks_uid_and_unix_start_time() {
        let (_dir, proc) = fixture_with(
            42,
            b"42 (srv) S 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 250 0 0",
            b"Name:\tsrv\nUid:\t1000\t1001\t1000\t1000\n",
        );
        let stat = proc.stat(42).unwrap();
        assert_eq!((stat.parent_pid, stat.start_ticks), (1, 250));
        assert_eq!(proc.start_ticks(42), Some(250));
        assert_eq!(proc.effective_uid(42), Some(1001));
        assert_eq!(proc.cmdline(42), ["srv", "--port", "80"]);
        let clock = proc.clock();
        assert_eq!(
            clock.unix_time(250),
            Some(1_700_000_000 + 250 / ticks_per_second())
        );
        assert_eq!(proc.stat(43), None, "no such process");
    }

    #[test]
    fn a_name_with_invalid_utf8_keeps_the_uid() {
        let (_dir, proc) = fixture_with(
            7,
            b"7 (\xff) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9 0 0",
            b"Name:\t\xff\xfeevil\nUmask:\t0022\nUid:\t0\t33\t0\t0\n",
        );
        assert_eq!(proc.effective_uid(7), Some(33));
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
    fn the_last_proc_mount_is_the_one_in_effect() {
        // A second /proc mounted over the first (as `mount -o remount` or a later mount does).
        let text = "\
22 1 0:21 / /proc rw,nosuid,nodev - proc proc rw
25 22 0:5 / /proc/sys/fs/binfmt_misc rw - binfmt_misc binfmt_misc rw
31 22 0:33 / /proc rw,relatime shared:12 - proc proc rw,hidepid=invisible,gid=4
";
        let mount = proc_mount_in(text).unwrap();
        assert_eq!(mount.fstype, "proc");
        assert!(mount.hides_pids());
        assert_eq!(mount.hiding_option(), Some("hidepid=invisible"));
        let open = proc_mount_in("22 1 0:21 / /proc rw - proc proc rw,hidepid=0\n").unwrap();
        assert!(!open.hides_pids() && open.hiding_option().is_none());
        let subset = proc_mount_in("22 1 0:21 / /proc rw - proc proc rw,subset=pid\n").unwrap();
        assert_eq!(subset.hiding_option(), Some("subset=pid"));
        assert!(!subset.hides_pids());
        assert_eq!(proc_mount_in("1 0 0:1 / / rw - ext4 /dev/sda rw\n"), None);
        assert_eq!(proc_mount_in("garbage\n\n- -\n"), None);
    }

    #[test]
    fn a_fixture_mountinfo_is_read_under_the_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("self")).unwrap();
        std::fs::write(
            dir.path().join("self/mountinfo"),
            "22 1 0:21 / /proc rw - proc proc rw\n40 22 0:40 / /proc rw - proc proc rw,hidepid=2\n",
        )
        .unwrap();
        let mount = ProcFs::new(dir.path()).proc_mount().unwrap();
        assert_eq!(mount.hiding_option(), Some("hidepid=2"));
    }

    #[test]
    fn the_pid_view_comes_from_pid_1s_namespace() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("1/ns")).unwrap();
        std::os::unix::fs::symlink("pid:[4026532500]", dir.path().join("1/ns/pid")).unwrap();
        assert_eq!(
            ProcFs::new(dir.path()).pid_view(),
            PidView::Child {
                namespace: 4026532500
            }
        );
        std::fs::remove_file(dir.path().join("1/ns/pid")).unwrap();
        std::os::unix::fs::symlink("pid:[4026531836]", dir.path().join("1/ns/pid")).unwrap();
        assert_eq!(ProcFs::new(dir.path()).pid_view(), PidView::Host);
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(ProcFs::new(empty.path()).pid_view(), PidView::Unknown);
    }

    #[test]
    fn an_exe_path_is_found_in_maps_by_device_and_inode() {
        let maps = b"55d0c0000000-55d0c0001000 r--p 00000000 fd:01 1234                       /usr/bin/a b\n\
55d0c0001000-55d0c0002000 r-xp 00001000 08:02 99     /tmp/deep/\xffprog (deleted)\n\
7ffd00000000-7ffd00001000 rw-p 00000000 00:00 0                          [stack]\n";
        let dev = libc::makedev(8, 2);
        assert_eq!(
            path_in_maps(maps, dev, 99).as_deref(),
            Some(&b"/tmp/deep/\xffprog (deleted)"[..])
        );
        assert_eq!(
            path_in_maps(maps, libc::makedev(0xfd, 1), 1234).as_deref(),
            Some(&b"/usr/bin/a b"[..])
        );
        assert_eq!(path_in_maps(maps, dev, 98), None);
        assert_eq!(path_in_maps(b"junk\n\n   \n", dev, 99), None);
    }

    #[test]
    fn reads_this_process() {
        let proc = ProcFs::default();
        let me = std::process::id();
        let stat = proc.stat(me).unwrap();
        assert!(stat.start_ticks > 0);
        // SAFETY: geteuid has no preconditions.
        assert_eq!(proc.effective_uid(me), Some(unsafe { libc::geteuid() }));
        let exe = proc.exe(me);
        assert!(exe.path.is_some() && !exe.deleted);
        assert!(proc.clock().unix_time(stat.start_ticks).is_some());
    }
}
