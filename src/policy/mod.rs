//! The expected-listeners file: which listeners the team expects on this host, why, whose they
//! are, and which must be present. This module owns the file's format (parse, validate, write a
//! baseline) and the matching of listeners against its rules; it reads no sockets and prints
//! nothing (the `baseline` and `check` commands do).
//!
//! Rules match on facts about a listener given as a [`ListenerFacts`] with optional fields:
//! facts that could not be established (package, systemd unit, container, network namespace:
//! [`ListenerFacts::with_facts`] fills them from the `facts` layer) are `None`, and a rule that
//! names an unknown fact does *not* match — a check must never pass on a guess. [`Match::NeedsUnknown`] lets `check` say which rule could not be judged.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::facts::{Fact as Known, FactsTable, Provenance};
use crate::registry::Protocol;
use crate::sockets::Socket;

pub mod baseline;

/// The largest expected-listeners file read: a hand-written file is a few kilobytes; anything
/// this big is not one.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Where the file is looked for when `--expected` is not given, in order.
pub fn default_paths() -> Vec<PathBuf> {
    let mut paths = vec![PathBuf::from("/etc/portscope/expected.toml")];
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".config")));
    if let Some(dir) = config {
        paths.push(dir.join("portscope").join("expected.toml"));
    }
    paths
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is larger than {max} bytes: not an expected-listeners file")]
    TooLarge { path: String, max: u64 },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "no expected-listeners file: looked for {looked}; write one with `portscope baseline -o FILE` or pass --expected FILE"
    )]
    NotFound { looked: String },
}

/// A port or an inclusive range, as written: `22` or `"9100-9110"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSpec {
    pub first: u16,
    pub last: u16,
}

impl PortSpec {
    pub fn contains(self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

impl<'de> Deserialize<'de> for PortSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = PortSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a port (0-65535) or a range as a string, like \"9100-9110\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PortSpec, E> {
                let p = u16::try_from(v)
                    .map_err(|_| E::custom(format!("port must be 0-65535, got {v}")))?;
                Ok(PortSpec { first: p, last: p })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PortSpec, E> {
                let parse = |s: &str| {
                    s.trim().parse::<u16>().map_err(|_| {
                        E::custom(format!(
                            "port must be 0-65535 or a range like \"9100-9110\", got {:?}",
                            crate::text::escape(v)
                        ))
                    })
                };
                let (first, last) = match v.split_once('-') {
                    Some((a, b)) => (parse(a)?, parse(b)?),
                    None => {
                        let p = parse(v)?;
                        (p, p)
                    }
                };
                if first > last {
                    return Err(E::custom(format!(
                        "port range {first}-{last} runs backwards: write {last}-{first}"
                    )));
                }
                Ok(PortSpec { first, last })
            }
        }
        d.deserialize_any(V)
    }
}

/// Where a listener is bound: `loopback`, `any` (0.0.0.0 / ::), or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindSpec {
    Loopback,
    Any,
    Address(IpAddr),
}

impl BindSpec {
    pub fn of(addr: IpAddr) -> BindSpec {
        if addr.is_loopback() {
            BindSpec::Loopback
        } else if addr.is_unspecified() {
            BindSpec::Any
        } else {
            BindSpec::Address(addr)
        }
    }

    fn matches(self, addr: IpAddr) -> bool {
        match self {
            BindSpec::Loopback => addr.is_loopback(),
            BindSpec::Any => addr.is_unspecified(),
            BindSpec::Address(want) => want == addr,
        }
    }
}

impl fmt::Display for BindSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindSpec::Loopback => f.write_str("loopback"),
            BindSpec::Any => f.write_str("any"),
            BindSpec::Address(a) => write!(f, "{a}"),
        }
    }
}

impl<'de> Deserialize<'de> for BindSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "loopback" => Ok(BindSpec::Loopback),
            "any" => Ok(BindSpec::Any),
            other => other.parse().map(BindSpec::Address).map_err(|_| {
                serde::de::Error::custom(format!(
                    "bind must be \"loopback\", \"any\" or an IP address, got {:?}",
                    crate::text::escape(other)
                ))
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtoSpec {
    Tcp,
    Udp,
}

impl ProtoSpec {
    fn protocol(self) -> Protocol {
        match self {
            ProtoSpec::Tcp => Protocol::Tcp,
            ProtoSpec::Udp => Protocol::Udp,
        }
    }
}

/// One rule as written in the file. Every matching field is optional; a rule names at least one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub port: Option<PortSpec>,
    pub protocol: Option<ProtoSpec>,
    pub bind: Option<BindSpec>,
    /// The process name (comm) of an owner. The process's own claim: prefer `exe`.
    pub process: Option<String>,
    /// The owner's executable path.
    pub exe: Option<String>,
    pub package: Option<String>,
    pub unit: Option<String>,
    pub container: Option<String>,
    pub netns: Option<String>,
    /// Why this listener is here ("node_exporter, scraped by Prometheus").
    #[serde(default)]
    pub reason: String,
    /// Who answers for it ("monitoring team").
    #[serde(default)]
    pub owner: String,
    /// The check fails when no listener matches this rule.
    #[serde(default)]
    pub required: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    listener: Vec<toml::Spanned<Rule>>,
}

/// A rule and where it stands in the file.
#[derive(Debug, Clone)]
pub struct PlacedRule {
    pub rule: Rule,
    /// 1-based line of the rule's `[[listener]]` table.
    pub line: usize,
}

/// A parsed, validated expected-listeners file.
#[derive(Debug, Clone)]
pub struct Expected {
    /// Where it was read from, for messages.
    pub origin: String,
    pub rules: Vec<PlacedRule>,
}

/// A fact about a listener that the rules may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fact {
    Process,
    Exe,
    Package,
    Unit,
    Container,
    Netns,
}

impl Fact {
    pub fn as_str(self) -> &'static str {
        match self {
            Fact::Process => "process",
            Fact::Exe => "exe",
            Fact::Package => "package",
            Fact::Unit => "unit",
            Fact::Container => "container",
            Fact::Netns => "netns",
        }
    }
}

/// One owning process as the rules see it.
#[derive(Debug, Clone, Default)]
pub struct OwnerFacts<'a> {
    pub name: Option<&'a str>,
    pub exe: Option<&'a str>,
}

/// What the rules match a listener against. `None` is "not known for this listener" (owner
/// hidden, or a fact the collector does not establish yet): a rule naming it does not match.
#[derive(Debug, Clone)]
pub struct ListenerFacts<'a> {
    pub protocol: Protocol,
    pub addr: IpAddr,
    pub port: u16,
    /// The owning processes; empty when no owner is known.
    pub owners: Vec<OwnerFacts<'a>>,
    pub package: Option<&'a str>,
    pub unit: Option<&'a str>,
    pub container: Option<&'a str>,
    pub netns: Option<&'a str>,
}

impl<'a> ListenerFacts<'a> {
    /// The facts the socket itself carries; package, unit, container and netns stay unknown until
    /// [`ListenerFacts::with_facts`] supplies them.
    pub fn of_socket(socket: &'a Socket) -> ListenerFacts<'a> {
        ListenerFacts {
            protocol: socket.protocol,
            addr: socket.local_addr,
            port: socket.local_port,
            owners: socket
                .owners
                .iter()
                .map(|o| OwnerFacts {
                    name: Some(o.name.as_str()),
                    exe: o.exe.as_deref(),
                })
                .collect(),
            package: None,
            unit: None,
            container: None,
            netns: None,
        }
    }

    /// The same with the facts `table` established for the socket's first owner: its package
    /// (`None` when from no package or unknown), unit, container (name, else short id), and the
    /// namespace (`host`, or its label). An unknown fact stays `None`: a rule naming it is not
    /// judged.
    pub fn with_facts(mut self, socket: &'a Socket, table: &'a FactsTable) -> ListenerFacts<'a> {
        self.netns = match &socket.netns {
            None => Some("host"),
            Some(ns) => table.stored_label(ns.inode).or(ns.name.as_deref()),
        };
        let Some(f) = socket.owners.first().and_then(|o| table.owner(o.pid)) else {
            return self;
        };
        if let Known::Known(Provenance::Package(p)) = &f.package {
            self.package = Some(p.name.as_str());
        }
        self.unit = f.unit.known().map(|u| u.name.as_str());
        if let Known::Known(Some(c)) = &f.container {
            self.container = Some(c.name.known().map_or_else(|| c.short_id(), String::as_str));
        }
        self
    }
}

/// How a rule relates to a listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    Yes,
    No,
    /// Every known field matches, but the rule names facts unknown for this listener.
    NeedsUnknown(Vec<Fact>),
}

impl Rule {
    /// Whether the rule names anything to match on.
    fn names_something(&self) -> bool {
        self.port.is_some()
            || self.protocol.is_some()
            || self.bind.is_some()
            || self.process.is_some()
            || self.exe.is_some()
            || self.package.is_some()
            || self.unit.is_some()
            || self.container.is_some()
            || self.netns.is_some()
    }

    pub fn matches(&self, l: &ListenerFacts) -> Match {
        if self.port.is_some_and(|p| !p.contains(l.port))
            || self.protocol.is_some_and(|p| p.protocol() != l.protocol)
            || self.bind.is_some_and(|b| !b.matches(l.addr))
        {
            return Match::No;
        }
        let mut unknown = Vec::new();
        // Process and exe must hold for one and the same owner (a pre-fork server's workers share
        // both; two different programs sharing a socket do not make either one expected).
        if self.process.is_some() || self.exe.is_some() {
            let owner_ok = |o: &OwnerFacts| -> Option<bool> {
                let field = |want: &Option<String>, have: Option<&str>| match want {
                    None => Some(true),
                    Some(w) => have.map(|h| h == w),
                };
                match (field(&self.process, o.name), field(&self.exe, o.exe)) {
                    (Some(false), _) | (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                }
            };
            let results: Vec<Option<bool>> = l.owners.iter().map(owner_ok).collect();
            if !results.contains(&Some(true)) {
                if results.iter().all(|r| *r == Some(false)) && !results.is_empty() {
                    return Match::No;
                }
                if self.process.is_some() && l.owners.iter().all(|o| o.name.is_none()) {
                    unknown.push(Fact::Process);
                }
                if self.exe.is_some() && l.owners.iter().all(|o| o.exe.is_none()) {
                    unknown.push(Fact::Exe);
                }
                if unknown.is_empty() {
                    return Match::No;
                }
            }
        }
        for (want, have, fact) in [
            (&self.package, l.package, Fact::Package),
            (&self.unit, l.unit, Fact::Unit),
            (&self.container, l.container, Fact::Container),
            (&self.netns, l.netns, Fact::Netns),
        ] {
            if let Some(want) = want {
                match have {
                    None => unknown.push(fact),
                    Some(h) if h != want => return Match::No,
                    Some(_) => {}
                }
            }
        }
        if unknown.is_empty() {
            Match::Yes
        } else {
            Match::NeedsUnknown(unknown)
        }
    }

    /// `tcp 9100 any node_exporter`: what the rule matches, in the file's own words.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(p) = self.protocol {
            parts.push(p.protocol().as_str().to_string());
        }
        if let Some(p) = self.port {
            parts.push(format!("port {p}"));
        }
        if let Some(b) = self.bind {
            parts.push(format!("bind {b}"));
        }
        for (name, v) in [
            ("process", &self.process),
            ("exe", &self.exe),
            ("package", &self.package),
            ("unit", &self.unit),
            ("container", &self.container),
            ("netns", &self.netns),
        ] {
            if let Some(v) = v {
                parts.push(format!("{name} {v}"));
            }
        }
        parts.join(" ")
    }
}

impl Expected {
    /// Parse and validate a file's text. Nothing is applied from a file with any error.
    pub fn parse(text: &str, origin: &str) -> Result<Expected, PolicyError> {
        let syntax = |span: Option<std::ops::Range<usize>>, message: String| {
            let (line, column) = line_col(text, span.map_or(0, |s| s.start));
            PolicyError::Syntax {
                path: origin.to_string(),
                line,
                column,
                message,
            }
        };
        let raw: RawFile = toml::from_str(text)
            .map_err(|e| syntax(e.span(), e.message().trim_end().replace('\n', "; ")))?;
        let mut rules = Vec::with_capacity(raw.listener.len());
        // Line starts, once: a baseline of a busy server has 10k rules, and counting lines from the
        // top for each would be quadratic.
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        for spanned in raw.listener {
            let span = spanned.span();
            let rule = spanned.into_inner();
            if !rule.names_something() {
                return Err(syntax(
                    Some(span),
                    "this [[listener]] names nothing to match (give at least one of port, protocol, bind, process, exe, package, unit, container, netns)".into(),
                ));
            }
            let line = line_starts.partition_point(|&start| start <= span.start);
            rules.push(PlacedRule { rule, line });
        }
        Ok(Expected {
            origin: origin.to_string(),
            rules,
        })
    }

    /// Read `path` (bounded) and parse it.
    pub fn load(path: &Path) -> Result<Expected, PolicyError> {
        let shown = path.display().to_string();
        let text = crate::policy::read_bounded(path).map_err(|e| match e {
            ReadError::Io(source) => PolicyError::Read {
                path: shown.clone(),
                source,
            },
            ReadError::TooLarge => PolicyError::TooLarge {
                path: shown.clone(),
                max: MAX_FILE_BYTES,
            },
        })?;
        Expected::parse(&text, &shown)
    }

    /// `--expected FILE`, else the first of [`default_paths`] that exists.
    pub fn find(explicit: Option<&Path>) -> Result<Expected, PolicyError> {
        if let Some(path) = explicit {
            return Expected::load(path);
        }
        let paths = default_paths();
        for path in &paths {
            if path.exists() {
                return Expected::load(path);
            }
        }
        Err(PolicyError::NotFound {
            looked: paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

enum ReadError {
    Io(std::io::Error),
    TooLarge,
}

fn read_bounded(path: &Path) -> Result<String, ReadError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge);
    }
    String::from_utf8(bytes).map_err(|e| {
        ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        ))
    })
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let mut at = offset;
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The outcome of checking a set of listeners against the file.
#[derive(Debug, Default)]
pub struct Verdicts {
    /// Per listener (input order): the index of the first matching rule, if any.
    pub matched: Vec<Option<usize>>,
    /// For listeners no rule matched: rules that would have matched but name unknown facts.
    pub undecided: BTreeMap<usize, Vec<(usize, Vec<Fact>)>>,
    /// Required rules (by index) that no listener matched.
    pub missing: Vec<usize>,
    /// Required rules no listener matched for certain, but one might with the unknown facts.
    pub missing_undecided: BTreeMap<usize, Vec<Fact>>,
}

impl Verdicts {
    pub fn unexpected(&self) -> impl Iterator<Item = usize> + '_ {
        self.matched
            .iter()
            .enumerate()
            .filter(|(_, m)| m.is_none())
            .map(|(i, _)| i)
    }

    pub fn ok(&self) -> bool {
        self.matched.iter().all(Option::is_some) && self.missing.is_empty()
    }
}

/// The rules indexed by port, built once per file: a baseline of a busy server has a rule per
/// port, so judging 10k listeners against 10k rules stays linear.
#[derive(Debug, Clone, Default)]
struct RuleIndex {
    by_port: std::collections::HashMap<u16, Vec<usize>>,
    /// Rules without a single port (a range, or none): tried for every listener.
    general: Vec<usize>,
}

impl RuleIndex {
    fn new(rules: &[PlacedRule]) -> RuleIndex {
        let mut index = RuleIndex::default();
        for (ri, placed) in rules.iter().enumerate() {
            match placed.rule.port {
                Some(p) if p.first == p.last => index.by_port.entry(p.first).or_default().push(ri),
                _ => index.general.push(ri),
            }
        }
        index
    }

    /// The rules that may match a listener on `port`, in file order.
    fn candidates(&self, port: u16, into: &mut Vec<usize>) {
        into.clear();
        into.extend_from_slice(self.by_port.get(&port).map_or(&[][..], Vec::as_slice));
        into.extend_from_slice(&self.general);
        into.sort_unstable();
    }
}

/// How the rules judge one listener: every rule that matches (`first` is the one shown), and
/// the rules that would match but name facts unknown for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Judgement {
    matched: Vec<usize>,
    undecided: Vec<(usize, Vec<Fact>)>,
}

fn judge(rules: &[PlacedRule], l: &ListenerFacts, candidates: &[usize]) -> Judgement {
    let mut j = Judgement::default();
    for &ri in candidates {
        match rules[ri].rule.matches(l) {
            Match::Yes => j.matched.push(ri),
            Match::No => {}
            Match::NeedsUnknown(facts) => j.undecided.push((ri, facts)),
        }
    }
    j
}

impl Expected {
    /// Match every listener against every rule it may match (by port, plus the rules without a
    /// single port). Listener facts are built by the caller, so a facts layer can add to them.
    pub fn check(&self, listeners: &[ListenerFacts]) -> Verdicts {
        let mut v = Verdicts {
            matched: Vec::with_capacity(listeners.len()),
            ..Verdicts::default()
        };
        let mut hit = vec![false; self.rules.len()];
        let mut maybe: BTreeMap<usize, Vec<Fact>> = BTreeMap::new();
        let index = RuleIndex::new(&self.rules);
        let mut candidates = Vec::new();
        for (li, l) in listeners.iter().enumerate() {
            index.candidates(l.port, &mut candidates);
            let j = judge(&self.rules, l, &candidates);
            for &ri in &j.matched {
                hit[ri] = true;
            }
            for (ri, facts) in &j.undecided {
                maybe.entry(*ri).or_default().extend(facts.iter().copied());
            }
            let found = j.matched.first().copied();
            if found.is_none() && !j.undecided.is_empty() {
                v.undecided.insert(li, j.undecided);
            }
            v.matched.push(found);
        }
        for (ri, placed) in self.rules.iter().enumerate() {
            if placed.rule.required && !hit[ri] {
                v.missing.push(ri);
                if let Some(mut facts) = maybe.remove(&ri) {
                    facts.sort();
                    facts.dedup();
                    v.missing_undecided.insert(ri, facts);
                }
            }
        }
        v
    }
}

/// Which severities an expected listener's hints are quieted at: every one but `alert`. A rule
/// says who is meant to listen; an alert (an executable in /tmp, a disguised kernel thread) says
/// that what listens may not be who the rule meant, so it stays loud.
pub fn quiets(severity: crate::hints::Severity) -> bool {
    severity < crate::hints::Severity::Alert
}

/// The file, indexed once, for marking rows one at a time (`list`, `explain`, the explorer,
/// `diff --expected`): `check` judges a whole snapshot at once, these judge a row where it is
/// drawn.
#[derive(Debug, Clone)]
pub struct Marker {
    pub expected: Expected,
    index: RuleIndex,
}

/// What the file says about one listener.
#[derive(Debug, Clone)]
pub enum Mark<'m> {
    /// This rule (the first that matches, in file order) expects it.
    Expected(&'m PlacedRule),
    /// No rule matches; `undecided` are rules that would, were the named facts known.
    Unexpected {
        undecided: Vec<(&'m PlacedRule, Vec<Fact>)>,
    },
}

impl Mark<'_> {
    pub fn is_expected(&self) -> bool {
        matches!(self, Mark::Expected(_))
    }
}

impl Marker {
    pub fn new(expected: Expected) -> Marker {
        let index = RuleIndex::new(&expected.rules);
        Marker { expected, index }
    }

    /// The file's path as given or found (for "no rule in FILE matches").
    pub fn origin(&self) -> &str {
        &self.expected.origin
    }

    /// Judge one listener's facts.
    pub fn mark_facts(&self, l: &ListenerFacts) -> Mark<'_> {
        let mut candidates = Vec::new();
        self.index.candidates(l.port, &mut candidates);
        let j = judge(&self.expected.rules, l, &candidates);
        match j.matched.first() {
            Some(&ri) => Mark::Expected(&self.expected.rules[ri]),
            None => Mark::Unexpected {
                undecided: j
                    .undecided
                    .into_iter()
                    .map(|(ri, facts)| (&self.expected.rules[ri], facts))
                    .collect(),
            },
        }
    }

    /// Judge a socket, with its owner's facts from `facts` (package, unit, container,
    /// namespace); `None` for a connection (the file speaks of listeners only).
    pub fn mark(&self, socket: &Socket, facts: &FactsTable) -> Option<Mark<'_>> {
        socket
            .state
            .is_listener()
            .then(|| self.mark_facts(&ListenerFacts::of_socket(socket).with_facts(socket, facts)))
    }

    /// Whether any of `rules` (indices into the file) matches the listener `socket`.
    pub fn matches_any(&self, socket: &Socket, rules: &[usize], facts: &FactsTable) -> bool {
        if rules.is_empty() || !socket.state.is_listener() {
            return false;
        }
        let l = ListenerFacts::of_socket(socket).with_facts(socket, facts);
        rules
            .iter()
            .any(|&ri| self.expected.rules[ri].rule.matches(&l) == Match::Yes)
    }

    /// The required rules that none of `sockets`' listeners matches.
    pub fn missing<'s>(
        &self,
        sockets: impl IntoIterator<Item = &'s Socket>,
        facts: &FactsTable,
    ) -> Vec<usize> {
        let mut hit = vec![false; self.expected.rules.len()];
        let mut candidates = Vec::new();
        for s in sockets.into_iter().filter(|s| s.state.is_listener()) {
            let l = ListenerFacts::of_socket(s).with_facts(s, facts);
            self.index.candidates(l.port, &mut candidates);
            for ri in judge(&self.expected.rules, &l, &candidates).matched {
                hit[ri] = true;
            }
        }
        (0..hit.len())
            .filter(|&ri| self.expected.rules[ri].rule.required && !hit[ri])
            .collect()
    }
}

/// `--expected FILE`, else the first default path that exists; `Ok(None)` when there is no file
/// and none was named (the listing is then not marked at all). A named file that is missing, or
/// any file that does not parse, is an error: nothing is marked from a file with an error.
pub fn find_optional(explicit: Option<&Path>) -> Result<Option<Expected>, PolicyError> {
    match Expected::find(explicit) {
        Ok(e) => Ok(Some(e)),
        Err(PolicyError::NotFound { .. }) if explicit.is_none() => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests;
