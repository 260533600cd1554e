//! Bounded rendering: the human-facing outputs (terminal, report.html, summary.md, junit.xml)
//! show at most [`DISPLAY_MAX`] bytes of any one string, with a visible marker where the rest was
//! cut.
//!
//! Why: a capture is the world's data, not ours. One 50 MB URL in a HAR (a data: URL, a query
//! string gone wrong) made a 200 MB report.html — the URL is printed in the request table, its
//! title attribute, the waterfall and every finding that cites it — and a terminal full of `x`.
//! Nobody reads past the first screen of a string; the full value is still in report.json and
//! capture.har, which stay faithful (they are the record, and their size is bounded by the input
//! size caps, see `input`).
//!
//! The check is generic, so that no field is forgotten: the report is serialized into a sink
//! that only measures the longest string; only when one is too long is a clipped copy made
//! (through `serde_json::Value`), which is the rare case.

use std::borrow::Cow;

use super::Report;

/// Longest string shown whole in the terminal, HTML, Markdown and JUnit outputs (bytes).
pub(crate) const DISPLAY_MAX: usize = 2048;

pub use crate::input::clip;

/// The report as the human-facing outputs show it: itself when no string is longer than
/// [`DISPLAY_MAX`], else a copy with every longer string (values and map keys) clipped.
pub fn clipped(report: &Report) -> Cow<'_, Report> {
    if longest_string(report) <= DISPLAY_MAX {
        return Cow::Borrowed(report);
    }
    let mut value = match serde_json::to_value(report) {
        Ok(v) => v,
        Err(_) => return Cow::Borrowed(report),
    };
    clip_value(&mut value, DISPLAY_MAX);
    match serde_json::from_value(value) {
        Ok(r) => Cow::Owned(r),
        Err(e) => {
            tracing::debug!("clipping the report for display failed: {e}");
            Cow::Borrowed(report)
        }
    }
}

fn clip_value(v: &mut serde_json::Value, max: usize) {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            if let Cow::Owned(c) = clip(s, max) {
                *s = c;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| clip_value(i, max)),
        Value::Object(map) => {
            if map.keys().any(|k| k.len() > max) {
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(k, v)| (clip(&k, max).into_owned(), v))
                    .collect();
            }
            map.values_mut().for_each(|i| clip_value(i, max));
        }
        _ => {}
    }
}

/// Length in bytes of the longest JSON string (value or key) `value` serializes to, escapes
/// included (so never less than the string's own length).
pub(crate) fn longest_string(value: &impl serde::Serialize) -> usize {
    let mut probe = Probe::default();
    if serde_json::to_writer(&mut probe, value).is_err() {
        return usize::MAX;
    }
    probe.longest
}

/// Reads serde_json's output on the fly: inside a string, count bytes until the closing quote.
#[derive(Default)]
struct Probe {
    in_string: bool,
    escaped: bool,
    current: usize,
    longest: usize,
}

impl std::io::Write for Probe {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for &b in buf {
            if !self.in_string {
                if b == b'"' {
                    self.in_string = true;
                    self.current = 0;
                }
            } else if self.escaped {
                self.escaped = false;
                self.current += 1;
            } else if b == b'\\' {
                self.escaped = true;
                self.current += 1;
            } else if b == b'"' {
                self.in_string = false;
                self.longest = self.longest.max(self.current);
            } else {
                self.current += 1;
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_cuts_on_a_character_boundary_with_a_marker() {
        assert_eq!(clip("short", 10), "short");
        let c = clip("ééé", 3);
        assert!(c.starts_with("é… [4 more bytes not shown"), "{c}");
    }

    #[test]
    fn longest_string_sees_values_keys_and_escapes() {
        let v = serde_json::json!({"a": ["xx", "y\"yy"], "kkkkkk": 1});
        assert_eq!(longest_string(&v), 6);
        assert_eq!(longest_string(&serde_json::json!(["a\"b"])), 4);
    }

    #[test]
    fn a_report_with_a_huge_url_is_clipped_for_display_only() {
        let mut report = Report::new("t", chrono::Utc::now());
        assert!(matches!(clipped(&report), Cow::Borrowed(_)));
        let long = format!("https://h/{}", "x".repeat(100_000));
        report.notes.push(long.clone());
        let shown = clipped(&report);
        assert!(shown.notes[0].len() < DISPLAY_MAX + 100);
        assert!(shown.notes[0].contains("more bytes not shown"));
        assert_eq!(report.notes[0], long);
    }
}
