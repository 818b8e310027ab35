//! `portscope snapshot`. (Not built yet.)

use super::{CmdResult, Context, Failure};

pub fn run(_ctx: &Context, _args: &crate::cli::SnapshotArgs) -> CmdResult {
    Err(Failure::Usage(
        "`portscope snapshot` is not built yet".into(),
    ))
}
