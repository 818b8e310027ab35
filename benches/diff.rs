//! `portscope diff` on a busy host's snapshots: 100,000 listeners each, with 1% of them closed,
//! opened, widened from loopback to every interface, and taken over by another program. What is
//! timed is the command's work between reading and printing: every socket's hints in both
//! snapshots, and the pairing of old and new listeners. Goal: ≤ 0.2 s (it was quadratic: 73 s).
//!
//! Run: `cargo bench --bench diff`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use portscope::registry::Registry;

#[path = "support/drifted.rs"]
mod drifted;
use drifted::{drifted_pair, LISTENERS};

fn bench(c: &mut Criterion) {
    let registry = Registry::embedded();
    let (old, new) = drifted_pair();
    let changes = portscope::commands::diff_changes(&registry, &old, &new);
    assert_eq!(changes.closed.len(), (LISTENERS / 100) as usize);
    assert_eq!(changes.opened.len(), (LISTENERS / 100) as usize);
    let mut group = c.benchmark_group("diff");
    group.sample_size(10);
    group.bench_function("100k_listeners", |b| {
        b.iter(|| portscope::commands::diff_changes(black_box(&registry), &old, &new))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
