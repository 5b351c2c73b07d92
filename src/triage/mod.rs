//! Turning records into decisions: which chats are external, which home
//! users they reach, and what to remove. Pure: no terminal, network or
//! async code.

pub mod chats;
pub mod external;
pub mod index;
pub mod order;
pub mod plan;
pub mod query;
pub mod reasons;
