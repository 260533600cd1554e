//! cdnprobe: drive a real Chromium through Jira/Confluence journeys, capture every exchange,
//! work out which CloudFront behavior served it, and prove whether each behavior goes Miss -> Hit.
//!
//! Pipeline (each stage a module whose output is plain data; later stages never reach back):
//! `scenario` -> `journey` (drives `browser`, which captures `Exchange`s) -> `classify` (one
//! `Record` per exchange) -> `diagnose` -> `verify` -> `report` -> `history`/`metrics`.
//! `cloudfront` is the one model of CloudFront (behaviors, patterns, TTL rules, cache key), used by
//! the lab's edge and by classification alike. `lab` is the embedded Atlassian-like origin + edge.
//! `commands` (one module per subcommand) is the only reader of `cli`'s flag types.
//!
//! Layers, bottom to top (tests/it/layers.rs fails on an import from a layer above):
//! `error`, `output`; `input`, `interrupt`, `exchange`; `redact`, `scenario`, `progress`;
//! `logging`, `auth`, `har`, `cloudfront`; `classify`, `browser`, `lab`; `journey`, `diagnose`;
//! `verify`; `report`; `history`; `metrics`; `cli`; `commands`. Network I/O lives in `browser`,
//! `verify`, `lab` and `commands` only.

pub(crate) mod auth;
pub mod browser;
pub mod classify;
pub mod cli;
pub mod cloudfront;
pub(crate) mod commands;
pub mod diagnose;
pub mod error;
pub mod exchange;
pub mod har;
pub mod history;
pub(crate) mod input;
pub(crate) mod interrupt;
pub mod journey;
pub mod lab;
pub mod logging;
pub mod metrics;
pub mod output;
pub mod progress;
pub mod redact;
pub mod report;
pub(crate) mod scenario;
pub mod verify;

pub use error::UserError;
pub use exchange::{Exchange, Failure, Headers, Timing};

pub use commands::dispatch;
