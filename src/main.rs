//! The thin edge: parse the command line, run the command, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;
use portscope::cli::Cli;
use portscope::commands::{self, Failure};

fn main() -> ExitCode {
    // One malloc arena for every thread. glibc gives each thread that allocates an arena of its
    // own (up to eight per core) and keeps what a thread frees for that thread: the explorer's
    // collector builds 40,000 sockets on one thread and the screen drops them on another, and
    // its memory grew with every arena. portscope's few threads rarely allocate at once.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a parameter of the allocator; no thread has started yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout with exit 0 and usage errors to stderr with 2.
            // Help that cannot be written (`--help >/dev/full`) is a failure, unless the reader
            // simply went away (`--help | head -1`).
            if let Err(e) = err.print() {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    eprintln!("portscope: cannot write the output: {e}");
                    return ExitCode::from(1);
                }
            }
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    match commands::run(cli) {
        Ok(code) => code,
        Err(Failure::Usage(msg)) => {
            // Usage messages are escaped where they are built. A builder that forgot is caught
            // here: no control character from data reaches the terminal, even at the price of
            // doubled backslashes in the parts that were escaped.
            let unescaped =
                |c: char| c.is_control() || c != '\\' && portscope::text::is_dangerous(c);
            if msg.chars().any(unescaped) {
                eprintln!("portscope: {}", portscope::text::escape(&msg));
            } else {
                eprintln!("portscope: {msg}");
            }
            ExitCode::from(2)
        }
        // `portscope ... | head`: the reader has what it wanted; that is not an error.
        Err(Failure::Runtime(err)) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(Failure::Runtime(err)) => {
            eprintln!(
                "portscope: {}",
                portscope::text::escape(&format!("{err:#}"))
            );
            ExitCode::from(1)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
