//! Parse `nft -j list ruleset` (libnftables' JSON schema, nft 0.9.3 and later) into the firewall
//! model. Takes the command's output as text, so tests feed captured rulesets; runs nothing.
//!
//! What is modelled: tcp/udp/th dport, meta l4proto/nfproto, ip/ip6 saddr/daddr, iif/oif names,
//! ct state, fib daddr type local, anonymous and named sets (when the ruleset lists their
//! elements), verdict maps on those keys, accept/drop/reject/jump/goto/return, dnat. Anything else
//! becomes a `Complex` condition quoted in the verdict.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::firewall::{
    Action, Chain, ChainKind, Cond, Hook, IfPattern, Net, NetFamily, Policy, Rule, Rules,
};

#[derive(Debug, thiserror::Error)]
#[error("cannot read the nftables ruleset: {0}")]
pub struct NftError(String);

/// Parse the JSON text of `nft -j list ruleset`. `skip_tables` names (family, table) pairs owned
/// by another reader (iptables-nft's compatibility tables, read from `iptables-nft-save`).
pub fn parse(text: &str, skip_tables: &[(String, String)]) -> Result<Rules, NftError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| NftError(e.to_string()))?;
    let items = doc
        .get("nftables")
        .and_then(Value::as_array)
        .ok_or_else(|| NftError("no \"nftables\" array in the output".into()))?;
    // Each item is an object of one key naming its kind: look at that key once.
    let items: Vec<(&str, &Value)> = items.iter().filter_map(Value::first_entry).collect();

    let skip =
        |family: &str, table: &str| skip_tables.iter().any(|(f, t)| f == family && t == table);
    // Named sets with their elements, per (family, table, name).
    let mut sets: HashMap<(&str, &str, &str), &Value> = HashMap::new();
    for &(kind, set) in &items {
        if kind == "set" || kind == "map" {
            let key = (
                str_at(set, "family"),
                str_at(set, "table"),
                str_at(set, "name"),
            );
            // A declared set without "elem" is empty: nft lists no key for no elements.
            sets.insert(key, set.get("elem").unwrap_or(&EMPTY));
        }
    }

    let mut chains: Vec<Chain> = Vec::new();
    let mut at: HashMap<(&str, &str, &str), usize> = HashMap::new();
    let mut notes = Vec::new();
    for &(kind, c) in &items {
        if kind == "chain" {
            let (family_s, table) = (str_at(c, "family"), str_at(c, "table"));
            if skip(family_s, table) {
                continue;
            }
            let Some(family) = net_family(family_s) else {
                if c.get("hook").is_some() {
                    notes.push(format!(
                        "nftables {family_s} table {table} chain {} (only ip, ip6 and inet tables are followed)",
                        str_of(c, "name")
                    ));
                }
                continue;
            };
            let hook = c.get("hook").and_then(Value::as_str).map(|h| match h {
                "prerouting" => Hook::Prerouting,
                "input" => Hook::Input,
                "forward" => Hook::Forward,
                "output" => Hook::Output,
                "postrouting" => Hook::Postrouting,
                _ => Hook::Other,
            });
            let kind = match c.get("type").and_then(Value::as_str) {
                Some("nat") => ChainKind::Nat,
                Some("filter") | None => ChainKind::Filter,
                Some(_) => ChainKind::Other,
            };
            let priority = match c.get("prio") {
                Some(n @ Value::Num(_)) => n.as_i64().unwrap_or(0) as i32,
                Some(Value::Str(s)) => named_priority(s),
                _ => 0,
            };
            let policy = hook.map(|_| match c.get("policy").and_then(Value::as_str) {
                Some("drop") => Policy::Drop,
                _ => Policy::Accept,
            });
            let name = str_at(c, "name");
            at.insert((family_s, table, name), chains.len());
            chains.push(Chain {
                source: format!("nftables {family_s}"),
                table: table.to_string(),
                name: name.to_string(),
                family,
                hook,
                kind,
                priority,
                policy,
                rules: Vec::new(),
            });
        }
    }
    for &(kind, r) in &items {
        if kind != "rule" {
            continue;
        }
        let key = (str_at(r, "family"), str_at(r, "table"), str_at(r, "chain"));
        let Some(&ci) = at.get(&key) else { continue };
        let exprs = r.get("expr").and_then(Value::as_array).unwrap_or(&[]);
        let ctx = SetCtx {
            sets: &sets,
            family: key.0,
            table: key.1,
        };
        chains[ci].rules.push(rule(exprs, &ctx));
    }
    Ok(Rules::new(chains, notes))
}

/// The elements of a set nft lists with none.
static EMPTY: Value<'static> = Value::Arr(Vec::new());

struct SetCtx<'a, 't> {
    sets: &'a HashMap<(&'a str, &'a str, &'a str), &'a Value<'t>>,
    family: &'a str,
    table: &'a str,
}

fn str_at<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn str_of(v: &Value, key: &str) -> String {
    str_at(v, key).to_string()
}

fn net_family(f: &str) -> Option<NetFamily> {
    match f {
        "ip" => Some(NetFamily::Ip),
        "ip6" => Some(NetFamily::Ip6),
        "inet" => Some(NetFamily::Inet),
        _ => None,
    }
}

fn named_priority(s: &str) -> i32 {
    // nft prints standard priorities by name, possibly with an offset ("filter + 10").
    let (name, offset) = match s.split_once(['+', '-']) {
        Some((n, o)) => {
            let o: i32 = o.trim().parse().unwrap_or(0);
            (n.trim(), if s.contains('-') { -o } else { o })
        }
        None => (s.trim(), 0),
    };
    let base = match name {
        "raw" => -300,
        "mangle" => -150,
        "dstnat" => -100,
        "filter" => 0,
        "security" => 50,
        "srcnat" => 100,
        _ => 0,
    };
    base + offset
}

/// One right-hand value, flattened: numbers, strings, ranges, prefixes.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Val {
    Num(u64),
    Str(String),
    Range(Box<Val>, Box<Val>),
    Prefix(String, u8),
    /// Something else (a concatenation, a map): never matches a modelled key.
    Other,
}

fn values(v: &Value, ctx: &SetCtx, out: &mut Vec<Val>) -> Result<(), String> {
    match v {
        n @ Value::Num(_) => out.push(Val::Num(n.as_u64().unwrap_or(u64::MAX))),
        Value::Str(s) => {
            if let Some(name) = s.strip_prefix('@') {
                match ctx.sets.get(&(ctx.family, ctx.table, name)) {
                    Some(elems) => values(elems, ctx, out)?,
                    None => return Err(format!("set @{name} (its elements are not listed)")),
                }
            } else {
                out.push(Val::Str(s.to_string()));
            }
        }
        Value::Arr(a) => {
            for x in a {
                values(x, ctx, out)?;
            }
        }
        o @ Value::Obj(_) => {
            if let Some(set) = o.get("set") {
                values(set, ctx, out)?;
            } else if let Some(Value::Arr(r)) = o.get("range") {
                let mut ends = Vec::new();
                for x in r {
                    values(x, ctx, &mut ends)?;
                }
                if ends.len() == 2 {
                    let z = ends.pop().unwrap_or(Val::Num(0));
                    let a = ends.pop().unwrap_or(Val::Num(0));
                    out.push(Val::Range(Box::new(a), Box::new(z)));
                }
            } else if let Some(p) = o.get("prefix") {
                let addr = p.get("addr").and_then(Value::as_str).unwrap_or_default();
                let len = p.get("len").and_then(Value::as_u64).unwrap_or(0);
                out.push(Val::Prefix(addr.to_string(), len.min(128) as u8));
            } else if let Some(elem) = o.get("elem") {
                // {"elem": {"val": …, "timeout": …}} in sets with element options.
                values(elem.get("val").unwrap_or(elem), ctx, out)?;
            } else {
                out.push(Val::Other);
            }
        }
        _ => out.push(Val::Other),
    }
    Ok(())
}

/// A right-hand side as nft prints it; `quote` puts strings in double quotes (interface names).
fn render(v: &Value, quote: bool) -> String {
    match v {
        Value::Str(s) if quote && !s.starts_with('@') => format!("\"{s}\""),
        Value::Str(s) => s.to_string(),
        n @ Value::Num(_) => n.to_string(),
        // A bare list is a flag value (`ct state established,related`); sets come as {"set": …}.
        Value::Arr(a) => a
            .iter()
            .map(|x| render(x, quote))
            .collect::<Vec<_>>()
            .join(","),
        o @ Value::Obj(_) => {
            if let Some(s) = o.get("set") {
                let items = match s {
                    Value::Arr(a) => a.iter().map(|x| render(x, quote)).collect(),
                    one => vec![render(one, quote)],
                };
                format!("{{ {} }}", items.join(", "))
            } else if let Some(Value::Arr(r)) = o.get("range") {
                r.iter()
                    .map(|x| render(x, quote))
                    .collect::<Vec<_>>()
                    .join("-")
            } else if let Some(p) = o.get("prefix") {
                format!(
                    "{}/{}",
                    p.get("addr").map(|a| render(a, false)).unwrap_or_default(),
                    p.get("len").map(|l| render(l, false)).unwrap_or_default()
                )
            } else if let Some(elem) = o.get("elem") {
                render(elem.get("val").unwrap_or(elem), quote)
            } else {
                v.to_string()
            }
        }
        other => other.to_string(),
    }
}

/// Values as nft prints them, the same text [`render`] makes of their JSON: a single value, a set
/// in braces, or flags joined by commas. (The netlink reader's: Linux only.)
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(super) fn show_vals(vals: &[Val], form: Form, quote: bool) -> String {
    fn one(v: &Val, quote: bool) -> String {
        match v {
            Val::Num(n) => n.to_string(),
            Val::Str(s) if quote => format!("\"{s}\""),
            Val::Str(s) => s.clone(),
            Val::Range(a, z) => format!("{}-{}", one(a, quote), one(z, quote)),
            Val::Prefix(a, l) => format!("{a}/{l}"),
            Val::Other => "?".into(),
        }
    }
    let items = vals.iter().map(|v| one(v, quote));
    match form {
        Form::Single => items.collect::<Vec<_>>().join(" "),
        Form::Set => format!("{{ {} }}", items.collect::<Vec<_>>().join(", ")),
        Form::Flags => items.collect::<Vec<_>>().join(","),
    }
}

/// How a right-hand side is written.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    Single,
    /// `{ 22, 80-90 }`: an anonymous set.
    Set,
    /// `established,related`: bits of one flag value.
    Flags,
}

/// Whether values of this left side are strings nft quotes (interface names).
pub(super) fn quoted(name: &str) -> bool {
    matches!(
        name,
        "meta iifname" | "meta oifname" | "meta iif" | "meta oif"
    )
}

fn left_name(left: &Value) -> String {
    if let Some(p) = left.get("payload") {
        if p.get("protocol").is_none() {
            // A raw payload: `@nh,64,8`.
            return format!(
                "@{},{},{}",
                str_of(p, "base"),
                p.get("offset")
                    .map(|o| render(o, false))
                    .unwrap_or_default(),
                p.get("len").map(|l| render(l, false)).unwrap_or_default()
            );
        }
        format!("{} {}", str_of(p, "protocol"), str_of(p, "field"))
    } else if let Some(m) = left.get("meta") {
        format!("meta {}", str_of(m, "key"))
    } else if let Some(c) = left.get("ct") {
        format!("ct {}", str_of(c, "key"))
    } else if let Some(f) = left.get("fib") {
        let flags = match f.get("flags") {
            Some(Value::Arr(a)) => a.iter().map(|x| render(x, false)).collect::<Vec<_>>(),
            Some(one) => vec![render(one, false)],
            None => Vec::new(),
        };
        format!("fib {} {}", flags.join(" . "), str_of(f, "result"))
    } else {
        left.to_string()
    }
}

fn port_ranges(vals: &[Val]) -> Option<Vec<(u16, u16)>> {
    let n = |v: &Val| match v {
        Val::Num(n) => u16::try_from(*n).ok(),
        Val::Str(s) => s.parse().ok(),
        _ => None,
    };
    vals.iter()
        .map(|v| match v {
            Val::Range(a, z) => Some((n(a)?, n(z)?)),
            v => n(v).map(|p| (p, p)),
        })
        .collect()
}

fn proto_numbers(vals: &[Val]) -> Option<Vec<u8>> {
    vals.iter()
        .map(|v| match v {
            Val::Num(n) => u8::try_from(*n).ok(),
            Val::Str(s) => match s.as_str() {
                "tcp" => Some(6),
                "udp" => Some(17),
                "icmp" => Some(1),
                "igmp" => Some(2),
                "udplite" => Some(136),
                "icmpv6" | "ipv6-icmp" => Some(58),
                "sctp" => Some(132),
                "dccp" => Some(33),
                "esp" => Some(50),
                "ah" => Some(51),
                "gre" => Some(47),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn nets(vals: &[Val]) -> Option<Vec<Net>> {
    vals.iter()
        .map(|v| match v {
            Val::Str(s) => Net::parse(s),
            Val::Prefix(a, l) => {
                let addr: std::net::IpAddr = a.parse().ok()?;
                let max = if addr.is_ipv4() { 32 } else { 128 };
                (*l <= max).then_some(Net { addr, len: *l })
            }
            _ => None,
        })
        .collect()
}

fn strings(vals: &[Val]) -> Option<Vec<String>> {
    vals.iter()
        .map(|v| match v {
            Val::Str(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// One match of a rule as nft lists it (`tcp dport { 22, 80 }`), whichever reader decoded it:
/// the JSON reader here and the netlink reader build the same value, so both give the same
/// conditions and the same quoted text.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Match {
    /// The left side as nft's JSON names it: `tcp dport`, `meta iifname`, `ip saddr`, `ct state`,
    /// `fib daddr type`.
    pub name: String,
    /// `==`, `!=`, `<`, `<=`, `>`, `>=`, or `in` (a flag test).
    pub op: String,
    /// The right side's values, named sets expanded; `Err` says why they are not known.
    pub vals: Result<Vec<Val>, String>,
    /// The right side as nft prints it.
    pub shown: String,
}

impl Match {
    /// The match as `nft list ruleset` writes it.
    pub(super) fn text(&self) -> String {
        let name = nft_name(&self.name);
        let mut t = String::with_capacity(name.len() + self.op.len() + self.shown.len() + 2);
        t.push_str(name);
        t.push(' ');
        if !matches!(self.op.as_str(), "==" | "in") {
            t.push_str(&self.op);
            t.push(' ');
        }
        t.push_str(&self.shown);
        t
    }

    /// The conditions this match stands for.
    pub(super) fn conds(&self) -> Vec<Cond> {
        let name = self.name.as_str();
        let op = self.op.as_str();
        let complex = || {
            // A match on a protocol's header holds only for that protocol: a probe of another
            // protocol is not stopped by not knowing the rest.
            let mut c = proto_of(name);
            c.push(Cond::Complex(format!("{name} {op} {}", self.shown)));
            c
        };
        let vals = match &self.vals {
            Ok(v) => v.as_slice(),
            Err(why) => return vec![Cond::Complex(format!("{name} {why}"))],
        };
        let neg = match op {
            "==" | "in" => false,
            "!=" => true,
            "<" | "<=" | ">" | ">=" if name.ends_with("dport") => {
                let Some(&[(p, _)]) = port_ranges(vals).as_deref() else {
                    return complex();
                };
                let range = match op {
                    "<" if p > 0 => (0, p - 1),
                    "<=" => (0, p),
                    ">" if p < u16::MAX => (p + 1, u16::MAX),
                    ">=" => (p, u16::MAX),
                    _ => return complex(),
                };
                let mut conds = proto_of(name);
                conds.push(Cond::Dport {
                    neg: false,
                    ranges: vec![range],
                });
                return conds;
            }
            _ => return complex(),
        };
        let iface = |names: Option<Vec<String>>, out: bool| match names {
            Some(n) => {
                let names = n.iter().map(|s| IfPattern::parse(s, '*')).collect();
                vec![if out {
                    Cond::Oif { neg, names }
                } else {
                    Cond::Iif { neg, names }
                }]
            }
            None => complex(),
        };
        match name {
            "tcp dport" | "udp dport" | "th dport" | "sctp dport" | "dccp dport" => {
                let Some(ranges) = port_ranges(vals) else {
                    return complex();
                };
                let mut conds = proto_of(name);
                conds.push(Cond::Dport { neg, ranges });
                conds
            }
            "tcp sport" | "udp sport" | "th sport" => {
                let mut conds = proto_of(name);
                conds.push(Cond::PeerDependent(format!(
                    "from source port {}{}",
                    if neg { "not " } else { "" },
                    self.shown
                )));
                conds
            }
            "meta l4proto" | "ip protocol" | "ip6 nexthdr" => match proto_numbers(vals) {
                Some(protos) => {
                    let mut c = vec![Cond::Proto { neg, protos }];
                    if name.starts_with("ip ") {
                        c.push(Cond::Family(NetFamily::Ip));
                    } else if name.starts_with("ip6 ") {
                        c.push(Cond::Family(NetFamily::Ip6));
                    }
                    c
                }
                None => complex(),
            },
            "meta nfproto" => match strings(vals).as_deref() {
                Some([f]) if !neg && f == "ipv4" => vec![Cond::Family(NetFamily::Ip)],
                Some([f]) if !neg && f == "ipv6" => vec![Cond::Family(NetFamily::Ip6)],
                Some([f]) if neg && f == "ipv4" => vec![Cond::Family(NetFamily::Ip6)],
                Some([f]) if neg && f == "ipv6" => vec![Cond::Family(NetFamily::Ip)],
                _ => complex(),
            },
            "meta iifname" | "meta iif" => iface(strings(vals), false),
            "meta oifname" | "meta oif" => iface(strings(vals), true),
            "ip saddr" | "ip6 saddr" | "ip daddr" | "ip6 daddr" => {
                let Some(nets) = nets(vals) else {
                    return complex();
                };
                let family = if name.starts_with("ip6") {
                    NetFamily::Ip6
                } else {
                    NetFamily::Ip
                };
                let cond = if name.ends_with("saddr") {
                    Cond::Saddr { neg, nets }
                } else {
                    Cond::Daddr { neg, nets }
                };
                vec![Cond::Family(family), cond]
            }
            "ct state" => match strings(vals) {
                Some(states) => vec![Cond::CtState { neg, states }],
                None => complex(),
            },
            // `fib daddr type local`; with more flags (`fib daddr . iif type`) the answer depends
            // on more than the destination.
            "fib daddr type" => match strings(vals).as_deref() {
                Some([t]) if t == "local" => vec![Cond::DstLocal { neg }],
                _ => complex(),
            },
            _ => complex(),
        }
    }
}

/// A `match` expression of the JSON as a [`Match`].
fn json_match(left: &Value, op: &str, right: &Value, ctx: &SetCtx) -> Match {
    let name = left_name(left);
    let mut vals = Vec::new();
    let vals = values(right, ctx, &mut vals).map(|()| vals);
    Match {
        shown: render(right, quoted(&name)),
        name,
        op: op.to_string(),
        vals,
    }
}

/// A verdict as nft writes it: `accept`, `jump svc`.
pub(super) fn verdict_text(a: &Action) -> String {
    match a {
        Action::Accept => "accept".into(),
        Action::Drop => "drop".into(),
        Action::Reject => "reject".into(),
        Action::Return => "return".into(),
        Action::Continue => "continue".into(),
        Action::Jump(t) => format!("jump {t}"),
        Action::Goto(t) => format!("goto {t}"),
        Action::Dnat { .. } | Action::Vmap(_) | Action::Complex(_) => "?".into(),
    }
}

/// `reject` as nft writes it: bare for the default (port unreachable), else with its kind
/// (`reject with tcp reset`, `reject with icmpx admin-prohibited`).
pub(super) fn reject_text(kind: &str, code: Option<&str>) -> String {
    match (kind, code) {
        ("tcp reset", _) => "reject with tcp reset".into(),
        (_, None | Some("port-unreachable")) => "reject".into(),
        (k, Some(c)) => format!("reject with {k} {c}"),
    }
}

/// `dnat to ADDR:PORT` as nft writes it (an IPv6 address in brackets when a port follows).
pub(super) fn dnat_text(addr: Option<&str>, port: Option<u16>) -> String {
    match (addr, port) {
        (Some(a), Some(p)) if a.contains(':') => format!("dnat to [{a}]:{p}"),
        (Some(a), Some(p)) => format!("dnat to {a}:{p}"),
        (Some(a), None) => format!("dnat to {a}"),
        (None, Some(p)) => format!("dnat to :{p}"),
        (None, None) => "dnat".into(),
    }
}

fn proto_of(name: &str) -> Vec<Cond> {
    let proto = match name.split(' ').next() {
        Some("tcp") => 6,
        Some("udp") => 17,
        Some("sctp") => 132,
        Some("dccp") => 33,
        Some("icmp") => 1,
        Some("icmpv6") => 58,
        // th: any transport header; the port alone decides.
        _ => return Vec::new(),
    };
    vec![Cond::Proto {
        neg: false,
        protos: vec![proto],
    }]
}

fn verdict_of(key: &str, v: &Value) -> Option<Action> {
    Some(match key {
        "accept" => Action::Accept,
        "drop" => Action::Drop,
        "return" => Action::Return,
        "continue" => Action::Continue,
        "jump" => Action::Jump(str_of(v, "target")),
        "goto" => Action::Goto(str_of(v, "target")),
        _ => return None,
    })
}

fn rule(exprs: &[Value], ctx: &SetCtx) -> Rule {
    let mut conds = Vec::new();
    let mut action = Action::Continue;
    let mut words = Vec::new();
    for e in exprs {
        let Some((key, v)) = e.first_entry() else {
            continue;
        };
        match key {
            "match" => {
                let left = v.get("left").unwrap_or(&Value::Null);
                let right = v.get("right").unwrap_or(&Value::Null);
                let op = v.get("op").and_then(Value::as_str).unwrap_or("==");
                let m = json_match(left, op, right, ctx);
                words.push(m.text());
                conds.extend(m.conds());
            }
            "counter" | "log" | "comment" | "mangle" | "notrack" | "meta" | "ct helper"
            | "masquerade" | "snat" => {
                if key == "counter" || key == "log" {
                    words.push(key.to_string());
                }
            }
            "reject" => {
                words.push(reject_text(
                    str_at(v, "type"),
                    v.get("expr").and_then(Value::as_str),
                ));
                action = Action::Reject;
            }
            "dnat" => {
                let addr = v
                    .get("addr")
                    .and_then(Value::as_str)
                    .and_then(|a| a.parse().ok());
                let port = v
                    .get("port")
                    .and_then(Value::as_u64)
                    .and_then(|p| u16::try_from(p).ok());
                let shown = v.get("addr").map(|a| render(a, false));
                words.push(dnat_text(shown.as_deref(), port));
                action = if v.get("addr").is_some() && addr.is_none() {
                    Action::Complex("dnat to an address map".into())
                } else {
                    Action::Dnat { addr, port }
                };
            }
            "vmap" => {
                let key_v = v.get("key").unwrap_or(&Value::Null);
                let data = v.get("data").unwrap_or(&Value::Null);
                let name = left_name(key_v);
                let elems = data.get("set").and_then(Value::as_array).unwrap_or(&[]);
                let mut entries = Vec::new();
                let mut shown = Vec::new();
                let mut ok = !elems.is_empty();
                for el in elems {
                    let Some(pair) = el.as_array().filter(|a| a.len() == 2) else {
                        ok = false;
                        break;
                    };
                    let verdict = pair[1].first_entry().and_then(|(k, v)| verdict_of(k, v));
                    let Some(verdict) = verdict else {
                        ok = false;
                        break;
                    };
                    shown.push(format!(
                        "{} : {}",
                        render(&pair[0], quoted(&name)),
                        verdict_text(&verdict)
                    ));
                    let conds = json_match(key_v, "==", &pair[0], ctx).conds();
                    if conds.iter().any(|c| matches!(c, Cond::Complex(_))) {
                        ok = false;
                        break;
                    }
                    entries.push((conds, verdict));
                }
                let data_text = if ok {
                    format!("{{ {} }}", shown.join(", "))
                } else {
                    render(data, false)
                };
                words.push(format!("{} vmap {data_text}", nft_name(&name)));
                action = if ok {
                    Action::Vmap(entries)
                } else {
                    Action::Complex("a verdict map this reader does not model".into())
                };
            }
            k => {
                if let Some(a) = verdict_of(k, v) {
                    words.push(verdict_text(&a));
                    action = a;
                } else {
                    // limit, quota, xt (iptables-nft compat), queue, redirect, …
                    words.push(format!("{k} {}", render(v, false)));
                    conds.push(Cond::Complex(format!("{k} (not modelled)")));
                }
            }
        }
    }
    Rule {
        text: words.join(" "),
        conds,
        action,
    }
}

/// The left side as nft writes it: `tcp dport`, `iifname`, `ct state`.
pub(super) fn nft_name(name: &str) -> &str {
    match name.strip_prefix("meta ") {
        Some(k @ ("iifname" | "oifname" | "iif" | "oif")) => k,
        _ => name,
    }
}

/// A JSON value of nft's output, borrowing its strings from the text (nft escapes almost
/// nothing) and keeping objects as key/value lists in document order: nft's objects hold a
/// handful of keys, so a list is found faster than a map is built. `serde_json::Value` owned
/// every string and built a map per object, which was most of the time to read a large ruleset.
#[derive(Debug, Clone, PartialEq)]
enum Value<'a> {
    Null,
    Bool(bool),
    Num(Num),
    Str(Cow<'a, str>),
    Arr(Vec<Value<'a>>),
    Obj(Vec<(Cow<'a, str>, Value<'a>)>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Num {
    U(u64),
    I(i64),
    F(f64),
}

impl<'a> Value<'a> {
    fn get(&self, key: &str) -> Option<&Value<'a>> {
        match self {
            Value::Obj(o) => o.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<&[Value<'a>]> {
        match self {
            Value::Arr(a) => Some(a),
            _ => None,
        }
    }

    fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Num(Num::U(n)) => Some(n),
            Value::Num(Num::I(n)) => u64::try_from(n).ok(),
            _ => None,
        }
    }

    fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Num(Num::U(n)) => i64::try_from(n).ok(),
            Value::Num(Num::I(n)) => Some(n),
            _ => None,
        }
    }

    /// The first key of an object and its value: nft's `{"accept": null}`, `{"rule": {…}}`.
    fn first_entry(&self) -> Option<(&str, &Value<'a>)> {
        match self {
            Value::Obj(o) => o.first().map(|(k, v)| (k.as_ref(), v)),
            _ => None,
        }
    }
}

/// Compact JSON, for quoting what the reader does not model.
impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
            match serde_json::to_string(s) {
                Ok(quoted) => f.write_str(&quoted),
                Err(_) => f.write_str("\"?\""),
            }
        }
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Num(Num::U(n)) => write!(f, "{n}"),
            Value::Num(Num::I(n)) => write!(f, "{n}"),
            Value::Num(Num::F(n)) => write!(f, "{n}"),
            Value::Str(s) => string(f, s),
            Value::Arr(a) => {
                f.write_str("[")?;
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Obj(o) => {
                f.write_str("{")?;
                for (i, (k, v)) in o.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    string(f, k)?;
                    write!(f, ":{v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value<'de>, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value<'de>, E> {
        Ok(Value::Bool(b))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value<'de>, E> {
        Ok(Value::Num(Num::U(n)))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value<'de>, E> {
        Ok(Value::Num(Num::I(n)))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value<'de>, E> {
        Ok(Value::Num(Num::F(n)))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Value<'de>, E> {
        Ok(Value::Str(Cow::Borrowed(s)))
    }

    // A string with escapes cannot be borrowed from the text.
    fn visit_str<E>(self, s: &str) -> Result<Value<'de>, E> {
        Ok(Value::Str(Cow::Owned(s.to_string())))
    }

    fn visit_string<E>(self, s: String) -> Result<Value<'de>, E> {
        Ok(Value::Str(Cow::Owned(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Arr(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Value<'de>>()? {
            let Value::Str(key) = key else {
                return Err(de::Error::custom("an object key that is not a string"));
            };
            entries.push((key, map.next_value()?));
        }
        Ok(Value::Obj(entries))
    }
}
