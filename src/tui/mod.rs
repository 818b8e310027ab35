//! The full-screen explorer. (Built by the TUI work.)

use crate::commands::{CmdResult, Context, Failure};

pub fn run_live(_ctx: &Context, _interval: f64) -> CmdResult {
    Err(Failure::Usage(
        "the full-screen explorer is not built yet; use `portscope lookup`, `portscope search` or `portscope list`".into(),
    ))
}
