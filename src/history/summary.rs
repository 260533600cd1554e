//! What the history keeps of a run: a small summary computed from its `Report` (pure, so it is
//! unit tested here and the store, the trend and the metrics all read the same numbers).
//!
//! Per behavior: the verdict and whether it met its expectation (absent for `analyze` and
//! `--no-verify`, which judge no behavior), the hit ratio, loads, TTFB percentiles and edge
//! errors over every request the behavior served (the journeys' and the verification's); findings
//! counted by id, severity and behavior.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::classify::CacheOutcome;
use crate::classify::Record;
use crate::report::Report;

/// One run as the history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The store's row id (0 before it is stored).
    pub id: i64,
    /// `run` or `analyze`.
    pub command: String,
    pub target: String,
    /// `--label key=value`, sorted by key.
    pub labels: BTreeMap<String, String>,
    pub tool_version: String,
    pub schema_version: String,
    /// RFC 3339 UTC, as in report.json.
    pub started_at: String,
    /// RFC 3339 UTC: when the summary was recorded.
    pub finished_at: String,
    pub duration_ms: u64,
    pub pass: bool,
    pub partial: bool,
    pub exit_code: i32,
    pub requests: usize,
    pub failed_requests: usize,
    pub findings_error: usize,
    pub findings_warn: usize,
    pub findings_info: usize,
    pub behaviors_failed: usize,
    /// The run's report.json (absolute), for `diff last-good`.
    pub report_path: Option<String>,
    pub behaviors: Vec<BehaviorSummary>,
    pub findings: Vec<FindingCount>,
}

/// One behavior in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BehaviorSummary {
    pub pattern: String,
    /// `hit` or `bypass`; absent when the run verified nothing.
    pub expect: Option<String>,
    /// `HITS`, `NEVER_HITS`, ...; absent when the run verified nothing.
    pub verdict: Option<String>,
    /// Did the verdict meet the expectation? Absent when the run verified nothing.
    pub pass: Option<bool>,
    /// Requests the behavior served (the journeys' and the verification's).
    pub requests: usize,
    /// Of those, the ones that say something about caching (a hit, a miss, a bypass, ...).
    pub loads: usize,
    /// Hits and refresh hits.
    pub hits: usize,
    /// `hits / loads`; absent with no load.
    pub hit_ratio: Option<f64>,
    pub ttfb_p50_ms: Option<f64>,
    pub ttfb_p90_ms: Option<f64>,
    pub ttfb_p99_ms: Option<f64>,
    /// Responses that are errors of the edge or origin (5xx, `Error from cloudfront`) or none at
    /// all (a network failure).
    pub edge_errors: usize,
}

/// How many findings of one id (and behavior) a run raised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingCount {
    pub id: String,
    pub severity: String,
    pub behavior: Option<String>,
    pub count: usize,
}

impl RunSummary {
    /// `PASS 7/7 met` / `FAIL 5/7 met, 2 error` / `PARTIAL`: one cell for `history`.
    pub(crate) fn verdict_summary(&self) -> String {
        let word = if self.partial {
            "PARTIAL"
        } else if self.pass {
            "PASS"
        } else {
            "FAIL"
        };
        let judged = self.behaviors.iter().filter(|b| b.pass.is_some()).count();
        let mut parts = Vec::new();
        if judged > 0 {
            parts.push(format!("{}/{judged} met", judged - self.behaviors_failed));
        }
        if self.findings_error > 0 {
            parts.push(format!("{} error", self.findings_error));
        }
        if self.findings_warn > 0 {
            parts.push(format!("{} warn", self.findings_warn));
        }
        if parts.is_empty() {
            word.to_string()
        } else {
            format!("{word} {}", parts.join(", "))
        }
    }

    /// `region=fra,env=prod` (empty without labels).
    pub(crate) fn labels_text(&self) -> String {
        labels_text(&self.labels)
    }
}

/// `k=v,k2=v2` in key order.
pub(crate) fn labels_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The summary of `report` as recorded now.
pub fn summarize(
    command: &str,
    report: &Report,
    labels: &BTreeMap<String, String>,
    report_path: Option<&str>,
    finished_at: chrono::DateTime<chrono::Utc>,
) -> RunSummary {
    let s = &report.summary;
    RunSummary {
        id: 0,
        command: command.to_string(),
        target: report.target.clone(),
        labels: labels.clone(),
        tool_version: report.tool.version.clone(),
        schema_version: report.schema_version.clone(),
        started_at: report.started_at.clone(),
        finished_at: finished_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        duration_ms: report.duration_ms,
        pass: s.pass,
        partial: s.partial,
        exit_code: s.exit_code,
        requests: s.requests,
        failed_requests: s.failed_requests,
        findings_error: s.findings_error,
        findings_warn: s.findings_warn,
        findings_info: s.findings_info,
        behaviors_failed: s.behaviors_failed,
        report_path: report_path.map(str::to_string),
        behaviors: behaviors(report),
        findings: findings(report),
    }
}

/// Verified behaviors first (in the report's order), then every other behavior that served a
/// request (sorted), each with its numbers.
fn behaviors(report: &Report) -> Vec<BehaviorSummary> {
    let mut by_pattern: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
    for r in &report.requests {
        if let Some(b) = &r.class.behavior {
            by_pattern.entry(b.as_str()).or_default().push(r);
        }
    }
    let mut out: Vec<BehaviorSummary> = Vec::new();
    for b in &report.behaviors {
        if out.iter().any(|o| o.pattern == b.pattern) {
            continue;
        }
        let records = by_pattern.remove(b.pattern.as_str()).unwrap_or_default();
        let mut s = numbers(&b.pattern, &records);
        s.expect = serde_json::to_value(b.expect)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string));
        s.verdict = Some(b.verdict.as_str().to_string());
        s.pass = Some(b.pass);
        out.push(s);
    }
    out.extend(by_pattern.into_iter().map(|(p, rs)| numbers(p, &rs)));
    out
}

fn numbers(pattern: &str, records: &[&Record]) -> BehaviorSummary {
    let mut loads = 0;
    let mut hits = 0;
    let mut edge_errors = 0;
    let mut ttfbs = Vec::new();
    for r in records {
        let status = r.class.cache.status;
        if status != CacheOutcome::None {
            loads += 1;
        }
        if matches!(status, CacheOutcome::Hit | CacheOutcome::RefreshHit) {
            hits += 1;
        }
        if status == CacheOutcome::Error
            || r.status.is_some_and(|c| c >= 500)
            || (r.status.is_none() && r.failure.is_some())
        {
            edge_errors += 1;
        }
        if let Some(t) = r.timing.ttfb_ms.filter(|t| t.is_finite() && *t >= 0.0) {
            ttfbs.push(t);
        }
    }
    ttfbs.sort_by(f64::total_cmp);
    BehaviorSummary {
        pattern: pattern.to_string(),
        expect: None,
        verdict: None,
        pass: None,
        requests: records.len(),
        loads,
        hits,
        hit_ratio: (loads > 0).then(|| hits as f64 / loads as f64),
        ttfb_p50_ms: percentile(&ttfbs, 50.0),
        ttfb_p90_ms: percentile(&ttfbs, 90.0),
        ttfb_p99_ms: percentile(&ttfbs, 99.0),
        edge_errors,
    }
}

/// Nearest-rank percentile of sorted values (the value at rank ceil(p/100 * n)).
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn findings(report: &Report) -> Vec<FindingCount> {
    let mut counts: BTreeMap<(String, String, Option<String>), usize> = BTreeMap::new();
    for f in &report.findings {
        *counts
            .entry((
                f.id.clone(),
                f.severity.as_str().to_string(),
                f.behavior.clone(),
            ))
            .or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((id, severity, behavior), count)| FindingCount {
            id,
            severity,
            behavior,
            count,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(5.0));
        assert_eq!(percentile(&v, 90.0), Some(9.0));
        assert_eq!(percentile(&v, 99.0), Some(10.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    fn record(behavior: &str, status: Option<u16>, cache: CacheOutcome, ttfb: f64) -> Record {
        let mut ex = crate::exchange::Exchange {
            url: format!("https://cdn.example.com{behavior}x"),
            method: "GET".into(),
            status,
            ..Default::default()
        };
        ex.timing.ttfb_ms = Some(ttfb);
        let mut r = Record::classify(ex, &[]);
        r.class.behavior = Some(behavior.into());
        r.class.cache.status = cache;
        r
    }

    #[test]
    fn behavior_numbers_count_hits_over_loads_and_edge_errors() {
        let mut report = Report::new("https://jira.example.com/", chrono::Utc::now());
        report.requests = vec![
            record("/s/*", Some(200), CacheOutcome::Miss, 40.0),
            record("/s/*", Some(200), CacheOutcome::Hit, 10.0),
            record("/s/*", Some(200), CacheOutcome::RefreshHit, 20.0),
            record("/s/*", Some(502), CacheOutcome::Error, 30.0),
            record("/s/*", Some(200), CacheOutcome::None, 50.0),
            record("*", Some(200), CacheOutcome::Bypass, 100.0),
        ];
        report.summarize();
        let s = summarize(
            "analyze",
            &report,
            &BTreeMap::new(),
            None,
            chrono::Utc::now(),
        );
        assert_eq!(s.behaviors.len(), 2);
        let b = &s.behaviors[1];
        assert_eq!(b.pattern, "/s/*");
        assert_eq!((b.requests, b.loads, b.hits, b.edge_errors), (5, 4, 2, 1));
        assert_eq!(b.hit_ratio, Some(0.5));
        assert_eq!(b.ttfb_p50_ms, Some(30.0));
        assert_eq!(b.ttfb_p99_ms, Some(50.0));
        assert_eq!(b.verdict, None);
        assert_eq!(s.behaviors[0].hit_ratio, Some(0.0));
        assert_eq!(s.verdict_summary(), "PASS");
    }
}
