//! `cdnprobe merge`: one report from several runs (the same journeys probed from several regions
//! or POPs), so probing from many places can be summed up in one place.
//!
//! Nothing is lost: every request and journey keeps its run in `source`, and `runs[]` holds each
//! run's own verdicts and finding ids. The merged `behaviors[]` combines them per pattern — met only
//! if met in every run, with every run's sequences — and `findings[]` unions them per (id,
//! behavior), with the evidence of every run. Merging merged reports flattens their runs.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use super::{Report, RunOrigin, SCHEMA_VERSION, Tool};
use crate::diagnose::Finding;
use crate::verify::BehaviorReport;

/// A report and the label it is known by in the merge (see [`label_for`]).
pub struct Input {
    pub label: String,
    pub file: Option<String>,
    pub report: Report,
}

/// The label of a report file: its run directory's name for `…/<dir>/report.json` (cdnprobe's
/// output layout, `<UTC timestamp>-<host>`), else the file stem.
pub fn label_for(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    if path.file_name().is_some_and(|n| n == "report.json")
        && let Some(dir) = path
            .parent()
            .and_then(|p| p.file_name())
            .map(|d| d.to_string_lossy().into_owned())
            .filter(|d| !d.is_empty())
    {
        return dir;
    }
    stem
}

fn unique(label: &str, taken: &mut BTreeSet<String>) -> String {
    let mut l = label.to_string();
    let mut n = 2;
    while taken.contains(&l) {
        l = format!("{label}#{n}");
        n += 1;
    }
    taken.insert(l.clone());
    l
}

fn finding_key(f: &Finding) -> String {
    match &f.behavior {
        Some(b) => format!("{} {b}", f.id),
        None => f.id.clone(),
    }
}

fn pops(report: &Report, source: Option<&str>) -> Vec<String> {
    report
        .requests
        .iter()
        .filter(|r| source.is_none() || r.source.as_deref() == source)
        .filter_map(|r| r.class.cache.pop.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Merge reports, in the order given. Errors only when `inputs` is empty.
pub fn merge(inputs: Vec<Input>) -> anyhow::Result<Report> {
    anyhow::ensure!(!inputs.is_empty(), "nothing to merge");
    let mut taken = BTreeSet::new();
    let mut out = Report {
        schema_version: SCHEMA_VERSION.into(),
        tool: Tool::default(),
        ..Default::default()
    };
    let mut targets: Vec<String> = Vec::new();
    let mut start_end: Option<(chrono::DateTime<chrono::FixedOffset>, i64)> = None;
    let mut behaviors: Vec<(String, Vec<(String, BehaviorReport)>)> = Vec::new();
    let mut findings: Vec<Finding> = Vec::new();
    let mut chromium: BTreeSet<String> = BTreeSet::new();
    let mut partial = false;

    for input in inputs {
        let Input {
            label,
            file,
            report,
        } = input;
        partial |= report.summary.partial;
        if !targets.contains(&report.target) {
            targets.push(report.target.clone());
        }
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&report.started_at) {
            let end = t.timestamp_millis() + report.duration_ms as i64;
            start_end = Some(match start_end {
                None => (t, end),
                Some((s, e)) => (s.min(t), e.max(end)),
            });
        }
        // Relabel the runs of this input (one, or several if it was itself merged).
        let mut relabel: HashMap<Option<String>, String> = HashMap::new();
        if report.runs.is_empty() {
            let l = unique(&label, &mut taken);
            relabel.insert(None, l.clone());
            out.runs.push(RunOrigin {
                source: l,
                file,
                target: report.target.clone(),
                started_at: report.started_at.clone(),
                duration_ms: report.duration_ms,
                pops: pops(&report, None),
                behaviors: report.behaviors.clone(),
                findings: report
                    .findings
                    .iter()
                    .map(finding_key)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                summary: report.summary.clone(),
            });
        } else {
            for run in &report.runs {
                let l = unique(&run.source, &mut taken);
                relabel.insert(Some(run.source.clone()), l.clone());
                let mut run = run.clone();
                run.source = l;
                if run.file.is_none() {
                    run.file = file.clone();
                }
                out.runs.push(run);
            }
        }
        let source_of = |s: &Option<String>| {
            relabel
                .get(s)
                .cloned()
                .or_else(|| relabel.get(&None).cloned())
        };

        for mut j in report.journeys {
            j.source = source_of(&j.source);
            out.journeys.push(j);
        }
        for mut r in report.requests {
            r.source = source_of(&r.source);
            out.requests.push(r);
        }
        let run_label = source_of(&None).unwrap_or_else(|| label.clone());
        for b in report.behaviors {
            match behaviors.iter_mut().find(|(p, _)| *p == b.pattern) {
                Some((_, v)) => v.push((run_label.clone(), b)),
                None => behaviors.push((b.pattern.clone(), vec![(run_label.clone(), b)])),
            }
        }
        for f in report.findings {
            match findings
                .iter_mut()
                .find(|x| x.id == f.id && x.behavior == f.behavior)
            {
                Some(x) => {
                    x.severity = x.severity.max(f.severity);
                    for e in f.evidence {
                        if !x.evidence.contains(&e) {
                            x.evidence.push(e);
                        }
                    }
                }
                None => findings.push(f),
            }
        }
        out.capture.events.add(&report.capture.events);
        let c = &mut out.capture.cdp;
        c.messages += report.capture.cdp.messages;
        c.events += report.capture.cdp.events;
        c.parse_errors += report.capture.cdp.parse_errors;
        c.driver_parse_errors += report.capture.cdp.driver_parse_errors;
        if !report.capture.cdp.chromium_version.is_empty() {
            chromium.insert(report.capture.cdp.chromium_version.clone());
        }
        for n in report.notes {
            if !out.notes.contains(&n) {
                out.notes.push(n);
            }
        }
    }

    out.target = targets.join(", ");
    if let Some((start, end)) = start_end {
        out.started_at = start
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        out.duration_ms = (end - start.timestamp_millis()).max(0) as u64;
    }
    out.capture.cdp.chromium_version = chromium.into_iter().collect::<Vec<_>>().join(", ");
    out.behaviors = behaviors
        .into_iter()
        .map(|(_, runs)| combine_behavior(runs))
        .collect();
    out.findings = findings;
    out.notes.push(format!(
        "merged from {} runs: {}",
        out.runs.len(),
        out.runs
            .iter()
            .map(|r| r.source.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    out.summary.partial = partial;
    out.summarize();
    Ok(out)
}

/// One behavior across runs: met only if met everywhere; the verdict of the first run that
/// failed (else of the first run); reasons named by run when they differ.
fn combine_behavior(runs: Vec<(String, BehaviorReport)>) -> BehaviorReport {
    let pass = runs.iter().all(|(_, b)| b.pass);
    let lead = runs
        .iter()
        .find(|(_, b)| !b.pass)
        .unwrap_or(&runs[0])
        .1
        .clone();
    let same_reason = runs.iter().all(|(_, b)| b.reason == lead.reason);
    let reason = if same_reason || runs.len() == 1 {
        lead.reason.clone()
    } else {
        runs.iter()
            .map(|(l, b)| {
                format!(
                    "[{l}] {}: {}",
                    super::terminal::verdict_str(b.verdict),
                    b.reason
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut out = BehaviorReport {
        pass,
        reason,
        sequences: Vec::new(),
        urls: Vec::new(),
        requests: 0,
        asset_kinds: Vec::new(),
        findings: Vec::new(),
        ..lead
    };
    for (_, b) in runs {
        out.sequences.extend(b.sequences);
        out.requests += b.requests;
        for u in b.urls {
            if !out.urls.contains(&u) {
                out.urls.push(u);
            }
        }
        for k in b.asset_kinds {
            if !out.asset_kinds.contains(&k) {
                out.asset_kinds.push(k);
            }
        }
        for f in b.findings {
            if !out.findings.contains(&f) {
                out.findings.push(f);
            }
        }
    }
    out
}
