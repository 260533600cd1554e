//! `cdnprobe diff A B`: what changed between two runs (UAT vs prod, before vs after a CDN change):
//! behavior verdicts, findings, and response headers and edge TTLs per URL path.
//!
//! A *regression* — exit 1 — is a behavior that met its expectation in A and does not in B, a new
//! error finding, or a journey step that passed in A and fails in B. Everything else is reported
//! but exits 0, so the command can gate a pipeline.
//!
//! Headers are compared after removing what differs on every request anyway (dates, `Age`, request
//! and trace ids, edge ids and POPs, `Content-Length`) and normalising what is relative (`Expires`
//! becomes `Date+Ns`, `Set-Cookie` keeps names and attributes, redaction markers drop their
//! per-run hash). Paths are compared without host and query, and Atlassian's versioned `/s/<hashes>/`
//! prefix is folded to `/s/*/`, so UAT and prod (different hosts, different builds) line up.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::Serialize;

use super::Report;
use super::terminal::grouped_sequences;
use crate::classify::Record;
use crate::diagnose::{Finding, Severity};
use crate::verify::BehaviorReport;

/// Response headers whose values differ between any two requests and say nothing about config.
pub(crate) const VOLATILE_HEADERS: &[&str] = &[
    "date",
    "age",
    "content-length",
    "x-amz-cf-id",
    "x-amz-cf-pop",
    "via",
    "x-cache",
    "server-timing",
    "x-request-id",
    "x-arequestid",
    "x-confluence-request-time",
    "x-asessionid",
    "x-amzn-requestid",
    "x-amzn-trace-id",
    "x-amz-request-id",
    "x-amz-id-2",
    "request-id",
    "x-correlation-id",
    "traceparent",
    "tracestate",
    "cf-ray",
    "x-served-by",
    "x-cache-hits",
    "x-timer",
    "x-azure-ref",
    "x-msedge-ref",
    "x-akamai-request-id",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
    "x-b3-sampled",
];

#[derive(Debug, Clone, Serialize)]
pub struct BehaviorSide {
    pub verdict: String,
    pub pass: bool,
    /// Distinct sequences with their counts (`M H H H ×33 | M M H H ×2`).
    pub sequences: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BehaviorChange {
    pub pattern: String,
    pub before: Option<BehaviorSide>,
    pub after: Option<BehaviorSide>,
    pub regression: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingRef {
    pub id: String,
    pub severity: Severity,
    pub behavior: Option<String>,
    pub title: String,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub name: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PathChange {
    /// Path without host and query, `/s/` prefix folded.
    pub path: String,
    /// Status, TTL and header changes.
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    pub a: String,
    pub b: String,
    pub behaviors: Vec<BehaviorChange>,
    pub new_findings: Vec<FindingRef>,
    pub resolved_findings: Vec<FindingRef>,
    pub paths: Vec<PathChange>,
    pub only_in_a: Vec<String>,
    pub only_in_b: Vec<String>,
    /// One line per regression; non-empty means exit 1.
    pub regressions: Vec<String>,
}

impl Diff {
    pub fn is_regression(&self) -> bool {
        !self.regressions.is_empty()
    }
    pub fn exit_code(&self) -> i32 {
        if self.is_regression() {
            crate::error::exit::CHECK_FAILED
        } else {
            crate::error::exit::OK
        }
    }
}

/// `/jira/s/<hash>-CDN/en_US/9/1/_/download/batch.js` -> `/jira/s/*/_/download/batch.js`.
pub(crate) fn path_key(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    if !matches!(u.scheme(), "http" | "https" | "ws" | "wss") {
        return None;
    }
    let path = u.path();
    if let Some(i) = path.find("/s/")
        && let Some(j) = path[i + 2..].find("/_/")
    {
        return Some(format!("{}/s/*{}", &path[..i], &path[i + 2 + j..]));
    }
    Some(path.to_string())
}

/// `<redacted:1a2b3c4d>` -> `<redacted>` (the hash is keyed per run).
fn unmark(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("<redacted:") {
        out.push_str(&rest[..i]);
        out.push_str("<redacted>");
        match rest[i..].find('>') {
            Some(j) => rest = &rest[i + j + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// `NAME; Path=/; HttpOnly` per cookie: names and attributes are config, values and dates are not.
fn normalize_set_cookie(v: &str) -> String {
    let mut cookies: Vec<String> = v
        .split('\n')
        .filter(|c| !c.trim().is_empty())
        .map(|c| {
            let mut parts = c.split(';').map(str::trim);
            let name = parts
                .next()
                .and_then(|nv| nv.split_once('=').map(|(n, _)| n).or(Some(nv)))
                .unwrap_or("")
                .to_string();
            let attrs: Vec<String> = parts
                .filter(|a| !a.is_empty())
                .map(|a| match a.split_once('=') {
                    Some((k, _))
                        if k.eq_ignore_ascii_case("expires")
                            || k.eq_ignore_ascii_case("max-age") =>
                    {
                        k.to_string()
                    }
                    _ => a.to_string(),
                })
                .collect();
            std::iter::once(name)
                .chain(attrs)
                .collect::<Vec<_>>()
                .join("; ")
        })
        .collect();
    cookies.sort();
    cookies.join(" | ")
}

/// `Expires` relative to the response's `Date`: `Date+3600s`, `Date-0s` style.
fn normalize_expires(v: &str, date: Option<&str>) -> String {
    let (Ok(e), Some(Ok(d))) = (
        httpdate::parse_http_date(v),
        date.map(httpdate::parse_http_date),
    ) else {
        return v.to_string();
    };
    // In the past is in the past (1970, or a second ago): already stale either way.
    match e.duration_since(d) {
        Ok(ahead) => format!("Date+{}s", ahead.as_secs()),
        Err(_) => "before Date".into(),
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(u.origin().ascii_serialization()).filter(|o| o != "null")
}

/// Epoch timestamps in seconds or milliseconds (`X-Confluence-Request-Time: 1795563787135`).
fn looks_like_timestamp(v: &str) -> bool {
    matches!(v.len(), 10 | 13) && v.bytes().all(|b| b.is_ascii_digit())
}

/// The comparable response headers of one record: name (lower case) -> normalized value. The
/// site's own origin becomes `<origin>` (UAT and prod differ only in host; an
/// `Access-Control-Allow-Origin` that echoes the page is the same answer on both).
pub(crate) fn comparable_headers(r: &Record) -> BTreeMap<String, String> {
    let date = r.response_headers.get("date");
    let origins: Vec<String> = origin_of(&r.url)
        .into_iter()
        .chain(r.request_headers.get("origin").map(str::to_string))
        .filter(|o| o != "null")
        .collect();
    let mut out = BTreeMap::new();
    for (name, value) in r.response_headers.iter() {
        let name = name.to_ascii_lowercase();
        if name.starts_with(':') || VOLATILE_HEADERS.contains(&name.as_str()) {
            continue;
        }
        let v = match name.as_str() {
            "set-cookie" => normalize_set_cookie(value),
            "expires" => normalize_expires(value, date),
            _ => value.to_string(),
        };
        let mut v = unmark(&v);
        for o in &origins {
            v = v.replace(o.as_str(), "<origin>");
        }
        if looks_like_timestamp(&v) {
            v = "<timestamp>".into();
        }
        out.entry(name)
            .and_modify(|e: &mut String| {
                e.push('\n');
                e.push_str(&v)
            })
            .or_insert(v);
    }
    out
}

fn ttl_text(r: &Record) -> Option<String> {
    r.class.edge_treatment.as_ref().map(|t| {
        if t.store {
            format!("stored {} s ({})", t.ttl_secs, t.rule)
        } else {
            format!("not stored ({})", t.rule)
        }
    })
}

/// The request that stands for its path: the first real network response.
fn representatives(report: &Report) -> BTreeMap<String, &Record> {
    let mut out: BTreeMap<String, &Record> = BTreeMap::new();
    for r in &report.requests {
        let Some(k) = path_key(&r.url) else { continue };
        let good = r.status.is_some() && !r.from_browser_cache();
        match out.get(&k) {
            Some(prev) if prev.status.is_some() && !prev.from_browser_cache() => {}
            Some(_) if !good => {}
            _ => {
                out.insert(k, r);
            }
        }
    }
    out
}

fn side(b: &BehaviorReport) -> BehaviorSide {
    BehaviorSide {
        verdict: b.verdict.to_string(),
        pass: b.pass,
        sequences: grouped_sequences(b.sequences.iter().map(|s| s.statuses.as_slice()), 4),
    }
}

fn finding_ref(f: &Finding) -> FindingRef {
    FindingRef {
        id: f.id.clone(),
        severity: f.severity,
        behavior: f.behavior.clone(),
        title: f.title.clone(),
        url: f.evidence.first().map(|e| e.url.clone()),
    }
}

fn describe(r: &Report) -> String {
    format!("{} ({})", r.target, r.started_at)
}

pub fn diff(a: &Report, b: &Report) -> Diff {
    let mut regressions = Vec::new();

    // Behaviors, in A's order then B's new ones.
    let mut patterns: Vec<&str> = a.behaviors.iter().map(|x| x.pattern.as_str()).collect();
    for x in &b.behaviors {
        if !patterns.contains(&x.pattern.as_str()) {
            patterns.push(&x.pattern);
        }
    }
    let mut behaviors = Vec::new();
    for p in patterns {
        let before = a.behaviors.iter().find(|x| x.pattern == p);
        let after = b.behaviors.iter().find(|x| x.pattern == p);
        let changed = match (before, after) {
            (Some(x), Some(y)) => x.verdict != y.verdict || x.pass != y.pass,
            _ => true,
        };
        if !changed {
            continue;
        }
        let regression = before.is_some_and(|x| x.pass) && after.is_some_and(|y| !y.pass);
        if regression {
            let y = after.unwrap();
            regressions.push(format!(
                "behavior {p}: {} -> {} ({})",
                before.unwrap().verdict,
                y.verdict,
                y.reason
            ));
        }
        behaviors.push(BehaviorChange {
            pattern: p.to_string(),
            before: before.map(side),
            after: after.map(side),
            regression,
        });
    }

    // Findings by (id, behavior).
    let key = |f: &Finding| (f.id.clone(), f.behavior.clone());
    let ka: BTreeSet<_> = a.findings.iter().map(key).collect();
    let kb: BTreeSet<_> = b.findings.iter().map(key).collect();
    let new_findings: Vec<FindingRef> = b
        .findings
        .iter()
        .filter(|f| !ka.contains(&key(f)))
        .map(finding_ref)
        .collect();
    let resolved_findings: Vec<FindingRef> = a
        .findings
        .iter()
        .filter(|f| !kb.contains(&key(f)))
        .map(finding_ref)
        .collect();
    for f in new_findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
    {
        regressions.push(format!(
            "new error finding {}{}: {}",
            f.id,
            f.behavior
                .as_deref()
                .map(|b| format!(" [{b}]"))
                .unwrap_or_default(),
            f.title
        ));
    }

    // Journey steps that passed in A and fail in B.
    for jb in &b.journeys {
        let Some(ja) = a.journeys.iter().find(|j| j.name == jb.name) else {
            continue;
        };
        for sb in jb.steps.iter().filter(|s| !s.ok) {
            if ja.steps.iter().any(|s| s.index == sb.index && s.ok) {
                regressions.push(format!(
                    "journey {} step #{} `{}` now fails: {}",
                    jb.name,
                    sb.index,
                    sb.description,
                    sb.error.as_deref().unwrap_or("failed")
                ));
            }
        }
    }

    // Paths.
    let ra = representatives(a);
    let rb = representatives(b);
    let mut paths = Vec::new();
    for (path, x) in &ra {
        let Some(y) = rb.get(path) else { continue };
        let mut changes = Vec::new();
        if x.status != y.status {
            changes.push(Change {
                name: "status".into(),
                before: x.status.map(|s| s.to_string()),
                after: y.status.map(|s| s.to_string()),
            });
        }
        let (ta, tb) = (ttl_text(x), ttl_text(y));
        let ttl_key = |r: &Record| {
            r.class
                .edge_treatment
                .as_ref()
                .map(|t| (t.store, t.ttl_secs))
        };
        if ttl_key(x) != ttl_key(y) {
            changes.push(Change {
                name: "edge TTL".into(),
                before: ta,
                after: tb,
            });
        }
        let (ha, hb) = (comparable_headers(x), comparable_headers(y));
        let names: BTreeSet<&String> = ha.keys().chain(hb.keys()).collect();
        for n in names {
            let (va, vb) = (ha.get(n), hb.get(n));
            if va != vb {
                changes.push(Change {
                    name: n.clone(),
                    before: va.cloned(),
                    after: vb.cloned(),
                });
            }
        }
        if !changes.is_empty() {
            paths.push(PathChange {
                path: path.clone(),
                changes,
            });
        }
    }
    let only_in_a = ra
        .keys()
        .filter(|k| !rb.contains_key(*k))
        .cloned()
        .collect();
    let only_in_b = rb
        .keys()
        .filter(|k| !ra.contains_key(*k))
        .cloned()
        .collect();

    Diff {
        a: describe(a),
        b: describe(b),
        behaviors,
        new_findings,
        resolved_findings,
        paths,
        only_in_a,
        only_in_b,
        regressions,
    }
}

/// How many changed paths the text view lists (the JSON has them all).
pub(crate) const MAX_PATHS_SHOWN: usize = 40;

fn opt(v: &Option<String>) -> String {
    match v {
        Some(s) => s.replace('\n', " | "),
        None => "(none)".into(),
    }
}

/// The text `cdnprobe diff` prints.
pub fn render(d: &Diff) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "A: {}\nB: {}", d.a, d.b);

    let _ = writeln!(t, "\nbehaviors:");
    if d.behaviors.is_empty() {
        let _ = writeln!(t, "  no verdict changed");
    }
    for c in &d.behaviors {
        let show = |s: &Option<BehaviorSide>| match s {
            Some(s) => format!(
                "{} {}{}",
                if s.pass { "met" } else { "FAILED" },
                s.verdict,
                if s.sequences == "-" {
                    String::new()
                } else {
                    format!(" [{}]", s.sequences)
                }
            ),
            None => "(absent)".into(),
        };
        let _ = writeln!(
            t,
            "  {}{}: {} -> {}",
            if c.regression { "REGRESSION " } else { "" },
            c.pattern,
            show(&c.before),
            show(&c.after)
        );
    }

    let _ = writeln!(t, "\nfindings:");
    if d.new_findings.is_empty() && d.resolved_findings.is_empty() {
        let _ = writeln!(t, "  no change");
    }
    for (mark, list, what) in [
        ("+", &d.new_findings, "new"),
        ("-", &d.resolved_findings, "resolved"),
    ] {
        for f in list {
            let _ = writeln!(
                t,
                "  {mark} {:<5} {}{}: {} ({what})",
                f.severity.as_str(),
                f.id,
                f.behavior
                    .as_deref()
                    .map(|b| format!(" [{b}]"))
                    .unwrap_or_default(),
                f.title
            );
        }
    }

    let _ = writeln!(t, "\npaths ({} changed):", d.paths.len());
    for p in d.paths.iter().take(MAX_PATHS_SHOWN) {
        let _ = writeln!(t, "  {}", p.path);
        for c in &p.changes {
            let _ = writeln!(t, "    {}: {} -> {}", c.name, opt(&c.before), opt(&c.after));
        }
    }
    if d.paths.len() > MAX_PATHS_SHOWN {
        let _ = writeln!(
            t,
            "  … and {} more (cdnprobe diff --json)",
            d.paths.len() - MAX_PATHS_SHOWN
        );
    }
    if !d.only_in_a.is_empty() || !d.only_in_b.is_empty() {
        let _ = writeln!(
            t,
            "  {} path(s) only in A, {} only in B",
            d.only_in_a.len(),
            d.only_in_b.len()
        );
    }

    if d.regressions.is_empty() {
        let _ = writeln!(t, "\nno regression");
    } else {
        let _ = writeln!(t, "\n{} regression(s):", d.regressions.len());
        for r in &d.regressions {
            let _ = writeln!(t, "  {r}");
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::Headers;

    fn record(url: &str, origin: Option<&str>, resp: &[(&str, &str)]) -> Record {
        let mut req = Headers::new();
        if let Some(o) = origin {
            req.push("Origin", o);
        }
        let mut r = Record::classify(
            crate::exchange::Exchange {
                url: url.into(),
                method: "GET".into(),
                status: Some(200),
                request_headers: req,
                ..Default::default()
            },
            &[],
        );
        r.response_headers = Headers::from_pairs(
            resp.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        );
        r
    }

    #[test]
    fn uat_and_prod_hosts_and_timestamps_do_not_count_as_changes() {
        let uat = record(
            "https://uat.example.com/s/a/_/x.woff",
            Some("https://uat.example.com"),
            &[
                ("Access-Control-Allow-Origin", "https://uat.example.com"),
                ("X-Confluence-Request-Time", "1795563787135"),
                ("X-Ratelimit-Reset", "1795563787"),
                ("Cache-Control", "max-age=31536000"),
            ],
        );
        let prod = record(
            "https://prod.example.com/s/b/_/x.woff",
            Some("https://prod.example.com"),
            &[
                ("Access-Control-Allow-Origin", "https://prod.example.com"),
                ("X-Confluence-Request-Time", "1795563837674"),
                ("X-Ratelimit-Reset", "1795563999"),
                ("Cache-Control", "max-age=31536000"),
            ],
        );
        assert_eq!(comparable_headers(&uat), comparable_headers(&prod));
        let wildcard = record(
            "https://prod.example.com/x",
            None,
            &[("Access-Control-Allow-Origin", "*")],
        );
        assert_eq!(
            comparable_headers(&wildcard)["access-control-allow-origin"],
            "*"
        );
    }

    #[test]
    fn path_key_folds_the_versioned_s_prefix_and_drops_host_and_query() {
        assert_eq!(
            path_key("https://uat.example.com/jira/s/d41d8-CDN/en_US/9/1/_/download/batch.js?locale=en-US").unwrap(),
            "/jira/s/*/_/download/batch.js"
        );
        assert_eq!(
            path_key("https://prod.example.com/jira/s/ffff-CDN/en_US/10/2/_/download/batch.js")
                .unwrap(),
            "/jira/s/*/_/download/batch.js"
        );
        assert_eq!(
            path_key("https://h/secure/Dashboard.jspa?x=1").unwrap(),
            "/secure/Dashboard.jspa"
        );
        assert_eq!(path_key("data:image/png;base64,xx"), None);
    }

    #[test]
    fn volatile_values_are_normalized() {
        assert_eq!(
            normalize_expires(
                "Tue, 24 Nov 2026 10:00:00 GMT",
                Some("Tue, 24 Nov 2026 10:00:00 GMT")
            ),
            "Date+0s"
        );
        assert_eq!(
            normalize_expires(
                "Tue, 24 Nov 2026 11:00:00 GMT",
                Some("Tue, 24 Nov 2026 10:00:00 GMT")
            ),
            "Date+3600s"
        );
        assert_eq!(
            normalize_set_cookie(
                "AWSALB=<redacted:11223344>; Expires=Tue, 01 Dec 2026 10:00:00 GMT; Path=/\nJSESSIONID=<redacted:aa>; Path=/; HttpOnly"
            ),
            "AWSALB; Expires; Path=/ | JSESSIONID; Path=/; HttpOnly"
        );
        assert_eq!(
            unmark("a <redacted:1a2b3c4d> b <redacted:ffff0000>"),
            "a <redacted> b <redacted>"
        );
    }
}
