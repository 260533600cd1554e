//! The commands: one module per subcommand, each returning its exit code (uv's layout). This is
//! the only layer that reads the command line's types (`cli`): it turns flags into the library's
//! plain options ([`distribution`], [`check_config::load_options`]) and calls the pipeline's
//! stages below it, which never reach back up.

pub mod analyze;
pub(crate) mod check_config;
pub mod diff;
pub mod history;
pub mod lab;
pub mod merge;
pub mod publish;
pub mod run;
pub mod schema;

use crate::classify::Distribution;
use crate::cli::{self, DistributionArgs};
use crate::cloudfront::{BehaviorSet, load};
use crate::error::UserError;
use crate::exchange::host_port;

/// Run a parsed command line; returns the exit code. Errors are the caller's to print (exit 2).
pub async fn dispatch(cli: cli::Cli) -> anyhow::Result<i32> {
    crate::input::set_limits(crate::input::Limits {
        config: cli
            .max_config_size
            .unwrap_or(crate::input::DEFAULT_MAX_CONFIG_SIZE),
        capture: cli
            .max_capture_size
            .unwrap_or(crate::input::DEFAULT_MAX_CAPTURE_SIZE),
    });
    match cli.command {
        cli::Command::Run(args) => run::run(args).await,
        cli::Command::Analyze(args) => analyze::analyze(args).await,
        cli::Command::CheckConfig(args) => check_config::check_config(args),
        cli::Command::Lab(args) => lab::lab(args).await,
        cli::Command::Schema => Ok(schema::schema()),
        cli::Command::Diff(args) => diff::diff(&history::resolve_last_good(args)?),
        cli::Command::Merge(args) => merge::merge(&args),
        cli::Command::History(args) => history::history(&args),
        cli::Command::Trend(args) => history::trend(&args),
    }
}

/// Where a run's history and metrics go, from `--history`/`--no-history`, `--label`,
/// `--metrics-file` and `--pushgateway`.
pub fn recorder(
    args: &cli::RecordArgs,
    command: &'static str,
) -> Result<crate::history::Recorder, UserError> {
    let path = (!args.no_history).then(|| args.history_path());
    crate::history::Recorder::open(path.as_deref(), &args.labels, command)
}

/// `--cdn-host` takes `host`, `host:port` or a URL.
fn cdn_host(s: &str) -> String {
    let s = s.trim();
    if s.contains("://")
        && let Some(h) = url::Url::parse(s).ok().as_ref().and_then(host_port)
    {
        return h;
    }
    s.trim_end_matches('/').to_string()
}

/// The distribution of a command line (`--behaviors`, `--distribution-config`,
/// `--context-path`, `--cdn-host`, `--behavior-header`), serving `target_hosts` too.
///
/// Without a file: the seed's behaviors. `--context-path` prefixes the seed's patterns and a
/// TOML file's that has no `context_path` of its own; a distribution config's patterns are
/// CloudFront's own and are never rewritten (`check-config` reports a mismatch instead).
pub fn distribution(
    args: &DistributionArgs,
    target_hosts: impl IntoIterator<Item = String>,
) -> Result<Distribution, UserError> {
    let set = match (&args.behaviors, &args.distribution_config) {
        (Some(_), Some(_)) => {
            return Err(UserError::input(
                "--behaviors and --distribution-config both given",
                "pass one: our TOML behaviors file, or the JSON of `aws cloudfront get-distribution-config`",
            ));
        }
        (Some(file), None) | (None, Some(file)) => {
            let opts = check_config::load_options(&args.input);
            let set = load::from_file_with(file, &opts)?;
            // Only our TOML is written relative to a context path; a distribution's own
            // patterns are CloudFront's and are never rewritten.
            let ours = set
                .input
                .as_ref()
                .is_none_or(|i| i.format == crate::cloudfront::behavior::ConfigFormat::Toml);
            match &args.context_path {
                Some(cp) if set.context_path.is_empty() && ours => set.with_context_path(cp),
                _ => set,
            }
        }
        (None, None) => {
            let set = BehaviorSet::seed_default();
            match &args.context_path {
                Some(cp) => set.with_context_path(cp),
                None => set,
            }
        }
    };
    let mut hosts: Vec<String> = Vec::new();
    for h in target_hosts
        .into_iter()
        .chain(args.cdn_hosts.iter().map(|h| cdn_host(h)))
    {
        if !h.is_empty() && !hosts.iter().any(|x| x.eq_ignore_ascii_case(&h)) {
            hosts.push(h);
        }
    }
    let mut d = Distribution::new(set, hosts);
    d.cdn_hosts = args.cdn_hosts.iter().map(|h| cdn_host(h)).collect();
    d.behavior_header = args
        .behavior_header
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_string);
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> DistributionArgs {
        DistributionArgs::default()
    }

    #[test]
    fn from_args_defaults_to_the_seed_and_prefixes_the_context_path() {
        let d = distribution(&args(), ["jira.example.com".to_string()]).unwrap();
        assert_eq!(d.behaviors, BehaviorSet::seed_default());
        assert_eq!(d.hosts, ["jira.example.com"]);
        let a = DistributionArgs {
            context_path: Some("jira".into()),
            cdn_hosts: vec![
                "https://cdn.example.com/".into(),
                "static.example.com:8443".into(),
            ],
            behavior_header: Some(" X-Lab-Behavior ".into()),
            ..args()
        };
        let d = distribution(&a, ["jira.example.com".to_string()]).unwrap();
        assert_eq!(d.behaviors.effective_pattern(0), "/jira/s/*");
        assert_eq!(
            d.hosts,
            [
                "jira.example.com",
                "cdn.example.com",
                "static.example.com:8443"
            ]
        );
        assert_eq!(d.behavior_header.as_deref(), Some("X-Lab-Behavior"));
        let s = d
            .behavior_for("https://cdn.example.com/jira/s/x/batch.js")
            .unwrap();
        assert_eq!(s.pattern, "/jira/s/*");
    }

    #[test]
    fn from_args_loads_files_and_refuses_both() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let json = fixtures.join("distribution-config-seed.json");
        let a = DistributionArgs {
            distribution_config: Some(json.clone()),
            context_path: Some("/jira".into()),
            ..args()
        };
        let d = distribution(&a, []).unwrap();
        assert_eq!(
            d.behaviors.effective_pattern(0),
            "/s/*",
            "a distribution config is CloudFront's truth: never rewritten"
        );
        let dir = tempfile::tempdir().unwrap();
        let toml = dir.path().join("b.toml");
        std::fs::write(
            &toml,
            "[[behavior]]\npattern = \"/s/*\"\ncookies = \"none\"\n",
        )
        .unwrap();
        let a = DistributionArgs {
            behaviors: Some(toml.clone()),
            context_path: Some("/confluence".into()),
            ..args()
        };
        let d = distribution(&a, []).unwrap();
        assert_eq!(d.behaviors.effective_pattern(0), "/confluence/s/*");
        let both = DistributionArgs {
            behaviors: Some(toml),
            distribution_config: Some(json),
            ..args()
        };
        assert!(distribution(&both, []).is_err());
        let missing = DistributionArgs {
            distribution_config: Some(dir.path().join("nope.json")),
            ..args()
        };
        assert!(
            distribution(&missing, [])
                .unwrap_err()
                .to_string()
                .contains("get-distribution-config")
        );
    }
}
