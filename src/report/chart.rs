//! A behavior's trend over runs as an inline SVG: hit ratio as a line (0 to 100 %), one dot per
//! run coloured by whether its verdict met the expectation. Pure geometry here (numbers and
//! strings for the templates, `templates/chart.html`), shared by report.html's behavior cards and
//! `cdnprobe trend --html`, so both draw the same chart. No script: it works under
//! report.html's Content-Security-Policy and from a mail attachment.

use serde::{Deserialize, Serialize};

/// One run of one behavior, as a trend shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    /// The history's run id (absent for the run being reported).
    pub run_id: Option<i64>,
    /// RFC 3339 UTC.
    pub started_at: String,
    pub verdict: Option<String>,
    /// Did the verdict meet the expectation? Absent when the run verified nothing.
    pub pass: Option<bool>,
    pub hit_ratio: Option<f64>,
    pub loads: usize,
    pub ttfb_p50_ms: Option<f64>,
    pub edge_errors: usize,
}

/// Per behavior pattern, its points oldest first (report.html's trends; the last point is the
/// run being reported).
pub type Trends = std::collections::BTreeMap<String, Vec<TrendPoint>>;

#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub width: u32,
    pub height: u32,
    /// `x,y x,y ...` of the hit-ratio line; runs without a ratio break it into segments.
    pub lines: Vec<String>,
    pub dots: Vec<Dot>,
    /// y of 0 %, 50 %, 100 %.
    pub y0: String,
    pub y50: String,
    pub y100: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dot {
    pub x: String,
    pub y: String,
    /// `pass`, `fail` or `none` (not judged).
    pub class: &'static str,
    /// Tooltip: time, verdict, hit ratio.
    pub title: String,
}

const PAD: f64 = 6.0;

fn num(v: f64) -> String {
    format!("{v:.1}")
}

/// The chart of `points` (oldest first) in a `width` x `height` box.
pub fn chart(points: &[TrendPoint], width: u32, height: u32) -> Chart {
    let (w, h) = (f64::from(width), f64::from(height));
    let y_of = |ratio: f64| PAD + (1.0 - ratio.clamp(0.0, 1.0)) * (h - 2.0 * PAD);
    let x_of = |i: usize| {
        if points.len() <= 1 {
            w / 2.0
        } else {
            PAD + i as f64 * (w - 2.0 * PAD) / (points.len() - 1) as f64
        }
    };
    let mut lines = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut dots = Vec::new();
    for (i, p) in points.iter().enumerate() {
        let x = x_of(i);
        // A run with no ratio sits on the baseline as a dot and breaks the line.
        let y = y_of(p.hit_ratio.unwrap_or(0.0));
        match p.hit_ratio {
            Some(_) => current.push(format!("{},{}", num(x), num(y))),
            None => {
                if current.len() > 1 {
                    lines.push(current.join(" "));
                }
                current.clear();
            }
        }
        dots.push(Dot {
            x: num(x),
            y: num(y),
            class: match p.pass {
                Some(true) => "pass",
                Some(false) => "fail",
                None => "none",
            },
            title: format!(
                "{}{} · {} · hit ratio {}",
                p.started_at,
                p.run_id
                    .map(|id| format!(" (run {id})"))
                    .unwrap_or_default(),
                p.verdict.as_deref().unwrap_or("not verified"),
                p.hit_ratio
                    .map(|r| format!("{:.0} %", r * 100.0))
                    .unwrap_or_else(|| "-".into())
            ),
        });
    }
    if current.len() > 1 {
        lines.push(current.join(" "));
    }
    Chart {
        width,
        height,
        lines,
        dots,
        y0: num(y_of(0.0)),
        y50: num(y_of(0.5)),
        y100: num(y_of(1.0)),
    }
}

/// One character per run, oldest first: `✓` met, `✗` failed, `·` not judged.
pub(crate) fn verdict_strip(points: &[TrendPoint]) -> String {
    points
        .iter()
        .map(|p| match p.pass {
            Some(true) => '✓',
            Some(false) => '✗',
            None => '·',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(ratio: Option<f64>, pass: Option<bool>) -> TrendPoint {
        TrendPoint {
            run_id: Some(1),
            started_at: "2026-11-01T00:00:00.000Z".into(),
            verdict: pass.map(|p| if p { "HITS" } else { "NEVER_HITS" }.to_string()),
            pass,
            hit_ratio: ratio,
            loads: 4,
            ttfb_p50_ms: None,
            edge_errors: 0,
        }
    }

    #[test]
    fn points_spread_over_the_width_and_a_missing_ratio_breaks_the_line() {
        let c = chart(
            &[
                p(Some(1.0), Some(true)),
                p(Some(0.5), Some(true)),
                p(None, None),
                p(Some(0.0), Some(false)),
                p(Some(0.0), Some(false)),
            ],
            106,
            52,
        );
        assert_eq!(c.lines, vec!["6.0,6.0 29.5,26.0", "76.5,46.0 100.0,46.0"]);
        assert_eq!(c.dots.len(), 5);
        assert_eq!(c.dots[2].class, "none");
        assert_eq!(c.dots[4].class, "fail");
        assert!(c.dots[0].title.contains("HITS · hit ratio 100 %"));
        assert_eq!((c.y100.as_str(), c.y0.as_str()), ("6.0", "46.0"));
    }
}
