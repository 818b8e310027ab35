//! How a process came to run: its ancestry (pid → parent → … → 1), each step's name, executable
//! and user, and the kind of session that started it (an SSH login, cron, tmux or screen, a
//! terminal shell, a process supervisor).
//!
//! It owns reading `/proc/PID/stat`, `exe`, `status` and `cmdline` along the chain; it must not
//! judge a process by the name it gives itself where the executable can tell (`comm` and argv
//! are the process's own claims). Interpreters (a supervisor written in Python, pm2 in Node)
//! can only be told by their command line, and the evidence says so.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{read_capped, Fact};
use crate::sockets::UserNames;
use crate::text::from_os_bytes;

/// A chain longer than this is a loop or a fork bomb, not a session.
const MAX_DEPTH: usize = 128;
const SMALL_CAP: u64 = 64 * 1024;

/// One process on the way up to init.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub pid: u32,
    /// comm: the process's own claim.
    pub name: String,
    /// `/proc/PID/exe`, when readable (" (deleted)" kept: it is what the kernel says).
    pub exe: Option<String>,
    pub uid: Option<u32>,
    pub user: Option<String>,
    /// It has a controlling terminal.
    pub has_tty: bool,
    /// argv, for interpreters' scripts (untrusted).
    #[serde(skip)]
    pub cmdline: Vec<String>,
}

/// What started the process, from its nearest telling ancestor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum SessionKind {
    /// An sshd ancestor: someone logged in over SSH started it.
    Ssh {
        sshd_pid: u32,
    },
    Cron {
        pid: u32,
    },
    Tmux {
        pid: u32,
    },
    Screen {
        pid: u32,
    },
    /// A process supervisor: supervisord, pm2, runit (runsv), s6 (s6-supervise), daemontools.
    Supervisor {
        name: String,
        pid: u32,
        evidence: Evidence,
    },
    /// A shell on a terminal, with no telling ancestor above it.
    Terminal {
        shell_pid: u32,
    },
    /// Started by init (pid 1) directly: a daemon or a service.
    Init,
    /// Its parent is not pid 1 and nothing on the way tells how it started.
    Other,
}

/// What a session kind was told from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evidence {
    /// The executable's file name (`/proc/PID/exe`).
    Executable,
    /// The command line of an interpreter (python, node, perl): the process's own claim.
    CommandLine,
}

/// Steps read before, by pid: reused while the process is the same (same start time and name,
/// so neither a reused pid nor an exec), which leaves one `stat` read per step on a refresh.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    steps: std::collections::HashMap<u32, (u64, Step)>,
}

/// Walk from `pid` up to 1. Returns the steps (starting with `pid`) and, when the chain stops
/// early, why.
pub(crate) fn chain(
    proc: &Path,
    pid: u32,
    users: &mut UserNames,
    seen: &mut Seen,
) -> (Vec<Step>, Option<String>) {
    if seen.steps.len() > 4096 {
        seen.steps.clear();
    }
    let mut steps: Vec<Step> = Vec::new();
    let mut next = pid;
    loop {
        if steps.len() >= MAX_DEPTH {
            return (
                steps,
                Some(format!("more than {MAX_DEPTH} ancestors: stopped")),
            );
        }
        if steps.iter().any(|s| s.pid == next) {
            return (
                steps,
                Some(format!(
                    "pid {next} appears twice: the processes changed while read"
                )),
            );
        }
        let dir = proc.join(next.to_string());
        let stat = match read_capped(&dir.join("stat"), SMALL_CAP) {
            Ok(bytes) => bytes,
            Err(why) => {
                let reason = if steps.is_empty() {
                    format!("the process is gone ({why})")
                } else {
                    format!("ancestor {next} exited while read ({why})")
                };
                return (steps, Some(reason));
            }
        };
        let Some((name, ppid, tty, started)) = parse_stat(&stat) else {
            return (steps, Some(format!("/proc/{next}/stat is malformed")));
        };
        if let Some((at, known)) = seen.steps.get(&next) {
            if *at == started && known.name == name {
                let mut step = known.clone();
                step.has_tty = tty != 0;
                steps.push(step);
                if next == 1 || ppid == 0 {
                    return (steps, None);
                }
                next = ppid;
                continue;
            }
        }
        let exe = std::fs::read_link(dir.join("exe"))
            .ok()
            .map(|p| from_os_bytes(p.as_os_str().as_encoded_bytes()));
        let uid = read_capped(&dir.join("status"), SMALL_CAP)
            .ok()
            .and_then(|s| {
                String::from_utf8_lossy(&s)
                    .lines()
                    .find_map(|l| l.strip_prefix("Uid:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            });
        let cmdline = read_capped(&dir.join("cmdline"), SMALL_CAP)
            .map(|b| {
                b.split(|&c| c == 0)
                    .filter(|a| !a.is_empty())
                    .take(4)
                    .map(from_os_bytes)
                    .collect()
            })
            .unwrap_or_default();
        let step = Step {
            pid: next,
            name,
            exe,
            uid,
            user: uid.and_then(|u| users.name(u)),
            has_tty: tty != 0,
            cmdline,
        };
        seen.steps.insert(next, (started, step.clone()));
        steps.push(step);
        if next == 1 || ppid == 0 {
            return (steps, None);
        }
        next = ppid;
    }
}

/// comm, ppid, tty_nr and start time from `/proc/PID/stat` (comm ends at the *last* `)`).
fn parse_stat(bytes: &[u8]) -> Option<(String, u32, i64, u64)> {
    let open = bytes.iter().position(|&b| b == b'(')?;
    let close = bytes.iter().rposition(|&b| b == b')')?;
    if close < open {
        return None;
    }
    let name = from_os_bytes(&bytes[open + 1..close]);
    let rest = std::str::from_utf8(bytes.get(close + 1..)?).ok()?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some((
        name,
        fields.get(1)?.parse().ok()?,
        fields.get(4)?.parse().ok()?,
        fields.get(19)?.parse().ok()?,
    ))
}

fn base_name(path: &str) -> &str {
    let path = path.strip_suffix(" (deleted)").unwrap_or(path);
    path.rsplit('/').next().unwrap_or(path)
}

fn is_interpreter(exe: &str) -> bool {
    let b = base_name(exe);
    ["python", "node", "nodejs", "perl", "ruby"]
        .iter()
        .any(|i| {
            b == *i
                || b.strip_prefix(i)
                    .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
        })
}

/// The kind of session, from the steps above the process itself (nearest first).
pub(crate) fn session_kind(steps: &[Step], broken: Option<&str>) -> Fact<SessionKind> {
    if steps.is_empty() {
        return Fact::Unknown(broken.unwrap_or("no process").to_string());
    }
    let mut shell = None;
    for step in &steps[1..] {
        let Some(exe) = step.exe.as_deref() else {
            if step.pid == 1 {
                break;
            }
            return Fact::Unknown(format!(
                "the executable of ancestor {} could not be read (run as root)",
                step.pid
            ));
        };
        let exe_name = base_name(exe);
        let kind = match exe_name {
            "sshd" => Some(SessionKind::Ssh { sshd_pid: step.pid }),
            "cron" | "crond" | "anacron" | "fcron" => Some(SessionKind::Cron { pid: step.pid }),
            "tmux" => Some(SessionKind::Tmux { pid: step.pid }),
            "screen" => Some(SessionKind::Screen { pid: step.pid }),
            "runsv" | "runsvdir" | "s6-supervise" | "s6-svscan" | "supervise" | "svscan"
            | "supervisord" => Some(SessionKind::Supervisor {
                name: exe_name.to_string(),
                pid: step.pid,
                evidence: Evidence::Executable,
            }),
            _ if is_interpreter(exe) => {
                // The script an interpreter runs: argv[1] (or argv[0] rewritten, as pm2 does).
                let script = step
                    .cmdline
                    .get(1)
                    .map(|s| base_name(s))
                    .unwrap_or_default();
                if script == "supervisord" {
                    Some(SessionKind::Supervisor {
                        name: "supervisord".into(),
                        pid: step.pid,
                        evidence: Evidence::CommandLine,
                    })
                } else if step
                    .cmdline
                    .first()
                    .is_some_and(|a| a.starts_with("PM2 ") || base_name(a) == "pm2")
                    || script == "pm2"
                {
                    Some(SessionKind::Supervisor {
                        name: "pm2".into(),
                        pid: step.pid,
                        evidence: Evidence::CommandLine,
                    })
                } else {
                    None
                }
            }
            "bash" | "sh" | "dash" | "zsh" | "fish" | "ksh" | "tcsh" | "csh" if step.has_tty => {
                shell.get_or_insert(step.pid);
                None
            }
            _ => None,
        };
        if let Some(kind) = kind {
            return Fact::Known(kind);
        }
    }
    if let Some(shell_pid) = shell {
        return Fact::Known(SessionKind::Terminal { shell_pid });
    }
    if let Some(why) = broken {
        return Fact::Unknown(why.to_string());
    }
    match steps.get(1) {
        Some(parent) if parent.pid == 1 => Fact::Known(SessionKind::Init),
        None if steps[0].pid == 1 => Fact::Known(SessionKind::Init),
        _ => Fact::Known(SessionKind::Other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(pid: u32, exe: &str, tty: bool) -> Step {
        Step {
            pid,
            name: base_name(exe).into(),
            exe: Some(exe.into()),
            uid: Some(0),
            user: None,
            has_tty: tty,
            cmdline: vec![exe.into()],
        }
    }

    #[test]
    fn nearest_telling_ancestor_wins() {
        let ssh = [
            step(50, "/usr/bin/python3.11", true),
            step(40, "/usr/bin/bash", true),
            step(30, "/usr/sbin/sshd", false),
            step(1, "/usr/lib/systemd/systemd", false),
        ];
        assert_eq!(
            session_kind(&ssh, None),
            Fact::Known(SessionKind::Ssh { sshd_pid: 30 })
        );
        let tmux = [
            step(50, "/usr/bin/x", true),
            step(41, "/usr/bin/bash", true),
            step(40, "/usr/bin/tmux", false),
            step(1, "/sbin/init", false),
        ];
        assert_eq!(
            session_kind(&tmux, None),
            Fact::Known(SessionKind::Tmux { pid: 40 })
        );
        let daemon = [
            step(50, "/usr/sbin/nginx", false),
            step(1, "/sbin/init", false),
        ];
        assert_eq!(session_kind(&daemon, None), Fact::Known(SessionKind::Init));
        let console = [
            step(50, "/x", true),
            step(40, "/usr/bin/zsh", true),
            step(1, "/sbin/init", false),
        ];
        assert_eq!(
            session_kind(&console, None),
            Fact::Known(SessionKind::Terminal { shell_pid: 40 })
        );
    }

    #[test]
    fn a_renamed_process_is_judged_by_its_executable() {
        let mut fake = step(30, "/usr/bin/python3.11", false);
        fake.name = "sshd".into(); // prctl(PR_SET_NAME) says sshd
        let chain = [step(50, "/x", false), fake, step(1, "/sbin/init", false)];
        assert_eq!(session_kind(&chain, None), Fact::Known(SessionKind::Other));
    }

    #[test]
    fn supervisors_in_interpreters_by_command_line() {
        let mut sup = step(30, "/usr/bin/python3", false);
        sup.cmdline = vec!["/usr/bin/python3".into(), "/usr/bin/supervisord".into()];
        let chain = [step(50, "/x", false), sup, step(1, "/sbin/init", false)];
        assert!(matches!(
            session_kind(&chain, None),
            Fact::Known(SessionKind::Supervisor {
                evidence: Evidence::CommandLine,
                ..
            })
        ));
    }

    #[test]
    fn stat_with_tty() {
        let stat = b"42 (a) b) S 7 42 42 34816 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12345 0";
        let (name, ppid, tty, started) = parse_stat(stat).unwrap();
        assert_eq!(
            (name.as_str(), ppid, tty, started),
            ("a) b", 7, 34816, 12345)
        );
        assert!(parse_stat(b"42 (x) S").is_none());
    }

    #[test]
    fn this_process_reaches_init() {
        let mut seen = Seen::default();
        let (steps, broken) = chain(
            Path::new("/proc"),
            std::process::id(),
            &mut UserNames::default(),
            &mut seen,
        );
        assert_eq!(steps[0].pid, std::process::id());
        assert!(broken.is_none(), "{broken:?}");
        assert_eq!(steps.last().unwrap().pid, 1);
        // Walked again from memory: the same chain.
        let again = chain(
            Path::new("/proc"),
            std::process::id(),
            &mut UserNames::default(),
            &mut seen,
        );
        assert_eq!(again.0, steps);
    }
}
