//! `portscope metrics` end to end: the exposition passes `promtool check metrics`, and a real
//! node_exporter (textfile collector) scraped by a real Prometheus serves the series back through
//! Prometheus's HTTP API. Everything runs inside a private network namespace, on its loopback, so
//! the fixed ports there collide with nothing on the host and only this test's listeners exist.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::vnet::Netns;

const BIN: &str = env!("CARGO_BIN_EXE_portscope");

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(ns: &Netns, port: u16, path: &str) -> Option<String> {
    let req = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    ns.run(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        s.write_all(req.as_bytes()).ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).ok()?;
        Some(body)
    })
}

#[test]
fn metrics_pass_promtool_and_reach_prometheus_through_node_exporter() {
    let ns = Netns::new("metrics");
    let dir = tempfile::tempdir().unwrap();
    let textfiles = dir.path().join("textfile");
    std::fs::create_dir(&textfiles).unwrap();
    let expected = dir.path().join("expected.toml");
    std::fs::write(
        &expected,
        "[[listener]]\nport = 7301\nreason = \"test\"\n\n[[listener]]\nport = 7399\nrequired = true\n",
    )
    .unwrap();
    let _a = ns.run(|| TcpListener::bind("0.0.0.0:7301").unwrap());
    let _b = ns.run(|| TcpListener::bind("127.0.0.1:7302").unwrap());

    let prom = textfiles.join("portscope.prom");
    let out = ns
        .command(BIN)
        .args([
            "metrics",
            "--expected",
            expected.to_str().unwrap(),
            "-o",
            prom.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(
        text.contains("portscope_unexpected_listeners 1\n"),
        "{text}"
    );
    assert!(text.contains("portscope_missing_listeners 1\n"), "{text}");
    assert!(
        text.contains("port=\"7302\",protocol=\"tcp\",address=\"127.0.0.1\""),
        "{text}"
    );
    assert!(text.contains("reach=\"loopback\""), "{text}");

    let check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&prom).unwrap())
        .output()
        .expect("promtool (Debian package prometheus; .ci/run installs it)");
    assert!(
        check.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    // node_exporter with only the textfile collector, and Prometheus scraping it every second.
    let exporter = Killed(
        ns.command("prometheus-node-exporter")
            .args([
                "--collector.disable-defaults",
                "--collector.textfile",
                &format!("--collector.textfile.directory={}", textfiles.display()),
                "--web.listen-address=127.0.0.1:19100",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus-node-exporter (.ci/run installs it)"),
    );
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:19100']\n",
    )
    .unwrap();
    let prometheus = Killed(
        ns.command("prometheus")
            .args([
                &format!("--config.file={}", config.display()),
                &format!("--storage.tsdb.path={}", dir.path().join("data").display()),
                "--web.listen-address=127.0.0.1:19090",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus (.ci/run installs it)"),
    );

    let query = "/api/v1/query?query=portscope_listener%7Bport%3D%227301%22%7D";
    // A bound on waiting for two servers to start and scrape, not a timing assertion.
    let give_up = Instant::now() + Duration::from_secs(90);
    let mut last = String::new();
    loop {
        if let Some(body) = http_get(&ns, 19090, query) {
            if body.contains("\"port\":\"7301\"") {
                assert!(body.contains("\"expected\":\"true\""), "{body}");
                assert!(
                    body.contains("\"__name__\":\"portscope_listener\""),
                    "{body}"
                );
                break;
            }
            last = body;
        }
        assert!(
            Instant::now() < give_up,
            "the series never arrived; last answer: {last}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(prometheus);
    drop(exporter);
}
