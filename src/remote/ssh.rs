//! The local half of `portscope ssh`: one `ssh` process (the user's own binary, so their config,
//! keys, agent and jump hosts apply) running [`SCRIPT`] on the remote host, which either starts a
//! compatible remote portscope or receives this binary over the same connection into a private
//! temporary directory. The collector's stream is read on a thread into a [`Mirror`], and
//! [`RemoteCollector`] hands its state to the explorer like any other collector.
//!
//! Owns the ssh process and the handshake; must not judge sockets (registry, known uses and hints
//! are applied by the caller, locally) nor touch the terminal.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::stream::{Mirror, HEARTBEAT_SECS, PROTOCOL};
use crate::sockets::{CollectError, Collector, Snapshot};
use crate::text::escape;

/// The remote script, one statement per line (see its header).
const SCRIPT: &str = include_str!("script.sh");

/// No stream line is longer than this: a snapshot of 100,000 connections is about 50 MB.
const MAX_LINE: u64 = 256 << 20;
/// Lines a login shell may print before the script speaks (a chatty `.bashrc`) that are skipped.
const MAX_NOISE_LINES: usize = 200;

/// Where and how to collect.
#[derive(Debug, Clone)]
pub struct Target {
    /// `[USER@]HOST`, as given to ssh.
    pub destination: String,
    /// Options for ssh, placed before ours so that they win (ssh keeps the first value).
    pub ssh_options: Vec<String>,
    /// The `ssh` program.
    pub ssh: PathBuf,
    pub sudo: bool,
    /// Always send `binary`, even when the remote has a compatible portscope.
    pub force_upload: bool,
    /// The binary to send (this one by default).
    pub binary: PathBuf,
    /// Seconds between collections on the remote side.
    pub interval: f64,
    pub include_connections: bool,
}

/// Why connecting failed, worded for the user: what happened and what to do.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{0}")]
    Connect(String),
    #[error("cannot start ssh ({0}): install the OpenSSH client (`ssh` must be on PATH)")]
    NoSsh(std::io::Error),
}

/// What the handshake learned, for the caller to tell the user.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// Where this binary was copied to, when it was.
    pub uploaded_to: Option<String>,
}

/// What the reader thread shares with the collector.
struct Shared {
    mirror: Mirror,
    /// When the last line arrived, on this machine's clock.
    heard: Instant,
    heard_epoch: u64,
    /// Why the stream ended, once it has.
    lost: Option<String>,
}

struct Connection {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// Disconnects when the stderr reader has read ssh's stderr to its end.
    stderr_done: Option<std::sync::mpsc::Receiver<()>>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Closing stdin ends the remote collector (it exits on EOF) and lets the remote script
        // remove its directory; ssh then exits by itself. Kill it if it does not.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A live remote host as a [`Collector`]: `collect` returns the latest state the stream brought,
/// never waiting on the network.
pub struct RemoteCollector {
    target: Target,
    shared: Arc<Mutex<Shared>>,
    connection: Option<Connection>,
    /// Every-socket mode was just switched (`a`): to what, and when. The next collection waits a
    /// little for the remote state in that mode rather than return the old one.
    switching: Option<(bool, Instant)>,
    pub session: Session,
}

impl RemoteCollector {
    /// Connect, run the collector there and wait for its first snapshot. ssh may prompt on the
    /// terminal (a passphrase, a new host key) meanwhile.
    pub fn connect(target: Target) -> Result<RemoteCollector, RemoteError> {
        let shared = Arc::new(Mutex::new(Shared {
            mirror: Mirror::default(),
            heard: Instant::now(),
            heard_epoch: now_epoch(),
            lost: None,
        }));
        let mut collector = RemoteCollector {
            target,
            shared,
            connection: None,
            switching: None,
            session: Session::default(),
        };
        collector.start(false)?;
        Ok(collector)
    }

    fn start(&mut self, batch: bool) -> Result<(), RemoteError> {
        self.connection = None; // ends the old ssh first
        let mut child = self.command(batch).spawn().map_err(RemoteError::NoSsh)?;
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let stderr_done = child
            .stderr
            .take()
            .map(|err| spawn_stderr_reader(err, Arc::clone(&stderr)));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().map(BufReader::new);
        let mut connection = Connection {
            child,
            stdin,
            stderr,
            stderr_done,
        };
        let Some(mut stdout) = stdout else {
            return Err(RemoteError::Connect("ssh gave no output pipe".into()));
        };
        let mirror = match self.handshake(&mut connection, &mut stdout) {
            Ok(mirror) => mirror,
            Err(problem) => {
                drop(connection.stdin.take());
                let status = connection.child.wait().ok();
                // ssh has exited, but its last words may still be in the pipe: let the reader
                // take them (a ProxyCommand that inherited the pipe could hold it open: not
                // forever).
                if let Some(done) = &connection.stderr_done {
                    let _ = done.recv_timeout(Duration::from_secs(2));
                }
                let stderr = connection
                    .stderr
                    .lock()
                    .map(|e| e.clone())
                    .unwrap_or_default();
                return Err(RemoteError::Connect(explain_failure(
                    &self.target.destination,
                    &problem,
                    status.and_then(|s| s.code()),
                    &stderr,
                )));
            }
        };
        {
            let mut shared = lock(&self.shared);
            shared.mirror = mirror;
            shared.heard = Instant::now();
            shared.heard_epoch = now_epoch();
            shared.lost = None;
        }
        spawn_stream_reader(
            stdout,
            Arc::clone(&self.shared),
            Arc::clone(&connection.stderr),
        );
        self.connection = Some(connection);
        Ok(())
    }

    fn command(&self, batch: bool) -> Command {
        let t = &self.target;
        let mut cmd = Command::new(&t.ssh);
        cmd.args(&t.ssh_options);
        if batch {
            // A reconnect happens under the explorer: no prompt could be answered there.
            cmd.args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=15"]);
        }
        // Notice a dead network within a minute; the user's own settings come first and win.
        cmd.args([
            "-o",
            "ServerAliveInterval=15",
            "-o",
            "ServerAliveCountMax=4",
        ]);
        cmd.arg("-T").arg("--").arg(&t.destination);
        cmd.arg(remote_command(t));
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Probe the remote, upload when needed, and read up to the first snapshot. The error is a
    /// short description of what went wrong; ssh's own stderr is added by the caller.
    fn handshake(
        &mut self,
        connection: &mut Connection,
        stdout: &mut BufReader<ChildStdout>,
    ) -> Result<Mirror, String> {
        let destination = escape(&self.target.destination).into_owned();
        let mut line = Vec::new();
        let mut noise = 0;
        let probe = loop {
            if !read_line(stdout, &mut line).map_err(|e| e.to_string())? {
                return Err(String::new()); // ssh ended: its stderr says why
            }
            let text = String::from_utf8_lossy(&line);
            if let Some(rest) = text.strip_prefix("PORTSCOPE-ERROR ") {
                return Err(script_error(&destination, rest.trim()));
            }
            if let Some(rest) = text.strip_prefix("PORTSCOPE-PROBE ") {
                break rest.trim().to_string();
            }
            noise += 1;
            if noise > MAX_NOISE_LINES {
                return Err(format!(
                    "{destination} printed {MAX_NOISE_LINES} lines without starting the script: does its shell profile print to standard output?"
                ));
            }
        };
        let fields: Vec<&str> = probe.split(' ').collect();
        let (os, arch, found) = match fields[..] {
            [os, arch, found] => (os, arch, found == "1"),
            _ => {
                return Err(format!(
                    "{destination} answered the probe oddly: {}",
                    escape(&probe)
                ))
            }
        };
        let stdin = connection.stdin.as_mut().ok_or("ssh's input is closed")?;
        let write_err = |e: std::io::Error| format!("cannot write to ssh: {e}");
        if found && !self.target.force_upload {
            stdin.write_all(b"use\n").map_err(write_err)?;
        } else {
            check_platform(&destination, os, arch)?;
            let binary = std::fs::read(&self.target.binary).map_err(|e| {
                format!(
                    "cannot read {} to send it: {e}",
                    escape(&self.target.binary.display().to_string())
                )
            })?;
            writeln!(stdin, "upload {}", binary.len()).map_err(write_err)?;
            stdin.flush().map_err(write_err)?;
            let dir = loop {
                if !read_line(stdout, &mut line).map_err(|e| e.to_string())? {
                    return Err(String::new());
                }
                let text = String::from_utf8_lossy(&line);
                if let Some(rest) = text.strip_prefix("PORTSCOPE-ERROR ") {
                    return Err(script_error(&destination, rest.trim()));
                }
                if let Some(dir) = text.strip_prefix("PORTSCOPE-READY ") {
                    break dir.trim().to_string();
                }
            };
            stdin.write_all(&binary).map_err(write_err)?;
            stdin.flush().map_err(write_err)?;
            self.session.uploaded_to = Some(format!("{destination}:{}", escape(&dir)));
        }
        // The collector's stream: a hello, then the first snapshot.
        let mut mirror = Mirror::default();
        loop {
            if !read_line(stdout, &mut line).map_err(|e| e.to_string())? {
                return Err(String::new());
            }
            let text = String::from_utf8_lossy(&line);
            if let Some(rest) = text.strip_prefix("PORTSCOPE-ERROR ") {
                return Err(script_error(&destination, rest.trim()));
            }
            mirror.apply_line(&line).map_err(|e| e.to_string())?;
            if mirror.snapshot().is_some() {
                return Ok(mirror);
            }
        }
    }
}

impl Collector for RemoteCollector {
    fn collect(&mut self) -> Result<Snapshot, CollectError> {
        if let Some((on, since)) = self.switching.take() {
            // Runs on the explorer's collector thread, never the UI's: waiting here is fine.
            let patience = Duration::from_secs_f64(2.0 * self.target.interval + 5.0);
            loop {
                {
                    let shared = lock(&self.shared);
                    if shared.mirror.includes_connections() == Some(on)
                        || shared.lost.is_some()
                        || since.elapsed() > patience
                    {
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let shared = lock(&self.shared);
        let host = escape(&self.target.destination);
        if let Some(why) = &shared.lost {
            return Err(CollectError::Failed(format!(
                "connection to {host} lost — press r to retry ({why})"
            )));
        }
        let silent = shared.heard.elapsed();
        let patience = Duration::from_secs_f64(3.0 * HEARTBEAT_SECS as f64 + self.target.interval);
        if silent > patience {
            return Err(CollectError::Failed(format!(
                "no word from {host} for {}s — press r to retry (the network may be down)",
                silent.as_secs()
            )));
        }
        if let Some(e) = &shared.mirror.remote_error {
            return Err(CollectError::Failed(format!("on {host}: {e}")));
        }
        let mut snapshot = shared
            .mirror
            .snapshot()
            .ok_or_else(|| CollectError::Failed(format!("no snapshot from {host} yet")))?;
        // The age shown is how long ago this side last heard the state confirmed, on this
        // machine's clock: a skewed remote clock must not make fresh data look old.
        snapshot.host.taken_at = shared.heard_epoch;
        Ok(snapshot)
    }

    fn retry(&mut self) {
        let stale = {
            let shared = lock(&self.shared);
            shared.lost.is_some()
                || shared.heard.elapsed()
                    > Duration::from_secs_f64(3.0 * HEARTBEAT_SECS as f64 + self.target.interval)
        };
        if !stale {
            return;
        }
        if let Err(e) = self.start(true) {
            lock(&self.shared).lost = Some(e.to_string());
        }
    }

    /// Tell the remote collector to include connections or not (a line on its standard input;
    /// see `stream`). A reconnect starts in the mode asked for last.
    fn include_connections(&mut self, on: bool) {
        self.target.include_connections = on;
        let Some(stdin) = self.connection.as_mut().and_then(|c| c.stdin.as_mut()) else {
            return;
        };
        let line = super::stream::connections_request(on);
        if stdin
            .write_all(line.as_bytes())
            .and_then(|()| stdin.flush())
            .is_ok()
        {
            self.switching = Some((on, Instant::now()));
        }
    }
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    // A panic on the reader thread leaves plain data behind; keep using it.
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `sh -c '<script>' portscope ARGS…`, as one string for the remote user's shell (any shell that
/// understands single quotes: sh, bash, zsh, fish, csh).
fn remote_command(t: &Target) -> String {
    let script: Vec<&str> = SCRIPT
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let script = script.join(" ");
    debug_assert!(!script.contains('\''));
    format!(
        "sh -c '{script}' portscope {} {} {} '{}' {PROTOCOL}",
        u8::from(t.sudo),
        t.interval,
        u8::from(t.force_upload),
        if t.include_connections { "--all" } else { "" },
    )
}

/// Read one line (without its newline) into `line`; `false` at the end of the stream.
fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<bool> {
    line.clear();
    let n = reader.take(MAX_LINE).read_until(b'\n', line)?;
    if n == 0 {
        return Ok(false);
    }
    if line.last() != Some(&b'\n') && n as u64 >= MAX_LINE {
        return Err(std::io::Error::other("a stream line is longer than 256 MB"));
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    Ok(true)
}

fn spawn_stream_reader(
    mut stdout: BufReader<ChildStdout>,
    shared: Arc<Mutex<Shared>>,
    stderr: Arc<Mutex<Vec<u8>>>,
) {
    let _ = std::thread::Builder::new()
        .name("ssh-stream".into())
        .spawn(move || {
            let mut line = Vec::new();
            let why = loop {
                match read_line(&mut stdout, &mut line) {
                    Ok(true) => {}
                    Ok(false) => {
                        // Give the stderr reader a moment to take ssh's last words.
                        std::thread::sleep(Duration::from_millis(200));
                        let err = stderr.lock().map(|e| e.clone()).unwrap_or_default();
                        break last_line(&err).unwrap_or_else(|| "the stream ended".into());
                    }
                    Err(e) => break e.to_string(),
                }
                let mut shared = lock(&shared);
                if let Err(e) = shared.mirror.apply_line(&line) {
                    break e.to_string();
                }
                shared.heard = Instant::now();
                shared.heard_epoch = now_epoch();
            };
            lock(&shared).lost = Some(why);
        });
}

/// Keep the last 16 KB of ssh's stderr, to explain a failure. The receiver disconnects once
/// the stderr has been read to its end.
fn spawn_stderr_reader(
    mut err: impl Read + Send + 'static,
    keep: Arc<Mutex<Vec<u8>>>,
) -> std::sync::mpsc::Receiver<()> {
    let (done, ended) = std::sync::mpsc::channel::<()>();
    let _ = std::thread::Builder::new()
        .name("ssh-stderr".into())
        .spawn(move || {
            let _done = done; // dropped when this thread ends
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    return;
                }
                let mut kept = keep
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                kept.extend_from_slice(&buf[..n]);
                let excess = kept.len().saturating_sub(16 << 10);
                kept.drain(..excess);
            }
        });
    ended
}

fn last_line(bytes: &[u8]) -> Option<String> {
    let text = crate::text::from_os_bytes(bytes);
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| escape(l).into_owned())
}

/// The remote must run this binary: Linux on the same architecture.
fn check_platform(destination: &str, os: &str, arch: &str) -> Result<(), String> {
    let here = std::env::consts::ARCH;
    let same_arch = arch == here || (here == "aarch64" && arch == "arm64");
    if os == "Linux" && same_arch {
        return Ok(());
    }
    Err(format!(
        "{destination} runs {} on {}, and this portscope is a Linux {here} binary: install a portscope built for it there (it is then used), or build one for it and pass --binary FILE",
        escape(os),
        escape(arch)
    ))
}

/// A `PORTSCOPE-ERROR` line from the script, in words.
fn script_error(destination: &str, code: &str) -> String {
    let (kind, detail) = code.split_once(' ').unwrap_or((code, ""));
    match kind {
        "no-sudo" => format!("sudo is not installed on {destination}: run without --sudo (owners of other users' sockets stay hidden), or install sudo there"),
        "sudo-password" => format!(
            "sudo on {destination} wants a password (or this user may not use sudo there), and portscope runs it with -n: allow it without a password (a NOPASSWD sudoers rule), or run without --sudo"
        ),
        "notemp" => {
            let tried = detail
                .split(' ')
                .filter(|t| !t.is_empty())
                .map(|t| match t.split_once('=') {
                    Some((dir, "noexec")) => format!("{} is mounted noexec", escape(dir)),
                    Some((dir, _)) => format!("{} is not writable", escape(dir)),
                    None => escape(t).into_owned(),
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!("no directory on {destination} can hold and run the collector ({tried}): install portscope on its PATH (it is used instead), or set XDG_RUNTIME_DIR there to an exec-mounted directory")
        }
        "short" => format!("the copy of portscope sent to {destination} arrived incomplete ({} bytes): the connection broke; try again", escape(detail)),
        _ => format!("{destination}: {}", escape(code)),
    }
}

/// ssh ended before the stream began: say why, and what to do.
fn explain_failure(destination: &str, problem: &str, code: Option<i32>, stderr: &[u8]) -> String {
    let destination = escape(destination);
    if !problem.is_empty() {
        return problem.to_string();
    }
    let text = crate::text::from_os_bytes(stderr);
    let said = last_line(stderr).unwrap_or_default();
    let has = |s: &str| text.contains(s);
    if has("Could not resolve hostname") {
        format!("cannot resolve {destination}: check the name, or its HostName in your ssh config ({said})")
    } else if has("Connection refused")
        || has("timed out")
        || has("No route to host")
        || has("Network is unreachable")
        || has("Connection closed by") && code == Some(255) && !has("Permission denied")
    {
        format!("{destination} is unreachable ({said}): check that it is up and runs sshd; `ssh -v {destination}` shows more")
    } else if has("Permission denied") || has("Too many authentication failures") {
        format!("authentication to {destination} failed ({said}): check that `ssh {destination}` works on its own (load your key into ssh-agent, or pass -- -i KEY)")
    } else if has("Host key verification failed") || has("REMOTE HOST IDENTIFICATION HAS CHANGED") {
        format!("{destination}'s host key is unknown or has changed: connect once with `ssh {destination}` to check and accept it")
    } else if code == Some(255) {
        format!("ssh to {destination} failed: {said}")
    } else if said.is_empty() {
        format!(
            "the collector on {destination} ended before sending anything (exit status {})",
            code.map_or("unknown".into(), |c| c.to_string())
        )
    } else {
        format!("the collector on {destination} failed: {said}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            destination: "db1".into(),
            ssh_options: vec![],
            ssh: "ssh".into(),
            sudo: false,
            force_upload: false,
            binary: "/bin/true".into(),
            interval: 2.0,
            include_connections: false,
        }
    }

    #[test]
    fn the_remote_command_is_one_line_that_sh_parses() {
        let cmd = remote_command(&target());
        assert!(!cmd.contains('\n'), "{cmd}");
        let script = cmd
            .strip_prefix("sh -c '")
            .and_then(|c| c.split_once('\'').map(|p| p.0))
            .unwrap();
        let status = Command::new("sh")
            .arg("-n")
            .arg("-c")
            .arg(script)
            .status()
            .unwrap();
        assert!(status.success(), "sh -n rejects the script: {script}");
    }

    #[test]
    fn failures_say_what_to_do() {
        let unreachable = explain_failure(
            "db1",
            "",
            Some(255),
            b"ssh: connect to host db1 port 22: Connection refused\r\n",
        );
        assert!(
            unreachable.contains("unreachable") && unreachable.contains("sshd"),
            "{unreachable}"
        );
        let auth = explain_failure(
            "db1",
            "",
            Some(255),
            b"root@db1: Permission denied (publickey).\n",
        );
        assert!(
            auth.contains("authentication") && auth.contains("ssh-agent"),
            "{auth}"
        );
        let dns = explain_failure(
            "nope",
            "",
            Some(255),
            b"ssh: Could not resolve hostname nope: Name or service not known\n",
        );
        assert!(dns.contains("cannot resolve nope"), "{dns}");
        let mac = check_platform("mac", "Darwin", "arm64").unwrap_err();
        assert!(mac.contains("Darwin") && mac.contains("--binary"), "{mac}");
        assert!(check_platform("h", "Linux", std::env::consts::ARCH).is_ok());
        let noexec = script_error("h", "notemp /tmp=noexec /var/tmp=not-writable");
        assert!(
            noexec.contains("/tmp is mounted noexec")
                && noexec.contains("/var/tmp is not writable"),
            "{noexec}"
        );
        assert!(script_error("h", "sudo-password").contains("NOPASSWD"));
    }
}
