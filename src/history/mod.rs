//! From a smoke check to a watch: every `run` and `analyze` appends a summary of itself to a
//! local history ([`store`], SQLite), which `cdnprobe history`, `cdnprobe trend`, `diff last-good`
//! and report.html's per-behavior trend read back.
//!
//! Recording never costs a run its result: a history that cannot be written (damaged, another
//! program's file, a read-only directory) is a warning with a hint on stderr, the run's report is
//! still written and its exit code unchanged. The commands that only read the history exit 2 on
//! the same problems.

pub mod store;
pub mod summary;
pub mod trend;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::UserError;
use crate::report::{Report, TrendPoint, Trends};
use store::{Query, Store};
use summary::RunSummary;

/// Where the history lives unless `--history` says otherwise (next to the runs' directories).
pub(crate) const DEFAULT_PATH: &str = "output/history.sqlite";

/// How many earlier runs report.html's trend shows per behavior.
const REPORT_TREND_RUNS: usize = 20;

/// Label names cdnprobe's own metrics use (or Prometheus reserves): a `--label` cannot take them.
pub(crate) const RESERVED_LABELS: &[&str] = &[
    "behavior",
    "verdict",
    "severity",
    "finding",
    "percentile",
    "job",
    "instance",
    "le",
    "quantile",
];

/// `--label key=value`: a Prometheus-style label that tags a run (region, environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub key: String,
    pub value: String,
}

impl FromStr for Label {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}`: write KEY=VALUE, e.g. region=fra"))?;
        let key = k.trim();
        let valid_name = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name || key.starts_with("__") {
            return Err(format!(
                "`{key}`: a label name is letters, digits and `_`, not starting with a digit or `__` (Prometheus' rule), e.g. region"
            ));
        }
        if RESERVED_LABELS.contains(&key) {
            return Err(format!(
                "`{key}` is a label cdnprobe's metrics use themselves; pick another name (e.g. region, env, site)"
            ));
        }
        let value = v.trim();
        if value.is_empty() || value.chars().any(char::is_control) || value.len() > 128 {
            return Err(format!(
                "`{s}`: the value must be 1 to 128 characters without control characters"
            ));
        }
        Ok(Label {
            key: key.to_string(),
            value: value.to_string(),
        })
    }
}

/// The labels as a map; a key given twice is a mistake (exit 2).
pub(crate) fn labels_map(labels: &[Label]) -> Result<BTreeMap<String, String>, UserError> {
    let mut map = BTreeMap::new();
    for l in labels {
        if map.insert(l.key.clone(), l.value.clone()).is_some() {
            return Err(UserError::input(
                format!("--label {} is given twice", l.key),
                "give each label once: --label region=fra --label env=prod",
            ));
        }
    }
    Ok(map)
}

/// Records one `run` or `analyze` into the history: opened at the start (so a label mistake
/// stops the run before it starts), read for report.html's trends, appended to at the end.
pub(crate) struct Recorder {
    store: Option<Store>,
    labels: BTreeMap<String, String>,
    command: &'static str,
}

impl Recorder {
    /// Check the labels and open the history at `path` (`None`: `--no-history`). A history
    /// that cannot be opened is a warning: the run goes on without it.
    pub fn open(
        path: Option<&Path>,
        labels: &[Label],
        command: &'static str,
    ) -> Result<Recorder, UserError> {
        let labels = labels_map(labels)?;
        let store = match path {
            None => None,
            Some(path) => match Store::open(path) {
                Ok(s) => Some(s),
                Err(e) => {
                    crate::output::to_stderr(&format!(
                        "warning: this {command} is not recorded in the history: {e}"
                    ));
                    None
                }
            },
        };
        Ok(Recorder {
            store,
            labels,
            command,
        })
    }

    /// Per behavior, its points in the last runs of the same target and labels, then this run's:
    /// what report.html draws. Empty without a history (or with no earlier run).
    pub(crate) fn trends(&self, report: &Report) -> Trends {
        let Some(store) = &self.store else {
            return Trends::new();
        };
        let runs = match store.runs(&Query {
            target: Some(report.target.clone()),
            labels: self.labels.clone(),
            limit: Some(REPORT_TREND_RUNS),
            ..Default::default()
        }) {
            Ok(r) => r,
            Err(e) => {
                crate::output::to_stderr(&format!("warning: report.html shows no trend: {e}"));
                return Trends::new();
            }
        };
        if runs.is_empty() {
            return Trends::new();
        }
        let now = self.summary(report, None);
        let mut trends = Trends::new();
        for b in &now.behaviors {
            let mut points: Vec<TrendPoint> = runs
                .iter()
                .filter_map(|r| {
                    r.behaviors
                        .iter()
                        .find(|x| x.pattern == b.pattern)
                        .map(|x| trend::point(r, x))
                })
                .collect();
            if points.is_empty() {
                continue;
            }
            points.push(trend::point(&now, b));
            trends.insert(b.pattern.clone(), points);
        }
        trends
    }

    fn summary(&self, report: &Report, report_path: Option<&Path>) -> RunSummary {
        // Absolute, so `diff last-good` finds it from any directory.
        let path = report_path.map(|p| {
            std::path::absolute(p)
                .unwrap_or_else(|_| p.to_path_buf())
                .display()
                .to_string()
        });
        summary::summarize(
            self.command,
            report,
            &self.labels,
            path.as_deref(),
            chrono::Utc::now(),
        )
    }

    /// Append the run (one transaction) and return its summary (the metrics are made from it).
    /// A failure to append is a warning: the run's result stands.
    pub fn record(&mut self, report: &Report, report_path: &Path) -> RunSummary {
        let mut run = self.summary(report, Some(report_path));
        if let Some(store) = self.store.as_mut() {
            match store.append(&run) {
                Ok(id) => run.id = id,
                Err(e) => crate::output::to_stderr(&format!(
                    "warning: this {} is not recorded in the history: {e}",
                    self.command
                )),
            }
        }
        run
    }
}

/// `30d`, `12h`, `90m`, `2w`, `45s` before `now`, or a date (`2026-11-01`) or RFC 3339 time.
pub(crate) fn parse_since(
    s: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: i64 = n
        .parse()
        .map_err(|_| format!("`{s}`: write a span such as 30d, 12h, 2w, or a date 2026-11-01"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(format!(
                "`{s}`: the unit is s, m, h, d or w (e.g. 30d), or write a date 2026-11-01"
            ));
        }
    };
    n.checked_mul(secs)
        .and_then(chrono::TimeDelta::try_seconds)
        .and_then(|d| now.checked_sub_signed(d))
        .ok_or_else(|| format!("`{s}`: too far back"))
}

pub(crate) fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The keyword `diff` takes for the newest good run.
pub(crate) const LAST_GOOD: &str = "last-good";

/// `diff last-good X`: the report.json of the newest good run for X's target in the history.
pub(crate) fn last_good_report(history: &Path, other: &Path) -> anyhow::Result<PathBuf> {
    #[derive(serde::Deserialize)]
    struct TargetOnly {
        target: String,
    }
    let text = crate::input::read_to_string(other, crate::input::Kind::Report)?;
    let other_target = serde_json::from_str::<TargetOnly>(&text)
        .map_err(|e| {
            UserError::input(
                format!("{}: not a report.json ({e})", other.display()),
                "pass the report.json from a cdnprobe run's output directory",
            )
        })?
        .target;
    drop(text);
    let other_target = other_target.as_str();
    let store = Store::open_existing(history)?;
    match store.last_good(other_target, Some(other))? {
        Some(run) => {
            let path = PathBuf::from(run.report_path.clone().unwrap_or_default());
            eprintln!(
                "last-good: run {} of {} ({}): {}",
                run.id,
                run.started_at,
                run.verdict_summary(),
                path.display()
            );
            Ok(path)
        }
        None => Err(UserError::input(
            format!(
                "{}: no good run of {other_target} (every behavior met, no error finding) whose report.json is still on disk",
                history.display()
            ),
            "`cdnprobe history` lists the runs; compare with a report.json by its path instead",
        )
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_prometheus_names_and_avoid_our_own() {
        assert_eq!(
            "region=fra".parse::<Label>().unwrap(),
            Label {
                key: "region".into(),
                value: "fra".into()
            }
        );
        assert!("region".parse::<Label>().is_err());
        assert!("1region=x".parse::<Label>().is_err());
        assert!("__name__=x".parse::<Label>().is_err());
        assert!("behavior=x".parse::<Label>().is_err());
        assert!("region=".parse::<Label>().is_err());
        let twice = labels_map(&["a=1".parse().unwrap(), "a=2".parse().unwrap()]);
        assert!(twice.is_err());
    }

    #[test]
    fn since_takes_spans_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            rfc3339(parse_since("30d", now).unwrap()),
            "2026-10-27T12:00:00.000Z"
        );
        assert_eq!(
            rfc3339(parse_since("12h", now).unwrap()),
            "2026-11-26T00:00:00.000Z"
        );
        assert_eq!(
            rfc3339(parse_since("2026-11-01", now).unwrap()),
            "2026-11-01T00:00:00.000Z"
        );
        assert!(parse_since("30x", now).is_err());
        assert!(parse_since("d", now).is_err());
    }
}
