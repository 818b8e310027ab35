//! Collecting another host's sockets: the collector stream (`stream`, spoken by the hidden
//! `portscope collector` subcommand) and the ssh transport that runs it remotely (`ssh`).
//!
//! Sits beside `sockets` (it produces the same [`Snapshot`](crate::sockets::Snapshot)s) and below
//! `commands`; it must not apply the registry, known uses or hints (the local side does) nor touch
//! the terminal.

pub mod ssh;
pub mod stream;
