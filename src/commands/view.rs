//! `portscope view`. (Not built yet.)

use super::{CmdResult, Context, Failure};

pub fn run(_ctx: &Context, _args: &crate::cli::ViewArgs) -> CmdResult {
    Err(Failure::Usage("`portscope view` is not built yet".into()))
}
