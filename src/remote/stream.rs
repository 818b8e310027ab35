//! The collector stream: what `portscope collector` writes on the remote side and what the local
//! side reads back into a [`Snapshot`]. Newline-delimited JSON, one [`Message`] a line: a hello,
//! one full snapshot, then only what changed (sockets opened, closed or changed, and the host facts
//! when they change), with a small heartbeat while nothing does. An idle server with a thousand
//! listeners thus costs a few bytes a second instead of a snapshot per refresh.
//!
//! The other way, the local side writes requests on the collector's standard input, one line
//! each: `connections on` / `connections off` (the explorer's `a`: every socket, or listeners
//! only). Anything else is ignored; the input's end stops the collector.
//!
//! Owns the wire format only: no ssh, no threads, no terminal. Text inside is raw (escaped by the
//! printers, as for any snapshot).

use std::collections::HashMap;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::sockets::{HostInfo, Snapshot, Socket, SocketKey};

/// Bump when a message changes meaning; both sides must speak the same version (a remote
/// portscope with another one is not used: this binary is uploaded instead).
/// Version 2: the collector takes requests on its standard input (`connections on|off`).
pub const PROTOCOL: u32 = 2;

/// Written when nothing changed for this long, so the local side can tell a quiet server from a
/// dead connection.
pub const HEARTBEAT_SECS: u64 = 5;

/// One line of the stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Message {
    Hello {
        protocol: u32,
        version: String,
    },
    /// The whole state: the first message, and again whenever the collector starts over.
    Full(Snapshot),
    Delta(Delta),
    /// Nothing changed; the remote clock's time of the collection.
    Beat(u64),
    /// A collection failed on the remote side (the stream goes on).
    Error(String),
}

/// What changed since the previous message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Delta {
    /// When the remote collected, on its clock.
    pub taken_at: u64,
    /// The host facts, only when something other than the time changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub opened: Vec<Socket>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closed: Vec<Identity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<Socket>,
}

/// What tells one socket from another across collections: its addresses and its kernel inode (two
/// `SO_REUSEPORT` listeners share the addresses, not the inode).
pub type Identity = (SocketKey, u64);

fn identity(s: &Socket) -> Identity {
    (s.key(), s.inode)
}

/// The remote side: turns successive snapshots into the messages to send.
#[derive(Default)]
pub struct Encoder {
    last: Option<Snapshot>,
    index: HashMap<Identity, usize>,
    /// Remote-clock seconds of the last message written.
    last_sent: u64,
}

impl Encoder {
    /// The message for `snapshot`, or `None` when nothing changed and no heartbeat is due.
    pub fn next(&mut self, snapshot: Snapshot) -> Option<Message> {
        let now = snapshot.host.taken_at;
        let message = match &self.last {
            None => Some(Message::Full(snapshot.clone())),
            Some(last) => {
                let delta = self.delta(last, &snapshot);
                let quiet = delta.host.is_none()
                    && delta.opened.is_empty()
                    && delta.closed.is_empty()
                    && delta.changed.is_empty();
                if !quiet {
                    Some(Message::Delta(delta))
                } else if now.saturating_sub(self.last_sent) >= HEARTBEAT_SECS
                    || now < self.last_sent
                {
                    Some(Message::Beat(now))
                } else {
                    None
                }
            }
        };
        if message.is_some() {
            self.last_sent = now;
        }
        self.index = snapshot
            .sockets
            .iter()
            .enumerate()
            .map(|(i, s)| (identity(s), i))
            .collect();
        self.last = Some(snapshot);
        message
    }

    fn delta(&self, last: &Snapshot, now: &Snapshot) -> Delta {
        let mut delta = Delta {
            taken_at: now.host.taken_at,
            ..Delta::default()
        };
        let same_host = HostInfo {
            taken_at: now.host.taken_at,
            ..last.host.clone()
        } == now.host;
        if !same_host {
            delta.host = Some(now.host.clone());
        }
        let mut seen = std::collections::HashSet::with_capacity(now.sockets.len());
        for socket in &now.sockets {
            let id = identity(socket);
            seen.insert(id);
            match self.index.get(&id) {
                None => delta.opened.push(socket.clone()),
                Some(&i) if last.sockets[i] != *socket => delta.changed.push(socket.clone()),
                Some(_) => {}
            }
        }
        delta.closed = last
            .sockets
            .iter()
            .map(identity)
            .filter(|id| !seen.contains(id))
            .collect();
        delta
    }
}

/// Write one message as one line, flushed: the reader acts on whole lines.
pub fn write_message(out: &mut impl Write, message: &Message) -> io::Result<()> {
    serde_json::to_writer(&mut *out, message)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// The request line that switches connections on or off.
pub fn connections_request(on: bool) -> &'static str {
    if on {
        "connections on\n"
    } else {
        "connections off\n"
    }
}

/// A request line read by the collector: `Some(on)` for a connections switch, `None` for
/// anything else (ignored, so a later version's requests do not break this one).
pub fn parse_request(line: &[u8]) -> Option<bool> {
    match line.trim_ascii() {
        b"connections on" => Some(true),
        b"connections off" => Some(false),
        _ => None,
    }
}

/// Why a line of the stream could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("the remote collector sent something that is not its stream ({0})")]
    Garbled(String),
    #[error("the remote collector sent a change before any snapshot")]
    NoBase,
    #[error("the remote portscope speaks stream protocol {0}, this one {PROTOCOL}")]
    Protocol(u32),
}

/// The local side: the remote state rebuilt from the messages.
#[derive(Debug, Default)]
pub struct Mirror {
    host: Option<HostInfo>,
    sockets: HashMap<Identity, Socket>,
    /// The last error the remote reported, cleared by the next good collection.
    pub remote_error: Option<String>,
}

impl Mirror {
    /// Apply one line of the stream.
    pub fn apply_line(&mut self, line: &[u8]) -> Result<(), StreamError> {
        let message: Message = serde_json::from_slice(line).map_err(|e| {
            let shown = String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned();
            StreamError::Garbled(format!("{e}: {}", crate::text::escape(&shown)))
        })?;
        self.apply(message)
    }

    pub fn apply(&mut self, message: Message) -> Result<(), StreamError> {
        match message {
            Message::Hello { protocol, .. } if protocol != PROTOCOL => {
                return Err(StreamError::Protocol(protocol))
            }
            Message::Hello { .. } => {}
            Message::Full(snapshot) => {
                self.sockets = snapshot
                    .sockets
                    .into_iter()
                    .map(|s| (identity(&s), s))
                    .collect();
                self.host = Some(snapshot.host);
                self.remote_error = None;
            }
            Message::Delta(delta) => {
                let host = self.host.as_mut().ok_or(StreamError::NoBase)?;
                if let Some(new) = delta.host {
                    *host = new;
                }
                host.taken_at = delta.taken_at;
                for id in &delta.closed {
                    self.sockets.remove(id);
                }
                for s in delta.opened.into_iter().chain(delta.changed) {
                    self.sockets.insert(identity(&s), s);
                }
                self.remote_error = None;
            }
            Message::Beat(at) => {
                self.host.as_mut().ok_or(StreamError::NoBase)?.taken_at = at;
                self.remote_error = None;
            }
            Message::Error(e) => self.remote_error = Some(e),
        }
        Ok(())
    }

    /// Whether the remote state holds connections too; `None` before the first snapshot.
    pub fn includes_connections(&self) -> Option<bool> {
        self.host.as_ref().map(|h| h.includes_connections)
    }

    /// The state as a snapshot, sorted as a local collection is; `None` before the first one.
    pub fn snapshot(&self) -> Option<Snapshot> {
        let host = self.host.clone()?;
        let mut sockets: Vec<Socket> = self.sockets.values().cloned().collect();
        crate::sockets::sort_for_listing(&mut sockets);
        Some(Snapshot {
            schema_version: crate::sockets::SCHEMA_VERSION,
            host,
            sockets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockets::fixtures;

    fn snapshot_at(taken_at: u64, sockets: Vec<Socket>) -> Snapshot {
        let mut s = fixtures::snapshot(sockets);
        s.host.taken_at = taken_at;
        s
    }

    fn through_the_wire(message: &Message) -> Vec<u8> {
        let mut line = Vec::new();
        write_message(&mut line, message).unwrap();
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1, "one line");
        line
    }

    #[test]
    fn changes_only_rebuild_the_same_snapshot() {
        let a = fixtures::tcp(
            "0.0.0.0",
            22,
            fixtures::owner(100, "sshd", 0, "/usr/sbin/sshd"),
        );
        let b = fixtures::tcp(
            "0.0.0.0",
            80,
            fixtures::owner(200, "nginx", 33, "/usr/sbin/nginx"),
        );
        let c = fixtures::tcp(
            "127.0.0.1",
            5432,
            fixtures::owner(300, "postgres", 5, "/usr/bin/pg"),
        );
        let mut b2 = b.clone();
        b2.owners[0].name = "apache2".into();
        let states = [
            snapshot_at(100, vec![a.clone(), b.clone()]),
            snapshot_at(101, vec![a.clone(), b.clone()]),
            snapshot_at(102, vec![a.clone(), b2.clone(), c.clone()]),
            snapshot_at(103, vec![b2.clone()]),
        ];
        let mut encoder = Encoder::default();
        let mut mirror = Mirror::default();
        let mut sent = Vec::new();
        for state in &states {
            let message = encoder.next(state.clone());
            if let Some(m) = &message {
                mirror
                    .apply_line(through_the_wire(m).trim_ascii_end())
                    .unwrap();
                assert_eq!(mirror.snapshot().unwrap().sockets, state.sockets);
            }
            sent.push(message);
        }
        assert!(matches!(sent[0], Some(Message::Full(_))));
        assert_eq!(sent[1], None, "nothing changed, no heartbeat due yet");
        let Some(Message::Delta(d)) = &sent[2] else {
            panic!("{:?}", sent[2])
        };
        assert_eq!((d.opened.len(), d.changed.len(), d.closed.len()), (1, 1, 0));
        let Some(Message::Delta(d)) = &sent[3] else {
            panic!("{:?}", sent[3])
        };
        assert_eq!((d.opened.len(), d.changed.len(), d.closed.len()), (0, 0, 2));
        assert_eq!(mirror.snapshot().unwrap().host.taken_at, 103);
    }

    #[test]
    fn a_quiet_host_sends_a_heartbeat_now_and_then() {
        let a = fixtures::tcp(
            "0.0.0.0",
            22,
            fixtures::owner(100, "sshd", 0, "/usr/sbin/sshd"),
        );
        let mut encoder = Encoder::default();
        assert!(encoder.next(snapshot_at(100, vec![a.clone()])).is_some());
        let quiet: Vec<Option<Message>> = (101..=110)
            .map(|t| encoder.next(snapshot_at(t, vec![a.clone()])))
            .collect();
        let beats: Vec<&Message> = quiet.iter().flatten().collect();
        assert_eq!(
            beats,
            [
                &Message::Beat(100 + HEARTBEAT_SECS),
                &Message::Beat(100 + 2 * HEARTBEAT_SECS)
            ]
        );
    }

    #[test]
    fn requests_round_trip_and_unknown_ones_are_ignored() {
        for on in [true, false] {
            assert_eq!(parse_request(connections_request(on).as_bytes()), Some(on));
        }
        assert_eq!(parse_request(b"connections maybe\n"), None);
        assert_eq!(parse_request(b""), None);
    }

    #[test]
    fn a_change_before_a_snapshot_or_garbage_is_an_error_not_a_panic() {
        let mut mirror = Mirror::default();
        assert!(matches!(
            mirror.apply(Message::Beat(1)),
            Err(StreamError::NoBase)
        ));
        let err = mirror.apply_line(b"Last login: \x1b[1mtoday").unwrap_err();
        assert!(err.to_string().contains("\\x1b"), "{err}");
        let old = Message::Hello {
            protocol: PROTOCOL + 1,
            version: "9".into(),
        };
        assert!(matches!(mirror.apply(old), Err(StreamError::Protocol(_))));
        assert!(mirror.snapshot().is_none());
    }
}
