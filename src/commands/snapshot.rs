//! `portscope snapshot [-o FILE]`: this machine's sockets, owners and hints as versioned JSON, for
//! `portscope view` and `portscope diff` elsewhere. No terminal needed: it runs fine under cron or
//! over `ssh host portscope snapshot`.

use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;

use super::{CmdResult, Context, Failure};
use crate::cli::SnapshotArgs;
use crate::facts::{Depth, FactsCache, FactsTable, Recorded, Roots};
use crate::hints::{Assessor, Hint};
use crate::registry::Registry;
use crate::sockets::Snapshot;
use crate::text::SafeJsonFormatter;

/// The file layout: the snapshot's own fields, plus the hints this machine's portscope found, by
/// socket index. Readers recompute hints with their own registry and rules; `hints` is there for
/// people and scripts reading the file.
#[derive(Serialize)]
struct SnapshotFile<'a> {
    #[serde(flatten)]
    snapshot: &'a Snapshot,
    /// The owners' facts (schema 3): package, unit, container, pod per process; integrity too
    /// with `--verify`. `view` and `diff` read them back; older files have none.
    facts: Recorded,
    hints: Vec<SocketHints>,
}

#[derive(Serialize)]
struct SocketHints {
    socket: usize,
    hints: Vec<Hint>,
}

pub fn run(ctx: &Context, args: &SnapshotArgs) -> CmdResult {
    let registry = ctx.registry()?;
    let snapshot = super::collect_live(args.all)?;
    let depth = if args.verify {
        Depth::Verify
    } else {
        Depth::Cheap
    };
    let facts = FactsCache::new(Roots::system()).table_of(&snapshot, depth);
    // A file named with `-o` is for programs (`view`, `diff`, `jq`), whatever standard output
    // is connected to: compact, as JSON written to a pipe or a redirected file is.
    let layout = match args.output {
        Some(_) => SafeJsonFormatter::compact(),
        None => SafeJsonFormatter::for_stdout(),
    };
    let bytes = to_json(&registry, &snapshot, &facts, layout)?;
    match &args.output {
        None => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)?;
            out.flush()?;
        }
        Some(path) => write_file(path, &bytes)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The snapshot with its owners' facts and its hints, as the bytes of a snapshot file.
pub fn to_json(
    registry: &Registry,
    snapshot: &Snapshot,
    facts: &FactsTable,
    layout: SafeJsonFormatter,
) -> Result<Vec<u8>, Failure> {
    let assessor = Assessor::new(registry, snapshot).with_facts(facts);
    let hints = snapshot
        .sockets
        .iter()
        .enumerate()
        .map(|(i, s)| SocketHints {
            socket: i,
            hints: assessor.assess(s).hints,
        })
        .filter(|h| !h.hints.is_empty())
        .collect();
    let mut bytes = Vec::new();
    crate::text::write_json_as(
        &mut bytes,
        &SnapshotFile {
            snapshot,
            facts: facts.recorded(),
            hints,
        },
        layout,
    )?;
    Ok(bytes)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    // Raw text in a runtime error: `main` escapes it once as it prints it.
    crate::files::write(path, bytes, crate::files::Place::Given)
        .map_err(|e| Failure::Runtime(anyhow::anyhow!("cannot write the snapshot: {e}")))
}
