//! `cdnprobe run`: journeys -> capture -> classify -> report, with the exit code of DESIGN.md.
//!
//! The report is rewritten after every journey and on Ctrl-C, SIGTERM or SIGHUP (see
//! `interrupt`), so an interrupted or crashed run still leaves what it captured on disk (marked
//! `partial`).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::browser::{Browser, BrowserOptions, EventCounts, Page, page::ActionError};
use crate::classify::Distribution;
use crate::cli::RunArgs;
use crate::error::UserError;
use crate::exchange::Exchange;
use crate::redact::Redactor;
use crate::report::{self, JourneyResult, Report, RequestRecord, StepResult};
use crate::scenario::{Action, Scenario};

/// A journey ready to run: its steps and the base URL its relative paths resolve against.
#[derive(Debug, Clone)]
pub struct Journey {
    pub scenario: Scenario,
    pub base_url: String,
    /// Cookies (CDP `CookieParam`s) to start with: a session made elsewhere (`--cookie-file`).
    pub cookies: Vec<serde_json::Value>,
    /// Extra request headers (`--header`).
    pub headers: Vec<(String, String)>,
}

impl Journey {
    /// This journey's entry in the report, with the steps it ran.
    fn result(&self, steps: Vec<StepResult>, ok: bool) -> JourneyResult {
        JourneyResult {
            name: self.scenario.name.clone(),
            file: self.scenario.file.as_ref().map(|f| f.display().to_string()),
            base_url: self.base_url.clone(),
            steps,
            ok,
            source: None,
        }
    }

    pub fn new(scenario: Scenario, base_url: impl Into<String>) -> Journey {
        Journey {
            scenario,
            base_url: base_url.into(),
            cookies: Vec::new(),
            headers: Vec::new(),
        }
    }
}

/// Everything one run produced before reporting.
#[derive(Debug, Default)]
pub struct Capture {
    pub journeys: Vec<JourneyResult>,
    pub exchanges: Vec<Exchange>,
    pub events: EventCounts,
    pub interrupted: bool,
}

/// Progress on stderr: a spinner on a terminal, nothing otherwise or with --quiet.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {elapsed:>3} {msg}").unwrap(),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Progress { bar }
    }
    pub fn hidden() -> Progress {
        Progress { bar: None }
    }
    pub fn set(&self, msg: impl Into<String>) {
        if let Some(b) = &self.bar {
            b.set_message(msg.into());
        }
    }
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Resolve the CLI's URL and --scenario files into journeys (no lab here).
pub fn journeys_from_args(args: &RunArgs) -> Result<Vec<Journey>, UserError> {
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
pub fn default_out_dir(started: chrono::DateTime<chrono::Utc>, host: &str) -> PathBuf {
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

/// Hint for a Chromium network error text.
fn net_error_hint(error: &str) -> &'static str {
    if error.contains("CERT") || error.contains("SSL") {
        "the TLS certificate or handshake failed: fix the certificate (name, chain, expiry), or pass --insecure to probe anyway"
    } else if error.contains("NAME_NOT_RESOLVED") {
        "the host name does not resolve: check the URL and DNS"
    } else if error.contains("CONNECTION_REFUSED") || error.contains("ADDRESS_UNREACHABLE") {
        "nothing answers on that host and port: check the URL and that the site is up"
    } else if error.contains("CONNECTION_RESET")
        || error.contains("CONNECTION_CLOSED")
        || error.contains("EMPTY_RESPONSE")
        || error.contains("INCOMPLETE")
    {
        "the server (or something in front of it: proxy, load balancer, WAF) dropped the connection mid-answer: check its logs for this URL"
    } else if error.contains("TIMED_OUT") {
        "the host did not answer in time: check firewalls and the URL"
    } else {
        "check the URL and that the site is reachable from this machine"
    }
}

/// Run one journey in its own page. Never fails as a whole: a failed step is recorded (with a
/// screenshot) and ends the journey.
pub async fn run_journey(
    browser: &Browser,
    journey: &Journey,
    vars: &HashMap<String, String>,
    out_dir: &Path,
    progress: &Progress,
) -> anyhow::Result<(JourneyResult, Vec<Exchange>, EventCounts, Option<UserError>)> {
    let page = browser.new_page().await?;
    page.set_cookies(journey.cookies.clone()).await?;
    page.set_extra_headers(&journey.headers).await?;
    let name = &journey.scenario.name;
    let mut steps = Vec::new();
    let mut failure = None;
    // A `discover` step adds the site's own project, issue, space... for the steps after it.
    let mut vars = vars.clone();
    // The last `login` step's password: a `websudo` step answers the prompt with it.
    let mut login_password: Option<crate::scenario::Value> = None;
    for (i, step) in journey.scenario.steps.iter().enumerate() {
        let index = i + 1;
        let label = format!("{name}#{index} {}", step.describe());
        progress.set(label.clone());
        page.recorder.set_phase(label.clone());
        let started = Instant::now();
        if let Action::Login { password, .. } = &step.action {
            login_password = Some(password.clone());
        }
        let timeout = step
            .timeout
            .unwrap_or(crate::scenario::DEFAULT_STEP_TIMEOUT);
        let mut result = run_step(
            &page,
            journey,
            &step.action,
            timeout,
            &mut vars,
            out_dir,
            login_password.as_ref(),
        )
        .await;
        // An optional step whose element never showed is skipped, not failed.
        if step.optional
            && let Err(ActionError::Timeout(_, what)) = &result
        {
            result = Ok(Some(format!(
                "skipped (optional): {} did not come within {}",
                what.strip_prefix("waiting for ").unwrap_or(what),
                humantime_secs(timeout)
            )));
        }
        tracing::debug!(target: "cdnprobe::run", "{label}: {} ms", started.elapsed().as_millis());
        let mut record = StepResult {
            index,
            description: step.describe(),
            ok: result.is_ok(),
            duration_ms: started.elapsed().as_millis() as u64,
            error: None,
            screenshot: None,
            note: result.as_ref().ok().cloned().flatten(),
        };
        if let Err(e) = result {
            let shot = out_dir.join(format!("failure-{name}-step{index}.png"));
            let shot = page.screenshot(&shot).await.ok().map(|_| shot);
            let url = page
                .url()
                .await
                .ok()
                .filter(|u| !u.is_empty() && u != "about:blank")
                .unwrap_or_default();
            record.error = Some(e.to_string());
            record.screenshot = shot.as_ref().map(|p| p.display().to_string());
            failure = Some(match e {
                ActionError::Navigation { url, error } => UserError::Unreachable {
                    hint: net_error_hint(&error).into(),
                    url,
                    message: error,
                },
                other => {
                    let expected_host = url::Url::parse(&journey.base_url)
                        .ok()
                        .and_then(|u| crate::classify::edge::host_port(&u))
                        .unwrap_or_default();
                    let login = crate::browser::login::detect(&page, &expected_host).await;
                    UserError::Step {
                    step: format!(
                        "{name}#{index} `{}`{}",
                        step.describe(),
                        journey
                            .scenario
                            .file
                            .as_ref()
                            .map(|f| format!(" ({}:{})", f.display(), step.line))
                            .unwrap_or_default()
                    ),
                    url,
                    message: other.to_string(),
                    screenshot: shot.clone(),
                    // A screenshot is mentioned only when one was written.
                    hint: match (login, other, shot.is_some()) {
                        (Some(problem), _, _) => problem.hint(),
                        (None, ActionError::Timeout(..), true) => "check the selector/text against the page (see the screenshot), or raise the step's `timeout`".into(),
                        (None, ActionError::Timeout(..), false) => "check the selector/text against the page, or raise the step's `timeout`".into(),
                        (None, _, true) => "see the screenshot and the page's state".into(),
                        (None, _, false) => "check the page's state (no screenshot could be taken)".into(),
                    },
                }
                }
            });
            steps.push(record);
            break;
        }
        steps.push(record);
    }
    // Let in-flight requests of the last step land before taking the capture.
    let _ = page.wait_idle(Duration::from_secs(5)).await;
    let counts = page.recorder.counts();
    let exchanges = page.recorder.take_exchanges();
    page.close().await;
    tracing::debug!(target: "cdnprobe::run", "{name}: page closed, {} exchanges", exchanges.len());
    let ok = failure.is_none();
    Ok((journey.result(steps, ok), exchanges, counts, failure))
}

fn humantime_secs(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// A step's note when the selector that matched was not the first alternative, or something was
/// dismissed on the way.
fn choice_note(alternatives: &[String], chosen: usize, dismissed: &[String]) -> Option<String> {
    let mut parts = Vec::new();
    if chosen > 0 {
        parts.push(format!(
            "matched alternative {} of {}: {}",
            chosen + 1,
            alternatives.len(),
            alternatives[chosen]
        ));
    }
    if !dismissed.is_empty() {
        let mut d = dismissed.to_vec();
        d.dedup();
        parts.push(format!("dismissed {}", d.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Run one step; `Ok(Some(note))` says something worth keeping (which login form it met, which
/// alternative matched, what it dismissed).
async fn run_step(
    page: &Page,
    journey: &Journey,
    action: &Action,
    timeout: Duration,
    vars: &mut HashMap<String, String>,
    out_dir: &Path,
    login_password: Option<&crate::scenario::Value>,
) -> Result<Option<String>, ActionError> {
    // The step's timeout bounds the whole step, the settling after a click included.
    let deadline = Instant::now() + timeout;
    // `${NAME}` in any value, resolved at the moment of use (the run checked beforehand that
    // every one is set: see Scenario::check_vars).
    let sub = |template: &str| {
        crate::scenario::substitute(template, vars).map_err(|name| {
            ActionError::Failed(format!("environment variable `{name}` is not set"))
        })
    };
    let secret = |v: &crate::scenario::Value| {
        v.resolve(vars).map_err(|name| {
            ActionError::Failed(format!("environment variable `{name}` is not set"))
        })
    };
    let subs = |alts: &[String]| -> Result<Vec<String>, ActionError> {
        alts.iter().map(|a| sub(a)).collect()
    };
    let dismiss = &journey.scenario.dismiss;
    match action {
        Action::Goto(target) => {
            let url = journey
                .scenario
                .resolve_url(&sub(target)?, Some(&journey.base_url))
                .map_err(|e| ActionError::Failed(e.to_string()))?;
            page.goto(&url, timeout).await.map(|_| None)
        }
        Action::Click(sel) => {
            let alts = subs(sel)?;
            let (i, dismissed) = page.first_visible(&alts, dismiss, timeout).await?;
            page.click(&alts[i], timeout).await?;
            settle(page, deadline).await?;
            Ok(choice_note(&alts, i, &dismissed))
        }
        Action::Fill { selector, value } => {
            let alts = subs(selector)?;
            let (i, dismissed) = page.first_visible(&alts, dismiss, timeout).await?;
            page.fill(&alts[i], &secret(value)?, timeout).await?;
            Ok(choice_note(&alts, i, &dismissed))
        }
        Action::Press(key) => {
            page.press(&sub(key)?).await?;
            settle(page, deadline).await.map(|_| None)
        }
        Action::WaitFor(sel) => {
            let alts = subs(sel)?;
            let (i, dismissed) = page.first_visible(&alts, dismiss, timeout).await?;
            Ok(choice_note(&alts, i, &dismissed))
        }
        Action::Login {
            product,
            user,
            password,
        } => {
            let (form, dismissed) = crate::browser::login::log_in(
                page,
                crate::browser::login::forms(*product),
                &secret(user)?,
                &secret(password)?,
                dismiss,
                timeout,
            )
            .await?;
            settle(page, deadline).await?;
            let mut note = format!("logged in through the {} ({})", form.name, form.user);
            if let Some(d) = choice_note(&[], 0, &dismissed) {
                note.push_str(&format!("; {d}"));
            }
            Ok(Some(note))
        }
        Action::WebSudo { password } => {
            let Some(p) = password.as_ref().or(login_password) else {
                return Err(ActionError::Failed(
                    "a `websudo` step needs a `login` step before it, or its own `password`".into(),
                ));
            };
            // The admin page is already loaded: its prompt shows at once or not at all.
            let wait = timeout.min(Duration::from_secs(3));
            match crate::browser::login::web_sudo(page, &secret(p)?, wait).await? {
                Some(form) => {
                    settle(page, deadline).await?;
                    Ok(Some(format!("answered the {} prompt", form.name)))
                }
                None => Ok(Some(
                    "no WebSudo prompt (not an administrator page, or already confirmed)".into(),
                )),
            }
        }
        Action::Discover { product } => {
            // The user's own setting always wins: only unset variables are looked for.
            let wanted = crate::browser::discover::variables(*product);
            let given: HashMap<String, String> = wanted
                .iter()
                .filter_map(|n| {
                    let v = vars
                        .get(*n)
                        .cloned()
                        .or_else(|| std::env::var(n).ok().filter(|v| !v.is_empty()))?;
                    Some((n.to_string(), v))
                })
                .collect();
            let kept: Vec<&str> = wanted
                .iter()
                .copied()
                .filter(|n| given.contains_key(*n))
                .collect();
            let found = tokio::time::timeout(
                timeout,
                crate::browser::discover::discover(page, *product, &journey.base_url, &given),
            )
            .await
            .map_err(|_| ActionError::Timeout(timeout, "the REST discovery".into()))??;
            for (name, value, _) in &found.found {
                vars.insert(name.clone(), value.clone());
            }
            Ok(Some(found.note(&kept)))
        }
        Action::WaitIdle => page.wait_idle(timeout).await.map(|_| None),
        Action::ExpectText(t) => page.expect_text(&sub(t)?, timeout).await.map(|_| None),
        Action::ExpectUrl(u) => page.expect_url(&sub(u)?, timeout).await.map(|_| None),
        Action::Screenshot(name) => page
            .screenshot(&out_dir.join("screenshots").join(sub(name)?))
            .await
            .map(|_| None)
            .map_err(|e| ActionError::Failed(e.to_string())),
    }
}

/// After a click or key press, give the page a moment to start what it triggers and finish it:
/// at most 15 s, and never past the step's own deadline (a click under `timeout = 10` used to
/// take 15 s when the page kept the network busy).
async fn settle(page: &Page, deadline: Instant) -> Result<(), ActionError> {
    let left = || deadline.saturating_duration_since(Instant::now());
    tokio::time::sleep(Duration::from_millis(150).min(left())).await;
    page.wait_idle(Duration::from_secs(15).min(left())).await
}

/// Capture every journey, stopping early (and marking the capture interrupted) on Ctrl-C,
/// SIGTERM or SIGHUP.
///
/// Journeys run side by side, each in its own page and browser context (its own cookie jar), so
/// the run takes as long as the longest journey rather than their sum; `sequential` walks them one
/// after the other instead. Whatever the order they finish in, the capture lists journeys and
/// exchanges in the order the journeys were given, and `on_journey` sees the capture so far each
/// time a journey ends while others are still running.
pub async fn capture_journeys(
    browser: &Browser,
    journeys: &[Journey],
    vars: &HashMap<String, String>,
    out_dir: &Path,
    progress: &Progress,
    sequential: bool,
    mut on_journey: impl FnMut(&Capture),
) -> anyhow::Result<(Capture, Option<UserError>)> {
    use futures::StreamExt;
    type Done = (JourneyResult, Vec<Exchange>, EventCounts, Option<UserError>);
    let mut slots: Vec<Option<Done>> = journeys.iter().map(|_| None).collect();
    let assemble = |slots: &[Option<Done>]| {
        let mut capture = Capture::default();
        for (result, exchanges, counts, _) in slots.iter().flatten() {
            capture.journeys.push(result.clone());
            capture.exchanges.extend(exchanges.iter().cloned());
            capture.events.add(counts);
        }
        capture
    };
    let window = if sequential { 1 } else { journeys.len().max(1) };
    let mut running = futures::stream::iter(journeys.iter().enumerate())
        .map(|(i, journey)| async move {
            (
                i,
                run_journey(browser, journey, vars, out_dir, progress).await,
            )
        })
        .buffer_unordered(window);
    let mut interrupted = None;
    let stop = crate::interrupt::requested();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            next = running.next() => {
                let Some((i, result)) = next else { break };
                slots[i] = Some(result?);
                if slots.iter().any(Option::is_none) {
                    on_journey(&assemble(&slots));
                }
            }
            signal = &mut stop => {
                interrupted = Some(signal);
                break;
            }
        }
    }
    drop(running);
    let mut capture = Capture::default();
    let mut first_error = None;
    for (journey, slot) in journeys.iter().zip(slots) {
        match slot {
            Some((result, exchanges, counts, err)) => {
                capture.journeys.push(result);
                if capture.exchanges.is_empty() {
                    capture.exchanges = exchanges; // moved, not copied: it can be large
                } else {
                    capture.exchanges.extend(exchanges);
                }
                capture.events.add(&counts);
                if first_error.is_none() {
                    first_error = err;
                }
            }
            None => {
                let signal = interrupted.unwrap_or("signal");
                capture.journeys.push(journey.result(
                    vec![StepResult {
                        index: 0,
                        description: format!("interrupted ({signal})"),
                        ok: false,
                        duration_ms: 0,
                        error: Some(format!("interrupted by {signal}")),
                        screenshot: None,
                        note: None,
                    }],
                    false,
                ))
            }
        }
    }
    if interrupted.is_some() {
        capture.interrupted = true;
        capture.exchanges.extend(browser.drain_uncollected());
    }
    Ok((capture, first_error))
}

/// The distribution serving `url`, if any of `dists` does.
pub fn distribution_for<'a>(dists: &'a [Distribution], url: &str) -> Option<&'a Distribution> {
    dists.iter().find(|d| d.behavior_for(url).is_some())
}

/// Build the report from a capture (redacting every exchange first).
pub fn build_report(
    target: &str,
    started: chrono::DateTime<chrono::Utc>,
    capture: &Capture,
    browser_stats: crate::browser::CdpStats,
    redactor: &Redactor,
    dists: &[Distribution],
) -> Report {
    let redacted: Vec<Exchange> = capture
        .exchanges
        .iter()
        .map(|ex| redactor.redact_exchange(ex))
        .collect();
    build_report_redacted(
        target,
        started,
        capture,
        &redacted,
        browser_stats,
        redactor,
        dists,
    )
}

/// [`build_report`] for exchanges already redacted (`redacted` stands for `capture.exchanges`,
/// whose own copies are not read), so a large capture is redacted once, not once per use.
pub fn build_report_redacted(
    target: &str,
    started: chrono::DateTime<chrono::Utc>,
    capture: &Capture,
    redacted: &[Exchange],
    browser_stats: crate::browser::CdpStats,
    redactor: &Redactor,
    dists: &[Distribution],
) -> Report {
    let mut report = Report::new(target, started);
    report.duration_ms = (chrono::Utc::now() - started).num_milliseconds().max(0) as u64;
    report.journeys = capture.journeys.clone();
    report.product_hosts = dists.iter().flat_map(Distribution::product_hosts).collect();
    report.redact_strings(redactor);
    let t = std::time::Instant::now();
    report.requests = redacted
        .iter()
        .map(|ex| RequestRecord::from_exchange(ex, distribution_for(dists, &ex.url)))
        .collect();
    tracing::debug!("classified: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    report.findings = crate::diagnose::diagnose_with(&report.requests, dists);
    tracing::debug!("diagnosed: {:?}", t.elapsed());
    report.capture.cdp = browser_stats;
    report.capture.events = capture.events.clone();
    report.summary.partial = capture.interrupted;
    report.summarize();
    report
}

/// What a run probes: its journeys, the variables they read, the distributions serving them,
/// and the lab when the run started one.
pub struct Target {
    pub label: String,
    pub host: String,
    pub journeys: Vec<Journey>,
    pub vars: HashMap<String, String>,
    pub dists: Vec<Distribution>,
    pub lab: Option<crate::lab::Lab>,
    pub notes: Vec<String>,
}

/// The bundled journeys, compiled in so `cdnprobe run` works from any directory.
pub fn bundled_journeys() -> Vec<Scenario> {
    [
        (
            "scenarios/jira-smoke.toml",
            include_str!("../scenarios/jira-smoke.toml"),
        ),
        (
            "scenarios/confluence-smoke.toml",
            include_str!("../scenarios/confluence-smoke.toml"),
        ),
    ]
    .into_iter()
    .map(|(file, text)| {
        let mut s = Scenario::parse(text, Path::new(file)).expect("bundled journeys parse");
        s.file = Some(PathBuf::from(file));
        s
    })
    .collect()
}

/// Parse `--lab-fault` names, naming the known ones when one is wrong.
pub fn parse_faults(names: &[String]) -> Result<Vec<crate::lab::Fault>, UserError> {
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
pub async fn lab_target(args: &RunArgs) -> anyhow::Result<Target> {
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
            Some(Distribution::from_args(&file_only, Vec::<String>::new())?.behaviors)
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
        let mut dist = Distribution::new(
            lab.behaviors(product),
            crate::classify::edge::host_port(&edge),
        );
        dist.behavior_header = args.distribution.behavior_header.clone();
        dist.target_why = format!("the embedded lab's {} edge", product.name());
        dists.push(dist);
        journeys.push(Journey::new(scenario, lab.url(product).to_string()));
    }
    let mut notes = lab.notes().to_vec();
    let faults = lab.faults();
    if args.lab_version != crate::lab::LabVersion::Legacy || args.lab_onboarding {
        let (j, c) = args.lab_version.versions();
        notes.push(format!(
            "lab version {} (Jira {j}, Confluence {c}){}",
            args.lab_version.name(),
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
pub fn site_target(args: &RunArgs) -> Result<Target, UserError> {
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
    let mut dist = Distribution::from_args(
        &args.distribution,
        journeys
            .iter()
            .filter_map(|j| url::Url::parse(&j.base_url).ok())
            .filter_map(|u| crate::classify::edge::host_port(&u)),
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
    // SIGINT, SIGTERM and SIGHUP alike: stop, write the partial report, close the browser.
    crate::interrupt::install().context("listening for SIGINT/SIGTERM/SIGHUP")?;
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
    let mut history = crate::history::Recorder::open(&args.record, "run")?;
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| default_out_dir(started, &target.host));
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("creating output directory {}", out_dir.display()))?;

    let mut redactor = if args.keep_secrets {
        eprintln!(
            "warning: --keep-secrets: cookies, tokens and passwords are written in clear to {}",
            out_dir.display()
        );
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
        &redacted,
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
            v = work => v?.apply(&mut report, &redactor, dists),
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
            let checks = crate::diagnose::health::check_all(
                &bases,
                args.distribution.context_path.as_deref(),
                &capture.exchanges,
                &redactor,
                args.insecure,
                Duration::from_secs(args.timeout),
            );
            tokio::select! {
                checks = checks => {
                    crate::diagnose::health::attach(&mut report, checks);
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
        // written from the redacted copy, so its room goes to them.
        drop(std::mem::take(&mut capture.exchanges));
        let files = report::write_all_with(&report, &redacted, &out_dir, &history.trends(&report))?;
        tracing::debug!(target: "cdnprobe::run", "report files written");
        let summary = history.record(&report, &report_path);
        crate::metrics::publish(&args.record, &summary).await;
        anyhow::Ok(files)
    };
    let ((), files) = tokio::join!(close, finish);
    let files = files?;
    progress.finish();
    for n in &report.notes {
        if !args.quiet && !args.json {
            eprintln!("note: {n}");
        }
    }

    if args.json {
        print!("{}", String::from_utf8(report::json::to_bytes(&report)?)?);
    } else if !args.quiet {
        print!(
            "{}",
            report::terminal::render(
                &report,
                &report::terminal::TerminalOptions {
                    color: report::terminal::use_color(),
                    verbose: args.verbose,
                    files: &files,
                }
            )
        );
        if args.verbose && !report.behaviors.is_empty() {
            // Every sampled URL's loads, behind the behaviors table.
            println!(
                "{}",
                report::terminal::paint_verdicts(
                    &report::table::sequences_table(&report.behaviors),
                    report::terminal::use_color()
                )
            );
        }
    }
    if let Some(e) = step_error {
        eprintln!("error: {}", redactor.redact_text(&e.to_string()));
    }
    if report.summary.partial && crate::interrupt::stop_requested().is_some() {
        eprintln!(
            "interrupted: partial report written to {}",
            report_path.display()
        );
    }
    Ok(report.summary.exit_code)
}
