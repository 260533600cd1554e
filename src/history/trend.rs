//! What the history shows: the runs table (`cdnprobe history`) and the per-behavior series
//! (`cdnprobe trend`, in the terminal and as a self-contained HTML chart). Plain text,
//! deterministic (no "3 days ago": times are printed as stored), so it can be tested.

use tabled::builder::Builder;
use tabled::settings::Style;

use super::summary::RunSummary;

/// `cdnprobe history`: one row per run, oldest first.
pub fn runs_table(runs: &[RunSummary]) -> String {
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
