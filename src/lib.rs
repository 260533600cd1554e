//! cdnprobe: drive a real Chromium through Jira/Confluence journeys, capture every exchange,
//! work out which CloudFront behavior served it, and prove whether each behavior goes Miss -> Hit.
//!
//! Pipeline (each stage a module whose output is plain data; later stages never reach back):
//! `scenario` -> `browser` (capture `Exchange`s) -> `classify` -> `diagnose` -> `verify` -> `report`.
//! `cloudfront` is the one model of CloudFront (behaviors, patterns, TTL rules, cache key), used by
//! the lab's edge and by classification alike. `lab` is the embedded Atlassian-like origin + edge.

pub mod analyze;
pub mod auth;
pub mod browser;
pub mod check_config;
pub mod classify;
pub mod cli;
pub mod cloudfront;
pub mod diagnose;
pub mod error;
pub mod exchange;
pub mod har;
pub mod history;
pub mod input;
pub mod interrupt;
pub mod lab;
pub mod logging;
pub mod metrics;
pub mod redact;
pub mod report;
pub mod run;
pub mod scenario;
pub mod verify;

pub use error::UserError;
pub use exchange::{Exchange, Failure, Headers, Timing};

/// Run a parsed command line; returns the exit code. Errors are the caller's to print (exit 2).
pub async fn dispatch(cli: cli::Cli) -> anyhow::Result<i32> {
    input::set_limits(input::Limits {
        config: cli
            .max_config_size
            .unwrap_or(input::DEFAULT_MAX_CONFIG_SIZE),
        capture: cli
            .max_capture_size
            .unwrap_or(input::DEFAULT_MAX_CAPTURE_SIZE),
    });
    match cli.command {
        cli::Command::Run(args) => run::run(args).await,
        cli::Command::Analyze(args) => analyze::analyze(args).await,
        cli::Command::CheckConfig(args) => check_config::check_config(args),
        cli::Command::Lab(args) => {
            let behaviors = match &args.behaviors {
                Some(f) => Some(cloudfront::load::from_file_with(
                    f,
                    &check_config::load_options(&args.input),
                )?),
                None => None,
            };
            lab::serve_forever(lab::LabOptions {
                port: args.port,
                topology: match args.topology {
                    cli::TopologyArg::Proxy => lab::Topology::Proxy,
                    cli::TopologyArg::CdnHost => lab::Topology::CdnHost,
                },
                faults: run::parse_faults(&args.faults)?,
                behaviors,
                context_path: args.context_path.clone(),
                version: args.version,
                onboarding: args.onboarding,
                ..Default::default()
            })
            .await?;
            Ok(error::exit::OK)
        }
        cli::Command::Schema => Ok(report::commands::schema()),
        cli::Command::Diff(args) => report::commands::diff(&history::resolve_last_good(args)?),
        cli::Command::Merge(args) => report::commands::merge(&args),
        cli::Command::History(args) => history::history(&args),
        cli::Command::Trend(args) => history::trend(&args),
    }
}
