//! The run's record (`Report`, serialized as report.json) and its renderings, one file per format.
//!
//! `Report` is the contract with pipelines and with `diff`/`merge`: it is versioned
//! (`SCHEMA_VERSION`) and its JSON Schema is generated from these types (`cdnprobe schema`,
//! committed as `schema/report.schema.json`).
//!
//! Every file a run leaves behind is one [`Exporter`] (one module per format, as hyperfine's
//! `export/`): each renders the same `Report` (whose records hold the redacted exchanges), so the
//! formats cannot disagree about what happened. [`write_all`] writes them all.

pub mod build;
pub mod chart;
pub mod diff;
pub mod display;
pub mod har;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod schema;
pub mod table;
pub mod terminal;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::classify::Record;
use crate::diagnose::{Finding, Severity};
use crate::exchange::{CdpStats, EventCounts};
use crate::journey::JourneyResult;
use crate::verify::BehaviorReport;
pub use chart::{TrendPoint, Trends};

/// Bump the minor part for additive changes, the major part for breaking ones.
///
/// - 1.0: first version.
/// - 1.1: `runs[]` (a merged report's per-run origin), `source` on requests and journeys.
/// - 1.2: `observed_behavior` on requests (`--behavior-header`), `health_checks[]` (Atlassian's
///   static asset caching health check).
/// - 1.3: `reason` on `behaviors[].sequences[]` (why each sampled URL got its verdict).
/// - 1.4: `security_state` on requests (Chromium's `securityState`; TLS findings read it).
/// - 1.6: `failure.tool_limit` on requests (a load that failed on cdnprobe's own limit).
/// - 1.7: `websocket` on requests (a WebSocket's frames, first server messages, close, error).
/// - 1.8: `websocket.messages` (the first 50 frames either way) replaces `websocket.received`.
/// - 1.9: `location` and `config_fix` on findings (from a distribution's configuration).
/// - 2.0: a request is its whole exchange plus its classification (one record type):
///   `requests[]` gains `status_text`, `from_disk_cache`, `from_memory_cache` and
///   `from_service_worker`, and loses `from_browser_cache` (= disk or memory cache).
pub const SCHEMA_VERSION: &str = "2.0";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            name: "cdnprobe".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// Counts and the overall outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    pub requests: usize,
    pub failed_requests: usize,
    /// Requests by normalized cache status (`hit`, `miss`, ...).
    pub cache_statuses: std::collections::BTreeMap<String, usize>,
    pub findings_error: usize,
    pub findings_warn: usize,
    pub findings_info: usize,
    pub behaviors_failed: usize,
    /// Every journey completed, every verdict met its expectation and no error finding.
    pub pass: bool,
    /// The run was interrupted (Ctrl-C, crash, failed step): what is here is what was captured.
    pub partial: bool,
    pub exit_code: i32,
}

/// Proof that the capture saw what it should: CDP message counts and per-event counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CaptureStats {
    pub cdp: CdpStats,
    pub events: EventCounts,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    pub schema_version: String,
    pub tool: Tool,
    /// What was probed: a URL, or `lab (proxy)` for the embedded lab.
    pub target: String,
    /// RFC 3339 UTC.
    pub started_at: String,
    pub duration_ms: u64,
    pub journeys: Vec<JourneyResult>,
    pub requests: Vec<Record>,
    pub behaviors: Vec<BehaviorReport>,
    pub findings: Vec<Finding>,
    pub summary: Summary,
    pub capture: CaptureStats,
    /// Free-form notes the run wants the reader to see (lab topology switches, warnings).
    #[serde(default)]
    pub notes: Vec<String>,
    /// Atlassian's `/rest/static-asset-caching/health-checks` answers, verbatim (redacted), one
    /// per journey base URL (added in 1.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<crate::diagnose::health::HealthCheck>,
    /// The hosts judged as the product (the distribution's) and why; every other host is a third
    /// party, judged only by its own headers (added in 1.5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub product_hosts: Vec<crate::classify::edge::ProductHost>,
    /// Only in a report made by `cdnprobe merge`: one entry per merged run, in input order,
    /// with that run's own verdicts. Requests and journeys name their run in `source`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<RunOrigin>,
}

/// One run inside a merged report: where it came from and what it concluded on its own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunOrigin {
    /// Short unique label (the run's output directory name, or the file name).
    pub source: String,
    /// The report.json it was read from, as given on the command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub target: String,
    pub started_at: String,
    pub duration_ms: u64,
    /// Edge locations (POPs) that answered this run's requests, sorted.
    #[serde(default)]
    pub pops: Vec<String>,
    /// This run's own behavior verdicts (the merged `behaviors[]` combines them).
    #[serde(default)]
    pub behaviors: Vec<BehaviorReport>,
    /// Finding ids this run raised (`id` or `id behavior`), sorted.
    #[serde(default)]
    pub findings: Vec<String>,
    pub summary: Summary,
}

impl Report {
    pub fn new(target: impl Into<String>, started_at: chrono::DateTime<chrono::Utc>) -> Report {
        Report {
            schema_version: SCHEMA_VERSION.into(),
            tool: Tool::default(),
            target: target.into(),
            started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ..Default::default()
        }
    }

    /// Redact the strings that do not come from (already redacted) exchanges: the target and
    /// each journey's base URL (userinfo, tokens in the query, `#access_token=`), step
    /// descriptions and errors (a `goto` with `?jwt=`), notes, and the health checks' URLs,
    /// bodies (`SESSION=...`) and errors. Idempotent (markers are left alone), so every path
    /// that writes a report calls it just before writing, whatever was redacted earlier.
    pub(crate) fn redact_strings(&mut self, r: &crate::redact::Redactor) {
        if r.keeps_secrets() {
            return;
        }
        self.target = r.redact_url(&self.target);
        for j in &mut self.journeys {
            j.base_url = r.redact_url(&j.base_url);
            for s in &mut j.steps {
                s.description = r.redact_text(&s.description);
                if let Some(e) = s.error.as_mut() {
                    *e = r.redact_text(e);
                }
            }
        }
        for n in &mut self.notes {
            *n = r.redact_text(n);
        }
        for hc in &mut self.health_checks {
            hc.url = r.redact_url(&hc.url);
            hc.body = r.redact_text(&hc.body);
            if let Some(e) = hc.error.as_mut() {
                *e = r.redact_text(e);
            }
        }
    }

    /// Recompute `summary` from the rest (call after every stage that changes the report).
    pub fn summarize(&mut self) {
        let mut s = Summary {
            requests: self.requests.len(),
            partial: self.summary.partial,
            ..Default::default()
        };
        for r in &self.requests {
            if r.failure.is_some() || r.status.is_none_or(|c| c >= 500) {
                s.failed_requests += 1;
            }
            *s.cache_statuses
                .entry(r.class.cache.status.as_str().to_string())
                .or_default() += 1;
        }
        for f in &self.findings {
            match f.severity {
                Severity::Error => s.findings_error += 1,
                Severity::Warn => s.findings_warn += 1,
                Severity::Info => s.findings_info += 1,
            }
        }
        s.behaviors_failed = self.behaviors.iter().filter(|b| !b.pass).count();
        let journeys_ok = self.journeys.iter().all(|j| j.ok);
        s.pass = journeys_ok && s.findings_error == 0 && s.behaviors_failed == 0 && !s.partial;
        s.exit_code = if !journeys_ok || s.partial {
            crate::error::exit::CANNOT_RUN
        } else if s.pass {
            crate::error::exit::OK
        } else {
            crate::error::exit::CHECK_FAILED
        };
        self.summary = s;
    }
}

/// What an exporter may need besides the report.
pub struct ExportContext<'a> {
    /// The directory the files go to (links between them are relative to it).
    pub out_dir: &'a Path,
    /// Each behavior's recent runs from the history (empty without one): report.html draws them.
    pub trends: &'a Trends,
}

/// One output file.
pub trait Exporter: Send + Sync {
    /// File name inside the output directory.
    fn file_name(&self) -> &'static str;
    /// Write the file's bytes to `out` (buffered by the caller): large captures stream to disk
    /// instead of being built in memory first.
    fn write(
        &self,
        report: &Report,
        ctx: &ExportContext,
        out: &mut dyn Write,
    ) -> anyhow::Result<()>;
    /// True for the record (report.json, capture.har): it gets the report as it is. The others
    /// are for people and get it with long strings clipped (`display`).
    fn faithful(&self) -> bool {
        false
    }
}

/// Every file a run leaves, in the order `write_all` writes them (report.json first: it is the
/// record the others are views of).
pub fn exporters() -> Vec<Box<dyn Exporter>> {
    vec![
        Box::new(json::JsonExporter),
        Box::new(har::HarExporter),
        Box::new(junit::JunitExporter),
        Box::new(html::HtmlExporter),
        Box::new(markdown::MarkdownExporter),
    ]
}

/// The file names `write_all` writes, in order.
pub fn file_names() -> Vec<&'static str> {
    exporters().iter().map(|e| e.file_name()).collect()
}

/// Write every output file into `out_dir` (created if missing); each file is written atomically.
/// The report's records must already be redacted. A format that fails does not stop the others:
/// every file that can be written is, then the first error is returned.
pub fn write_all(report: &Report, out_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    write_all_with(report, out_dir, &Trends::new())
}

/// [`write_all`], with each behavior's trend from the history for report.html.
pub(crate) fn write_all_with(
    report: &Report,
    out_dir: &Path,
    trends: &Trends,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("creating output directory {}", out_dir.display()))?;
    let ctx = ExportContext { out_dir, trends };
    let exporters = exporters();
    // What people read shows long strings clipped; the record (report.json, capture.har) keeps
    // them whole. See `display`.
    let display = display::clipped(report);
    let display = &*display;
    // The files are independent: write them side by side (a large capture.har takes as long
    // as all the others together).
    let results: Vec<(PathBuf, anyhow::Result<()>)> = std::thread::scope(|scope| {
        let jobs: Vec<_> = exporters
            .iter()
            .map(|exporter| {
                let ctx = &ctx;
                scope.spawn(move || {
                    let report = if exporter.faithful() { report } else { display };
                    let path = out_dir.join(exporter.file_name());
                    let t = std::time::Instant::now();
                    let result = write_atomically_with(&path, |out| {
                        exporter
                            .write(report, ctx, out)
                            .with_context(|| format!("rendering {}", exporter.file_name()))
                    });
                    tracing::debug!("{}: {:?}", exporter.file_name(), t.elapsed());
                    (path, result)
                })
            })
            .collect();
        jobs.into_iter()
            .map(|j| j.join().expect("an exporter panicked"))
            .collect()
    });
    let mut written = Vec::new();
    let mut first_error = None;
    for (path, result) in results {
        match result {
            Ok(()) => written.push(path),
            Err(e) => {
                tracing::error!("{e:#}");
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(written),
    }
}

/// Write to `path.tmp` then rename, so a reader never sees half a file.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomically_with(path, |out| Ok(out.write_all(bytes)?))
}

/// [`write_atomically`] for content produced by `fill` into a buffered writer; the temporary
/// file is removed if `fill` fails.
pub(crate) fn write_atomically_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let file = std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
    let written = fill(&mut out).and_then(|()| {
        out.flush()
            .with_context(|| format!("writing {}", tmp.display()))
    });
    drop(out);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use strum::VariantArray;

    /// Every name the report's enums print (tables, HTML, metrics) is the one report.json holds:
    /// both are derived, and this keeps the two derivations in step.
    fn same_names<T: VariantArray + serde::Serialize + Into<&'static str> + Copy>() {
        for v in T::VARIANTS {
            let serde = serde_json::to_value(v).unwrap();
            let name: &'static str = (*v).into();
            assert_eq!(serde.as_str(), Some(name));
        }
    }

    #[test]
    fn printed_enum_names_are_the_reports() {
        same_names::<crate::classify::AssetKind>();
        same_names::<crate::classify::CacheOutcome>();
        same_names::<crate::classify::Provider>();
        same_names::<crate::diagnose::Severity>();
        same_names::<crate::verify::Verdict>();
        assert_eq!(crate::verify::Verdict::NeverHits.to_string(), "NEVER_HITS");
        assert_eq!(
            "refresh_hit".parse::<crate::classify::CacheOutcome>(),
            Ok(crate::classify::CacheOutcome::RefreshHit)
        );
        assert_eq!(crate::verify::verdict::letter_for_word("refresh_hit"), "R");
        assert_eq!(crate::verify::verdict::letter_for_word("failed"), "!");
        assert_eq!(crate::verify::verdict::letter_for_word("tool-limit"), "?");
    }
}
