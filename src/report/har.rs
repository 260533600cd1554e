//! capture.har: every exchange (failed, blocked and redirect hops included) as HAR 1.2, so the
//! capture opens in Chrome DevTools or any HAR viewer, with a `_cdnprobe` object per entry holding
//! what the tool concluded about it: behavior, normalized cache status, the behavior's verdict and
//! the findings that cite it. The HAR types and the exchange mapping live in `crate::har`.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};

use super::{ExportContext, Exporter, Report, RequestRecord};
use crate::exchange::Exchange;

pub struct HarExporter;

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
        ctx: &ExportContext,
        out: &mut dyn std::io::Write,
    ) -> anyhow::Result<()> {
        let records: HashMap<(&str, &str), &RequestRecord> = report
            .requests
            .iter()
            .map(|r| ((r.id.as_str(), r.url.as_str()), r))
            .collect();
        let mut cited: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        for f in &report.findings {
            for e in &f.evidence {
                cited
                    .entry(e.url.as_str())
                    .or_default()
                    .insert(f.id.as_str());
            }
        }
        crate::har::write_json(&mut *out, ctx.exchanges, |ex: &Exchange| {
            let record = records.get(&(ex.id.as_str(), ex.url.as_str()))?;
            Some(extension(report, record, cited.get(ex.url.as_str())))
        })?;
        out.write_all(b"\n")?;
        Ok(())
    }
}

fn extension(report: &Report, r: &RequestRecord, cited: Option<&BTreeSet<&str>>) -> Value {
    let behavior = r
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
        "behavior": r.behavior,
        "asset_kind": r.asset_kind,
        "cache": {
            "provider": r.cache.provider,
            "status": r.cache.status,
            "raw": r.cache.raw,
            "pop": r.cache.pop,
            "age": r.cache.age,
        },
        "verdict": verdict,
        "behavior_pass": behavior.map(|b| b.pass),
        "finding_ids": finding_ids,
        "cors": r.cors,
        "phase": r.phase,
    });
    if let Some(t) = &r.edge_treatment {
        v["edge_treatment"] = json!(t);
    }
    if let Some(s) = &r.source {
        v["source"] = json!(s);
    }
    v
}
