//! Which socket of a snapshot was which of the one before: what a refresh carries over (the
//! flags of an unchanged socket, a row's age and selection). Worked out once per refresh, on the
//! collector's thread, and used by both the assessment and the explorer's rows.

use rustc_hash::FxHashMap;

use super::{Socket, SocketKey};

/// A socket's counterpart in the previous snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Previous {
    /// Its index among the previous snapshot's sockets.
    pub at: u32,
    /// Equal there in every field (state, owners, user…), not only the same socket.
    pub unchanged: bool,
}

/// For each socket of `now`, the same socket in `before`, if it was there; each of `before` is
/// taken at most once. "The same" is the same addresses, namespace and inode: the kernel gives
/// each open socket an inode of its own, but reuses it once the socket closes, and a TIME-WAIT
/// socket has none.
///
/// A collector lists its sockets in one order (port, then address), so from one refresh to the
/// next nearly every socket is where the one after the last match was: that is tried first, in
/// one pass over both lists, and a map of `before` is built only when a socket is not there
/// (one appeared or closed, or the lists are in no order at all).
pub fn match_previous(before: &[Socket], now: &[Socket]) -> Vec<Option<Previous>> {
    let mut taken = vec![false; before.len()];
    let mut index: Option<Index> = None;
    let mut next = 0;
    now.iter()
        .map(|socket| {
            let here = before.get(next).filter(|_| !taken[next]);
            // Most often the next one is the same socket, equal in every field: one comparison.
            let (at, unchanged) = match here {
                Some(b) if b == socket => (next, true),
                Some(b) if same_socket(b, socket) => (next, false),
                _ => {
                    let index = index.get_or_insert_with(|| Index::new(before));
                    // A socket listed twice (the kernel can, when one moves while it dumps) is
                    // matched once; the second copy is new.
                    let at = index.find(before, socket).filter(|&at| !taken[at])?;
                    (at, before[at] == *socket)
                }
            };
            taken[at] = true;
            next = at + 1;
            Some(Previous {
                at: at as u32,
                unchanged,
            })
        })
        .collect()
}

fn same_socket(a: &Socket, b: &Socket) -> bool {
    a.inode == b.inode && a.key() == b.key()
}

/// `before` by inode; by the whole identity for the sockets without one and any inode listed
/// twice.
struct Index {
    by_inode: FxHashMap<u64, usize>,
    by_id: FxHashMap<(SocketKey, u64), usize>,
}

impl Index {
    fn new(before: &[Socket]) -> Index {
        let mut by_inode = FxHashMap::default();
        by_inode.reserve(before.len());
        let mut by_id = FxHashMap::default();
        for (at, s) in before.iter().enumerate() {
            if s.inode == 0 || by_inode.insert(s.inode, at).is_some() {
                by_id.entry((s.key(), s.inode)).or_insert(at);
            }
        }
        Index { by_inode, by_id }
    }

    fn find(&self, before: &[Socket], socket: &Socket) -> Option<usize> {
        let by_inode = (socket.inode != 0)
            .then(|| self.by_inode.get(&socket.inode).copied())
            .flatten()
            .filter(|&at| same_socket(&before[at], socket));
        by_inode.or_else(|| {
            self.by_id
                .get(&(socket.key(), socket.inode))
                .copied()
                .filter(|&at| same_socket(&before[at], socket))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockets::fixtures;

    fn listener(port: u16, inode: u64) -> Socket {
        let owner = fixtures::owner(100, "srv", 0, "/usr/sbin/srv");
        let mut socket = fixtures::tcp("0.0.0.0", port, owner);
        socket.inode = inode;
        socket
    }

    fn at(found: &[Option<Previous>]) -> Vec<Option<u32>> {
        found.iter().map(|p| p.map(|p| p.at)).collect()
    }

    #[test]
    fn sockets_are_found_where_they_were_whatever_came_and_went() {
        let s = listener;
        let before = vec![s(22, 1), s(80, 2), s(443, 3), s(8080, 4)];
        // 80 closed, 81 opened, 8080 moved in the list (an unsorted file).
        let now = vec![s(8080, 4), s(22, 1), s(81, 5), s(443, 3)];
        let found = match_previous(&before, &now);
        assert_eq!(at(&found), vec![Some(3), Some(0), None, Some(2)]);
        assert!(found.iter().flatten().all(|p| p.unchanged));
    }

    #[test]
    fn an_inode_reused_by_another_socket_is_a_new_socket() {
        let before = vec![listener(80, 7)];
        let now = vec![listener(81, 7)];
        assert_eq!(at(&match_previous(&before, &now)), vec![None]);
    }

    #[test]
    fn sockets_without_an_inode_are_matched_by_their_addresses_each_once() {
        let mut a = listener(80, 0);
        a.remote_addr = Some("10.0.0.1".parse().unwrap());
        a.remote_port = Some(5000);
        let mut b = a.clone();
        b.remote_port = Some(5001);
        let before = vec![a.clone(), b.clone()];
        // Listed twice now: the second copy is new.
        let now = vec![b.clone(), a.clone(), a.clone()];
        assert_eq!(
            at(&match_previous(&before, &now)),
            vec![Some(1), Some(0), None]
        );
    }

    #[test]
    fn a_socket_whose_owners_changed_is_the_same_socket_changed() {
        let before = vec![listener(22, 1)];
        let mut now = before.clone();
        now[0].owners = Default::default();
        let found = match_previous(&before, &now);
        assert_eq!(
            found,
            vec![Some(Previous {
                at: 0,
                unchanged: false
            })]
        );
    }
}
