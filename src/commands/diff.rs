//! `portscope diff`. (Not built yet.)

use super::{CmdResult, Context, Failure};

pub fn run(_ctx: &Context, _args: &crate::cli::DiffArgs) -> CmdResult {
    Err(Failure::Usage("`portscope diff` is not built yet".into()))
}
