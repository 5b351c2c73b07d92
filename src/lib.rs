//! chatevict: find the Microsoft Teams chats that outsiders started with a
//! tenant's users in Unified Audit Log exports, and remove them from those
//! users' view through Microsoft Graph.
//!
//! The library is what the `chatevict` binary, the tests and the
//! benchmarks share; see `DESIGN.md` in the project for the layout.
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod emulator;
pub mod exit;
pub mod files;
pub mod graph;
pub mod journal;
pub mod sanitize;
pub mod triage;
pub mod tui;
pub mod ual;
