//! `cdnprobe analyze FILE.har`: the back half of `run` on a HAR someone already has.
//!
//! Import (lenient, `har::import`), then exactly what `run` does after capture: redact,
//! classify against the distribution, diagnose (`report::build::build_report_redacted`, shared with `run`), and write the same
//! files as a run (`report::write_all`).
//! The distribution serves the hosts of the HAR's pages (and `--cdn-host`), so third-party
//! requests in the HAR are not judged against the CloudFront behaviors.

use anyhow::Context;

use crate::cli::AnalyzeArgs;
use crate::commands::run::default_out_dir;
use crate::error::UserError;
use crate::exchange::Exchange;
use crate::journey::Capture;
use crate::redact::Redactor;
use crate::report;
use crate::report::build::build_report_redacted;

/// The hosts of the pages the user opened: the first document of each HAR page (later documents
/// of a page are its iframes: ads, widgets, other sites, which are not the product). The first
/// request's host when the HAR names no document.
pub(crate) fn page_hosts(exchanges: &[Exchange]) -> Vec<String> {
    let host = |ex: &Exchange| {
        url::Url::parse(&ex.url)
            .ok()
            .and_then(|u| crate::exchange::host_port(&u))
    };
    let mut hosts: Vec<String> = Vec::new();
    let mut pages_seen: Vec<&str> = Vec::new();
    for ex in exchanges
        .iter()
        .filter(|e| e.resource_type.eq_ignore_ascii_case("document"))
    {
        if pages_seen.contains(&ex.phase.as_str()) {
            continue;
        }
        pages_seen.push(ex.phase.as_str());
        if let Some(h) = host(ex)
            && !hosts.contains(&h)
        {
            hosts.push(h);
        }
    }
    if hosts.is_empty() {
        hosts.extend(exchanges.iter().find_map(host));
    }
    hosts
}

/// `cdnprobe analyze`. Returns the exit code.
pub async fn analyze(args: AnalyzeArgs) -> anyhow::Result<i32> {
    let started = chrono::Utc::now();
    // Before the HAR is read: a mistake in the labels should not wait for a large import.
    let mut history = super::recorder(&args.record, "analyze")?;
    let t = std::time::Instant::now();
    let exchanges = crate::har::import_file(&args.file)?.map_err(|e| {
        let u = UserError::from(e);
        match u {
            UserError::Input { message, hint } => {
                UserError::input(format!("{}: {message}", args.file.display()), hint)
            }
            other => other,
        }
    })?;
    tracing::debug!("imported {} entries: {:?}", exchanges.len(), t.elapsed());
    if exchanges.is_empty() {
        return Err(UserError::input(
            format!("{}: the HAR has no entries", args.file.display()),
            "export the HAR after the page has loaded (DevTools keeps only what the Network tab recorded)",
        )
        .into());
    }
    let hosts = page_hosts(&exchanges);
    let mut dist = super::distribution(&args.distribution, hosts.clone())?;
    dist.target_why = "the host of a page the HAR opened (each page's first document)".into();
    let target = exchanges
        .iter()
        .find(|e| e.resource_type.eq_ignore_ascii_case("document"))
        .map(|e| e.url.clone())
        .unwrap_or_else(|| args.file.display().to_string());
    let redactor = if args.keep_secrets {
        eprintln!(
            "warning: --keep-secrets: cookies, tokens and passwords from the HAR are written in clear"
        );
        Redactor::keep()
    } else {
        Redactor::new_random()
    };
    let t = std::time::Instant::now();
    // Redact once, dropping each original as it goes: the HAR's secrets are never needed again.
    let redacted: Vec<Exchange> = exchanges
        .into_iter()
        .map(|ex| redactor.redact_exchange(&ex))
        .collect();
    tracing::debug!("redacted: {:?}", t.elapsed());
    let mut report = build_report_redacted(
        &redactor.redact_url(&target),
        started,
        &Capture::default(),
        redacted,
        Default::default(),
        &redactor,
        std::slice::from_ref(&dist),
    );
    tracing::debug!("redacted, classified, diagnosed: {:?}", t.elapsed());
    report.notes.push(format!(
        "analyzed {} ({} entries) against {} behaviors serving {}",
        args.file.display(),
        report.requests.len(),
        dist.behaviors.behaviors.len(),
        if dist.hosts.is_empty() {
            "every host".to_string()
        } else {
            dist.hosts.join(", ")
        }
    ));
    let out_dir = args.out.clone().unwrap_or_else(|| {
        default_out_dir(started, hosts.first().map(String::as_str).unwrap_or("har"))
    });
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("creating output directory {}", out_dir.display()))?;
    let report_path = out_dir.join("report.json");
    report.redact_strings(&redactor);
    report::write_all_with(&report, &out_dir, &history.trends(&report))?;
    let summary = history.record(&report, &report_path);
    super::publish::publish(&args.record, &summary).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if !args.quiet {
        if !report.findings.is_empty() {
            // Long strings clipped for the terminal, as in report.html (see report::display).
            let shown = report::display::clipped(&report);
            println!("{}", report::table::findings_table(&shown.findings));
            println!("{}", report::table::findings_details(&shown.findings));
        }
        println!(
            "{} requests; findings: {} error, {} warn, {} info; report: {}",
            report.summary.requests,
            report.summary.findings_error,
            report.summary.findings_warn,
            report.summary.findings_info,
            report_path.display()
        );
    }
    Ok(report.summary.exit_code)
}
