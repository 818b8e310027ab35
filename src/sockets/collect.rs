//! Collecting a [`Snapshot`](super::Snapshot): the [`Collector`] seam, the real
//! [`SystemCollector`], and a [`FixtureCollector`] that replays a saved snapshot.
//! (Filled in by the live-sockets work.)

use super::Snapshot;

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{0}")]
    Failed(String),
}

/// The seam between data and front ends: the TUI refreshes through it, tests and `view` replay a
/// saved snapshot through it.
pub trait Collector: Send {
    fn collect(&mut self) -> Result<Snapshot, CollectError>;
}

/// What a collection should include.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectOptions {
    /// Every connection too, not only TCP listeners and unconnected UDP sockets.
    pub include_connections: bool,
}

/// Collects from this machine (netlink + /proc). Keep one for repeated refreshes: it caches.
pub struct SystemCollector {
    pub options: CollectOptions,
}

impl SystemCollector {
    pub fn new(options: CollectOptions) -> SystemCollector {
        SystemCollector { options }
    }
}

impl Collector for SystemCollector {
    fn collect(&mut self) -> Result<Snapshot, CollectError> {
        Err(CollectError::Failed(
            "live collection is not built yet".into(),
        ))
    }
}

pub struct FixtureCollector {
    pub snapshot: Snapshot,
}

impl Collector for FixtureCollector {
    fn collect(&mut self) -> Result<Snapshot, CollectError> {
        Ok(self.snapshot.clone())
    }
}
