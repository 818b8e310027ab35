//! `portscope watch --ndjson [--interval S]`: one JSON object per line for each listener present
//! at start, then each one opened, closed or changed, for log shippers (Vector, Fluent Bit,
//! Filebeat). Each line carries the host, the time, and the fields of a `list --json` row; it is
//! flushed as soon as it is written. SIGTERM and SIGINT (on Windows, Ctrl-C, Ctrl-Break or the
//! console closing) end the stream between lines; a closed
//! pipe ends it quietly (main treats a broken pipe as success).

use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{CmdResult, Context, Failure};
use crate::cli::WatchArgs;
use crate::hints;
use crate::registry::Registry;
use crate::report::Row as ListRow;
use crate::sockets::diff::{self, ChangeKind};
use crate::sockets::{Owner, Socket};

#[derive(Serialize)]
struct Event<'a> {
    event: &'static str,
    host: &'a str,
    /// RFC 3339, UTC.
    time: String,
    #[serde(flatten)]
    row: ListRow<'a>,
    processes: &'a [Owner],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    changes: &'a [ChangeKind],
}

fn rfc3339(epoch: u64) -> String {
    // text::utc writes `2026-11-21 23:45:07 UTC`.
    crate::text::utc(epoch)
        .replacen(' ', "T", 1)
        .replace(" UTC", "Z")
}

/// One event line. `assessor` is built once per snapshot by the caller: building it per event
/// would index the whole snapshot again for every listener (quadratic at start-up).
fn emit(
    out: &mut impl Write,
    registry: &Registry,
    assessor: &hints::Assessor,
    event: &'static str,
    socket: &Socket,
    changes: &[ChangeKind],
) -> io::Result<()> {
    let snapshot = assessor.snapshot();
    let flags = assessor.flags(socket);
    let ev = Event {
        event,
        host: &snapshot.host.hostname,
        time: rfc3339(snapshot.host.taken_at),
        row: ListRow::new(registry, socket, flags),
        processes: &socket.owners,
        changes,
    };
    let mut ser = serde_json::Serializer::with_formatter(
        &mut *out,
        crate::text::SafeJsonFormatter::compact(),
    );
    ev.serialize(&mut ser).map_err(io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()
}

pub fn run(ctx: &Context, args: &WatchArgs) -> CmdResult {
    if !args.interval.is_finite() || args.interval < 0.1 || args.interval > 86_400.0 {
        return super::usage(format!(
            "--interval must be between 0.1 and 86400 seconds, got {}",
            args.interval
        ));
    }
    let interval = Duration::from_secs_f64(args.interval);
    let registry = ctx.registry()?;
    let stop = Arc::new(AtomicBool::new(false));
    crate::signals::stop_flag(&stop)
        .map_err(|e| Failure::Runtime(anyhow::anyhow!("cannot handle signals: {e}")))?;
    let mut out = io::stdout().lock();
    let mut old = super::collect_live(false)?;
    let present = hints::Assessor::new(&registry, &old);
    for s in old.sockets.iter().filter(|s| s.state.is_listener()) {
        emit(&mut out, &registry, &present, "present", s, &[])?;
    }
    loop {
        let deadline = Instant::now() + interval;
        while Instant::now() < deadline {
            if stop.load(Ordering::Relaxed) {
                return Ok(ExitCode::SUCCESS);
            }
            std::thread::sleep(Duration::from_millis(50).min(interval));
        }
        let new = super::collect_live(false)?;
        // Owners and binds are compared; hints are not (they would cost a full assessment every
        // interval, and each event carries the socket's current hints anyway).
        let changes = diff::diff(&old, &new, &mut diff::NoHints);
        let (before, after) = (
            hints::Assessor::new(&registry, &old),
            hints::Assessor::new(&registry, &new),
        );
        for s in &changes.closed {
            emit(&mut out, &registry, &before, "closed", s, &[])?;
        }
        for s in &changes.opened {
            emit(&mut out, &registry, &after, "opened", s, &[])?;
        }
        for c in &changes.changed {
            emit(&mut out, &registry, &after, "changed", &c.after, &c.what)?;
        }
        old = new;
    }
}
