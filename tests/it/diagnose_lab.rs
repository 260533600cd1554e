//! Diagnosis against the embedded lab, the ground truth: the bundled journeys in a real Chromium,
//! classified and diagnosed exactly as `cdnprobe run` does (build_report + Atlassian's health
//! check). A healthy lab yields no error or warn finding; each fault yields its finding with the
//! header lines that prove it.

use crate::common;

use cdnprobe::classify::Distribution;
use cdnprobe::diagnose::{Finding, Severity};
use cdnprobe::journey::{Capture, Journey, bundled_journeys, run_journey};
use cdnprobe::lab::{self, Fault, LabOptions, Product, Topology};
use cdnprobe::progress::Progress;
use cdnprobe::redact::Redactor;
use cdnprobe::report::Report;
use cdnprobe::report::build::build_report;
use cdnprobe::verify::health;
use common::{block_on, browser};

const HEADER: &str = "X-Lab-Behavior";

/// Run `journeys` through a fresh lab and diagnose the capture. Also returns the distributions,
/// so a test can re-diagnose the same capture against another configuration.
async fn diagnose_lab(
    topology: Topology,
    faults: Vec<Fault>,
    journeys: &[&str],
) -> (Report, Capture, Vec<Distribution>) {
    let lab = lab::start(LabOptions {
        topology,
        faults,
        behavior_header: Some(HEADER.into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut capture = Capture::default();
    let mut dists = Vec::new();
    let mut bases = Vec::new();
    for name in journeys {
        let scenario = bundled_journeys()
            .into_iter()
            .find(|s| s.name == *name)
            .unwrap();
        let product = if name.starts_with("jira") {
            Product::Jira
        } else {
            Product::Confluence
        };
        let mut d = Distribution::new(
            lab.behaviors(product),
            cdnprobe::exchange::host_port(&lab.edge_url(product)),
        );
        d.behavior_header = Some(HEADER.into());
        dists.push(d);
        let j = Journey::new(scenario, lab.url(product).to_string());
        bases.push(j.base_url.clone());
        let out = tempfile::tempdir().unwrap();
        let (result, exchanges, counts, err) = run_journey(
            browser().await,
            &j,
            &lab.journey_env(),
            out.path(),
            &Progress::hidden(),
        )
        .await
        .unwrap();
        assert!(err.is_none(), "journey {name} failed: {err:?}");
        capture.journeys.push(result);
        capture.exchanges.extend(exchanges);
        capture.events.add(&counts);
    }
    let redactor = Redactor::new_random();
    let mut report = build_report(
        "lab",
        chrono::Utc::now(),
        &capture,
        Default::default(),
        &redactor,
        &dists,
    );
    let checks = health::check_all(
        &bases,
        None,
        &capture.exchanges,
        &redactor,
        false,
        std::time::Duration::from_secs(10),
    )
    .await;
    cdnprobe::report::build::attach_health_checks(&mut report, checks);
    lab.shutdown().await;
    (report, capture, dists)
}

fn of<'a>(r: &'a Report, id: &str) -> Vec<&'a Finding> {
    r.findings.iter().filter(|f| f.id == id).collect()
}

fn lines(f: &Finding) -> Vec<&str> {
    f.evidence
        .iter()
        .flat_map(|e| e.lines.iter().map(String::as_str))
        .collect()
}

/// No error or warn finding but the one the seed's own behaviors carry: its avatar behaviors key
/// on pid / avatarId only while the lab's pages ask for several sizes (`cache-key-too-narrow`,
/// checked by `the_seeds_avatar_key_serves_one_size_for_all`).
fn no_error_or_warn(r: &Report) {
    let seed_gap = |f: &&Finding| f.id == "cache-key-too-narrow";
    let bad: Vec<String> = r
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Warn && !seed_gap(f))
        .map(|f| format!("{} {}: {}", f.severity, f.id, f.explanation))
        .collect();
    assert!(bad.is_empty(), "healthy lab: {bad:#?}");
    let gaps = r.findings.iter().filter(seed_gap).count();
    assert_eq!(
        r.summary.findings_error + r.summary.findings_warn,
        gaps,
        "{:#?}",
        r.findings
    );
}

#[test]
fn the_seeds_avatar_key_serves_one_size_for_all() {
    block_on(async {
        let (r, _, _) = diagnose_lab(Topology::Proxy, vec![], &["jira-smoke"]).await;
        let f = of(&r, "cache-key-too-narrow");
        let avatar = f
            .iter()
            .find(|f| f.behavior.as_deref() == Some("/secure/projectavatar*"))
            .unwrap_or_else(|| panic!("{:#?}", r.findings));
        assert!(
            avatar.explanation.contains("`size`"),
            "{}",
            avatar.explanation
        );
        // At run time: the lab's edge served the object cached for one size to the other.
        assert!(avatar.explanation.contains("Seen:"), "{avatar:#?}");
        assert!(
            lines(avatar)
                .iter()
                .any(|l| l.to_ascii_lowercase().starts_with("x-cache: hit")),
            "{avatar:#?}"
        );
        assert_eq!(
            avatar.config_fix.as_deref(),
            Some("query = [\"pid\", \"size\"]\nforward_query = \"all\"")
        );
    });
}

#[test]
fn healthy_proxy_lab_has_no_error_or_warn_finding_and_a_stale_config_is_a_mismatch() {
    block_on(async {
        let (r, capture, dists) =
            diagnose_lab(Topology::Proxy, vec![], &["jira-smoke", "confluence-smoke"]).await;
        no_error_or_warn(&r);
        assert_eq!(r.health_checks.len(), 2, "one health check per product");
        assert!(
            r.requests
                .iter()
                .any(|q| q.class.observed_behavior.is_some())
        );
        // Same capture against a stale configuration without the /s/* row: the edge's own header
        // says /s/* served, the configuration predicts the default.
        let stale: Vec<Distribution> = dists
            .iter()
            .map(|d| {
                let mut rows = d.behaviors.behaviors.clone();
                rows.remove(0);
                for b in &mut rows {
                    b.name.clear();
                }
                let mut set = cdnprobe::cloudfront::BehaviorSet::new(rows);
                set = set.with_context_path(&d.behaviors.context_path);
                let mut s = Distribution::new(set, d.hosts.clone());
                s.behavior_header = d.behavior_header.clone();
                s
            })
            .collect();
        let r2 = build_report(
            "lab",
            chrono::Utc::now(),
            &capture,
            Default::default(),
            &Redactor::new_random(),
            &stale,
        );
        let m = of(&r2, "behavior-mismatch");
        assert!(!m.is_empty(), "{:#?}", r2.findings);
        assert!(
            m.iter()
                .any(|f| f.title.contains("/s/*") && f.title.contains("default")),
            "{:#?}",
            m.iter().map(|f| &f.title).collect::<Vec<_>>()
        );
        assert!(lines(m[0]).iter().any(|l| l.starts_with("X-Lab-Behavior: ")
            || l.to_ascii_lowercase().starts_with("x-lab-behavior: ")));
    });
}

#[test]
fn healthy_cdn_host_lab_has_no_error_or_warn_finding() {
    block_on(async {
        let (r, _, _) = diagnose_lab(
            Topology::CdnHost,
            vec![],
            &["jira-smoke", "confluence-smoke"],
        )
        .await;
        no_error_or_warn(&r);
    });
}

#[test]
fn alb_stickiness_names_the_rotating_awsalb_in_the_s_cache_key() {
    block_on(async {
        let (r, _, _) =
            diagnose_lab(Topology::Proxy, vec![Fault::AlbStickiness], &["jira-smoke"]).await;
        let f = of(&r, "rotating-cookie-in-key");
        let s = f
            .iter()
            .find(|f| f.behavior.as_deref() == Some("/s/*"))
            .unwrap_or_else(|| panic!("{:#?}", r.findings));
        assert!(
            s.title.contains("AWSALB") && s.title.contains("/s/*"),
            "{}",
            s.title
        );
        assert!(s.explanation.contains("cookies: all"));
        let l = lines(s);
        let set: Vec<&&str> = l
            .iter()
            .filter(|x| {
                x.to_ascii_lowercase()
                    .starts_with("set-cookie: awsalb=<redacted:")
            })
            .collect();
        assert!(
            set.len() >= 2,
            "two Set-Cookie lines showing rotation: {l:#?}"
        );
        assert_ne!(set[0], set[1]);
        assert!(
            l.iter()
                .any(|x| x.starts_with("cache key: ") && x.contains("AWSALB=<redacted:"))
        );
        assert!(s.fix.contains("Forward Cookies = None") && s.fix.contains("stickiness"));
        assert!(!of(&r, "set-cookie-on-cacheable").is_empty());
    });
}

#[test]
fn expires_now_is_expires_before_date_with_both_lines() {
    block_on(async {
        let (r, _, _) =
            diagnose_lab(Topology::Proxy, vec![Fault::ExpiresNow], &["jira-smoke"]).await;
        let f = of(&r, "expires-before-date");
        assert_eq!(f.len(), 1, "{:#?}", r.findings);
        assert_eq!(f[0].behavior.as_deref(), Some("/s/*"));
        let e = &f[0].evidence[0].lines;
        let get = |n: &str| {
            e.iter()
                .find(|l| l.to_ascii_lowercase().starts_with(&format!("{n}: ")))
                .map(|l| l.split_once(": ").unwrap().1.to_string())
        };
        let (date, expires) = (
            get("date").expect("Date line"),
            get("expires").expect("Expires line"),
        );
        let d = httpdate::parse_http_date(&date).unwrap();
        let x = httpdate::parse_http_date(&expires).unwrap();
        assert!(x <= d, "{expires} <= {date}");
    });
}

#[test]
fn no_cache_static_is_no_cache_on_static() {
    block_on(async {
        let (r, _, _) =
            diagnose_lab(Topology::Proxy, vec![Fault::NoCacheStatic], &["jira-smoke"]).await;
        let f = of(&r, "no-cache-on-static");
        assert!(!f.is_empty(), "{:#?}", r.findings);
        assert!(lines(f[0]).iter().any(
            |l| l.to_ascii_lowercase().starts_with("cache-control: ") && l.contains("no-cache")
        ));
    });
}

#[test]
fn font_502_is_an_error_with_the_edge_error_line() {
    block_on(async {
        let (r, _, _) = diagnose_lab(Topology::Proxy, vec![Fault::Font502], &["jira-smoke"]).await;
        let f = of(&r, "font-502");
        assert_eq!(f.len(), 1, "{:#?}", r.findings);
        assert_eq!(f[0].severity, Severity::Error);
        let l = lines(f[0]);
        assert!(l.iter().any(|x| x.starts_with("HTTP 502")));
        assert!(
            l.iter()
                .any(|x| x.eq_ignore_ascii_case("x-cache: error from cloudfront")),
            "{l:#?}"
        );
        assert_eq!(r.summary.exit_code, 1);
    });
}

#[test]
fn cors_missing_is_a_cors_failure_naming_the_header() {
    block_on(async {
        let (r, _, _) =
            diagnose_lab(Topology::CdnHost, vec![Fault::CorsMissing], &["jira-smoke"]).await;
        let f = of(&r, "cors-blocked");
        assert!(!f.is_empty(), "{:#?}", r.findings);
        assert!(f[0].title.contains("Access-Control-Allow-Origin"));
        let l = lines(f[0]);
        assert!(
            l.iter().any(|x| x.starts_with("corsErrorStatus: ")),
            "{l:#?}"
        );
        assert!(
            l.iter()
                .any(|x| x.to_ascii_lowercase().starts_with("origin: "))
        );
        assert!(f[0].fix.contains("Origin"));
    });
}

#[test]
fn cors_first_origin_is_a_cached_answer_for_another_origin() {
    block_on(async {
        let (r, _, _) = diagnose_lab(
            Topology::CdnHost,
            vec![Fault::CorsFirstOrigin],
            &["jira-smoke"],
        )
        .await;
        let f = of(&r, "cors-origin-not-in-key");
        assert!(!f.is_empty(), "{:#?}", r.findings);
        let l = lines(f[0]);
        let origin = l
            .iter()
            .find_map(|x| x.strip_prefix("Origin: "))
            .expect("Origin line");
        let acao = l
            .iter()
            .find_map(|x| x.strip_prefix("Access-Control-Allow-Origin: "))
            .expect("ACAO line");
        assert_ne!(origin, acao, "{l:#?}");
        assert!(
            f[0].explanation.contains("does not key on it"),
            "{}",
            f[0].explanation
        );
        // The browser refused it too.
        assert!(!of(&r, "cors-blocked").is_empty(), "{:#?}", r.findings);
        assert_eq!(r.summary.exit_code, 1);
    });
}

#[test]
fn private_cached_is_a_security_error() {
    block_on(async {
        let (r, _, _) =
            diagnose_lab(Topology::Proxy, vec![Fault::PrivateCached], &["jira-smoke"]).await;
        let f = of(&r, "dynamic-cached");
        assert!(!f.is_empty(), "{:#?}", r.findings);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(
            lines(f[0])
                .iter()
                .any(|l| l.starts_with("Cookie: ") || l.starts_with("cookie: "))
        );
        assert_eq!(r.summary.exit_code, 1);
    });
}

#[test]
fn bypass_static_is_static_bypassing_the_cdn() {
    block_on(async {
        let (r, _, _) =
            diagnose_lab(Topology::Proxy, vec![Fault::BypassStatic], &["jira-smoke"]).await;
        let f = of(&r, "static-bypasses-cdn");
        assert!(!f.is_empty(), "{:#?}", r.findings);
        assert!(lines(f[0]).iter().any(|l| l.starts_with("no X-Cache")));
        assert!(
            f[0].evidence[0].url.contains("/s/") || f[0].evidence[0].url.contains("/download/")
        );
    });
}

#[test]
fn query_buster_is_a_changing_query_string_on_s() {
    block_on(async {
        let (r, _, _) =
            diagnose_lab(Topology::Proxy, vec![Fault::QueryBuster], &["jira-smoke"]).await;
        let f = of(&r, "query-string-changes");
        assert_eq!(f.len(), 1, "{:#?}", r.findings);
        assert_eq!(f[0].behavior.as_deref(), Some("/s/*"));
        let keys: Vec<&str> = lines(f[0])
            .into_iter()
            .filter(|l| l.starts_with("cache key: "))
            .collect();
        assert!(keys.len() >= 2);
        assert_ne!(keys[0], keys[1]);
    });
}
