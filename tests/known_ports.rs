//! `assets/known-ports.csv`, checked on its own terms (read with a plain CSV reader, not the
//! library's parser) and against the facts DATA.md lists as checked.

use std::collections::HashSet;

use portscope::known::{self, Confidence};
use portscope::registry::Protocol;

const FILE: &str = include_str!("../assets/known-ports.csv");

fn records() -> Vec<csv::StringRecord> {
    let mut reader = csv::Reader::from_reader(FILE.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "port",
            "protocol",
            "use",
            "category",
            "confidence",
            "note",
            "reference"
        ]
    );
    reader
        .records()
        .map(|r| r.expect("a well-formed CSV row"))
        .collect()
}

#[test]
fn every_row_is_complete_in_range_and_unique() {
    let rows = records();
    assert!(rows.len() >= 120, "only {} rows", rows.len());
    let mut seen = HashSet::new();
    for r in &rows {
        assert_eq!(r.len(), 7, "{r:?}");
        for part in r[0].split('-') {
            let n: u32 = part.parse().unwrap_or_else(|_| panic!("bad port in {r:?}"));
            assert!(n <= 65535, "{r:?}");
        }
        assert!(["tcp", "udp", ""].contains(&&r[1]), "{r:?}");
        assert!(
            ["documented", "common", "reported"].contains(&&r[4]),
            "no valid confidence: {r:?}"
        );
        for (i, what) in [(2, "use"), (3, "category"), (5, "note"), (6, "reference")] {
            assert!(!r[i].trim().is_empty(), "{what} missing: {r:?}");
        }
        assert!(
            seen.insert((r[0].to_string(), r[1].to_string(), r[2].to_lowercase())),
            "duplicate (port, protocol, use): {r:?}"
        );
    }
    // The library reads exactly the same rows.
    assert_eq!(known::table().len(), rows.len());
}

#[test]
fn malware_rows_are_never_vendor_documented() {
    for k in known::table().iter().filter(|k| k.is_malware()) {
        assert_ne!(k.confidence, Confidence::Documented, "{k:?}");
    }
}

#[test]
fn data_md_starting_facts_are_present() {
    let facts: &[(u16, Protocol, &str)] = &[
        (3000, Protocol::Tcp, "Grafana"),
        (4200, Protocol::Tcp, "Angular"),
        (5173, Protocol::Tcp, "Vite"),
        (4173, Protocol::Tcp, "Vite"),
        (5000, Protocol::Tcp, "AirPlay"),
        (7000, Protocol::Tcp, "AirPlay"),
        (5000, Protocol::Tcp, "Flask"),
        (8000, Protocol::Tcp, "Django"),
        (8000, Protocol::Tcp, "http.server"),
        (8000, Protocol::Tcp, "Splunk"),
        (8888, Protocol::Tcp, "Jupyter"),
        (8088, Protocol::Tcp, "Splunk"),
        (8088, Protocol::Tcp, "YARN"),
        (8089, Protocol::Tcp, "Splunk"),
        (9997, Protocol::Tcp, "Splunk"),
        (2181, Protocol::Tcp, "ZooKeeper"),
        (2888, Protocol::Tcp, "ZooKeeper"),
        (3888, Protocol::Tcp, "ZooKeeper"),
        (9092, Protocol::Tcp, "Kafka"),
        (9200, Protocol::Tcp, "Elasticsearch"),
        (9300, Protocol::Tcp, "Elasticsearch"),
        (5601, Protocol::Tcp, "Kibana"),
        (9090, Protocol::Tcp, "Prometheus"),
        (9093, Protocol::Tcp, "Alertmanager"),
        (9100, Protocol::Tcp, "node_exporter"),
        (9100, Protocol::Tcp, "printing"),
        (6443, Protocol::Tcp, "Kubernetes API"),
        (10250, Protocol::Tcp, "kubelet"),
        (8200, Protocol::Tcp, "Vault"),
        (8500, Protocol::Tcp, "Consul"),
        (8600, Protocol::Udp, "Consul DNS"),
        (3128, Protocol::Tcp, "Squid"),
        (7680, Protocol::Tcp, "Delivery Optimization"),
        (5555, Protocol::Tcp, "adb"),
        (5938, Protocol::Tcp, "TeamViewer"),
        (5938, Protocol::Udp, "TeamViewer"),
        (51820, Protocol::Udp, "WireGuard"),
        (25565, Protocol::Tcp, "Minecraft"),
        (9050, Protocol::Tcp, "Tor SOCKS"),
        (9051, Protocol::Tcp, "Tor control"),
        (9001, Protocol::Tcp, "Tor relay"),
        (4444, Protocol::Tcp, "Metasploit"),
        (2967, Protocol::Tcp, "Symantec Endpoint Protection"),
    ];
    for &(port, proto, needle) in facts {
        assert!(
            known::uses_of(port, Some(proto))
                .iter()
                .any(|k| k.product.contains(needle)),
            "{port}/{proto}: no known use mentions {needle:?}"
        );
    }
}

#[test]
fn port_3489_is_symantec_manager_as_reported_only() {
    let uses = known::uses_of(3489, Some(Protocol::Tcp));
    let sepm = uses
        .iter()
        .find(|k| k.product == "Symantec Endpoint Protection Manager")
        .expect("3489/tcp row");
    assert_eq!(sepm.confidence, Confidence::Reported);
    assert_eq!(sepm.category, "security");
}
