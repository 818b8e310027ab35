//! `portscope doctor`: what this run can see and why not, with the exact fix for each gap. Every
//! check reads the system as it is and changes nothing. The checks are the OS's own: on Linux
//! (`linux`) the uid, capabilities, the /proc mount in effect, namespaces and netlink, read
//! through the collector's own `/proc` reader so doctor and the owner scan cannot disagree; on
//! macOS and Windows (`other`) the privilege level and what the portable collector reads there.
//! This file owns the printing and the exit status: 1 when any check fails (naming them on
//! stderr), else 0 (warnings included).

use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;

use super::{CmdResult, Context};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One thing checked, what was found, and what to do about it.
#[derive(Debug, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub status: Status,
    pub detail: String,
    pub fix: Option<String>,
}

pub fn run(ctx: &Context) -> CmdResult {
    let checks = os::current();
    let mut out = io::stdout().lock();
    if ctx.json {
        crate::text::write_json(&mut out, &checks)?;
    } else {
        for c in &checks {
            let tag = match c.status {
                Status::Ok => "ok  ",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
            };
            writeln!(
                out,
                "{tag}  {:<10}  {}",
                c.check,
                crate::text::escape(&c.detail)
            )?;
            if let Some(fix) = &c.fix {
                writeln!(out, "{:18}fix: {fix}", "")?;
            }
        }
    }
    out.flush()?;
    match failed(&checks) {
        None => Ok(ExitCode::SUCCESS),
        Some(line) => {
            eprintln!("portscope: {line}");
            Ok(ExitCode::from(1))
        }
    }
}

/// "2 checks failed: proc, netlink", when any did.
fn failed(checks: &[Check]) -> Option<String> {
    let names: Vec<&str> = checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.check)
        .collect();
    match names.len() {
        0 => None,
        1 => Some(format!("doctor: 1 check failed: {}", names[0])),
        n => Some(format!("doctor: {n} checks failed: {}", names.join(", "))),
    }
}

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as os;
#[cfg(not(target_os = "linux"))]
mod other;
#[cfg(not(target_os = "linux"))]
use other as os;
