//! The writer of [`crate::files`] on macOS and Windows, with std's portable calls: the parent
//! module's policy where std can express it, and what it cannot, said here and in the README's
//! platform table.
//!
//! Kept: a regular file (or a missing one) is replaced atomically through a temp file in the
//! same directory (synced, renamed over it), keeping the old file's mode and, when permitted, its
//! owner, else written in place; anything else that is not a directory is written in place for a
//! path the user named and refused in the data directory; a directory is refused; missing parent
//! directories are created only for the data directory; a symbolic link in the last place is
//! followed only when root or the caller owns it (on Windows never: its owner is a SID std does
//! not read), and never replaced; the data directory is created private (0700 on macOS; under
//! the user's own profile on Windows).
//!
//! Not kept: the links on the way to the last place are followed as the OS does (there is no
//! `openat` walk), and a temp file is not removed on Ctrl-C; the next write into that directory
//! removes portscope's temps older than an hour.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use super::{io_at, read_file_capped, DataReadError, Place, WriteError};

const TEMP_PREFIX: &str = ".portscope-";
const TEMP_SUFFIX: &str = ".tmp";
/// A temp older than this was left by a run that was killed: no write takes that long.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// Write `bytes` to `path` by the policy in this module's comment.
pub fn write(path: &Path, bytes: &[u8], place: Place) -> Result<(), WriteError> {
    let path = &follow_trusted_link(path)?;
    let dir = parent(path);
    if !dir.is_dir() {
        if place == Place::Given {
            return Err(WriteError::NoDirectory(dir));
        }
        create_private_dir(&dir).map_err(io_at(&dir))?;
    }
    remove_stale_temps(&dir);
    let refuse = |what, refusal| {
        Err(WriteError::Refused {
            path: path.clone(),
            what,
            refusal,
        })
    };
    let existing = match fs::symlink_metadata(path) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_at(path)(e)),
    };
    match &existing {
        None => {}
        Some(m) if m.is_file() => {}
        Some(m) if m.is_dir() => return refuse("a directory", "writes files, not directories"),
        Some(m) if m.file_type().is_symlink() => {
            return refuse("a symbolic link", "does not replace links")
        }
        Some(_) if place == Place::DataDir => {
            return refuse(
                "not a regular file",
                "keeps only regular files there; remove it",
            )
        }
        // A device or a pipe: the bytes go through it.
        Some(_) => return write_in_place(path, bytes, false),
    }
    let mut temp = TempFile::create(&dir).map_err(io_at(&dir))?;
    temp.file.write_all(bytes).map_err(io_at(&temp.path))?;
    if let Some(old) = &existing {
        if !keep_owner_and_mode(&temp.file, old) {
            // We may write the file but not give a new one its owner: write it in place.
            drop(temp);
            return write_in_place(path, bytes, true);
        }
    }
    temp.file.sync_all().map_err(io_at(&temp.path))?;
    temp.rename_to(path).map_err(io_at(path))
}

/// Where a link in the last place leads, when root or the caller owns it; the path itself when
/// it is no link.
fn follow_trusted_link(path: &Path) -> Result<PathBuf, WriteError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            trust_link(path, &meta)?;
            let target = fs::read_link(path).map_err(io_at(path))?;
            Ok(parent(path).join(target))
        }
        _ => Ok(path.to_path_buf()),
    }
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn write_in_place(path: &Path, bytes: &[u8], regular: bool) -> Result<(), WriteError> {
    let mut file = OpenOptions::new()
        .write(true)
        .truncate(regular)
        .open(path)
        .map_err(io_at(path))?;
    file.write_all(bytes).map_err(io_at(path))?;
    if regular {
        file.sync_all().map_err(io_at(path))?;
    }
    Ok(())
}

/// A temp file beside the destination, removed unless renamed.
struct TempFile {
    path: PathBuf,
    file: File,
    renamed: bool,
}

impl TempFile {
    fn create(dir: &Path) -> io::Result<TempFile> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut attempt = 0;
        loop {
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let path = dir.join(format!(
                "{TEMP_PREFIX}{}-{nanos:x}{:x}{TEMP_SUFFIX}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    return Ok(TempFile {
                        path,
                        file,
                        renamed: false,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn rename_to(mut self, dest: &Path) -> io::Result<()> {
        fs::rename(&self.path, dest)?;
        self.renamed = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// portscope's temps in `dir` that a killed run left behind.
fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)) {
            continue;
        }
        let stale = entry.metadata().is_ok_and(|m| {
            m.is_file()
                && m.modified()
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > STALE_AFTER)
        });
        if stale {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// A file of the data directory, at most `limit` bytes; `Ok(None)` when it does not exist. A
/// link or anything but a regular file there is refused, not followed.
pub fn read_data_file(
    path: &Path,
    limit: u64,
    what: &'static str,
) -> Result<Option<Vec<u8>>, DataReadError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(DataReadError::Walk(io_at(path)(e))),
    };
    if !meta.is_file() {
        return Err(DataReadError::Walk(WriteError::Refused {
            path: path.to_path_buf(),
            what: "not a regular file",
            refusal: "reads only a regular file there; remove it",
        }));
    }
    let file = File::open(path).map_err(|e| DataReadError::Walk(io_at(path)(e)))?;
    read_file_capped(file, limit, what)
        .map(Some)
        .map_err(|err| DataReadError::Read {
            path: path.to_path_buf(),
            err,
        })
}

/// Remove a file of the data directory (a link there is removed itself, not followed).
/// `Ok(false)` when there was nothing to remove.
pub fn remove_data_file(path: &Path) -> Result<bool, WriteError> {
    remove_stale_temps(&parent(path));
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_at(path)(e)),
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    // The user's profile directory is private to them already.
    fs::create_dir_all(dir)
}

/// A link is followed only when root or the caller owns it.
#[cfg(unix)]
fn trust_link(link: &Path, meta: &fs::Metadata) -> Result<(), WriteError> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if meta.uid() == 0 || meta.uid() == me {
        return Ok(());
    }
    Err(WriteError::ForeignLink {
        link: link.to_path_buf(),
        uid: meta.uid(),
    })
}

/// Windows: a link's owner is a SID std does not read, so no link is trusted.
#[cfg(not(unix))]
fn trust_link(link: &Path, _: &fs::Metadata) -> Result<(), WriteError> {
    Err(WriteError::Refused {
        path: link.to_path_buf(),
        what: "a symbolic link",
        refusal: "does not follow links on Windows; name the file it points to",
    })
}

/// Give the new file the old one's mode and owner; false when the owner cannot be kept.
#[cfg(unix)]
fn keep_owner_and_mode(file: &File, old: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    if file.set_permissions(old.permissions()).is_err() {
        return false;
    }
    let mine = file
        .metadata()
        .is_ok_and(|m| m.uid() == old.uid() && m.gid() == old.gid());
    mine || std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid())).is_ok()
}

/// Windows: the new file inherits the directory's ACL (a read-only file fails the rename with an
/// error, as it should).
#[cfg(not(unix))]
fn keep_owner_and_mode(_: &File, _: &fs::Metadata) -> bool {
    true
}

/// The macOS writer, run here on Linux (the same Unix calls): what it keeps of the policy.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_file_is_replaced_keeping_its_mode_and_no_temp_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        write(&path, b"first", Place::Given).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let before = fs::metadata(&path).unwrap().ino();
        write(&path, b"second", Place::Given).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let after = fs::metadata(&path).unwrap();
        assert_eq!(after.mode() & 0o7777, 0o640);
        assert_ne!(after.ino(), before, "replaced, not rewritten in place");
        assert_eq!(names(dir.path()), ["out.json"]);
    }

    #[test]
    fn directories_are_refused_and_missing_ones_created_only_for_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let err = write(dir.path(), b"x", Place::Given).unwrap_err();
        assert!(
            matches!(
                err,
                WriteError::Refused {
                    what: "a directory",
                    ..
                }
            ),
            "{err}"
        );
        let given = dir.path().join("no/out.json");
        let err = write(&given, b"x", Place::Given).unwrap_err();
        assert!(matches!(err, WriteError::NoDirectory(_)), "{err}");
        assert!(!dir.path().join("no").exists());
        let data = dir.path().join("data/portscope/registry.csv");
        write(&data, b"x", Place::DataDir).unwrap();
        let mode = fs::metadata(dir.path().join("data/portscope"))
            .unwrap()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        assert_eq!(read_data_file(&data, 10, "a test").unwrap().unwrap(), b"x");
        assert!(remove_data_file(&data).unwrap());
        assert!(!remove_data_file(&data).unwrap());
        assert_eq!(read_data_file(&data, 10, "a test").unwrap(), None);
    }

    #[test]
    fn a_fifo_is_written_through_when_named_and_refused_in_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read(fifo).unwrap())
        };
        write(&fifo, b"through", Place::Given).unwrap();
        assert_eq!(reader.join().unwrap(), b"through");
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        let err = write(&fifo, b"x", Place::DataDir).unwrap_err();
        assert!(
            matches!(
                err,
                WriteError::Refused {
                    what: "not a regular file",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_link_is_followed_only_when_root_or_the_caller_owns_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.json");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write(&link, b"via my link", Place::Given).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"via my link");
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return; // giving the link to another user needs root
        }
        std::os::unix::fs::lchown(&link, Some(65534), None).unwrap();
        let err = write(&link, b"x", Place::Given).unwrap_err();
        assert!(
            matches!(err, WriteError::ForeignLink { uid: 65534, .. }),
            "{err}"
        );
        assert_eq!(fs::read(&target).unwrap(), b"via my link");
        // In the data directory a link is not read through either.
        assert!(read_data_file(&link, 100, "a test").is_err());
    }

    #[test]
    fn temps_older_than_an_hour_are_swept_and_newer_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join(".portscope-1-old.tmp");
        let new = dir.path().join(".portscope-2-new.tmp");
        fs::write(&old, b"").unwrap();
        fs::write(&new, b"").unwrap();
        let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
        File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
        write(&dir.path().join("out"), b"x", Place::Given).unwrap();
        assert_eq!(names(dir.path()), [".portscope-2-new.tmp", "out"]);
    }
}
