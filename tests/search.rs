//! The search engine over IANA's entries, the known uses and the alias table: what a person who
//! types a name gets first, that scattered letters find nothing, that a name-only row never shows
//! as `ssh  -`, and that ports, ranges and --proto still work. (Relevance figures over the whole
//! query set are in tests/search_relevance.rs.)

use portscope::registry::{PortRange, Protocol, Registry};
use portscope::search::aliases;
use portscope::search::{Engine, Hit, Kind, NameMatch, Query};

fn search(reg: &Registry, q: &str, limit: usize) -> Vec<Hit> {
    Engine::new(reg).search(&Query::parse(q).unwrap(), None, limit)
}

#[test]
fn a_service_name_ranks_its_own_entry_first() {
    let reg = Registry::embedded();
    let hits = search(&reg, "redis", 5);
    assert!(hits[0].name(&reg).eq_ignore_ascii_case("redis"));
    assert_eq!(hits[0].ports, Some(PortRange::single(6379)));
    let engine = Engine::new(&reg);
    let hits = engine.search(&Query::parse("ssh").unwrap(), Some(Protocol::Tcp), 3);
    assert_eq!(hits[0].ports, Some(PortRange::single(22)));
    assert!(hits
        .iter()
        .all(|h| h.kind != Kind::Iana || h.protocols == [Protocol::Tcp]));
}

#[test]
fn aliases_find_what_iana_calls_by_another_name() {
    let reg = Registry::embedded();
    for (q, port, iana) in [
        ("rdp", 3389, "ms-wbt-server"),
        ("remote desktop", 3389, "ms-wbt-server"),
        ("dns", 53, "domain"),
        ("vnc", 5900, "rfb"),
        ("ike", 500, "isakmp"),
        ("ldap global catalog", 3268, "msft-gc"),
    ] {
        let hits = search(&reg, q, 3);
        assert_eq!(hits[0].kind, Kind::Alias, "{q}: {hits:?}");
        assert_eq!(hits[0].ports, Some(PortRange::single(port)), "{q}");
        assert_eq!(hits[0].name(&reg), iana, "{q}");
    }
    let samba: Vec<u16> = search(&reg, "samba", 5)
        .iter()
        .filter_map(|h| h.ports.map(|p| p.start))
        .collect();
    assert!(
        samba[..2].contains(&445) && samba[..2].contains(&139),
        "{samba:?}"
    );
}

#[test]
fn words_that_name_no_service_find_nothing() {
    let reg = Registry::embedded();
    for q in ["banana", "xylophone", "rds qq", "zzzz"] {
        assert!(search(&reg, q, 20).is_empty(), "{q}");
    }
}

#[test]
fn misspellings_of_one_edit_still_find_the_service() {
    let reg = Registry::embedded();
    for (q, port) in [("postgre", 5432), ("mongdb", 27017), ("elasticsearh", 9200)] {
        let hits = search(&reg, q, 3);
        assert!(
            hits.iter()
                .any(|h| h.ports.is_some_and(|p| p.contains(port))),
            "{q}: {hits:?}"
        );
    }
}

#[test]
fn a_name_only_row_is_folded_into_its_ported_twin() {
    let reg = Registry::embedded();
    // Several services have a name-only row besides their ported rows; none may show as "-".
    for q in ["ssh", "http", "domain", "ntp"] {
        for h in search(&reg, q, 50) {
            if h.kind == Kind::Iana && h.ports.is_none() {
                let name = h.name(&reg);
                assert!(
                    reg.by_name(name).iter().all(|e| e.ports.is_none()),
                    "{q}: {name} shown without its port"
                );
            }
        }
    }
}

#[test]
fn ports_and_ranges_list_entries_and_known_uses() {
    let reg = Registry::embedded();
    let hits = search(&reg, "3389", 10);
    assert!(hits.iter().any(|h| h.name(&reg) == "ms-wbt-server"));
    let hits = search(&reg, "3000", 20);
    assert!(hits
        .iter()
        .any(|h| h.kind == Kind::KnownUse && h.known_use().unwrap().product.contains("Grafana")));
    let hits = search(&reg, "6000-6005", 50);
    assert!(hits.iter().any(|h| h.name(&reg) == "x11"));
    assert!(hits
        .iter()
        .all(|h| h.ports.is_some_and(|p| p.start <= 6005 && p.end >= 6000)));
}

#[test]
fn descriptions_are_one_line() {
    let reg = Registry::embedded();
    for h in search(&reg, "sql", 200) {
        assert!(!h.description(&reg).contains('\n'));
    }
}

#[test]
fn product_names_resolve_to_their_ports() {
    let reg = Registry::embedded();
    let engine = Engine::new(&reg);
    match engine.resolve_name("samba") {
        Some(NameMatch::Aliases(a)) => {
            let ports: Vec<u16> = a.iter().map(|a| a.ports.start).collect();
            assert!(ports.contains(&445) && ports.contains(&139), "{ports:?}");
        }
        other => panic!("samba: {other:?}"),
    }
    match engine.resolve_name("grafana") {
        Some(NameMatch::KnownUses(k)) => assert!(k.iter().any(|k| k.port == 3000), "{k:?}"),
        other => panic!("grafana: {other:?}"),
    }
    assert_eq!(engine.resolve_name("banana"), None);
}

#[test]
fn every_alias_that_names_an_iana_service_points_at_its_port() {
    let reg = Registry::embedded();
    for a in aliases::table() {
        let entries = reg.by_name(&a.target);
        if entries.is_empty() {
            continue; // a product name: IANA does not register it
        }
        assert!(
            entries
                .iter()
                .any(|e| e.ports.is_some_and(|p| p.contains(a.ports.start))),
            "alias {} says {} is on {}, IANA disagrees",
            a.alias,
            a.target,
            a.ports
        );
    }
}
