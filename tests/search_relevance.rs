//! Relevance of `portscope search` over the query set in tests/data/search-relevance.tsv: what
//! people type, with the port(s) they mean. Half A was used to tune the ranking, half B was held
//! out; both must hold the floors. Prints the figures (run with `--nocapture` to see them):
//!
//!     cargo test --release --test search_relevance -- --nocapture
//!
//! Set SEARCH_RELEVANCE_MISSES=A (or B) to list that half's misses.

use portscope::registry::Registry;
use portscope::search::{Engine, Hit, Query};

const SET: &str = include_str!("data/search-relevance.tsv");
const HIT3_FLOOR: f64 = 95.0;
const HIT1_FLOOR: f64 = 85.0;

struct Case<'a> {
    query: &'a str,
    /// Empty for a word that names no service.
    ports: Vec<u16>,
    half: &'a str,
}

fn cases() -> Vec<Case<'static>> {
    SET.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "malformed line: {l:?}");
            let ports = if f[1] == "-" {
                Vec::new()
            } else {
                f[1].split(',').map(|p| p.parse().unwrap()).collect()
            };
            assert!(f[2] == "A" || f[2] == "B", "half must be A or B: {l:?}");
            Case {
                query: f[0],
                ports,
                half: f[2],
            }
        })
        .collect()
}

fn rank_of(hits: &[Hit], ports: &[u16]) -> Option<usize> {
    hits.iter().position(|h| {
        h.ports
            .is_some_and(|r| ports.iter().any(|&p| r.contains(p)))
    })
}

#[derive(Default)]
struct Figures {
    queries: usize,
    hit1: usize,
    hit3: usize,
    junk: usize,
    junk_with_results: Vec<String>,
    misses: Vec<String>,
}

impl Figures {
    fn pct(n: usize, of: usize) -> f64 {
        100.0 * n as f64 / of.max(1) as f64
    }
}

#[test]
fn search_relevance_holds_its_floors_on_both_halves() {
    let reg = Registry::embedded();
    let engine = Engine::new(&reg);
    let cases = cases();
    assert!(cases.iter().filter(|c| !c.ports.is_empty()).count() >= 250);
    assert!(cases.iter().filter(|c| c.ports.is_empty()).count() >= 30);
    let mut halves: Vec<(&str, Figures)> =
        vec![("A", Figures::default()), ("B", Figures::default())];
    for c in &cases {
        let figures = &mut halves.iter_mut().find(|(h, _)| *h == c.half).unwrap().1;
        let hits = engine.search(&Query::parse(c.query).unwrap(), None, 10);
        if c.ports.is_empty() {
            figures.junk += 1;
            if !hits.is_empty() {
                figures.junk_with_results.push(c.query.to_string());
            }
            continue;
        }
        figures.queries += 1;
        let rank = rank_of(&hits, &c.ports);
        figures.hit1 += usize::from(rank == Some(0));
        figures.hit3 += usize::from(rank.is_some_and(|r| r < 3));
        if rank != Some(0) {
            let top: Vec<String> = hits
                .iter()
                .take(3)
                .map(|h| format!("{} {}", h.name(&reg), h.port_label()))
                .collect();
            figures.misses.push(format!(
                "{:?} wants {:?}: rank {:?}; top {}",
                c.query,
                c.ports,
                rank.map(|r| r + 1),
                top.join(" | ")
            ));
        }
    }
    let show = std::env::var("SEARCH_RELEVANCE_MISSES").unwrap_or_default();
    let mut broken = Vec::new();
    for (half, f) in &halves {
        let (h1, h3) = (
            Figures::pct(f.hit1, f.queries),
            Figures::pct(f.hit3, f.queries),
        );
        println!(
            "half {half}: {} queries  hit@1 {h1:5.1}%  hit@3 {h3:5.1}%  junk words with results {}/{}",
            f.queries,
            f.junk_with_results.len(),
            f.junk
        );
        if show == *half {
            for m in &f.misses {
                println!("  miss {m}");
            }
        }
        if h1 < HIT1_FLOOR {
            broken.push(format!("half {half}: hit@1 {h1:.1}% < {HIT1_FLOOR}%"));
        }
        if h3 < HIT3_FLOOR {
            broken.push(format!("half {half}: hit@3 {h3:.1}% < {HIT3_FLOOR}%"));
        }
        if !f.junk_with_results.is_empty() {
            broken.push(format!(
                "half {half}: words that name no service found something: {:?}",
                f.junk_with_results
            ));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}
