//! Collecting a [`Snapshot`](super::Snapshot): the [`Collector`] seam, the real
//! [`SystemCollector`], and a [`FixtureCollector`] that replays a saved snapshot.
//! (Filled in by the live-sockets work.)

use super::Snapshot;

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{0}")]
    Failed(String),
}

pub trait Collector {
    fn collect(&mut self) -> Result<Snapshot, CollectError>;
}

pub struct SystemCollector;

pub struct FixtureCollector {
    pub snapshot: Snapshot,
}

impl Collector for FixtureCollector {
    fn collect(&mut self) -> Result<Snapshot, CollectError> {
        Ok(self.snapshot.clone())
    }
}
