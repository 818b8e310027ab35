//! Golden checks on the embedded registry: the data a user gets offline must be IANA's layout and
//! carry the facts people look up most.

use portscope::registry::{PortClass, PortRange, Protocol, Registry, EMBEDDED_CSV, HEADER};

fn registry() -> Registry {
    Registry::embedded()
}

#[test]
fn header_is_ianas_exact_twelve_columns() {
    let first_line = EMBEDDED_CSV.lines().next().unwrap();
    assert_eq!(first_line, HEADER.join(","));
}

#[test]
fn holds_the_whole_registry() {
    let reg = registry();
    assert!(reg.len() >= 12_500, "only {} rows", reg.len());
    assert!(
        !EMBEDDED_CSV.contains('\r'),
        "the embedded CSV must use LF only"
    );
    // Name-only rows and range rows are part of the record.
    assert!(reg
        .entries()
        .any(|e| e.ports.is_none() && !e.service.is_empty()));
    assert!(reg
        .entries()
        .any(|e| e.ports.is_some_and(|p| !p.is_single())));
}

#[test]
fn well_known_ports_carry_their_names() {
    let reg = registry();
    assert_eq!(reg.service_name(22, Protocol::Tcp), Some("ssh"));
    assert_eq!(reg.service_name(3389, Protocol::Tcp), Some("ms-wbt-server"));
    let http: Vec<&str> = reg
        .by_port(80, Some(Protocol::Tcp))
        .iter()
        .map(|e| e.service)
        .collect();
    assert_eq!(
        http,
        ["http", "www", "www-http"],
        "several names per port, in IANA order"
    );
}

#[test]
fn dtp_dia_keeps_every_column() {
    let reg = registry();
    let e = reg.by_port(3489, Some(Protocol::Tcp))[0];
    assert_eq!(e.service, "dtp-dia");
    assert_eq!(e.description, "DTP/DIA");
    assert_eq!(e.assignee_name(), "Alexei V. Soloviev");
    assert_eq!(e.registration_date, "2002-05");
}

#[test]
fn ranges_cover_the_ports_inside_them() {
    let reg = registry();
    let x11 = reg.by_port(6010, Some(Protocol::Tcp));
    assert_eq!(x11.len(), 1);
    assert_eq!(x11[0].service, "x11");
    assert_eq!(
        x11[0].ports,
        Some(PortRange {
            start: 6000,
            end: 6063
        })
    );
    assert!(reg
        .by_port(6064, Some(Protocol::Tcp))
        .iter()
        .all(|e| e.service != "x11"));
}

#[test]
fn unauthorized_use_notes_are_kept() {
    let reg = registry();
    let e = reg.by_port(4444, Some(Protocol::Tcp));
    assert!(
        e.iter()
            .any(|e| e.unauthorized_use.contains("without an assignment")),
        "{e:?}"
    );
}

#[test]
fn unassigned_runs_are_computed_from_the_data() {
    let reg = registry();
    let report = reg.report(289, None);
    assert!(report.entries.is_empty());
    assert_eq!(report.class, PortClass::System);
    let run = report.unassigned_run.expect("289 is unassigned");
    assert!(
        run.contains(288) && run.contains(289) && !run.contains(287),
        "{run:?}"
    );
    assert!(
        reg.is_occupied(run.end + 1),
        "the run ends where an assignment starts"
    );
    // Assigned and dynamic ports have no unassigned run.
    assert_eq!(reg.report(22, None).unassigned_run, None);
    assert_eq!(reg.unassigned_run(50_000), None);
    assert_eq!(PortClass::of(50_000), PortClass::Dynamic);
}

#[test]
fn every_port_s_run_and_table_name_follow_from_its_rows() {
    // The listing asks these of every socket through shortcuts (whole empty bytes of the
    // occupancy map, names read without building entries): they must agree with the rows.
    let reg = registry();
    for port in 0..=u16::MAX {
        let class = PortClass::of(port);
        let expected = (class != PortClass::Dynamic && !reg.is_occupied(port)).then(|| {
            let bounds = class.range();
            let mut run = PortRange {
                start: port,
                end: port,
            };
            while run.start > bounds.start && !reg.is_occupied(run.start - 1) {
                run.start -= 1;
            }
            while run.end < bounds.end && !reg.is_occupied(run.end + 1) {
                run.end += 1;
            }
            run
        });
        assert_eq!(reg.unassigned_run(port), expected, "port {port}");
        for protocol in [Protocol::Tcp, Protocol::Udp] {
            let first_named = reg
                .by_port(port, Some(protocol))
                .into_iter()
                .map(|e| e.service)
                .find(|s| !s.is_empty());
            assert_eq!(
                reg.service_name(port, protocol),
                first_named,
                "{port}/{protocol:?}"
            );
        }
    }
}
