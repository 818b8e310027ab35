//! `portscope baseline [-o FILE] [--required]`: an expected-listeners file from what listens now.
//! The file's words are `policy::baseline`'s; this command collects and writes (atomically, with
//! the project's writer).

use std::io::Write as _;
use std::process::ExitCode;

use super::{CmdResult, Context, Failure};
use crate::cli::BaselineArgs;
use crate::text::escape;

pub fn run(ctx: &Context, args: &BaselineArgs) -> CmdResult {
    let registry = ctx.registry()?;
    let snapshot = super::collect_live(false)?;
    for warning in &snapshot.host.warnings {
        eprintln!("portscope: warning: {}", escape(warning));
    }
    let listeners = snapshot.sockets.iter().filter(|s| s.state.is_listener());
    let facts = crate::facts::FactsCache::new(crate::facts::Roots::system())
        .table(listeners, crate::facts::Depth::Cheap);
    let text = crate::policy::baseline::write_with_facts(
        &registry,
        &snapshot,
        args.required,
        Some(&facts),
    );
    match &args.output {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
        Some(path) => crate::files::write(path, text.as_bytes(), crate::files::Place::Given)
            .map_err(|e| {
                // Raw text in a runtime error: `main` escapes it once as it prints it.
                Failure::Runtime(anyhow::anyhow!("cannot write the baseline: {e}"))
            })?,
    }
    Ok(ExitCode::SUCCESS)
}
