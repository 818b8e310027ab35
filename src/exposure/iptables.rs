//! Parse `iptables-save` / `ip6tables-save` output (legacy and nft backends print the same
//! format) into the firewall model. Takes the text, runs nothing.
//!
//! Modelled: -p, -s, -d, -i, -o (with `!`), -m tcp/udp (--dport, --sport), multiport (--dports),
//! conntrack/state (--ctstate/--state), addrtype --dst-type LOCAL, comment; targets ACCEPT, DROP,
//! REJECT, RETURN, DNAT (--to-destination), jumps and gotos, and the no-op targets (LOG, MARK…).
//! Any other match becomes a `Complex` condition quoted in the verdict.

use super::firewall::{
    Action, Chain, ChainKind, Cond, Hook, IfPattern, Net, NetFamily, Policy, Rule, Rules,
};

#[derive(Debug, thiserror::Error)]
#[error("{source_name} line {line}: {message}")]
pub struct IptablesError {
    pub source_name: String,
    pub line: usize,
    pub message: String,
}

/// Split a line as iptables-save quotes it: double quotes group, a backslash escapes.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

fn builtin(table: &str, chain: &str) -> Option<(Hook, ChainKind, i32)> {
    let hook = match chain {
        "PREROUTING" => Hook::Prerouting,
        "INPUT" => Hook::Input,
        "FORWARD" => Hook::Forward,
        "OUTPUT" => Hook::Output,
        "POSTROUTING" => Hook::Postrouting,
        _ => return None,
    };
    let (kind, prio) = match table {
        "raw" => (ChainKind::Other, -300),
        "mangle" => (ChainKind::Other, -150),
        "nat" => (
            ChainKind::Nat,
            if hook == Hook::Prerouting { -100 } else { 100 },
        ),
        "filter" => (ChainKind::Filter, 0),
        "security" => (ChainKind::Other, 50),
        _ => (ChainKind::Other, 0),
    };
    Some((hook, kind, prio))
}

fn ports(s: &str) -> Option<Vec<(u16, u16)>> {
    s.split(',')
        .map(|p| match p.split_once(':') {
            Some((a, z)) => Some((
                if a.is_empty() { 0 } else { a.parse().ok()? },
                if z.is_empty() {
                    u16::MAX
                } else {
                    z.parse().ok()?
                },
            )),
            None => p.parse().ok().map(|n| (n, n)),
        })
        .collect()
}

fn proto_number(s: &str) -> Option<u8> {
    match s {
        "tcp" => Some(6),
        "udp" => Some(17),
        "icmp" => Some(1),
        "ipv6-icmp" | "icmpv6" => Some(58),
        "sctp" => Some(132),
        "dccp" => Some(33),
        "gre" => Some(47),
        "esp" => Some(50),
        "ah" => Some(51),
        n => n.parse().ok(),
    }
}

/// Parse one save file. `source_name` labels its chains (`iptables-legacy`, `ip6tables-nft`).
pub fn parse(text: &str, source_name: &str, ipv6: bool) -> Result<Rules, IptablesError> {
    let family = if ipv6 { NetFamily::Ip6 } else { NetFamily::Ip };
    let mut chains: Vec<Chain> = Vec::new();
    let mut table = String::new();
    let err = |line: usize, message: String| IptablesError {
        source_name: source_name.to_string(),
        line,
        message,
    };
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line == "COMMIT" {
            continue;
        }
        if let Some(t) = line.strip_prefix('*') {
            table = t.to_string();
            continue;
        }
        if let Some(decl) = line.strip_prefix(':') {
            let mut parts = decl.split_whitespace();
            let name = parts.next().unwrap_or_default().to_string();
            let policy = parts.next().unwrap_or("-");
            let b = builtin(&table, &name);
            chains.push(Chain {
                source: source_name.to_string(),
                table: table.clone(),
                name,
                family,
                hook: b.map(|x| x.0),
                kind: b.map_or(ChainKind::Filter, |x| x.1),
                priority: b.map_or(0, |x| x.2),
                policy: match (b, policy) {
                    (None, _) => None,
                    (Some(_), "DROP") => Some(Policy::Drop),
                    (Some(_), _) => Some(Policy::Accept),
                },
                rules: Vec::new(),
            });
            continue;
        }
        let w = words(line);
        let (chain_name, rest) = match w.first().map(String::as_str) {
            Some("-A" | "--append") if w.len() >= 2 => (w[1].clone(), &w[2..]),
            // `iptables-save -c` puts counters first.
            Some(c) if c.starts_with('[') && w.len() >= 3 && (w[1] == "-A") => {
                (w[2].clone(), &w[3..])
            }
            _ => {
                return Err(err(
                    line_no,
                    format!(
                        "not a rule, chain or table line: {}",
                        crate::text::escape(line)
                    ),
                ))
            }
        };
        let Some(ci) = chains
            .iter()
            .position(|c| c.table == table && c.name == chain_name)
        else {
            return Err(err(
                line_no,
                format!(
                    "rule for undeclared chain {}",
                    crate::text::escape(&chain_name)
                ),
            ));
        };
        let text = line.to_string();
        chains[ci].rules.push(rule(rest, text));
    }
    Ok(Rules::new(chains, Vec::new()))
}

fn rule(w: &[String], text: String) -> Rule {
    let mut conds = Vec::new();
    let mut action = Action::Continue;
    let mut i = 0;
    let mut neg = false;
    let mut module = String::new();
    let arg = |i: usize| w.get(i + 1).cloned().unwrap_or_default();
    while i < w.len() {
        let opt = w[i].as_str();
        if opt == "!" {
            neg = true;
            i += 1;
            continue;
        }
        let a = arg(i);
        let mut used = 2;
        match opt {
            "-p" | "--protocol" => match proto_number(&a) {
                Some(p) => conds.push(Cond::Proto {
                    neg,
                    protos: vec![p],
                }),
                None => conds.push(Cond::Complex(format!("-p {a}"))),
            },
            "-s" | "--source" | "-d" | "--destination" => {
                let nets: Option<Vec<Net>> = a.split(',').map(Net::parse).collect();
                match nets {
                    Some(nets) if opt.starts_with("-s") || opt == "--source" => {
                        conds.push(Cond::Saddr { neg, nets })
                    }
                    Some(nets) => conds.push(Cond::Daddr { neg, nets }),
                    None => conds.push(Cond::Complex(format!("{opt} {a}"))),
                }
            }
            "-i" | "--in-interface" => conds.push(Cond::Iif {
                neg,
                names: vec![IfPattern::parse(&a, '+')],
            }),
            "-o" | "--out-interface" => conds.push(Cond::Oif {
                neg,
                names: vec![IfPattern::parse(&a, '+')],
            }),
            "-m" | "--match" => {
                module = a.clone();
                if !matches!(
                    a.as_str(),
                    "tcp" | "udp" | "multiport" | "conntrack" | "state" | "comment" | "addrtype"
                ) {
                    conds.push(Cond::Complex(format!("-m {a}")));
                }
            }
            "--dport" | "--destination-port" | "--dports" | "--destination-ports" => {
                match ports(&a) {
                    Some(ranges) => conds.push(Cond::Dport { neg, ranges }),
                    None => conds.push(Cond::Complex(format!("{opt} {a}"))),
                }
            }
            "--sport" | "--source-port" | "--sports" | "--source-ports" => {
                conds.push(Cond::PeerDependent(format!(
                    "from source port {}{a}",
                    if neg { "not " } else { "" }
                )))
            }
            "--ctstate" | "--state" => conds.push(Cond::CtState {
                neg,
                states: a.split(',').map(str::to_string).collect(),
            }),
            "--dst-type" if a == "LOCAL" => conds.push(Cond::DstLocal { neg }),
            "--comment" => {}
            "--limit-iface-in" => {}
            "-j" | "--jump" | "-g" | "--goto" => {
                let goto = opt == "-g" || opt == "--goto";
                action = match a.as_str() {
                    "ACCEPT" => Action::Accept,
                    "DROP" => Action::Drop,
                    "REJECT" => Action::Reject,
                    "RETURN" => Action::Return,
                    "DNAT" => {
                        let to = w
                            .iter()
                            .position(|x| x == "--to-destination")
                            .and_then(|p| w.get(p + 1))
                            .cloned()
                            .unwrap_or_default();
                        dnat(&to)
                    }
                    "LOG" | "NFLOG" | "MARK" | "CONNMARK" | "MASQUERADE" | "SNAT" | "TRACE"
                    | "CT" | "NOTRACK" | "TCPMSS" | "CHECKSUM" | "ULOG" => Action::Continue,
                    "REDIRECT" | "QUEUE" | "NFQUEUE" | "TPROXY" => {
                        Action::Complex(format!("-j {a}"))
                    }
                    t if goto => Action::Goto(t.to_string()),
                    t => Action::Jump(t.to_string()),
                };
                // Target options follow; they are consumed below.
                i += 2;
                while i < w.len() && w[i].starts_with("--") {
                    i += 2;
                }
                neg = false;
                continue;
            }
            o if o.starts_with('-') => {
                // An option of a match this reader does not model (`-m recent --name …`):
                // quote it; it has already made the rule complex unless it is a known no-op.
                let has_arg = !a.is_empty() && !a.starts_with('-') && a != "!";
                if !has_arg {
                    used = 1;
                }
                if !matches!(module.as_str(), "comment") {
                    conds.push(Cond::Complex(if has_arg {
                        format!("{o} {a}")
                    } else {
                        o.to_string()
                    }));
                }
            }
            _ => used = 1,
        }
        neg = false;
        i += used;
    }
    Rule {
        text,
        conds,
        action,
    }
}

fn dnat(to: &str) -> Action {
    // 172.17.0.2:80, 172.17.0.2, [fd00::2]:80, 172.17.0.2-172.17.0.5 (ranges are not followed).
    let (addr, port) = if let Some(rest) = to.strip_prefix('[') {
        match rest.split_once("]:") {
            Some((a, p)) => (a.to_string(), Some(p.to_string())),
            None => (rest.trim_end_matches(']').to_string(), None),
        }
    } else if to.matches(':').count() == 1 {
        let (a, p) = to.split_once(':').unwrap_or((to, ""));
        (a.to_string(), Some(p.to_string()))
    } else {
        (to.to_string(), None)
    };
    let addr = if addr.is_empty() {
        None
    } else {
        match addr.parse() {
            Ok(a) => Some(a),
            Err(_) => return Action::Complex(format!("DNAT --to-destination {to}")),
        }
    };
    let port = match port {
        None => None,
        Some(p) => match p.parse() {
            Ok(p) => Some(p),
            Err(_) => return Action::Complex(format!("DNAT --to-destination {to}")),
        },
    };
    Action::Dnat { addr, port }
}
