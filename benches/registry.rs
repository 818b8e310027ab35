//! Registry costs a user feels: parsing the embedded CSV (every command pays it), a port lookup,
//! and a search keystroke, fresh and while typing. Run: `cargo bench --bench registry`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use portscope::registry::search::{Query, SearchIndex};
use portscope::registry::{Protocol, Registry};

fn load(c: &mut Criterion) {
    c.bench_function("registry/load_embedded", |b| {
        b.iter(|| black_box(Registry::embedded()))
    });
}

fn lookup(c: &mut Criterion) {
    let reg = Registry::embedded();
    c.bench_function("registry/by_port_3489", |b| {
        b.iter(|| black_box(reg.by_port(black_box(3489), None)))
    });
    c.bench_function("registry/report_289", |b| {
        b.iter(|| black_box(reg.report(black_box(289), None).unassigned_run))
    });
    c.bench_function("registry/service_name_6010_tcp", |b| {
        b.iter(|| black_box(reg.service_name(black_box(6010), Protocol::Tcp)))
    });
}

fn search(c: &mut Criterion) {
    let reg = Registry::embedded();
    c.bench_function("search/index_build", |b| {
        b.iter(|| black_box(SearchIndex::new(&reg)))
    });
    let mut index = SearchIndex::new(&reg);
    for q in ["redis", "remote desktop", "s", "3389", "3000-3100"] {
        let query = Query::parse(q).unwrap();
        c.bench_function(&format!("search/fresh/{q}"), |b| {
            b.iter(|| {
                index.forget_previous();
                black_box(index.search(&query, None, 50))
            })
        });
    }
    // A whole word typed key by key: what the explorer's search box costs per keystroke.
    let steps: Vec<Query> = [
        "p", "po", "pos", "post", "postg", "postgr", "postgre", "postgres",
    ]
    .iter()
    .map(|q| Query::parse(q).unwrap())
    .collect();
    c.bench_function("search/typing_postgres_8_keystrokes", |b| {
        b.iter(|| {
            index.forget_previous();
            for q in &steps {
                black_box(index.search(q, None, 50));
            }
        })
    });
}

criterion_group!(benches, load, lookup, search);
criterion_main!(benches);
