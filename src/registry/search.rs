//! Ranked search over the registry: fuzzy over service name, description and assignee (the name
//! weighs most), plus numeric queries (`3389`) and ranges (`3000-3100`).
//!
//! Speed comes from a cheap pre-filter: a query word can only fuzzy-match a row if its characters
//! appear in order in the row's lowercased text, which a byte scan tells in nanoseconds. Only rows
//! that pass are scored with fuzzy-matcher. When a query extends the previous one (typing), the
//! rows that passed before are the only ones that can pass now, so the scan narrows as you type.

use fuzzy_matcher::skim::SkimMatcherV2;
use fuzzy_matcher::FuzzyMatcher;
use serde::Serialize;

use super::parse::parse_port_field;
use super::{PortRange, Protocol, Registry};

/// One result line: a service on a port, with every protocol it is registered for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// The first matching row (IANA order) of this service and port.
    pub index: usize,
    pub protocols: Vec<Protocol>,
    pub score: i64,
}

/// What a query asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Rows covering one port.
    Port(u16),
    /// Rows overlapping a range of ports.
    Range(PortRange),
    /// Lowercased words; every word must match.
    Words(Vec<String>),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    #[error(
        "the search query is empty: give a service name, a word, a port or a range like 3000-3100"
    )]
    Empty,
    #[error("{0}")]
    Port(String),
}

impl Query {
    pub fn parse(raw: &str) -> Result<Query, QueryError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(QueryError::Empty);
        }
        let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if numeric(raw)
            || raw
                .split_once('-')
                .is_some_and(|(a, b)| numeric(a.trim()) && numeric(b.trim()))
        {
            let (start, end) = parse_port_field(raw)
                .map_err(QueryError::Port)?
                .expect("not empty");
            let range = PortRange { start, end };
            return Ok(if range.is_single() {
                Query::Port(range.start)
            } else {
                Query::Range(range)
            });
        }
        Ok(Query::Words(
            raw.split_whitespace().map(str::to_lowercase).collect(),
        ))
    }
}

/// A search index over one registry. Keep it for a session of typing: it remembers the documents
/// the previous query let through.
pub struct SearchIndex<'r> {
    registry: &'r Registry,
    /// Rows with the same name, description and assignee (the tcp and udp rows of one service)
    /// score the same, so each such group is one document, scored once.
    docs: Vec<Doc>,
    /// All documents' searchable text, lowercased: "service\u{1}description\u{1}assignee", one
    /// after another; `docs[i].text` is document i.
    haystack: String,
    matcher: SkimMatcherV2,
    previous: Option<(Vec<String>, Vec<u32>)>,
}

struct Doc {
    /// The registry rows this document stands for, in IANA order.
    rows: Vec<u32>,
    text: std::ops::Range<u32>,
}

/// How much more a match in the service name counts than one in the description or assignee.
const NAME_WEIGHT: i64 = 3;
/// Added when a word is the whole service name, or the start of it.
const EXACT_BONUS: i64 = 10_000;
const PREFIX_BONUS: i64 = 1_000;
/// Added when a query of several words appears as one phrase in the row's text.
const PHRASE_BONUS: i64 = 2_000;
/// Words this short match service names only, by substring: a fuzzy match of one or two letters
/// against descriptions finds nearly every row and tells the user nothing.
const SHORT_WORD: usize = 2;
/// How many rows back a duplicate document is looked for (rows of one service are adjacent).
const DEDUP_WINDOW: usize = 6;

impl<'r> SearchIndex<'r> {
    pub fn new(registry: &'r Registry) -> SearchIndex<'r> {
        let mut haystack = String::with_capacity(registry.arena.len() / 2);
        let mut docs: Vec<Doc> = Vec::with_capacity(registry.len());
        for e in registry.entries() {
            let fields = [e.service, e.description, e.assignee];
            let same = docs.iter().rev().take(DEDUP_WINDOW).position(|d| {
                let first = registry.entry(d.rows[0] as usize);
                [first.service, first.description, first.assignee] == fields
            });
            if let Some(back) = same {
                let at = docs.len() - 1 - back;
                docs[at].rows.push(e.index as u32);
                continue;
            }
            let start = haystack.len() as u32;
            for (i, field) in fields.into_iter().enumerate() {
                if i > 0 {
                    haystack.push('\u{1}');
                }
                if field.is_ascii() {
                    haystack.extend(field.bytes().map(|b| char::from(b.to_ascii_lowercase())));
                } else {
                    haystack.extend(field.chars().flat_map(char::to_lowercase));
                }
            }
            docs.push(Doc {
                rows: vec![e.index as u32],
                text: start..haystack.len() as u32,
            });
        }
        SearchIndex {
            registry,
            docs,
            haystack,
            matcher: SkimMatcherV2::default(),
            previous: None,
        }
    }

    pub fn registry(&self) -> &'r Registry {
        self.registry
    }

    /// Drop what the previous query let through, so the next search scans every document.
    pub fn forget_previous(&mut self) {
        self.previous = None;
    }

    /// Ranked hits for `query`, best first, at most `limit`.
    pub fn search(&mut self, query: &Query, protocol: Option<Protocol>, limit: usize) -> Vec<Hit> {
        let reg = self.registry;
        let keep_proto = |i: usize| protocol.is_none() || reg.entry(i).protocol == protocol;
        let mut scored: Vec<(usize, i64)> = match query {
            Query::Port(port) => reg
                .by_port(*port, None)
                .into_iter()
                .filter(|e| !e.service.is_empty() || e.is_reserved())
                .map(|e| (e.index, 0))
                .collect(),
            Query::Range(range) => reg
                .entries()
                .filter(|e| {
                    e.ports
                        .is_some_and(|p| p.start <= range.end && range.start <= p.end)
                })
                .filter(|e| !e.service.is_empty())
                .map(|e| (e.index, -i64::from(e.ports.map_or(0, |p| p.start))))
                .collect(),
            Query::Words(words) => self.score_words(words),
        };
        scored.retain(|&(i, _)| keep_proto(i));
        // Best score first; ties in port order, then IANA order.
        // Sort keys computed once per row, not once per comparison.
        let mut keyed: Vec<(i64, u32, usize)> = scored
            .into_iter()
            .map(|(i, score)| {
                (
                    -score,
                    reg.rows[i]
                        .ports
                        .map_or(u32::MAX, |(start, _)| u32::from(start)),
                    i,
                )
            })
            .collect();
        keyed.sort_unstable();
        let scored: Vec<(usize, i64)> = keyed.into_iter().map(|(neg, _, i)| (i, -neg)).collect();
        group(reg, scored, limit)
    }

    fn score_words(&mut self, words: &[String]) -> Vec<(usize, i64)> {
        let candidates: Vec<u32> = match &self.previous {
            Some((prev, docs)) if extends(prev, words) => docs
                .iter()
                .copied()
                .filter(|&d| self.passes(d as usize, words))
                .collect(),
            _ => (0..self.docs.len() as u32)
                .filter(|&d| self.passes(d as usize, words))
                .collect(),
        };
        let mut scored = Vec::new();
        for &d in &candidates {
            let doc = &self.docs[d as usize];
            if let Some(score) = self.score(d as usize, words) {
                scored.extend(doc.rows.iter().map(|&r| (r as usize, score)));
            }
        }
        self.previous = Some((words.to_vec(), candidates));
        scored
    }

    /// Every word's characters appear in order somewhere in the document's text.
    fn passes(&self, doc: usize, words: &[String]) -> bool {
        let range = &self.docs[doc].text;
        let hay = &self.haystack.as_bytes()[range.start as usize..range.end as usize];
        words.iter().all(|w| is_subsequence(w.as_bytes(), hay))
    }

    fn score(&self, doc: usize, words: &[String]) -> Option<i64> {
        let e = self.registry.entry(self.docs[doc].rows[0] as usize);
        let text = &self.docs[doc].text;
        let doc_text = &self.haystack[text.start as usize..text.end as usize];
        let lower_name = doc_text.split('\u{1}').next().unwrap_or("");
        let mut total = 0;
        for word in words {
            let name_bonus = if e.service.eq_ignore_ascii_case(word) {
                EXACT_BONUS
            } else if e.service.len() >= word.len()
                && e.service.as_bytes()[..word.len()].eq_ignore_ascii_case(word.as_bytes())
            {
                PREFIX_BONUS
            } else {
                0
            };
            if word.chars().count() <= SHORT_WORD {
                let at = lower_name.find(word.as_str())?;
                total += name_bonus + 100 - at.min(99) as i64;
                continue;
            }
            let name = self
                .matcher
                .fuzzy_match(e.service, word)
                .map(|s| s * NAME_WEIGHT + name_bonus);
            let other = [e.description, e.assignee]
                .into_iter()
                .filter_map(|f| self.matcher.fuzzy_match(f, word))
                .max();
            total += name.into_iter().chain(other).max()?;
        }
        // Several words that stand together in the text ("remote desktop") are what the user
        // meant; scattered letters of them are not.
        if words.len() > 1 && doc_text.contains(&words.join(" ")) {
            total += PHRASE_BONUS;
        }
        Some(total)
    }
}

/// Each new word list is the old one with its last word lengthened or more words added.
fn extends(prev: &[String], words: &[String]) -> bool {
    !prev.is_empty()
        && words.len() >= prev.len()
        && prev.iter().zip(words).enumerate().all(|(i, (p, w))| {
            if i + 1 == prev.len() {
                w.starts_with(p.as_str())
            } else {
                p == w
            }
        })
}

fn is_subsequence(needle: &[u8], hay: &[u8]) -> bool {
    let mut hay = hay.iter();
    needle.iter().all(|n| hay.any(|h| h == n))
}

/// Fold rows of the same service and port (tcp, udp, ...) into one hit, keeping rank order.
fn group(reg: &Registry, scored: Vec<(usize, i64)>, limit: usize) -> Vec<Hit> {
    let mut hits: Vec<Hit> = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (i, score) in scored {
        let e = reg.entry(i);
        let key = (e.service, e.ports);
        if let Some(&at) = seen.get(&key) {
            let hit: &mut Hit = &mut hits[at];
            if let Some(p) = e.protocol {
                if !hit.protocols.contains(&p) {
                    hit.protocols.push(p);
                }
            }
            continue;
        }
        if hits.len() == limit {
            continue; // still fold protocols into hits already taken
        }
        seen.insert(key, hits.len());
        hits.push(Hit {
            index: i,
            protocols: e.protocol.into_iter().collect(),
            score,
        });
    }
    for hit in &mut hits {
        hit.protocols.sort();
    }
    hits
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
        assert_eq!(Query::parse("  ").unwrap_err(), QueryError::Empty);
        assert!(Query::parse("70000").is_err());
        assert_eq!(
            Query::parse("x-11").unwrap(),
            Query::Words(vec!["x-11".into()])
        );
    }

    #[test]
    fn extension_is_detected_only_when_it_narrows() {
        let w = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert!(extends(&w("red"), &w("redi")));
        assert!(extends(&w("red"), &w("red cache")));
        assert!(!extends(&w("redi"), &w("red")));
        assert!(!extends(&w("red x"), &w("red y")));
    }

    #[test]
    fn subsequence_prefilter() {
        assert!(is_subsequence(b"rds", b"redis"));
        assert!(!is_subsequence(b"sdr", b"redis"));
        assert!(is_subsequence(b"", b"x"));
    }
}
