//! Exit codes shared by every command and the application.

/// Success.
pub const OK: u8 = 0;
/// Nothing could be done (no record loaded, …).
pub const FAILED: u8 = 1;
/// The command line was wrong.
pub const USAGE: u8 = 2;
/// A run finished, but some targets failed.
pub const SOME_FAILED: u8 = 3;
/// Cancelled (Ctrl-C, or the confirmation was not given).
pub const CANCELLED: u8 = 4;
