//! Search costs a user feels, over the registry, the known uses and the aliases together: building
//! the engine, what one `portscope search` pays in-process (a new engine and its one search), a
//! fresh query on a warm engine, and a query typed key by key as the explorer runs it (one search
//! per keystroke on one engine). Floor: ≤ 3 ms median per keystroke. The whole process (start,
//! print, exit) is measured by `scripts/bench-search.sh`.
//! Run: `cargo bench --bench search`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use portscope::registry::Registry;
use portscope::search::{Engine, Query};

fn build(c: &mut Criterion) {
    let reg = Registry::embedded();
    // Warm the embedded tables once, as a session does.
    black_box(Engine::new(&reg));
    c.bench_function("search/engine_new", |b| {
        b.iter(|| black_box(Engine::new(&reg)))
    });
    let redis = Query::parse("redis").unwrap();
    c.bench_function("search/one_shot/redis", |b| {
        b.iter(|| black_box(Engine::new(&reg).search(&redis, None, 20)))
    });
}

fn fresh(c: &mut Criterion) {
    let reg = Registry::embedded();
    let engine = Engine::new(&reg);
    for q in [
        "redis",
        "remote desktop",
        "elasticsearh",
        "s",
        "3389",
        "3000-3100",
    ] {
        let query = Query::parse(q).unwrap();
        c.bench_function(&format!("search/fresh/{q}"), |b| {
            b.iter(|| black_box(engine.search(&query, None, 50)))
        });
    }
}

/// Each step is one keystroke; the figure per keystroke is the time per iteration divided by the
/// number of keys.
fn typing(c: &mut Criterion) {
    let reg = Registry::embedded();
    let engine = Engine::new(&reg);
    for phrase in ["postgres", "node exporter", "remote desktop"] {
        let steps: Vec<Query> = (1..=phrase.len())
            .filter_map(|n| Query::parse(&phrase[..n]).ok())
            .collect();
        let keys = steps.len();
        c.bench_function(&format!("search/keystroke/{phrase}"), |b| {
            b.iter_custom(|iters| {
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    for q in &steps {
                        black_box(engine.search(q, None, 2000));
                    }
                }
                start.elapsed() / keys as u32
            })
        });
    }
}

criterion_group!(benches, build, fresh, typing);
criterion_main!(benches);
