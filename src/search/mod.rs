//! One search over everything portscope knows: IANA's entries, the known uses of ports
//! (`crate::known`) and the alias table (`aliases`). Owns the query grammar, the matching and the
//! ranking; it reads the registry and the knowledge and never changes them, and it says nothing
//! about live sockets. Front ends (`search`, `lookup NAME`, the explorer) render its hits.
//!
//! Ranking, in the order a person judges it: a query that is a whole service, alias or product name
//! comes first; whole words before word starts, word starts before typos, typos before fragments
//! inside a name; names before descriptions; curated knowledge (aliases, known uses) and ports that
//! knowledge calls famous before obscure entries that merely contain the words. Below a quality
//! floor nothing is returned: scattered letters never count, so a word that names no service finds
//! nothing.
//!
//! Speed: the engine holds no copy of the documents. Each search walks the registry's rows in
//! place (the embedded registry is encoded by the build script) and the static knowledge tables,
//! folding an IANA service's rows on one port into one document as it goes, and compares bytes
//! without allocating. Beside each text the build script notes which letters start a word of it
//! (`registry::word_starts`): every match but a fragment inside a name needs the query word's
//! first letter at the start of a word, so most documents are passed over without reading their
//! text. The note only skips documents that cannot match; scores and order are the same without
//! it. A one-shot `portscope search` and the explorer's search per keystroke do the same work.

pub mod aliases;

use serde::Serialize;

use crate::known::{self, Confidence, KnownUse};
use crate::registry::{letters, start_bit, tokens, Entry, PortRange, Protocol, Registry};
use aliases::Alias;

/// What a query asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Entries and known uses covering one port.
    Port(u16),
    /// Entries overlapping a range of ports.
    Range(PortRange),
    /// Lowercased words, split at anything that is not a letter or digit.
    Words(Vec<String>),
}

/// Longest query accepted, in characters: the longest service name or phrase is far shorter, and a
/// bound keeps a pasted file from costing anything.
pub const MAX_QUERY_CHARS: usize = 200;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    #[error(
        "the search query is empty: give a service or product name, a word, a port or a range like 3000-3100"
    )]
    Empty,
    #[error("the search query is {0} characters long; give at most {MAX_QUERY_CHARS} (a name, a few words or a port)")]
    TooLong(usize),
    #[error("the search query \"{0}\" holds control characters; type the name as plain text")]
    Control(String),
    #[error("the search query \"{0}\" holds no letters or digits to search for")]
    NoWords(String),
    #[error("{0}")]
    Port(String),
}

impl Query {
    pub fn parse(raw: &str) -> Result<Query, QueryError> {
        let count = raw.chars().count();
        if count > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong(count));
        }
        if raw.trim().is_empty() {
            return Err(QueryError::Empty);
        }
        // A tab or newline pasted with a name is a control character too: nothing a service is
        // called holds one, and an escape sequence would reach the terminal in the echo.
        if raw.chars().any(char::is_control) {
            return Err(QueryError::Control(crate::text::escape(raw).into_owned()));
        }
        let raw = raw.trim();
        let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if numeric(raw)
            || raw
                .split_once('-')
                .is_some_and(|(a, b)| numeric(a.trim()) && numeric(b.trim()))
        {
            let (start, end) = crate::registry::parse_port_field(raw)
                .map_err(QueryError::Port)?
                .expect("not empty");
            let range = PortRange { start, end };
            return Ok(if range.is_single() {
                Query::Port(range.start)
            } else {
                Query::Range(range)
            });
        }
        let words: Vec<String> = raw
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect();
        if words.is_empty() {
            return Err(QueryError::NoWords(crate::text::escape(raw).into_owned()));
        }
        Ok(Query::Words(words))
    }
}

/// Where a hit comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A name portscope's alias table gives a port.
    Alias,
    /// A known use of a port (`crate::known`).
    KnownUse,
    /// An IANA registry entry.
    Iana,
}

impl Kind {
    /// The word tables and the explorer show.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Alias => "alias",
            Kind::KnownUse => "known use",
            Kind::Iana => "IANA",
        }
    }
}

/// One result line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    pub kind: Kind,
    /// IANA: the first registry row of this service and port (IANA order); known use: its row in
    /// `known::table()`; alias: its row in `aliases::table()`.
    pub index: usize,
    /// `None` for a name-only IANA entry that has no ported twin.
    pub ports: Option<PortRange>,
    pub protocols: Vec<Protocol>,
    pub score: i64,
}

impl Hit {
    /// The name a result line shows: IANA's service name, the product, or the alias's target.
    pub fn name<'a>(&self, registry: &'a Registry) -> &'a str {
        match self.kind {
            Kind::Iana => registry.entry(self.index).service,
            Kind::KnownUse => &known::table()[self.index].product,
            Kind::Alias => &aliases::table()[self.index].target,
        }
    }

    /// The alias typed, for an alias hit.
    pub fn alias(&self) -> Option<&'static Alias> {
        (self.kind == Kind::Alias).then(|| &aliases::table()[self.index])
    }

    pub fn known_use(&self) -> Option<&'static KnownUse> {
        (self.kind == Kind::KnownUse).then(|| &known::table()[self.index])
    }

    /// The IANA entry, for an IANA hit.
    pub fn entry<'a>(&self, registry: &'a Registry) -> Option<Entry<'a>> {
        (self.kind == Kind::Iana).then(|| registry.entry(self.index))
    }

    /// One line: the first line of IANA's description, the known use's note, the alias's basis.
    pub fn description<'a>(&self, registry: &'a Registry) -> &'a str {
        let text = match self.kind {
            Kind::Iana => registry.entry(self.index).description,
            Kind::KnownUse => &known::table()[self.index].note,
            Kind::Alias => &aliases::table()[self.index].basis,
        };
        text.lines().next().unwrap_or("").trim()
    }

    /// `6379/tcp`, `6000-6063/tcp,udp`, `-` for a name-only entry.
    pub fn port_label(&self) -> String {
        let ports = self.ports.map_or("-".to_owned(), |p| p.to_string());
        if self.protocols.is_empty() {
            return ports;
        }
        let protos: Vec<&str> = self.protocols.iter().map(|p| p.as_str()).collect();
        format!("{ports}/{}", protos.join(","))
    }
}

/// One searchable thing: an IANA service on a port (its tcp, udp... rows folded), a known use, or
/// an alias. Made as a search walks the tables, never stored.
#[derive(Clone, Copy)]
struct Doc<'r> {
    kind: Kind,
    /// What it is called: IANA's service name, the product, the alias.
    name: &'r str,
    /// IANA's description or the known use's note; empty for an alias (its basis is the
    /// project's prose, not a name anyone types).
    description: &'r str,
    index: u32,
    ports: Option<PortRange>,
    /// Bit i set for `Protocol::ALL[i]`.
    protocols: u8,
    /// What curated knowledge says about how likely a person means this.
    prior: i64,
    /// `registry::word_starts` of the name and of the description.
    starts: (u64, u64),
    /// `registry::letters` of the name: a fragment of the name needs all its letters there.
    name_letters: u64,
    /// An IANA name-only row whose name a row with a port has too: folded into that twin, it
    /// is not a result of its own.
    has_ported_twin: bool,
}

/// The search over one registry plus the embedded knowledge. Cheap to build: it copies no text
/// and indexes nothing but the ports the knowledge names.
pub struct Engine<'r> {
    registry: &'r Registry,
    known: &'static [KnownUse],
    /// `registry::word_starts` of each known use's product and note, in table order.
    known_starts: &'static [(u64, u64)],
    aliases: &'static [Alias],
    /// `registry::word_starts` of each alias, in table order.
    alias_starts: &'static [u64],
    /// One bit per port the knowledge speaks of (the FAMOUS prior).
    famous: Box<[u64; 1024]>,
}

/// Reusable buffers for scoring: one search allocates them once, not once per document.
#[derive(Default)]
struct Scratch<'t> {
    name_tokens: Vec<&'t [u8]>,
    name_hits: Vec<Option<usize>>,
}

// Match strengths of one query word against one token of a text, out of 100.
const EXACT: i64 = 100;
const PREFIX: i64 = 70;
const TYPO: i64 = 52;
const INFIX: i64 = 30;
/// A description counts this share (percent) of a name match.
const DESCRIPTION_SHARE: i64 = 45;

// Bonuses, in the same units as the summed word scores (a word scores at most 100).
/// The query is the whole name ("redis", "remote desktop", "node exporter").
const WHOLE_NAME: i64 = 400;
/// Every word of the query was found in the name, not only in the description.
const ALL_IN_NAME: i64 = 120;
/// Several words found one after another in the name ("sql server").
const PHRASE: i64 = 80;

// Priors.
const ALIAS_PRIOR: i64 = 60;
const KNOWN_PRIOR: [i64; 3] = [45, 35, 15]; // documented, common, reported
/// An IANA entry on a port the knowledge names (famous defaults: redis on 6379).
const FAMOUS_PRIOR: i64 = 30;
/// A system port (0-1023): long-established services.
const SYSTEM_PRIOR: i64 = 10;

/// Words in a product's name that say which endpoint it is, not what it is: a name made of the
/// product and such words ("Elasticsearch REST API") is the product's main port, so they do not
/// count against how much of the name the query covers. Vendor prefixes likewise.
const ENDPOINT_WORDS: &[&str] = &[
    "api",
    "rest",
    "http",
    "https",
    "ui",
    "web",
    "gui",
    "server",
    "service",
    "broker",
    "port",
    "client",
    "listener",
    "default",
    "apache",
    "hashicorp",
    "interface",
    "console",
];
/// A query word that is the first word of a name names the thing; later words name its parts.
const FIRST_WORD: i64 = 60;
/// An IANA name-only row (no port): rarely what someone searching wants.
const NAME_ONLY_PRIOR: i64 = -150;

/// Words that people add to a query without meaning a service: they may match, they need not.
const OPTIONAL_WORDS: &[&str] = &[
    "a", "an", "the", "of", "for", "on", "and", "port", "ports", "default", "server", "service",
    "daemon", "tcp", "udp",
];

fn proto_bit(p: Protocol) -> u8 {
    1 << Protocol::ALL.iter().position(|&q| q == p).unwrap_or(0)
}

fn protocols_of(bits: u8) -> Vec<Protocol> {
    Protocol::ALL
        .into_iter()
        .filter(|&p| bits & proto_bit(p) != 0)
        .collect()
}

impl<'r> Engine<'r> {
    /// The engine over `registry` and the embedded known uses and aliases.
    pub fn new(registry: &'r Registry) -> Engine<'r> {
        let (known, aliases) = (known::table(), aliases::table());
        // Ports the knowledge speaks of, for the FAMOUS prior.
        let mut famous = Box::new([0u64; 1024]);
        let mut mark = |r: PortRange| {
            if r.len() <= 16 {
                for p in r.start..=r.end {
                    famous[usize::from(p) / 64] |= 1 << (p % 64);
                }
            }
        };
        for k in known {
            mark(PortRange {
                start: k.port,
                end: k.last_port,
            });
        }
        for a in aliases {
            mark(a.ports);
        }
        Engine {
            registry,
            known,
            known_starts: known::word_starts_table(),
            aliases,
            alias_starts: aliases::word_starts_table(),
            famous,
        }
    }

    fn is_famous(&self, port: u16) -> bool {
        self.famous[usize::from(port) / 64] & (1 << (port % 64)) != 0
    }

    /// Every document, made as it is read: the aliases, the known uses, then IANA's services in
    /// registry order.
    fn docs(&self) -> impl Iterator<Item = Doc<'r>> + '_ {
        let aliases = self.aliases.iter().zip(self.alias_starts).enumerate();
        let aliases = aliases.map(|(i, (a, &starts))| Doc {
            kind: Kind::Alias,
            name: &a.alias,
            description: "",
            index: i as u32,
            ports: Some(a.ports),
            protocols: a.protocols().into_iter().map(proto_bit).sum(),
            prior: ALIAS_PRIOR,
            starts: (starts, 0),
            name_letters: u64::MAX,
            has_ported_twin: false,
        });
        let known = self.known.iter().zip(self.known_starts).enumerate();
        let known = known.map(|(i, (k, &starts))| {
            let protocols = match k.protocol {
                Some(p) => proto_bit(p),
                None => proto_bit(Protocol::Tcp) | proto_bit(Protocol::Udp),
            };
            let rank = match k.confidence {
                Confidence::Documented => 0,
                Confidence::Common => 1,
                Confidence::Reported => 2,
            };
            Doc {
                kind: Kind::KnownUse,
                name: &k.product,
                description: &k.note,
                index: i as u32,
                ports: Some(PortRange {
                    start: k.port,
                    end: k.last_port,
                }),
                protocols,
                prior: KNOWN_PRIOR[rank],
                starts,
                name_letters: u64::MAX,
                has_ported_twin: false,
            }
        });
        let registry = self.registry;
        let iana = (0..registry.len()).filter_map(move |index| {
            let row = registry.search_row(index);
            // Reserved and unassigned rows name nothing to search for. IANA lists the rows of one
            // service and port next to each other (tcp, udp, ...): the build script folded them
            // into the first, which carries their protocols.
            if row.service.is_empty() || row.is_folded {
                return None;
            }
            let prior = match row.ports {
                Some(p) if p.is_single() => {
                    (if self.is_famous(p.start) {
                        FAMOUS_PRIOR
                    } else {
                        0
                    }) + (if p.start < 1024 { SYSTEM_PRIOR } else { 0 })
                }
                Some(_) => 0,
                None => NAME_ONLY_PRIOR,
            };
            Some(Doc {
                kind: Kind::Iana,
                name: row.service,
                description: row.description,
                index: index as u32,
                ports: row.ports,
                protocols: row.protocols,
                prior,
                starts: row.starts,
                name_letters: row.name_letters,
                has_ported_twin: row.has_ported_twin,
            })
        });
        aliases.chain(known).chain(iana)
    }

    pub fn registry(&self) -> &'r Registry {
        self.registry
    }

    /// Ranked hits for `query`, best first, at most `limit`.
    pub fn search(&self, query: &Query, protocol: Option<Protocol>, limit: usize) -> Vec<Hit> {
        let want = protocol.map(proto_bit);
        let keep = |d: &Doc| want.is_none_or(|w| d.protocols & w != 0);
        let mut scored: Vec<(i64, Doc<'r>)> = match query {
            Query::Port(port) => self
                .docs()
                .filter(|d| d.ports.is_some_and(|p| p.contains(*port)))
                .map(|d| (self.port_rank(&d), d))
                .collect(),
            Query::Range(range) => self
                .docs()
                .filter(|d| {
                    d.ports
                        .is_some_and(|p| p.start <= range.end && range.start <= p.end)
                })
                .map(|d| (self.port_rank(&d), d))
                .collect(),
            Query::Words(words) => self.score_words(words, want),
        };
        scored.retain(|(_, d)| keep(d));
        // Best first; ties: aliases, known uses, then IANA; then port; then table order. The key
        // is unique (kind and index name one document), so an unstable sort orders alike.
        scored.sort_unstable_by_key(|(s, d)| {
            (
                -s,
                d.kind,
                d.ports.map_or(u32::MAX, |p| u32::from(p.start)),
                d.index,
            )
        });
        let mut hits: Vec<Hit> = Vec::new();
        for (score, d) in scored {
            if hits.len() == limit {
                break;
            }
            // A name-only IANA row is folded into its ported twin: show it only when none exists.
            if d.kind == Kind::Iana && d.ports.is_none() && d.has_ported_twin {
                continue;
            }
            let mut protocols = protocols_of(d.protocols);
            if let Some(p) = protocol {
                protocols.retain(|&q| q == p);
            }
            hits.push(Hit {
                kind: d.kind,
                index: d.index as usize,
                ports: d.ports,
                protocols,
                score,
            });
        }
        hits
    }

    /// For port queries: IANA entries first in IANA order, then known uses, then aliases.
    fn port_rank(&self, d: &Doc<'r>) -> i64 {
        let width = d.ports.map_or(0, |p| i64::from(p.end - p.start));
        -(match d.kind {
            Kind::Iana => 0,
            Kind::KnownUse => 1_000_000,
            Kind::Alias => 2_000_000,
        } + width)
    }

    /// Score every document that matches `words` (and has a protocol in `want`).
    fn score_words(&self, words: &[String], want: Option<u8>) -> Vec<(i64, Doc<'r>)> {
        let optional: Vec<bool> = if words.iter().all(|w| OPTIONAL_WORDS.contains(&w.as_str())) {
            vec![false; words.len()]
        } else {
            words
                .iter()
                .map(|w| OPTIONAL_WORDS.contains(&w.as_str()))
                .collect()
        };
        let compact: String = words.concat();
        // Each word's first-byte bit: a document's description is only read for a word whose
        // bit starts one of its words.
        let bits: Vec<u64> = words
            .iter()
            .map(|w| w.as_bytes().first().map_or(u64::MAX, |&b| start_bit(b)))
            .collect();
        let word_letters: Vec<u64> = words.iter().map(|w| letters(w)).collect();
        let mut scratch = Scratch::default();
        // The quality floor is per word (see `score_doc`): every required word must match a
        // whole word, the start of a word, a one-edit typo, or a fragment inside a name.
        let mut out = Vec::new();
        for d in self.docs() {
            if want.is_some_and(|w| d.protocols & w == 0) {
                continue;
            }
            let (name_starts, description_starts) = d.starts;
            // A required word no word of the document starts like can still be a fragment
            // inside the name; nothing else can match it.
            let hopeless = words
                .iter()
                .zip(&optional)
                .zip(&bits)
                .zip(&word_letters)
                .any(|(((w, &opt), &bit), &wanted)| {
                    !opt && name_starts & bit == 0
                        && description_starts & bit == 0
                        && !(w.len() >= 3
                            && d.name_letters & wanted == wanted
                            && contains_ignore_case(d.name.as_bytes(), w.as_bytes()))
                });
            if hopeless {
                continue;
            }
            if let Some(score) = score_doc(
                words,
                &optional,
                &bits,
                &compact,
                d.name,
                d.description,
                description_starts,
                &mut scratch,
            ) {
                out.push((score + d.prior, d));
            }
        }
        out
    }
}

/// How well `word` matches one token (both lowercase ASCII-compared), out of 100; 0 for no match.
/// `in_name` allows fragments inside a token, which in prose would match nearly anything.
fn token_match(word: &[u8], token: &[u8], in_name: bool) -> i64 {
    if token.eq_ignore_ascii_case(word) {
        return EXACT;
    }
    let short = word.len() <= 2;
    if token.len() > word.len() && token[..word.len()].eq_ignore_ascii_case(word) {
        if short && !in_name {
            return 0;
        }
        // "postgre" covers most of "postgres"; "po" covers little of "pop3s".
        return PREFIX + 20 * word.len() as i64 / token.len() as i64;
    }
    if short {
        return 0;
    }
    if word.len() >= 5
        && token.len() + 2 >= word.len()
        && token.len() <= word.len() + 2
        && token[0].eq_ignore_ascii_case(&word[0])
    {
        let allowed = if word.len() >= 9 { 2 } else { 1 };
        if edit_distance_within(word, token, allowed) {
            return TYPO;
        }
    }
    if in_name && word.len() >= 3 && token.len() > word.len() && contains_ignore_case(token, word) {
        return INFIX;
    }
    0
}

/// Score one document, or `None` when a required word matches nowhere in it. `bits` holds each
/// word's [`start_bit`]; the description is read only for words whose bit is in
/// `description_starts` (all ones when unknown).
#[allow(clippy::too_many_arguments)]
fn score_doc<'t>(
    words: &[String],
    optional: &[bool],
    bits: &[u64],
    compact: &str,
    name: &'t str,
    description: &str,
    description_starts: u64,
    scratch: &mut Scratch<'t>,
) -> Option<i64> {
    let mut total = 0;
    let mut all_in_name = true;
    let name_hits = &mut scratch.name_hits;
    name_hits.clear();
    let name_tokens = &mut scratch.name_tokens;
    name_tokens.clear();
    name_tokens.extend(tokens(name));
    for ((w, &opt), &bit) in words.iter().zip(optional).zip(bits) {
        let wb = w.as_bytes();
        let mut best_name = 0;
        let mut at = None;
        for (i, t) in name_tokens.iter().enumerate() {
            let m = token_match(wb, t, true);
            if m > best_name {
                best_name = m;
                at = Some(i);
            }
        }
        let mut best = best_name;
        if best_name < EXACT && !description.is_empty() && description_starts & bit != 0 {
            let best_desc = best_in_description(wb, description.as_bytes());
            best = best.max(best_desc * DESCRIPTION_SHARE / 100);
        }
        if best == 0 {
            if opt {
                name_hits.push(None);
                continue;
            }
            return None;
        }
        if (best_name == 0 || best > best_name) && !opt {
            all_in_name = false;
        }
        name_hits.push(if best_name > 0 { at } else { None });
        total += best;
    }
    // The whole name, typed: "redis", "node exporter" for node_exporter, "nextjs" for Next.js.
    let name_compact_eq = {
        let mut nb = name
            .bytes()
            .filter(|b| b.is_ascii_alphanumeric() || *b >= 0x80);
        let mut cb = compact.bytes();
        loop {
            match (nb.next(), cb.next()) {
                (None, None) => break true,
                (Some(a), Some(b)) if a.eq_ignore_ascii_case(&b) => continue,
                _ => break false,
            }
        }
    };
    if name_compact_eq {
        total += WHOLE_NAME;
    } else if !name_tokens.is_empty() {
        // Partly the name: the share of the name's telling tokens the query names exactly.
        let is_named = |t: &[u8]| words.iter().any(|w| t.eq_ignore_ascii_case(w.as_bytes()));
        let telling = name_tokens
            .iter()
            .filter(|t| {
                is_named(t)
                    || !ENDPOINT_WORDS
                        .iter()
                        .any(|g| t.eq_ignore_ascii_case(g.as_bytes()))
            })
            .count();
        let exact = name_tokens.iter().filter(|t| is_named(t)).count();
        total += WHOLE_NAME / 2 * exact as i64 / telling.max(1) as i64;
        if is_named(name_tokens[0]) {
            total += FIRST_WORD;
        }
    }
    if all_in_name {
        total += ALL_IN_NAME;
    }
    if words.len() > 1 {
        // The words found in the name sit one after another there.
        let mut found = name_hits.iter().flatten();
        if let Some(&first) = found.next() {
            let (mut last, mut count, mut adjacent) = (first, 1, true);
            for &at in found {
                adjacent &= at == last + 1;
                (last, count) = (at, count + 1);
            }
            if count > 1 && adjacent {
                total += PHRASE;
            }
        }
    }
    Some(total)
}

/// The best [`token_match`] of `word` against the tokens of a description. In prose only whole
/// words, word starts and typos count, and each begins with the word's first byte (ignoring ASCII
/// case): memchr jumps to those bytes, and only the tokens that begin there are compared.
fn best_in_description(word: &[u8], text: &[u8]) -> i64 {
    let Some(&first) = word.first() else {
        return 0; // an empty word matches no token of prose
    };
    let is_token_byte = |b: u8| b.is_ascii_alphanumeric() || b >= 0x80;
    let mut best = 0;
    for at in memchr::memchr2_iter(first.to_ascii_lowercase(), first.to_ascii_uppercase(), text) {
        if at > 0 && is_token_byte(text[at - 1]) {
            continue; // inside a token, not at its start
        }
        let end = text[at..]
            .iter()
            .position(|&b| !is_token_byte(b))
            .map_or(text.len(), |n| at + n);
        let m = token_match(word, &text[at..end], false);
        if m > best {
            best = m;
            if m == EXACT {
                break;
            }
        }
    }
    best
}

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Whether the optimal-string-alignment distance (edits and adjacent swaps) between `a` and `b`
/// is at most `max`, compared ignoring ASCII case.
fn edit_distance_within(a: &[u8], b: &[u8], max: usize) -> bool {
    if a.len().abs_diff(b.len()) > max || a.len() > 63 || b.len() > 63 {
        return false;
    }
    let lower = |c: u8| c.to_ascii_lowercase();
    let (n, m) = (a.len(), b.len());
    let mut prev2 = [0usize; 64];
    let mut prev = [0usize; 64];
    let mut cur = [0usize; 64];
    for (j, slot) in prev.iter_mut().enumerate().take(m + 1) {
        *slot = j;
    }
    for i in 1..=n {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=m {
            let cost = usize::from(lower(a[i - 1]) != lower(b[j - 1]));
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1
                && j > 1
                && lower(a[i - 1]) == lower(b[j - 2])
                && lower(a[i - 2]) == lower(b[j - 1])
            {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return false;
        }
        prev2 = prev;
        prev = cur;
    }
    prev[m] <= max
}

/// How `lookup NAME` resolved a name that is not an IANA service name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMatch {
    /// Aliases with exactly this name (`samba` → 445 and 139).
    Aliases(Vec<&'static Alias>),
    /// Known uses whose product this name is (`grafana` → 3000).
    KnownUses(Vec<&'static KnownUse>),
}

impl Engine<'_> {
    /// Resolve a product, daemon or alias name to what it means: the aliases spelled exactly so,
    /// else the known uses whose product is best named by it. `None` when neither fits well
    /// enough to say (then a search is the better answer).
    pub fn resolve_name(&self, name: &str) -> Option<NameMatch> {
        let Ok(Query::Words(words)) = Query::parse(name) else {
            return None;
        };
        let joined = words.join(" ");
        let aliases: Vec<&'static Alias> = self
            .aliases
            .iter()
            .filter(|a| {
                let a_words: Vec<&str> = a
                    .alias
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .collect();
                a_words.join(" ") == joined
            })
            .collect();
        // An alias for a service IANA registers under another name (samba: microsoft-ds) says
        // more than a known use; a product IANA does not know (grafana) is told by its known use.
        let registered = aliases
            .iter()
            .any(|a| !self.registry.by_name(&a.target).is_empty());
        if registered {
            return Some(NameMatch::Aliases(aliases));
        }
        match self.resolve_known(&words) {
            Some(uses) => Some(NameMatch::KnownUses(uses)),
            None if !aliases.is_empty() => Some(NameMatch::Aliases(aliases)),
            None => None,
        }
    }

    /// Known uses whose product names every word exactly, those of the best score.
    fn resolve_known(&self, words: &[String]) -> Option<Vec<&'static KnownUse>> {
        let hits = self.search(&Query::Words(words.to_vec()), None, 50);
        let top = hits
            .iter()
            .filter(|h| h.kind == Kind::KnownUse)
            .filter(|h| {
                let product = &self.known[h.index].product;
                let toks: Vec<&[u8]> = tokens(product).collect();
                words
                    .iter()
                    .all(|w| toks.iter().any(|t| t.eq_ignore_ascii_case(w.as_bytes())))
            })
            .map(|h| h.score)
            .max()?;
        Some(
            hits.iter()
                .filter(|h| h.kind == Kind::KnownUse && h.score == top)
                .map(|h| &known::table()[h.index])
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_by_shape() {
        assert_eq!(Query::parse("3389").unwrap(), Query::Port(3389));
        assert_eq!(
            Query::parse("3000-3100").unwrap(),
            Query::Range(PortRange {
                start: 3000,
                end: 3100
            })
        );
        assert_eq!(
            Query::parse(" Remote  Desktop ").unwrap(),
            Query::Words(vec!["remote".into(), "desktop".into()])
        );
        assert_eq!(
            Query::parse("node_exporter").unwrap(),
            Query::Words(vec!["node".into(), "exporter".into()])
        );
        assert_eq!(Query::parse("  ").unwrap_err(), QueryError::Empty);
        assert!(Query::parse("70000").is_err());
        assert!(matches!(
            Query::parse(&"a".repeat(10_000)),
            Err(QueryError::TooLong(10_000))
        ));
        assert_eq!(
            Query::parse("red\u{1b}[31mis").unwrap_err().to_string(),
            "the search query \"red\\x1b[31mis\" holds control characters; type the name as plain text"
        );
        assert!(matches!(Query::parse("--"), Err(QueryError::NoWords(_))));
    }

    #[test]
    fn typos_are_one_edit_or_swap_and_never_scattered_letters() {
        assert!(edit_distance_within(b"mongdb", b"mongodb", 1));
        assert!(edit_distance_within(b"kuberentes", b"kubernetes", 1));
        assert!(edit_distance_within(b"ELASTICSEARH", b"elasticsearch", 1));
        assert!(!edit_distance_within(b"banana", b"banyan", 1));
        assert_eq!(token_match(b"rds", b"redis", true), 0);
        assert_eq!(token_match(b"redis", b"redis", false), EXACT);
        assert!(token_match(b"postgre", b"postgresql", false) > TYPO);
        assert_eq!(token_match(b"sql", b"mysql", true), INFIX);
        assert_eq!(token_match(b"sql", b"mysql", false), 0);
    }
}
