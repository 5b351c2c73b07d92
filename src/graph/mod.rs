//! Talking to Microsoft Graph and Entra ID: clouds, sign-in and the token
//! cache, the HTTP client, and the removal runner. Knows nothing of
//! terminals; the command line and the application sit on top.

pub mod audit;
pub mod auth;
pub mod cache;
pub mod check;
pub mod client;
pub mod cloud;
pub mod entra;
pub mod fetch;
pub mod http;
pub mod ids;
pub mod loopback;
pub mod pace;
pub mod prepare;
pub mod retry;
pub mod runner;
pub mod settings;
