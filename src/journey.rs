//! The journey driver: walks each scenario's steps in its own browser page, records what every
//! step did (`JourneyResult`) and hands the captured exchanges on. `cdnprobe run` (in
//! `commands::run`) chooses the journeys and writes the report; this module only drives them.
//!
//! The caller's `on_journey` callback sees the capture after every journey, so a report can be
//! rewritten as it goes and an interrupted run still leaves what it captured on disk.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::browser::{Browser, Page, page::ActionError};
use crate::error::UserError;
use crate::exchange::{EventCounts, Exchange};
use crate::progress::Progress;
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

/// One journey step as it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StepResult {
    pub index: usize,
    pub description: String,
    pub ok: bool,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screenshot: Option<String>,
    /// What the step met on the way: the login form it used, the alternative selector that
    /// matched, dialogs it dismissed, or why an optional step was skipped (added in 1.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JourneyResult {
    pub name: String,
    /// The run this journey came from, in a merged report (`runs[].source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub base_url: String,
    pub steps: Vec<StepResult>,
    pub ok: bool,
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
        // The last step's events first, so that none of them is counted in this one.
        page.caught_up(Instant::now() + Duration::from_secs(5))
            .await;
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
                        .and_then(|u| crate::exchange::host_port(&u))
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
