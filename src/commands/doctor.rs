//! `portscope doctor`. (Not built yet.)

use super::{CmdResult, Context, Failure};

pub fn run(_ctx: &Context) -> CmdResult {
    Err(Failure::Usage("`portscope doctor` is not built yet".into()))
}
