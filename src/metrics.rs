//! A run as Prometheus metrics: `--metrics-file PATH` (for node_exporter's textfile collector)
//! and `--pushgateway URL` (a Prometheus Pushgateway), so a scheduled probe per region feeds
//! dashboards and alerts.
//!
//! The text is the subset both formats agree on: the Prometheus text format 0.0.4 (what the
//! textfile collector and the Pushgateway parse) that is also valid OpenMetrics 1.0 (gauges only,
//! no timestamps, `# EOF` last, which the Prometheus format reads as a comment). Every value
//! describes the one run, so every family is a gauge (`_total` is for counters, which a single run
//! does not have). Cardinality is bounded: a behavior is its path pattern, never a URL; a finding
//! is its catalogue id; the run's `--label`s (region, env) are the only other labels.
//!
//! Metrics never change a run's outcome: a file that cannot be written or a Pushgateway that
//! refuses is a warning on stderr (alert on `cdnprobe_run_timestamp_seconds` going stale to
//! notice).

use std::collections::BTreeMap;
use std::fmt::Write;

use base64::Engine;

use crate::history::summary::RunSummary;
use crate::verify::Verdict;

/// Every verdict, so the verdict family always has one sample per state (the enum-as-gauge
/// pattern: the current state 1, the others 0).
const VERDICTS: [Verdict; 8] = [
    Verdict::Hits,
    Verdict::Warm,
    Verdict::NeverHits,
    Verdict::Bypass,
    Verdict::Leak,
    Verdict::Error,
    Verdict::NoCdn,
    Verdict::Inconclusive,
];

/// The Pushgateway job (`/metrics/job/cdnprobe/...`).
pub(crate) const JOB: &str = "cdnprobe";

/// `"` `\` and newlines escaped, as both formats want in label values.
fn escape_label(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', r#"\""#)
        .replace('\n', r"\n")
}

fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// One family being written: its samples must be contiguous.
struct Family<'a> {
    out: &'a mut String,
    name: &'static str,
    common: &'a [(String, String)],
}

impl Family<'_> {
    fn sample(&mut self, labels: &[(&str, &str)], v: f64) {
        let mut all: Vec<String> = self
            .common
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
            .collect();
        all.extend(
            labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v))),
        );
        let labels = if all.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", all.join(","))
        };
        let _ = writeln!(self.out, "{}{labels} {}", self.name, value(v));
    }
}

fn family<'a>(
    out: &'a mut String,
    common: &'a [(String, String)],
    name: &'static str,
    help: &str,
) -> Family<'a> {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    Family { out, name, common }
}

/// The run's metrics. `labels` go on every sample (the textfile collector adds none); for the
/// Pushgateway they are the grouping key instead and are left out here.
pub fn render(run: &RunSummary, labels: &BTreeMap<String, String>) -> String {
    let common: Vec<(String, String)> =
        labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut out = String::new();
    let o = &mut out;
    let c = &common[..];
    family(o, c, "cdnprobe_run_success", "1 when every journey completed, every behavior met its expectation and no error finding was raised (exit code 0).")
        .sample(&[], f64::from(u8::from(run.pass)));
    family(
        o,
        c,
        "cdnprobe_run_exit_code",
        "The run's exit code: 0 pass, 1 a check failed, 2 could not run.",
    )
    .sample(&[], f64::from(run.exit_code));
    family(
        o,
        c,
        "cdnprobe_run_partial",
        "1 when the run was interrupted or a journey step failed.",
    )
    .sample(&[], f64::from(u8::from(run.partial)));
    family(
        o,
        c,
        "cdnprobe_run_duration_seconds",
        "How long the run took.",
    )
    .sample(&[], run.duration_ms as f64 / 1000.0);
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&run.started_at) {
        family(
            o,
            c,
            "cdnprobe_run_timestamp_seconds",
            "When the run started (Unix time): alert when it goes stale.",
        )
        .sample(&[], t.timestamp_millis() as f64 / 1000.0);
    }
    family(
        o,
        c,
        "cdnprobe_run_requests",
        "Requests the run captured (journeys and verification).",
    )
    .sample(&[], run.requests as f64);

    let mut f = family(
        o,
        c,
        "cdnprobe_findings",
        "Findings the run raised, by severity.",
    );
    for (severity, n) in [
        ("error", run.findings_error),
        ("warn", run.findings_warn),
        ("info", run.findings_info),
    ] {
        f.sample(&[("severity", severity)], n as f64);
    }
    if !run.findings.is_empty() {
        let mut by_id: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for x in &run.findings {
            *by_id.entry((&x.id, &x.severity)).or_default() += x.count;
        }
        let mut f = family(
            o,
            c,
            "cdnprobe_findings_by_id",
            "Findings the run raised, by catalogue id (README's findings table).",
        );
        for ((id, severity), n) in by_id {
            f.sample(&[("finding", id), ("severity", severity)], n as f64);
        }
    }

    let judged: Vec<_> = run
        .behaviors
        .iter()
        .filter(|b| b.verdict.is_some())
        .collect();
    if !judged.is_empty() {
        let mut f = family(
            o,
            c,
            "cdnprobe_behavior_verdict",
            "The behavior's verification verdict: 1 for the current one, 0 for the others.",
        );
        for b in &judged {
            for v in VERDICTS {
                let on = b.verdict.as_deref() == Some(v.as_str());
                f.sample(
                    &[("behavior", &b.pattern), ("verdict", v.as_str())],
                    f64::from(u8::from(on)),
                );
            }
        }
        let mut f = family(
            o,
            c,
            "cdnprobe_behavior_expectation_met",
            "1 when the behavior's verdict met its expectation (hit or bypass), 0 when it failed.",
        );
        for b in &judged {
            f.sample(
                &[("behavior", &b.pattern)],
                f64::from(u8::from(b.pass == Some(true))),
            );
        }
        let mut f = family(
            o,
            c,
            "cdnprobe_behavior_expects_hit",
            "1 when the behavior is expected to hit (cache), 0 when expected to bypass.",
        );
        for b in &judged {
            f.sample(
                &[("behavior", &b.pattern)],
                f64::from(u8::from(b.expect.as_deref() == Some("hit"))),
            );
        }
    }
    let with_ratio: Vec<_> = run
        .behaviors
        .iter()
        .filter_map(|b| b.hit_ratio.map(|r| (b, r)))
        .collect();
    if !with_ratio.is_empty() {
        let mut f = family(
            o,
            c,
            "cdnprobe_behavior_hit_ratio",
            "Hits (and refresh hits) over the loads that carry a cache status.",
        );
        for (b, r) in with_ratio {
            f.sample(&[("behavior", &b.pattern)], r);
        }
    }
    if !run.behaviors.is_empty() {
        for (name, help, get) in [
            (
                "cdnprobe_behavior_loads",
                "Loads that carry a cache status (a hit, a miss, a bypass, ...).",
                (|b| b.loads) as fn(&crate::history::summary::BehaviorSummary) -> usize,
            ),
            (
                "cdnprobe_behavior_hits",
                "Loads answered from the edge cache (hits and refresh hits).",
                |b| b.hits,
            ),
            (
                "cdnprobe_behavior_requests",
                "Requests the behavior served (journeys and verification).",
                |b| b.requests,
            ),
            (
                "cdnprobe_behavior_edge_errors",
                "Responses that were edge or origin errors (5xx, Error from cloudfront) or none at all.",
                |b| b.edge_errors,
            ),
        ] {
            let mut f = family(o, c, name, help);
            for b in &run.behaviors {
                f.sample(&[("behavior", &b.pattern)], get(b) as f64);
            }
        }
    }
    let with_ttfb: Vec<_> = run
        .behaviors
        .iter()
        .filter(|b| b.ttfb_p50_ms.is_some())
        .collect();
    if !with_ttfb.is_empty() {
        let mut f = family(
            o,
            c,
            "cdnprobe_behavior_ttfb_seconds",
            "Time to first byte of the behavior's responses, by percentile (nearest rank).",
        );
        for b in with_ttfb {
            for (p, v) in [
                ("50", b.ttfb_p50_ms),
                ("90", b.ttfb_p90_ms),
                ("99", b.ttfb_p99_ms),
            ] {
                if let Some(ms) = v {
                    f.sample(&[("behavior", &b.pattern), ("percentile", p)], ms / 1000.0);
                }
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

/// `<base>/metrics/job/cdnprobe/<k>/<v>...`: a value that is not plain (a `/`, anything outside
/// `[A-Za-z0-9_.-]`, or empty) is base64url-encoded as the Pushgateway's `<k>@base64/<v>`.
pub(crate) fn push_url(base: &url::Url, labels: &BTreeMap<String, String>) -> String {
    let mut url = base.as_str().trim_end_matches('/').to_string();
    url.push_str("/metrics/job/");
    url.push_str(JOB);
    for (k, v) in labels {
        let plain = !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if plain {
            let _ = write!(url, "/{k}/{v}");
        } else {
            let enc = base64::engine::general_purpose::URL_SAFE.encode(v.as_bytes());
            let _ = write!(
                url,
                "/{k}@base64/{}",
                if enc.is_empty() { "=" } else { &enc }
            );
        }
    }
    url
}

/// `--pushgateway URL`: parsed when the flags are (a bad URL is the user's to fix, exit 2).
pub fn parse_pushgateway(s: &str) -> Result<url::Url, String> {
    let u = url::Url::parse(s).map_err(|e| {
        format!("`{s}`: {e}; write the Pushgateway's base URL, e.g. http://pushgateway:9091")
    })?;
    if !matches!(u.scheme(), "http" | "https") || u.host().is_none() {
        return Err(format!(
            "`{s}`: write the Pushgateway's http(s) base URL, e.g. http://pushgateway:9091"
        ));
    }
    if u.query().is_some() || u.path().contains("/metrics/") {
        return Err(format!(
            "`{s}`: give the base URL only (cdnprobe adds /metrics/job/cdnprobe/<labels>)"
        ));
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_labels_are_plain_or_base64url() {
        let base = url::Url::parse("http://pg:9091/").unwrap();
        let labels: BTreeMap<String, String> = [
            ("region".to_string(), "eu-central-1".to_string()),
            ("site".to_string(), "jira/prod".to_string()),
        ]
        .into();
        assert_eq!(
            push_url(&base, &labels),
            "http://pg:9091/metrics/job/cdnprobe/region/eu-central-1/site@base64/amlyYS9wcm9k"
        );
        let base = url::Url::parse("http://pg:9091/prefix").unwrap();
        assert_eq!(
            push_url(&base, &BTreeMap::new()),
            "http://pg:9091/prefix/metrics/job/cdnprobe"
        );
        assert!(parse_pushgateway("pg:9091").is_err());
        assert!(parse_pushgateway("http://pg:9091/metrics/job/x").is_err());
        assert!(parse_pushgateway("http://pg:9091").is_ok());
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), r#"a\"b\\c\nd"#);
        assert_eq!(value(1.0), "1");
        assert_eq!(value(0.25), "0.25");
    }
}
