//! `assets/known-ports.csv`, checked on its own terms (read with a plain CSV reader, not the
//! library's parser), against the facts DATA.md lists as checked, and for the coverage and
//! grading rules `assets/KNOWN-PORTS.md` promises: every topic users ask about has rows, grades
//! are honest about their sources, and the ports users rely on say what they should.

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
    assert!(rows.len() >= 800, "only {} rows", rows.len());
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

/// The table's first port of a row (`6881` for `6881-6889`).
fn first_port(r: &csv::StringRecord) -> u32 {
    r[0].split('-').next().unwrap().parse().unwrap()
}

#[test]
fn rows_stay_sorted_by_port() {
    let rows = records();
    for pair in rows.windows(2) {
        assert!(
            first_port(&pair[0]) <= first_port(&pair[1]),
            "out of order: {:?} before {:?}",
            pair[0],
            pair[1]
        );
    }
}

#[test]
fn every_topic_users_ask_about_has_rows() {
    let table = known::table();
    let in_category = |c: &str| table.iter().filter(|k| k.category == c).count();
    let naming = |words: &[&str]| {
        table
            .iter()
            .filter(|k| words.iter().any(|w| k.product.contains(w)))
            .count()
    };
    // (topic, rows found, floor)
    let topics = [
        ("databases", in_category("database"), 100),
        ("message brokers", in_category("messaging"), 40),
        (
            "monitoring and observability",
            in_category("monitoring"),
            100,
        ),
        (
            "orchestration and infrastructure",
            in_category("cluster") + in_category("infrastructure"),
            100,
        ),
        (
            "CI/CD and dev servers",
            in_category("dev-server") + in_category("ci"),
            100,
        ),
        (
            "Windows and Active Directory",
            naming(&["Windows", "Active Directory", "Microsoft"]),
            30,
        ),
        (
            "macOS services",
            naming(&["macOS", "Apple", "AirPlay", "Bonjour"]),
            15,
        ),
        ("VoIP", in_category("voip"), 25),
        ("games", in_category("game"), 50),
        ("IoT and industrial", in_category("industrial"), 40),
        ("VPNs", in_category("vpn"), 20),
        ("backup agents", in_category("backup"), 25),
        ("remote management", in_category("remote-access"), 60),
        ("printers", in_category("printing"), 12),
        ("malware and attack tools", in_category("malware"), 40),
    ];
    for (topic, found, floor) in topics {
        assert!(
            found >= floor,
            "{topic}: {found} rows, want at least {floor}"
        );
    }
    // No category is declared and left empty.
    for c in known::CATEGORIES {
        assert!(in_category(c) > 0, "category {c} has no rows");
    }
}

#[test]
fn grades_are_honest_about_their_sources() {
    for k in known::table() {
        let reference = k.reference.to_ascii_lowercase();
        match k.confidence {
            // A reported row names no vendor page it does not have.
            Confidence::Reported => assert!(
                reference.contains("secondary sources"),
                "reported row must say its sources are secondary: {k:?}"
            ),
            // A documented row points at something a reader can open, not at hearsay.
            Confidence::Documented => assert!(
                !reference.starts_with("secondary"),
                "documented row cites only secondary sources: {k:?}"
            ),
            Confidence::Common => {}
        }
        // Nothing is taken from share-alike or NPSL lists ("Dynmap" is fine; "nmap" is not).
        let cites = |word: &str| {
            reference
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| w == word)
        };
        assert!(
            !cites("wikipedia") && !cites("nmap") && !reference.contains("/etc/services"),
            "cites a share-alike or NPSL source: {k:?}"
        );
        // One line of our own, not a paragraph and not the product name again.
        assert!(!k.note.contains('\n') && k.note.len() <= 140, "{k:?}");
        assert!(!k.note.eq_ignore_ascii_case(&k.product), "{k:?}");
    }
}

#[test]
fn ports_users_rely_on_say_what_they_should() {
    use Protocol::{Tcp, Udp};
    let facts: &[(u16, Protocol, &str)] = &[
        // Dev servers and CI.
        (5173, Tcp, "Vite"),
        (6006, Tcp, "Storybook"),
        (8080, Tcp, "webpack-dev-server"),
        (8080, Tcp, "Jenkins"),
        (50000, Tcp, "Jenkins"),
        (3000, Tcp, "Rails"),
        (1313, Tcp, "Hugo"),
        (35729, Tcp, "LiveReload"),
        // Databases and brokers.
        (5432, Tcp, "PostgreSQL"),
        (6432, Tcp, "PgBouncer"),
        (33060, Tcp, "MySQL X"),
        (8091, Tcp, "Couchbase"),
        (5671, Tcp, "AMQP over TLS"),
        (4150, Tcp, "NSQ"),
        (9092, Tcp, "H2"),
        // Monitoring.
        (9100, Tcp, "node_exporter"),
        (9100, Tcp, "printing"),
        (9182, Tcp, "windows_exporter"),
        (9121, Tcp, "redis_exporter"),
        (4317, Tcp, "OpenTelemetry"),
        (14268, Tcp, "Jaeger"),
        (3200, Tcp, "Tempo"),
        (8126, Tcp, "Datadog"),
        (10050, Tcp, "Zabbix"),
        (5666, Tcp, "NRPE"),
        // Orchestration.
        (2379, Tcp, "etcd"),
        (4647, Tcp, "Nomad"),
        (4648, Udp, "Nomad"),
        (8302, Udp, "Consul"),
        (10010, Tcp, "containerd"),
        (10256, Tcp, "kube-proxy"),
        (31000, Tcp, "NodePort"),
        (2377, Tcp, "Swarm"),
        // Windows and Active Directory.
        (88, Udp, "Kerberos"),
        (464, Tcp, "Kerberos password"),
        (389, Udp, "Active Directory"),
        (3268, Tcp, "Global Catalog"),
        (135, Tcp, "RPC endpoint mapper"),
        (445, Tcp, "SMB"),
        (137, Udp, "NetBIOS"),
        (8530, Tcp, "Windows Server Update Services"),
        (9389, Tcp, "Active Directory Web Services"),
        // macOS.
        (5353, Udp, "Bonjour"),
        (3283, Tcp, "Apple Remote Desktop"),
        (5900, Tcp, "Screen Sharing"),
        // VoIP.
        (5060, Udp, "SIP"),
        (5061, Tcp, "SIP over TLS"),
        (5038, Tcp, "Asterisk Manager"),
        (4569, Udp, "IAX2"),
        (3478, Udp, "STUN"),
        (5349, Tcp, "TURN"),
        // Games.
        (19132, Udp, "Bedrock"),
        (2456, Udp, "Valheim"),
        (28015, Udp, "Rust"),
        (27015, Udp, "Source"),
        // IoT and industrial.
        (47808, Udp, "BACnet"),
        (502, Tcp, "Modbus"),
        (4840, Tcp, "OPC UA"),
        (5683, Udp, "CoAP"),
        (20000, Tcp, "DNP3"),
        (44818, Tcp, "EtherNet/IP"),
        (102, Tcp, "S7"),
        (1911, Tcp, "Niagara Fox"),
        // VPNs.
        (1194, Udp, "OpenVPN"),
        (500, Udp, "IKE"),
        (4500, Udp, "NAT traversal"),
        (1701, Udp, "L2TP"),
        (1723, Tcp, "PPTP"),
        (41641, Udp, "Tailscale"),
        (9993, Udp, "ZeroTier"),
        // Backup.
        (9101, Tcp, "Bacula"),
        (9102, Tcp, "Bacula"),
        (9103, Tcp, "Bacula"),
        (9392, Tcp, "Veeam"),
        (1556, Tcp, "NetBackup"),
        (10080, Tcp, "Amanda"),
        // Remote management.
        (623, Udp, "IPMI"),
        (17990, Tcp, "iLO"),
        (5900, Tcp, "iDRAC"),
        (10000, Tcp, "Webmin"),
        (9090, Tcp, "Cockpit"),
        (7070, Tcp, "AnyDesk"),
        // Printing.
        (631, Tcp, "CUPS"),
        (515, Tcp, "LPD"),
        // Malware and attack tools.
        (12345, Tcp, "NetBus"),
        (27374, Tcp, "SubSeven"),
        (31337, Udp, "Back Orifice"),
        (50050, Tcp, "Cobalt Strike"),
    ];
    let mut missing = Vec::new();
    for &(port, proto, needle) in facts {
        if !known::uses_of(port, Some(proto))
            .iter()
            .any(|k| k.product.contains(needle))
        {
            missing.push(format!("{port}/{proto}: {needle}"));
        }
    }
    assert!(missing.is_empty(), "no known use mentions {missing:?}");
}

#[test]
fn servers_meant_to_be_reached_are_not_filed_as_local_dev_tools() {
    // `dev-server` makes the exposure hint say "meant for local use"; a CI server or code host
    // is meant to be reached, so it is `ci`, while the tools on the same ports stay `dev-server`.
    let category_of = |port: u16, needle: &str| -> String {
        known::uses_of(port, Some(Protocol::Tcp))
            .iter()
            .find(|k| k.product.contains(needle))
            .unwrap_or_else(|| panic!("{port}/tcp: no {needle}"))
            .category
            .clone()
    };
    for (port, needle) in [
        (8080, "Jenkins"),
        (50000, "Jenkins"),
        (3000, "Gitea"),
        (9418, "git daemon"),
    ] {
        assert_eq!(category_of(port, needle), "ci", "{port} {needle}");
    }
    for (port, needle) in [
        (8080, "webpack"),
        (5173, "Vite"),
        (9229, "Node.js inspector"),
        (8888, "Jupyter"),
    ] {
        assert_eq!(category_of(port, needle), "dev-server", "{port} {needle}");
    }
}

#[test]
fn the_use_people_mean_comes_first() {
    // Lookups and hints list uses in table order, and a run of ports sorts by its first port, so
    // a wide run would be named before the exact default of a famous port. Runs are kept narrow
    // (transient and client-side ranges are left out) so these stay first.
    for (port, proto, needle) in [
        (3000, Protocol::Tcp, "Grafana"),
        (5173, Protocol::Tcp, "Vite"),
        (7000, Protocol::Tcp, "AirPlay"),
        (3489, Protocol::Tcp, "Symantec"),
        (25565, Protocol::Tcp, "Minecraft"),
        (19132, Protocol::Udp, "Bedrock"),
        (27015, Protocol::Udp, "Source"),
        (51820, Protocol::Udp, "WireGuard"),
        (50050, Protocol::Tcp, "Cobalt Strike"),
    ] {
        let uses = known::uses_of(port, Some(proto));
        let first = uses.first().map(|k| k.product.as_str()).unwrap_or("");
        assert!(
            first.contains(needle),
            "{port}/{proto}: first use is {first:?}"
        );
    }
}

#[test]
fn shared_ports_list_every_documented_owner() {
    // The point of the table on crowded ports: a lookup shows the alternatives, so a user who
    // sees 4444 does not conclude Metasploit when Selenium or Galera is the likelier owner.
    let products = |port: u16| -> Vec<&'static str> {
        known::uses_of(port, Some(Protocol::Tcp))
            .iter()
            .map(|k| k.product.as_str())
            .collect()
    };
    for (port, needles) in [
        (4444, &["Metasploit", "Selenium", "Galera"][..]),
        (5555, &["adb", "Celery Flower", "SoftEther"][..]),
        (9092, &["Kafka", "H2", "Kapacitor"][..]),
        (10000, &["Webmin", "NDMP", "Azurite"][..]),
        (12345, &["NetBus", "Alloy"][..]),
    ] {
        let have = products(port);
        for needle in needles {
            assert!(
                have.iter().any(|p| p.contains(needle)),
                "{port}/tcp lacks {needle}: {have:?}"
            );
        }
    }
}
