//! Terminal tables (tabled). Plain text, deterministic, so they can be snapshot-tested; colour
//! is added by the caller only when stdout is a terminal.

use tabled::builder::Builder;
use tabled::settings::Style;

use tabled::settings::object::Columns;
use tabled::settings::{Modify, Width};

use crate::classify::Record;
use crate::diagnose::Finding;
use crate::verify::BehaviorReport;

/// Shorten a URL for a table cell: drop scheme and host when `base_host` matches, keep the
/// path's head and tail, and at most `max` characters.
pub(crate) fn short_url(url: &str, max: usize) -> String {
    let s = match url::Url::parse(url) {
        Ok(u) => {
            let mut s = u.path().to_string();
            if let Some(q) = u.query() {
                s.push('?');
                s.push_str(q);
            }
            let host = u.host_str().unwrap_or("");
            match u.port() {
                Some(p) => format!("{host}:{p}{s}"),
                None => format!("{host}{s}"),
            }
        }
        Err(_) => url.to_string(),
    };
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= max || max < 10 {
        return s;
    }
    let head = max * 9 / 20;
    let tail = max - head - 1;
    format!(
        "{}…{}",
        chars[..head].iter().collect::<String>(),
        chars[chars.len() - tail..].iter().collect::<String>()
    )
}

fn cell(v: Option<&str>, max: usize) -> String {
    match v {
        None => "-".into(),
        Some(v) if v.chars().count() > max => {
            format!("{}…", v.chars().take(max - 1).collect::<String>())
        }
        Some(v) => v.to_string(),
    }
}

/// The per-request table: URL, status, type, behavior, cache status, Cache-Control, Expires, CORS.
pub(crate) fn requests_table(records: &[Record]) -> String {
    let mut b = Builder::default();
    b.push_record([
        "url",
        "status",
        "kind",
        "behavior",
        "cache",
        "cache-control",
        "expires",
        "cors",
    ]);
    for r in records {
        let status = match (&r.status, &r.failure) {
            (Some(s), None) => s.to_string(),
            (Some(s), Some(_)) => format!("{s}!"),
            (None, Some(f)) => cell(Some(&f.error_text), 20),
            (None, None) => "-".into(),
        };
        let cache = r
            .response_headers
            .get("x-cache")
            .or(r
                .class
                .cache
                .raw
                .as_deref()
                .and_then(|l| l.split_once(": ").map(|(_, v)| v)))
            .map(str::to_string)
            .unwrap_or_else(|| r.class.cache.status.as_str().to_string());
        b.push_record([
            short_url(&r.url, 60),
            status,
            r.class.asset_kind.as_str().to_string(),
            behavior_cell(r),
            cell(Some(&cache), 24),
            cell(r.response_headers.get("cache-control"), 30),
            cell(r.response_headers.get("expires"), 29),
            cell(Some(&r.class.cors), 34),
        ]);
    }
    let mut t = b.build();
    t.with(Style::sharp());
    t.to_string()
}

/// Predicted behavior, and the observed one (`--behavior-header`) beside it when it names
/// another (a label like `#1 /s/*` or `#7 default (*)` names its own pattern).
fn behavior_cell(r: &Record) -> String {
    let predicted = cell(r.class.behavior.as_deref(), 24);
    let same = |o: &str, p: &str| {
        o == p || o.ends_with(&format!(" {p}")) || (p == "*" && o.ends_with("default (*)"))
    };
    match (
        r.class.observed_behavior.as_deref(),
        r.class.behavior.as_deref(),
    ) {
        (Some(o), Some(p)) if same(o, p) => predicted,
        (Some(o), _) => format!("{predicted} (seen: {})", cell(Some(o), 20)),
        _ => predicted,
    }
}

/// One line per finding: severity, id, behavior, title.
pub(crate) fn findings_table(findings: &[Finding]) -> String {
    let mut b = Builder::default();
    b.push_record(["severity", "id", "behavior", "title"]);
    for f in findings {
        b.push_record([
            f.severity.as_str().to_string(),
            f.id.clone(),
            cell(f.behavior.as_deref(), 28),
            cell(Some(&f.title), 90),
        ]);
    }
    let mut t = b.build();
    t.with(Style::sharp());
    t.to_string()
}

/// Every finding in full: title, why, the evidence lines, the fix.
pub(crate) fn findings_details(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        out.push_str(&format!("[{}] {}: {}\n", f.severity, f.id, f.title));
        if let Some(b) = &f.behavior {
            out.push_str(&format!("  behavior: {b}\n"));
        }
        if let Some(at) = &f.location {
            out.push_str(&format!("  at: {at}\n"));
        }
        if !f.explanation.is_empty() {
            out.push_str(&format!("  why: {}\n", f.explanation));
        }
        for e in &f.evidence {
            out.push_str(&format!("  evidence: {}\n", e.url));
            for l in &e.lines {
                out.push_str(&format!("    {l}\n"));
            }
        }
        out.push_str(&format!("  fix: {}\n", f.fix));
        if let Some(c) = &f.config_fix {
            out.push_str("  fix in your file:\n");
            for l in c.lines() {
                out.push_str(&format!("    {l}\n"));
            }
        }
        out.push('\n');
    }
    out
}

/// One row per sampled URL (`run --verbose`): behavior, URL, loads (`M H H H`), POPs, verdict,
/// reason.
pub fn sequences_table(behaviors: &[BehaviorReport]) -> String {
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
                short_url(&s.url, 60),
                super::terminal::sequence_letters(&s.statuses),
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
    t.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_behavior_shows_only_when_it_differs() {
        let d = crate::diagnose::testkit::seed();
        let rec = |url: &str, seen: &str| {
            let mut r = crate::diagnose::testkit::Rec::get(url).record(Some(&d));
            r.class.observed_behavior = Some(seen.into());
            behavior_cell(&r)
        };
        assert_eq!(rec(crate::diagnose::testkit::S_JS, "#1 /s/*"), "/s/*");
        assert_eq!(
            rec(crate::diagnose::testkit::DASHBOARD, "#7 default (*)"),
            "*"
        );
        assert_eq!(
            rec(crate::diagnose::testkit::S_JS, "#7 default (*)"),
            "/s/* (seen: #7 default (*))"
        );
    }

    #[test]
    fn short_url_keeps_host_head_and_tail() {
        let u = "http://127.0.0.1:8080/s/d41d8cd98f00b204e9800998ecf8427e-CDN/en_US/9/1/_/download/superbatch/js/batch.js?locale=en-US";
        let s = short_url(u, 40);
        assert_eq!(s.chars().count(), 40);
        assert!(s.starts_with("127.0.0.1:8080/s"), "{s}");
        assert!(s.ends_with("batch.js?locale=en-US"), "{s}");
        assert_eq!(short_url("http://h/a", 40), "h/a");
    }
}
