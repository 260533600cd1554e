//! capture.har: every exchange (failed, blocked and redirect hops included) as HAR 1.2, so the
//! capture opens in Chrome DevTools or any HAR viewer, with a `_cdnprobe` object per entry holding
//! what the tool concluded about it: behavior, normalized cache status, the behavior's verdict and
//! the findings that cite it. The HAR types and the exchange mapping live in `crate::har`.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};

use super::{ExportContext, Exporter, Report};
use crate::classify::Record;

pub(crate) struct HarExporter;

impl Exporter for HarExporter {
    fn file_name(&self) -> &'static str {
        "capture.har"
    }
    fn faithful(&self) -> bool {
        true
    }
    fn write(
        &self,
        report: &Report,
        _ctx: &ExportContext,
        out: &mut dyn std::io::Write,
    ) -> anyhow::Result<()> {
        let mut cited: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        for f in &report.findings {
            for e in &f.evidence {
                cited
                    .entry(e.url.as_str())
                    .or_default()
                    .insert(f.id.as_str());
            }
        }
        // The journeys' exchanges: a run's repeat loads are in report.json, not in the capture.
        let captured: Vec<&Record> = report
            .requests
            .iter()
            .filter(|r| !r.is_repeat_load())
            .collect();
        crate::har::write_json(&mut *out, &captured, |r: &&Record| {
            Some(extension(report, r, cited.get(r.url.as_str())))
        })?;
        out.write_all(b"\n")?;
        Ok(())
    }
}

fn extension(report: &Report, r: &Record, cited: Option<&BTreeSet<&str>>) -> Value {
    let behavior = r
        .class
        .behavior
        .as_deref()
        .and_then(|p| report.behaviors.iter().find(|b| b.pattern == p));
    // The sampled URL's own verdict when it was repeat-loaded, else the behavior's.
    let verdict = behavior.map(|b| {
        b.sequences
            .iter()
            .find(|s| s.url == r.url)
            .map(|s| s.verdict)
            .unwrap_or(b.verdict)
    });
    let mut finding_ids: BTreeSet<&str> = cited.cloned().unwrap_or_default();
    if let Some(b) = behavior {
        finding_ids.extend(b.findings.iter().map(String::as_str));
    }
    let mut v = json!({
        "behavior": r.class.behavior,
        "asset_kind": r.class.asset_kind,
        "cache": {
            "provider": r.class.cache.provider,
            "status": r.class.cache.status,
            "raw": r.class.cache.raw,
            "pop": r.class.cache.pop,
            "age": r.class.cache.age,
        },
        "verdict": verdict,
        "behavior_pass": behavior.map(|b| b.pass),
        "finding_ids": finding_ids,
        "cors": r.class.cors,
        "phase": r.phase,
    });
    if let Some(t) = &r.class.edge_treatment {
        v["edge_treatment"] = json!(t);
    }
    if let Some(s) = &r.source {
        v["source"] = json!(s);
    }
    v
}
