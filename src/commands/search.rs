//! `portscope search QUERY`: ranked hits over IANA's entries, the known uses and the alias table,
//! one line each (what kind of hit, name, port, protocol, a one-line description).

use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;

use super::{CmdResult, Context, Failure};
use crate::cli::{ProtoArg, SearchArgs};
use crate::known::KnownUse;
use crate::output::{write_table, Column};
use crate::registry::{Entry, PortRange, Protocol};
use crate::search::aliases::Alias;
use crate::search::{Engine, Kind, Query};
use crate::text::escape;

/// One JSON hit: the common fields, then the whole record it came from.
#[derive(Serialize)]
struct JsonHit<'r> {
    kind: Kind,
    name: &'r str,
    ports: Option<PortRange>,
    protocols: Vec<Protocol>,
    description: &'r str,
    score: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    entry: Option<Entry<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    known_use: Option<&'static KnownUse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alias: Option<&'static Alias>,
}

pub fn proto_of(arg: Option<ProtoArg>) -> Option<Protocol> {
    arg.map(|p| match p {
        ProtoArg::Tcp => Protocol::Tcp,
        ProtoArg::Udp => Protocol::Udp,
        ProtoArg::Sctp => Protocol::Sctp,
        ProtoArg::Dccp => Protocol::Dccp,
    })
}

pub fn run(ctx: &Context, args: &SearchArgs) -> CmdResult {
    let query = Query::parse(&args.query).map_err(|e| Failure::Usage(e.to_string()))?;
    if args.limit == 0 {
        return super::usage("--limit must be at least 1");
    }
    let registry = ctx.registry()?;
    let engine = Engine::new(&registry);
    let hits = engine.search(&query, proto_of(args.proto), args.limit);
    let mut out = io::stdout().lock();
    let nothing = format!(
        "nothing portscope knows (IANA entries, known uses, aliases) matches \"{}\"",
        escape(args.query.trim())
    );
    if ctx.json {
        let rows: Vec<JsonHit> = hits
            .iter()
            .map(|h| JsonHit {
                kind: h.kind,
                name: h.name(&registry),
                ports: h.ports,
                protocols: h.protocols.clone(),
                description: h.description(&registry),
                score: h.score,
                entry: h.entry(&registry),
                known_use: h.known_use(),
                alias: h.alias(),
            })
            .collect();
        crate::text::write_json(&mut out, &rows)?;
        if hits.is_empty() {
            eprintln!("portscope: {nothing}");
            return Ok(ExitCode::from(1));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if hits.is_empty() {
        writeln!(out, "{}.", capitalized(&nothing))?;
        return Ok(ExitCode::from(1));
    }
    let rows: Vec<Vec<String>> = hits
        .iter()
        .map(|h| {
            let name = match h.alias() {
                Some(a) => format!("{} → {}", escape(&a.alias), escape(&a.target)),
                None => escape(h.name(&registry)).into_owned(),
            };
            let protos: Vec<&str> = h.protocols.iter().map(|p| p.as_str()).collect();
            vec![
                h.kind.label().to_owned(),
                name,
                h.ports.map_or_else(|| "-".into(), |p| p.to_string()),
                protos.join(","),
                escape(h.description(&registry)).into_owned(),
            ]
        })
        .collect();
    let columns = [
        Column {
            title: "KIND",
            min: 4,
            shrinks: false,
        },
        Column {
            title: "NAME",
            min: 7,
            shrinks: true,
        },
        Column {
            title: "PORT",
            min: 4,
            shrinks: false,
        },
        Column {
            title: "PROTO",
            min: 5,
            shrinks: false,
        },
        Column {
            title: "DESCRIPTION",
            min: 11,
            shrinks: true,
        },
    ];
    let width = crate::output::table_width().or(Some(80));
    write_table(&mut out, &columns, &rows, width)?;
    Ok(ExitCode::SUCCESS)
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
