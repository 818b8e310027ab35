//! The nftables ruleset read straight from the kernel over `NETLINK_NETFILTER`: the chain and rule
//! dumps (the rules of large chains one chain at a time, see `dump_per_chain`), and the
//! elements of every set a rule looks up (`NFT_MSG_GETSETELEM`, one dump per set: the kernel has
//! no dump of all sets' elements). The rules' expressions (the bytecode `nft
//! --debug=netlink` shows) are decoded back into the statements nft lists, as [`Match`]es shared
//! with the JSON reader, so both give the same firewall model and quote a rule in the same words.
//! Running `nft -j list ruleset` costs several times more than this read: the process, its cache
//! and its JSON.
//!
//! Decoded: payload (ip/ip6 addresses and prefixes, protocol, transport ports), cmp, range,
//! lookup (sets, verdict maps), bitwise masks, meta (iifname, oifname, iif, oif, l4proto,
//! nfproto), ct state, fib daddr type, immediate verdicts, dnat, reject; counter and log are
//! quoted and ignored; nft's implicit dependencies (`meta nfproto ipv4` before `ip saddr`, `meta
//! l4proto tcp` before `tcp dport`) are folded into the match that needs them, as nft lists them.
//! Anything else becomes a `Complex` condition quoted in the verdict, as the JSON reader does.
//!
//! Speed: a rule's expressions go into one list for the whole ruleset and the bytes they compare
//! into one buffer, and the common matches are written straight from those bytes, so decoding
//! allocates little more than the model it returns; most of a read is the kernel's dump.
//!
//! Owns the nf_tables message and attribute layouts; the netlink socket and the message and
//! attribute walkers are `sockets::netlink`'s. Every length is checked: a malformed message is an
//! error, never a panic. Runs no commands and reads no files. Linux only.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::rc::Rc;

use super::firewall::{
    Action, Chain, ChainKind, Cond, Hook, IfPattern, Net, NetFamily, Policy, Rule, Rules,
};
use super::nft::{dnat_text, nft_name, quoted, reject_text, show_vals, verdict_text};
use super::nft::{Form, Match, Val};
use crate::sockets::netlink::{self, BadAttr, Part, Socket};

/// Why the ruleset was not read over netlink.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// nf_tables cannot be asked here (no permission, no nf_tables in this kernel): another way
    /// of reading the ruleset may still work.
    #[error("nf_tables cannot be asked over netlink here: {0}")]
    Unavailable(io::Error),
    #[error("cannot read the nftables ruleset over netlink: {0}")]
    Failed(String),
}

const NETLINK_NETFILTER: i32 = 12;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_GETCHAIN: u16 = 4;
const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_GETRULE: u16 = 7;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_GETSETELEM: u16 = 13;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
const NFPROTO_UNSPEC: u8 = 0;
const NFPROTO_INET: u8 = 1;
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_ARP: u8 = 3;
const NFPROTO_NETDEV: u8 = 5;
const NFPROTO_BRIDGE: u8 = 7;
const NFPROTO_IPV6: u8 = 10;

/// The most rules and sets read: far beyond any real ruleset, a bound on memory all the same.
const MAX_RULES: usize = 1_000_000;
/// The most bytes of replies read in all (the JSON reader's bound on `nft`'s output).
const MAX_BYTES: usize = 64 * 1024 * 1024;

/// Read the live ruleset of this network namespace. `skip_tables` names (family, table) pairs
/// another reader owns (iptables-nft's tables, read from `iptables-nft-save`), as for
/// [`super::nft::parse`]. A ruleset that changes while it is read (its generation differs between
/// replies) is read again, up to three times.
pub fn read(skip_tables: &[(String, String)]) -> Result<Rules, NetlinkError> {
    let mut socket = Socket::open(libc::SOCK_RAW, NETLINK_NETFILTER).map_err(unavailable)?;
    for _ in 0..3 {
        let mut reader = Reader {
            socket: &mut socket,
            seq: 0,
            generation: None,
            changed: false,
            bytes: 0,
        };
        let raw = reader.dump_all(skip_tables)?;
        if !reader.changed {
            return Ok(raw.into_rules(skip_tables));
        }
    }
    Err(NetlinkError::Failed(
        "the ruleset kept changing while it was read".into(),
    ))
}

fn unavailable(e: io::Error) -> NetlinkError {
    NetlinkError::Unavailable(e)
}

/// Whether an error on the first request means nf_tables cannot be asked at all (rather than a
/// read that went wrong).
fn is_unavailable(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EPERM
                | libc::EACCES
                | libc::EOPNOTSUPP
                | libc::EPROTONOSUPPORT
                | libc::EAFNOSUPPORT
                | libc::ENOSYS
        )
    )
}

struct Reader<'s> {
    socket: &'s mut Socket,
    seq: u32,
    /// The ruleset generation the first reply carried (`nfgenmsg.res_id`).
    generation: Option<u16>,
    changed: bool,
    bytes: usize,
}

/// What the dumps returned, before decoding.
#[derive(Default)]
struct Raw {
    chains: Vec<RawChain>,
    rules: Vec<RawRule>,
    /// Every rule's expressions, one after another; a rule names its run of them. One list for
    /// the whole ruleset, not one per rule: 5,000 rules made 5,000 lists and a value each.
    exprs: Vec<Expr>,
    /// The bytes the expressions compare and load (what their [`Span`]s point into), copied out
    /// of the receive buffer, which the next datagram overwrites.
    data: Vec<u8>,
    /// Elements of each set looked up, by (family, table, set); `Err` when it could not be read.
    sets: SetElems,
}

/// A run of bytes in [`Raw::data`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Span {
    at: u32,
    len: u32,
}

impl Span {
    /// Copy `bytes` to the end of `data` and name where they went. `data` holds at most what
    /// the replies held, which [`MAX_BYTES`] bounds far below `u32::MAX`.
    fn keep(data: &mut Vec<u8>, bytes: &[u8]) -> Span {
        let at = data.len() as u32;
        data.extend_from_slice(bytes);
        Span {
            at,
            len: bytes.len() as u32,
        }
    }

    fn of(self, data: &[u8]) -> &[u8] {
        let at = self.at as usize;
        data.get(at..at + self.len as usize).unwrap_or(&[])
    }
}

/// The elements of each set looked up, by (family, table) then set name; `Err` when the set
/// could not be read.
type SetElems = HashMap<(u8, Rc<str>), HashMap<String, Result<Vec<Elem>, String>>>;

#[derive(Debug, Clone, PartialEq)]
struct RawChain {
    family: u8,
    table: String,
    name: String,
    /// Base chains: hook number and priority.
    hook: Option<(u32, i32)>,
    policy: Option<u32>,
    kind: Option<String>,
    /// The kernel's count of the chain's rules and of the jumps to it (`NFTA_CHAIN_USE`): 0 for
    /// a chain without rules.
    uses: u32,
}

#[derive(Debug, Clone, PartialEq)]
struct RawRule {
    family: u8,
    /// Shared with the rules before it in the same chain (thousands of rules, two names).
    table: Rc<str>,
    chain: Rc<str>,
    /// Its expressions in [`Raw::exprs`].
    exprs: std::ops::Range<usize>,
}

/// One element of a set: its key (and for a range with an explicit end, that end), whether it
/// closes an interval, and for a verdict map its verdict.
#[derive(Debug, Clone, PartialEq)]
struct Elem {
    key: Vec<u8>,
    key_end: Option<Vec<u8>>,
    interval_end: bool,
    catchall: bool,
    verdict: Option<Action>,
}

impl Reader<'_> {
    /// Send one request and walk every message of its reply, handing nf_tables messages of
    /// `want` to `each`.
    fn ask(
        &mut self,
        msg: u16,
        family: u8,
        attrs: &[(u16, &[u8])],
        want: u16,
        mut each: impl FnMut(u8, &[u8]) -> Result<(), NetlinkError>,
    ) -> Result<(), io::Error> {
        self.seq += 1;
        let req = request(msg, family, self.seq, attrs);
        self.socket.send(&req)?;
        let want = (NFNL_SUBSYS_NFTABLES << 8) | want;
        let mut failure = None;
        let (generation, changed, bytes) =
            (&mut self.generation, &mut self.changed, &mut self.bytes);
        self.socket.receive(|datagram| {
            *bytes += datagram.len();
            if *bytes > MAX_BYTES {
                return Err(io::Error::other(format!(
                    "the kernel's replies passed {MAX_BYTES} bytes"
                )));
            }
            for part in netlink::messages(datagram) {
                let m = match part? {
                    Part::Done => return Ok(true),
                    Part::Message(m) => m,
                };
                if m.kind != want {
                    continue;
                }
                // struct nfgenmsg: family, version, res_id (the generation, big-endian).
                let Some(head) = m.payload.get(..4) else {
                    return Err(io::Error::other("an nf_tables message without its header"));
                };
                let gen = u16::from_be_bytes([head[2], head[3]]);
                match generation {
                    None => *generation = Some(gen),
                    Some(g) if *g != gen => *changed = true,
                    Some(_) => {}
                }
                if failure.is_none() {
                    if let Err(e) = each(head[0], &m.payload[4..]) {
                        failure = Some(e);
                    }
                }
            }
            Ok(false)
        })?;
        match failure {
            None => Ok(()),
            Some(NetlinkError::Failed(e)) => Err(io::Error::other(e)),
            Some(NetlinkError::Unavailable(e)) => Err(e),
        }
    }

    fn dump_all(&mut self, skip_tables: &[(String, String)]) -> Result<Raw, NetlinkError> {
        let mut raw = Raw::default();
        let chains = &mut raw.chains;
        self.ask(
            NFT_MSG_GETCHAIN,
            NFPROTO_UNSPEC,
            &[],
            NFT_MSG_NEWCHAIN,
            |family, attrs| {
                chains.push(parse_chain(family, attrs).map_err(failed)?);
                if chains.len() > MAX_RULES {
                    return Err(failed("more chains than any ruleset holds"));
                }
                Ok(())
            },
        )
        .map_err(|e| {
            if is_unavailable(&e) {
                NetlinkError::Unavailable(e)
            } else {
                failed(format!("the chain dump failed: {e}"))
            }
        })?;
        let skip = |family: u8, table: &str| {
            skip_tables
                .iter()
                .any(|(f, t)| f == family_name(family) && t == table)
        };
        let (rules, exprs, data) = (&mut raw.rules, &mut raw.exprs, &mut raw.data);
        // One dump of every rule, or one per chain: see `dump_per_chain`.
        let wanted: Vec<&RawChain> = raw
            .chains
            .iter()
            .filter(|c| c.uses > 0 && !skip(c.family, &c.table))
            .collect();
        let mut asks: Vec<(u8, Vec<u8>, Vec<u8>)> = Vec::new();
        if dump_per_chain(wanted.iter().map(|c| c.uses)) {
            let nul = |s: &str| [s.as_bytes(), &[0]].concat();
            for c in wanted {
                asks.push((c.family, nul(&c.table), nul(&c.name)));
            }
        } else {
            asks.push((NFPROTO_UNSPEC, Vec::new(), Vec::new()));
        }
        for (family, table, chain) in &asks {
            let whole: &[(u16, &[u8])] = &[];
            let one = [(NFTA_RULE_TABLE, &table[..]), (NFTA_RULE_CHAIN, &chain[..])];
            self.ask(
                NFT_MSG_GETRULE,
                *family,
                if table.is_empty() { whole } else { &one },
                NFT_MSG_NEWRULE,
                |family, attrs| {
                    let (at, kept) = (exprs.len(), data.len());
                    let rule =
                        parse_rule(family, attrs, rules.last(), exprs, data).map_err(failed)?;
                    if skip(family, &rule.table) {
                        exprs.truncate(at);
                        data.truncate(kept);
                    } else {
                        rules.push(rule);
                    }
                    if rules.len() > MAX_RULES {
                        return Err(failed("more rules than any ruleset holds"));
                    }
                    Ok(())
                },
            )
            .map_err(|e| failed(format!("the rule dump failed: {e}")))?;
        }

        // The elements of the sets looked up by the rules a new inbound connection can meet: the
        // rules of the prerouting, input and forward base chains (of the families modelled) and
        // of every chain they jump or go to, verdict maps included. Those are all the chains the
        // verdict walks. The kernel is asked once per set, and each ask walks the table's list
        // of sets twice or three times over, so the sets of output and postrouting chains, and
        // of chains nothing jumps to, are left unread: their lookups say so.
        let (rules, exprs, bytes) = (&raw.rules, &raw.exprs, &raw.data);
        let mut of_chain: HashMap<(u8, &str, &str), Vec<usize>> = HashMap::new();
        for (i, r) in rules.iter().enumerate() {
            of_chain
                .entry((r.family, &*r.table, &*r.chain))
                .or_default()
                .push(i);
        }
        let mut queue: Vec<(u8, &str, String)> = raw
            .chains
            .iter()
            .filter(|c| net_family(c.family).is_some() && on_the_way_in(c.hook))
            .map(|c| (c.family, c.table.as_str(), c.name.clone()))
            .collect();
        let mut seen: std::collections::HashSet<(u8, String, String)> = queue
            .iter()
            .map(|(f, t, c)| (*f, t.to_string(), c.clone()))
            .collect();
        let mut req_table = Vec::new();
        let mut req_set = Vec::new();
        while let Some((family, table, chain)) = queue.pop() {
            let mut targets: Vec<String> = Vec::new();
            for &i in of_chain
                .get(&(family, table, chain.as_str()))
                .map_or(&[][..], Vec::as_slice)
            {
                let r = &rules[i];
                for e in &exprs[r.exprs.clone()] {
                    let (set, dreg) = match e {
                        Expr::Verdict(Action::Jump(t) | Action::Goto(t)) => {
                            targets.push(t.clone());
                            continue;
                        }
                        Expr::Lookup { set, dreg, .. } => (set, dreg),
                        _ => continue,
                    };
                    let set = String::from_utf8_lossy(set.of(bytes));
                    let read = raw.sets.entry((family, r.table.clone())).or_default();
                    if let Some(done) = read.get(&*set) {
                        if let (Ok(elems), Some(0)) = (done, dreg) {
                            targets.extend(elems.iter().filter_map(jump_target));
                        }
                        continue;
                    }
                    let mut elems = Vec::new();
                    req_table.clear();
                    req_table.extend_from_slice(table.as_bytes());
                    req_table.push(0);
                    req_set.clear();
                    req_set.extend_from_slice(set.as_bytes());
                    req_set.push(0);
                    let got = self.ask(
                        NFT_MSG_GETSETELEM,
                        family,
                        &[
                            (NFTA_SET_ELEM_LIST_TABLE, &req_table),
                            (NFTA_SET_ELEM_LIST_SET, &req_set),
                        ],
                        NFT_MSG_NEWSETELEM,
                        |_, attrs| parse_elems(attrs, &mut elems).map_err(failed),
                    );
                    let value = match got {
                        Ok(()) => Ok(elems),
                        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                            Err(format!("set @{set} (its elements are not listed)"))
                        }
                        Err(e) => return Err(failed(format!("the elements of set {set}: {e}"))),
                    };
                    if let (Ok(elems), Some(0)) = (&value, dreg) {
                        targets.extend(elems.iter().filter_map(jump_target));
                    }
                    read.insert(set.into_owned(), value);
                }
            }
            for t in targets {
                if seen.insert((family, table.to_string(), t.clone())) {
                    queue.push((family, table, t));
                }
            }
        }
        // Every other lookup: said to be unread, never taken for an empty set.
        for r in rules {
            for e in &exprs[r.exprs.clone()] {
                if let Expr::Lookup { set, .. } = e {
                    let set = String::from_utf8_lossy(set.of(bytes));
                    let read = raw.sets.entry((r.family, r.table.clone())).or_default();
                    if !read.contains_key(&*set) {
                        let why =
                            format!("set @{set} (not read: no inbound path reaches the rule)");
                        read.insert(set.into_owned(), Err(why));
                    }
                }
            }
        }
        Ok(raw)
    }
}

/// Whether a base chain is on the way a new inbound connection takes: prerouting (filter and
/// nat), input or forward.
fn on_the_way_in(hook: Option<(u32, i32)>) -> bool {
    matches!(hook, Some((0..=2, _)))
}

/// The chain a verdict map's element jumps or goes to.
fn jump_target(e: &Elem) -> Option<String> {
    match &e.verdict {
        Some(Action::Jump(t) | Action::Goto(t)) => Some(t.clone()),
        _ => None,
    }
}

/// Whether to ask for each chain's rules apart rather than for all rules at once, from each
/// chain's `NFTA_CHAIN_USE` (its rules and the jumps to it: a bound on its rules).
///
/// The kernel fills a rule dump 32 KiB at a time, and each time walks the rules from the start
/// of the dump to where it left off: a dump of `r` rules walks about `r² / 2k` of them, `k`
/// being the rules that fit in 32 KiB (about 80 of nft's usual ones). Asked per chain, each
/// walk starts at its chain; 5,000 rules in two chains walk half as many, which was a tenth of
/// the whole read. But each ask costs a request and two replies, about as much as walking 125
/// rules: for thousands of small chains one dump is cheaper. Either way the same rules are
/// read, in the same order within each chain.
fn dump_per_chain(uses: impl Iterator<Item = u32>) -> bool {
    const PER_DATAGRAM: u64 = 80;
    const ASK: u64 = 125;
    let (mut all, mut apart, mut walks) = (0u64, 0u64, 0u64);
    for u in uses {
        let u = u64::from(u.min(1_000_000));
        all += u;
        apart += u * u / (2 * PER_DATAGRAM);
        walks += ASK;
    }
    apart + walks < all * all / (2 * PER_DATAGRAM)
}

fn failed(e: impl Into<String>) -> NetlinkError {
    NetlinkError::Failed(e.into())
}

/// An nf_tables request: nlmsghdr, nfgenmsg, attributes.
fn request(msg: u16, family: u8, seq: u32, attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut req = vec![0u8; 20];
    for (kind, value) in attrs {
        let len = 4 + value.len();
        req.extend_from_slice(&(len as u16).to_ne_bytes());
        req.extend_from_slice(&kind.to_ne_bytes());
        req.extend_from_slice(value);
        req.resize(req.len() + (len.next_multiple_of(4) - len), 0);
    }
    let total = req.len() as u32;
    req[0..4].copy_from_slice(&total.to_ne_bytes());
    req[4..6].copy_from_slice(&((NFNL_SUBSYS_NFTABLES << 8) | msg).to_ne_bytes());
    req[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req[8..12].copy_from_slice(&seq.to_ne_bytes());
    req[16] = family;
    req
}

// Attribute numbers (linux/netfilter/nf_tables.h).
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_USE: u16 = 6;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_SET_ELEM_FLAGS: u16 = 3;
const NFTA_SET_ELEM_KEY_END: u16 = 9;
const NFT_SET_ELEM_INTERVAL_END: u32 = 1;
const NFT_SET_ELEM_CATCHALL: u32 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
const NFTA_VERDICT_CHAIN: u16 = 2;

/// A malformed or missing piece of a message, said in a few words.
type Parse<T> = Result<T, String>;

fn bad(_: BadAttr) -> String {
    "a malformed netlink attribute".into()
}

/// The attributes of `data`, each once, by type; a malformed one is an error.
fn attr_table(data: &[u8]) -> Parse<[Option<&[u8]>; 16]> {
    attrs_upto::<16>(data)
}

/// [`attr_table`] for types below `N` (others are skipped): the expressions' attributes, of
/// which a rule has dozens, need 3 or 8 slots, and a smaller table is cheaper to hand back.
fn attrs_upto<const N: usize>(data: &[u8]) -> Parse<[Option<&[u8]>; N]> {
    let mut t = [None; N];
    for a in netlink::attrs(data) {
        let (kind, value) = a.map_err(bad)?;
        if let Some(slot) = t.get_mut(usize::from(kind)) {
            *slot = Some(value);
        }
    }
    Ok(t)
}

fn string(v: Option<&[u8]>, what: &str) -> Parse<String> {
    let v = v.ok_or_else(|| format!("no {what}"))?;
    let end = v.iter().position(|b| *b == 0).unwrap_or(v.len());
    Ok(String::from_utf8_lossy(&v[..end]).into_owned())
}

/// A name, shared with `prev` when it is the same one.
fn shared(v: Option<&[u8]>, what: &str, prev: Option<&Rc<str>>) -> Parse<Rc<str>> {
    let bytes = v.ok_or_else(|| format!("no {what}"))?;
    let bytes = &bytes[..bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len())];
    match prev {
        Some(p) if p.as_bytes() == bytes => Ok(p.clone()),
        _ => Ok(Rc::from(String::from_utf8_lossy(bytes).as_ref())),
    }
}

fn be32(v: Option<&[u8]>) -> Option<u32> {
    Some(u32::from_be_bytes(v?.get(..4)?.try_into().ok()?))
}

fn parse_chain(family: u8, attrs: &[u8]) -> Parse<RawChain> {
    let t = attr_table(attrs)?;
    let hook = match t[usize::from(NFTA_CHAIN_HOOK)] {
        Some(nested) => {
            let h = attr_table(nested)?;
            let num = be32(h[usize::from(NFTA_HOOK_HOOKNUM)]).ok_or("a hook without its number")?;
            let prio = be32(h[usize::from(NFTA_HOOK_PRIORITY)]).unwrap_or(0) as i32;
            Some((num, prio))
        }
        None => None,
    };
    Ok(RawChain {
        family,
        table: string(t[usize::from(NFTA_CHAIN_TABLE)], "chain table")?,
        name: string(t[usize::from(NFTA_CHAIN_NAME)], "chain name")?,
        hook,
        policy: be32(t[usize::from(NFTA_CHAIN_POLICY)]),
        uses: be32(t[usize::from(NFTA_CHAIN_USE)]).unwrap_or(u32::MAX),
        kind: t[usize::from(NFTA_CHAIN_TYPE)]
            .map(|v| string(Some(v), "chain type"))
            .transpose()?,
    })
}

/// One rule of the rule dump; its expressions are appended to `exprs`, the bytes they keep to
/// `data`.
fn parse_rule(
    family: u8,
    attrs: &[u8],
    prev: Option<&RawRule>,
    exprs: &mut Vec<Expr>,
    data: &mut Vec<u8>,
) -> Parse<RawRule> {
    let t = attr_table(attrs)?;
    let start = exprs.len();
    if let Some(list) = t[usize::from(NFTA_RULE_EXPRESSIONS)] {
        for a in netlink::attrs(list) {
            let (kind, elem) = a.map_err(bad)?;
            if kind == NFTA_LIST_ELEM {
                exprs.push(parse_expr(elem, data)?);
            }
        }
    }
    let exprs = start..exprs.len();
    Ok(RawRule {
        family,
        table: shared(
            t[usize::from(NFTA_RULE_TABLE)],
            "rule table",
            prev.map(|r| &r.table),
        )?,
        chain: shared(
            t[usize::from(NFTA_RULE_CHAIN)],
            "rule chain",
            prev.map(|r| &r.chain),
        )?,
        exprs,
    })
}

/// The `NFTA_DATA_VALUE` bytes of a nested `nft_data`.
fn data_value(v: Option<&[u8]>) -> Parse<&[u8]> {
    let t = attrs_upto::<3>(v.ok_or("an expression without its data")?)?;
    Ok(t[usize::from(NFTA_DATA_VALUE)].ok_or("data that is not a value")?)
}

/// [`data_value`], kept in `data`.
fn kept_value(v: Option<&[u8]>, data: &mut Vec<u8>) -> Parse<Span> {
    Ok(Span::keep(data, data_value(v)?))
}

/// A NUL-terminated name's bytes, without the NUL.
fn name_bytes<'v>(v: Option<&'v [u8]>, what: &str) -> Parse<&'v [u8]> {
    let v = v.ok_or_else(|| format!("no {what}"))?;
    Ok(&v[..v.iter().position(|b| *b == 0).unwrap_or(v.len())])
}

/// A verdict (`NFTA_DATA_VERDICT`) as the model's action.
fn verdict(nested: &[u8]) -> Parse<Action> {
    let t = attr_table(nested)?;
    let v = attr_table(t[usize::from(NFTA_DATA_VERDICT)].ok_or("data that is not a verdict")?)?;
    let code = be32(v[usize::from(NFTA_VERDICT_CODE)]).ok_or("a verdict without its code")? as i32;
    let chain = || string(v[usize::from(NFTA_VERDICT_CHAIN)], "jump target");
    Ok(match code {
        0 => Action::Drop,
        1 => Action::Accept,
        -1 => Action::Continue,
        -3 => Action::Jump(chain()?),
        -4 => Action::Goto(chain()?),
        -5 => Action::Return,
        // NF_QUEUE, NFT_BREAK and the rest.
        other => Action::Complex(format!("verdict {other} (not modelled)")),
    })
}

fn parse_elems(attrs: &[u8], out: &mut Vec<Elem>) -> Parse<()> {
    let t = attr_table(attrs)?;
    let Some(list) = t[usize::from(NFTA_SET_ELEM_LIST_ELEMENTS)] else {
        return Ok(());
    };
    for a in netlink::attrs(list) {
        let (kind, elem) = a.map_err(bad)?;
        if kind != NFTA_LIST_ELEM {
            continue;
        }
        if out.len() >= MAX_RULES {
            return Err("more set elements than any ruleset holds".into());
        }
        let e = attr_table(elem)?;
        let flags = be32(e[usize::from(NFTA_SET_ELEM_FLAGS)]).unwrap_or(0);
        let key = match e[usize::from(NFTA_SET_ELEM_KEY)] {
            Some(k) => data_value(Some(k))?.to_vec(),
            None if flags & NFT_SET_ELEM_CATCHALL != 0 => Vec::new(),
            None => return Err("a set element without its key".into()),
        };
        out.push(Elem {
            key,
            key_end: e[usize::from(NFTA_SET_ELEM_KEY_END)]
                .map(|k| data_value(Some(k)).map(<[u8]>::to_vec))
                .transpose()?,
            interval_end: flags & NFT_SET_ELEM_INTERVAL_END != 0,
            catchall: flags & NFT_SET_ELEM_CATCHALL != 0,
            verdict: match e[usize::from(NFTA_SET_ELEM_DATA)] {
                Some(d) if attr_table(d)?[usize::from(NFTA_DATA_VERDICT)].is_some() => {
                    Some(verdict(d)?)
                }
                _ => None,
            },
        });
    }
    Ok(())
}

/// One expression of a rule, decoded from its attributes.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Payload {
        dreg: u32,
        base: u32,
        offset: u32,
        len: u32,
    },
    Meta {
        dreg: u32,
        key: u32,
    },
    Ct {
        dreg: u32,
        key: u32,
    },
    Fib {
        dreg: u32,
        result: u32,
        flags: u32,
    },
    Bitwise {
        sreg: u32,
        dreg: u32,
        mask: Span,
        /// A plain mask (`& m ^ 0`); shifts and xors are not.
        plain: bool,
    },
    Cmp {
        sreg: u32,
        op: u32,
        data: Span,
    },
    Range {
        sreg: u32,
        neg: bool,
        from: Span,
        to: Span,
    },
    Lookup {
        sreg: u32,
        /// The set's name (bytes, without the NUL).
        set: Span,
        dreg: Option<u32>,
        inv: bool,
    },
    Immediate {
        dreg: u32,
        data: Span,
    },
    Verdict(Action),
    Nat {
        dnat: bool,
        addr: Option<u32>,
        addr_max: Option<u32>,
        proto: Option<u32>,
    },
    Reject {
        kind: u32,
        code: u8,
    },
    Limit {
        rate: u64,
        unit: u64,
        bytes: bool,
    },
    Counter,
    Log,
    /// Changes the packet or its state and lets it go on (meta/ct set, masquerade, snat,
    /// notrack, a named counter): nothing to match, nothing quoted, as the JSON reader does.
    Ignored,
    /// Loads something this reader does not name into a register (`exthdr`, `socket`, `rt`…).
    Load {
        dreg: u32,
        what: Cow<'static, str>,
    },
    /// A statement this reader does not model, by the name nft's JSON gives it.
    Unmodelled(Cow<'static, str>),
}

/// One expression; the bytes it compares or loads are kept in `data`.
fn parse_expr(elem: &[u8], data: &mut Vec<u8>) -> Parse<Expr> {
    let t = attrs_upto::<3>(elem)?;
    let name = t[usize::from(NFTA_EXPR_NAME)].ok_or("no expression name")?;
    let name =
        std::str::from_utf8(&name[..name.iter().position(|b| *b == 0).unwrap_or(name.len())])
            .map_err(|_| "an expression name that is not UTF-8")?;
    let empty: &[u8] = &[];
    let d = attrs_upto::<8>(t[usize::from(NFTA_EXPR_DATA)].unwrap_or(empty))?;
    let u = |i: u16| be32(d[usize::from(i)]);
    let need = |i: u16, what: &str| u(i).ok_or_else(|| format!("{name} without its {what}"));
    Ok(match name {
        "payload" if d[5].is_some() => Expr::Ignored, // payload set (mangle)
        "payload" => Expr::Payload {
            dreg: need(1, "register")?,
            base: need(2, "base")?,
            offset: need(3, "offset")?,
            len: need(4, "length")?,
        },
        "meta" if d[3].is_some() => Expr::Ignored, // meta set
        "meta" => Expr::Meta {
            dreg: need(1, "register")?,
            key: need(2, "key")?,
        },
        "ct" if d[4].is_some() => Expr::Ignored, // ct set
        "ct" if d[3].is_some() => Expr::Load {
            dreg: need(1, "register")?,
            what: Cow::Borrowed("ct (with a direction)"),
        },
        "ct" => Expr::Ct {
            dreg: need(1, "register")?,
            key: need(2, "key")?,
        },
        "fib" => Expr::Fib {
            dreg: need(1, "register")?,
            result: need(2, "result")?,
            flags: need(3, "flags")?,
        },
        "bitwise" => {
            let op = u(6).unwrap_or(0);
            let xor = d[5].map(|x| data_value(Some(x))).transpose()?;
            let mask = d[4].map(|m| data_value(Some(m))).transpose()?;
            Expr::Bitwise {
                sreg: need(1, "source register")?,
                dreg: need(2, "register")?,
                plain: op == 0 && mask.is_some() && xor.is_some_and(|x| x.iter().all(|b| *b == 0)),
                mask: Span::keep(data, mask.unwrap_or_default()),
            }
        }
        "cmp" => Expr::Cmp {
            sreg: need(1, "register")?,
            op: need(2, "operator")?,
            data: kept_value(d[3], data)?,
        },
        "range" => Expr::Range {
            sreg: need(1, "register")?,
            neg: need(2, "operator")? == 1,
            from: kept_value(d[3], data)?,
            to: kept_value(d[4], data)?,
        },
        "lookup" => Expr::Lookup {
            sreg: need(2, "register")?,
            set: Span::keep(data, name_bytes(d[1], "lookup set")?),
            dreg: u(3),
            inv: u(5).unwrap_or(0) & 1 != 0,
        },
        "immediate" => {
            let dreg = need(1, "register")?;
            let imm = d[2].ok_or("immediate without its data")?;
            if dreg == 0 {
                Expr::Verdict(verdict(imm)?)
            } else {
                Expr::Immediate {
                    dreg,
                    data: kept_value(Some(imm), data)?,
                }
            }
        }
        "nat" => Expr::Nat {
            dnat: need(1, "type")? == 1,
            addr: u(3),
            addr_max: u(4),
            proto: u(5),
        },
        "reject" => Expr::Reject {
            kind: need(1, "type")?,
            code: d[2].and_then(|c| c.first().copied()).unwrap_or(0),
        },
        "limit" => {
            let be64 = |i: usize| {
                d[i].and_then(|v| v.get(..8))
                    .and_then(|v| v.try_into().ok())
                    .map(u64::from_be_bytes)
            };
            Expr::Limit {
                rate: be64(1).unwrap_or(0),
                unit: be64(2).unwrap_or(1),
                bytes: u(4) == Some(1),
            }
        }
        "counter" => Expr::Counter,
        "log" => Expr::Log,
        // A named object: a named counter counts, anything else (quota, limit…) is a condition.
        "objref" => match u(1) {
            Some(1) => Expr::Counter,
            Some(3) => Expr::Ignored, // ct helper
            Some(t) => Expr::Unmodelled(Cow::Borrowed(match t {
                2 => "quota",
                4 => "limit",
                5 => "ct count",
                _ => "objref",
            })),
            None => Expr::Unmodelled(Cow::Borrowed("objref")),
        },
        "masq" | "notrack" => Expr::Ignored,
        "exthdr" if d[5].is_some() => Expr::Ignored, // exthdr set
        "exthdr" | "socket" | "rt" | "numgen" | "hash" | "osf" | "xfrm" | "tunnel" | "inner"
        | "symhash" => Expr::Load {
            dreg: need(1, "register")?,
            what: Cow::Owned(name.to_string()),
        },
        "redir" => Expr::Unmodelled(Cow::Borrowed("redirect")),
        "match" | "target" => Expr::Unmodelled(Cow::Borrowed("xt")),
        "dynset" => Expr::Unmodelled(Cow::Borrowed("set")),
        "connlimit" => Expr::Unmodelled(Cow::Borrowed("ct count")),
        "flow_offload" => Expr::Unmodelled(Cow::Borrowed("flow")),
        _ => Expr::Unmodelled(Cow::Owned(name.to_string())),
    })
}

fn family_name(family: u8) -> &'static str {
    match family {
        NFPROTO_INET => "inet",
        NFPROTO_IPV4 => "ip",
        NFPROTO_IPV6 => "ip6",
        NFPROTO_ARP => "arp",
        NFPROTO_BRIDGE => "bridge",
        NFPROTO_NETDEV => "netdev",
        _ => "unknown",
    }
}

fn net_family(family: u8) -> Option<NetFamily> {
    match family {
        NFPROTO_IPV4 => Some(NetFamily::Ip),
        NFPROTO_IPV6 => Some(NetFamily::Ip6),
        NFPROTO_INET => Some(NetFamily::Inet),
        _ => None,
    }
}

impl Raw {
    fn into_rules(self, skip_tables: &[(String, String)]) -> Rules {
        let skip = |family: u8, table: &str| {
            skip_tables
                .iter()
                .any(|(f, t)| f == family_name(family) && t == table)
        };
        let mut chains: Vec<Chain> = Vec::new();
        let mut at: HashMap<(u8, &str, &str), usize> = HashMap::new();
        let mut notes = Vec::new();
        for c in &self.chains {
            if skip(c.family, &c.table) {
                continue;
            }
            let Some(family) = net_family(c.family) else {
                if c.hook.is_some() {
                    notes.push(format!(
                        "nftables {} table {} chain {} (only ip, ip6 and inet tables are followed)",
                        family_name(c.family),
                        c.table,
                        c.name
                    ));
                }
                continue;
            };
            let hook = c.hook.map(|(n, _)| match n {
                0 => Hook::Prerouting,
                1 => Hook::Input,
                2 => Hook::Forward,
                3 => Hook::Output,
                4 => Hook::Postrouting,
                _ => Hook::Other,
            });
            at.insert((c.family, &c.table, &c.name), chains.len());
            chains.push(Chain {
                source: format!("nftables {}", family_name(c.family)),
                table: c.table.clone(),
                name: c.name.clone(),
                family,
                hook,
                kind: match c.kind.as_deref() {
                    Some("nat") => ChainKind::Nat,
                    Some("filter") | None => ChainKind::Filter,
                    Some(_) => ChainKind::Other,
                },
                priority: c.hook.map_or(0, |(_, p)| p),
                // NF_DROP is 0; nftables' default is accept.
                policy: hook.map(|_| match c.policy {
                    Some(0) => Policy::Drop,
                    _ => Policy::Accept,
                }),
                rules: Vec::new(),
            });
        }
        let mut decoder = Decoder::new(&self.data, &self.sets);
        // The rules of a chain come one after another and share its names: look it up once.
        let mut last: Option<(&RawRule, Option<usize>)> = None;
        for r in &self.rules {
            let ci = match last {
                Some((p, ci))
                    if p.family == r.family
                        && Rc::ptr_eq(&p.table, &r.table)
                        && Rc::ptr_eq(&p.chain, &r.chain) =>
                {
                    ci
                }
                _ => at.get(&(r.family, &*r.table, &*r.chain)).copied(),
            };
            last = Some((r, ci));
            let Some(ci) = ci else {
                continue;
            };
            let rule = decoder.rule(r, &self.exprs[r.exprs.clone()]);
            chains[ci].rules.push(rule);
        }
        Rules::new(chains, notes)
    }
}

// Payload bases, meta and ct keys, fib results (linux/netfilter/nf_tables.h).
const BASE_NETWORK: u32 = 1;
const BASE_TRANSPORT: u32 = 2;
const META_IIF: u32 = 4;
const META_OIF: u32 = 5;
const META_IIFNAME: u32 = 6;
const META_OIFNAME: u32 = 7;
const META_NFPROTO: u32 = 15;
const META_L4PROTO: u32 = 16;
const CT_STATE: u32 = 0;
const FIB_RESULT_TYPE: u32 = 3;
const FIB_DADDR: u32 = 2;
const CMP_EQ: u32 = 0;
const CMP_NEQ: u32 = 1;
const CMP_LTE: u32 = 3;
const CMP_GTE: u32 = 5;

/// What a register holds: the load that filled it (and a mask applied since), or a constant.
#[derive(Debug, Clone)]
enum Src {
    Payload {
        base: u32,
        offset: u32,
        len: u32,
        mask: Option<Span>,
    },
    Meta(u32),
    Ct(u32, Option<Span>),
    Fib {
        result: u32,
        flags: u32,
    },
    Imm(Span),
    Other(Cow<'static, str>),
}

/// How a left side's values are written and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A big-endian number (ports, header fields).
    Number,
    /// An address field loaded `len` bytes long (a prefix when shorter than the address) with an
    /// optional mask; `v6` for IPv6.
    Addr {
        v6: bool,
    },
    Ifname,
    /// An interface index (`iif`, `oif`), shown by name.
    Ifindex,
    L4proto,
    Nfproto,
    CtState,
    FibType,
    IcmpType {
        v6: bool,
    },
    /// Raw bytes, shown in hex.
    Raw,
}

/// A left side: its name as nft's JSON gives it and how its values read.
#[derive(Debug, Clone)]
struct Key<'a> {
    name: Cow<'static, str>,
    kind: Kind,
    /// Host byte order (meta, ct, fib) rather than network order (payload).
    host: bool,
    src: Src,
    /// The mask applied to a payload or ct load since (its bytes).
    mask: Option<&'a [u8]>,
}

/// Implicit dependencies nft adds before a match and lists no more: `meta nfproto ipv4` before
/// `ip saddr` in an inet table, `meta l4proto tcp` before `tcp dport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dep {
    Nfproto(u8),
    L4proto(u8),
}

/// Decodes rules one after another, reusing its lists: per rule it allocates only what the
/// rule it gives back holds.
struct Decoder<'a> {
    /// The bytes the expressions' spans point into.
    data: &'a [u8],
    sets: &'a SetElems,
    /// The rule being decoded: its family and table.
    family: u8,
    table: Rc<str>,
    /// Register contents by index: a rule uses a handful, a list beats a map.
    regs: Vec<(u32, Src)>,
    pending: Vec<Dep>,
    /// The network and transport protocols a dependency already settled for this rule: nft
    /// writes `meta l4proto tcp` once before `tcp dport != 9999 tcp dport 1-1023`.
    settled: (Option<u8>, Option<u8>),
    /// The rule's text so far, its words separated by spaces; `words` counts them.
    text: String,
    words: usize,
    conds: Vec<Cond>,
    action: Action,
    /// Every match through [`Match`], none through [`Decoder::quick`]: for the test that
    /// compares the two.
    slow: bool,
}

/// NFT_REG_1..4 (16 bytes) and NFT_REG32_00..15 (4 bytes) name overlapping storage: one index.
fn reg(r: u32) -> u32 {
    match r {
        1..=4 => (r - 1) * 4,
        8..=23 => r - 8,
        other => 1000 + other,
    }
}

impl<'a> Decoder<'a> {
    fn new(data: &'a [u8], sets: &'a SetElems) -> Decoder<'a> {
        Decoder {
            data,
            sets,
            family: NFPROTO_UNSPEC,
            table: Rc::from(""),
            regs: Vec::new(),
            pending: Vec::new(),
            settled: (None, None),
            text: String::new(),
            words: 0,
            conds: Vec::new(),
            action: Action::Continue,
            slow: false,
        }
    }

    /// Decode one rule, whose expressions are `exprs`.
    fn rule(&mut self, rule: &'a RawRule, exprs: &[Expr]) -> Rule {
        self.family = rule.family;
        self.table = rule.table.clone();
        self.regs.clear();
        self.pending.clear();
        self.settled = (None, None);
        self.text.clear();
        self.words = 0;
        self.conds.clear();
        self.action = Action::Continue;
        let mut i = 0;
        while i < exprs.len() {
            i += self.step(&exprs[i], exprs.get(i + 1));
        }
        self.flush();
        // Copies of exactly their size: the decoder keeps its own lists for the next rule.
        Rule {
            text: self.text.as_str().into(),
            conds: self.conds.drain(..).collect(),
            action: std::mem::replace(&mut self.action, Action::Continue),
        }
    }

    /// Add a word to the rule's text.
    fn word(&mut self, w: &str) {
        self.next_word().push_str(w);
    }

    /// The rule's text, a space written if a word came before: the next word goes at its end.
    fn next_word(&mut self) -> &mut String {
        if self.words > 0 {
            self.text.push(' ');
        }
        self.words += 1;
        &mut self.text
    }

    /// Decode one expression (two when a `>=` and `<=` pair make a range); how many were used.
    fn step(&mut self, e: &Expr, next: Option<&Expr>) -> usize {
        match e {
            Expr::Payload {
                dreg,
                base,
                offset,
                len,
            } => {
                self.set_reg(
                    *dreg,
                    Src::Payload {
                        base: *base,
                        offset: *offset,
                        len: *len,
                        mask: None,
                    },
                );
            }
            Expr::Meta { dreg, key } => self.set_reg(*dreg, Src::Meta(*key)),
            Expr::Ct { dreg, key } => self.set_reg(*dreg, Src::Ct(*key, None)),
            Expr::Fib {
                dreg,
                result,
                flags,
            } => self.set_reg(
                *dreg,
                Src::Fib {
                    result: *result,
                    flags: *flags,
                },
            ),
            Expr::Load { dreg, what } => self.set_reg(*dreg, Src::Other(what.clone())),
            Expr::Immediate { dreg, data } => self.set_reg(*dreg, Src::Imm(*data)),
            Expr::Bitwise {
                sreg,
                dreg,
                mask,
                plain,
            } => {
                let src = match (self.get_reg(*sreg).cloned(), plain) {
                    (
                        Some(Src::Payload {
                            base,
                            offset,
                            len,
                            mask: None,
                        }),
                        true,
                    ) => Src::Payload {
                        base,
                        offset,
                        len,
                        mask: Some(*mask),
                    },
                    (Some(Src::Ct(key, None)), true) => Src::Ct(key, Some(*mask)),
                    _ => Src::Other(Cow::Borrowed("a bitwise operation")),
                };
                self.set_reg(*dreg, src);
            }
            Expr::Cmp { sreg, op, data } => {
                // `tcp dport 1-1023`: nft writes a range as `>=` then `<=` on one register.
                if *op == CMP_GTE {
                    if let Some(Expr::Cmp {
                        sreg: s2,
                        op: CMP_LTE,
                        data: to,
                    }) = next
                    {
                        if s2 == sreg {
                            self.range(*sreg, false, data.of(self.data), to.of(self.data));
                            return 2;
                        }
                    }
                }
                self.cmp(*sreg, *op, data.of(self.data));
            }
            Expr::Range {
                sreg,
                neg,
                from,
                to,
            } => self.range(*sreg, *neg, from.of(self.data), to.of(self.data)),
            Expr::Lookup {
                sreg,
                set,
                dreg,
                inv,
            } => {
                let set = String::from_utf8_lossy(set.of(self.data));
                self.lookup(*sreg, &set, *dreg, *inv)
            }
            Expr::Verdict(a) => {
                self.flush();
                self.word(&verdict_text(a));
                self.action = a.clone();
            }
            Expr::Nat {
                dnat,
                addr,
                addr_max,
                proto,
            } => {
                self.flush();
                if *dnat {
                    self.dnat(*addr, *addr_max, *proto);
                }
            }
            Expr::Reject { kind, code } => {
                self.flush();
                let (kind, code) = reject_words(self.family, *kind, *code);
                self.word(&reject_text(kind, code));
                self.action = Action::Reject;
            }
            Expr::Limit { rate, unit, bytes } => {
                self.flush();
                let per = match unit {
                    1 => "second",
                    60 => "minute",
                    3600 => "hour",
                    86400 => "day",
                    604800 => "week",
                    _ => "?",
                };
                let bytes = if *bytes { " bytes" } else { "" };
                let _ = write!(self.next_word(), "limit rate {rate}{bytes}/{per}");
                self.conds
                    .push(Cond::Complex("limit (not modelled)".into()));
            }
            Expr::Counter => {
                self.flush();
                self.word("counter");
            }
            Expr::Log => {
                self.flush();
                self.word("log");
            }
            Expr::Ignored => self.flush(),
            Expr::Unmodelled(what) => {
                self.flush();
                self.word(what);
                self.conds
                    .push(Cond::Complex(format!("{what} (not modelled)")));
            }
        }
        1
    }

    fn set_reg(&mut self, r: u32, src: Src) {
        let r = reg(r);
        match self.regs.iter_mut().find(|(i, _)| *i == r) {
            Some(slot) => slot.1 = src,
            None => self.regs.push((r, src)),
        }
    }

    fn get_reg(&self, r: u32) -> Option<&Src> {
        let r = reg(r);
        self.regs.iter().find(|(i, _)| *i == r).map(|(_, s)| s)
    }

    /// Write out the dependencies no match used, as the explicit matches they are.
    fn flush(&mut self) {
        for dep in std::mem::take(&mut self.pending) {
            let (name, v) = match dep {
                Dep::Nfproto(f) => ("meta nfproto", nfproto_val(f)),
                Dep::L4proto(p) => ("meta l4proto", l4proto_val(p)),
            };
            self.push(Match {
                name: name.into(),
                op: "==".into(),
                shown: show_vals(std::slice::from_ref(&v), Form::Single, false),
                vals: Ok(vec![v]),
            });
        }
    }

    fn push(&mut self, m: Match) {
        self.word(&m.text());
        self.conds.extend(m.conds());
    }

    /// The left side register `r` holds, taking the dependency it needs from those pending.
    fn key(&mut self, r: u32) -> Key<'a> {
        let src = self
            .get_reg(r)
            .cloned()
            .unwrap_or_else(|| Src::Other(Cow::Owned(format!("register {r}"))));
        let (name, kind, host) = match &src {
            Src::Payload {
                base,
                offset,
                len,
                mask,
            } => {
                let (name, kind) = self.payload_name(*base, *offset, *len, mask.is_some());
                (name, kind, false)
            }
            Src::Meta(k) => {
                let (name, kind) = match *k {
                    META_IIFNAME => (Cow::Borrowed("meta iifname"), Kind::Ifname),
                    META_OIFNAME => (Cow::Borrowed("meta oifname"), Kind::Ifname),
                    META_IIF => (Cow::Borrowed("meta iif"), Kind::Ifindex),
                    META_OIF => (Cow::Borrowed("meta oif"), Kind::Ifindex),
                    META_NFPROTO => (Cow::Borrowed("meta nfproto"), Kind::Nfproto),
                    META_L4PROTO => (Cow::Borrowed("meta l4proto"), Kind::L4proto),
                    3 => (Cow::Borrowed("meta mark"), Kind::Number),
                    other => (Cow::Owned(format!("meta key {other}")), Kind::Number),
                };
                (name, kind, true)
            }
            Src::Ct(CT_STATE, _) => (Cow::Borrowed("ct state"), Kind::CtState, true),
            Src::Ct(k, _) => (
                match *k {
                    2 => Cow::Borrowed("ct status"),
                    3 => Cow::Borrowed("ct mark"),
                    1 => Cow::Borrowed("ct direction"),
                    other => Cow::Owned(format!("ct key {other}")),
                },
                Kind::Number,
                true,
            ),
            Src::Fib { result, flags } => {
                let mut f = Vec::new();
                for (bit, word) in [
                    (1, "saddr"),
                    (FIB_DADDR, "daddr"),
                    (4, "mark"),
                    (8, "iif"),
                    (16, "oif"),
                ] {
                    if flags & bit != 0 {
                        f.push(word);
                    }
                }
                let result_word = match *result {
                    1 => "oif",
                    2 => "oifname",
                    FIB_RESULT_TYPE => "type",
                    _ => "?",
                };
                let kind = if *result == FIB_RESULT_TYPE {
                    Kind::FibType
                } else {
                    Kind::Number
                };
                let name = format!("fib {} {result_word}", f.join(" . "));
                (Cow::Owned(name), kind, true)
            }
            Src::Imm(_) => (Cow::Borrowed("a constant"), Kind::Raw, false),
            Src::Other(what) => (what.clone(), Kind::Raw, false),
        };
        let mask = match &src {
            Src::Payload { mask, .. } | Src::Ct(_, mask) => mask.map(|m| m.of(self.data)),
            _ => None,
        };
        Key {
            name,
            kind,
            host,
            src,
            mask,
        }
    }

    /// A payload field by name, as nft lists it, taking the dependency it needs.
    fn payload_name(
        &mut self,
        base: u32,
        offset: u32,
        len: u32,
        masked: bool,
    ) -> (Cow<'static, str>, Kind) {
        let raw = |b: &str| {
            let name = format!("@{b},{},{}", offset * 8, len * 8);
            (Cow::Owned(name), Kind::Number)
        };
        match base {
            BASE_NETWORK => {
                let v6 = match self.family {
                    NFPROTO_IPV4 => false,
                    NFPROTO_IPV6 => true,
                    _ => {
                        if let Some(Dep::Nfproto(f)) =
                            self.take_dep(|d| matches!(d, Dep::Nfproto(_)))
                        {
                            self.settled.0 = Some(f);
                        }
                        match self.settled.0 {
                            Some(NFPROTO_IPV4) => false,
                            Some(NFPROTO_IPV6) => true,
                            _ => return raw("nh"),
                        }
                    }
                };
                let (saddr, daddr, at_src, at_dst, width) = if v6 {
                    ("ip6 saddr", "ip6 daddr", 8, 24, 16)
                } else {
                    ("ip saddr", "ip daddr", 12, 16, 4)
                };
                let fits = len >= 1 && len <= width;
                let named = |name: &'static str, kind| (Cow::Borrowed(name), kind);
                match (offset, len) {
                    (o, _) if o == at_src && fits => named(saddr, Kind::Addr { v6 }),
                    (o, _) if o == at_dst && fits => named(daddr, Kind::Addr { v6 }),
                    _ if masked => raw("nh"),
                    (9, 1) if !v6 => named("ip protocol", Kind::L4proto),
                    (8, 1) if !v6 => named("ip ttl", Kind::Number),
                    (6, 1) if v6 => named("ip6 nexthdr", Kind::L4proto),
                    (7, 1) if v6 => named("ip6 hoplimit", Kind::Number),
                    _ => raw("nh"),
                }
            }
            BASE_TRANSPORT if !masked => {
                if let Some(Dep::L4proto(p)) = self.take_dep(|d| matches!(d, Dep::L4proto(_))) {
                    self.settled.1 = Some(p);
                    // icmp and icmpv6 belong to one family: nft adds `meta nfproto` before them.
                    let family = match p {
                        1 => Some(NFPROTO_IPV4),
                        58 => Some(NFPROTO_IPV6),
                        _ => None,
                    };
                    if let Some(f) = family {
                        if self.take_dep(|d| *d == Dep::Nfproto(f)).is_some() {
                            self.settled.0 = Some(f);
                        }
                    }
                }
                let name = match self.settled.1 {
                    None => "th",
                    Some(6) => "tcp",
                    Some(17) => "udp",
                    Some(132) => "sctp",
                    Some(33) => "dccp",
                    Some(136) => "udplite",
                    Some(1) => "icmp",
                    Some(58) => "icmpv6",
                    Some(_) => return raw("th"),
                };
                match (offset, len, name) {
                    (0, 1, "icmp" | "icmpv6") => (
                        header_field(name, "type"),
                        Kind::IcmpType {
                            v6: name == "icmpv6",
                        },
                    ),
                    (1, 1, "icmp" | "icmpv6") => (header_field(name, "code"), Kind::Number),
                    (_, _, "icmp" | "icmpv6") => raw("th"),
                    (0, 2, _) => (header_field(name, "sport"), Kind::Number),
                    (2, 2, _) => (header_field(name, "dport"), Kind::Number),
                    (13, 1, "tcp") => (Cow::Borrowed("tcp flags"), Kind::Number),
                    _ => raw("th"),
                }
            }
            BASE_TRANSPORT => raw("th"),
            0 => raw("ll"),
            _ => raw("ih"),
        }
    }

    fn take_dep(&mut self, want: impl Fn(&Dep) -> bool) -> Option<Dep> {
        let at = self.pending.iter().rposition(want)?;
        Some(self.pending.remove(at))
    }

    fn cmp(&mut self, sreg: u32, op: u32, data: &[u8]) {
        // A dependency: held until the match that needs it comes (or the rule ends).
        if op == CMP_EQ && data.len() == 1 {
            if let Some(Src::Meta(k @ (META_NFPROTO | META_L4PROTO))) = self.get_reg(sreg) {
                self.pending.push(if *k == META_NFPROTO {
                    Dep::Nfproto(data[0])
                } else {
                    Dep::L4proto(data[0])
                });
                return;
            }
            if self.family == NFPROTO_IPV4 {
                if let Some(Src::Payload {
                    base: BASE_NETWORK,
                    offset: 9,
                    len: 1,
                    mask: None,
                }) = self.get_reg(sreg)
                {
                    self.pending.push(Dep::L4proto(data[0]));
                    return;
                }
            }
        }
        let key = self.key(sreg);
        self.flush();
        // ct state: `(state & mask) != 0` is the flag test nft writes `ct state a,b`.
        if let (Kind::CtState, Src::Ct(..), Some(mask)) = (key.kind, &key.src, key.mask) {
            let zero = data.iter().all(|b| *b == 0);
            let op = match op {
                CMP_NEQ if zero => "in",
                CMP_EQ if zero => "!=",
                _ => "?",
            };
            let vals = ct_states(mask);
            let m = if op == "?" || vals.is_empty() {
                self.unmodelled_match(&key, "==", data)
            } else {
                Match {
                    name: key.name.to_string(),
                    op: op.into(),
                    shown: show_vals(&vals, Form::Flags, false),
                    vals: Ok(vals),
                }
            };
            self.push(m);
            return;
        }
        if matches!(op, CMP_EQ | CMP_NEQ) && self.quick(&key, op == CMP_NEQ, data, None) {
            return;
        }
        let op_word = match op {
            CMP_EQ => "==",
            CMP_NEQ => "!=",
            2 => "<",
            CMP_LTE => "<=",
            4 => ">",
            CMP_GTE => ">=",
            _ => "?",
        };
        let m = match value(&key, data) {
            Some(v) if op_word != "?" => {
                let form = if key.kind == Kind::CtState {
                    Form::Flags
                } else {
                    Form::Single
                };
                let vals = match v {
                    // `ct state established` without a mask compares the whole value.
                    Val::Other if key.kind == Kind::CtState => ct_states(data),
                    v => vec![v],
                };
                Match {
                    name: key.name.to_string(),
                    op: if key.kind == Kind::CtState && op_word == "==" {
                        "in".into()
                    } else {
                        op_word.into()
                    },
                    shown: show_vals(&vals, form, quoted(&key.name)),
                    vals: Ok(vals),
                }
            }
            _ => self.unmodelled_match(&key, op_word, data),
        };
        self.push(m);
    }

    /// The matches most rules are made of (an interface name, an address or network, a port or
    /// a port range: `==` or `!=`) written and made conditions straight from their bytes, with
    /// the text and conditions a [`Match`] of them gives (a test compares the two), without the
    /// strings and lists a `Match` builds on the way: in a ruleset of thousands of rules those
    /// were most of the decoding. `to` ends a range. False, with nothing done, for any other
    /// key or bytes that do not fit it: the `Match` then says what they are.
    fn quick(&mut self, key: &Key, neg: bool, data: &[u8], to: Option<&[u8]>) -> bool {
        if self.slow {
            return false;
        }
        let name = &*key.name;
        let not = if neg { "!= " } else { "" };
        match key.kind {
            Kind::Number => {
                let dport = matches!(
                    name,
                    "tcp dport" | "udp dport" | "th dport" | "sctp dport" | "dccp dport"
                );
                if !dport && !matches!(name, "tcp sport" | "udp sport" | "th sport") {
                    return false;
                }
                // A port: two bytes loaded, two compared (a mismatch is quoted as unmodelled).
                let port =
                    |b: &[u8]| -> Option<u16> { Some(u16::from_be_bytes(b.try_into().ok()?)) };
                let loaded = matches!(key.src, Src::Payload { len: 2, .. });
                let (Some(a), Some(z), true) = (port(data), port(to.unwrap_or(data)), loaded)
                else {
                    return false;
                };
                let text = self.next_word();
                let start = text.len() + name.len() + 1 + not.len();
                let _ = write!(text, "{name} {not}{a}");
                if to.is_some() {
                    let _ = write!(text, "-{z}");
                }
                let shown = (to.is_some() || !dport).then(|| text[start..].to_string());
                if let Some(p) = transport_proto(name) {
                    self.conds.push(Cond::Proto {
                        neg: false,
                        protos: vec![p],
                    });
                }
                self.conds.push(if dport {
                    Cond::Dport {
                        neg,
                        ranges: vec![(a, z)],
                    }
                } else {
                    Cond::PeerDependent(format!(
                        "from source port {}{}",
                        if neg { "not " } else { "" },
                        shown.unwrap_or_default()
                    ))
                });
                true
            }
            Kind::Ifname if to.is_none() => {
                // A name with its NUL is exact; one without is a prefix (`eth*`).
                let end = data.iter().position(|b| *b == 0);
                let found = String::from_utf8_lossy(&data[..end.unwrap_or(data.len())]);
                let star = if end.is_none() { "*" } else { "" };
                let _ = write!(
                    self.next_word(),
                    "{} {not}\"{found}{star}\"",
                    nft_name(name)
                );
                // As `IfPattern::parse` reads the name nft shows.
                let pattern = match (end, found.strip_suffix('*')) {
                    (None, _) => IfPattern {
                        name: found.into_owned(),
                        prefix: true,
                    },
                    (Some(_), Some(p)) => IfPattern {
                        name: p.to_string(),
                        prefix: true,
                    },
                    (Some(_), None) => IfPattern {
                        name: found.into_owned(),
                        prefix: false,
                    },
                };
                let names = vec![pattern];
                self.conds.push(if name == "meta oifname" {
                    Cond::Oif { neg, names }
                } else {
                    Cond::Iif { neg, names }
                });
                true
            }
            Kind::Addr { .. } if to.is_none() => {
                let Some((ip, prefix)) = addr_value(key, data) else {
                    return false;
                };
                let text = self.next_word();
                let _ = write!(text, "{name} {not}{ip}");
                if prefix != full_prefix(ip) {
                    let _ = write!(text, "/{prefix}");
                }
                self.conds.push(Cond::Family(if name.starts_with("ip6") {
                    NetFamily::Ip6
                } else {
                    NetFamily::Ip
                }));
                let nets = vec![Net {
                    addr: ip,
                    len: prefix,
                }];
                self.conds.push(if name.ends_with("saddr") {
                    Cond::Saddr { neg, nets }
                } else {
                    Cond::Daddr { neg, nets }
                });
                true
            }
            _ => false,
        }
    }

    /// A match on something this reader does not decode, quoted with its raw bytes.
    fn unmodelled_match(&self, key: &Key, op: &str, data: &[u8]) -> Match {
        Match {
            name: key.name.to_string(),
            op: op.into(),
            shown: hex(data),
            vals: Ok(vec![Val::Other]),
        }
    }

    fn range(&mut self, sreg: u32, neg: bool, from: &[u8], to: &[u8]) {
        let key = self.key(sreg);
        self.flush();
        if self.quick(&key, neg, from, Some(to)) {
            return;
        }
        let m = match (value(&key, from), value(&key, to)) {
            (Some(a), Some(z)) if !matches!(a, Val::Other) && !matches!(z, Val::Other) => {
                let vals = vec![Val::Range(Box::new(a), Box::new(z))];
                Match {
                    name: key.name.to_string(),
                    op: if neg { "!=" } else { "==" }.into(),
                    shown: show_vals(&vals, Form::Single, quoted(&key.name)),
                    vals: Ok(vals),
                }
            }
            _ => self.unmodelled_match(&key, if neg { "!=" } else { "==" }, from),
        };
        self.push(m);
    }

    fn lookup(&mut self, sreg: u32, set: &str, dreg: Option<u32>, inv: bool) {
        let key = self.key(sreg);
        self.flush();
        let anonymous = set.starts_with("__");
        let sets = self.sets;
        let missing = format!("set @{set} (its elements are not listed)");
        let elems: Result<&[Elem], &str> = match sets
            .get(&(self.family, self.table.clone()))
            .and_then(|t| t.get(set))
        {
            Some(Ok(e)) => Ok(e),
            Some(Err(why)) => Err(why),
            None => Err(&missing),
        };
        match dreg {
            // A verdict map.
            Some(0) => {
                self.vmap(&key, set, anonymous, elems);
                return;
            }
            // A data map (`dnat to tcp dport map { … }`): what it gives is not followed.
            Some(d) => {
                let what = format!("{} map @{set}", key.name);
                self.set_reg(d, Src::Other(Cow::Owned(what)));
                return;
            }
            None => {}
        }
        let op = if inv { "!=" } else { "==" };
        let m = match elems {
            Err(why) => Match {
                name: key.name.to_string(),
                op: op.into(),
                shown: format!("@{set}"),
                vals: Err(why.to_string()),
            },
            Ok(elems) => {
                let vals: Vec<Val> = intervals(&key, elems).into_iter().map(|(v, _)| v).collect();
                Match {
                    name: key.name.to_string(),
                    op: op.into(),
                    shown: if anonymous {
                        show_vals(&vals, Form::Set, quoted(&key.name))
                    } else {
                        format!("@{set}")
                    },
                    vals: Ok(vals),
                }
            }
        };
        self.push(m);
    }

    fn vmap(&mut self, key: &Key, set: &str, anonymous: bool, elems: Result<&[Elem], &str>) {
        let shown_name = nft_name(&key.name).to_string();
        let complex = |this: &mut Self, data: String| {
            this.word(&format!("{shown_name} vmap {data}"));
            this.action = Action::Complex("a verdict map this reader does not model".into());
        };
        let elems = match elems {
            Ok(e) if anonymous && !e.is_empty() => e,
            _ => return complex(self, format!("@{set}")),
        };
        let mut entries = Vec::new();
        let mut shown = Vec::new();
        for (v, verdict) in intervals(key, elems) {
            let Some(verdict) = verdict else {
                return complex(self, format!("@{set}"));
            };
            let one = show_vals(std::slice::from_ref(&v), Form::Single, quoted(&key.name));
            shown.push(format!("{one} : {}", verdict_text(&verdict)));
            let m = Match {
                name: key.name.to_string(),
                op: "==".into(),
                shown: one,
                vals: Ok(vec![v]),
            };
            let conds = m.conds();
            if conds.iter().any(|c| matches!(c, Cond::Complex(_))) {
                return complex(self, format!("{{ {} }}", shown.join(", ")));
            }
            entries.push((conds, verdict));
        }
        let _ = write!(
            self.next_word(),
            "{shown_name} vmap {{ {} }}",
            shown.join(", ")
        );
        self.action = Action::Vmap(entries);
    }

    fn dnat(&mut self, addr: Option<u32>, addr_max: Option<u32>, proto: Option<u32>) {
        let imm = |r: Option<u32>| match r.map(|r| self.get_reg(r)) {
            None => Ok(None),
            Some(Some(Src::Imm(b))) => Ok(Some(b.of(self.data))),
            Some(_) => Err(()),
        };
        let (a, amax, p) = (imm(addr), imm(addr_max), imm(proto));
        let ip = match &a {
            Ok(Some(b)) => ip_of(b),
            _ => None,
        };
        let port = match &p {
            Ok(Some(b)) if b.len() >= 2 => Some(u16::from_be_bytes([b[0], b[1]])),
            _ => None,
        };
        let one_addr = match (&a, &amax) {
            (Ok(x), Ok(y)) => y.is_none() || x == y,
            _ => false,
        };
        let last = match &amax {
            Ok(Some(b)) if !one_addr => ip_of(b),
            _ => None,
        };
        let shown = match (ip, last) {
            (Some(i), Some(z)) => Some(format!("{i}-{z}")),
            (Some(i), None) => Some(i.to_string()),
            (None, _) => None,
        };
        self.word(&dnat_text(shown.as_deref(), port));
        self.action = if addr.is_some() && (ip.is_none() || !one_addr) {
            Action::Complex("dnat to an address map".into())
        } else {
            Action::Dnat { addr: ip, port }
        };
    }
}

/// The protocol a transport header's field belongs to (`tcp dport`: 6), as the conditions of
/// a match on it require; `th` belongs to none.
fn transport_proto(name: &str) -> Option<u8> {
    match name.split(' ').next() {
        Some("tcp") => Some(6),
        Some("udp") => Some(17),
        Some("sctp") => Some(132),
        Some("dccp") => Some(33),
        Some("icmp") => Some(1),
        Some("icmpv6") => Some(58),
        _ => None,
    }
}

/// `tcp dport` and the like: a transport header's field by name, without writing it anew for
/// every rule.
fn header_field(proto: &str, field: &str) -> Cow<'static, str> {
    const NAMES: &[&str] = &[
        "tcp dport",
        "udp dport",
        "tcp sport",
        "udp sport",
        "th dport",
        "th sport",
        "sctp dport",
        "sctp sport",
        "dccp dport",
        "dccp sport",
        "udplite dport",
        "udplite sport",
        "icmp type",
        "icmp code",
        "icmpv6 type",
        "icmpv6 code",
    ];
    let is = |n: &&str| {
        n.strip_prefix(proto)
            .and_then(|r| r.strip_prefix(' '))
            .is_some_and(|f| f == field)
    };
    match NAMES.iter().copied().find(is) {
        Some(n) => Cow::Borrowed(n),
        None => Cow::Owned(format!("{proto} {field}")),
    }
}

fn reject_words(family: u8, kind: u32, code: u8) -> (&'static str, Option<&'static str>) {
    match kind {
        1 => ("tcp reset", None),
        2 => (
            "icmpx",
            Some(match code {
                0 => "no-route",
                1 => "port-unreachable",
                2 => "host-unreachable",
                3 => "admin-prohibited",
                _ => "?",
            }),
        ),
        _ if family == NFPROTO_IPV6 => (
            "icmpv6",
            Some(match code {
                0 => "no-route",
                1 => "admin-prohibited",
                3 => "addr-unreachable",
                4 => "port-unreachable",
                _ => "?",
            }),
        ),
        _ => (
            "icmp",
            Some(match code {
                0 => "net-unreachable",
                1 => "host-unreachable",
                2 => "prot-unreachable",
                3 => "port-unreachable",
                9 => "net-prohibited",
                10 => "host-prohibited",
                13 => "admin-prohibited",
                _ => "?",
            }),
        ),
    }
}

fn hex(data: &[u8]) -> String {
    let mut s = String::from("0x");
    for b in data {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn ip_of(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
        16 => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(b).ok()?))),
        _ => None,
    }
}

fn nfproto_val(f: u8) -> Val {
    match f {
        NFPROTO_IPV4 => Val::Str("ipv4".into()),
        NFPROTO_IPV6 => Val::Str("ipv6".into()),
        n => Val::Num(u64::from(n)),
    }
}

/// A protocol number by the name nft prints for it.
fn l4proto_val(p: u8) -> Val {
    let name = match p {
        1 => "icmp",
        2 => "igmp",
        6 => "tcp",
        17 => "udp",
        33 => "dccp",
        47 => "gre",
        50 => "esp",
        51 => "ah",
        58 => "ipv6-icmp",
        132 => "sctp",
        136 => "udplite",
        n => return Val::Num(u64::from(n)),
    };
    Val::Str(name.into())
}

/// The conntrack states whose bits are set in a (host-order) state mask, in bit order.
fn ct_states(mask: &[u8]) -> Vec<Val> {
    let Some(bits) = mask.get(..4).and_then(|b| b.try_into().ok()) else {
        return Vec::new();
    };
    let bits = u32::from_ne_bytes(bits);
    [
        (1, "invalid"),
        (2, "established"),
        (4, "related"),
        (8, "new"),
        (64, "untracked"),
    ]
    .into_iter()
    .filter(|(b, _)| bits & b != 0)
    .map(|(_, n)| Val::Str(n.into()))
    .collect()
}

/// A number of up to eight bytes in the key's byte order.
fn number(key: &Key, data: &[u8]) -> Option<u64> {
    if data.is_empty() || data.len() > 8 {
        return None;
    }
    let mut n: u64 = 0;
    if key.host && cfg!(target_endian = "little") {
        for b in data.iter().rev() {
            n = n << 8 | u64::from(*b);
        }
    } else {
        for b in data {
            n = n << 8 | u64::from(*b);
        }
    }
    Some(n)
}

/// The address (or network and prefix length) an address key's bytes stand for; `None` when
/// they do not fit the key.
fn addr_value(key: &Key, data: &[u8]) -> Option<(IpAddr, u8)> {
    let Kind::Addr { v6 } = key.kind else {
        return None;
    };
    let width = if v6 { 16 } else { 4 };
    let len = match &key.src {
        Src::Payload { len, .. } => *len as usize,
        _ => return None,
    };
    // A lookup compares whole addresses; a shorter load is a prefix of one.
    let len = if data.len() == width { width } else { len };
    if data.len() != len {
        return None;
    }
    let prefix = match key.mask {
        Some(m) if m.len() == len => {
            let ones: u32 = m.iter().map(|b| b.count_ones()).sum();
            // Only a contiguous mask from the top is a prefix.
            let contiguous = m.iter().enumerate().all(|(i, b)| {
                let want = ones.saturating_sub(8 * i as u32).min(8);
                *b == if want == 0 { 0 } else { 0xffu8 << (8 - want) }
            });
            if !contiguous {
                return None;
            }
            ones as u8
        }
        Some(_) => return None,
        None => (len * 8) as u8,
    };
    let mut bytes = [0u8; 16];
    bytes[..len].copy_from_slice(data);
    Some((ip_of(&bytes[..width])?, prefix))
}

/// The prefix length of a single address of `ip`'s family.
fn full_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// One compared value as the JSON would give it; `None` when the bytes do not fit the key.
fn value(key: &Key, data: &[u8]) -> Option<Val> {
    // A header field compares as many bytes as were loaded.
    if let (Src::Payload { len, .. }, Kind::Number | Kind::L4proto | Kind::IcmpType { .. }) =
        (&key.src, key.kind)
    {
        if data.len() != *len as usize {
            return None;
        }
    }
    match key.kind {
        Kind::Number => number(key, data).map(Val::Num),
        Kind::Addr { .. } => {
            let (ip, prefix) = addr_value(key, data)?;
            Some(if prefix == full_prefix(ip) {
                Val::Str(ip.to_string())
            } else {
                Val::Prefix(ip.to_string(), prefix)
            })
        }
        Kind::Ifname => {
            // A name with its NUL is exact; one without is a prefix (`eth*`).
            let end = data.iter().position(|b| *b == 0);
            let name = String::from_utf8_lossy(&data[..end.unwrap_or(data.len())]).into_owned();
            Some(Val::Str(if end.is_some() { name } else { name + "*" }))
        }
        Kind::Ifindex => {
            let index = number(key, data)?;
            let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
            // SAFETY: if_indextoname writes at most IF_NAMESIZE bytes into buf, NUL-terminated.
            let name = unsafe { libc::if_indextoname(index as u32, buf.as_mut_ptr()) };
            if name.is_null() {
                return Some(Val::Num(index));
            }
            // SAFETY: on success buf holds a NUL-terminated name.
            let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
            Some(Val::Str(name.to_string_lossy().into_owned()))
        }
        Kind::L4proto => (data.len() == 1).then(|| l4proto_val(data[0])),
        Kind::Nfproto => (data.len() == 1).then(|| nfproto_val(data[0])),
        Kind::CtState => {
            let states = ct_states(data);
            Some(match states.as_slice() {
                [one] => one.clone(),
                _ => Val::Other,
            })
        }
        Kind::FibType => {
            let t = number(key, data)?;
            let names = [
                "unspec",
                "unicast",
                "local",
                "broadcast",
                "anycast",
                "multicast",
                "blackhole",
                "unreachable",
                "prohibit",
            ];
            Some(match names.get(t as usize) {
                Some(n) => Val::Str((*n).into()),
                None => Val::Num(t),
            })
        }
        Kind::IcmpType { v6 } => {
            let [t] = data else { return None };
            let name = if v6 {
                match t {
                    1 => "destination-unreachable",
                    2 => "packet-too-big",
                    3 => "time-exceeded",
                    4 => "parameter-problem",
                    128 => "echo-request",
                    129 => "echo-reply",
                    130 => "mld-listener-query",
                    131 => "mld-listener-report",
                    132 => "mld-listener-done",
                    133 => "nd-router-solicit",
                    134 => "nd-router-advert",
                    135 => "nd-neighbor-solicit",
                    136 => "nd-neighbor-advert",
                    137 => "nd-redirect",
                    138 => "router-renumbering",
                    143 => "mld2-listener-report",
                    _ => "",
                }
            } else {
                match t {
                    0 => "echo-reply",
                    3 => "destination-unreachable",
                    4 => "source-quench",
                    5 => "redirect",
                    8 => "echo-request",
                    9 => "router-advertisement",
                    10 => "router-solicitation",
                    11 => "time-exceeded",
                    12 => "parameter-problem",
                    13 => "timestamp-request",
                    14 => "timestamp-reply",
                    15 => "info-request",
                    16 => "info-reply",
                    17 => "address-mask-request",
                    18 => "address-mask-reply",
                    _ => "",
                }
            };
            Some(if name.is_empty() {
                Val::Num(u64::from(*t))
            } else {
                Val::Str(name.into())
            })
        }
        Kind::Raw => Some(Val::Other),
    }
}

/// A set's elements as the values nft lists, in its order (ascending), with each one's verdict
/// for a map. Interval sets hold a start element and an end element (one past the last value,
/// flagged) per range; pipapo sets a key and a key end.
fn intervals(key: &Key, elems: &[Elem]) -> Vec<(Val, Option<Action>)> {
    let order = |e: &Vec<u8>| -> Vec<u8> {
        // Host-order keys (ct state, marks) sort by their number, as nft lists them.
        if key.host && cfg!(target_endian = "little") {
            e.iter().rev().copied().collect()
        } else {
            e.clone()
        }
    };
    let mut sorted: Vec<&Elem> = elems.iter().filter(|e| !e.catchall).collect();
    // An end before a start at the same key: a range ending where the next begins.
    sorted.sort_by(|a, b| {
        order(&a.key)
            .cmp(&order(&b.key))
            .then(b.interval_end.cmp(&a.interval_end))
    });
    let interval = sorted.iter().any(|e| e.interval_end);
    let mut out = Vec::new();
    let mut open: Option<&Elem> = None;
    for e in sorted {
        if let Some(end) = &e.key_end {
            out.push((span(key, &e.key, end), e.verdict.clone()));
        } else if !interval {
            out.push((span(key, &e.key, &e.key), e.verdict.clone()));
        } else if e.interval_end {
            if let Some(start) = open.take() {
                let last = minus_one(&e.key, key.host);
                out.push((span(key, &start.key, &last), start.verdict.clone()));
            }
        } else if let Some(start) = open.replace(e) {
            // Two starts in a row: the first runs to just before the second.
            let last = minus_one(&e.key, key.host);
            out.push((span(key, &start.key, &last), start.verdict.clone()));
        }
    }
    if let Some(start) = open {
        // A last range without an end runs to the top of the key.
        let top = vec![0xff; start.key.len()];
        out.push((span(key, &start.key, &top), start.verdict.clone()));
    }
    if elems.iter().any(|e| e.catchall) {
        out.push((
            Val::Other,
            elems
                .iter()
                .find(|e| e.catchall)
                .and_then(|e| e.verdict.clone()),
        ));
    }
    out
}

/// The key one less (an interval's end element is one past its last value).
fn minus_one(key: &[u8], host: bool) -> Vec<u8> {
    let mut k = key.to_vec();
    let little = host && cfg!(target_endian = "little");
    let idx: Vec<usize> = if little {
        (0..k.len()).collect()
    } else {
        (0..k.len()).rev().collect()
    };
    for i in idx {
        if k[i] == 0 {
            k[i] = 0xff;
        } else {
            k[i] -= 1;
            break;
        }
    }
    k
}

/// The values from `a` to `z` (inclusive) as nft lists them: one value, a prefix, or a range.
fn span(key: &Key, a: &[u8], z: &[u8]) -> Val {
    // The kernel keeps a set's keys one length; a pair that is not is nothing to compare.
    if a.len() != z.len() {
        return Val::Other;
    }
    if a == z {
        return match key.kind {
            Kind::Addr { .. } => ip_of(a).map_or(Val::Other, |ip| Val::Str(ip.to_string())),
            _ => value(key, a).unwrap_or(Val::Other),
        };
    }
    match key.kind {
        Kind::Addr { .. } => {
            let (Some(ia), Some(iz)) = (ip_of(a), ip_of(z)) else {
                return Val::Other;
            };
            // A prefix: the bytes agree up to some bit, then a is all zeros and z all ones.
            let bits = a.len() * 8;
            let mut len = 0;
            while len < bits && bit(a, len) == bit(z, len) {
                len += 1;
            }
            let prefix = (len..bits).all(|i| !bit(a, i) && bit(z, i));
            if prefix {
                Val::Prefix(ia.to_string(), len as u8)
            } else {
                Val::Range(
                    Box::new(Val::Str(ia.to_string())),
                    Box::new(Val::Str(iz.to_string())),
                )
            }
        }
        Kind::Ifname => {
            // `eth*` in a set: from the name padded with zeros to it padded with 0xff.
            let n = a.iter().position(|b| *b == 0).unwrap_or(a.len());
            if a[..n] == z[..n]
                && a[n..].iter().all(|b| *b == 0)
                && z[n..].iter().all(|b| *b == 0xff)
            {
                Val::Str(format!("{}*", String::from_utf8_lossy(&a[..n])))
            } else {
                Val::Other
            }
        }
        _ => match (value(key, a), value(key, z)) {
            (Some(x), Some(y)) => Val::Range(Box::new(x), Box::new(y)),
            _ => Val::Other,
        },
    }
}

fn bit(b: &[u8], i: usize) -> bool {
    b[i / 8] & (0x80 >> (i % 8)) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(value);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    fn expr(name: &str, data: &[u8]) -> Vec<u8> {
        let mut e = attr(NFTA_EXPR_NAME, format!("{name}\0").as_bytes());
        e.extend(attr(NFTA_EXPR_DATA, data));
        e
    }

    fn rule_attrs(exprs: &[Vec<u8>]) -> Vec<u8> {
        let mut list = Vec::new();
        for e in exprs {
            list.extend(attr(NFTA_LIST_ELEM, e));
        }
        let mut r = attr(NFTA_RULE_TABLE, b"f\0");
        r.extend(attr(NFTA_RULE_CHAIN, b"input\0"));
        r.extend(attr(NFTA_RULE_EXPRESSIONS, &list));
        r
    }

    fn be(n: u32) -> [u8; 4] {
        n.to_be_bytes()
    }

    fn value_data(v: &[u8]) -> Vec<u8> {
        attr(NFTA_DATA_VALUE, v)
    }

    /// `tcp dport 22 accept` in an inet table, as the kernel dumps it.
    fn tcp_dport_22_accept() -> Vec<Vec<u8>> {
        let meta = [attr(1, &be(1)), attr(2, &be(META_L4PROTO))].concat();
        let cmp_proto = [attr(1, &be(1)), attr(2, &be(0)), attr(3, &value_data(&[6]))].concat();
        let payload = [
            attr(1, &be(1)),
            attr(2, &be(BASE_TRANSPORT)),
            attr(3, &be(2)),
            attr(4, &be(2)),
        ]
        .concat();
        let cmp_port = [
            attr(1, &be(1)),
            attr(2, &be(0)),
            attr(3, &value_data(&22u16.to_be_bytes())),
        ]
        .concat();
        let verdict = attr(
            NFTA_DATA_VERDICT,
            &attr(NFTA_VERDICT_CODE, &1u32.to_be_bytes()),
        );
        let imm = [attr(1, &be(0)), attr(2, &verdict)].concat();
        vec![
            expr("meta", &meta),
            expr("cmp", &cmp_proto),
            expr("payload", &payload),
            expr("cmp", &cmp_port),
            expr("immediate", &imm),
        ]
    }

    fn decode(attrs: &[u8]) -> Parse<Rule> {
        let (mut exprs, mut data) = (Vec::new(), Vec::new());
        let raw = parse_rule(NFPROTO_INET, attrs, None, &mut exprs, &mut data)?;
        let sets = HashMap::new();
        Ok(Decoder::new(&data, &sets).rule(&raw, &exprs))
    }

    /// A load into register 1 (`meta` or `payload`), then a compare (`cmp`) or `range` of it.
    fn meta(key: u32) -> Vec<u8> {
        expr("meta", &[attr(1, &be(1)), attr(2, &be(key))].concat())
    }

    fn payload(base: u32, offset: u32, len: u32) -> Vec<u8> {
        let a = [
            attr(1, &be(1)),
            attr(2, &be(base)),
            attr(3, &be(offset)),
            attr(4, &be(len)),
        ];
        expr("payload", &a.concat())
    }

    fn cmp(op: u32, v: &[u8]) -> Vec<u8> {
        expr(
            "cmp",
            &[attr(1, &be(1)), attr(2, &be(op)), attr(3, &value_data(v))].concat(),
        )
    }

    fn range_of(neg: bool, from: &[u8], to: &[u8]) -> Vec<u8> {
        let a = [
            attr(1, &be(1)),
            attr(2, &be(u32::from(neg))),
            attr(3, &value_data(from)),
            attr(4, &value_data(to)),
        ];
        expr("range", &a.concat())
    }

    #[test]
    fn the_quick_matches_give_what_the_general_ones_give() {
        let l4 = |p: u8| vec![meta(META_L4PROTO), cmp(CMP_EQ, &[p])];
        let v4 = [meta(META_NFPROTO), cmp(CMP_EQ, &[NFPROTO_IPV4])];
        let v6 = [meta(META_NFPROTO), cmp(CMP_EQ, &[NFPROTO_IPV6])];
        let port = |p: u16| p.to_be_bytes();
        let mut v6addr = [0u8; 16];
        v6addr[0] = 0xfd;
        v6addr[15] = 1;
        let cases: Vec<Vec<Vec<u8>>> = vec![
            vec![meta(META_IIFNAME), cmp(CMP_EQ, b"eth0\0\0\0\0")],
            vec![meta(META_OIFNAME), cmp(CMP_NEQ, b"eth1\0")],
            // No NUL: a prefix, `wg*`; a name that ends in `*` itself.
            vec![meta(META_IIFNAME), cmp(CMP_EQ, b"wg")],
            vec![meta(META_IIFNAME), cmp(CMP_EQ, b"od*\0")],
            vec![meta(META_IIFNAME), cmp(CMP_EQ, b"\xffbad\0")],
            [
                &v4[..],
                &[payload(BASE_NETWORK, 12, 3), cmp(CMP_EQ, &[10, 1, 2])],
            ]
            .concat(),
            [
                &v4[..],
                &[payload(BASE_NETWORK, 16, 4), cmp(CMP_NEQ, &[192, 0, 2, 7])],
            ]
            .concat(),
            [
                &v6[..],
                &[payload(BASE_NETWORK, 24, 16), cmp(CMP_EQ, &v6addr)],
            ]
            .concat(),
            [
                &v6[..],
                &[payload(BASE_NETWORK, 8, 1), cmp(CMP_EQ, &[0xfd])],
            ]
            .concat(),
            // An address compared with bytes of another length: unmodelled either way.
            [
                &v4[..],
                &[payload(BASE_NETWORK, 12, 4), cmp(CMP_EQ, &[10, 1])],
            ]
            .concat(),
            [
                &l4(6)[..],
                &[payload(BASE_TRANSPORT, 2, 2), cmp(CMP_EQ, &port(22))],
            ]
            .concat(),
            [
                &l4(17)[..],
                &[payload(BASE_TRANSPORT, 2, 2), cmp(CMP_NEQ, &port(53))],
            ]
            .concat(),
            [
                &l4(6)[..],
                &[payload(BASE_TRANSPORT, 0, 2), cmp(CMP_EQ, &port(53))],
            ]
            .concat(),
            [
                &l4(132)[..],
                &[payload(BASE_TRANSPORT, 2, 2), cmp(CMP_EQ, &port(9))],
            ]
            .concat(),
            [
                &l4(136)[..],
                &[payload(BASE_TRANSPORT, 2, 2), cmp(CMP_EQ, &port(9))],
            ]
            .concat(),
            vec![payload(BASE_TRANSPORT, 2, 2), cmp(CMP_EQ, &port(5000))],
            vec![payload(BASE_TRANSPORT, 2, 2), cmp(CMP_EQ, &[0, 0, 1])],
            [
                &l4(6)[..],
                &[
                    payload(BASE_TRANSPORT, 2, 2),
                    range_of(false, &port(1), &port(1023)),
                ],
            ]
            .concat(),
            [
                &l4(6)[..],
                &[
                    payload(BASE_TRANSPORT, 0, 2),
                    range_of(true, &port(1), &port(1023)),
                ],
            ]
            .concat(),
            [
                &l4(17)[..],
                &[
                    payload(BASE_TRANSPORT, 2, 2),
                    cmp(CMP_GTE, &port(6000)),
                    cmp(CMP_LTE, &port(6010)),
                ],
            ]
            .concat(),
            // A range of addresses and of names: not quick ones.
            [
                &v4[..],
                &[
                    payload(BASE_NETWORK, 12, 4),
                    range_of(false, &[10, 0, 0, 1], &[10, 0, 0, 9]),
                ],
            ]
            .concat(),
        ];
        for (i, exprs) in cases.iter().enumerate() {
            let attrs = rule_attrs(exprs);
            let (mut list, mut data) = (Vec::new(), Vec::new());
            let raw = parse_rule(NFPROTO_INET, &attrs, None, &mut list, &mut data).unwrap();
            let sets = HashMap::new();
            let mut decoder = Decoder::new(&data, &sets);
            let quick = decoder.rule(&raw, &list);
            decoder.slow = true;
            let general = decoder.rule(&raw, &list);
            assert_eq!(quick, general, "case {i}");
            assert!(!quick.conds.is_empty(), "case {i}: {quick:?}");
            let want = match i {
                0 => r#"iifname "eth0""#,
                2 => r#"iifname "wg*""#,
                5 => "ip saddr 10.1.2.0/24",
                10 => "tcp dport 22",
                18 => "tcp sport != 1-1023",
                _ => continue,
            };
            assert_eq!(quick.text, want);
        }
    }

    #[test]
    fn big_chains_are_dumped_apart_and_many_small_ones_at_once() {
        // 5,000 rules in two chains: each chain apart walks half as much.
        assert!(dump_per_chain([2_500, 2_500].into_iter()));
        // A few rules: one dump holds them all, and asking more often costs more.
        assert!(!dump_per_chain([20, 3, 1].into_iter()));
        // 2,000 chains of one rule each (kube-proxy's kind): one dump.
        assert!(!dump_per_chain(std::iter::repeat_n(2, 2_000)));
        assert!(!dump_per_chain(std::iter::empty()));
    }

    #[test]
    fn a_whole_rule_decodes_to_what_nft_lists() {
        let rule = decode(&rule_attrs(&tcp_dport_22_accept())).unwrap();
        assert_eq!(rule.text, "tcp dport 22 accept");
        assert_eq!(rule.action, Action::Accept);
        assert_eq!(
            rule.conds,
            vec![
                Cond::Proto {
                    neg: false,
                    protos: vec![6]
                },
                Cond::Dport {
                    neg: false,
                    ranges: vec![(22, 22)]
                }
            ]
        );
    }

    #[test]
    fn every_truncation_of_a_rule_is_an_error_or_a_shorter_rule_never_a_panic() {
        let whole = rule_attrs(&tcp_dport_22_accept());
        for cut in 0..whole.len() {
            // A cut inside an attribute makes its length run past the buffer: an error.
            let _ = decode(&whole[..cut]);
        }
        // A length field that overruns its buffer is named.
        let mut bad = whole.clone();
        bad[0] = 0xff;
        bad[1] = 0x7f;
        assert_eq!(decode(&bad).unwrap_err(), "a malformed netlink attribute");
    }

    #[test]
    fn attributes_with_impossible_lengths_are_errors() {
        // Shorter than its own header.
        assert!(attr_table(&[2, 0, 1, 0]).is_err());
        // Three bytes: not even a header.
        assert!(attr_table(&[8, 0, 1]).is_err());
        // Runs past the buffer.
        assert!(attr_table(&[200, 0, 1, 0, 0, 0, 0, 0]).is_err());
        // Empty is no attributes.
        assert!(attr_table(&[]).unwrap().iter().all(Option::is_none));
    }

    #[test]
    fn expressions_missing_their_attributes_are_errors_not_panics() {
        for name in [
            "payload",
            "meta",
            "ct",
            "fib",
            "cmp",
            "range",
            "lookup",
            "immediate",
            "nat",
            "reject",
            "bitwise",
        ] {
            let err = parse_expr(&expr(name, &[]), &mut Vec::new()).unwrap_err();
            assert!(err.contains(name) || err.contains("data"), "{name}: {err}");
        }
        // A verdict whose code is two bytes.
        let verdict = attr(NFTA_DATA_VERDICT, &attr(NFTA_VERDICT_CODE, &[0, 1]));
        let imm = [attr(1, &be(0)), attr(2, &verdict)].concat();
        assert_eq!(
            parse_expr(&expr("immediate", &imm), &mut Vec::new()).unwrap_err(),
            "a verdict without its code"
        );
        // A jump without its target.
        let verdict = attr(
            NFTA_DATA_VERDICT,
            &attr(NFTA_VERDICT_CODE, &(-3i32).to_be_bytes()),
        );
        let imm = [attr(1, &be(0)), attr(2, &verdict)].concat();
        assert_eq!(
            parse_expr(&expr("immediate", &imm), &mut Vec::new()).unwrap_err(),
            "no jump target"
        );
    }

    #[test]
    fn a_compare_that_does_not_fit_its_field_is_quoted_as_complex() {
        // A two-byte port compared with three bytes.
        let mut exprs = tcp_dport_22_accept();
        let cmp_port = [
            attr(1, &be(1)),
            attr(2, &be(0)),
            attr(3, &value_data(&[0, 0, 22])),
        ]
        .concat();
        exprs[3] = expr("cmp", &cmp_port);
        let rule = decode(&rule_attrs(&exprs)).unwrap();
        assert!(
            matches!(rule.conds.last(), Some(Cond::Complex(c)) if c == "tcp dport == 0x000016"),
            "{:?}",
            rule.conds
        );
        assert_eq!(rule.text, "tcp dport 0x000016 accept");
    }

    #[test]
    fn truncated_set_elements_are_errors() {
        let key = attr(NFTA_SET_ELEM_KEY, &value_data(&22u16.to_be_bytes()));
        let elem = attr(NFTA_LIST_ELEM, &key);
        let list = attr(NFTA_SET_ELEM_LIST_ELEMENTS, &elem);
        let mut out = Vec::new();
        parse_elems(&list, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        for cut in 1..list.len() {
            let mut out = Vec::new();
            let _ = parse_elems(&list[..cut], &mut out);
        }
        // An element with no key at all.
        let list = attr(NFTA_SET_ELEM_LIST_ELEMENTS, &attr(NFTA_LIST_ELEM, &[]));
        assert_eq!(
            parse_elems(&list, &mut Vec::new()).unwrap_err(),
            "a set element without its key"
        );
    }

    #[test]
    fn elements_of_differing_lengths_are_unmodelled_not_a_panic() {
        let addr = Key {
            name: "ip saddr".into(),
            kind: Kind::Addr { v6: false },
            host: false,
            src: Src::Other(Cow::Borrowed("")),
            mask: None,
        };
        assert_eq!(span(&addr, &[10, 0, 0, 0], &[0xff; 16]), Val::Other);
        let ifname = Key {
            name: "meta iifname".into(),
            kind: Kind::Ifname,
            host: true,
            src: Src::Other(Cow::Borrowed("")),
            mask: None,
        };
        assert_eq!(span(&ifname, b"eth0\0\0", b"et"), Val::Other);
    }

    #[test]
    fn interval_elements_become_the_ranges_and_prefixes_nft_lists() {
        let port = Key {
            name: "tcp dport".into(),
            kind: Kind::Number,
            host: false,
            src: Src::Other(Cow::Borrowed("")),
            mask: None,
        };
        let e = |k: u16, end: bool| Elem {
            key: k.to_be_bytes().to_vec(),
            key_end: None,
            interval_end: end,
            catchall: false,
            verdict: None,
        };
        // { 10000, 20000-20100 } as the kernel holds it, in its own order.
        let elems = [
            e(20101, true),
            e(20000, false),
            e(10001, true),
            e(10000, false),
            e(0, true),
        ];
        // The values of the intervals a set's elements make, without their verdicts.
        let values = |key: &Key, elems: &[Elem]| -> Vec<Val> {
            intervals(key, elems).into_iter().map(|(v, _)| v).collect()
        };
        assert_eq!(
            values(&port, &elems),
            vec![
                Val::Num(10000),
                Val::Range(Box::new(Val::Num(20000)), Box::new(Val::Num(20100)))
            ]
        );
        let addr = Key {
            name: "ip saddr".into(),
            kind: Kind::Addr { v6: false },
            host: false,
            src: Src::Payload {
                base: BASE_NETWORK,
                offset: 12,
                len: 4,
                mask: None,
            },
            mask: None,
        };
        let a = |k: [u8; 4], end: bool| Elem {
            key: k.to_vec(),
            key_end: None,
            interval_end: end,
            catchall: false,
            verdict: None,
        };
        let elems = [
            a([10, 1, 0, 0], false),
            a([10, 2, 0, 0], true),
            a([172, 16, 0, 0], false),
            a([172, 16, 0, 10], true),
            a([192, 168, 1, 5], false),
        ];
        assert_eq!(
            values(&addr, &elems),
            vec![
                Val::Prefix("10.1.0.0".into(), 16),
                Val::Range(
                    Box::new(Val::Str("172.16.0.0".into())),
                    Box::new(Val::Str("172.16.0.9".into()))
                ),
                // The last start without an end runs to the top: 192.168.1.5-255.255.255.255.
                Val::Range(
                    Box::new(Val::Str("192.168.1.5".into())),
                    Box::new(Val::Str("255.255.255.255".into()))
                ),
            ]
        );
    }
}
