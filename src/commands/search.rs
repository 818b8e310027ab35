//! `portscope search QUERY`: ranked registry hits, one line each.

use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;

use super::{CmdResult, Context, Failure};
use crate::cli::{ProtoArg, SearchArgs};
use crate::output::{write_table, Column};
use crate::registry::search::{Query, SearchIndex};
use crate::registry::{Entry, Protocol};
use crate::text::escape;

#[derive(Serialize)]
struct JsonHit<'r> {
    score: i64,
    protocols: Vec<Protocol>,
    entry: Entry<'r>,
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
    let mut index = SearchIndex::new(&registry);
    let hits = index.search(&query, proto_of(args.proto), args.limit);
    let mut out = io::stdout().lock();
    if ctx.json {
        let rows: Vec<JsonHit> = hits
            .iter()
            .map(|h| JsonHit {
                score: h.score,
                protocols: h.protocols.clone(),
                entry: registry.entry(h.index),
            })
            .collect();
        crate::text::write_json(&mut out, &rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    if hits.is_empty() {
        writeln!(
            out,
            "No registry entry matches \"{}\".",
            escape(&args.query)
        )?;
        return Ok(ExitCode::from(1));
    }
    let rows: Vec<Vec<String>> = hits
        .iter()
        .map(|h| {
            let e = registry.entry(h.index);
            let protos: Vec<&str> = h.protocols.iter().map(|p| p.as_str()).collect();
            vec![
                escape(e.service).into_owned(),
                e.ports.map_or_else(|| "-".into(), |p| p.to_string()),
                protos.join(","),
                escape(&e.description.replace('\n', " ")).into_owned(),
            ]
        })
        .collect();
    let columns = [
        Column {
            title: "SERVICE",
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
