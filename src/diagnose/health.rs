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

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Evidence, Finding, Severity, ids};
use crate::exchange::Exchange;

pub const PATH: &str = "rest/static-asset-caching/health-checks";
/// Longer answers are cut (the report keeps the head, and says so).
pub(crate) const MAX_BODY: usize = 64 * 1024;

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
pub(crate) fn health_url(base: &str, context_path: Option<&str>) -> Option<url::Url> {
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
pub(crate) fn journey_cookie(exchanges: &[Exchange], url: &url::Url) -> Option<String> {
    let want = crate::exchange::host_port(url)?;
    exchanges
        .iter()
        .rev()
        .filter(|ex| {
            url::Url::parse(&ex.url)
                .ok()
                .and_then(|u| crate::exchange::host_port(&u))
                .is_some_and(|h| h.eq_ignore_ascii_case(&want))
        })
        .find_map(|ex| ex.request_headers.get("cookie").map(str::to_string))
}

/// A check about Jira/Confluence's own CDN prefix (`jira.fixed.cdn.enabled` / `.prefix`).
pub(crate) fn is_cdn_prefix_check(text: &str) -> bool {
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
    use crate::diagnose::testkit::health_check;

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
        let f = findings(&health_check(200, body));
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
    fn healthy_answer_has_no_finding() {
        let body = r#"{"statuses":[{"name":"Fine","isHealthy":true}]}"#;
        assert!(findings(&health_check(200, body)).is_empty());
        assert!(findings(&health_check(200, "[]")).is_empty());
    }

    #[test]
    fn not_found_or_forbidden_is_info() {
        for s in [404, 401, 403] {
            let f = findings(&health_check(s, "<html>nope</html>"));
            assert_eq!(f.len(), 1);
            assert_eq!(f[0].id, "health-check-unavailable");
            assert_eq!(f[0].severity, Severity::Info);
        }
        assert!(
            findings(&health_check(404, ""))[0]
                .explanation
                .contains("no static asset caching health check")
        );
        let f = findings(&health_check(200, "<html>login</html>"));
        assert_eq!(f[0].id, "health-check-unavailable");
        assert_eq!(
            findings(&health_check(500, "boom"))[0].id,
            "health-check-failed"
        );
        let mut e = health_check(0, "");
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
}
