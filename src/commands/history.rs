//! `cdnprobe history` and `cdnprobe trend` (reading the history), and `diff last-good`'s lookup.

use std::path::Path;

use crate::cli::{DiffArgs, HistoryArgs, TrendArgs};
use crate::error::{UserError, exit};
use crate::history::store::{Query, Store};
use crate::history::{LAST_GOOD, labels_map, last_good_report, parse_since, rfc3339, trend};

/// `cdnprobe history`: the runs, oldest first (the newest `--limit`).
pub fn history(args: &HistoryArgs) -> anyhow::Result<i32> {
    let store = Store::open_existing(&args.history.path())?;
    let runs = store.runs(&Query {
        target: args.target.clone(),
        labels: labels_map(&args.labels)?,
        since: match &args.since {
            Some(s) => Some(rfc3339(parse_since(s, chrono::Utc::now()).map_err(
                |e| UserError::input(format!("--since {e}"), "e.g. --since 30d"),
            )?)),
            None => None,
        },
        limit: Some(args.limit),
        ..Default::default()
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
    } else {
        print!("{}", trend::runs_table(&runs));
    }
    Ok(exit::OK)
}

/// `cdnprobe trend`: per behavior (and target and label set), its series over the runs.
pub fn trend(args: &TrendArgs) -> anyhow::Result<i32> {
    let store = Store::open_existing(&args.history.path())?;
    let since = parse_since(&args.since, chrono::Utc::now())
        .map_err(|e| UserError::input(format!("--since {e}"), "e.g. --since 30d"))?;
    let runs = store.runs(&Query {
        target: args.target.clone(),
        labels: labels_map(&args.labels)?,
        since: Some(rfc3339(since)),
        ..Default::default()
    })?;
    let series = trend::series(&runs, args.behavior.as_deref());
    if let Some(html) = &args.html {
        let page = trend::render_html(&series, &args.since)?;
        crate::report::write_atomically(html, page.as_bytes())?;
        eprintln!("trend chart written to {}", html.display());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&series)?);
    } else {
        print!("{}", trend::render_text(&series));
    }
    Ok(exit::OK)
}

/// `diff` with `last-good` on one side replaced by that run's report.json.
pub(crate) fn resolve_last_good(mut args: DiffArgs) -> anyhow::Result<DiffArgs> {
    let is_kw = |p: &Path| p.as_os_str() == LAST_GOOD;
    match (is_kw(&args.a), is_kw(&args.b)) {
        (true, true) => Err(UserError::input(
            "diff last-good last-good compares nothing",
            "give a report.json on one side: cdnprobe diff last-good output/<run>/report.json",
        )
        .into()),
        (true, false) => {
            args.a = last_good_report(&args.history.path(), &args.b)?;
            Ok(args)
        }
        (false, true) => {
            args.b = last_good_report(&args.history.path(), &args.a)?;
            Ok(args)
        }
        (false, false) => Ok(args),
    }
}
