//! Platforms without procfs: the collector describes its metrics and
//! reports none of them, and never fails.

use std::path::Path;

use super::{Emit, Failure};

pub(super) struct State;

/// This process's pid.
pub(super) fn own_pid() -> u32 {
    std::process::id()
}

impl State {
    pub(super) fn new() -> Self {
        Self
    }

    pub(super) fn collect(&mut self, _: &Path, _: u32, _: bool, _: &mut Emit<'_, '_, '_>) {}

    pub(super) fn open_fds(&mut self, _: &Path, _: u32) -> Result<u64, Failure> {
        Err(Failure::Unsupported)
    }
}
