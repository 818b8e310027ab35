//! `portscope explain`. (Not built yet.)

use super::{CmdResult, Context, Failure};

pub fn run(_ctx: &Context, _args: &crate::cli::ExplainArgs) -> CmdResult {
    Err(Failure::Usage(
        "`portscope explain` is not built yet".into(),
    ))
}
