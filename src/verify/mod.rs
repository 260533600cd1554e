//! Verification: repeat loads per behavior, Miss -> Hit sequences and verdicts.
//!
//! The seed's test method — "reload a /s/ URL and watch x-cache go from Miss to Hit" — made
//! automatic, per behavior, and strict enough for a pipeline to gate on:
//!
//! 1. [`sample`] picks URLs per behavior from the capture (GET/HEAD only, bounded);
//! 2. each is loaded `--repeat` more times, by [`replay`] (HTTP, with what the browser sent and a
//!    browser-like cookie [`jar`]) or by [`reload`] (the journey's pages again in Chromium);
//! 3. the journey's own first load plus the repeats make a `Sequence` (`M H H H`), judged by
//!    [`verdict`] (pure, unit tested); a behavior takes its worst URL's verdict;
//! 4. the verdict meets the behavior's expectation (`hit`/`bypass`: `--expect`, else the behaviors
//!    file's `expect`, else its TTLs) or the run fails.
//!
//! The reasons name what the loads showed (the rotating cookie, the buster parameter, the TTL
//! rule) and the diagnosis findings about the same behavior or URLs; verification never writes
//! findings itself.

pub mod health;
pub mod http;
pub mod jar;
pub mod reload;
pub mod replay;
pub mod sample;
pub mod verdict;

use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::browser::Browser;
use crate::classify::{self, Distribution};
pub use crate::cloudfront::Expect;
use crate::diagnose::Finding;
use crate::error::UserError;
use crate::exchange::Exchange;
use crate::redact::Redactor;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// Miss, then Hit within the repeats.
    Hits,
    /// Hit from the first load.
    Warm,
    NeverHits,
    /// Not cached, as expected.
    Bypass,
    /// Cached although it must not be (dynamic or authenticated).
    Leak,
    /// Edge error or 5xx.
    Error,
    /// No cache evidence at all: the CDN is not in the path.
    NoCdn,
    /// The loads cannot tell (a different POP on every load, or too few loads). Meets every
    /// expectation: it is not evidence of a problem.
    Inconclusive,
}

impl Verdict {
    /// `HITS`, `NEVER_HITS`, ... (the serde name).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The loads of one sampled URL: the journey's first load, then the repeats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Sequence {
    pub url: String,
    /// Normalized cache status per attempt (`miss`, `hit`, ...; `absent` when not loaded in that
    /// round, `failed` when no response came).
    pub statuses: Vec<String>,
    #[serde(default)]
    pub pops: Vec<Option<String>>,
    #[serde(default)]
    pub ages: Vec<Option<u64>>,
    #[serde(default)]
    pub http_statuses: Vec<Option<u16>>,
    pub verdict: Verdict,
    /// Why this URL got its verdict.
    #[serde(default)]
    pub reason: String,
}

/// One behavior's summary in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BehaviorReport {
    pub pattern: String,
    pub expect: Expect,
    pub verdict: Verdict,
    /// Why the verdict, in words; names the findings that explain it.
    pub reason: String,
    /// Did the verdict meet the expectation?
    pub pass: bool,
    pub sequences: Vec<Sequence>,
    pub urls: Vec<String>,
    pub requests: usize,
    pub asset_kinds: Vec<String>,
    #[serde(default)]
    pub findings: Vec<String>,
}

/// How repeat loads are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Mode {
    /// HTTP requests with exactly what the browser sent (cookies updated as a browser would).
    #[default]
    Replay,
    /// Reload the journey's pages in Chromium (its HTTP cache emptied before every load).
    Browser,
}

/// `--expect PATTERN=hit|bypass`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectRule {
    pub pattern: String,
    pub expect: Expect,
}

impl FromStr for ExpectRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (p, e) = s.rsplit_once('=').ok_or_else(|| {
            format!("`{s}`: write PATTERN=hit or PATTERN=bypass (e.g. '/s/*=hit')")
        })?;
        let expect = match e.trim().to_ascii_lowercase().as_str() {
            "hit" => Expect::Hit,
            "bypass" => Expect::Bypass,
            other => return Err(format!("`{other}`: expected `hit` or `bypass`")),
        };
        let pattern = p.trim().to_string();
        if pattern.is_empty() {
            return Err(format!("`{s}`: the pattern is empty"));
        }
        Ok(ExpectRule { pattern, expect })
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    /// Loads per sample after the journey's own.
    pub repeat: usize,
    /// Static URLs per behavior.
    pub samples: usize,
    /// Dynamic URLs per behavior expected to bypass.
    pub dynamic_samples: usize,
    pub concurrency: usize,
    /// Cap on all verification requests.
    pub max_requests: usize,
    pub expects: Vec<ExpectRule>,
    pub timeout: Duration,
    pub insecure: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Replay,
            repeat: 3,
            samples: 20,
            dynamic_samples: 3,
            concurrency: 4,
            max_requests: 400,
            expects: Vec::new(),
            timeout: Duration::from_secs(30),
            insecure: false,
        }
    }
}

/// What verification produced, before it goes into the report.
#[derive(Debug, Default)]
pub struct Verification {
    pub behaviors: Vec<BehaviorReport>,
    /// Every repeat load (raw: redact before output), phase `repeat N`.
    pub exchanges: Vec<Exchange>,
    pub notes: Vec<String>,
}

/// Does `rule` name behavior `idx` (effective pattern, pattern as written, label, or `*` /
/// `default` for the default behavior)?
fn rule_matches(dist: &Distribution, idx: usize, rule: &str) -> bool {
    let Some(b) = dist.behaviors.behaviors.get(idx) else {
        return false;
    };
    let r = rule.trim();
    r == dist.behaviors.effective_pattern(idx)
        || r == b.pattern
        || r == b.name
        || (b.is_default && (r == "*" || r.eq_ignore_ascii_case("default")))
}

/// Expectations per distribution, per behavior index (`behaviors.len() + 1` entries; the last is
/// the no-match fallback): `(expect, explicit)`. A rule that names no behavior of any
/// distribution is an input error.
pub(crate) fn expectations(
    dists: &[Distribution],
    rules: &[ExpectRule],
) -> Result<Vec<Vec<(Expect, bool)>>, UserError> {
    let mut out: Vec<Vec<(Expect, bool)>> = dists
        .iter()
        .map(|dist| {
            (0..=dist.behaviors.behaviors.len())
                .map(|i| {
                    let explicit = dist
                        .behaviors
                        .behaviors
                        .get(i)
                        .is_some_and(|b| b.expect.is_some());
                    (dist.behaviors.expectation(i), explicit)
                })
                .collect()
        })
        .collect();
    for r in rules {
        let mut matched = false;
        for (dist, per_behavior) in dists.iter().zip(out.iter_mut()) {
            for (i, e) in per_behavior.iter_mut().enumerate() {
                if rule_matches(dist, i, &r.pattern) {
                    *e = (r.expect, true);
                    matched = true;
                }
            }
        }
        if !matched {
            let mut known: Vec<String> = Vec::new();
            for dist in dists {
                for i in 0..dist.behaviors.behaviors.len() {
                    let p = dist.behaviors.effective_pattern(i);
                    if !known.contains(&p) {
                        known.push(p);
                    }
                }
            }
            return Err(UserError::input(
                format!("--expect {}: no behavior has that pattern", r.pattern),
                format!("use one of: {}", known.join(", ")),
            ));
        }
    }
    Ok(out)
}

fn fingerprint(v: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// What one exchange shows, as a verdict input.
pub(crate) fn attempt_of(
    ex: &Exchange,
    label: &str,
    dist: Option<&Distribution>,
) -> verdict::Attempt {
    let cache = classify::parse_cache_status(&ex.response_headers);
    verdict::Attempt {
        label: label.into(),
        edge: dist.and_then(|d| d.edge_treatment(ex, cache.provider)),
        authorization: ex.request_headers.contains("authorization"),
        request_cache_control: ex
            .request_headers
            .get_all("cache-control")
            .chain(ex.request_headers.get_all("pragma"))
            .find(|v| v.to_ascii_lowercase().contains("no-cache"))
            .map(str::to_string),
        response_cache_control: ex.response_headers.get("cache-control").map(str::to_string),
        vary: ex.response_headers.get("vary").map(str::to_string),
        cache,
        http_status: ex.status,
        failure: ex.status.is_none().then(|| {
            ex.failure
                .as_ref()
                .map(|f| f.error_text.clone())
                .unwrap_or_else(|| "no response".into())
        }),
        absent: false,
        tool_limit: ex.failure.as_ref().and_then(|f| f.tool_limit.clone()),
        sent_cookies: ex
            .request_headers
            .cookies()
            .into_iter()
            .map(|(n, v)| (n, fingerprint(&v)))
            .collect(),
        set_cookies: ex
            .response_headers
            .get_all("set-cookie")
            .filter_map(crate::exchange::parse_set_cookie)
            .map(|c| (c.name().to_string(), fingerprint(c.value())))
            .collect(),
        url_fp: fingerprint(&ex.url),
    }
}

fn absent(label: &str) -> verdict::Attempt {
    verdict::Attempt {
        label: label.into(),
        absent: true,
        ..Default::default()
    }
}

/// Each journey's cookie jar, rebuilt from the capture in time order.
pub(crate) fn jars(exchanges: &[Exchange]) -> HashMap<String, Arc<Mutex<jar::Jar>>> {
    let mut out: HashMap<String, jar::Jar> = HashMap::new();
    for i in sample::time_order(exchanges) {
        let ex = &exchanges[i];
        let Ok(u) = url::Url::parse(&ex.url) else {
            continue;
        };
        if !matches!(u.scheme(), "http" | "https") {
            continue;
        }
        let j = out.entry(sample::session_of(&ex.phase)).or_default();
        let cross = ex
            .request_headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"));
        j.observe_request(&u, ex.request_headers.get("cookie"), cross);
        j.observe_response(&u, ex.response_headers.get_all("set-cookie"));
    }
    out.into_iter()
        .map(|(k, v)| (k, Arc::new(Mutex::new(v))))
        .collect()
}

/// Findings about this behavior or its sampled URLs (by host and path), ids in order.
fn linked_findings(findings: &[Finding], pattern: &str, urls: &[String]) -> Vec<String> {
    let key = |u: &str| {
        url::Url::parse(u).ok().map(|x| {
            (
                x.host_str().unwrap_or_default().to_string(),
                x.port_or_known_default(),
                x.path().to_string(),
            )
        })
    };
    let ours: BTreeSet<_> = urls.iter().filter_map(|u| key(u)).collect();
    let mut out: Vec<String> = Vec::new();
    // Browser-cache replays are context about the capture, never a cause of a verdict.
    for f in findings
        .iter()
        .filter(|f| f.id != crate::diagnose::ids::BROWSER_CACHE_REPLAY.id)
    {
        let by_behavior = f.behavior.as_deref() == Some(pattern);
        let by_url = f
            .evidence
            .iter()
            .any(|e| key(&e.url).is_some_and(|k| ours.contains(&k)));
        if (by_behavior || by_url) && !out.contains(&f.id) {
            out.push(f.id.clone());
        }
    }
    out
}

/// Verify every behavior the capture exercised. `browser` is needed for `Mode::Browser` only.
pub async fn run(
    opts: &Options,
    exchanges: &[Exchange],
    dists: &[Distribution],
    findings: &[Finding],
    redactor: &Redactor,
    browser: Option<&Browser>,
    progress: &(dyn Fn(String) + Sync),
) -> anyhow::Result<Verification> {
    let exps = expectations(dists, &opts.expects)?;
    let expect_of = |d: usize, i: usize| -> (Expect, bool) {
        exps.get(d)
            .and_then(|e| e.get(i).or(e.last()))
            .copied()
            .unwrap_or((Expect::Bypass, false))
    };
    let selection = sample::select(
        exchanges,
        dists,
        expect_of,
        &sample::SampleOptions {
            per_behavior: opts.samples,
            dynamic_per_behavior: opts.dynamic_samples,
            repeat: opts.repeat,
            max_requests: opts.max_requests,
        },
    );
    let samples = &selection.samples;
    let jars = jars(exchanges);
    let mut notes = selection.notes.clone();
    let total = samples.len() * opts.repeat;

    // Attempts per sample: the journey's first load, then the repeats.
    let mut repeat_exchanges: Vec<Exchange> = Vec::new();
    let mut attempts: Vec<Vec<verdict::Attempt>> = samples
        .iter()
        .map(|s| {
            vec![attempt_of(
                &exchanges[s.first],
                "journey",
                dists.get(s.dist),
            )]
        })
        .collect();
    match opts.mode {
        Mode::Replay => {
            let report = |n: usize| progress(format!("verifying: {n}/{total} repeat loads"));
            let loads = replay::replay(
                samples,
                exchanges,
                &jars,
                &replay::ReplayOptions {
                    repeat: opts.repeat,
                    concurrency: opts.concurrency,
                    timeout: opts.timeout,
                    insecure: opts.insecure,
                },
                &report,
            )
            .await?;
            for (n, list) in loads.into_iter().enumerate() {
                for (k, ex) in list.into_iter().enumerate() {
                    attempts[n].push(attempt_of(
                        &ex,
                        &format!("repeat {}", k + 1),
                        dists.get(samples[n].dist),
                    ));
                    repeat_exchanges.push(ex);
                }
            }
        }
        Mode::Browser => {
            let browser = browser.ok_or_else(|| {
                UserError::input(
                    "--mode browser needs Chromium",
                    "use --mode replay, or install Chromium (apt-get install -y chromium)",
                )
            })?;
            let r = reload::reload(
                browser,
                samples,
                exchanges,
                &jars,
                &reload::ReloadOptions {
                    repeat: opts.repeat,
                    timeout: opts.timeout,
                    max_requests: opts.max_requests,
                },
                progress,
            )
            .await?;
            for (n, rounds) in r.loads.iter().enumerate() {
                for (k, idx) in rounds.iter().enumerate() {
                    let label = format!("repeat {}", k + 1);
                    attempts[n].push(match idx {
                        Some(i) => attempt_of(&r.exchanges[*i], &label, dists.get(samples[n].dist)),
                        None => absent(&label),
                    });
                }
            }
            notes.extend(r.notes);
            repeat_exchanges = r.exchanges;
        }
    }

    // Judge every URL, then every behavior. Behaviors of several distributions (Jira and
    // Confluence) with the same pattern and expectation are reported as one.
    let mut traffic: Vec<&sample::Traffic> = selection.traffic.iter().collect();
    traffic.sort_by_key(|t| (t.behavior, t.dist));
    let mut groups: Vec<(String, Expect, Vec<&sample::Traffic>)> = Vec::new();
    for t in traffic {
        let expect = expect_of(t.dist, t.behavior).0;
        match groups
            .iter_mut()
            .find(|g| g.0 == t.pattern && g.1 == expect)
        {
            Some(g) => g.2.push(t),
            None => groups.push((t.pattern.clone(), expect, vec![t])),
        }
    }
    let mut behaviors = Vec::new();
    for (pattern, expect, members) in &groups {
        let mut judgements = Vec::new();
        let mut sequences = Vec::new();
        let mut urls = Vec::new();
        for t in members {
            let dist = &dists[t.dist];
            let explicit = expect_of(t.dist, t.behavior).1;
            let behavior = dist
                .behaviors
                .behaviors
                .get(t.behavior)
                .or_else(|| dist.behaviors.behaviors.iter().find(|b| b.is_default));
            let key_cookies = behavior
                .map(|b| b.key.cookies.clone())
                .unwrap_or(crate::cloudfront::NameSet::All);
            let key_query = behavior
                .map(|b| b.key.query.clone())
                .unwrap_or(crate::cloudfront::NameSet::All);
            for (n, s) in samples
                .iter()
                .enumerate()
                .filter(|(_, s)| s.dist == t.dist && s.behavior == t.behavior)
            {
                let subject = verdict::Subject {
                    expect: *expect,
                    explicit,
                    dynamic: s.dynamic,
                    key_cookies: key_cookies.clone(),
                    busters: s
                        .busters
                        .iter()
                        .filter(|b| key_query.contains(b))
                        .cloned()
                        .collect(),
                    off_distribution: s.off_distribution.clone(),
                };
                let j = verdict::judge(&subject, &attempts[n]);
                let a = &attempts[n];
                let url = redactor.redact_url(&s.url);
                sequences.push(Sequence {
                    url: url.clone(),
                    statuses: a.iter().map(|x| x.status_word()).collect(),
                    pops: a.iter().map(|x| x.cache.pop.clone()).collect(),
                    ages: a.iter().map(|x| x.cache.age).collect(),
                    http_statuses: a.iter().map(|x| x.http_status).collect(),
                    verdict: j.verdict,
                    reason: redactor.redact_text(&j.reason),
                });
                urls.push(url);
                judgements.push(j);
            }
        }
        let requests: usize = members.iter().map(|t| t.requests).sum();
        let candidates: usize = members.iter().map(|t| t.candidates).sum();
        let mut kinds: Vec<classify::AssetKind> = Vec::new();
        for k in members.iter().flat_map(|t| t.kinds.iter()) {
            if !kinds.contains(k) {
                kinds.push(*k);
            }
        }
        let j = if judgements.is_empty() {
            verdict::Judgement {
                verdict: Verdict::Inconclusive,
                reason: if candidates > 0 {
                    "not verified: the request cap left no room for this behavior (raise --max-requests)".into()
                } else {
                    "nothing to load again: the journeys made no GET/HEAD request here that can be safely repeated".into()
                },
            }
        } else {
            verdict::aggregate(&judgements)
        };
        let pass = verdict::meets(*expect, j.verdict);
        let ids = linked_findings(findings, pattern, &urls);
        let mut reason = redactor.redact_text(&j.reason);
        if (!pass || j.verdict == Verdict::Inconclusive) && !ids.is_empty() {
            reason.push_str(&format!(
                " — see finding{} {}",
                if ids.len() > 1 { "s" } else { "" },
                ids.join(", ")
            ));
        }
        behaviors.push(BehaviorReport {
            pattern: pattern.clone(),
            expect: *expect,
            verdict: j.verdict,
            reason,
            pass,
            sequences,
            urls,
            requests,
            asset_kinds: kinds.iter().map(|k| k.as_str().to_string()).collect(),
            findings: ids,
        });
    }
    let exercised: BTreeSet<&str> = groups.iter().map(|g| g.0.as_str()).collect();
    let mut idle: Vec<String> = Vec::new();
    for dist in dists {
        for i in 0..dist.behaviors.behaviors.len() {
            let p = dist.behaviors.effective_pattern(i);
            if !exercised.contains(p.as_str()) && !idle.contains(&p) {
                idle.push(p);
            }
        }
    }
    if !idle.is_empty() {
        notes.push(format!(
            "behaviors the journeys did not exercise (not verified): {}",
            idle.join(", ")
        ));
    }
    Ok(Verification {
        behaviors,
        exchanges: repeat_exchanges,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudfront::BehaviorSet;

    fn dist() -> Distribution {
        Distribution::new(BehaviorSet::seed_default(), [])
    }

    #[test]
    fn expect_rules_parse() {
        assert_eq!(
            "/s/*=hit".parse::<ExpectRule>(),
            Ok(ExpectRule {
                pattern: "/s/*".into(),
                expect: Expect::Hit
            })
        );
        assert_eq!(
            "*=BYPASS".parse::<ExpectRule>().unwrap().expect,
            Expect::Bypass
        );
        assert!("/s/*".parse::<ExpectRule>().is_err());
        assert!("/s/*=maybe".parse::<ExpectRule>().is_err());
        assert!("=hit".parse::<ExpectRule>().is_err());
    }

    #[test]
    fn expectations_from_ttls_then_rules() {
        let d = [dist(), dist()];
        let e = expectations(&d, &[]).unwrap();
        assert_eq!(e[0][0], (Expect::Hit, false), "/s/*");
        assert_eq!(
            e[0][6],
            (Expect::Bypass, false),
            "default forwards all headers"
        );
        let e = expectations(
            &d,
            &[
                "/s/*=bypass".parse().unwrap(),
                "default=hit".parse().unwrap(),
            ],
        )
        .unwrap();
        assert_eq!(e[1][0], (Expect::Bypass, true));
        assert_eq!(e[1][6], (Expect::Hit, true));
        let err = expectations(&d, &["/nope/*=hit".parse().unwrap()]).unwrap_err();
        assert!(err.to_string().contains("/s/*"), "{err}");
    }

    #[test]
    fn each_journey_has_its_own_jar() {
        let ex = |phase: &str, cookie: &str, t: f64| {
            let mut h = crate::exchange::Headers::new();
            h.push("Cookie", cookie);
            Exchange {
                url: "http://127.0.0.1:8000/s/a.js".into(),
                method: "GET".into(),
                request_headers: h,
                phase: phase.into(),
                timing: crate::exchange::Timing {
                    start_ms: t,
                    ..Default::default()
                },
                ..Default::default()
            }
        };
        let caps = [
            ex("jira#1 goto /", "JSESSIONID=j1", 1.0),
            ex("confluence#1 goto /", "JSESSIONID=c1", 2.0),
            ex("jira#2 goto /x", "JSESSIONID=j2", 3.0),
        ];
        let jars = jars(&caps);
        let u = url::Url::parse("http://127.0.0.1:8000/s/a.js").unwrap();
        let header = |s: &str| {
            jars[s]
                .lock()
                .unwrap()
                .header_for(&u, Some("JSESSIONID=old"), false)
        };
        assert_eq!(header("jira").as_deref(), Some("JSESSIONID=j2"));
        assert_eq!(header("confluence").as_deref(), Some("JSESSIONID=c1"));
    }

    #[test]
    fn findings_link_by_behavior_or_url() {
        use crate::diagnose::{Evidence, Severity};
        let f = |id: &str, b: Option<&str>, url: &str| Finding {
            id: id.into(),
            severity: Severity::Error,
            title: id.into(),
            behavior: b.map(Into::into),
            explanation: String::new(),
            evidence: vec![Evidence {
                url: url.into(),
                lines: vec![],
            }],
            fix: String::new(),
            location: None,
            config_fix: None,
        };
        let fs = [
            f("rotating-cookie-in-key", Some("/s/*"), "http://h/x"),
            f("expires-before-date", None, "http://h/s/a.js?locale=en"),
            f("unrelated", None, "http://h/other"),
        ];
        let ids = linked_findings(&fs, "/s/*", &["http://h/s/a.js?locale=fr".into()]);
        assert_eq!(ids, vec!["rotating-cookie-in-key", "expires-before-date"]);
    }
}
