//! Who holds a socket: a scan of `/proc/*/fd` that maps socket inodes to the (pid, fd) pairs
//! holding them, a cheap check that a remembered pair still holds its socket, and the details of
//! the owning processes (read through [`ProcFs`], only for owners).
//!
//! The fd scan is most of a collection's cost, so it is cut to the bone: each fd link is read
//! relative to its already-open `fd` directory (`readlinkat`, no path walk per fd), only wanted
//! inodes are kept, and big scans are split over two threads. A rescan may take on trust what
//! the last one read in a process that is still the same one ([`scan`]); the collector decides
//! when. It must not decide what an ownerless socket means either; the collector does.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::procfs::{Clock, ProcFs};
use super::Owner;

/// One process's descriptor for a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Holder {
    pub pid: u32,
    pub fd: u32,
}

/// The holders of one socket: one, or a handful for a pre-fork server, kept inline.
pub type Holders = smallvec::SmallVec<[Holder; 2]>;

/// A wanted socket a process held at one of its fds when a scan read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HeldFd {
    pub pid: u32,
    pub fd: u32,
    pub inode: u64,
}

/// What one scan of `/proc/*/fd` found.
#[derive(Debug, Default)]
pub struct FdScan {
    /// Socket inode → every (pid, fd) holding it, in ascending pid order, one fd per pid.
    pub holders: HashMap<u64, Holders>,
    /// What the next scan may take on trust (see [`scan`]).
    pub remembered: Remembered,
    /// Processes whose fd directory or links could not be read (not ours and we are not root,
    /// or a sandbox refusing even root).
    pub unreadable: usize,
}

/// What a scan found that a later one may take on trust (see [`scan`]).
#[derive(Debug, Default)]
pub struct Remembered {
    /// Every fd found holding a wanted socket, in (pid, fd) order.
    pub held: Vec<HeldFd>,
    /// How many fds each process listed had open, in pid order; 0 when the kernel does not say
    /// (before Linux 6.2).
    pub open_fds: Vec<(u32, u64)>,
}

impl Remembered {
    /// Forget every process but those `keep` accepts.
    pub fn retain_pids(&mut self, keep: impl Fn(u32) -> bool) {
        self.held.retain(|h| keep(h.pid));
        self.open_fds.retain(|&(pid, _)| keep(pid));
    }

    /// The remembered fds of `pid`, in fd order.
    fn held_by(&self, pid: u32) -> &[HeldFd] {
        let from = self.held.partition_point(|h| h.pid < pid);
        let to = from + self.held[from..].partition_point(|h| h.pid == pid);
        &self.held[from..to]
    }

    fn open_fds_of(&self, pid: u32) -> Option<u64> {
        let at = self.open_fds.binary_search_by_key(&pid, |&(p, _)| p).ok()?;
        Some(self.open_fds[at].1)
    }
}

/// Below this many fds a second thread costs more than it saves.
const PARALLEL_FDS: usize = 4096;

/// One process's open `fd` directory, its fds, and what the last scan found in them.
struct FdDir<'a> {
    pid: u32,
    dir: File,
    fds: Vec<u32>,
    /// The fds of this process that held a wanted socket last time, by fd (see [`scan`]).
    trusted: &'a [HeldFd],
}

/// Scan every process's fds for the socket inodes in `wanted`. Fails only when the proc root
/// itself cannot be listed; a process that exits mid-scan is skipped.
///
/// `trusted` is what an earlier scan found ([`FdScan::remembered`]), of the processes the caller
/// knows are the same ones still (same pid and start time). In those:
/// - a trusted fd still open, whose socket is still wanted, is taken to hold it still, without
///   reading its link again;
/// - a process with as many open fds as then is taken to have the same fds: only its trusted
///   ones are looked at. Listing a server's 20,000 fds costs a third of reading their links.
///
/// Every other fd is read. So an fd closed and opened again on another socket, or a socket
/// handed in while another fd closed, is missed while the first socket lives on in another
/// process. The caller scans with nothing trusted now and then, and as soon as a wanted socket
/// is left without an owner.
pub fn scan(proc: &ProcFs, wanted: &HashSet<u64>, trusted: &Remembered) -> io::Result<FdScan> {
    let pids = proc.pids()?;
    let mut result = FdScan::default();
    // Open each fd directory and list it; the links are read afterwards, possibly in parallel.
    let mut dirs: Vec<FdDir> = Vec::with_capacity(pids.len());
    for pid in pids {
        let path = proc.pid_dir(pid).join("fd");
        let dir = match File::open(&path) {
            Ok(dir) => dir,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                result.unreadable += 1;
                continue;
            }
            Err(_) => continue, // exited
        };
        // Since Linux 6.2 the directory's size is the number of fds open.
        let open_fds = dir.metadata().map_or(0, |m| m.len());
        let held = trusted.held_by(pid);
        let fds: Vec<u32> =
            if open_fds > 0 && !held.is_empty() && trusted.open_fds_of(pid) == Some(open_fds) {
                held.iter().map(|h| h.fd).collect()
            } else {
                match std::fs::read_dir(&path) {
                    Ok(listing) => listing
                        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                        .collect(),
                    Err(_) => continue,
                }
            };
        result.remembered.open_fds.push((pid, open_fds));
        if !fds.is_empty() {
            dirs.push(FdDir {
                pid,
                dir,
                fds,
                trusted: held,
            });
        }
    }

    let total: usize = dirs.iter().map(|d| d.fds.len()).sum();
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
    result.remembered.held = found
        .iter()
        .map(|&(inode, h)| HeldFd {
            pid: h.pid,
            fd: h.fd,
            inode,
        })
        .collect();
    // Already in pid order, and in fd order as `/proc` lists them; the sort only makes sure.
    result.remembered.held.sort_unstable();
    for (inode, holder) in found {
        let holders = result.holders.entry(inode).or_default();
        // A process holding one socket twice (dup) is one owner: keep its first fd.
        if !holders.iter().any(|h| h.pid == holder.pid) {
            holders.push(holder);
        }
    }
    for holders in result.holders.values_mut() {
        holders.sort_unstable();
    }
    Ok(result)
}

/// What one pass over fd links found: (socket inode, holder) pairs, and the pids whose links
/// could not be read.
#[derive(Default)]
struct Links {
    found: Vec<(u64, Holder)>,
    denied: Vec<u32>,
}

/// Read the fd links numbered `from..to` across all directories (counting fds in order), keeping
/// those that point at a wanted socket.
fn read_links(dirs: &[FdDir], from: usize, to: usize, wanted: &HashSet<u64>) -> Links {
    let mut found = Vec::new();
    let mut denied = Vec::new();
    let mut index = 0;
    let mut buf = [0u8; 64];
    let mut name = [0u8; 12];
    for d in dirs {
        if index + d.fds.len() <= from {
            index += d.fds.len();
            continue;
        }
        let pid = d.pid;
        for &fd in &d.fds {
            if index >= to {
                return Links { found, denied };
            }
            if index >= from {
                let remembered = d.trusted.binary_search_by_key(&fd, |h| h.fd).ok();
                let read = match remembered.map(|at| d.trusted[at].inode) {
                    // Trusted, and its socket still wanted: not read again.
                    Some(inode) if wanted.contains(&inode) => Ok(Some(inode)),
                    _ => read_socket_link(&d.dir, fd, &mut name, &mut buf),
                };
                match read {
                    Ok(Some(inode)) if wanted.contains(&inode) => {
                        found.push((inode, Holder { pid, fd }));
                    }
                    Err(e)
                        if e.raw_os_error() == Some(libc::EACCES)
                            && denied.last() != Some(&pid) =>
                    {
                        denied.push(pid);
                    }
                    _ => {}
                }
            }
            index += 1;
        }
    }
    Links { found, denied }
}

/// The socket inode fd `fd` in the open fd directory `dir` points at; `Ok(None)` when it is not
/// a socket.
fn read_socket_link(
    dir: &File,
    fd: u32,
    name: &mut [u8; 12],
    buf: &mut [u8; 64],
) -> io::Result<Option<u64>> {
    fd_name(fd, name);
    // SAFETY: `dir` is an open directory, `name` NUL-terminated, `buf` writable for its full
    // length; readlinkat writes at most that many bytes.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            name.as_ptr().cast(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(socket_inode(&buf[..n as usize]))
}

/// Whether each remembered holder still holds its socket: `pairs` are (inode, holder), grouped
/// by pid (sorted). One `fd` directory is opened per pid and one link read per pair, far less
/// than a scan of every process. False as soon as one pair fails: the memory is out of date (an
/// fd handed to another process and closed here, a closed fd reused for another file).
pub fn still_held(proc: &ProcFs, pairs: &[(u64, Holder)]) -> bool {
    let mut name = [0u8; 12];
    let mut buf = [0u8; 64];
    let mut open: Option<(u32, File)> = None;
    for &(inode, holder) in pairs {
        if open.as_ref().is_none_or(|(pid, _)| *pid != holder.pid) {
            match File::open(proc.pid_dir(holder.pid).join("fd")) {
                Ok(dir) => open = Some((holder.pid, dir)),
                Err(_) => return false,
            }
        }
        let Some((_, dir)) = &open else { return false };
        match read_socket_link(dir, holder.fd, &mut name, &mut buf) {
            Ok(Some(found)) if found == inode => {}
            _ => return false,
        }
    }
    true
}

/// Whether process `pid` holds socket `inode` now (one of its fds points at it); `None` when
/// its fds cannot be read (it exited, or they are not ours to see). What the explorer asks just
/// before it signals a socket's process, so a socket handed to another process since the last
/// refresh does not get the wrong one ended.
pub fn holds_socket(proc: &ProcFs, pid: u32, inode: u64) -> Option<bool> {
    let path = proc.pid_dir(pid).join("fd");
    let dir = File::open(&path).ok()?;
    let mut name = [0u8; 12];
    let mut buf = [0u8; 64];
    for entry in std::fs::read_dir(&path).ok()? {
        let Some(fd) = entry
            .ok()?
            .file_name()
            .to_str()
            .and_then(|n| n.parse().ok())
        else {
            continue;
        };
        match read_socket_link(&dir, fd, &mut name, &mut buf) {
            Ok(Some(found)) if found == inode => return Some(true),
            Err(e) if e.raw_os_error() == Some(libc::EACCES) => return None,
            _ => {} // another file, or an fd closed while we looked
        }
    }
    Some(false)
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

/// Read an owner's details, with its start time in clock ticks. `None` when the process has
/// gone.
pub fn read_owner(proc: &ProcFs, pid: u32, clock: &Clock, users: &mut UserNames) -> Option<Owner> {
    let stat = proc.stat(pid)?;
    let uid = proc.effective_uid(pid);
    let exe = proc.exe(pid);
    Some(Owner {
        pid,
        name: stat.name,
        uid,
        user: uid.and_then(|u| users.name(u)),
        exe: exe.path,
        exe_deleted: exe.deleted,
        cmdline: proc.cmdline(pid),
        start_time: clock.unix_time(stat.start_ticks),
        start_ticks: Some(stat.start_ticks),
        parent_pid: Some(stat.parent_pid).filter(|&p| p != 0),
    })
}

/// uid → user name through the system's resolver (NSS: files, LDAP, systemd-userdb), cached;
/// `/etc/passwd` read directly where NSS cannot be used (see [`super::passwd`]).
#[derive(Debug, Default)]
pub struct UserNames {
    cache: HashMap<u32, Option<String>>,
    /// `/etc/passwd`, read once on the first miss of the resolver.
    files: Option<std::collections::HashMap<u32, String>>,
    /// The names as sockets hold them: one copy per user, however many sockets.
    shared: HashMap<u32, Option<std::sync::Arc<str>>>,
}

impl UserNames {
    /// [`UserNames::name`], as one copy shared by every caller asking for `uid`.
    pub fn shared_name(&mut self, uid: u32) -> Option<std::sync::Arc<str>> {
        if let Some(name) = self.shared.get(&uid) {
            return name.clone();
        }
        let name: Option<std::sync::Arc<str>> = self.name(uid).map(Into::into);
        self.shared.insert(uid, name.clone());
        name
    }

    pub fn name(&mut self, uid: u32) -> Option<String> {
        if let Some(known) = self.cache.get(&uid) {
            return known.clone();
        }
        let name = lookup_user(uid).or_else(|| {
            self.files
                .get_or_insert_with(|| super::passwd::read_users(Path::new("/etc/passwd")))
                .get(&uid)
                .cloned()
        });
        self.cache.insert(uid, name.clone());
        name
    }
}

/// A statically linked glibc cannot safely load the host's NSS modules: the static build asks
/// only the passwd file.
#[cfg(target_feature = "crt-static")]
fn lookup_user(_uid: u32) -> Option<String> {
    None
}

#[cfg(not(target_feature = "crt-static"))]
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
        Some(crate::text::from_os_bytes(
            std::ffi::CStr::from_ptr(pwd.pw_name).to_bytes(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let proc = ProcFs::default();
        let me = read_owner(
            &proc,
            std::process::id(),
            &proc.clock(),
            &mut UserNames::default(),
        )
        .unwrap();
        assert_eq!(me.pid, std::process::id());
        assert!(me.start_ticks.is_some_and(|t| t > 0) && me.start_time.is_some());
        assert!(me.exe.is_some() && !me.exe_deleted);
        // SAFETY: geteuid has no preconditions.
        assert_eq!(me.uid, Some(unsafe { libc::geteuid() }));
    }

    /// A fixture `/proc` whose pid 10 has fd 3 on socket 222 and fd 4 on a pipe.
    fn one_process_tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let fd = dir.path().join("10/fd");
        std::fs::create_dir_all(&fd).unwrap();
        std::os::unix::fs::symlink("socket:[222]", fd.join("3")).unwrap();
        std::os::unix::fs::symlink("pipe:[9]", fd.join("4")).unwrap();
        dir
    }

    fn holders_of(scan: &FdScan, inode: u64) -> Vec<Holder> {
        scan.holders
            .get(&inode)
            .map(|h| h.to_vec())
            .unwrap_or_default()
    }

    #[test]
    fn a_trusted_fd_is_not_read_again_while_its_socket_is_wanted() {
        let dir = one_process_tree();
        let proc = ProcFs::new(dir.path());
        let held = |fd, inode| HeldFd { pid: 10, fd, inode };
        let trust = |held: Vec<HeldFd>| Remembered {
            held,
            open_fds: Vec::new(),
        };
        let at = |fd| vec![Holder { pid: 10, fd }];
        let wanted = |inodes: &[u64]| inodes.iter().copied().collect::<HashSet<u64>>();

        // Read: fd 3 holds 222, and that is what the scan remembers.
        let read = scan(&proc, &wanted(&[111, 222]), &Remembered::default()).unwrap();
        assert_eq!(holders_of(&read, 222), at(3));
        assert_eq!(read.remembered.held, [held(3, 222)]);

        // Trusted: the scan takes fd 3 to hold 111 still, as the last scan said.
        let trusting = scan(&proc, &wanted(&[111, 222]), &trust(vec![held(3, 111)])).unwrap();
        assert_eq!(holders_of(&trusting, 111), at(3));
        assert!(holders_of(&trusting, 222).is_empty());
        // A trusted socket no longer wanted is not trusted: the link is read.
        let gone = scan(&proc, &wanted(&[222]), &trust(vec![held(3, 111)])).unwrap();
        assert_eq!(holders_of(&gone, 222), at(3));
        // Nor is one of another process, or of an fd now closed (fd 5).
        let others = vec![
            held(5, 111),
            HeldFd {
                pid: 11,
                fd: 3,
                inode: 111,
            },
        ];
        let elsewhere = scan(&proc, &wanted(&[111, 222]), &trust(others)).unwrap();
        assert_eq!(holders_of(&elsewhere, 222), at(3));
        assert!(holders_of(&elsewhere, 111).is_empty());
    }

    #[test]
    fn a_process_with_as_many_fds_as_before_is_not_listed_again() {
        let dir = one_process_tree();
        let proc = ProcFs::new(dir.path());
        let fd_dir = dir.path().join("10/fd");
        let wanted: HashSet<u64> = [222, 333].into_iter().collect();
        let first = scan(&proc, &wanted, &Remembered::default()).unwrap();
        // What the scan records as the number of fds open: here, the fixture directory's size.
        let size = std::fs::metadata(&fd_dir).unwrap().len();
        assert_eq!(first.remembered.open_fds, [(10, size)]);

        // A new fd on a wanted socket: not seen while the count is the one remembered...
        std::os::unix::fs::symlink("socket:[333]", fd_dir.join("5")).unwrap();
        let same_count = Remembered {
            held: first.remembered.held.clone(),
            open_fds: vec![(10, std::fs::metadata(&fd_dir).unwrap().len())],
        };
        let trusting = scan(&proc, &wanted, &same_count).unwrap();
        assert!(!trusting.holders.contains_key(&333));
        assert!(trusting.holders.contains_key(&222));
        // ...and found once it differs, or when nothing is trusted.
        let other_count = Remembered {
            held: first.remembered.held.clone(),
            open_fds: vec![(10, size + 12345)],
        };
        for trusted in [other_count, Remembered::default()] {
            let scan = scan(&proc, &wanted, &trusted).unwrap();
            assert_eq!(holders_of(&scan, 333), [Holder { pid: 10, fd: 5 }]);
        }
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
}
