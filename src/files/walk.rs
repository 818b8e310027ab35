//! The Linux writer of [`crate::files`]: the walk that resolves a path one component at a time
//! (`openat` with `O_PATH | O_NOFOLLOW`), following only links root or the caller owns, the
//! atomic replace that keeps owner and mode, and the temp files' cleanup on signals and after a
//! killed run. The policy is the parent module's comment.

use std::collections::VecDeque;
use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};

use super::{io_at, read_file_capped, DataReadError, Place, WriteError};

/// What a walk resolved a path to.
enum Resolved {
    /// The last component, to be looked at (it may not exist) inside an open directory.
    Entry {
        dir: OwnedFd,
        name: CString,
        shown: PathBuf,
    },
    /// A `/proc` link (`/dev/stdout` → `/proc/self/fd/1` → a pipe): the kernel's own jump to an
    /// open file, opened for writing.
    Opened(File),
}

fn cstr(name: &OsStr) -> CString {
    // A path component from a Path never holds a NUL byte.
    CString::new(name.as_bytes()).unwrap_or_default()
}

fn last_os_error() -> io::Error {
    io::Error::last_os_error()
}

fn open_at(dir: RawFd, name: &CStr, flags: i32, mode: libc::mode_t) -> io::Result<OwnedFd> {
    // SAFETY: a valid C string; the returned descriptor is owned by the OwnedFd.
    let fd = unsafe { libc::openat(dir, name.as_ptr(), flags | libc::O_CLOEXEC, mode) };
    if fd < 0 {
        return Err(last_os_error());
    }
    // SAFETY: openat just returned this descriptor to us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    // SAFETY: fstat fills a zeroed stat for a descriptor we hold.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        return Err(last_os_error());
    }
    Ok(st)
}

fn stat_at(dir: RawFd, name: &CStr) -> io::Result<libc::stat> {
    // SAFETY: as fstat; AT_SYMLINK_NOFOLLOW looks at a link itself.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } < 0 {
        return Err(last_os_error());
    }
    Ok(st)
}

fn kind(st: &libc::stat) -> libc::mode_t {
    st.st_mode & libc::S_IFMT
}

/// The target of the symbolic link open (O_PATH | O_NOFOLLOW) as `fd`.
fn read_link(fd: RawFd) -> io::Result<OsString> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: an empty path with an O_PATH descriptor reads the link itself (Linux ≥ 2.6.39).
    let n = unsafe { libc::readlinkat(fd, c"".as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(last_os_error());
    }
    buf.truncate(n as usize);
    Ok(OsString::from_vec(buf))
}

fn on_procfs(fd: RawFd) -> bool {
    const PROC_SUPER_MAGIC: libc::c_long = 0x9fa0;
    // SAFETY: fstatfs fills a zeroed statfs for a descriptor we hold.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    unsafe { libc::fstatfs(fd, &mut fs) == 0 && fs.f_type as libc::c_long == PROC_SUPER_MAGIC }
}

/// Whether a link owned by `uid` may steer our path: root's links are the system's, our own are
/// ours; anybody else's could point us at a file they may not write themselves.
fn trusted_owner(uid: u32) -> bool {
    // SAFETY: geteuid cannot fail.
    uid == 0 || uid == unsafe { libc::geteuid() }
}

/// Walk `path` one component at a time from `/` (or the working directory), holding each
/// directory open, following only trusted links, and stop at the last component. `create` makes
/// missing directories on the way (0700); `follow_last` follows a trusted link in the last place.
fn resolve(path: &Path, create: bool, follow_last: bool) -> Result<Resolved, WriteError> {
    let mut queue: VecDeque<OsString> = VecDeque::new();
    let push_front = |queue: &mut VecDeque<OsString>, p: &Path| {
        let parts: Vec<OsString> = p
            .components()
            .map(|c| match c {
                Component::RootDir => OsString::from("/"),
                Component::CurDir => OsString::from("."),
                Component::ParentDir => OsString::from(".."),
                Component::Normal(n) => n.to_os_string(),
                Component::Prefix(p) => p.as_os_str().to_os_string(),
            })
            .collect();
        for part in parts.into_iter().rev() {
            queue.push_front(part);
        }
    };
    push_front(&mut queue, path);
    let start = if path.is_absolute() { c"/" } else { c"." };
    let mut dir =
        open_at(libc::AT_FDCWD, start, libc::O_PATH | libc::O_DIRECTORY, 0).map_err(io_at(path))?;
    let mut shown = PathBuf::from(if path.is_absolute() { "/" } else { "" });
    let mut hops = 0;
    while let Some(part) = queue.pop_front() {
        if part == "/" {
            dir = open_at(libc::AT_FDCWD, c"/", libc::O_PATH | libc::O_DIRECTORY, 0)
                .map_err(io_at(path))?;
            shown = PathBuf::from("/");
            continue;
        }
        if part == "." {
            continue;
        }
        let name = cstr(&part);
        let here = shown.join(&part);
        let last = queue.is_empty();
        if part == ".." {
            if last {
                return Err(WriteError::Refused {
                    path: here,
                    what: "a directory",
                    refusal: "writes files, not directories",
                });
            }
            dir = open_at(dir.as_raw_fd(), &name, libc::O_PATH | libc::O_DIRECTORY, 0)
                .map_err(io_at(&here))?;
            shown = here;
            continue;
        }
        if last && !follow_last {
            return Ok(Resolved::Entry {
                dir,
                name,
                shown: here,
            });
        }
        // O_PATH | O_NOFOLLOW opens the link itself, so its owner and target are read from one
        // object that cannot be swapped between the check and the use.
        let node = match open_at(dir.as_raw_fd(), &name, libc::O_PATH | libc::O_NOFOLLOW, 0) {
            Ok(node) => node,
            Err(e) if e.kind() == io::ErrorKind::NotFound && last => {
                return Ok(Resolved::Entry {
                    dir,
                    name,
                    shown: here,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                // SAFETY: a valid C string; mkdirat creates one directory.
                let made = unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), 0o700) };
                if made < 0 && last_os_error().kind() != io::ErrorKind::AlreadyExists {
                    return Err(io_at(&here)(last_os_error()));
                }
                dir = open_at(
                    dir.as_raw_fd(),
                    &name,
                    libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                    0,
                )
                .map_err(io_at(&here))?;
                shown = here;
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(WriteError::NoDirectory(here));
            }
            Err(e) => return Err(io_at(&here)(e)),
        };
        let st = fstat(node.as_raw_fd()).map_err(io_at(&here))?;
        match kind(&st) {
            libc::S_IFLNK => {
                if !trusted_owner(st.st_uid) {
                    return Err(WriteError::ForeignLink {
                        link: here,
                        uid: st.st_uid,
                    });
                }
                hops += 1;
                if hops > 40 {
                    return Err(io_at(&here)(io::Error::from_raw_os_error(libc::ELOOP)));
                }
                if last && on_procfs(dir.as_raw_fd()) {
                    // `/proc/self/fd/1` names an open file (a pipe, a terminal), not a path:
                    // only the kernel can follow it. procfs links are the kernel's own.
                    let fd = open_at(
                        dir.as_raw_fd(),
                        &name,
                        libc::O_WRONLY | libc::O_TRUNC | libc::O_NOCTTY,
                        0,
                    )
                    .map_err(io_at(&here))?;
                    return Ok(Resolved::Opened(File::from(fd)));
                }
                let target = read_link(node.as_raw_fd()).map_err(io_at(&here))?;
                push_front(&mut queue, Path::new(&target));
                // A relative target continues from the link's own directory: `dir`, `shown`.
            }
            libc::S_IFDIR if !last => {
                dir = node;
                shown = here;
            }
            _ if last => {
                return Ok(Resolved::Entry {
                    dir,
                    name,
                    shown: here,
                })
            }
            _ => {
                return Err(io_at(&here)(io::Error::from_raw_os_error(libc::ENOTDIR)));
            }
        }
    }
    Err(WriteError::Refused {
        path: path.to_path_buf(),
        what: "a directory",
        refusal: "writes files, not directories",
    })
}

/// Write `bytes` to `path` by the policy in this module's comment.
pub fn write(path: &Path, bytes: &[u8], place: Place) -> Result<(), WriteError> {
    install_cleanup();
    let (dir, name, shown) = match resolve(path, place == Place::DataDir, true)? {
        Resolved::Opened(mut file) => {
            return file.write_all(bytes).map_err(io_at(path));
        }
        Resolved::Entry { dir, name, shown } => (dir, name, shown),
    };
    remove_stale_temps(&dir, place == Place::DataDir);
    let existing = match stat_at(dir.as_raw_fd(), &name) {
        Ok(st) => Some(st),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_at(&shown)(e)),
    };
    let refuse = |what, refusal| {
        Err(WriteError::Refused {
            path: shown.clone(),
            what,
            refusal,
        })
    };
    match existing.as_ref().map(kind) {
        None | Some(libc::S_IFREG) => {}
        Some(libc::S_IFDIR) => return refuse("a directory", "writes files, not directories"),
        Some(libc::S_IFBLK) => return refuse("a block device", "does not write onto disks"),
        Some(libc::S_IFSOCK) => return refuse("a socket", "cannot write to it"),
        // Resolved already followed a link in the last place; one seen now was put there since.
        Some(libc::S_IFLNK) => return refuse("a symbolic link", "does not replace links"),
        Some(_) if place == Place::DataDir => {
            return refuse(
                "not a regular file",
                "keeps only regular files there; remove it",
            )
        }
        // A character device (/dev/null, a terminal) or a FIFO: the bytes go through it.
        Some(_) => return write_in_place(&dir, &name, &shown, bytes, false),
    }
    match replace_atomically(&dir, &name, &shown, bytes, existing.as_ref())? {
        Replaced::Done => Ok(()),
        Replaced::CannotKeepOwner => write_in_place(&dir, &name, &shown, bytes, true),
    }
}

fn write_in_place(
    dir: &OwnedFd,
    name: &CStr,
    shown: &Path,
    bytes: &[u8],
    regular: bool,
) -> Result<(), WriteError> {
    // O_NOFOLLOW: the entry was checked, a link swapped in since is not followed. O_NONBLOCK is
    // not set: a FIFO without a reader waits for one, as a shell redirection would.
    let fd = open_at(
        dir.as_raw_fd(),
        name,
        libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_NOCTTY,
        0,
    )
    .map_err(io_at(shown))?;
    let mut file = File::from(fd);
    file.write_all(bytes).map_err(io_at(shown))?;
    if regular {
        // Written over the old content from the start; cut what is left of it.
        file.set_len(bytes.len() as u64).map_err(io_at(shown))?;
    }
    Ok(())
}

enum Replaced {
    Done,
    /// The existing file belongs to someone whose ownership we cannot give the new file.
    CannotKeepOwner,
}

fn replace_atomically(
    dir: &OwnedFd,
    name: &CStr,
    shown: &Path,
    bytes: &[u8],
    existing: Option<&libc::stat>,
) -> Result<Replaced, WriteError> {
    let mode = existing.map_or(0o666, |st| st.st_mode & 0o7777);
    let temp = TempFile::create(dir, mode).map_err(io_at(shown))?;
    let fd = temp.file.as_raw_fd();
    if let Some(st) = existing {
        // SAFETY: fchown/fchmod on a descriptor we hold.
        if unsafe { libc::fchown(fd, st.st_uid, st.st_gid) } < 0 {
            let err = last_os_error();
            if err.kind() == io::ErrorKind::PermissionDenied {
                return Ok(Replaced::CannotKeepOwner);
            }
            return Err(io_at(shown)(err));
        }
        // After fchown, which clears set-id bits; the umask did not apply to the mode either.
        if unsafe { libc::fchmod(fd, mode) } < 0 {
            return Err(io_at(shown)(last_os_error()));
        }
    }
    (&temp.file).write_all(bytes).map_err(io_at(shown))?;
    temp.file.sync_all().map_err(io_at(shown))?;
    temp.rename_to(name).map_err(io_at(shown))?;
    Ok(Replaced::Done)
}

/// The prefix and suffix of our temp files: `.portscope-<random>.tmp`.
const TEMP_PREFIX: &str = ".portscope-";
const TEMP_SUFFIX: &str = ".tmp";

/// Temp files being written, so the signal thread can remove them: (directory, name).
static PENDING: Mutex<Vec<(RawFd, CString)>> = Mutex::new(Vec::new());

/// A temp file in a directory, removed when dropped unless renamed into place. It is locked
/// (flock) while it lives, which tells a later run that it is not stale.
struct TempFile {
    dir: OwnedFd,
    name: CString,
    file: File,
    renamed: bool,
}

impl TempFile {
    fn create(dir: &OwnedFd, mode: libc::mode_t) -> io::Result<TempFile> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = dir.try_clone()?;
        let mut attempt = 0;
        loop {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let name = format!(
                "{TEMP_PREFIX}{}-{:x}{:x}{TEMP_SUFFIX}",
                std::process::id(),
                nanos,
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let name = CString::new(name).unwrap_or_default();
            // Registered before it exists, so a signal between create and register cannot
            // leave it behind (removing a name that is not there yet is harmless).
            lock_pending().push((dir.as_raw_fd(), name.clone()));
            match open_at(
                dir.as_raw_fd(),
                &name,
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
                mode,
            ) {
                Ok(fd) => {
                    let file = File::from(fd);
                    // SAFETY: flock on a descriptor we hold. Where locks do not work (some
                    // network filesystems) a concurrent run's sweep could take this temp for
                    // stale: the rename then fails with an error, nothing is corrupted.
                    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
                    return Ok(TempFile {
                        dir,
                        name,
                        file,
                        renamed: false,
                    });
                }
                Err(e) => {
                    forget_pending(dir.as_raw_fd(), &name);
                    attempt += 1;
                    if e.kind() != io::ErrorKind::AlreadyExists || attempt > 100 {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Rename into `name` in the same directory. Under the pending lock: if a signal's cleanup
    /// holds it, it has removed this temp and ends the process; we never rename a removed file.
    fn rename_to(mut self, name: &CStr) -> io::Result<()> {
        let mut pending = lock_pending();
        // SAFETY: renameat within one directory we hold.
        let r = unsafe {
            libc::renameat(
                self.dir.as_raw_fd(),
                self.name.as_ptr(),
                self.dir.as_raw_fd(),
                name.as_ptr(),
            )
        };
        if r < 0 {
            let err = last_os_error();
            drop(pending); // Drop takes the lock to remove the temp.
            return Err(err);
        }
        self.renamed = true;
        pending.retain(|(d, n)| !(*d == self.dir.as_raw_fd() && *n == self.name));
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.renamed {
            let mut pending = lock_pending();
            // SAFETY: unlinkat of our own temp name in a directory we hold.
            unsafe { libc::unlinkat(self.dir.as_raw_fd(), self.name.as_ptr(), 0) };
            pending.retain(|(d, n)| !(*d == self.dir.as_raw_fd() && *n == self.name));
        }
    }
}

fn lock_pending() -> std::sync::MutexGuard<'static, Vec<(RawFd, CString)>> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

fn forget_pending(dir: RawFd, name: &CStr) {
    lock_pending().retain(|(d, n)| !(*d == dir && n.as_c_str() == name));
}

/// On SIGINT, SIGTERM or SIGHUP while writing: remove the temp files in flight, then die of the
/// signal as if it had not been caught (the parent sees the usual status). Installed on the
/// first write only: the explorer has its own signal handling and never writes files.
fn install_cleanup() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        let spawned = std::thread::Builder::new()
            .name("file-cleanup".into())
            .spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    // Held until the process ends: no rename can follow the removal.
                    let pending = lock_pending();
                    for (dir, name) in pending.iter() {
                        // SAFETY: unlinkat of a temp name in a directory still open.
                        unsafe { libc::unlinkat(*dir, name.as_ptr(), 0) };
                    }
                    let _ = signal_hook::low_level::emulate_default_handler(sig);
                    std::process::exit(128 + sig);
                }
            });
        if spawned.is_err() {
            // Without the thread a signal would be swallowed: give the signals back their
            // default action (temp files are then left to the stale-temp sweep).
            for sig in [SIGINT, SIGTERM, SIGHUP] {
                // SAFETY: restoring the default disposition.
                unsafe { libc::signal(sig, libc::SIG_DFL) };
            }
        }
    });
}

/// Remove temp files a killed run left in `dir`: ours (`.portscope-*.tmp`) when no live process
/// holds their lock, and — in the data directory — the `.tmpXXXXXX` names older versions of
/// portscope used.
fn remove_stale_temps(dir: &OwnedFd, data_dir: bool) {
    let Ok(listing) = open_at(dir.as_raw_fd(), c".", libc::O_RDONLY | libc::O_DIRECTORY, 0) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(format!("/proc/self/fd/{}", listing.as_raw_fd())) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let file_name = entry.file_name();
        let bytes = file_name.as_bytes();
        let ours =
            bytes.starts_with(TEMP_PREFIX.as_bytes()) && bytes.ends_with(TEMP_SUFFIX.as_bytes());
        let old = data_dir
            && bytes.len() == 10
            && bytes.starts_with(b".tmp")
            && bytes[4..].iter().all(u8::is_ascii_alphanumeric);
        if !ours && !old {
            continue;
        }
        let name = cstr(&file_name);
        let Ok(fd) = open_at(
            dir.as_raw_fd(),
            &name,
            libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
            0,
        ) else {
            continue;
        };
        let regular = fstat(fd.as_raw_fd()).is_ok_and(|st| kind(&st) == libc::S_IFREG);
        // SAFETY: flock on a descriptor we hold. Got it: its writer is gone.
        if regular && unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            // SAFETY: unlinkat in a directory we hold.
            unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), 0) };
        }
    }
}

/// A file in the data directory, read by the same walk (no foreign links), at most `limit` bytes.
/// `Ok(None)` when it (or the directory) does not exist.
pub fn read_data_file(
    path: &Path,
    limit: u64,
    what: &'static str,
) -> Result<Option<Vec<u8>>, DataReadError> {
    let (dir, name, shown) = match resolve(path, false, true) {
        Ok(Resolved::Entry { dir, name, shown }) => (dir, name, shown),
        Ok(Resolved::Opened(_)) => {
            return Err(DataReadError::Walk(WriteError::Refused {
                path: path.to_path_buf(),
                what: "a link into /proc",
                refusal: "does not read its data from there",
            }))
        }
        Err(WriteError::NoDirectory(_)) => return Ok(None),
        Err(e) => return Err(DataReadError::Walk(e)),
    };
    // O_NONBLOCK: a FIFO planted there must not hang every run; it is refused below.
    let fd = match open_at(
        dir.as_raw_fd(),
        &name,
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
        0,
    ) {
        Ok(fd) => fd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(DataReadError::Walk(io_at(&shown)(e))),
    };
    let st = fstat(fd.as_raw_fd()).map_err(|e| DataReadError::Walk(io_at(&shown)(e)))?;
    if kind(&st) != libc::S_IFREG {
        return Err(DataReadError::Walk(WriteError::Refused {
            path: shown,
            what: "not a regular file",
            refusal: "reads only a regular file there; remove it",
        }));
    }
    read_file_capped(File::from(fd), limit, what)
        .map(Some)
        .map_err(|err| DataReadError::Read { path: shown, err })
}

/// Remove a file of the data directory (never following a link in its place: a link there is
/// removed itself), and the stale temps beside it. `Ok(false)` when there was nothing to remove.
pub fn remove_data_file(path: &Path) -> Result<bool, WriteError> {
    let (dir, name, shown) = match resolve(path, false, false) {
        Ok(Resolved::Entry { dir, name, shown }) => (dir, name, shown),
        Ok(Resolved::Opened(_)) => return Ok(false),
        Err(WriteError::NoDirectory(_)) => return Ok(false),
        Err(e) => return Err(e),
    };
    remove_stale_temps(&dir, true);
    // SAFETY: unlinkat in a directory we hold.
    if unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), 0) } < 0 {
        let err = last_os_error();
        if err.kind() == io::ErrorKind::NotFound {
            return Ok(false);
        }
        return Err(io_at(&shown)(err));
    }
    Ok(true)
}
