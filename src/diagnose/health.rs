//! Atlassian's own CDN health check: `GET <base>/rest/static-asset-caching/health-checks`.
//!
//! Jira 8.3+ and Confluence 7.0+ Data Center answer it with a list of named checks (fonts not
//! declared `allow-public-use`, CDN prefix, ...), each with `isHealthy` and a `failureReason`.
//! The answer is kept verbatim (redacted) in the report, whatever its shape; a failing check is a
//! finding with the check's own words, and a 404 only means the version has no such check. The
//! answer's shape is not documented, so reading it is lenient: any object in it with
//! `isHealthy`/`healthy`/`passed` false, or a `status`/`result` of fail/error/unhealthy, is a
//! failing check.
//!
//! `fetch` is the only network code in `diagnose`: it runs once per journey base URL after the
//! journeys, with the journey's own cookies (the check may need a logged-in administrator).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Evidence, Finding, Severity, ids};
use crate::exchange::Exchange;
use crate::redact::Redactor;

pub const PATH: &str = "rest/static-asset-caching/health-checks";
/// Longer answers are cut (the report keeps the head, and says so).
const MAX_BODY: usize = 64 * 1024;

/// One call of the health check, as answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HealthCheck {
    pub url: String,
    /// HTTP status; `None` when the request failed (see `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The answer verbatim (secrets redacted; cut at 64 KiB).
    #[serde(default)]
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `<base>/rest/static-asset-caching/health-checks`: the base URL's origin plus the context path
/// (given, or the base URL's path without a trailing file name such as `Dashboard.jspa`).
pub fn health_url(base: &str, context_path: Option<&str>) -> Option<url::Url> {
    let mut u = url::Url::parse(base).ok()?;
    let ctx = match context_path {
        Some(cp) => crate::cloudfront::behavior::normalize_context_path(cp),
        None => {
            let p = u.path().trim_end_matches('/').to_string();
            let p = match p.rsplit_once('/') {
                Some((head, last)) if last.contains('.') => head.to_string(),
                _ => p,
            };
            crate::cloudfront::behavior::normalize_context_path(&p)
        }
    };
    u.set_query(None);
    u.set_fragment(None);
    u.set_path(&format!("{ctx}/{PATH}"));
    Some(u)
}

/// The last `Cookie` header the browser sent to `url`'s host and port (the journey's session).
pub fn journey_cookie(exchanges: &[Exchange], url: &url::Url) -> Option<String> {
    let want = crate::classify::edge::host_port(url)?;
    exchanges
        .iter()
        .rev()
        .filter(|ex| {
            url::Url::parse(&ex.url)
                .ok()
                .and_then(|u| crate::classify::edge::host_port(&u))
                .is_some_and(|h| h.eq_ignore_ascii_case(&want))
        })
        .find_map(|ex| ex.request_headers.get("cookie").map(str::to_string))
}

/// Call the health check once. Never fails: a transport error is recorded in `error`.
pub async fn fetch(
    url: &url::Url,
    cookie: Option<&str>,
    insecure: bool,
    timeout: Duration,
) -> HealthCheck {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut hc = HealthCheck {
        url: url.to_string(),
        ..Default::default()
    };
    let client = match reqwest::Client::builder()
        .timeout(timeout)
        .danger_accept_invalid_certs(insecure)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            hc.error = Some(e.to_string());
            return hc;
        }
    };
    let mut req = client
        .get(url.clone())
        .header("Accept", "application/json")
        .header(
            "User-Agent",
            concat!("cdnprobe/", env!("CARGO_PKG_VERSION")),
        );
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    match req.send().await {
        Ok(resp) => {
            hc.status = Some(resp.status().as_u16());
            hc.content_type = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            match resp.text().await {
                Ok(mut body) => {
                    if body.len() > MAX_BODY {
                        let mut cut = MAX_BODY;
                        while !body.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        body.truncate(cut);
                        body.push_str("\n[cut at 64 KiB]");
                    }
                    hc.body = body;
                }
                Err(e) => hc.error = Some(format!("reading the answer: {e}")),
            }
        }
        Err(e) => hc.error = Some(e.to_string()),
    }
    hc
}

/// Call the health check for each journey base URL (once per URL), with that host's cookies,
/// redacted for the report.
pub async fn check_all(
    bases: &[String],
    context_path: Option<&str>,
    exchanges: &[Exchange],
    redactor: &Redactor,
    insecure: bool,
    timeout: Duration,
) -> Vec<HealthCheck> {
    let mut urls: Vec<url::Url> = Vec::new();
    for b in bases {
        if let Some(u) = health_url(b, context_path)
            && !urls.contains(&u)
        {
            urls.push(u);
        }
    }
    let mut out = Vec::new();
    for u in urls {
        let cookie = journey_cookie(exchanges, &u);
        let hc = fetch(&u, cookie.as_deref(), insecure, timeout).await;
        out.push(HealthCheck {
            url: redactor.redact_url(&hc.url),
            body: redactor.redact_text(&hc.body),
            error: hc.error.as_deref().map(|e| redactor.redact_text(e)),
            ..hc
        });
    }
    out
}

/// Put health-check answers and their findings into a report (re-sorted, re-summarized).
///
/// A failing "CDN prefix" check (Jira's `jira.fixed.cdn.*` not set) is only context when the
/// capture shows `/s/` resources already coming through a CDN: the whole site is behind it (the
/// seed's proxy setup), which does not need Jira's own CDN prefix.
pub fn attach(report: &mut crate::report::Report, checks: Vec<HealthCheck>) {
    let static_via_cdn = report
        .requests
        .iter()
        .any(|r| super::headers::is_versioned_s(&r.url) && r.class.cache.went_through_cdn());
    for hc in checks {
        for mut f in findings(&hc) {
            let about_prefix = f
                .evidence
                .iter()
                .flat_map(|e| &e.lines)
                .any(|l| is_cdn_prefix_check(l));
            if f.id == ids::HEALTH_CHECK_FAILED.id && about_prefix && static_via_cdn {
                f.severity = Severity::Info;
                f.explanation.push_str(
                    " Here /s/ resources already come through a CDN (the whole site is behind it), so Jira/Confluence's own CDN prefix is not needed.",
                );
            }
            report.findings.push(f);
        }
        report.health_checks.push(hc);
    }
    super::sort(&mut report.findings);
    report.summarize();
}

/// A check about Jira/Confluence's own CDN prefix (`jira.fixed.cdn.enabled` / `.prefix`).
fn is_cdn_prefix_check(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("cdn-enabled")
        || t.contains("cdn prefix")
        || t.contains("cdn.enabled")
        || t.contains("cdn.prefix")
}

/// A failing check found in the answer: its JSON object and the severity it claims.
fn failing_checks(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| failing_checks(x, out)),
        Value::Object(o) => {
            let flag_false = ["isHealthy", "healthy", "passed", "success", "ok"]
                .iter()
                .any(|k| o.get(*k) == Some(&Value::Bool(false)));
            let status_bad = ["status", "result", "state"].iter().any(|k| {
                o.get(*k).and_then(Value::as_str).is_some_and(|s| {
                    matches!(
                        s.to_ascii_lowercase().as_str(),
                        "fail" | "failed" | "failure" | "error" | "unhealthy" | "critical"
                    )
                })
            });
            if flag_false || status_bad {
                out.push(v.clone());
            } else {
                o.values().for_each(|x| failing_checks(x, out));
            }
        }
        _ => {}
    }
}

fn text(o: &Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| {
            o.get(*k)
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
        })
        .map(str::to_string)
}

/// Findings for one health-check answer.
pub fn findings(hc: &HealthCheck) -> Vec<Finding> {
    let ev = |lines: Vec<String>| {
        vec![Evidence {
            url: hc.url.clone(),
            lines,
        }]
    };
    let first_line = hc
        .body
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(300)
        .collect::<String>();
    let unavailable = |why: String| {
        let mut lines = vec![match hc.status {
            Some(s) => format!("HTTP {s}"),
            None => format!("no answer: {}", hc.error.as_deref().unwrap_or("?")),
        }];
        if !first_line.is_empty() {
            lines.push(first_line.clone());
        }
        vec![ids::HEALTH_CHECK_UNAVAILABLE.finding(None, why, ev(lines))]
    };
    match hc.status {
        None => unavailable("The health check could not be fetched; the other findings stand on their own.".into()),
        Some(404) => unavailable("404: this Jira/Confluence version has no static asset caching health check (it came with Jira 8.3 and Confluence 7.0 Data Center).".into()),
        Some(401 | 403) => unavailable(format!("{}: the health check needs an administrator's session; run a journey that logs in as an administrator.", hc.status.unwrap_or(0))),
        Some(s) if s >= 500 => vec![ids::HEALTH_CHECK_FAILED.finding(
            None,
            format!("The health check itself failed with HTTP {s}."),
            ev(vec![format!("HTTP {s}"), first_line.clone()]),
        )],
        Some(s) if !(200..300).contains(&s) => unavailable(format!("The health check answered HTTP {s}.")),
        Some(s) => {
            let Ok(json) = serde_json::from_str::<Value>(&hc.body) else {
                return unavailable(format!(
                    "The health check answered HTTP {s} with {} instead of JSON (a login page?).",
                    hc.content_type.as_deref().unwrap_or("no content type")
                ));
            };
            let mut bad = Vec::new();
            failing_checks(&json, &mut bad);
            bad.iter()
                .map(|c| {
                    let name = text(c, &["name", "completeKey", "key", "id"]).unwrap_or_else(|| "a check".into());
                    let reason = text(c, &["failureReason", "failure", "message", "description", "reason"]).unwrap_or_default();
                    let claimed = text(c, &["severity", "level"]).unwrap_or_default().to_ascii_lowercase();
                    let severity = match claimed.as_str() {
                        "critical" | "major" | "error" | "high" => Severity::Error,
                        _ => Severity::Warn,
                    };
                    let mut f = ids::HEALTH_CHECK_FAILED.finding(
                        None,
                        format!(
                            "Atlassian's check \"{name}\" reports a failure{}{}.",
                            if reason.is_empty() { String::new() } else { format!(": {reason}") },
                            if claimed.is_empty() { String::new() } else { format!(" (severity {claimed})") }
                        ),
                        ev(vec![format!("HTTP {s}"), c.to_string()]),
                    );
                    f.severity = severity;
                    f.title = format!("Atlassian health check failed: {name}");
                    f
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hc(status: u16, body: &str) -> HealthCheck {
        HealthCheck {
            url: "https://jira.example.com/rest/static-asset-caching/health-checks".into(),
            status: Some(status),
            content_type: Some("application/json".into()),
            body: body.into(),
            error: None,
        }
    }

    #[test]
    fn health_url_keeps_the_context_path() {
        let u = |b: &str, c: Option<&str>| health_url(b, c).unwrap().to_string();
        assert_eq!(
            u("https://j.example.com", None),
            "https://j.example.com/rest/static-asset-caching/health-checks"
        );
        assert_eq!(
            u("https://j.example.com/jira/", None),
            "https://j.example.com/jira/rest/static-asset-caching/health-checks"
        );
        assert_eq!(
            u("https://j.example.com/secure/Dashboard.jspa?x=1", None),
            "https://j.example.com/secure/rest/static-asset-caching/health-checks"
        );
        assert_eq!(
            u("https://j.example.com/secure/Dashboard.jspa", Some("/")),
            "https://j.example.com/rest/static-asset-caching/health-checks"
        );
        assert_eq!(
            u("http://127.0.0.1:8080/x", Some("jira")),
            "http://127.0.0.1:8080/jira/rest/static-asset-caching/health-checks"
        );
    }

    #[test]
    fn a_failing_check_is_a_finding_with_its_own_words() {
        let body = r#"{"cdnPrefix":null,"statuses":[
            {"completeKey":"k:fonts","name":"Fonts are public","isHealthy":false,"failureReason":"plugin x: adgs-icons.woff not allow-public-use","severity":"critical"},
            {"completeKey":"k:ok","name":"Fine","isHealthy":true,"failureReason":"","severity":"undefined"},
            {"name":"Prefix","isHealthy":false,"failureReason":"no CDN prefix","severity":"warning"}]}"#;
        let f = findings(&hc(200, body));
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].id, "health-check-failed");
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(
            f[0].title,
            "Atlassian health check failed: Fonts are public"
        );
        assert!(f[0].explanation.contains("not allow-public-use"));
        assert!(f[0].evidence[0].lines[1].contains("\"isHealthy\":false"));
        assert_eq!(f[1].severity, Severity::Warn);
    }

    #[test]
    fn a_missing_cdn_prefix_is_context_when_the_site_is_behind_the_cdn() {
        use crate::diagnose::testkit::*;
        let body = r#"{"statuses":[{"completeKey":"x:cdn-enabled","name":"CDN prefix configured","isHealthy":false,"failureReason":"jira.fixed.cdn.enabled is false","severity":"warning"}]}"#;
        let d = seed();
        let mut report = crate::report::Report {
            requests: records(&[Rec::static_ok(S_JS, "Hit")], Some(&d)),
            ..Default::default()
        };
        attach(&mut report, vec![hc(200, body)]);
        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.findings[0].severity, Severity::Info);
        assert_eq!(report.health_checks.len(), 1);
        assert_eq!(report.summary.findings_info, 1);
        // Without a CDN in front of /s/, the same answer is a warning.
        let mut report = crate::report::Report {
            requests: records(&[Rec::get(S_JS)], Some(&d)),
            ..Default::default()
        };
        attach(&mut report, vec![hc(200, body)]);
        assert_eq!(report.findings[0].severity, Severity::Warn);
    }

    #[test]
    fn healthy_answer_has_no_finding() {
        let body = r#"{"statuses":[{"name":"Fine","isHealthy":true}]}"#;
        assert!(findings(&hc(200, body)).is_empty());
        assert!(findings(&hc(200, "[]")).is_empty());
    }

    #[test]
    fn not_found_or_forbidden_is_info() {
        for s in [404, 401, 403] {
            let f = findings(&hc(s, "<html>nope</html>"));
            assert_eq!(f.len(), 1);
            assert_eq!(f[0].id, "health-check-unavailable");
            assert_eq!(f[0].severity, Severity::Info);
        }
        assert!(
            findings(&hc(404, ""))[0]
                .explanation
                .contains("no static asset caching health check")
        );
        let f = findings(&hc(200, "<html>login</html>"));
        assert_eq!(f[0].id, "health-check-unavailable");
        assert_eq!(findings(&hc(500, "boom"))[0].id, "health-check-failed");
        let mut e = hc(0, "");
        e.status = None;
        e.error = Some("connection refused".into());
        assert_eq!(findings(&e)[0].severity, Severity::Info);
    }

    #[test]
    fn journey_cookie_is_the_last_one_sent_to_the_host() {
        let ex = |url: &str, c: &str| {
            let mut e = Exchange {
                url: url.into(),
                ..Default::default()
            };
            e.request_headers.push("Cookie", c);
            e
        };
        let exs = vec![
            ex("https://j.example.com/login.jsp", "JSESSIONID=anon"),
            ex(
                "https://j.example.com/secure/Dashboard.jspa",
                "JSESSIONID=auth",
            ),
            ex("https://other.example.com/x", "z=1"),
        ];
        let u = url::Url::parse("https://j.example.com/rest/static-asset-caching/health-checks")
            .unwrap();
        assert_eq!(journey_cookie(&exs, &u).as_deref(), Some("JSESSIONID=auth"));
    }

    #[test]
    fn fetch_reads_a_real_answer_with_the_cookie() {
        use axum::{Router, http::HeaderMap, routing::get};
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let app = Router::new().route(
                "/jira/rest/static-asset-caching/health-checks",
                get(|h: HeaderMap| async move {
                    let ok = h.get("cookie").and_then(|c| c.to_str().ok()) == Some("JSESSIONID=s1");
                    format!(r#"{{"statuses":[{{"name":"session","isHealthy":{ok}}}]}}"#)
                }),
            );
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
            let u = health_url(&format!("http://{addr}/jira/"), None).unwrap();
            let hc = fetch(&u, Some("JSESSIONID=s1"), false, Duration::from_secs(10)).await;
            assert_eq!(hc.status, Some(200));
            assert!(hc.body.contains("\"isHealthy\":true"), "{}", hc.body);
            assert!(findings(&hc).is_empty());
            let missing = health_url(&format!("http://{addr}/"), None).unwrap();
            let hc = fetch(&missing, None, false, Duration::from_secs(10)).await;
            assert_eq!(hc.status, Some(404));
            assert_eq!(findings(&hc)[0].id, "health-check-unavailable");
        });
    }
}
