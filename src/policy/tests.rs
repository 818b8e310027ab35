use super::*;
use crate::sockets::fixtures::{listener, owner, snapshot, tcp};

fn parse(text: &str) -> Result<Expected, PolicyError> {
    Expected::parse(text, "expected.toml")
}

fn err_at(text: &str) -> (usize, usize, String) {
    match parse(text) {
        Err(PolicyError::Syntax {
            line,
            column,
            message,
            ..
        }) => (line, column, message),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn an_unknown_key_is_an_error_with_its_line_and_column() {
    let (line, column, message) =
        err_at("[[listener]]\nport = 22\nprot = \"tcp\"\nreason = \"ssh\"\n");
    assert_eq!((line, column), (3, 1), "{message}");
    assert!(message.contains("prot"), "{message}");
}

#[test]
fn a_bad_port_and_a_backwards_range_are_errors_on_their_line() {
    let (line, _, message) = err_at("[[listener]]\nreason = \"x\"\nport = 70000\n");
    assert_eq!(line, 3);
    assert!(message.contains("0-65535"), "{message}");
    let (line, _, message) = err_at("[[listener]]\nport = \"9110-9100\"\n");
    assert_eq!(line, 2);
    assert!(message.contains("backwards"), "{message}");
}

#[test]
fn broken_toml_and_a_bad_bind_say_where() {
    let (line, column, _) = err_at("[[listener]]\nport = 22\nreason = \"unterminated\n");
    assert_eq!(
        (line, column),
        (3, 23),
        "the end of the line where the string runs out"
    );
    let (line, _, message) = err_at("[[listener]]\nport = 22\nbind = \"everywhere\"\n");
    assert_eq!(line, 3);
    assert!(message.contains("loopback"), "{message}");
}

#[test]
fn a_rule_that_names_nothing_is_refused() {
    let (line, _, message) = err_at("[[listener]]\nport = 22\n\n[[listener]]\nreason = \"?\"\n");
    assert_eq!(line, 4);
    assert!(message.contains("names nothing"), "{message}");
}

#[test]
fn rules_match_on_every_field_they_name() {
    let file = parse(
        "[[listener]]\nport = \"9100-9110\"\nprotocol = \"tcp\"\nbind = \"any\"\nexe = \"/usr/bin/node_exporter\"\nreason = \"metrics\"\nowner = \"monitoring\"\n",
    )
    .unwrap();
    let rule = &file.rules[0].rule;
    let ok = tcp(
        "0.0.0.0",
        9100,
        owner(10, "node_exporter", 0, "/usr/bin/node_exporter"),
    );
    assert_eq!(rule.matches(&ListenerFacts::of_socket(&ok)), Match::Yes);
    let loopback = tcp(
        "127.0.0.1",
        9100,
        owner(10, "x", 0, "/usr/bin/node_exporter"),
    );
    assert_eq!(
        rule.matches(&ListenerFacts::of_socket(&loopback)),
        Match::No
    );
    let other_exe = tcp(
        "::",
        9105,
        owner(10, "node_exporter", 0, "/tmp/node_exporter"),
    );
    assert_eq!(
        rule.matches(&ListenerFacts::of_socket(&other_exe)),
        Match::No
    );
    let out_of_range = tcp("0.0.0.0", 9111, owner(10, "x", 0, "/usr/bin/node_exporter"));
    assert_eq!(
        rule.matches(&ListenerFacts::of_socket(&out_of_range)),
        Match::No
    );
    let udp = listener(
        Protocol::Udp,
        "0.0.0.0",
        9100,
        vec![owner(10, "x", 0, "/usr/bin/node_exporter")],
    );
    assert_eq!(rule.matches(&ListenerFacts::of_socket(&udp)), Match::No);
}

#[test]
fn a_rule_naming_an_unknown_fact_does_not_match_and_says_which() {
    let file = parse("[[listener]]\nport = 22\nunit = \"ssh.service\"\n").unwrap();
    let sshd = tcp("0.0.0.0", 22, owner(1, "sshd", 0, "/usr/sbin/sshd"));
    let facts = ListenerFacts::of_socket(&sshd);
    assert_eq!(
        file.rules[0].rule.matches(&facts),
        Match::NeedsUnknown(vec![Fact::Unit])
    );
    let verdicts = file.check(std::slice::from_ref(&facts));
    assert!(!verdicts.ok());
    assert_eq!(verdicts.undecided[&0][0].1, vec![Fact::Unit]);
    // Once the facts layer knows the unit, the same rule decides.
    let known = ListenerFacts {
        unit: Some("ssh.service"),
        ..facts.clone()
    };
    assert_eq!(file.rules[0].rule.matches(&known), Match::Yes);
    let other = ListenerFacts {
        unit: Some("dropbear.service"),
        ..facts
    };
    assert_eq!(file.rules[0].rule.matches(&other), Match::No);
}

#[test]
fn a_hidden_owner_never_satisfies_a_process_rule() {
    let file = parse("[[listener]]\nport = 22\nprocess = \"sshd\"\n").unwrap();
    let mut hidden = tcp("0.0.0.0", 22, owner(1, "sshd", 0, "/usr/sbin/sshd"));
    hidden.owners = Vec::new().into();
    assert_eq!(
        file.rules[0]
            .rule
            .matches(&ListenerFacts::of_socket(&hidden)),
        Match::NeedsUnknown(vec![Fact::Process])
    );
}

#[test]
fn check_reports_unexpected_listeners_and_missing_required_rules() {
    let file = parse(
        "[[listener]]\nport = 22\nreason = \"ssh\"\n\n[[listener]]\nport = 9100\nrequired = true\nreason = \"metrics\"\n",
    )
    .unwrap();
    assert_eq!(file.rules[1].line, 5);
    let snap = snapshot(vec![
        tcp("0.0.0.0", 22, owner(1, "sshd", 0, "/usr/sbin/sshd")),
        tcp(
            "0.0.0.0",
            8080,
            owner(2, "python3", 1000, "/usr/bin/python3"),
        ),
    ]);
    let facts: Vec<ListenerFacts> = snap.sockets.iter().map(ListenerFacts::of_socket).collect();
    let v = file.check(&facts);
    assert_eq!(v.unexpected().collect::<Vec<_>>(), vec![1]);
    assert_eq!(v.missing, vec![1]);
    assert!(!v.ok());
}

#[test]
fn a_baseline_groups_dual_stack_and_prefork_and_checks_clean_against_itself() {
    let registry = crate::registry::Registry::embedded();
    let nginx = |pid| owner(pid, "nginx", 33, "/usr/sbin/nginx");
    let mut shared = tcp("0.0.0.0", 80, nginx(100));
    shared.owners = vec![nginx(100), nginx(101)].into();
    let snap = snapshot(vec![
        shared,
        tcp("::", 80, nginx(100)),
        tcp(
            "127.0.0.1",
            5432,
            owner(7, "postgres", 104, "/usr/lib/postgresql/bin/postgres"),
        ),
        tcp(
            "::1",
            5432,
            owner(7, "postgres", 104, "/usr/lib/postgresql/bin/postgres"),
        ),
        tcp("0.0.0.0", 22, owner(1, "evil\"\nname", 0, "/usr/sbin/sshd")),
    ]);
    let text = baseline::write(&registry, &snap, true);
    let file = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(file.rules.len(), 3, "{text}");
    assert!(file.rules.iter().all(|r| r.rule.required));
    // The hostile name survives quoting as data, not as a new line of TOML.
    assert!(file
        .rules
        .iter()
        .any(|r| r.rule.process.as_deref() == Some("evil\"\nname")));
    let facts: Vec<ListenerFacts> = snap.sockets.iter().map(ListenerFacts::of_socket).collect();
    assert!(file.check(&facts).ok());
}
