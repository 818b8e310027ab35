//! One copy of each owners list and user name while a snapshot file is parsed. A snapshot of
//! 100,000 listeners names the same few processes 100,000 times; parsing each mention into
//! strings of its own was most of what `diff` spent and half of its memory. Within
//! [`while_parsing`], an owners list is read as its JSON text first, and text seen before (in
//! the same file) gives back the list already parsed from it: the same text parses to the same
//! value, so nothing but the number of copies changes. The collector builds its sharing itself.
//!
//! Owns only this cache; the model's types stay in `sockets`, the file format in `collect`.

use std::cell::RefCell;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::de::{Deserialize, Deserializer, Error};
use serde_json::value::RawValue;

use super::{Owner, Owners};

#[derive(Default)]
struct Seen {
    owners: FxHashMap<Box<str>, Owners>,
    users: FxHashMap<Box<str>, Arc<str>>,
}

thread_local! {
    /// Set on this thread while [`while_parsing`] runs; each thread parses its own file.
    static SEEN: RefCell<Option<Seen>> = const { RefCell::new(None) };
}

/// Run `parse` (which must read borrowed JSON: `serde_json::from_str` or `from_slice`, so the
/// owners' text can be looked at in place) sharing repeated owners and users.
pub(crate) fn while_parsing<T>(parse: impl FnOnce() -> T) -> T {
    /// Ends the sharing however `parse` ends, so no later parse on this thread inherits it.
    struct Reset(Option<Seen>);
    impl Drop for Reset {
        fn drop(&mut self) {
            SEEN.with(|seen| *seen.borrow_mut() = self.0.take());
        }
    }
    let outer = SEEN.with(|seen| seen.borrow_mut().replace(Seen::default()));
    let _reset = Reset(outer);
    parse()
}

fn sharing() -> bool {
    SEEN.with(|seen| seen.borrow().is_some())
}

/// An owners list: parsed once per distinct text while sharing, as a plain list otherwise.
pub(super) fn owners<'de, D: Deserializer<'de>>(d: D) -> Result<Owners, D::Error> {
    if !sharing() {
        return Vec::<Owner>::deserialize(d).map(Owners::from);
    }
    let text = <&RawValue>::deserialize(d)?.get();
    let known = SEEN.with(|seen| {
        seen.borrow()
            .as_ref()
            .and_then(|s| s.owners.get(text).cloned())
    });
    if let Some(owners) = known {
        return Ok(owners);
    }
    let owners = Owners::from(serde_json::from_str::<Vec<Owner>>(text).map_err(D::Error::custom)?);
    SEEN.with(|seen| {
        if let Some(s) = seen.borrow_mut().as_mut() {
            s.owners.insert(text.into(), owners.clone());
        }
    });
    Ok(owners)
}

/// A socket's user name: one shared copy per name while sharing.
pub(super) fn user<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Arc<str>>, D::Error> {
    if !sharing() {
        return Option::<Arc<str>>::deserialize(d);
    }
    let Some(text) = Option::<&RawValue>::deserialize(d)?.map(RawValue::get) else {
        return Ok(None);
    };
    let known = SEEN.with(|seen| {
        seen.borrow()
            .as_ref()
            .and_then(|s| s.users.get(text).cloned())
    });
    if let Some(name) = known {
        return Ok(Some(name));
    }
    let name: Arc<str> = serde_json::from_str::<String>(text)
        .map_err(D::Error::custom)?
        .into();
    SEEN.with(|seen| {
        if let Some(s) = seen.borrow_mut().as_mut() {
            s.users.insert(text.into(), name.clone());
        }
    });
    Ok(Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockets::fixtures::{owner, snapshot, tcp};
    use crate::sockets::{FixtureCollector, Snapshot};

    /// Two listeners of one process (whose name holds characters JSON escapes), one of another.
    fn three_listeners() -> Snapshot {
        let odd = owner(10, "we\"b\u{1b}[31m\\", 33, "/usr/sbin/nginx");
        let mut a = tcp("0.0.0.0", 80, odd.clone());
        let mut b = tcp("0.0.0.0", 443, odd);
        let mut c = tcp("127.0.0.1", 22, owner(11, "sshd", 0, "/usr/sbin/sshd"));
        for s in [&mut a, &mut b, &mut c] {
            s.user = Some("wéb\n".into());
        }
        c.user = None;
        snapshot(vec![a, b, c])
    }

    #[test]
    fn a_parsed_snapshot_shares_repeated_owners_and_equals_the_written_one() {
        let written = three_listeners();
        let bytes = serde_json::to_vec(&written).unwrap();
        let read = FixtureCollector::from_json(&bytes, "test")
            .unwrap()
            .snapshot;
        assert_eq!(read, written);
        let s = &read.sockets;
        assert!(Arc::ptr_eq(&s[0].owners.0, &s[1].owners.0));
        assert!(!Arc::ptr_eq(&s[0].owners.0, &s[2].owners.0));
        assert!(Arc::ptr_eq(
            s[0].user.as_ref().unwrap(),
            s[1].user.as_ref().unwrap()
        ));
        // Outside a snapshot file's parse nothing is shared (and nothing is left cached).
        let plain: Snapshot = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(plain, written);
        assert!(!Arc::ptr_eq(
            &plain.sockets[0].owners.0,
            &plain.sockets[1].owners.0
        ));
        assert!(!sharing());
    }

    #[test]
    fn a_bad_owner_in_a_snapshot_is_reported_as_before() {
        let mut json = serde_json::to_value(three_listeners()).unwrap();
        json["sockets"][1]["owners"][0]["pid"] = "ten".into();
        let bytes = serde_json::to_vec(&json).unwrap();
        let error = FixtureCollector::from_json(&bytes, "test").err().unwrap();
        assert!(
            error.to_string().contains("not a valid snapshot"),
            "{error}"
        );
        assert!(!sharing());
    }
}
