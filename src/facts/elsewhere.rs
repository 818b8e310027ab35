//! Facts on macOS and Windows: none is read there. The readers of this module's siblings look for
//! Linux's evidence (`/proc`, cgroups, dpkg/rpm/apk, systemd units), whose absence on another OS
//! would read as a wrong fact ("not from any package" for every Homebrew binary); instead every
//! fact says it is not available on this OS. Owns only that answer and the portable stand-ins for
//! the file identity the caches are keyed by.

use std::fs::Metadata;

use super::{Depth, Fact, OwnerFacts};

/// Why each fact is unknown off Linux.
pub const NOT_ON_THIS_OS: &str = "not available on this OS";

impl OwnerFacts {
    /// Every fact of `pid` unknown because this OS is not read, at the shape `depth` asks for.
    pub(crate) fn not_on_this_os(pid: u32, depth: Depth) -> OwnerFacts {
        fn why<T>() -> Fact<T> {
            Fact::Unknown(NOT_ON_THIS_OS.to_string())
        }
        OwnerFacts {
            pid,
            package: why(),
            integrity: (depth >= Depth::Verify).then(why),
            cgroup: why(),
            unit: why(),
            container: why(),
            pod: why(),
            session: (depth >= Depth::Detail).then(why),
            ancestry: Vec::new(),
            ancestry_broken: (depth >= Depth::Detail).then(|| NOT_ON_THIS_OS.to_string()),
        }
    }
}

/// (device, inode) of a file: Unix's, and on Windows none (0, 0: std does not give the volume
/// and file index on stable Rust; facts are not read there anyway).
#[cfg(unix)]
pub(crate) fn file_id(meta: &Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
pub(crate) fn file_id(_: &Metadata) -> (u64, u64) {
    (0, 0)
}

/// Modification time in nanoseconds since the epoch; `None` when the OS does not give it.
pub(crate) fn mtime_ns(meta: &Metadata) -> Option<i128> {
    let since = meta.modified().ok()?;
    Some(match since.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(before) => -(before.duration().as_nanos() as i128),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Off Linux each fact says why it is unknown, and only the facts the depth asks for are
    /// there at all (not asked is not the same as unknown).
    #[test]
    fn every_fact_is_unknown_for_this_os_at_the_asked_depth() {
        let cheap = OwnerFacts::not_on_this_os(7, Depth::Cheap);
        assert_eq!(
            cheap.provenance_line(),
            "package unknown (not available on this OS)"
        );
        assert_eq!(cheap.unit.why(), Some(NOT_ON_THIS_OS));
        assert_eq!(cheap.container.why(), Some(NOT_ON_THIS_OS));
        assert_eq!((cheap.integrity, cheap.session), (None, None));
        let verify = OwnerFacts::not_on_this_os(7, Depth::Verify);
        assert_eq!(verify.integrity.unwrap().why(), Some(NOT_ON_THIS_OS));
        assert_eq!(verify.session.unwrap().why(), Some(NOT_ON_THIS_OS));
        assert_eq!(verify.ancestry_broken.as_deref(), Some(NOT_ON_THIS_OS));
    }
}
