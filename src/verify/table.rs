//! The behaviors table: one row per behavior with its loads (`M H H H`), verdict and reason; and
//! the per-URL table behind it. Plain text, deterministic; colour only when asked (a terminal).
//!
//! tabled is built without ANSI support, so colour is put on the rendered text afterwards:
//! verdict words are painted in place, which leaves the column widths intact.

use std::io::IsTerminal;

use owo_colors::OwoColorize;
use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Modify, Style, Width};

use super::verdict::letter_for_word;
use super::{BehaviorReport, Expect, Verdict};

/// What the letters of a sequence mean (printed under the table).
pub const LEGEND: &str = "loads: the journey's own, then each repeat — H hit, M miss, R refresh hit, S stale, X expired, B bypass, E edge error, - no cache header, ! no response, . not loaded";

/// Colour on stdout? A terminal, and `NO_COLOR` unset.
pub fn use_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn expect_word(e: Expect) -> &'static str {
    match e {
        Expect::Hit => "hit",
        Expect::Bypass => "bypass",
    }
}

/// `M H H H` for one sequence.
pub fn sequence_letters(statuses: &[String]) -> String {
    statuses
        .iter()
        .map(|s| letter_for_word(s))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Identical sequences grouped, most frequent first: `M H H H ×18`.
fn grouped(b: &BehaviorReport) -> String {
    let mut groups: Vec<(String, usize)> = Vec::new();
    for s in &b.sequences {
        let l = sequence_letters(&s.statuses);
        match groups.iter_mut().find(|(g, _)| *g == l) {
            Some((_, n)) => *n += 1,
            None => groups.push((l, 1)),
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.1));
    let shown = 4;
    let mut lines: Vec<String> = groups
        .iter()
        .take(shown)
        .map(|(l, n)| {
            if *n > 1 {
                format!("{l} ×{n}")
            } else {
                l.clone()
            }
        })
        .collect();
    if groups.len() > shown {
        lines.push(format!("+{} more", groups.len() - shown));
    }
    if lines.is_empty() {
        "-".into()
    } else {
        lines.join("\n")
    }
}

fn paint(text: &str, color: bool, bad: &[&str]) -> String {
    if !color {
        return text.to_string();
    }
    // Runs of [A-Z_] that are verdict names get their colour; everything else is copied.
    let mut out = String::with_capacity(text.len() + 64);
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.is_empty() {
            return;
        }
        let w = std::mem::take(word);
        let painted = match w.as_str() {
            "HITS" | "WARM" | "BYPASS" | "PASS" => w.green().to_string(),
            "INCONCLUSIVE" => w.yellow().to_string(),
            "NEVER_HITS" | "LEAK" | "ERROR" | "NO_CDN" | "FAIL" => w.red().bold().to_string(),
            _ if bad.contains(&w.as_str()) => w.red().to_string(),
            _ => w,
        };
        out.push_str(&painted);
    };
    for c in text.chars() {
        if c.is_ascii_uppercase() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// One row per behavior: pattern, expectation, requests, asset kinds, the loads per sample, the
/// verdict (`PASS`/`FAIL` against the expectation) and the reason.
pub fn behaviors_table(behaviors: &[BehaviorReport], color: bool) -> String {
    if behaviors.is_empty() {
        return "no behavior verified".into();
    }
    let mut b = Builder::default();
    b.push_record([
        "behavior", "expect", "requests", "kinds", "loads", "verdict", "reason",
    ]);
    for r in behaviors {
        let verdict = format!(
            "{}\n{}",
            r.verdict.as_str(),
            if r.pass { "PASS" } else { "FAIL" }
        );
        b.push_record([
            r.pattern.clone(),
            expect_word(r.expect).to_string(),
            r.requests.to_string(),
            r.asset_kinds.join(","),
            grouped(r),
            verdict,
            r.reason.clone(),
        ]);
    }
    let mut t = b.build();
    t.with(Style::sharp())
        .with(Modify::new(Columns::one(6)).with(Width::wrap(72).keep_words(true)))
        .with(Modify::new(Columns::one(3)).with(Width::wrap(18).keep_words(true)));
    format!("{}\n{LEGEND}", paint(&t.to_string(), color, &[]))
}

/// One row per sampled URL: behavior, URL, loads, POPs, verdict, reason.
pub fn sequences_table(behaviors: &[BehaviorReport], color: bool) -> String {
    let mut b = Builder::default();
    b.push_record(["behavior", "url", "loads", "pops", "verdict", "reason"]);
    for r in behaviors {
        for s in &r.sequences {
            let mut pops: Vec<&str> = Vec::new();
            for p in s.pops.iter().flatten() {
                if !pops.contains(&p.as_str()) {
                    pops.push(p);
                }
            }
            b.push_record([
                r.pattern.clone(),
                crate::report::table::short_url(&s.url, 60),
                sequence_letters(&s.statuses),
                if pops.is_empty() {
                    "-".into()
                } else {
                    pops.join(",")
                },
                s.verdict.as_str().to_string(),
                s.reason.clone(),
            ]);
        }
    }
    let mut t = b.build();
    t.with(Style::sharp())
        .with(Modify::new(Columns::one(5)).with(Width::wrap(60).keep_words(true)));
    paint(&t.to_string(), color, &[])
}

/// `3 behaviors: 2 PASS, 1 FAIL (/s/* NEVER_HITS)` — one line for a summary.
pub fn summary_line(behaviors: &[BehaviorReport]) -> String {
    let failed: Vec<String> = behaviors
        .iter()
        .filter(|b| !b.pass)
        .map(|b| format!("{} {}", b.pattern, b.verdict))
        .collect();
    let inconclusive = behaviors
        .iter()
        .filter(|b| b.verdict == Verdict::Inconclusive)
        .count();
    let mut s = format!(
        "{} behaviors verified: {} pass, {} fail",
        behaviors.len(),
        behaviors.len() - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        s.push_str(&format!(" ({})", failed.join(", ")));
    }
    if inconclusive > 0 {
        s.push_str(&format!("; {inconclusive} inconclusive"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Sequence;

    fn seq(url: &str, s: &[&str], v: Verdict) -> Sequence {
        Sequence {
            url: url.into(),
            statuses: s.iter().map(|x| x.to_string()).collect(),
            pops: vec![Some("FRA56-P1".into()); s.len()],
            ages: vec![None; s.len()],
            http_statuses: vec![Some(200); s.len()],
            verdict: v,
            reason: "why".into(),
        }
    }

    fn reports() -> Vec<BehaviorReport> {
        let hits = seq(
            "http://h/s/a.js",
            &["miss", "hit", "hit", "hit"],
            Verdict::Hits,
        );
        vec![
            BehaviorReport {
                pattern: "/s/*".into(),
                expect: Expect::Hit,
                verdict: Verdict::NeverHits,
                reason: "1 of 3 URLs NEVER_HITS: cookie AWSALB changes on every load".into(),
                pass: false,
                sequences: vec![
                    hits.clone(),
                    hits,
                    seq(
                        "http://h/s/b.js",
                        &["miss", "miss", "miss", "miss"],
                        Verdict::NeverHits,
                    ),
                ],
                urls: vec![],
                requests: 12,
                asset_kinds: vec!["js".into(), "css".into(), "font".into()],
                findings: vec![],
            },
            BehaviorReport {
                pattern: "*".into(),
                expect: Expect::Bypass,
                verdict: Verdict::Bypass,
                reason: "not cached, as expected".into(),
                pass: true,
                sequences: vec![seq(
                    "http://h/",
                    &["miss", "absent", "failed"],
                    Verdict::Bypass,
                )],
                urls: vec![],
                requests: 4,
                asset_kinds: vec!["html".into()],
                findings: vec![],
            },
        ]
    }

    #[test]
    fn table_shows_grouped_loads_verdict_and_reason() {
        let t = behaviors_table(&reports(), false);
        assert!(t.contains("M H H H ×2"), "{t}");
        assert!(t.contains("M M M M"), "{t}");
        assert!(t.contains("M . !"), "{t}");
        assert!(t.contains("NEVER_HITS"), "{t}");
        assert!(t.contains("FAIL"), "{t}");
        assert!(t.contains("PASS"), "{t}");
        assert!(t.contains("AWSALB"), "{t}");
        assert!(t.contains("H hit, M miss"), "legend: {t}");
        assert!(!t.contains('\u{1b}'), "no colour when not asked");
    }

    #[test]
    fn colour_keeps_the_layout() {
        let plain = behaviors_table(&reports(), false);
        let coloured = behaviors_table(&reports(), true);
        assert!(coloured.contains('\u{1b}'));
        let strip = |s: &str| {
            let mut out = String::new();
            let mut esc = false;
            for c in s.chars() {
                if c == '\u{1b}' {
                    esc = true;
                } else if esc {
                    if c == 'm' {
                        esc = false;
                    }
                } else {
                    out.push(c);
                }
            }
            out
        };
        assert_eq!(strip(&coloured), plain);
    }

    #[test]
    fn per_url_table_and_summary() {
        let t = sequences_table(&reports(), false);
        assert!(t.contains("h/s/b.js"), "{t}");
        assert!(t.contains("FRA56-P1"), "{t}");
        let s = summary_line(&reports());
        assert_eq!(s, "2 behaviors verified: 1 pass, 1 fail (/s/* NEVER_HITS)");
    }
}
