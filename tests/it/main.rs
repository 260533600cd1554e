//! The integration tests, one module per area, in one test binary (`cargo test --test it`): the
//! suite links against the crate once instead of once per file, and every module shares
//! `common`'s one Chromium. Run one area with `cargo test --test it report::`.

mod common;
mod report_fixture;

mod capture;
mod capture_ws;
mod cli;
mod deploy;
mod diagnose_cli;
mod diagnose_lab;
mod edge;
mod har_roundtrip;
mod history;
mod hostile;
mod journeys;
mod lab;
mod lab_versions;
mod layers;
mod limits;
mod metrics;
mod real_caches;
mod real_har;
mod report;
mod report_cli;
mod report_html;
mod robustness;
mod secrets;
mod tls;
mod verify;
