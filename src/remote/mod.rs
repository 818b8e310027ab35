//! Beyond this host: collecting another host's sockets — the collector stream (`stream`, spoken
//! by the hidden `portscope collector` subcommand) and the ssh transport that runs it remotely
//! (`ssh`) — and many hosts' snapshots compared (`fleet`).
//!
//! Sits beside `sockets` (it produces the same [`Snapshot`](crate::sockets::Snapshot)s) and below
//! `commands`; it must not apply the registry, known uses or hints (the local side does) nor touch
//! the terminal.

pub mod fleet;
pub mod ssh;
pub mod stream;
