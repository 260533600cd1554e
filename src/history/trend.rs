//! What the history shows: the runs table (`cdnprobe history`) and the per-behavior series
//! (`cdnprobe trend`, in the terminal and as a self-contained HTML chart). Plain text,
//! deterministic (no "3 days ago": times are printed as stored), so it can be tested.

use std::collections::BTreeMap;

use serde::Serialize;
use tabled::builder::Builder;
use tabled::settings::Style;

use super::summary::{BehaviorSummary, RunSummary};
use crate::report::TrendPoint;
use crate::report::chart::verdict_strip;

/// `cdnprobe history`: one row per run, oldest first.
pub(crate) fn runs_table(runs: &[RunSummary]) -> String {
    if runs.is_empty() {
        return "no runs recorded (with these filters)\n".into();
    }
    let mut b = Builder::default();
    b.push_record([
        "id", "started", "command", "target", "labels", "verdict", "report",
    ]);
    for r in runs {
        b.push_record([
            r.id.to_string(),
            r.started_at.clone(),
            r.command.clone(),
            r.target.clone(),
            r.labels_text(),
            r.verdict_summary(),
            r.report_path.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let mut t = b.build();
    t.with(Style::sharp());
    format!("{t}\n")
}

/// One behavior of one target and label set over the runs: what `trend` prints and draws.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Series {
    pub pattern: String,
    pub target: String,
    pub labels: BTreeMap<String, String>,
    /// Oldest first.
    pub points: Vec<TrendPoint>,
}

impl Series {
    /// `failing since T` / `met since T`: the start of the current streak of judged runs.
    pub(crate) fn streak(&self) -> Option<String> {
        let judged: Vec<(&TrendPoint, bool)> = self
            .points
            .iter()
            .filter_map(|p| p.pass.map(|ok| (p, ok)))
            .collect();
        let &(_, now) = judged.last()?;
        let start = judged
            .iter()
            .rev()
            .take_while(|(_, ok)| *ok == now)
            .last()
            .map(|(p, _)| p.started_at.clone())?;
        Some(format!(
            "{} since {start}",
            if now { "met" } else { "failing" }
        ))
    }
}

/// The point of behavior `b` in run `r`.
pub fn point(r: &RunSummary, b: &BehaviorSummary) -> TrendPoint {
    TrendPoint {
        run_id: (r.id > 0).then_some(r.id),
        started_at: r.started_at.clone(),
        verdict: b.verdict.clone(),
        pass: b.pass,
        hit_ratio: b.hit_ratio,
        loads: b.loads,
        ttfb_p50_ms: b.ttfb_p50_ms,
        edge_errors: b.edge_errors,
    }
}

/// Does the `--behavior` filter name `pattern`? As written, or without the context path
/// (`/s/*` names `/jira/s/*`).
pub(crate) fn names_behavior(filter: &str, pattern: &str) -> bool {
    pattern == filter
        || (filter.starts_with('/')
            && pattern.ends_with(filter)
            && pattern[..pattern.len() - filter.len()].starts_with('/'))
}

/// The series of `runs` (oldest first), one per behavior, target and label set, sorted.
pub(crate) fn series(runs: &[RunSummary], behavior: Option<&str>) -> Vec<Series> {
    let mut by_key: BTreeMap<(String, String, String), Series> = BTreeMap::new();
    for r in runs {
        for b in &r.behaviors {
            if behavior.is_some_and(|f| !names_behavior(f, &b.pattern)) {
                continue;
            }
            by_key
                .entry((b.pattern.clone(), r.target.clone(), r.labels_text()))
                .or_insert_with(|| Series {
                    pattern: b.pattern.clone(),
                    target: r.target.clone(),
                    labels: r.labels.clone(),
                    points: Vec::new(),
                })
                .points
                .push(point(r, b));
        }
    }
    by_key.into_values().collect()
}

/// `▁▂▃▄▅▆▇█` for 0 to 100 %, `·` for a run without a ratio.
pub(crate) fn sparkline(points: &[TrendPoint]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    points
        .iter()
        .map(|p| match p.hit_ratio {
            Some(r) => BARS[(r.clamp(0.0, 1.0) * 7.0).round() as usize],
            None => '·',
        })
        .collect()
}

/// The last `TERMINAL_RUNS` points of each series in the terminal (the HTML page shows all).
const TERMINAL_RUNS: usize = 40;

fn pct(r: Option<f64>) -> String {
    r.map(|r| format!("{:.0}%", r * 100.0))
        .unwrap_or_else(|| "-".into())
}

/// `cdnprobe trend` in the terminal: one row per series.
pub(crate) fn render_text(series: &[Series]) -> String {
    if series.is_empty() {
        return "no runs of that behavior recorded (with these filters)\n".into();
    }
    let mut b = Builder::default();
    b.push_record([
        "behavior",
        "target",
        "labels",
        "runs",
        "hit ratio (oldest → newest)",
        "verdicts",
        "now",
        "TTFB p50",
        "streak",
    ]);
    for s in series {
        let shown = &s.points[s.points.len().saturating_sub(TERMINAL_RUNS)..];
        let last = s.points.last();
        b.push_record([
            s.pattern.clone(),
            s.target.clone(),
            super::summary::labels_text(&s.labels),
            s.points.len().to_string(),
            format!(
                "{} {}",
                sparkline(shown),
                pct(last.and_then(|p| p.hit_ratio))
            ),
            verdict_strip(shown),
            last.and_then(|p| p.verdict.clone())
                .unwrap_or_else(|| "-".into()),
            last.and_then(|p| p.ttfb_p50_ms)
                .map(|t| format!("{t:.0} ms"))
                .unwrap_or_else(|| "-".into()),
            s.streak().unwrap_or_else(|| "-".into()),
        ]);
    }
    let mut t = b.build();
    t.with(Style::sharp());
    format!(
        "{t}\nverdicts: ✓ met its expectation, ✗ failed, · not verified (analyze, --no-verify); the last {TERMINAL_RUNS} runs shown\n"
    )
}

const TREND_PAGE: &str = include_str!("../report/templates/trend.html");

#[derive(Serialize)]
struct PageView {
    css: &'static str,
    since: String,
    series: Vec<SeriesView>,
}

#[derive(Serialize)]
struct SeriesView {
    pattern: String,
    target: String,
    labels: String,
    streak: String,
    chart: crate::report::chart::Chart,
    rows: Vec<[String; 7]>,
}

/// `cdnprobe trend --html`: one self-contained page (no script, nothing fetched), a chart and a
/// table per series.
pub(crate) fn render_html(series: &[Series], since: &str) -> anyhow::Result<String> {
    let mut env = minijinja::Environment::new();
    env.add_template("trend.html", TREND_PAGE)?;
    env.add_template("chart.html", crate::report::html::CHART)?;
    let view = PageView {
        css: crate::report::html::CSS,
        since: since.to_string(),
        series: series
            .iter()
            .map(|s| SeriesView {
                pattern: s.pattern.clone(),
                target: s.target.clone(),
                labels: super::summary::labels_text(&s.labels),
                streak: s.streak().unwrap_or_default(),
                chart: crate::report::chart::chart(&s.points, 720, 140),
                rows: s
                    .points
                    .iter()
                    .rev()
                    .map(|p| {
                        [
                            p.started_at.clone(),
                            p.run_id.map(|i| i.to_string()).unwrap_or_default(),
                            p.verdict.clone().unwrap_or_else(|| "-".into()),
                            pct(p.hit_ratio),
                            p.loads.to_string(),
                            p.ttfb_p50_ms
                                .map(|t| format!("{t:.0} ms"))
                                .unwrap_or_else(|| "-".into()),
                            p.edge_errors.to_string(),
                        ]
                    })
                    .collect(),
            })
            .collect(),
    };
    Ok(env
        .get_template("trend.html")?
        .render(minijinja::value::Serde(&view))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: i64, region: &str, ratio: Option<f64>, pass: Option<bool>) -> RunSummary {
        RunSummary {
            id,
            command: "run".into(),
            target: "https://jira.example.com".into(),
            labels: [("region".to_string(), region.to_string())].into(),
            tool_version: "0.1.0".into(),
            schema_version: "1.7".into(),
            started_at: format!("2026-11-{:02}T06:17:00.000Z", id),
            finished_at: format!("2026-11-{:02}T06:18:00.000Z", id),
            duration_ms: 60_000,
            pass: pass.unwrap_or(true),
            partial: false,
            exit_code: 0,
            requests: 10,
            failed_requests: 0,
            findings_error: 0,
            findings_warn: 0,
            findings_info: 0,
            behaviors_failed: usize::from(pass == Some(false)),
            report_path: None,
            behaviors: vec![BehaviorSummary {
                pattern: "/jira/s/*".into(),
                expect: Some("hit".into()),
                verdict: pass.map(|p| if p { "HITS" } else { "NEVER_HITS" }.into()),
                pass,
                requests: 8,
                loads: 8,
                hits: 0,
                hit_ratio: ratio,
                ttfb_p50_ms: Some(12.0),
                ttfb_p90_ms: None,
                ttfb_p99_ms: None,
                edge_errors: 0,
            }],
            findings: Vec::new(),
        }
    }

    #[test]
    fn a_series_per_label_set_with_since_when_it_fails() {
        let runs = vec![
            run(1, "fra", Some(0.75), Some(true)),
            run(2, "iad", Some(0.75), Some(true)),
            run(3, "fra", Some(0.0), Some(false)),
            run(4, "fra", None, None),
            run(5, "fra", Some(0.0), Some(false)),
        ];
        let s = series(&runs, Some("/s/*"));
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].labels["region"], "fra");
        assert_eq!(s[0].points.len(), 4);
        assert_eq!(
            s[0].streak().as_deref(),
            Some("failing since 2026-11-03T06:17:00.000Z")
        );
        assert_eq!(
            s[1].streak().as_deref(),
            Some("met since 2026-11-02T06:17:00.000Z")
        );
        assert_eq!(sparkline(&s[0].points), "▆▁·▁");
        assert_eq!(verdict_strip(&s[0].points), "✓✗·✗");
        assert!(series(&runs, Some("/download/*")).is_empty());
        assert!(names_behavior("/s/*", "/s/*"));
        assert!(!names_behavior("/s/*", "/xs/*"));

        let text = render_text(&s);
        assert_eq!(text, render_text(&s), "deterministic");
        assert!(text.contains("▆▁·▁ 0%"), "{text}");
        assert!(
            text.contains("failing since 2026-11-03T06:17:00.000Z"),
            "{text}"
        );
        let html = render_html(&s, "30d").unwrap();
        assert!(html.contains("<svg class=\"trend\""));
        assert!(!html.contains("<script"));
        assert!(html.contains("default-src 'none'"));
    }
}
