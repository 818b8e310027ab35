//! Registry costs a user feels: loading the embedded registry (every command pays it), a port
//! lookup, and the known-uses table a lookup reads. Search costs are in benches/search.rs.
//! Run: `cargo bench --bench registry`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
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

fn known(c: &mut Criterion) {
    // What `lookup PORT` pays for the knowledge on every start: reading the table build.rs split
    // into fields. Parsing and checking the CSV itself (the test suite's cost, before the build
    // script did it) for comparison.
    c.bench_function("known/read_embedded", |b| {
        b.iter(|| black_box(portscope::known::read_embedded()))
    });
    c.bench_function("known/parse_csv", |b| {
        b.iter(|| black_box(portscope::known::parse(portscope::known::EMBEDDED_CSV).unwrap()))
    });
}

criterion_group!(benches, load, lookup, known);
criterion_main!(benches);
