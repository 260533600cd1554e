//! `cdnprobe run`: journeys -> capture -> classify -> report, with the exit code of DESIGN.md.
//! The journeys themselves are driven by `journey`; the report is built by `report::build`.
//!
//! The report is rewritten after every journey and on Ctrl-C, SIGTERM or SIGHUP (see
//! `interrupt`), so an interrupted or crashed run still leaves what it captured on disk (marked
//! `partial`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use crate::browser::{Browser, BrowserOptions};
use crate::classify::Distribution;
use crate::cli::RunArgs;
use crate::error::UserError;
use crate::exchange::Exchange;
use crate::journey::{Journey, bundled_journeys, capture_journeys};
use crate::output::{to_stderr, to_stdout};
use crate::progress::Progress;
use crate::redact::Redactor;
use crate::report::build::{build_report, build_report_redacted};
use crate::report::{self};
use crate::scenario::Scenario;

/// Resolve the CLI's URL and --scenario files into journeys (no lab here).
pub(crate) fn journeys_from_args(args: &RunArgs) -> Result<Vec<Journey>, UserError> {
    let mut out = Vec::new();
    if args.scenarios.is_empty() {
        if let Some(url) = &args.url {
            check_url(url)?;
            out.push(Journey::new(Scenario::for_url(url), url.clone()));
        }
        return Ok(out);
    }
    for file in &args.scenarios {
        let scenario = Scenario::from_file(file)?;
        // Every variable the file uses must be set (or have a default) before anything starts.
        scenario.check_vars(&HashMap::new())?;
        let base_url = match &args.url {
            Some(u) => Some(u.clone()),
            None => scenario.resolved_base_url(&HashMap::new())?,
        };
        let base_url = base_url.ok_or_else(|| {
            UserError::input(
                format!("{}: no base URL", file.display()),
                "pass the site's URL: cdnprobe run https://jira.example.com --scenario FILE",
            )
        })?;
        check_url(&base_url)?;
        out.push(Journey::new(scenario, base_url));
    }
    Ok(out)
}

fn check_url(url: &str) -> Result<(), UserError> {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err(UserError::input(
            format!("`{url}` is not an http(s) URL"),
            "write a full URL such as https://jira.example.com or http://127.0.0.1:8080/",
        )),
    }
}

/// `output/<UTC timestamp>-<host>/`.
pub(crate) fn default_out_dir(started: chrono::DateTime<chrono::Utc>, host: &str) -> PathBuf {
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from("output").join(format!("{}-{host}", started.format("%Y%m%dT%H%M%SZ")))
}

/// What a run probes: its journeys, the variables they read, the distributions serving them,
/// and the lab when the run started one.
pub(crate) struct Target {
    pub label: String,
    pub host: String,
    pub journeys: Vec<Journey>,
    pub vars: HashMap<String, String>,
    pub dists: Vec<Distribution>,
    pub lab: Option<crate::lab::Lab>,
    pub notes: Vec<String>,
}

/// Parse `--lab-fault` names, naming the known ones when one is wrong.
pub(crate) fn parse_faults(names: &[String]) -> Result<Vec<crate::lab::Fault>, UserError> {
    names
        .iter()
        .map(|n| {
            n.parse::<crate::lab::Fault>().map_err(|e| {
                UserError::input(
                    e.to_string(),
                    "pass one of the known names, e.g. --lab-fault alb-stickiness",
                )
            })
        })
        .collect()
}

/// Start the embedded lab and point the bundled journeys at it.
pub(crate) async fn lab_target(args: &RunArgs) -> anyhow::Result<Target> {
    use crate::lab::{LabOptions, Product, Topology};
    let faults = parse_faults(&args.lab_faults)?;
    // --behaviors / --distribution-config configure the lab's own edge (so a configuration can
    // be tried out before it is deployed), and classification then uses the same set. The
    // context path goes to the lab, which serves both products under it and prefixes the set.
    let behaviors = match (
        &args.distribution.behaviors,
        &args.distribution.distribution_config,
    ) {
        (None, None) => None,
        _ => {
            let file_only = crate::cli::DistributionArgs {
                context_path: None,
                ..args.distribution.clone()
            };
            Some(super::distribution(&file_only, Vec::<String>::new())?.behaviors)
        }
    };
    let lab = crate::lab::start(LabOptions {
        topology: match args.lab_topology {
            crate::cli::TopologyArg::Proxy => Topology::Proxy,
            crate::cli::TopologyArg::CdnHost => Topology::CdnHost,
        },
        faults,
        behaviors,
        context_path: args.distribution.context_path.clone(),
        behavior_header: args.distribution.behavior_header.clone(),
        version: args.lab_version,
        onboarding: args.lab_onboarding,
        ..Default::default()
    })
    .await
    .context("starting the embedded lab")?;
    let mut journeys = Vec::new();
    let mut dists = Vec::new();
    for scenario in bundled_journeys() {
        let product = match scenario.product.as_deref() {
            Some("confluence") => Product::Confluence,
            _ => Product::Jira,
        };
        let edge = lab.edge_url(product);
        let mut dist = Distribution::new(lab.behaviors(product), crate::exchange::host_port(&edge));
        dist.behavior_header = args.distribution.behavior_header.clone();
        dist.target_why = format!("the embedded lab's {} edge", product.name());
        dists.push(dist);
        journeys.push(Journey::new(scenario, lab.url(product).to_string()));
    }
    let mut notes = lab.notes().to_vec();
    let faults = lab.faults();
    if args.lab_version != crate::lab::LabVersion::Legacy || args.lab_onboarding {
        let v = args.lab_version;
        notes.push(format!(
            "lab version {} (Jira {}, Confluence {}){}",
            v.name(),
            v.of(crate::lab::Product::Jira),
            v.of(crate::lab::Product::Confluence),
            if args.lab_onboarding {
                ", with first-login onboarding"
            } else {
                ""
            }
        ));
    }
    notes.push(format!(
        "embedded lab, topology {}, faults: {}",
        lab.topology(),
        if faults.is_empty() {
            "none".to_string()
        } else {
            faults
                .iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    ));
    Ok(Target {
        label: format!("lab ({})", lab.topology()),
        host: "lab".into(),
        vars: lab.journey_env(),
        journeys,
        dists,
        lab: Some(lab),
        notes,
    })
}

/// A real site: the URL and/or --scenario files, with the seed's behaviors.
pub(crate) fn site_target(args: &RunArgs) -> Result<Target, UserError> {
    if !args.lab_faults.is_empty() {
        return Err(UserError::input(
            "--lab-fault only applies to the embedded lab",
            "drop the URL and --scenario to run against the lab, or drop --lab-fault",
        ));
    }
    let mut journeys = journeys_from_args(args)?;
    let cookies: Vec<serde_json::Value> = match &args.cookie_file {
        Some(f) => crate::auth::read_cookie_file(f)?
            .iter()
            .map(|c| c.to_cdp())
            .collect(),
        None => Vec::new(),
    };
    let headers = crate::auth::parse_headers(&args.headers)?;
    for j in &mut journeys {
        j.cookies = cookies.clone();
        j.headers = headers.clone();
    }
    let first = journeys
        .first()
        .map(|j| j.base_url.clone())
        .unwrap_or_default();
    let host = url::Url::parse(&first)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "target".into());
    let mut dist = super::distribution(
        &args.distribution,
        journeys
            .iter()
            .filter_map(|j| url::Url::parse(&j.base_url).ok())
            .filter_map(|u| crate::exchange::host_port(&u)),
    )?;
    dist.target_why = "the host of the target URL (the journeys' base URL)".into();
    let dists = vec![dist];
    Ok(Target {
        label: first,
        host,
        journeys,
        vars: HashMap::new(),
        dists,
        lab: None,
        notes: Vec::new(),
    })
}

/// `cdnprobe run`. Returns the exit code.
pub async fn run(args: RunArgs) -> anyhow::Result<i32> {
    // SIGINT, SIGTERM, SIGHUP and a closed output pipe alike: stop, write the partial report,
    // close the browser.
    crate::interrupt::install(crate::interrupt::OnClosedPipe::Stop)
        .context("listening for SIGINT/SIGTERM/SIGHUP/SIGPIPE")?;
    let started = chrono::Utc::now();
    let use_lab = args.url.is_none() && args.scenarios.is_empty();
    let progress = if args.json {
        Progress::hidden()
    } else {
        Progress::new(args.quiet)
    };
    if use_lab {
        progress.set("starting the embedded lab");
    }
    let mut target = if use_lab {
        lab_target(&args).await?
    } else {
        site_target(&args)?
    };
    let step_timeout = Duration::from_secs(args.timeout);
    for j in &mut target.journeys {
        j.scenario.set_default_timeout(step_timeout);
    }
    let result = run_target(&args, &target, started, &progress).await;
    if let Some(lab) = target.lab {
        lab.shutdown().await;
    }
    progress.finish();
    result
}

async fn run_target(
    args: &RunArgs,
    target: &Target,
    started: chrono::DateTime<chrono::Utc>,
    progress: &Progress,
) -> anyhow::Result<i32> {
    let journeys = &target.journeys;
    let vars = &target.vars;
    for j in journeys {
        j.scenario.check_vars(vars)?;
    }
    let dists = &target.dists;
    let verify_opts = args.verify_options();
    crate::verify::expectations(dists, &verify_opts.expects)?;
    let mut history = super::recorder(&args.record, "run")?;
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| default_out_dir(started, &target.host));
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("creating output directory {}", out_dir.display()))?;

    let mut redactor = if args.keep_secrets {
        to_stderr(&format!(
            "warning: --keep-secrets: cookies, tokens and passwords are written in clear to {}",
            out_dir.display()
        ));
        Redactor::keep()
    } else {
        Redactor::new_random()
    };
    for j in journeys {
        for c in &j.cookies {
            if let Some(v) = c["value"].as_str() {
                redactor.register_secret(v);
            }
        }
        for (_, v) in &j.headers {
            redactor.register_secret(v);
        }
        for name in j.scenario.secret_vars() {
            if let Some(v) = vars
                .get(&name)
                .cloned()
                .or_else(|| std::env::var(&name).ok())
            {
                redactor.register_secret(&v);
            }
        }
    }

    let redactor = std::sync::Arc::new(redactor);
    crate::logging::set_redactor(redactor.clone());

    progress.set("launching Chromium");
    tracing::debug!(target: "cdnprobe::run", "launching Chromium");
    let browser = Browser::launch(&BrowserOptions {
        chrome: args.chrome.clone(),
        timeout: Duration::from_secs(args.timeout),
        insecure: args.insecure,
    })
    .await?;
    tracing::debug!(target: "cdnprobe::run", "Chromium launched");

    let report_path = out_dir.join("report.json");
    let stats_browser = &browser;
    let (mut capture, step_error) = capture_journeys(
        &browser,
        journeys,
        vars,
        &out_dir,
        progress,
        args.sequential,
        |partial| {
            let mut r = build_report(
                &target.label,
                started,
                partial,
                stats_browser.stats(),
                &redactor,
                dists,
            );
            r.notes = target.notes.clone();
            r.redact_strings(&redactor);
            r.summary.partial = true;
            r.summarize();
            let _ = report::json::write(&r, &report_path);
        },
    )
    .await?;
    // Redacted once: the report's records and capture.har both come from these (and share
    // their headers); verification below replays the unredacted originals.
    let redacted: Vec<Exchange> = capture
        .exchanges
        .iter()
        .map(|ex| redactor.redact_exchange(ex))
        .collect();
    let mut report = build_report_redacted(
        &target.label,
        started,
        &capture,
        redacted,
        browser.stats(),
        &redactor,
        dists,
    );
    report.notes = target.notes.clone();
    tracing::debug!(target: "cdnprobe::run", "report built");
    if !args.no_verify && !capture.interrupted {
        let say = |m: String| progress.set(m);
        let work = crate::verify::run(
            &verify_opts,
            &capture.exchanges,
            dists,
            &report.findings,
            &redactor,
            Some(&browser),
            &say,
        );
        tokio::select! {
            v = work => crate::report::build::apply_verification(&mut report, v?, &redactor, dists),
            signal = crate::interrupt::requested() => {
                report.summary.partial = true;
                report.notes.push(format!("interrupted by {signal} during verification: no verdicts"));
                report.summarize();
            }
        }
        report.duration_ms = (chrono::Utc::now() - started).num_milliseconds().max(0) as u64;
    }
    // Chromium's exit and the removal of its profile (a few hundred ms on a busy disk) overlap
    // with the health check and the report files, which do not need the browser.
    let interrupted = capture.interrupted || crate::interrupt::stop_requested().is_some();
    let close = async {
        tracing::debug!(target: "cdnprobe::run", "closing Chromium");
        browser.close().await;
        tracing::debug!(target: "cdnprobe::run", "Chromium closed");
    };
    let finish = async {
        if !args.no_health_check && !interrupted {
            progress.set("Atlassian health check");
            let bases: Vec<String> = journeys.iter().map(|j| j.base_url.clone()).collect();
            let checks = crate::verify::health::check_all(
                &bases,
                args.distribution.context_path.as_deref(),
                &capture.exchanges,
                &redactor,
                args.insecure,
                Duration::from_secs(args.timeout),
            );
            tokio::select! {
                checks = checks => {
                    crate::report::build::attach_health_checks(&mut report, checks);
                    tracing::debug!(target: "cdnprobe::run", "health check done");
                }
                signal = crate::interrupt::requested() => {
                    report.summary.partial = true;
                    report.notes.push(format!("interrupted by {signal} during the health check"));
                    report.summarize();
                }
            }
        }
        report.redact_strings(&redactor);
        // The unredacted capture served verification and the health check; the files are
        // written from the report's (redacted) records, so its room goes to them.
        drop(std::mem::take(&mut capture.exchanges));
        let files = report::write_all_with(&report, &out_dir, &history.trends(&report))?;
        tracing::debug!(target: "cdnprobe::run", "report files written");
        let summary = history.record(&report, &report_path);
        super::publish::publish(&args.record, &summary).await;
        anyhow::Ok(files)
    };
    let ((), files) = tokio::join!(close, finish);
    let files = files?;
    progress.finish();
    for n in &report.notes {
        if !args.quiet && !args.json {
            to_stderr(&format!("note: {n}"));
        }
    }

    if args.json {
        to_stdout(&String::from_utf8(report::json::to_bytes(&report)?)?);
    } else if !args.quiet {
        to_stdout(&report::terminal::render(
            &report,
            &report::terminal::TerminalOptions {
                color: report::terminal::use_color(),
                verbose: args.verbose,
                files: &files,
            },
        ));
        if args.verbose && !report.behaviors.is_empty() {
            // Every sampled URL's loads, behind the behaviors table.
            to_stdout(&format!(
                "{}\n",
                report::terminal::paint_verdicts(
                    &report::table::sequences_table(&report.behaviors),
                    report::terminal::use_color()
                )
            ));
        }
    }
    if let Some(e) = step_error {
        to_stderr(&format!("error: {}", redactor.redact_text(&e.to_string())));
    }
    if report.summary.partial && crate::interrupt::stop_requested().is_some() {
        to_stderr(&format!(
            "interrupted: partial report written to {}",
            report_path.display()
        ));
    }
    Ok(report.summary.exit_code)
}
