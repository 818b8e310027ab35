//! Files portscope is given and files it writes, as a careful tool run by root must handle them.
//!
//! Owns: bounded reading (every file and standard input has a size cap), writing (`snapshot -o`,
//! the imported registry) and the walk that resolves a path to write without following another
//! user's symbolic links, the temp files of atomic writes (removed on every error path, on
//! SIGINT/SIGTERM/SIGHUP, and when a killed run left them behind). It moves bytes and knows
//! nothing of snapshots, registries or terminals; errors carry raw paths (the caller escapes the
//! message once, when it prints it).
//!
//! The writing policy (the README's "Files" section says the same for users):
//! - a regular file (or a missing one) is replaced atomically: a temp file in the same directory,
//!   written, synced, renamed over it. An existing file keeps its owner, group and mode; when we may
//!   not give the new file the old owner (not root, someone else's file we may write), it is
//!   written in place instead, so the owner stays.
//! - anything else is written in place and never replaced: `/dev/null` stays a device, a FIFO
//!   stays a FIFO, a terminal gets the bytes. Block devices, directories and sockets are refused.
//! - a symbolic link is never replaced. It is followed only when root or the user running portscope
//!   owns it (the rule the kernel's `protected_symlinks` applies in sticky directories, applied to
//!   every link on the path): the target is then written by the rules above. A link owned by
//!   anybody else is refused with an error naming it — when root runs with another user's `$HOME`,
//!   that user's links cannot steer root's writes. `/dev/stdout` (root's link into `/proc`) works.
//! - missing parent directories are never created for a path the user gave; only the data
//!   directory itself is created (mode 0700), as XDG asks.
//!
//! The walk and the atomic replace are Linux's (`walk`); macOS and Windows write with std's
//! portable calls (`plain`, whose comment says which parts of this policy it keeps).

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

const MIB: u64 = 1 << 20;

/// The most portscope reads as a snapshot (`view`, `diff`): a snapshot holds about 1.75 KB per
/// socket with its owners inline (measured: 40,007 sockets, 70 MB), so 100,000 sockets take about
/// 175 MB; this leaves room for long command lines.
pub const SNAPSHOT_LIMIT: u64 = 512 * MIB;
/// The most portscope reads as a registry CSV (`--registry`, `registry import`, the imported
/// copy): IANA's registry is about 4 MB.
pub const REGISTRY_LIMIT: u64 = 64 * MIB;

/// A short reason for an I/O error, for one-line messages.
pub fn reason(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::NotFound => "no such file".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => err.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read it: {}", reason(.0))]
    Io(io::Error),
    #[error("larger than {} MiB, the most portscope reads as {what}; is it the right file?", .limit / MIB)]
    TooLarge { limit: u64, what: &'static str },
}

/// Read all of `path`, at most `limit` bytes; `what` names the content in the error ("a
/// snapshot"). A regular file's size is checked first, so a huge sparse file fails at once; a
/// device or pipe (`/dev/zero`) is read up to the limit and no further.
pub fn read_capped(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>, ReadError> {
    read_file_capped(File::open(path).map_err(ReadError::Io)?, limit, what)
}

/// Standard input, at most `limit` bytes.
pub fn read_stdin_capped(limit: u64, what: &'static str) -> Result<Vec<u8>, ReadError> {
    read_to_limit(io::stdin().lock(), Vec::new(), limit, what)
}

fn read_file_capped(file: File, limit: u64, what: &'static str) -> Result<Vec<u8>, ReadError> {
    let meta = file.metadata().map_err(ReadError::Io)?;
    let mut buf = Vec::new();
    if meta.is_file() {
        if meta.len() > limit {
            return Err(ReadError::TooLarge { limit, what });
        }
        buf.reserve_exact(meta.len() as usize);
        prefer_huge_pages(&mut buf);
    }
    read_to_limit(file, buf, limit, what)
}

/// Ask for the buffer a large file is read into to be backed by 2 MiB pages where the system
/// gives them on request (transparent huge pages in `madvise` mode, Debian's default). Filled
/// 4 KiB at a time, a 40 MB snapshot (100,000 listeners) costs ten thousand page faults, most of
/// the system time that reading it takes.
fn prefer_huge_pages(buf: &mut Vec<u8>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let spare = buf.spare_capacity_mut();
        let start = spare.as_mut_ptr() as usize;
        let first = start.next_multiple_of(HUGE);
        let end = (start + spare.len()) & !(HUGE - 1);
        if end > first {
            // SAFETY: the range lies inside the vector's own allocation, and nothing has been
            // written there yet; the advice changes how its pages are backed, not their contents.
            // A refusal (huge pages off, an old kernel) leaves the usual pages: nothing to do.
            unsafe {
                libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = buf;
}

fn read_to_limit(
    reader: impl Read,
    mut buf: Vec<u8>,
    limit: u64,
    what: &'static str,
) -> Result<Vec<u8>, ReadError> {
    // One byte past the limit tells "exactly at the limit" from "more".
    reader
        .take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(ReadError::Io)?;
    if buf.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit, what });
    }
    Ok(buf)
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{}: no such directory; portscope does not create it, create it first", .0.display())]
    NoDirectory(PathBuf),
    #[error("{}: a symbolic link owned by uid {uid}, neither root nor you: portscope follows only links root or you own", .link.display())]
    ForeignLink { link: PathBuf, uid: u32 },
    #[error("{}: is {what}; portscope {refusal}", .path.display())]
    Refused {
        path: PathBuf,
        what: &'static str,
        refusal: &'static str,
    },
    #[error("{}: {}", .path.display(), reason(.err))]
    Io { path: PathBuf, err: io::Error },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |err| WriteError::Io {
        path: path.to_path_buf(),
        err,
    }
}

/// Where a write goes, which decides what may be created and followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A path the user named (`-o PATH`): write in place to anything that is not a regular file;
    /// never create a directory.
    Given,
    /// A file in portscope's data directory: only a regular file belongs there (anything else is
    /// refused); the directories on the way may be created (0700); stale temps are removed.
    DataDir,
}

#[derive(Debug, thiserror::Error)]
pub enum DataReadError {
    #[error("{0}")]
    Walk(WriteError),
    #[error("{}: {err}", .path.display())]
    Read { path: PathBuf, err: ReadError },
}

// The writing policy above needs `openat` without following links, `O_PATH` and `/proc`'s view
// of descriptors: Linux. Elsewhere the same API writes with std's portable calls (see plain.rs
// for what it does not guard against there).
#[cfg(target_os = "linux")]
mod walk;
#[cfg(target_os = "linux")]
pub use walk::{read_data_file, remove_data_file, write};
// Compiled for tests on Linux too, where its Unix half (the macOS writer) is tested.
#[cfg(any(test, not(target_os = "linux")))]
mod plain;
#[cfg(not(target_os = "linux"))]
pub use plain::{read_data_file, remove_data_file, write};

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn a_new_file_is_written_and_no_temp_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        write(&path, b"new", Place::Given).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_existing_file_keeps_its_mode_and_is_cut_to_the_new_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        std::fs::write(&path, b"a much longer old content").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write(&path, b"new", Place::Given).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o7777, 0o640);
    }

    #[test]
    fn a_missing_directory_is_an_error_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/out.json");
        let err = write(&path, b"x", Place::Given).unwrap_err();
        assert!(matches!(err, WriteError::NoDirectory(_)), "{err}");
        assert!(!dir.path().join("no").exists());
    }

    #[test]
    fn a_capped_read_refuses_one_byte_more() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_capped(&path, 5, "a test").unwrap(), b"12345");
        let err = read_capped(&path, 4, "a test").unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { limit: 4, .. }));
    }
}
