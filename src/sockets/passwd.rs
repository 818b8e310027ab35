//! uid → user name from `/etc/passwd` itself, for when the system resolver (glibc's NSS) cannot
//! be used: a statically linked glibc binary must not load the host's `libnss_*.so` modules (they
//! belong to another libc build and may crash it), so the static build reads the files database
//! directly. Owns only the parsing of that file; it never calls into libc and never guesses a
//! name: a uid that is not in the file stays unknown.
//!
//! Only users are read: nothing in portscope shows a group name, so `/etc/group` is not consulted.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// A passwd file larger than this is read only this far (whole lines): a real one is a few KB, and
/// a hostile or broken one must not make a collection read without end.
const MAX_BYTES: u64 = 4 << 20;

/// Every uid named in the passwd file at `path`, the first entry winning (as glibc's files module
/// answers). An unreadable file gives an empty table.
pub(crate) fn read_users(path: &Path) -> HashMap<u32, String> {
    let mut bytes = Vec::new();
    let Ok(file) = std::fs::File::open(path) else {
        return HashMap::new();
    };
    if file.take(MAX_BYTES).read_to_end(&mut bytes).is_err() {
        return HashMap::new();
    }
    parse(&bytes)
}

/// `name:password:uid:gid:gecos:home:shell`, one entry a line. Lines that do not have that
/// shape (comments, NIS `+`/`-` compatibility entries, a truncated last line) are skipped.
fn parse(bytes: &[u8]) -> HashMap<u32, String> {
    let complete = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(end) if bytes.len() as u64 >= MAX_BYTES => &bytes[..end],
        _ => bytes,
    };
    let mut users = HashMap::new();
    for line in complete.split(|&b| b == b'\n') {
        let mut fields = line.split(|&b| b == b':');
        let (Some(name), Some(_), Some(uid)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if name.is_empty() || name[0] == b'+' || name[0] == b'-' || name[0] == b'#' {
            continue;
        }
        let Some(uid) = std::str::from_utf8(uid).ok().and_then(|u| u.parse().ok()) else {
            continue;
        };
        users
            .entry(uid)
            .or_insert_with(|| crate::text::from_os_bytes(name));
    }
    users
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_file_and_the_first_entry_wins() {
        let text = b"root:x:0:0:root:/root:/bin/bash\n# a comment\n+nisuser::::::\n\
                     www-data:x:33:33::/var/www:/usr/sbin/nologin\nbroken line\nbad:x:notanumber:0::/:\n\
                     toor:x:0:0::/root:/bin/sh\nlast:x:1000:1000::/home/last:/bin/sh";
        let users = parse(text);
        assert_eq!(users.get(&0).map(String::as_str), Some("root"));
        assert_eq!(users.get(&33).map(String::as_str), Some("www-data"));
        assert_eq!(users.get(&1000).map(String::as_str), Some("last"));
        assert_eq!(users.len(), 3);
    }

    #[test]
    fn a_name_with_odd_bytes_is_kept_as_data() {
        let users = parse(b"ev\x1bil\xff:x:7:7::/:/bin/sh\n");
        assert_eq!(users[&7], "ev\u{1b}il\\xff");
    }

    #[test]
    fn a_huge_file_is_read_only_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passwd");
        let mut text = b"first:x:1:1::/:/bin/sh\n".to_vec();
        let filler = b"filler:x:2:2::/:/bin/sh\n";
        while (text.len() as u64) < MAX_BYTES + 1024 {
            text.extend_from_slice(filler);
        }
        text.extend_from_slice(b"beyond:x:3:3::/:/bin/sh\n");
        std::fs::write(&path, &text).unwrap();
        let users = read_users(&path);
        assert_eq!(users[&1], "first");
        assert!(!users.contains_key(&3), "read past the limit");
        assert!(read_users(&dir.path().join("missing")).is_empty());
    }
}
