//! One function per subcommand. Each builds its rows from the shared model (registry, snapshot,
//! hints) and hands them to `output` for a table, JSON or CSV; none of them draws a screen.

use std::process::ExitCode;

use crate::cli::{Cli, Command};

mod baseline;
mod check;
mod diff;
mod doctor;
mod explain;
mod fleet;
mod list;
mod lookup;
mod man;
mod metrics;
mod reach;
mod registry;
mod search;
mod snapshot;
mod ssh;
mod view;
mod watch;

pub use diff::changes as diff_changes;

/// The explorer's outcome as an exit status; an error that is the user's to fix is a usage error.
pub fn explored(result: Result<crate::tui::Ending, crate::tui::TuiError>) -> CmdResult {
    match result {
        Ok(ending) => Ok(ExitCode::from(ending.exit_code())),
        Err(e) if e.is_usage() => Err(Failure::Usage(e.to_string())),
        Err(e) => Err(Failure::Runtime(e.into())),
    }
}

/// How a command failed: a usage error (the user can fix the command line: exit 2) or a runtime
/// failure (exit 1). Both print one line.
///
/// Escaping: a `Usage` message is built for the terminal, so whoever builds it escapes the
/// untrusted pieces in it (`text::escape`, once); a `Runtime` error holds raw text (paths, OS
/// messages) and `main` escapes it as it prints it.
#[derive(Debug)]
pub enum Failure {
    Usage(String),
    Runtime(anyhow::Error),
}

impl From<crate::registry::store::StoreError> for Failure {
    fn from(err: crate::registry::store::StoreError) -> Self {
        if err.is_usage() {
            Failure::Usage(crate::text::escape(&err.to_string()).into_owned())
        } else {
            Failure::Runtime(err.into())
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        Failure::Runtime(err)
    }
}

impl From<std::io::Error> for Failure {
    fn from(err: std::io::Error) -> Self {
        Failure::Runtime(err.into())
    }
}

pub type CmdResult = Result<ExitCode, Failure>;

pub fn usage<T>(msg: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::Usage(msg.into()))
}

pub fn run(cli: Cli) -> CmdResult {
    let ctx = Context::new(&cli);
    if cli.command.is_some() && cli.expected.is_some() {
        return usage(
            "--expected before a subcommand is the explorer's: put it after the subcommand (portscope list --expected FILE)",
        );
    }
    match cli.command {
        // Without a terminal (a pipe, TERM=dumb) the explorer cannot run: print the plain table.
        None if !crate::tui::terminal_available() => {
            crate::tui::check_interval(cli.interval).map_err(|e| Failure::Usage(e.to_string()))?;
            list::run(
                &ctx,
                &crate::cli::ListArgs {
                    expected: cli.expected.clone(),
                    ..crate::cli::ListArgs::default()
                },
            )
        }
        None => {
            // The file before the terminal: a broken one is exit 2 on a screen left as it was.
            let marker = check::load_marker(cli.expected.as_deref())?;
            explored(crate::tui::run_live(ctx.registry()?, cli.interval, marker))
        }
        Some(Command::Lookup(args)) => lookup::run(&ctx, &args),
        Some(Command::Search(args)) => search::run(&ctx, &args),
        Some(Command::List(args)) => list::run(&ctx, &args),
        Some(Command::Explain(args)) => explain::run(&ctx, &args),
        Some(Command::Registry(args)) => registry::run(&ctx, &args),
        Some(Command::Snapshot(args)) => snapshot::run(&ctx, &args),
        Some(Command::View(args)) => view::run(&ctx, &args),
        Some(Command::Diff(args)) => diff::run(&ctx, &args),
        Some(Command::Ssh(args)) => ssh::run(&ctx, &args, cli.interval),
        Some(Command::Collector(args)) => ssh::collector(&args),
        Some(Command::Doctor) => doctor::run(&ctx),
        Some(Command::Baseline(args)) => baseline::run(&ctx, &args),
        Some(Command::Check(args)) => check::run(&ctx, &args),
        Some(Command::Reach(args)) => reach::run(&ctx, &args),
        Some(Command::Metrics(args)) => metrics::run(&ctx, &args),
        Some(Command::Watch(args)) => watch::run(&ctx, &args),
        Some(Command::Completions(args)) => {
            // clap_complete panics when its writer fails (`>/dev/full`): generate into memory,
            // then write with the error returned like every other command's output.
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut cmd, "portscope", &mut script);
            write_stdout(&script)
        }
        Some(Command::Man) => {
            let mut page = Vec::new();
            man::write(&mut page)?;
            write_stdout(&page)
        }
    }
}

/// Write generated text to standard output; a failure is a runtime error (a closed pipe ends the
/// run quietly, like every other command's output).
fn write_stdout(bytes: &[u8]) -> CmdResult {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Runtime(anyhow::Error::new(e).context("cannot write the output")))?;
    Ok(ExitCode::SUCCESS)
}

/// One collection of this machine's sockets, for the commands that print one (`list`,
/// `explain`, `snapshot`); the explorer keeps its own collector to refresh.
pub fn collect_live(include_connections: bool) -> Result<crate::sockets::Snapshot, Failure> {
    use crate::sockets::{CollectOptions, Collector, SystemCollector};
    SystemCollector::new(CollectOptions {
        include_connections,
        ..CollectOptions::default()
    })
    .collect()
    .map_err(|e| Failure::Runtime(anyhow::anyhow!("cannot read this machine's sockets: {e}")))
}

/// What every command shares: where the registry comes from and how to print.
pub struct Context {
    pub json: bool,
    pub registry_file: Option<std::path::PathBuf>,
}

impl Context {
    fn new(cli: &Cli) -> Self {
        Context {
            json: cli.json,
            registry_file: cli.registry.clone(),
        }
    }

    /// The registry for this run: `--registry FILE`, else an imported one, else the embedded copy.
    pub fn registry(&self) -> Result<crate::registry::Registry, Failure> {
        Ok(crate::registry::store::load(self.registry_file.as_deref())?)
    }
}
