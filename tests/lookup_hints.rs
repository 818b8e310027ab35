//! `portscope lookup` shows known uses and port-only hints: the port-289 and port-3489 cases.

use assert_cmd::Command;
use serde_json::Value;

fn lookup(args: &[&str]) -> String {
    let out = Command::cargo_bin("portscope")
        .unwrap()
        .arg("lookup")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn lookup_json(port: &str) -> Value {
    let out = Command::cargo_bin("portscope")
        .unwrap()
        .args(["--json", "lookup", port])
        .output()
        .unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

fn hint_ids(v: &Value) -> Vec<&str> {
    v["hints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect()
}

#[test]
fn lookup_289_says_unassigned_ports_should_be_silent() {
    let text = lookup(&["289"]);
    assert!(
        text.contains("unassigned: IANA has no entry for port 289"),
        "{text}"
    );
    assert!(text.contains("(unassigned-system-port)"), "{text}");
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("unassigned ports should be silent"), "{flat}");
    assert!(
        flat.contains("if something listens here, that is unusual"),
        "{flat}"
    );
    assert!(text.contains("$ sudo ss -tulnp 'sport = :289'"), "{text}");
    // Nothing is known about 289, and nothing else is claimed.
    assert!(!text.contains("Known uses"), "{text}");

    let v = lookup_json("289");
    assert_eq!(hint_ids(&v), ["unassigned-system-port"]);
    assert_eq!(v["hints"][0]["severity"], "info");
    assert_eq!(v["known_uses"].as_array().unwrap().len(), 0);
    // The registry report is still all there.
    assert_eq!(v["port"], 289);
    assert_eq!(v["class"], "system");
}

#[test]
fn lookup_3489_shows_iana_then_the_reported_symantec_use() {
    let text = lookup(&["3489"]);
    let iana = text.find("dtp-dia").expect("IANA entry");
    let known = text.find("Known uses").expect("known uses section");
    let hints = text.find("\nHints").expect("hints section");
    assert!(iana < known && known < hints, "{text}");
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("Symantec Endpoint Protection Manager · 3489/tcp · security, reported"),
        "{text}"
    );
    assert!(text.contains("(known-unofficial-use)"));
    assert!(
        flat.contains(
            "reported (secondary sources only) as used by Symantec Endpoint Protection Manager"
        ),
        "{flat}"
    );
    // Never claims identity, and 3489 is a registered port.
    assert!(!flat.contains("is Symantec"));
    assert!(!text.contains("unassigned-system-port"));

    let v = lookup_json("3489/tcp");
    assert_eq!(v["entries"][0]["service"], "dtp-dia");
    assert_eq!(
        v["known_uses"][0]["product"],
        "Symantec Endpoint Protection Manager"
    );
    assert_eq!(v["known_uses"][0]["confidence"], "reported");
    assert_eq!(hint_ids(&v), ["known-unofficial-use"]);
}

#[test]
fn lookup_4444_surfaces_iana_unauthorized_use_and_the_attack_tool_default() {
    let v = lookup_json("4444/tcp");
    let ids = hint_ids(&v);
    assert!(ids.contains(&"iana-unauthorized-use"), "{ids:?}");
    assert!(ids.contains(&"known-malware-port"), "{ids:?}");
    let text = lookup(&["4444/tcp"]);
    assert!(text.contains("nv used it without an assignment"));
}

#[test]
fn lookup_of_a_plain_registered_service_raises_no_hint() {
    let text = lookup(&["22/tcp"]);
    assert!(text.contains("OpenSSH sshd"), "{text}");
    assert!(!text.contains("\nHints"), "{text}");
    assert!(text.contains("Verdict\n  nothing unusual found"), "{text}");
    assert!(hint_ids(&lookup_json("22/tcp")).is_empty());
}

#[test]
fn lookup_of_a_dynamic_port_says_it_is_never_assigned() {
    let v = lookup_json("51820/udp");
    assert!(hint_ids(&v).contains(&"dynamic-port-listener"));
    assert!(v["known_uses"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["product"] == "WireGuard"));
}

#[test]
fn lookup_31337_names_back_orifice_on_udp_only() {
    let malware_why = |v: &Value| -> String {
        v["hints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["id"] == "known-malware-port")
            .map(|h| h["why"].as_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    // Over UDP, Back Orifice's default.
    let udp = lookup_json("31337/udp");
    assert!(malware_why(&udp).contains("Back Orifice"), "{udp}");
    // Over TCP the port is IANA's eldim; the attack-tool default there is Sliver's multiplayer
    // listener, and nothing says Back Orifice.
    let tcp = lookup_json("31337/tcp");
    assert_eq!(tcp["entries"][0]["service"], "eldim");
    assert!(!malware_why(&tcp).contains("Back Orifice"), "{tcp}");
    assert!(malware_why(&tcp).contains("Sliver"), "{tcp}");
}

#[test]
fn lookup_next_steps_are_words_and_one_printable_line() {
    let v = lookup_json("289");
    let step = &v["hints"][0]["next_steps"][0];
    assert_eq!(step["command"], "sudo ss -tulnp 'sport = :289'");
    assert_eq!(
        step["pipeline"],
        serde_json::json!([["sudo", "ss", "-tulnp", "sport = :289"]])
    );
}

#[test]
fn a_crowded_port_shows_its_likeliest_uses_and_how_to_see_the_rest() {
    // 8080 has dozens of known uses: a person sees the first few, documented and common ones
    // first, the count of the rest and the command that shows them; --all and --json hold every
    // one.
    use portscope::known::{self, Confidence};
    let shown = 8; // SHOWN_USES in src/commands/lookup.rs
    let mut all = known::uses_of(8080, None);
    assert!(all.len() > shown + 10, "{} uses", all.len());
    let use_lines = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.trim_start().strip_prefix("use "))
            .map(|v| v.trim().to_owned())
            .collect()
    };
    let text = lookup(&["8080"]);
    all.sort_by_key(|k| k.confidence);
    let expected: Vec<String> = all[..shown]
        .iter()
        .map(|k| format!("{} · {}", k.product, k.ports_label()))
        .collect();
    let lines = use_lines(&text);
    assert_eq!(lines.len(), shown, "{text}");
    for (line, want) in lines.iter().zip(&expected) {
        assert!(line.starts_with(want.as_str()), "{line:?} is not {want:?}");
    }
    assert!(all[..shown]
        .iter()
        .all(|k| k.confidence == Confidence::Documented));
    let more = format!(
        "… {} more known uses: `portscope lookup 8080 --all`",
        all.len() - shown
    );
    assert!(text.contains(&more), "{text}");

    let full = lookup(&["8080", "--all"]);
    assert_eq!(use_lines(&full).len(), all.len());
    assert!(!full.contains("more known uses"));
    let with_proto = lookup(&["8080/tcp"]);
    assert!(with_proto.contains("`portscope lookup 8080/tcp --all`"));

    let v = lookup_json("8080");
    assert_eq!(v["known_uses"].as_array().unwrap().len(), all.len());
    // A port with few uses shows them all and says nothing more.
    let few = lookup(&["3489"]);
    assert!(!few.contains("more known uses"));
}
