//! report.json: write (atomically, so a crash never leaves half a file) and read.

use std::path::Path;

use anyhow::Context;

use super::Report;

pub fn write(report: &Report, path: &Path) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

pub fn read(path: &Path) -> anyhow::Result<Report> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        crate::UserError::input(
            format!(
                "{}:{}:{}: not a cdnprobe report.json: {e}",
                path.display(),
                e.line(),
                e.column()
            ),
            "pass the report.json from a cdnprobe run's output directory",
        )
        .into()
    })
}
