//! `portscope list`. (Not built yet.)

use super::{CmdResult, Context, Failure};

pub fn run(_ctx: &Context, _args: &crate::cli::ListArgs) -> CmdResult {
    Err(Failure::Usage("`portscope list` is not built yet".into()))
}
