//! Snapshot files read back in the exact form portscope writes them: compact JSON, members and
//! fields in declaration order, plain strings. `diff` of two snapshots of 100,000 listeners
//! spent most of its time in serde's field-by-field machinery (13 keys matched by name per
//! socket, each owners list scanned token by token to be recognised as one seen before); read
//! here, a socket's keys are checked as the literal text they must be, and an owners list seen
//! before is recognised by comparing bytes.
//!
//! Anything else (indented JSON, another field order, an escaped string, an older schema, any
//! error) makes [`read`] give up with `None`, and the caller parses the file with serde as
//! before, which also words every error. So this reader never decides what a file means: it
//! either agrees with serde or steps aside (a property test holds it to that).
//!
//! Owns only this reading; the model's types are `sockets`', the fallback is `collect`'s.

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::de::value::{BorrowedStrDeserializer, Error as WordError};
use serde::de::IgnoredAny;
use serde::Deserialize;

use super::{HostInfo, NetNs, Owner, Owners, Snapshot, Socket, SCHEMA_VERSION};

/// A snapshot file's members, as [`read`] found them.
pub(super) struct Written {
    pub snapshot: Snapshot,
    /// The `facts` member (schema 3), `None` when absent or null.
    pub facts: Option<serde_json::Value>,
}

/// Read `text` if it is in the written form, else `None` (parse it with serde instead).
pub(super) fn read(text: &str) -> Option<Written> {
    let mut at = Cursor { text, at: 0 };
    at.literal(r#"{"schema_version":"#)?;
    let schema_version: u32 = at.number()?;
    if schema_version > SCHEMA_VERSION {
        return None; // the fallback says which version is needed
    }
    at.literal(r#","host":"#)?;
    let host: HostInfo = at.value()?;
    at.literal(r#","sockets":["#)?;
    let mut seen = Seen::default();
    let mut sockets = Vec::new();
    if !at.eat("]") {
        loop {
            sockets.push(at.socket(&mut seen)?);
            if at.eat("]") {
                break;
            }
            at.literal(",")?;
        }
    }
    // What a snapshot file adds after the snapshot's own fields: `facts`, and `hints` (for
    // people and scripts; readers judge the sockets themselves).
    let mut facts = None;
    let mut facts_seen = false;
    while !at.eat("}") {
        at.literal(",")?;
        let key = at.string()?;
        at.literal(":")?;
        match key {
            "facts" if !facts_seen => {
                facts_seen = true;
                facts = at.value::<Option<serde_json::Value>>()?;
            }
            // A member twice is for serde to refuse.
            "facts" | "schema_version" | "host" | "sockets" => return None,
            _ => {
                at.value::<IgnoredAny>()?;
            }
        }
    }
    at.text[at.at..]
        .bytes()
        .all(|b| b.is_ascii_whitespace())
        .then_some(Written {
            snapshot: Snapshot {
                schema_version,
                host,
                sockets,
            },
            facts,
        })
}

/// The owners lists and user names met so far in this file, each parsed once and then shared
/// by every socket that repeats it (as `sharing` does for the serde path).
#[derive(Default)]
struct Seen<'a> {
    /// By the first owner's pid, which the text begins with: the lists starting with it.
    owners: FxHashMap<u32, Vec<(&'a str, Owners)>>,
    no_owners: Owners,
    users: FxHashMap<&'a str, Arc<str>>,
}

/// Lists remembered per first pid: a file of distinct lists all naming one pid first (made up,
/// or a very busy pre-fork server) is then read at a bounded cost per socket.
const LISTS_PER_PID: usize = 8;

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    /// Step over `literal` if the text continues with it.
    fn eat(&mut self, literal: &str) -> bool {
        let found = self.rest().starts_with(literal);
        if found {
            self.at += literal.len();
        }
        found
    }

    fn literal(&mut self, literal: &str) -> Option<()> {
        self.eat(literal).then_some(())
    }

    /// A string without escapes or control characters (JSON forbids those raw; an escaped one
    /// is left to serde).
    fn string(&mut self) -> Option<&'a str> {
        self.literal("\"")?;
        let rest = self.rest();
        let len = rest
            .bytes()
            .position(|b| b == b'"' || b == b'\\' || b < 0x20)?;
        if rest.as_bytes()[len] != b'"' {
            return None;
        }
        self.at += len + 1;
        Some(&rest[..len])
    }

    /// An unsigned integer as JSON writes it: digits, no leading zero.
    fn number<T: FromStr>(&mut self) -> Option<T> {
        let rest = self.rest();
        let len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let digits = &rest[..len];
        if len == 0 || (len > 1 && digits.starts_with('0')) {
            return None;
        }
        if rest[len..].starts_with(['.', 'e', 'E']) {
            return None; // a float: serde refuses it for an integer field
        }
        let n = digits.parse().ok()?;
        self.at += len;
        Some(n)
    }

    /// A unit variant of a serde enum, by the name serde writes for it.
    fn word<T: Deserialize<'a>>(&mut self) -> Option<T> {
        let word = self.string()?;
        T::deserialize(BorrowedStrDeserializer::<WordError>::new(word)).ok()
    }

    fn address(&mut self) -> Option<IpAddr> {
        self.string()?.parse().ok()
    }

    /// `null`, or what `read` reads.
    fn or_null<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.eat("null") {
            Some(None)
        } else {
            read(self).map(Some)
        }
    }

    /// One JSON value parsed by serde, for the parts read whole (the host, a namespace, facts):
    /// a parser of its own each time, so not for what every socket has.
    fn value<T: Deserialize<'a>>(&mut self) -> Option<T> {
        let mut values = serde_json::Deserializer::from_str(self.rest()).into_iter::<T>();
        let value = values.next()?.ok()?;
        self.at += values.byte_offset();
        Some(value)
    }

    fn owners(&mut self, seen: &mut Seen<'a>) -> Option<Owners> {
        if self.eat("[]") {
            return Some(seen.no_owners.clone());
        }
        let rest = self.rest();
        let pid: u32 = {
            let mut first = Cursor { text: rest, at: 0 };
            first.literal(r#"[{"pid":"#)?;
            first.number()?
        };
        let known = seen.owners.entry(pid).or_default();
        // A list whose text this socket's begins with is this socket's: a complete JSON array
        // ends at the same bracket whatever follows it.
        if let Some((text, owners)) = known.iter().find(|(text, _)| rest.starts_with(text)) {
            self.at += text.len();
            return Some(owners.clone());
        }
        let start = self.at;
        let owners = Owners::from(self.value::<Vec<Owner>>()?);
        if known.len() < LISTS_PER_PID {
            known.push((&self.text[start..self.at], owners.clone()));
        }
        Some(owners)
    }

    fn user(&mut self, seen: &mut Seen<'a>) -> Option<Arc<str>> {
        let name = self.string()?;
        Some(
            seen.users
                .entry(name)
                .or_insert_with(|| name.into())
                .clone(),
        )
    }

    fn socket(&mut self, seen: &mut Seen<'a>) -> Option<Socket> {
        self.literal(r#"{"protocol":"#)?;
        let protocol = self.word()?;
        self.literal(r#","family":"#)?;
        let family = self.word()?;
        self.literal(r#","local_addr":"#)?;
        let local_addr = self.address()?;
        self.literal(r#","local_port":"#)?;
        let local_port = self.number()?;
        self.literal(r#","remote_addr":"#)?;
        let remote_addr = self.or_null(Self::address)?;
        self.literal(r#","remote_port":"#)?;
        let remote_port = self.or_null(Self::number)?;
        self.literal(r#","state":"#)?;
        let state = self.word()?;
        self.literal(r#","inode":"#)?;
        let inode = self.number()?;
        self.literal(r#","owners":"#)?;
        let owners = self.owners(seen)?;
        self.literal(r#","owner_unknown":"#)?;
        let owner_unknown = self.or_null(Self::word)?;
        self.literal(r#","uid":"#)?;
        let uid = self.or_null(Self::number)?;
        self.literal(r#","user":"#)?;
        let user = self.or_null(|at| at.user(seen))?;
        self.literal(r#","netns":"#)?;
        let netns = self.or_null(Self::value::<NetNs>)?;
        self.literal("}")?;
        Some(Socket {
            protocol,
            family,
            local_addr,
            local_port,
            remote_addr,
            remote_port,
            state,
            inode,
            owners,
            owner_unknown,
            uid,
            user,
            netns,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockets::fixtures::{arbitrary_socket, owner, snapshot, tcp};
    use crate::sockets::FixtureCollector;
    use crate::text::{write_json_as, SafeJsonFormatter};
    use proptest::prelude::*;

    /// A snapshot file as `portscope snapshot` lays it out: the snapshot's fields, then the
    /// owners' facts and the hints.
    fn file(snapshot: &Snapshot, layout: SafeJsonFormatter) -> String {
        #[derive(serde::Serialize)]
        struct File<'a> {
            #[serde(flatten)]
            snapshot: &'a Snapshot,
            facts: serde_json::Value,
            hints: Vec<serde_json::Value>,
        }
        let mut bytes = Vec::new();
        let file = File {
            snapshot,
            facts: serde_json::json!({"owners": {"10": {"unit": "nginx.service"}}}),
            hints: vec![serde_json::json!({"socket": 0, "hints": [{"id": "x"}]})],
        };
        write_json_as(&mut bytes, &file, layout).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    proptest! {
        /// Whatever the sockets hold, the written form reads back what serde reads, or steps
        /// aside; and a file with no escaped string is always read here.
        #[test]
        fn the_written_form_reads_what_serde_reads(
            sockets in proptest::collection::vec(arbitrary_socket(), 0..8),
        ) {
            let written = snapshot(sockets);
            let text = file(&written, SafeJsonFormatter::compact());
            let by_serde: Snapshot = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&by_serde, &written);
            match read(&text) {
                Some(read) => {
                    prop_assert_eq!(read.snapshot, by_serde);
                    prop_assert_eq!(read.facts, Some(serde_json::from_str::<serde_json::Value>(&text).unwrap()["facts"].clone()));
                }
                None => prop_assert!(text.contains('\\'), "a plain file was left to serde: {text}"),
            }
        }
    }

    fn two_servers() -> Snapshot {
        let nginx = owner(10, "nginx", 33, "/usr/sbin/nginx");
        let mut sockets = vec![
            tcp("0.0.0.0", 80, nginx.clone()),
            tcp("0.0.0.0", 443, nginx),
            tcp("127.0.0.1", 22, owner(11, "sshd", 0, "/usr/sbin/sshd")),
        ];
        for s in &mut sockets {
            s.user = Some("www".into());
        }
        snapshot(sockets)
    }

    #[test]
    fn repeated_owners_and_users_are_read_once_and_shared() {
        let text = file(&two_servers(), SafeJsonFormatter::compact());
        let read = read(&text).expect("portscope's own form").snapshot;
        assert_eq!(read, two_servers());
        let s = &read.sockets;
        assert!(Arc::ptr_eq(&s[0].owners.0, &s[1].owners.0));
        assert!(!Arc::ptr_eq(&s[0].owners.0, &s[2].owners.0));
        assert!(Arc::ptr_eq(
            s[0].user.as_ref().unwrap(),
            s[2].user.as_ref().unwrap()
        ));
    }

    #[test]
    fn any_other_form_is_left_to_serde_and_reads_the_same() {
        let compact = file(&two_servers(), SafeJsonFormatter::compact());
        let indented = file(&two_servers(), SafeJsonFormatter::default());
        let reordered = compact.replacen(
            r#"{"protocol":"tcp","family":"v4""#,
            r#"{"family":"v4","protocol":"tcp""#,
            1,
        );
        let newer = compact.replacen(
            &format!(r#""schema_version":{SCHEMA_VERSION}"#),
            &format!(r#""schema_version":{}"#, SCHEMA_VERSION + 1),
            1,
        );
        let twice = compact.replacen(r#","facts":"#, r#","facts":null,"facts":"#, 1);
        let truncated = &compact[..compact.len() / 2];
        let padded_number = compact.replacen(r#""local_port":80,"#, r#""local_port":080,"#, 1);
        for other in [
            &indented,
            &reordered,
            &newer,
            &twice,
            truncated,
            &padded_number,
        ] {
            assert!(read(other).is_none(), "{other}");
        }
        for same in [&indented, &reordered] {
            let by_serde = FixtureCollector::from_json(same.as_bytes(), "test").unwrap();
            assert_eq!(by_serde.snapshot, two_servers());
        }
        // The errors are serde's, as before.
        let error = |text: &str| {
            FixtureCollector::from_json(text.as_bytes(), "t")
                .err()
                .unwrap()
                .to_string()
        };
        assert!(
            error(&newer).contains("newer than this portscope"),
            "{}",
            error(&newer)
        );
        assert!(
            error(truncated).contains("truncated"),
            "{}",
            error(truncated)
        );
        assert!(
            error(&padded_number).contains("not valid JSON"),
            "{}",
            error(&padded_number)
        );
    }
}
