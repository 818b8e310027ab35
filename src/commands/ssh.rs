//! `portscope ssh [USER@]HOST [-- SSH OPTIONS]`: the explorer here, the collector on HOST over
//! one ssh connection (see `remote::ssh`); and the hidden `portscope collector` that is that
//! remote end. The registry, known uses and hints are applied here, on this machine.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use super::{list, CmdResult, Context, Failure};
use crate::cli::{CollectorArgs, ListArgs, SshArgs};
use crate::remote::ssh::{RemoteCollector, Target};
use crate::remote::stream::{self, Encoder, Message, PROTOCOL};
use crate::sockets::{CollectOptions, Collector, SystemCollector};
use crate::text::escape;

pub fn run(ctx: &Context, args: &SshArgs, default_interval: f64) -> CmdResult {
    let interval = args.interval.unwrap_or(default_interval);
    if !(interval.is_finite() && (0.1..=3600.0).contains(&interval)) {
        return super::usage(format!(
            "--interval must be between 0.1 and 3600 seconds, got {interval}"
        ));
    }
    if args.destination.is_empty() || args.destination.starts_with('-') {
        return super::usage(format!(
            "{} is not a host: give [USER@]HOST first, and ssh's own options after --",
            escape(&args.destination)
        ));
    }
    let binary = match &args.binary {
        Some(path) => path.clone(),
        None => std::env::current_exe().map_err(|e| {
            Failure::Runtime(anyhow::anyhow!(
                "cannot find this binary to send it ({e}): pass --binary FILE"
            ))
        })?,
    };
    // Fail on a bad registry before connecting, not after.
    let registry = ctx.registry()?;
    let once = args.once || ctx.json || !crate::tui::terminal_available();
    let target = Target {
        destination: args.destination.clone(),
        ssh_options: args.ssh_options.clone(),
        ssh: "ssh".into(),
        sudo: args.sudo,
        force_upload: args.upload,
        binary,
        interval,
        include_connections: args.all,
    };
    let mut collector =
        RemoteCollector::connect(target).map_err(|e| Failure::Runtime(anyhow::anyhow!("{e}")))?;
    if let Some(place) = &collector.session.uploaded_to {
        eprintln!("portscope: sent this binary to {place} (it deletes itself once running)");
    }
    if once {
        let snapshot = collector
            .collect()
            .map_err(|e| Failure::Runtime(anyhow::anyhow!("{e}")))?;
        let list_args = ListArgs {
            all: args.all,
            netns: Some("all".into()),
            ..ListArgs::default()
        };
        // The facts of the remote processes are not established from here (this machine's
        // /proc would describe other processes).
        let facts = crate::facts::FactsTable::unknown(crate::facts::table::OTHER_HOST);
        let code = list::print(ctx, &list_args, &registry, snapshot, facts)?;
        drop(collector); // closes the connection; the remote side cleans up
        return Ok(code);
    }
    // Raw: the explorer escapes what it draws.
    super::explored(crate::tui::run_remote(
        registry,
        Box::new(collector),
        Duration::from_secs_f64(interval),
        &args.destination,
    ))
}

/// The remote end: collect every `interval`, write what changed, stop when standard input closes
/// (the ssh connection is gone) or standard output breaks.
pub fn collector(args: &CollectorArgs) -> CmdResult {
    if args.protocol_version {
        println!("portscope-stream {PROTOCOL}");
        return Ok(ExitCode::SUCCESS);
    }
    if !(args.interval.is_finite() && (0.1..=3600.0).contains(&args.interval)) {
        return super::usage(format!(
            "--interval must be between 0.1 and 3600 seconds, got {}",
            args.interval
        ));
    }
    if args.unlink_self {
        unlink_self();
    }
    // Standard input carries the local side's requests (see `stream`); its end means the other
    // side is gone.
    let (requests, asked) = std::sync::mpsc::channel::<bool>();
    std::thread::Builder::new()
        .name("requests".into())
        .spawn(move || {
            let mut chunk = [0u8; 512];
            let mut pending: Vec<u8> = Vec::new();
            let mut stdin = std::io::stdin().lock();
            while let Ok(n @ 1..) = stdin.read(&mut chunk) {
                pending.extend_from_slice(&chunk[..n]);
                while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    if let Some(on) = stream::parse_request(&line) {
                        let _ = requests.send(on);
                    }
                }
                // No request is long: a line without an end in sight is dropped, not kept.
                if pending.len() > 4096 {
                    pending.clear();
                }
            }
            std::process::exit(0);
        })?;
    let mut system = SystemCollector::new(CollectOptions {
        include_connections: args.all,
        ..CollectOptions::default()
    });
    let mut encoder = Encoder::default();
    let mut out = std::io::stdout().lock();
    stream::write_message(
        &mut out,
        &Message::Hello {
            protocol: PROTOCOL,
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
    )?;
    let mut last_error: Option<String> = None;
    loop {
        match system.collect() {
            Ok(snapshot) => {
                last_error = None;
                if let Some(message) = encoder.next(snapshot) {
                    stream::write_message(&mut out, &message)?;
                }
            }
            Err(e) => {
                let e = e.to_string();
                if last_error.as_ref() != Some(&e) {
                    stream::write_message(&mut out, &Message::Error(e.clone()))?;
                    last_error = Some(e);
                }
            }
        }
        out.flush()?;
        // Sleep until the next collection, or collect at once in the mode just asked for.
        if let Ok(on) = asked.recv_timeout(Duration::from_secs_f64(args.interval)) {
            system.options.include_connections = on;
        }
    }
}

/// Remove the running executable and, when it is then empty, the `portscope.*` directory that
/// held it. The process keeps running from the open inode; nothing is left on disk.
fn unlink_self() {
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return;
    };
    if std::fs::remove_file(&exe).is_err() {
        return;
    }
    if let Some(dir) = exe.parent() {
        let ours = dir
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("portscope."));
        if ours {
            let _ = std::fs::remove_dir(dir); // only when empty
        }
    }
}
