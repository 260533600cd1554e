//! summary.md: a short Markdown summary to paste into a pull-request comment or a Confluence page.
//! Short on purpose: outcome, behaviors, error and warning findings with their fix, journeys. The
//! full story is in report.html.

use std::fmt::Write;

use super::terminal::{grouped_sequences, outcome_word, sorted_findings};
use super::{ExportContext, Exporter, Report};
use crate::diagnose::Severity;

pub(crate) struct MarkdownExporter;

/// Findings listed before "… and N more" (a PR comment should stay short).
pub(crate) const MAX_FINDINGS: usize = 8;

impl Exporter for MarkdownExporter {
    fn file_name(&self) -> &'static str {
        "summary.md"
    }
    fn write(
        &self,
        report: &Report,
        _: &ExportContext,
        out: &mut dyn std::io::Write,
    ) -> anyhow::Result<()> {
        out.write_all(to_markdown(report).as_bytes())?;
        Ok(())
    }
}

/// Escape what would break a table cell or start Markdown/HTML markup.
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '*' | '_' | '[' | ']' | '`' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Inline code that survives backticks inside.
fn code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ").replace('|', "\\|");
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

pub fn to_markdown(report: &Report) -> String {
    let s = &report.summary;
    let mut md = String::new();
    let icon = match outcome_word(report) {
        "PASS" => "✅",
        "FAIL" => "❌",
        _ => "⚠️",
    };
    let _ = writeln!(
        md,
        "### {icon} cdnprobe: {} — {}",
        outcome_word(report),
        cell(&report.target)
    );
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "{} · {} requests ({} failed) · {:.1} s · {} {}{}",
        report.started_at,
        s.requests,
        s.failed_requests,
        report.duration_ms as f64 / 1000.0,
        report.tool.name,
        report.tool.version,
        if report.runs.is_empty() {
            String::new()
        } else {
            format!(
                " · merged from {} runs: {}",
                report.runs.len(),
                report
                    .runs
                    .iter()
                    .map(|r| code(&r.source))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    if s.partial {
        let _ = writeln!(
            md,
            "\n> **Partial:** the run was interrupted; this is what was captured."
        );
    }

    if !report.behaviors.is_empty() {
        let _ = writeln!(md, "\n| Behavior | Expect | Sequences | Verdict | Reason |");
        let _ = writeln!(md, "|---|---|---|---|---|");
        for b in &report.behaviors {
            let seqs = grouped_sequences(b.sequences.iter().map(|q| q.statuses.as_slice()), 4);
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} {} | {} |",
                code(&b.pattern),
                serde_json::to_value(b.expect)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                if seqs == "-" {
                    "–".to_string()
                } else {
                    code(&seqs)
                },
                if b.pass { "✅" } else { "❌" },
                b.verdict,
                cell(&b.reason)
            );
        }
    }

    let shown: Vec<_> = sorted_findings(report)
        .into_iter()
        .filter(|f| f.severity >= Severity::Warn)
        .collect();
    if !shown.is_empty() {
        let _ = writeln!(md, "\n**Findings**\n");
        for f in shown.iter().take(MAX_FINDINGS) {
            let icon = if f.severity == Severity::Error {
                "🔴"
            } else {
                "🟡"
            };
            let behavior = f
                .behavior
                .as_deref()
                .map(|b| format!(" ({})", code(b)))
                .unwrap_or_default();
            let _ = writeln!(
                md,
                "- {icon} **{}**{behavior}: {}",
                cell(&f.id),
                cell(&f.title)
            );
            if let Some(e) = f.evidence.first() {
                let line = e
                    .lines
                    .first()
                    .map(|l| format!(" → {}", code(l)))
                    .unwrap_or_default();
                let _ = writeln!(md, "  - evidence: {}{line}", code(&e.url));
            }
            if !f.fix.is_empty() {
                let _ = writeln!(md, "  - fix: {}", cell(&f.fix));
            }
        }
    }
    if shown.len() > MAX_FINDINGS {
        let _ = writeln!(
            md,
            "- … and {} more in report.html",
            shown.len() - MAX_FINDINGS
        );
    }
    if s.findings_info > 0 {
        let _ = writeln!(
            md,
            "\n{} informational finding(s) in report.html.",
            s.findings_info
        );
    }

    if !report.journeys.is_empty() {
        let _ = writeln!(md, "\n**Journeys**\n");
        for j in &report.journeys {
            let ok = j.steps.iter().filter(|s| s.ok).count();
            let failed = j.steps.iter().find(|s| !s.ok);
            let source = j
                .source
                .as_deref()
                .map(|s| format!(" [{}]", cell(s)))
                .unwrap_or_default();
            let _ = write!(
                md,
                "- {} {}{source}: {}/{} steps ok",
                if j.ok { "✅" } else { "❌" },
                code(&j.name),
                ok,
                j.steps.len()
            );
            if let Some(f) = failed {
                let _ = write!(
                    md,
                    " — step #{} {} failed: {}",
                    f.index,
                    code(&f.description),
                    cell(f.error.as_deref().unwrap_or("failed"))
                );
            }
            let _ = writeln!(md);
        }
    }
    let _ = writeln!(
        md,
        "\n<sub>Details: report.html · report.json · capture.har · junit.xml</sub>"
    );
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table_or_inject_html() {
        assert_eq!(cell("a | b\nc <img src=x>"), "a \\| b c &lt;img src=x&gt;");
        assert_eq!(code("no-cache | private"), "`no-cache \\| private`");
        assert_eq!(code("a`b"), "`` a`b ``");
    }
}
