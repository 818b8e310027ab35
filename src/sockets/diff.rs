//! Comparing two snapshots. (Filled in by the snapshots work.)
