//! report.html: one self-contained page a person opens after a run — verdict banner, a card per
//! behavior with its Miss→Hit strips, findings with evidence and fix, a waterfall per journey step
//! and a filterable request table.
//!
//! Self-contained means it works from a mail attachment or a CI artifact with no network: CSS and
//! JS are inlined, nothing is fetched, and a Content-Security-Policy (`default-src 'none'`) makes
//! the browser refuse any load that might slip in. The page is rendered with minijinja from
//! `templates/` (compiled in with `include_str!`); this module only builds the view model, so the
//! template never computes and every value it prints is auto-escaped.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use minijinja::Environment;
use serde::Serialize;

use super::terminal::{outcome_word, sorted_findings, status_letter};
use super::{ExportContext, Exporter, Report};
use crate::classify::Record;

const TEMPLATE: &str = include_str!("templates/report.html");
/// The page's style (also `cdnprobe trend --html`'s).
pub const CSS: &str = include_str!("templates/report.css");
const JS: &str = include_str!("templates/report.js");
const WATERFALL: &str = include_str!("templates/waterfall.html");
/// The trend chart (also used by `cdnprobe trend --html`).
pub(crate) const CHART: &str = include_str!("templates/chart.html");

pub(crate) struct HtmlExporter;

impl Exporter for HtmlExporter {
    fn file_name(&self) -> &'static str {
        "report.html"
    }
    fn write(
        &self,
        report: &Report,
        ctx: &ExportContext,
        out: &mut dyn std::io::Write,
    ) -> anyhow::Result<()> {
        write_html_with(report, ctx.out_dir, ctx.trends, out)
    }
}

/// Render the page. `out_dir` is where report.html will live (screenshot links are made relative
/// to it).
pub fn to_html(report: &Report, out_dir: &Path) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    write_html(report, out_dir, &mut bytes)?;
    Ok(String::from_utf8(bytes)?)
}

fn write_html(report: &Report, out_dir: &Path, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    write_html_with(report, out_dir, &super::Trends::new(), out)
}

fn write_html_with(
    report: &Report,
    out_dir: &Path,
    trends: &super::Trends,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let mut env = Environment::new();
    env.add_template("report.html", TEMPLATE)?;
    env.add_template("waterfall.html", WATERFALL)?;
    env.add_template("chart.html", CHART)?;
    let mut view = view(report, out_dir);
    for b in &mut view.behaviors {
        b.trend = trends.get(&b.pattern).map(|points| trend_view(points));
    }
    env.get_template("report.html")?
        .render_captured_to(minijinja::value::Serde(&view), out)?;
    Ok(())
}

#[derive(Serialize)]
struct View {
    css: &'static str,
    js: &'static str,
    outcome: &'static str,
    outcome_class: &'static str,
    headline: String,
    target: String,
    started_at: String,
    duration: String,
    tool: String,
    partial: bool,
    notes: Vec<String>,
    stats: Vec<(String, String)>,
    runs: Vec<RunView>,
    behaviors: Vec<BehaviorView>,
    findings: Vec<FindingView>,
    journeys: Vec<JourneyView>,
    other_phases: Vec<PhaseView>,
    /// [`LazyRows`] of [`RowView`]s.
    requests: minijinja::Value,
    filter_behaviors: Vec<String>,
    filter_cache: Vec<String>,
    filter_kinds: Vec<String>,
}

#[derive(Serialize)]
struct RunView {
    source: String,
    target: String,
    started_at: String,
    pops: String,
    outcome: &'static str,
    findings: String,
}

#[derive(Serialize)]
struct BehaviorView {
    anchor: String,
    pattern: String,
    expect: String,
    verdict: String,
    pass: bool,
    reason: String,
    findings: Vec<(String, String)>,
    requests: usize,
    asset_kinds: String,
    urls: usize,
    sequences: Vec<SequenceView>,
    /// The behavior's recent runs (from the history), this one last.
    trend: Option<TrendView>,
}

#[derive(Serialize)]
struct TrendView {
    chart: super::chart::Chart,
    runs: usize,
    since: String,
    /// Verdicts oldest first, one letter per run (`✓` met, `✗` failed, `·` not judged).
    strip: String,
}

fn trend_view(points: &[super::TrendPoint]) -> TrendView {
    TrendView {
        chart: super::chart::chart(points, 220, 44),
        runs: points.len(),
        since: points
            .first()
            .map(|p| p.started_at.clone())
            .unwrap_or_default(),
        strip: super::chart::verdict_strip(points),
    }
}

#[derive(Serialize)]
struct SequenceView {
    url: String,
    short: String,
    verdict: String,
    cells: Vec<CellView>,
}

#[derive(Serialize)]
struct CellView {
    letter: &'static str,
    status: String,
    title: String,
}

#[derive(Serialize)]
struct FindingView {
    anchor: String,
    id: String,
    severity: &'static str,
    title: String,
    behavior: Option<(String, String)>,
    explanation: String,
    evidence: Vec<(String, Vec<String>)>,
    fix: String,
}

#[derive(Serialize)]
struct JourneyView {
    name: String,
    source: Option<String>,
    base_url: String,
    ok: bool,
    steps: Vec<StepView>,
}

#[derive(Serialize)]
struct StepView {
    index: usize,
    description: String,
    ok: bool,
    duration_ms: u64,
    error: Option<String>,
    screenshot: Option<String>,
    waterfall: Waterfall,
}

#[derive(Serialize)]
struct PhaseView {
    phase: String,
    waterfall: Waterfall,
}

#[derive(Serialize)]
struct Waterfall {
    span_ms: String,
    /// [`LazyRows`] of [`BarView`]s.
    rows: minijinja::Value,
}

impl Default for Waterfall {
    fn default() -> Self {
        Waterfall {
            span_ms: String::new(),
            rows: LazyRows::<BarView>::value(Vec::new()),
        }
    }
}

/// A list the template reads row by row: each row becomes a template value only while it is
/// rendered. Converted with the rest of the view, a large capture's two per-request lists (the
/// table and the waterfalls) were held a second time as one `Value` tree.
#[derive(Debug)]
struct LazyRows<T>(Vec<T>);

impl<T: Serialize + std::fmt::Debug + Send + Sync + 'static> LazyRows<T> {
    fn value(rows: Vec<T>) -> minijinja::Value {
        minijinja::Value::from_object(LazyRows(rows))
    }
}

impl<T: Serialize + std::fmt::Debug + Send + Sync + 'static> minijinja::value::Object
    for LazyRows<T>
{
    fn repr(self: &std::sync::Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Seq
    }
    fn get_value(self: &std::sync::Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        self.0
            .get(key.as_usize()?)
            .map(|row| minijinja::Value::from(minijinja::value::Serde(row)))
    }
    fn enumerate(self: &std::sync::Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Seq(self.0.len())
    }
}

#[derive(Serialize, Debug)]
struct BarView {
    url: String,
    short: String,
    status: String,
    cache: String,
    failed: bool,
    left: String,
    wait: String,
    recv_left: String,
    recv: String,
    ms: String,
}

#[derive(Serialize, Debug)]
struct RowView {
    url: String,
    short: String,
    method: String,
    status: String,
    failed: bool,
    kind: String,
    behavior: String,
    cache: String,
    x_cache: String,
    cache_control: String,
    expires: String,
    age: String,
    cors: String,
    phase: String,
    source: String,
}

fn slug(prefix: &str, i: usize) -> String {
    format!("{prefix}-{i}")
}

fn pct(v: f64) -> String {
    format!("{:.2}", v.clamp(0.0, 100.0))
}

fn status_text(r: &Record) -> String {
    match (&r.status, &r.failure) {
        (Some(s), None) => s.to_string(),
        (Some(s), Some(f)) => format!("{s} {}", f.error_text),
        (None, Some(f)) => match &f.cors_error {
            Some(c) => format!("CORS {c}"),
            None => f.error_text.clone(),
        },
        (None, None) => "-".into(),
    }
}

fn failed(r: &Record) -> bool {
    r.failure.is_some() || r.status.is_none_or(|s| s >= 400)
}

fn waterfall(records: &[&Record]) -> Waterfall {
    if records.is_empty() {
        return Waterfall::default();
    }
    let t0 = records
        .iter()
        .map(|r| r.timing.start_ms)
        .fold(f64::INFINITY, f64::min);
    let end = |r: &Record| {
        r.timing.start_ms - t0 + r.timing.end_ms.or(r.timing.ttfb_ms).unwrap_or(0.0).max(0.0)
    };
    let span = records.iter().map(|r| end(r)).fold(1.0, f64::max);
    let rows = records
        .iter()
        .map(|r| {
            let offset = r.timing.start_ms - t0;
            let total = r.timing.end_ms.or(r.timing.ttfb_ms).unwrap_or(0.0).max(0.0);
            let ttfb = r.timing.ttfb_ms.unwrap_or(total).clamp(0.0, total);
            let (left, wait) = (offset / span * 100.0, (ttfb / span * 100.0).max(0.2));
            BarView {
                url: r.url.clone(),
                short: super::table::short_url(&r.url, 60),
                status: status_text(r),
                cache: r.class.cache.status.as_str().to_string(),
                failed: failed(r),
                left: pct(left),
                wait: pct(wait),
                recv_left: pct(left + wait),
                recv: pct((total - ttfb) / span * 100.0),
                ms: format!("{total:.0}"),
            }
        })
        .collect();
    Waterfall {
        span_ms: format!("{span:.0}"),
        rows: LazyRows::value(rows),
    }
}

/// A screenshot path as a link relative to the report (the run wrote it inside `out_dir`).
fn relative_link(path: &str, out_dir: &Path) -> String {
    let p = Path::new(path);
    p.strip_prefix(out_dir)
        .ok()
        .or_else(|| p.file_name().map(Path::new))
        .map(|r| r.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

fn view(report: &Report, out_dir: &Path) -> View {
    let s = &report.summary;
    let outcome = outcome_word(report);
    let behavior_anchor: HashMap<&str, String> = report
        .behaviors
        .iter()
        .enumerate()
        .map(|(i, b)| (b.pattern.as_str(), slug("b", i)))
        .collect();
    let findings_sorted = sorted_findings(report);
    let mut finding_anchor: HashMap<&str, String> = HashMap::new();
    for (i, f) in findings_sorted.iter().enumerate() {
        finding_anchor
            .entry(f.id.as_str())
            .or_insert_with(|| slug("f", i));
    }

    let headline = if report.behaviors.is_empty() {
        format!(
            "no behaviors verified · {} error finding(s) · {} request(s), {} failed",
            s.findings_error, s.requests, s.failed_requests
        )
    } else {
        format!(
            "{} of {} behaviors met · {} error finding(s) · {} warning(s) · {} request(s), {} failed",
            report.behaviors.len() - s.behaviors_failed,
            report.behaviors.len(),
            s.findings_error,
            s.findings_warn,
            s.requests,
            s.failed_requests
        )
    };

    let mut stats = vec![
        ("requests".to_string(), s.requests.to_string()),
        ("failed".to_string(), s.failed_requests.to_string()),
    ];
    for (k, v) in &s.cache_statuses {
        stats.push((format!("cache {k}"), v.to_string()));
    }

    let behaviors = report
        .behaviors
        .iter()
        .enumerate()
        .map(|(i, b)| BehaviorView {
            anchor: slug("b", i),
            pattern: b.pattern.clone(),
            expect: serde_json::to_value(b.expect)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            verdict: b.verdict.to_string(),
            pass: b.pass,
            reason: b.reason.clone(),
            findings: b
                .findings
                .iter()
                .map(|id| {
                    (
                        id.clone(),
                        finding_anchor.get(id.as_str()).cloned().unwrap_or_default(),
                    )
                })
                .collect(),
            requests: b.requests,
            asset_kinds: b.asset_kinds.join(", "),
            urls: b.urls.len(),
            trend: None,
            sequences: b
                .sequences
                .iter()
                .map(|q| SequenceView {
                    url: q.url.clone(),
                    short: super::table::short_url(&q.url, 80),
                    verdict: q.verdict.to_string(),
                    cells: q
                        .statuses
                        .iter()
                        .enumerate()
                        .map(|(n, st)| {
                            let mut title = format!("load {}: {st}", n + 1);
                            if let Some(Some(c)) = q.http_statuses.get(n) {
                                title.push_str(&format!(" · HTTP {c}"));
                            }
                            if let Some(Some(p)) = q.pops.get(n) {
                                title.push_str(&format!(" · POP {p}"));
                            }
                            if let Some(Some(a)) = q.ages.get(n) {
                                title.push_str(&format!(" · Age {a}"));
                            }
                            CellView {
                                letter: status_letter(st),
                                status: st.clone(),
                                title,
                            }
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();

    let findings = findings_sorted
        .iter()
        .enumerate()
        .map(|(i, f)| FindingView {
            anchor: slug("f", i),
            id: f.id.clone(),
            severity: f.severity.as_str(),
            title: f.title.clone(),
            behavior: f.behavior.as_ref().map(|b| {
                (
                    b.clone(),
                    behavior_anchor.get(b.as_str()).cloned().unwrap_or_default(),
                )
            }),
            explanation: f.explanation.clone(),
            evidence: f
                .evidence
                .iter()
                .map(|e| (e.url.clone(), e.lines.clone()))
                .collect(),
            fix: f.fix.clone(),
        })
        .collect();

    // Requests by (run, phase), for the waterfalls.
    let mut by_phase: HashMap<(Option<&str>, &str), Vec<&Record>> = HashMap::new();
    let mut phase_order: Vec<(Option<&str>, &str)> = Vec::new();
    for r in &report.requests {
        let key = (r.source.as_deref(), r.phase.as_str());
        if !by_phase.contains_key(&key) {
            phase_order.push(key);
        }
        by_phase.entry(key).or_default().push(r);
    }
    let mut used: BTreeSet<(Option<&str>, &str)> = BTreeSet::new();
    let journeys = report
        .journeys
        .iter()
        .map(|j| JourneyView {
            name: j.name.clone(),
            source: j.source.clone(),
            base_url: j.base_url.clone(),
            ok: j.ok,
            steps: j
                .steps
                .iter()
                .map(|st| {
                    let phase = format!("{}#{} {}", j.name, st.index, st.description);
                    let records = phase_order
                        .iter()
                        .find(|(src, p)| *src == j.source.as_deref() && *p == phase)
                        .copied();
                    let wf = match records {
                        Some(key) => {
                            used.insert(key);
                            waterfall(&by_phase[&key])
                        }
                        None => Waterfall::default(),
                    };
                    StepView {
                        index: st.index,
                        description: st.description.clone(),
                        ok: st.ok,
                        duration_ms: st.duration_ms,
                        error: st.error.clone(),
                        screenshot: st.screenshot.as_deref().map(|p| relative_link(p, out_dir)),
                        waterfall: wf,
                    }
                })
                .collect(),
        })
        .collect();
    let other_phases = phase_order
        .iter()
        .filter(|k| !used.contains(*k))
        .map(|k| PhaseView {
            phase: match k.0 {
                Some(src) => format!(
                    "[{src}] {}",
                    if k.1.is_empty() { "(no phase)" } else { k.1 }
                ),
                None => (if k.1.is_empty() { "(no phase)" } else { k.1 }).to_string(),
            },
            waterfall: waterfall(&by_phase[k]),
        })
        .collect();

    let h = |r: &Record, name: &str| r.response_headers.get(name).unwrap_or("").to_string();
    let requests: Vec<RowView> = report
        .requests
        .iter()
        .map(|r| RowView {
            url: r.url.clone(),
            short: super::table::short_url(&r.url, 90),
            method: r.method.clone(),
            status: status_text(r),
            failed: failed(r),
            kind: r.class.asset_kind.as_str().to_string(),
            behavior: r.class.behavior.clone().unwrap_or_default(),
            cache: r.class.cache.status.as_str().to_string(),
            x_cache: h(r, "x-cache"),
            cache_control: h(r, "cache-control"),
            expires: h(r, "expires"),
            age: h(r, "age"),
            cors: r.class.cors.clone(),
            phase: r.phase.clone(),
            source: r.source.clone().unwrap_or_default(),
        })
        .collect();
    let distinct = |f: &dyn Fn(&RowView) -> &str| -> Vec<String> {
        requests
            .iter()
            .map(f)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let filter_behaviors = distinct(&|r| &r.behavior);
    let filter_cache = distinct(&|r| &r.cache);
    let filter_kinds = distinct(&|r| &r.kind);

    View {
        css: CSS,
        js: JS,
        outcome,
        outcome_class: match outcome {
            "PASS" => "pass",
            "FAIL" => "fail",
            _ => "incomplete",
        },
        headline,
        target: report.target.clone(),
        started_at: report.started_at.clone(),
        duration: format!("{:.1} s", report.duration_ms as f64 / 1000.0),
        tool: format!("{} {}", report.tool.name, report.tool.version),
        partial: s.partial,
        notes: report.notes.clone(),
        stats,
        runs: report
            .runs
            .iter()
            .map(|r| RunView {
                source: r.source.clone(),
                target: r.target.clone(),
                started_at: r.started_at.clone(),
                pops: r.pops.join(", "),
                outcome: match r.summary.exit_code {
                    0 => "PASS",
                    1 => "FAIL",
                    _ => "INCOMPLETE",
                },
                findings: r.findings.join(", "),
            })
            .collect(),
        behaviors,
        findings,
        journeys,
        other_phases,
        requests: LazyRows::value(requests),
        filter_behaviors,
        filter_cache,
        filter_kinds,
    }
}
