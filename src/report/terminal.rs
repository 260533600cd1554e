//! What `cdnprobe run` prints: the verdict line, the behaviors table (`M H H` sequences), the top
//! findings and where the files are; `--verbose` adds the per-request table.
//!
//! Rendering is a pure function of the report and a `color` flag, so it is snapshot-tested; the
//! caller decides colour ([`use_color`]: stdout is a terminal and `NO_COLOR` is unset). Tables are
//! laid out here rather than with `tabled` because cells are coloured and widths must be measured
//! on the plain text.

use std::io::IsTerminal;
use std::path::PathBuf;

use owo_colors::OwoColorize;

use super::Report;
use crate::diagnose::{Finding, Severity};

/// How many findings the concise view lists.
pub(crate) const TOP_FINDINGS: usize = 5;

pub struct TerminalOptions<'a> {
    pub color: bool,
    pub verbose: bool,
    /// The files the run wrote (the first one's directory is named).
    pub files: &'a [PathBuf],
}

/// Colour on stdout only when it is a terminal and `NO_COLOR` is unset or empty.
pub(crate) fn use_color() -> bool {
    color_wanted(
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

/// The rule behind [`use_color`] (<https://no-color.org>: any non-empty `NO_COLOR` disables it).
pub(crate) fn color_wanted(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Verdict names in an already rendered table get their colour (a table is laid out plain,
/// so that colour codes never count in its column widths).
pub(crate) fn paint_verdicts(text: &str, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 64);
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let w = std::mem::take(word);
        let tone = match w.as_str() {
            "HITS" | "WARM" | "BYPASS" | "PASS" => Tone::Good,
            "INCONCLUSIVE" => Tone::Warn,
            "NEVER_HITS" | "LEAK" | "ERROR" | "NO_CDN" | "FAIL" => Tone::Bad,
            _ => Tone::Plain,
        };
        out.push_str(&paint(&w, tone, true));
    };
    for c in text.chars() {
        if c.is_ascii_uppercase() || c == '_' {
            word.push(c);
        } else {
            if !word.is_empty() {
                flush(&mut word, &mut out);
            }
            out.push(c);
        }
    }
    if !word.is_empty() {
        flush(&mut word, &mut out);
    }
    out
}

/// One letter per attempt: `M H H`. Unknown statuses show as `?`.
pub(crate) fn sequence_letters(statuses: &[String]) -> String {
    statuses
        .iter()
        .map(|s| status_letter(s))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Sequences grouped by their letters, in first-seen order: `M H H H ×33 | M M H H ×2`. At most
/// `max` groups are shown, then `+N` for the sequences left out.
pub(crate) fn grouped_sequences<'a>(
    sequences: impl IntoIterator<Item = &'a [String]>,
    max: usize,
) -> String {
    let mut groups: Vec<(String, usize)> = Vec::new();
    for s in sequences {
        let letters = sequence_letters(s);
        match groups.iter_mut().find(|(l, _)| *l == letters) {
            Some((_, n)) => *n += 1,
            None => groups.push((letters, 1)),
        }
    }
    if groups.is_empty() {
        return "-".into();
    }
    let mut parts: Vec<String> = groups
        .iter()
        .take(max)
        .map(|(l, n)| {
            if *n > 1 {
                format!("{l} ×{n}")
            } else {
                l.clone()
            }
        })
        .collect();
    let left: usize = groups.iter().skip(max).map(|(_, n)| n).sum();
    if left > 0 {
        parts.push(format!("+{left}"));
    }
    parts.join(" | ")
}

/// The letter of one normalized status word (the same alphabet as verify's tables).
pub(crate) fn status_letter(status: &str) -> &'static str {
    crate::verify::verdict::letter_for_word(status)
}

/// The overall outcome word: PASS, FAIL, or INCOMPLETE (the run could not do its whole job).
pub(crate) fn outcome_word(report: &Report) -> &'static str {
    match report.summary.exit_code {
        0 => "PASS",
        1 => "FAIL",
        _ => "INCOMPLETE",
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Tone {
    Plain,
    Good,
    Bad,
    Warn,
    Dim,
}

fn paint(text: &str, tone: Tone, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    match tone {
        Tone::Plain => text.to_string(),
        Tone::Good => text.green().to_string(),
        Tone::Bad => text.red().bold().to_string(),
        Tone::Warn => text.yellow().to_string(),
        Tone::Dim => text.dimmed().to_string(),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max - 1).collect::<String>())
    }
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
fn layout(rows: &[Vec<(String, Tone)>], color: bool) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; cols];
    for r in rows {
        for (i, (t, _)) in r.iter().enumerate() {
            widths[i] = widths[i].max(t.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::from("  ");
        for (i, (t, tone)) in r.iter().enumerate() {
            line.push_str(&paint(t, *tone, color));
            if i + 1 < r.len() {
                line.push_str(&" ".repeat(widths[i] - t.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The first line: outcome and the numbers behind it.
pub(crate) fn verdict_line(report: &Report, color: bool) -> String {
    let s = &report.summary;
    let word = outcome_word(report);
    let tone = match word {
        "PASS" => Tone::Good,
        "FAIL" => Tone::Bad,
        _ => Tone::Warn,
    };
    let mut parts = Vec::new();
    if report.behaviors.is_empty() {
        parts.push("no behaviors verified".to_string());
    } else if s.behaviors_failed > 0 {
        parts.push(format!(
            "{} of {} behaviors failed",
            s.behaviors_failed,
            report.behaviors.len()
        ));
    } else {
        parts.push(format!(
            "{} met",
            plural(report.behaviors.len(), "behavior", "behaviors")
        ));
    }
    parts.push(plural(s.findings_error, "error finding", "error findings"));
    if s.findings_warn > 0 {
        parts.push(plural(s.findings_warn, "warning", "warnings"));
    }
    parts.push(format!(
        "{} ({} failed)",
        plural(s.requests, "request", "requests"),
        s.failed_requests
    ));
    parts.push(format!("{:.1} s", report.duration_ms as f64 / 1000.0));
    let runs = if report.runs.is_empty() {
        String::new()
    } else {
        format!(" [{} runs merged]", report.runs.len())
    };
    format!(
        "{}  {}{} — {}",
        paint(word, tone, color),
        report.target,
        runs,
        parts.join(", ")
    )
}

fn behaviors_table(report: &Report, color: bool) -> String {
    let mut rows = vec![
        ["behavior", "expect", "sequences", "verdict", "reason"]
            .iter()
            .map(|h| (h.to_string(), Tone::Dim))
            .collect::<Vec<_>>(),
    ];
    for b in &report.behaviors {
        let seqs = grouped_sequences(b.sequences.iter().map(|s| s.statuses.as_slice()), 3);
        let verdict = if b.pass {
            (format!("ok {}", b.verdict), Tone::Good)
        } else {
            (format!("FAIL {}", b.verdict), Tone::Bad)
        };
        rows.push(vec![
            (truncate(&b.pattern, 40), Tone::Plain),
            (
                serde_json::to_value(b.expect)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                Tone::Plain,
            ),
            (seqs, Tone::Plain),
            verdict,
            (truncate(&b.reason, 240), Tone::Plain),
        ]);
    }
    layout(&rows, color)
}

fn severity_tone(s: Severity) -> Tone {
    match s {
        Severity::Error => Tone::Bad,
        Severity::Warn => Tone::Warn,
        Severity::Info => Tone::Dim,
    }
}

/// Findings, most severe first (stable within a severity).
pub(crate) fn sorted_findings(report: &Report) -> Vec<&Finding> {
    let mut f: Vec<&Finding> = report.findings.iter().collect();
    f.sort_by_key(|f| std::cmp::Reverse(f.severity));
    f
}

fn findings_block(report: &Report, color: bool) -> String {
    let sorted = sorted_findings(report);
    let mut out = String::new();
    for f in sorted.iter().take(TOP_FINDINGS) {
        let sev = format!("{:<5}", f.severity.as_str().to_uppercase());
        let behavior = f
            .behavior
            .as_deref()
            .map(|b| format!(" [{b}]"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {} {}{}: {}\n",
            paint(&sev, severity_tone(f.severity), color),
            f.id,
            behavior,
            f.title
        ));
        if let Some(e) = f.evidence.first() {
            let line = e
                .lines
                .first()
                .map(|l| format!(" — {l}"))
                .unwrap_or_default();
            out.push_str(&format!(
                "        {} {}{}\n",
                paint("evidence:", Tone::Dim, color),
                super::table::short_url(&e.url, 70),
                truncate(&line, 100)
            ));
        }
        if !f.fix.is_empty() {
            out.push_str(&format!(
                "        {} {}\n",
                paint("fix:", Tone::Dim, color),
                truncate(&f.fix, 160)
            ));
        }
    }
    if sorted.len() > TOP_FINDINGS {
        out.push_str(&format!(
            "  … and {} more (see report.html)\n",
            sorted.len() - TOP_FINDINGS
        ));
    }
    out
}

/// The whole terminal output of a run.
pub fn render(report: &Report, opts: &TerminalOptions) -> String {
    let report = &*super::display::clipped(report);
    let color = opts.color;
    let mut out = String::new();
    if opts.verbose {
        out.push_str(&super::table::requests_table(&report.requests));
        out.push_str("\n\n");
    }
    out.push_str(&verdict_line(report, color));
    out.push('\n');
    if report.summary.partial {
        out.push_str(&paint(
            "  partial: the run was interrupted; this is what was captured\n",
            Tone::Warn,
            color,
        ));
    }
    for j in &report.journeys {
        for s in j.steps.iter().filter(|s| !s.ok) {
            out.push_str(&format!(
                "  {} journey {} step #{} `{}`: {}\n",
                paint("failed", Tone::Bad, color),
                j.name,
                s.index,
                s.description,
                s.error.as_deref().unwrap_or("failed")
            ));
        }
    }
    if !report.behaviors.is_empty() {
        out.push('\n');
        out.push_str(&behaviors_table(report, color));
    }
    if !report.summary.cache_statuses.is_empty() {
        let counts: Vec<String> = report
            .summary
            .cache_statuses
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        // Which cache answered, by name: the verdicts are judged by that cache's rules.
        let mut by: Vec<(crate::classify::Provider, usize)> = Vec::new();
        for r in report.requests.iter().filter(|r| !r.from_browser_cache()) {
            let p = r.class.cache.provider;
            if p == crate::classify::Provider::None {
                continue;
            }
            match by.iter_mut().find(|(q, _)| *q == p) {
                Some((_, n)) => *n += 1,
                None => by.push((p, 1)),
            }
        }
        by.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.as_str().cmp(b.0.as_str())));
        let answered = if by.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = by
                .iter()
                .map(|(p, n)| format!("{} {n}", p.display_name()))
                .collect();
            format!("; answered by {}", names.join(", "))
        };
        out.push_str(&format!(
            "\n  {} {}{answered}\n",
            paint("cache:", Tone::Dim, color),
            counts.join(", ")
        ));
    }
    if !report.findings.is_empty() {
        let s = &report.summary;
        out.push_str(&format!(
            "\nfindings ({} error, {} warn, {} info):\n",
            s.findings_error, s.findings_warn, s.findings_info
        ));
        out.push_str(&findings_block(report, color));
    }
    if let Some(first) = opts.files.first() {
        let dir = first
            .parent()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        let names: Vec<String> = opts
            .files
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        out.push_str(&format!(
            "\n{} {}/ ({})\n",
            paint("files:", Tone::Dim, color),
            dir,
            names.join(", ")
        ));
        if let Some(html) = opts.files.iter().find(|p| p.ends_with("report.html")) {
            out.push_str(&format!("open:  {}\n", html.display()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(color_wanted(true, None));
        assert!(color_wanted(true, Some(OsStr::new(""))));
        assert!(!color_wanted(true, Some(OsStr::new("1"))));
        assert!(!color_wanted(false, None));
    }

    #[test]
    fn sequences_are_grouped() {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let seqs = [
            v(&["miss", "hit"]),
            v(&["miss", "hit"]),
            v(&["miss", "miss"]),
            v(&["hit", "hit"]),
            v(&["error"]),
        ];
        let g = |max| grouped_sequences(seqs.iter().map(Vec::as_slice), max);
        assert_eq!(g(5), "M H ×2 | M M | H H | E");
        assert_eq!(g(1), "M H ×2 | +3");
        assert_eq!(grouped_sequences(std::iter::empty(), 3), "-");
    }

    #[test]
    fn sequences_read_as_letters() {
        let s: Vec<String> = ["miss", "hit", "refresh_hit", "error", "none", "weird"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(sequence_letters(&s), "M H R E - ?");
    }
}
