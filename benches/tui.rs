//! The explorer's hot path: a search keystroke (update + a full 120x40 redraw) with the whole
//! registry loaded and 10,000 sockets in the listener pane, moving the selection (which writes
//! out the selected socket's hints), and applying a refresh. Goal: ≤ 16 ms per keystroke.
//!
//! Run: `cargo bench --bench tui`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use portscope::registry::{Protocol, Registry};
use portscope::sockets::{Family, HostInfo, Owner, Snapshot, Socket, SocketState, SCHEMA_VERSION};
use portscope::tui::{draw, Action, App, Refresh, Scroll, Theme};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn ten_thousand_sockets() -> Snapshot {
    let sockets = (0..10_000u32)
        .map(|i| Socket {
            protocol: if i % 4 == 0 {
                Protocol::Udp
            } else {
                Protocol::Tcp
            },
            family: Family::V4,
            local_addr: IpAddr::V4(Ipv4Addr::new(127, 0, (i / 250) as u8, (i % 250) as u8 + 1)),
            local_port: 1024 + (i % 60_000) as u16,
            remote_addr: None,
            remote_port: None,
            state: if i % 4 == 0 {
                SocketState::Unconnected
            } else {
                SocketState::Listen
            },
            inode: u64::from(i) + 1,
            owners: vec![Owner {
                pid: 1000 + i % 50,
                name: format!("server-{}", i % 50),
                uid: Some(1000),
                user: Some("bench".into()),
                exe: Some(format!("/usr/bin/server-{}", i % 50)),
                exe_deleted: false,
                cmdline: vec![format!("server-{}", i % 50), "--serve".into()],
                start_time: Some(1_700_000_000),
                start_ticks: None,
                parent_pid: Some(1),
            }]
            .into(),
            owner_unknown: None,
            uid: Some(1000),
            user: Some("bench".into()),
            netns: None,
        })
        .collect();
    Snapshot {
        schema_version: SCHEMA_VERSION,
        host: HostInfo {
            hostname: "bench".into(),
            ..HostInfo::default()
        },
        sockets,
    }
}

fn bench_keystroke(c: &mut Criterion) {
    let registry: &'static Registry = Box::leak(Box::new(Registry::embedded()));
    let refresh = Refresh::assess(registry, ten_thousand_sockets());
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut scroll = Scroll::default();
    let theme = Theme { color: true };

    // An App in search mode with `typed` already typed (setup, not measured).
    let app_with = |typed: &str| {
        let mut app = App::new(registry, "bench", false, 2.0);
        app.update(Action::Refreshed(Box::new(refresh.clone())));
        app.update(Action::StartSearch);
        for ch in typed.chars() {
            app.update(Action::SearchChar(ch));
        }
        app
    };
    let mut group = c.benchmark_group("search keystroke + redraw (registry, 10k sockets, 120x40)");
    group.sample_size(30);
    for (typed, next) in [("", 'r'), ("redi", 's'), ("", '8'), ("web serv", 'e')] {
        group.bench_function(format!("{typed:?} + {next:?}"), |b| {
            b.iter_batched(
                || app_with(typed),
                |mut app| {
                    app.update(Action::SearchChar(next));
                    term.draw(|f| {
                        black_box(draw(f, &app, theme, &mut scroll));
                    })
                    .unwrap();
                    app
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();

    // Moving the selection describes the newly selected socket: its hints are written out
    // against the index the refresh brought, not a fresh index of all 10k sockets.
    c.bench_function("select the next socket + redraw (10k sockets)", |b| {
        let mut app = App::new(registry, "bench", false, 2.0);
        app.update(Action::Refreshed(Box::new(refresh.clone())));
        let mut down = true;
        b.iter(|| {
            // Back and forth, so the cursor never rests at an end.
            app.update(if down { Action::Down } else { Action::Up });
            down = !down;
            term.draw(|f| {
                black_box(draw(f, &app, theme, &mut scroll));
            })
            .unwrap();
        })
    });

    c.bench_function("refresh of 10k sockets applied + redraw", |b| {
        let mut app = app_with("");
        b.iter(|| {
            app.update(Action::Refreshed(Box::new(refresh.clone())));
            term.draw(|f| {
                black_box(draw(f, &app, theme, &mut scroll));
            })
            .unwrap();
        })
    });
}

criterion_group!(benches, bench_keystroke);
criterion_main!(benches);
