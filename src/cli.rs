//! Every command and flag, documented in one place (`cdnprobe help <command>` prints this).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "cdnprobe",
    version,
    about = "Drive a real Chromium through Jira/Confluence journeys, capture every exchange, and prove each CloudFront behavior goes Miss -> Hit.",
    long_about = None,
    after_help = "Exit codes: 0 all expectations met; 1 a check failed (a verdict or an error finding); 2 the tool could not do its job (bad input, Chromium missing, target unreachable)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Largest journey, behaviors file, distribution config or cookie file read (e.g. 8MiB,
    /// 512k): a bigger one is refused (exit 2) instead of read into memory. Default 8 MiB.
    #[arg(long, global = true, value_name = "SIZE", env = "CDNPROBE_MAX_CONFIG_SIZE", value_parser = crate::input::parse_size)]
    pub max_config_size: Option<u64>,

    /// Largest HAR file (`analyze`) or report.json (`diff`, `merge`) read, e.g. 4GiB: a bigger
    /// one is refused (exit 2). Default 2 GiB.
    #[arg(long, global = true, value_name = "SIZE", env = "CDNPROBE_MAX_CAPTURE_SIZE", value_parser = crate::input::parse_size)]
    pub max_capture_size: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run journeys in Chromium, capture, classify, verify, report. With no URL and no
    /// --scenario, runs the bundled Jira and Confluence journeys against an embedded lab.
    Run(RunArgs),
    /// Serve the embedded lab (an Atlassian-like origin behind a CloudFront-like edge) until Ctrl-C.
    Lab(LabArgs),
    /// Classify and diagnose a HAR file (Chrome/Firefox DevTools, Playwright, WebPageTest) without
    /// a browser: print the findings and write report.json. Exit 1 on an error finding.
    Analyze(AnalyzeArgs),
    /// Lint CloudFront behaviors without a browser: our TOML behaviors file, the JSON of
    /// `aws cloudfront get-distribution-config`, a CloudFormation template (YAML or JSON),
    /// Terraform (`.tf` files, or `terraform show -json`). Prints the findings (text, JSON, GitHub
    /// annotations or SARIF); exit 1 if any is an error or a warning, 0 if there are none or only
    /// infos, 2 if the file cannot be read.
    CheckConfig(CheckConfigArgs),
    /// Print the JSON Schema of report.json (the committed schema/report.schema.json).
    Schema,
    /// Compare two report.json files (UAT vs prod, before vs after): behavior verdicts, findings,
    /// headers and edge TTLs per URL path. Either side may be `last-good`: the newest good run
    /// of the other side's target in the history. Exit 1 on a regression (a behavior that was
    /// met now fails, a new error finding, a journey step that now fails), 0 otherwise, 2 on bad
    /// input.
    Diff(DiffArgs),
    /// Combine report.json files from several runs (regions, POPs) into one report that keeps
    /// each run's origin (`runs[]`, and `source` on every request and journey).
    Merge(MergeArgs),
    /// List the runs recorded in the history (every `run` and `analyze` appends one unless
    /// --no-history): id, start time, command, target, labels, verdict summary, report path.
    /// Exit 2 when the history is missing or damaged.
    History(HistoryArgs),
    /// Per behavior (and target and label set), its series over the recorded runs: hit ratio as
    /// a sparkline, verdicts, TTFB, and since when it has been met or failing; `--html FILE`
    /// also draws them as one self-contained page (inline SVG, no script). Exit 2 when the
    /// history is missing or damaged.
    Trend(TrendArgs),
}

/// Where the history is, for the commands that read it.
#[derive(Debug, Args, Clone)]
pub struct HistoryFileArg {
    /// The history store (SQLite) to read. Default: $CDNPROBE_HISTORY, else
    /// output/history.sqlite (where `run` and `analyze` record by default).
    #[arg(long = "history", value_name = "FILE", env = "CDNPROBE_HISTORY")]
    pub history: Option<PathBuf>,
}

impl HistoryFileArg {
    pub fn path(&self) -> PathBuf {
        self.history
            .clone()
            .unwrap_or_else(|| PathBuf::from(crate::history::DEFAULT_PATH))
    }
}

/// Recording a run (run and analyze): the history store and the labels that tag the run.
#[derive(Debug, Args, Clone, Default)]
pub struct RecordArgs {
    /// Append this run's summary (per behavior: verdict, hit ratio, loads, TTFB p50/p90/p99,
    /// edge errors; findings by id; target, labels, version, times, the report.json's path) to
    /// this SQLite history. Default: $CDNPROBE_HISTORY, else output/history.sqlite. Safe with concurrent runs; a history
    /// that cannot be written is a warning (the run and its report stand), never reset.
    #[arg(long = "history", value_name = "FILE", env = "CDNPROBE_HISTORY")]
    pub history: Option<PathBuf>,

    /// Do not record this run in the history (wins over --history and $CDNPROBE_HISTORY).
    #[arg(long = "no-history")]
    pub no_history: bool,

    /// Tag the run, e.g. `--label region=fra --label env=prod` (repeatable): kept in the
    /// history (`history`/`trend` filter on it). Names follow Prometheus' rule (letters, digits,
    /// `_`); `behavior`, `verdict`, `severity`, `finding`, `percentile`, `job`, `instance` are
    /// taken. Also the labels of every metric (`--metrics-file`) and the Pushgateway's grouping
    /// key (`--pushgateway`): keep them few and bounded (a region, not a URL).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<crate::history::Label>,

    /// Write the run's metrics to FILE (atomically) in the text format both Prometheus (0.0.4)
    /// and OpenMetrics read, for node_exporter's textfile collector (`*.prom` in its
    /// --collector.textfile.directory): per behavior pattern the verdict (one sample per verdict,
    /// 1 for the current one), expectation met, hit ratio, loads, hits, requests, TTFB p50/p90/p99
    /// and edge errors; findings by severity and by id; run success, exit code, duration and start
    /// time; each with the run's --label's. See README "History, trends and metrics".
    #[arg(long = "metrics-file", value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,

    /// Push the same metrics to a Prometheus Pushgateway: HTTP PUT to
    /// URL/metrics/job/cdnprobe/<label>/<value>... (the run's --label's are the grouping key, so
    /// each region replaces its own previous run). A push that fails is a warning; the run's
    /// result stands.
    #[arg(long, value_name = "URL", env = "CDNPROBE_PUSHGATEWAY", value_parser = crate::metrics::parse_pushgateway)]
    pub pushgateway: Option<url::Url>,
}

impl RecordArgs {
    pub(crate) fn history_path(&self) -> PathBuf {
        self.history
            .clone()
            .unwrap_or_else(|| PathBuf::from(crate::history::DEFAULT_PATH))
    }
}

#[derive(Debug, Args, Clone)]
pub struct TrendArgs {
    #[command(flatten)]
    pub history: HistoryFileArg,

    /// Only this behavior: its pattern as written (`'/s/*'`), or without the context path.
    #[arg(long, value_name = "PATTERN")]
    pub behavior: Option<String>,

    /// Runs started since: a span back from now (`30d`, `12h`, `2w`) or a date (`2026-11-01`).
    #[arg(long, value_name = "SPAN|DATE", default_value = "30d")]
    pub since: String,

    /// Only runs of this target (as `cdnprobe history` shows it).
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,

    /// Only runs with this label (repeatable: all must match), e.g. `--label region=fra`.
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<crate::history::Label>,

    /// Also write the series as a self-contained HTML page with a chart per series.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Print the series as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub history: HistoryFileArg,

    /// Only runs of this target (as the `target` column shows it).
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,

    /// Only runs with this label (repeatable: all must match).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<crate::history::Label>,

    /// Only runs started since: a span back from now (`30d`, `12h`, `2w`) or a date (`2026-11-01`).
    #[arg(long, value_name = "SPAN|DATE")]
    pub since: Option<String>,

    /// The newest N runs (listed oldest first).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,

    /// Print the runs (with their behaviors and findings) as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The distribution the captures are classified against (run and analyze).
#[derive(Debug, Args, Clone, Default)]
pub struct DistributionArgs {
    /// CloudFront behaviors: our TOML format (see src/cloudfront/load/mod.rs), or any format
    /// --distribution-config reads; default: the seed's seven behaviors (/s/*, avatars,
    /// /download/resources/*, robots.txt, favicon.ico, default).
    #[arg(long, value_name = "FILE")]
    pub behaviors: Option<PathBuf>,

    /// The distribution's configuration (instead of --behaviors): the JSON printed by `aws
    /// cloudfront get-distribution-config --id <ID>`, a CloudFormation template (YAML or JSON),
    /// Terraform `.tf` files (a file or a directory) or the JSON of `terraform show -json`.
    #[arg(long = "distribution-config", value_name = "FILE")]
    pub distribution_config: Option<PathBuf>,

    #[command(flatten)]
    pub input: ConfigInputArgs,

    /// The application's context path (e.g. /jira): prefixes the seed's patterns, and a TOML
    /// file's when it has no context_path of its own. A distribution config is taken as it is.
    #[arg(long = "context-path", value_name = "PATH")]
    pub context_path: Option<String>,

    /// The CDN host of the cdn-host topology (Jira's jira.fixed.cdn.prefix): requests to it are
    /// classified against the behaviors too. `host`, `host:port` or a URL; repeatable.
    #[arg(long = "cdn-host", value_name = "HOST")]
    pub cdn_hosts: Vec<String>,

    /// Response header that names the behavior that served each response (a response-headers
    /// policy with one value per behavior, e.g. X-Lab-Behavior). Shown beside the predicted
    /// behavior; a difference is a finding (`behavior-mismatch`).
    #[arg(long = "behavior-header", value_name = "NAME")]
    pub behavior_header: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct AnalyzeArgs {
    /// The HAR file to analyze.
    #[arg(value_name = "FILE.har")]
    pub file: PathBuf,

    #[command(flatten)]
    pub distribution: DistributionArgs,

    /// Output directory for report.json (default: output/<UTC timestamp>-<host>/).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Print report.json to stdout instead of the findings.
    #[arg(long)]
    pub json: bool,

    /// Print nothing; the exit code and report.json say it all.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Write cookies, tokens and passwords from the HAR in clear. Dangerous.
    #[arg(long)]
    pub keep_secrets: bool,

    #[command(flatten)]
    pub record: RecordArgs,
}

/// How a configuration file is read (check-config, --behaviors, --distribution-config).
#[derive(Debug, Args, Clone, Default)]
pub struct ConfigInputArgs {
    /// The configuration's format when its name and content do not say (`.tf` is Terraform,
    /// `.yaml`/`.yml`/`.template` CloudFormation, `.toml` ours; JSON is told apart by its keys).
    #[arg(long = "input-format", value_name = "FORMAT")]
    pub input_format: Option<crate::cloudfront::behavior::ConfigFormat>,

    /// A CloudFormation parameter or Terraform variable, `Name=Value` (repeatable). Without it a
    /// parameter takes its `Default` (a variable its `default`); one without a default is named
    /// in an error when a setting depends on it. Pseudo parameters too (`AWS::Region=eu-west-1`).
    #[arg(long = "parameter", value_name = "NAME=VALUE", value_parser = parse_parameter)]
    pub parameters: Vec<(String, String)>,

    /// Which distribution to model when the file declares several: the CloudFormation logical
    /// id, or the Terraform resource name or address (`cdn`, `aws_cloudfront_distribution.cdn`,
    /// `module.x.aws_cloudfront_distribution.this[0]` in a plan). Without it, a file with several
    /// is refused (exit 2) with their names.
    #[arg(long = "distribution", value_name = "NAME")]
    pub distribution: Option<String>,
}

fn parse_parameter(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not NAME=VALUE")),
    }
}

/// check-config's output formats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// The behaviors and the findings with their fixes, for people.
    #[default]
    Text,
    /// `{file, behaviors, findings}`.
    Json,
    /// GitHub Actions workflow commands (`::error file=...,line=...::`): annotations on the
    /// pull request's lines.
    Github,
    /// SARIF 2.1.0, for code scanning (github/codeql-action/upload-sarif).
    Sarif,
}

#[derive(Debug, Args, Clone)]
pub struct CheckConfigArgs {
    /// The configuration: our TOML behaviors file, `get-distribution-config` JSON, a
    /// CloudFormation template (YAML/JSON), Terraform `.tf` (a file or a directory of them) or
    /// `terraform show -json` output.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    #[command(flatten)]
    pub input: ConfigInputArgs,

    /// Output format: text, json, github (annotations), sarif.
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    pub format: CheckFormat,

    /// The context path the site really runs under (e.g. /jira): every pattern must include it.
    #[arg(long = "context-path", value_name = "PATH")]
    pub context_path: Option<String>,

    /// Print the findings as JSON (the same as --format json).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
pub struct DiffArgs {
    /// The baseline report.json (e.g. UAT, or before the change), or `last-good`: the report of
    /// the newest run in the history of B's target whose behaviors all met their expectations
    /// with no error finding (and whose report.json is still on disk; `./last-good` for a file
    /// of that name).
    #[arg(value_name = "A")]
    pub a: PathBuf,
    /// The report.json to compare with it (e.g. prod, or after the change), or `last-good` (of
    /// A's target).
    #[arg(value_name = "B")]
    pub b: PathBuf,
    /// The history `last-good` is looked up in.
    #[command(flatten)]
    pub history: HistoryFileArg,
    /// Print the differences as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
pub struct MergeArgs {
    /// report.json files, in the order their runs should be listed. A run is labelled by its
    /// output directory's name (or the file name).
    #[arg(value_name = "REPORT", required = true, num_args = 1..)]
    pub reports: Vec<PathBuf>,
    /// Write the merged run's files into this directory (report.json, capture.har, junit.xml,
    /// report.html, summary.md), or only report.json to a path ending in `.json`. Default: the
    /// merged report.json to stdout.
    #[arg(long, value_name = "DIR|FILE.json")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TopologyArg {
    /// The edge in front of everything (the seed's setup).
    Proxy,
    /// Atlassian DC's CDN feature: app on one host, static resources via the edge on another.
    CdnHost,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Base URL of the site to probe (e.g. https://jira.example.com). A bare URL with no
    /// --scenario is a one-step journey: open it and wait for the network to go idle.
    pub url: Option<String>,

    /// Journey file (TOML); repeat for several. Relative `goto`s resolve against URL.
    #[arg(long = "scenario", short = 's', value_name = "FILE")]
    pub scenarios: Vec<PathBuf>,

    /// Walk the journeys one after the other. By default they run side by side, each in its own
    /// browser context (its own cookies), which takes as long as the longest one.
    #[arg(long)]
    pub sequential: bool,

    /// Output directory (default: output/<UTC timestamp>-<host>/).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Chromium binary (default: $CHROME, then chromium / chromium-browser / google-chrome on PATH).
    #[arg(long, value_name = "PATH")]
    pub chrome: Option<PathBuf>,

    /// Per-step and per-command timeout, in seconds (1 to 86400: 0 would fail every step at once).
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub timeout: u64,

    /// No progress and no tables on stderr/stdout; the exit code and the files say it all.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Print report.json to stdout instead of the tables.
    #[arg(long)]
    pub json: bool,

    /// Also print the per-request table.
    #[arg(long, short = 'v')]
    pub verbose: bool,

    /// Write cookies, tokens and passwords in clear in every output. Dangerous: only for a
    /// throw-away environment.
    #[arg(long)]
    pub keep_secrets: bool,

    /// Accept invalid TLS certificates. Off by default: a TLS problem is a finding.
    #[arg(long)]
    pub insecure: bool,

    /// Start every journey with the cookies of this Netscape cookies.txt: a session made
    /// elsewhere, for SSO or 2-step logins that a journey cannot script.
    #[arg(long, value_name = "FILE")]
    pub cookie_file: Option<PathBuf>,

    /// Send this header with every browser request: 'Name: value'. Repeatable. Values may use
    /// ${ENV} so that a token never appears on the command line.
    #[arg(long = "header", short = 'H', value_name = "HEADER")]
    pub headers: Vec<String>,

    /// Lab only: switch on a fault (expires-now, alb-stickiness, no-cache-static, font-502,
    /// cors-missing, cors-first-origin, private-cached, bypass-static, query-buster,
    /// websocket-blocked, synchrony-no-stickiness). Repeatable.
    #[arg(long = "lab-fault", value_name = "NAME")]
    pub lab_faults: Vec<String>,

    /// Lab only: topology.
    #[arg(long = "lab-topology", value_enum, default_value_t = TopologyArg::Proxy)]
    pub lab_topology: TopologyArg,

    /// Lab only: which product versions the pages look like: `legacy` (Jira 9.12, Confluence
    /// 8.5: the legacy login forms) or `current` (Jira 10.3, Confluence 9.2: the newer login form,
    /// whose button only works once the page is ready).
    #[arg(long = "lab-version", value_name = "VERSION", default_value = "legacy")]
    pub lab_version: crate::lab::LabVersion,

    /// Lab only: a user's first login goes through the products' onboarding pages.
    #[arg(long = "lab-onboarding")]
    pub lab_onboarding: bool,

    #[command(flatten)]
    pub distribution: DistributionArgs,

    /// Skip Atlassian's CDN health check (GET <base>/rest/static-asset-caching/health-checks
    /// with the journey's cookies, run after the journeys).
    #[arg(long)]
    pub no_health_check: bool,

    /// Verification: loads per sampled URL after the journey's own (Miss -> Hit needs at least 1).
    #[arg(long, value_name = "K", default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=20))]
    pub repeat: u16,

    /// Verification: static URLs sampled per behavior (every distinct one up to N). Behaviors
    /// expected to bypass the cache also get up to 3 pages/REST calls, to catch cached private
    /// content.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..))]
    pub samples: u16,

    /// Verification: `replay` sends each sampled request again over HTTP with exactly the
    /// browser's headers and cookies (updated from each response, as a browser would); `browser`
    /// reloads the journeys' pages in Chromium. Only GET and HEAD are ever repeated.
    #[arg(long, value_enum, default_value_t = crate::verify::Mode::Replay)]
    pub mode: crate::verify::Mode,

    /// Verification: sampled URLs loaded at the same time (replay mode).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,

    /// Verification: at most this many requests in total (samples x repeats; in browser mode the
    /// reloaded pages' requests), so a smoke check never hammers production.
    #[arg(long, value_name = "N", default_value_t = 400, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_requests: u32,

    /// Verification: what a behavior must do, overriding its TTLs and the behaviors file
    /// (`'/s/*=hit'`, `'*=bypass'`; the pattern as written or with its context path). Repeatable.
    #[arg(long = "expect", value_name = "PATTERN=hit|bypass")]
    pub expects: Vec<crate::verify::ExpectRule>,

    /// Skip verification: journeys, classification and diagnosis only (no repeat loads).
    #[arg(long)]
    pub no_verify: bool,

    #[command(flatten)]
    pub record: RecordArgs,
}

impl RunArgs {
    /// The verification options these flags ask for.
    pub(crate) fn verify_options(&self) -> crate::verify::Options {
        crate::verify::Options {
            mode: self.mode,
            repeat: self.repeat as usize,
            samples: self.samples as usize,
            concurrency: self.concurrency as usize,
            max_requests: self.max_requests as usize,
            expects: self.expects.clone(),
            timeout: std::time::Duration::from_secs(self.timeout),
            insecure: self.insecure,
            ..Default::default()
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct LabArgs {
    /// Base port (Jira edge; the others follow). Default: ephemeral ports.
    #[arg(long)]
    pub port: Option<u16>,

    #[arg(long, value_enum, default_value_t = TopologyArg::Proxy)]
    pub topology: TopologyArg,

    /// Switch on a fault at start (see `run --lab-fault`). Repeatable.
    #[arg(long = "fault", value_name = "NAME")]
    pub faults: Vec<String>,

    /// CloudFront behaviors for the edge (our TOML, or any configuration check-config reads) instead
    /// of the seed's.
    #[arg(long, value_name = "FILE")]
    pub behaviors: Option<PathBuf>,

    #[command(flatten)]
    pub input: ConfigInputArgs,

    /// Serve the products under a context path (e.g. /jira).
    #[arg(long, value_name = "PATH")]
    pub context_path: Option<String>,

    /// Which product versions the pages look like (see `run --lab-version`).
    #[arg(long = "lab-version", value_name = "VERSION", default_value = "legacy")]
    pub version: crate::lab::LabVersion,

    /// A user's first login goes through the products' onboarding pages.
    #[arg(long)]
    pub onboarding: bool,
}
