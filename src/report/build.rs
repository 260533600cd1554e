//! The report builder shared by `run` and `analyze`: redact, classify every exchange once
//! ([`Record::classify`]), diagnose, summarize.

use crate::classify::{Distribution, Record};
use crate::exchange::Exchange;
use crate::journey::Capture;
use crate::redact::Redactor;
use crate::verify::Verification;

use super::Report;
use crate::diagnose::health::{self, HealthCheck};

/// Build the report from a capture (redacting a copy of every exchange first).
pub fn build_report(
    target: &str,
    started: chrono::DateTime<chrono::Utc>,
    capture: &Capture,
    browser_stats: crate::exchange::CdpStats,
    redactor: &Redactor,
    dists: &[Distribution],
) -> Report {
    let redacted: Vec<Exchange> = capture
        .exchanges
        .iter()
        .map(|ex| redactor.redact_exchange(ex))
        .collect();
    build_report_redacted(
        target,
        started,
        capture,
        redacted,
        browser_stats,
        redactor,
        dists,
    )
}

/// [`build_report`] for exchanges already redacted (`redacted` stands for `capture.exchanges`,
/// whose own copies are not read), so a large capture is redacted once, not once per use. Each
/// is moved into its report record.
pub(crate) fn build_report_redacted(
    target: &str,
    started: chrono::DateTime<chrono::Utc>,
    capture: &Capture,
    redacted: Vec<Exchange>,
    browser_stats: crate::exchange::CdpStats,
    redactor: &Redactor,
    dists: &[Distribution],
) -> Report {
    let mut report = Report::new(target, started);
    report.duration_ms = (chrono::Utc::now() - started).num_milliseconds().max(0) as u64;
    report.journeys = capture.journeys.clone();
    report.product_hosts = dists.iter().flat_map(Distribution::product_hosts).collect();
    report.redact_strings(redactor);
    let t = std::time::Instant::now();
    report.requests = redacted
        .into_iter()
        .map(|ex| Record::classify(ex, dists))
        .collect();
    tracing::debug!("classified: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    report.findings = crate::diagnose::diagnose_with(&report.requests, dists);
    tracing::debug!("diagnosed: {:?}", t.elapsed());
    report.capture.cdp = browser_stats;
    report.capture.events = capture.events.clone();
    report.summary.partial = capture.interrupted;
    report.summarize();
    report
}

/// Put health-check answers and their findings into a report (re-sorted, re-summarized).
///
/// A failing "CDN prefix" check (Jira's `jira.fixed.cdn.*` not set) is only context when the
/// capture shows `/s/` resources already coming through a CDN: the whole site is behind it (the
/// seed's proxy setup), which does not need Jira's own CDN prefix.
pub fn attach_health_checks(report: &mut Report, checks: Vec<HealthCheck>) {
    let static_via_cdn = report.requests.iter().any(|r| {
        crate::diagnose::headers::is_versioned_s(&r.url) && r.class.cache.went_through_cdn()
    });
    for hc in checks {
        for mut f in health::findings(&hc) {
            let about_prefix = f
                .evidence
                .iter()
                .flat_map(|e| &e.lines)
                .any(|l| health::is_cdn_prefix_check(l));
            if f.id == crate::diagnose::ids::HEALTH_CHECK_FAILED.id
                && about_prefix
                && static_via_cdn
            {
                f.severity = crate::diagnose::Severity::Info;
                f.explanation.push_str(
                    " Here /s/ resources already come through a CDN (the whole site is behind it), so Jira/Confluence's own CDN prefix is not needed.",
                );
            }
            report.findings.push(f);
        }
        report.health_checks.push(hc);
    }
    crate::diagnose::sort(&mut report.findings);
    report.summarize();
}

/// Put verification into the report: repeat loads into `requests`, `behaviors`, notes; then
/// summarize.
pub fn apply_verification(
    report: &mut Report,
    v: Verification,
    redactor: &Redactor,
    dists: &[Distribution],
) {
    // Exactly: growing by doubling left a large capture's records with room for as many again.
    report.requests.reserve_exact(v.exchanges.len());
    report.requests.extend(
        v.exchanges
            .iter()
            .map(|ex| Record::classify(redactor.redact_exchange(ex), dists)),
    );
    report.behaviors = v.behaviors;
    report.notes.extend(v.notes);
    // Another cache's refusals show only when a URL is missed again: judge them again with
    // the repeat loads in.
    let ctx = crate::diagnose::Ctx::new(&report.requests, dists);
    let again = crate::diagnose::caches::all(&ctx);
    report
        .findings
        .retain(|f| !crate::diagnose::caches::IDS.contains(&f.id.as_str()));
    report.findings.extend(again);
    crate::diagnose::sort(&mut report.findings);
    report.summarize();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_cdn_prefix_is_context_when_the_site_is_behind_the_cdn() {
        use crate::diagnose::testkit::*;
        let body = r#"{"statuses":[{"completeKey":"x:cdn-enabled","name":"CDN prefix configured","isHealthy":false,"failureReason":"jira.fixed.cdn.enabled is false","severity":"warning"}]}"#;
        let d = seed();
        let mut report = crate::report::Report {
            requests: records(&[Rec::static_ok(S_JS, "Hit")], Some(&d)),
            ..Default::default()
        };
        attach_health_checks(&mut report, vec![health_check(200, body)]);
        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.findings[0].severity, crate::diagnose::Severity::Info);
        assert_eq!(report.health_checks.len(), 1);
        assert_eq!(report.summary.findings_info, 1);
        // Without a CDN in front of /s/, the same answer is a warning.
        let mut report = crate::report::Report {
            requests: records(&[Rec::get(S_JS)], Some(&d)),
            ..Default::default()
        };
        attach_health_checks(&mut report, vec![health_check(200, body)]);
        assert_eq!(report.findings[0].severity, crate::diagnose::Severity::Warn);
    }
}
