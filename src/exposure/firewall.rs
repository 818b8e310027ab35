//! One model of a packet filter's rules (chains on hooks, rules as conditions and an action),
//! filled by the nftables and iptables parsers, and the walk that follows a new inbound
//! connection through it: prerouting, DNAT, then the input (or, after DNAT, forward) hook chains
//! in priority order, jumps and gotos, verdicts, policies.
//!
//! The walk is conservative: a condition it does not model makes the verdict "too complex to judge
//! here" with the rule quoted, never a guess; a condition on the peer's source address makes the
//! rule a stated exception ("from 10.0.0.0/8: dropped by …"), since the source is not known in
//! advance. Runs no commands and reads no files.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::registry::Protocol;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetFamily {
    Ip,
    Ip6,
    /// nftables `inet`: both.
    Inet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
    /// A hook this walk does not follow (netdev ingress, bridge, arp).
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainKind {
    Filter,
    Nat,
    /// raw, mangle, security, route: they can drop too, so they are walked like filter chains.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Accept,
    Drop,
}

/// An address and prefix length, `10.0.0.0/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    pub addr: IpAddr,
    pub len: u8,
}

impl Net {
    pub fn parse(s: &str) -> Option<Net> {
        let (a, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            None => max,
            Some(l) => match l.parse::<u8>() {
                Ok(n) if n <= max => n,
                // iptables-save writes v4 masks as a prefix; a dotted mask is left unmodelled.
                _ => return None,
            },
        };
        Some(Net { addr, len })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let m = if self.len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.len))
                };
                u32::from(a) & m == u32::from(b) & m
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let m = if self.len == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.len))
                };
                u128::from(a) & m == u128::from(b) & m
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let full = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.len == full {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.len)
        }
    }
}

/// An interface name pattern: exact, or a prefix (`eth+` in iptables, `eth*` in nftables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfPattern {
    pub name: String,
    pub prefix: bool,
}

impl IfPattern {
    pub fn parse(s: &str, wildcard: char) -> IfPattern {
        match s.strip_suffix(wildcard) {
            Some(p) => IfPattern {
                name: p.to_string(),
                prefix: true,
            },
            None => IfPattern {
                name: s.to_string(),
                prefix: false,
            },
        }
    }

    fn matches(&self, name: &str) -> bool {
        if self.prefix {
            name.starts_with(&self.name)
        } else {
            name == self.name
        }
    }
}

/// One condition of a rule. `neg` inverts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    Proto {
        neg: bool,
        protos: Vec<u8>,
    },
    Dport {
        neg: bool,
        ranges: Vec<(u16, u16)>,
    },
    Iif {
        neg: bool,
        names: Vec<IfPattern>,
    },
    Oif {
        neg: bool,
        names: Vec<IfPattern>,
    },
    Saddr {
        neg: bool,
        nets: Vec<Net>,
    },
    Daddr {
        neg: bool,
        nets: Vec<Net>,
    },
    CtState {
        neg: bool,
        states: Vec<String>,
    },
    /// The destination is an address of this host (`-m addrtype --dst-type LOCAL`,
    /// `fib daddr type local`).
    DstLocal {
        neg: bool,
    },
    /// Only packets of this family (`ip saddr …` in an inet table, `meta nfproto ipv6`).
    Family(NetFamily),
    /// Depends on the peer (its source port, say), not on anything known in advance.
    PeerDependent(String),
    /// A match this walk does not model; the text says which.
    Complex(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Accept,
    Drop,
    Reject,
    Jump(String),
    Goto(String),
    Return,
    /// Counters, logs, marks: the packet goes on to the next rule.
    Continue,
    Dnat {
        addr: Option<IpAddr>,
        port: Option<u16>,
    },
    /// A verdict map: the first entry whose key conditions hold decides.
    Vmap(Vec<(Vec<Cond>, Action)>),
    Complex(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The rule as its tool would print it, for quoting.
    pub text: String,
    pub conds: Vec<Cond>,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// `nftables`, `iptables-legacy`, `ip6tables-nft`…
    pub source: String,
    pub table: String,
    pub name: String,
    pub family: NetFamily,
    pub hook: Option<Hook>,
    pub kind: ChainKind,
    pub priority: i32,
    /// Base chains only; nftables' default is accept.
    pub policy: Option<Policy>,
    pub rules: Vec<Rule>,
}

impl Chain {
    fn place(&self) -> String {
        format!("{} table {} chain {}", self.source, self.table, self.name)
    }
}

/// Every chain of every ruleset that was read, indexed for jumps.
#[derive(Debug, Default, Clone)]
pub struct Rules {
    pub chains: Vec<Chain>,
    /// What could not be read or is not followed, for "not evaluated".
    pub notes: Vec<String>,
    index: HashMap<(String, String, String), usize>,
}

impl Rules {
    pub fn new(chains: Vec<Chain>, notes: Vec<String>) -> Rules {
        let index = chains
            .iter()
            .enumerate()
            .map(|(i, c)| ((c.source.clone(), c.table.clone(), c.name.clone()), i))
            .collect();
        Rules {
            chains,
            notes,
            index,
        }
    }

    pub fn extend(&mut self, other: Rules) {
        let mut chains = std::mem::take(&mut self.chains);
        chains.extend(other.chains);
        let mut notes = std::mem::take(&mut self.notes);
        notes.extend(other.notes);
        *self = Rules::new(chains, notes);
    }

    /// No rule anywhere on the path a new inbound connection takes, and no dropping policy.
    fn path_is_empty(&self) -> bool {
        self.chains
            .iter()
            .filter(|c| matches!(c.hook, Some(Hook::Prerouting | Hook::Input | Hook::Forward)))
            .all(|c| c.rules.is_empty() && c.policy != Some(Policy::Drop))
    }

    pub fn rule_count(&self) -> usize {
        self.chains.iter().map(|c| c.rules.len()).sum()
    }
}

/// A new inbound connection as the walk sees it.
#[derive(Debug, Clone)]
pub struct Probe {
    pub protocol: Protocol,
    pub dst: IpAddr,
    pub dport: u16,
    pub iif: String,
    /// Set on the forward path (after DNAT): the interface towards the new destination.
    pub oif: Option<String>,
    pub dst_local: bool,
}

impl Probe {
    fn family(&self) -> NetFamily {
        if self.dst.is_ipv4() {
            NetFamily::Ip
        } else {
            NetFamily::Ip6
        }
    }

    fn proto_number(&self) -> u8 {
        match self.protocol {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
            Protocol::Dccp => 33,
        }
    }
}

/// What the rules say about a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// No rules on the path at all.
    NoRules,
    Accepted,
    Dropped,
    Rejected,
    /// Sent on elsewhere by DNAT (a published container port) and accepted on the forward path.
    Forwarded,
    TooComplex,
    /// The rules could not be read (not root, no nft).
    NotRead,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::NoRules => "no-rules",
            Outcome::Accepted => "accepted",
            Outcome::Dropped => "dropped",
            Outcome::Rejected => "rejected",
            Outcome::Forwarded => "forwarded",
            Outcome::TooComplex => "too-complex",
            Outcome::NotRead => "not-read",
        }
    }

    /// Whether a connection gets through (as far as the rules say).
    pub fn passes(self) -> bool {
        matches!(
            self,
            Outcome::NoRules | Outcome::Accepted | Outcome::Forwarded
        )
    }
}

/// The firewall's say on one listener from one interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub outcome: Outcome,
    /// One sentence: what decided, where.
    pub reason: String,
    /// The deciding rule, as its tool prints it.
    pub rule: Option<String>,
    /// Where a DNAT sends the connection, when one does.
    pub dnat_to: Option<String>,
    /// The container engine whose chain holds that DNAT (Docker, Podman), when its chain or
    /// table names it.
    pub published_by: Option<&'static str>,
    /// Exceptions by source: "from 10.0.0.0/8: accepted by `…`".
    pub conditions: Vec<String>,
    /// What was not evaluated.
    pub not_evaluated: Vec<String>,
}

enum Walk {
    /// Accepted, by the quoted rule (`None` for a policy).
    Accept(Option<String>),
    Drop(String, String),
    Reject(String, String),
    Return,
    Dnat(String, Option<IpAddr>, Option<u16>),
    Complex(String, String),
}

enum Tri {
    Yes,
    No,
    Source(String),
    Unknown(String),
}

fn eval_cond(c: &Cond, p: &Probe) -> Tri {
    let b = |v: bool, neg: bool| if v != neg { Tri::Yes } else { Tri::No };
    match c {
        Cond::Proto { neg, protos } => b(protos.contains(&p.proto_number()), *neg),
        Cond::Dport { neg, ranges } => b(
            ranges.iter().any(|(a, z)| (*a..=*z).contains(&p.dport)),
            *neg,
        ),
        Cond::Iif { neg, names } => b(names.iter().any(|n| n.matches(&p.iif)), *neg),
        Cond::Oif { neg, names } => match &p.oif {
            Some(o) => b(names.iter().any(|n| n.matches(o)), *neg),
            // On the input path a packet has no output interface.
            None => b(false, *neg),
        },
        Cond::Saddr { neg, nets } => {
            let list = nets
                .iter()
                .map(Net::to_string)
                .collect::<Vec<_>>()
                .join(",");
            Tri::Source(if *neg {
                format!("from anywhere but {list}")
            } else {
                format!("from {list}")
            })
        }
        Cond::Daddr { neg, nets } => b(nets.iter().any(|n| n.contains(p.dst)), *neg),
        Cond::CtState { neg, states } => {
            // A new connection's first packet is in state new; it is never established, related
            // or invalid. Other states (untracked) are not modelled.
            let mut hit = false;
            for s in states {
                match s.to_ascii_lowercase().as_str() {
                    "new" => hit = true,
                    "established" | "related" | "invalid" => {}
                    other => return Tri::Unknown(format!("ct state {other}")),
                }
            }
            b(hit, *neg)
        }
        Cond::DstLocal { neg } => b(p.dst_local, *neg),
        Cond::Family(f) => b(*f == NetFamily::Inet || *f == p.family(), false),
        Cond::PeerDependent(what) => Tri::Source(what.clone()),
        Cond::Complex(what) => Tri::Unknown(what.clone()),
    }
}

fn eval_conds(conds: &[Cond], p: &Probe) -> Tri {
    let mut unknown = None;
    let mut source: Vec<String> = Vec::new();
    for c in conds {
        match eval_cond(c, p) {
            Tri::No => return Tri::No,
            Tri::Yes => {}
            Tri::Source(s) => source.push(s),
            Tri::Unknown(u) => unknown = Some(u),
        }
    }
    if let Some(u) = unknown {
        Tri::Unknown(u)
    } else if !source.is_empty() {
        Tri::Source(source.join(", "))
    } else {
        Tri::Yes
    }
}

struct Ctx<'a> {
    rules: &'a Rules,
    conditions: Vec<String>,
    depth: usize,
}

fn action_word(a: &Action) -> &'static str {
    match a {
        Action::Accept => "accepted",
        Action::Drop => "dropped",
        Action::Reject => "rejected",
        Action::Dnat { .. } => "sent elsewhere (DNAT)",
        _ => "handled",
    }
}

impl Ctx<'_> {
    fn walk(&mut self, ci: usize, p: &Probe) -> Walk {
        let chain = &self.rules.chains[ci];
        if self.depth > 64 {
            return Walk::Complex(
                "jumps nest deeper than 64 chains (a loop?)".into(),
                chain.place(),
            );
        }
        for rule in &chain.rules {
            let quoted = || format!("`{}` ({})", rule.text, chain.place());
            let action = match eval_conds(&rule.conds, p) {
                Tri::No => continue,
                Tri::Unknown(why) => {
                    if rule.action == Action::Continue {
                        continue;
                    }
                    return Walk::Complex(why, quoted());
                }
                Tri::Source(src) => {
                    match &rule.action {
                        Action::Continue => {}
                        Action::Jump(t) | Action::Goto(t) => self.conditions.push(format!(
                            "{src}: the rules of chain {t} apply as well ({})",
                            quoted()
                        )),
                        other => self.conditions.push(format!(
                            "{src}: {} by {}",
                            action_word(other),
                            quoted()
                        )),
                    }
                    continue;
                }
                Tri::Yes => &rule.action,
            };
            let action = match action {
                Action::Vmap(entries) => {
                    let mut chosen = None;
                    for (conds, act) in entries {
                        match eval_conds(conds, p) {
                            Tri::Yes => {
                                chosen = Some(act);
                                break;
                            }
                            Tri::No => {}
                            Tri::Source(_) | Tri::Unknown(_) => {
                                return Walk::Complex(
                                    "a verdict map keyed on something not modelled".into(),
                                    quoted(),
                                )
                            }
                        }
                    }
                    match chosen {
                        Some(a) => a,
                        None => continue,
                    }
                }
                a => a,
            };
            match action {
                Action::Continue => {}
                Action::Accept => return Walk::Accept(Some(quoted())),
                Action::Drop => return Walk::Drop(chain.place(), quoted()),
                Action::Reject => return Walk::Reject(chain.place(), quoted()),
                Action::Return => return Walk::Return,
                Action::Dnat { addr, port } => return Walk::Dnat(quoted(), *addr, *port),
                Action::Complex(what) => return Walk::Complex(what.clone(), quoted()),
                Action::Vmap(_) => {
                    return Walk::Complex("a verdict map inside a verdict map".into(), quoted())
                }
                Action::Jump(target) | Action::Goto(target) => {
                    let key = (chain.source.clone(), chain.table.clone(), target.clone());
                    let Some(&ti) = self.rules.index.get(&key) else {
                        return Walk::Complex(format!("jump to unknown chain {target}"), quoted());
                    };
                    self.depth += 1;
                    let w = self.walk(ti, p);
                    self.depth -= 1;
                    match (w, action) {
                        (Walk::Return, Action::Jump(_)) => {}
                        (w, _) => return w,
                    }
                }
            }
        }
        Walk::Return
    }

    /// Walk the base chains on `hook` (of the probe's family) in priority order. Accept goes on to
    /// the next base chain; drop and reject are final.
    fn hook(
        &mut self,
        hook: Hook,
        nat: bool,
        p: &Probe,
        accepted_by: &mut Option<String>,
    ) -> Option<Walk> {
        let mut bases: Vec<usize> = self
            .rules
            .chains
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.hook == Some(hook)
                    && (c.kind == ChainKind::Nat) == nat
                    && (c.family == NetFamily::Inet || c.family == p.family())
            })
            .map(|(i, _)| i)
            .collect();
        bases.sort_by_key(|i| self.rules.chains[*i].priority);
        for ci in bases {
            let chain = &self.rules.chains[ci];
            match self.walk(ci, p) {
                Walk::Accept(rule) => {
                    if !nat {
                        *accepted_by = rule;
                    }
                }
                Walk::Return => {
                    if chain.policy == Some(Policy::Drop) && !nat {
                        return Some(Walk::Drop(
                            chain.place(),
                            format!("policy drop of {}", chain.place()),
                        ));
                    }
                    if !nat && !chain.rules.is_empty() && accepted_by.is_none() {
                        *accepted_by = Some(format!("policy accept of {}", chain.place()));
                    }
                }
                w @ (Walk::Drop(..) | Walk::Reject(..) | Walk::Complex(..) | Walk::Dnat(..)) => {
                    return Some(w)
                }
            }
        }
        None
    }
}

/// What the rules say about a new connection to `dst`:`dport` arriving on `iif`.
/// `interfaces` gives the networks of the host's interfaces, to find where a DNAT target lives.
pub fn judge(
    rules: &Rules,
    protocol: Protocol,
    dst: IpAddr,
    dport: u16,
    iif: &str,
    interfaces: &[super::interfaces::IfAddr],
) -> Verdict {
    let proto = protocol.as_str();
    let mut verdict = Verdict {
        outcome: Outcome::NoRules,
        reason: String::new(),
        rule: None,
        dnat_to: None,
        published_by: None,
        conditions: Vec::new(),
        not_evaluated: rules.notes.clone(),
    };
    if rules.path_is_empty() {
        verdict.reason = "no firewall rules: reachable wherever the address routes".into();
        return verdict;
    }
    let mut ctx = Ctx {
        rules,
        conditions: Vec::new(),
        depth: 0,
    };
    let mut probe = Probe {
        protocol,
        dst,
        dport,
        iif: iif.to_string(),
        oif: None,
        dst_local: true,
    };
    let mut accepted_by = None;
    let finish = |mut v: Verdict, w: Walk, what: &str, ctx: Ctx| -> Verdict {
        v.conditions = ctx.conditions;
        match w {
            Walk::Drop(_, rule) if rule.starts_with("policy drop") => {
                v.outcome = Outcome::Dropped;
                v.reason = format!("{rule} and no rule accepts {what} on {iif}");
            }
            Walk::Drop(place, rule) => {
                v.outcome = Outcome::Dropped;
                v.reason = format!("a rule in {place} drops {what} on {iif}");
                v.rule = Some(rule);
            }
            Walk::Reject(place, rule) => {
                v.outcome = Outcome::Rejected;
                v.reason = format!("a rule in {place} rejects {what} on {iif}");
                v.rule = Some(rule);
            }
            Walk::Complex(why, rule) => {
                v.outcome = Outcome::TooComplex;
                v.reason = format!("rules too complex to judge here ({why}); read the rule shown");
                v.rule = Some(rule);
            }
            Walk::Accept(..) | Walk::Return | Walk::Dnat(..) => {}
        }
        v
    };
    let what = format!("{proto} dport {dport}");

    // raw/mangle prerouting, then nat prerouting (DNAT), then input or forward.
    if let Some(w) = ctx.hook(Hook::Prerouting, false, &probe, &mut accepted_by) {
        return finish(verdict, w, &what, ctx);
    }
    let mut ignore = None;
    let dnat = ctx.hook(Hook::Prerouting, true, &probe, &mut ignore);
    accepted_by = None;
    let hook = match dnat {
        Some(Walk::Dnat(rule, addr, port)) => {
            if let Some(a) = addr {
                probe.dst = a;
                probe.dst_local = interfaces.iter().any(|i| i.addr == a);
            }
            if let Some(port) = port {
                probe.dport = port;
            }
            probe.oif = interfaces
                .iter()
                .find(|i| i.network_contains(probe.dst))
                .map(|i| i.interface.clone());
            verdict.dnat_to = Some(format!(
                "{} by {rule}",
                std::net::SocketAddr::new(probe.dst, probe.dport)
            ));
            verdict.published_by = publisher(&rule);
            verdict.rule = Some(rule);
            if probe.dst_local {
                Hook::Input
            } else {
                Hook::Forward
            }
        }
        Some(w) => return finish(verdict, w, &what, ctx),
        None => Hook::Input,
    };
    if let Some(w) = ctx.hook(hook, false, &probe, &mut accepted_by) {
        let forwarded = verdict.dnat_to.clone();
        let mut v = finish(verdict, w, &what, ctx);
        if let Some(to) = forwarded {
            v.reason = format!("DNAT sends it to {to}, then {}", v.reason);
        }
        return v;
    }
    verdict.conditions = ctx.conditions;
    if let Some(to) = &verdict.dnat_to {
        verdict.outcome = Outcome::Forwarded;
        let by = verdict
            .published_by
            .map(|e| format!(" by {e}"))
            .unwrap_or_default();
        verdict.reason = format!(
            "published{by}: DNAT sends {what} on {iif} to {to}; connections reach that address, not this socket"
        );
        return verdict;
    }
    verdict.outcome = Outcome::Accepted;
    verdict.reason = match accepted_by {
        Some(by) if by.starts_with("policy accept") => {
            format!("{by}: no rule drops {what} on {iif}")
        }
        Some(by) => {
            verdict.rule = Some(by.clone());
            format!("an input rule accepts {what} on {iif}")
        }
        None => format!("no rule on the input path drops {what} on {iif}"),
    };
    verdict
}

/// The container engine a DNAT rule belongs to, from the chain or table it sits in (quoted in
/// `rule`): Docker's `DOCKER` chain, Podman's netavark or CNI chains.
fn publisher(rule: &str) -> Option<&'static str> {
    let place = rule.rsplit_once(" (").map_or(rule, |(_, p)| p);
    if place.contains("chain DOCKER") {
        Some("Docker")
    } else if place.contains("netavark") || place.contains("NETAVARK") || place.contains("CNI-") {
        Some("Podman")
    } else {
        None
    }
}
